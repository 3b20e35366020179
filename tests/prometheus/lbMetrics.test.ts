/**
 * The LB node's metrics, for real: the rendered haproxy.cfg (its `metrics` frontend, lua-load of
 * images/lb/keepalived_metrics.lua) runs in the real HAProxy 2.6, and images/lb/keepalived_metrics.sh
 * is called the way keepalived's notify_* hooks call it. HAProxy's exporter answers /metrics with
 * per-server check status; /keepalived/metrics follows each state change, with a counter per state;
 * any other path is 404. A missing haproxy fails the suite: `apt-get install haproxy`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

import { renderHaproxyConfig } from "../../render/haproxy";
import { LB_KEEPALIVED_METRICS_SOURCES } from "../../render/lbNode";
import { freePort } from "../harness/net";

const REPO = path.join(__dirname, "..", "..");

function get(port: number, urlPath: string): Promise<{ status: number; body: string; type: string }> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: urlPath }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"] ?? "") }));
        }).on("error", reject);
    });
}

let dir = "";
let haproxy: ChildProcess | undefined;
let metricsPort = 0;
let stateFile = "";
const hook = (state: string) => {
    const r = spawnSync("sh", [path.join(REPO, LB_KEEPALIVED_METRICS_SOURCES.stateHook), state, "VI_LB"], {
        env: { ...process.env, KEEPALIVED_METRICS_FILE: stateFile },
        encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`state hook ${state} exited ${r.status}: ${r.stderr}`);
};

beforeAll(async () => {
    const v = spawnSync("haproxy", ["-v"], { encoding: "utf8" });
    if (v.error !== undefined) throw new Error(`haproxy not runnable (${v.error.message}): run \`apt-get install -y haproxy\``);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lb-metrics-"));
    stateFile = path.join(dir, "run", "vrrp.prom");
    const [webPort, statsPort] = [await freePort(), await freePort()];
    metricsPort = await freePort();
    const cfg = renderHaproxyConfig({
        nodeName: "lb-0",
        webPort,
        statsPort,
        statsUser: "admin",
        statsPassword: "pw",
        service: { name: "web", domain: "consul", maxServers: 2, healthPath: "/health" },
        dns: { address: "127.0.0.1", port: await freePort() },
        runtimeSocket: path.join(dir, "admin.sock"),
        metrics: { port: metricsPort, keepalivedLuaPath: path.join(REPO, LB_KEEPALIVED_METRICS_SOURCES.lua) },
    })
        // Run as the test's user, not the node's haproxy user.
        .replace(/^ {4}(user|group) haproxy\n/gm, "");
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), cfg);
    haproxy = spawn("haproxy", ["-db", "-f", path.join(dir, "haproxy.cfg")], {
        env: { ...process.env, KEEPALIVED_METRICS_FILE: stateFile },
        stdio: ["ignore", "ignore", "pipe"],
    });
    for (let i = 0; i < 100; i++) {
        if (
            await get(metricsPort, "/metrics").then(
                () => true,
                () => false,
            )
        )
            return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("haproxy's metrics frontend never answered");
});

afterAll(() => {
    haproxy?.kill("SIGKILL");
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

test("/metrics is HAProxy's exporter: per-server status of the web backend", async () => {
    const r = await get(metricsPort, "/metrics");
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^haproxy_server_status\{proxy="web",server="web1",state="MAINT"\} 1$/m);
    // The family BackendDown counts (its samples appear once a slot has an address and a check).
    expect(r.body).toContain("# TYPE haproxy_server_check_up_down_total counter\n");
    expect(r.body).toMatch(/^haproxy_frontend_http_requests_total\{proxy="web"\} \d+$/m);
});

test("/keepalived/metrics follows keepalived's state hooks: state gauge and a counter per state", async () => {
    // Before any hook ran: an empty answer, the target is still up.
    const before = await get(metricsPort, "/keepalived/metrics");
    expect([before.status, before.body]).toEqual([200, ""]);
    hook("BACKUP");
    let r = await get(metricsPort, "/keepalived/metrics");
    expect(r.type).toContain("text/plain; version=0.0.4");
    expect(r.body).toContain('keepalived_vrrp_state{vrrp_instance="VI_LB"} 1\n');
    hook("MASTER");
    hook("FAULT");
    hook("MASTER");
    r = await get(metricsPort, "/keepalived/metrics");
    expect(r.body).toContain('keepalived_vrrp_state{vrrp_instance="VI_LB"} 2\n');
    expect(r.body).toContain('keepalived_vrrp_transitions_total{vrrp_instance="VI_LB",state="MASTER"} 2\n');
    expect(r.body).toContain('keepalived_vrrp_transitions_total{vrrp_instance="VI_LB",state="BACKUP"} 1\n');
    expect(r.body).toContain('keepalived_vrrp_transitions_total{vrrp_instance="VI_LB",state="FAULT"} 1\n');
    expect(r.body).toContain('keepalived_vrrp_transitions_total{vrrp_instance="VI_LB",state="STOP"} 0\n');
});

test("the state hook refuses a state keepalived does not have, and leaves the file as it was", async () => {
    const before = fs.readFileSync(stateFile, "utf8");
    const r = spawnSync("sh", [path.join(REPO, LB_KEEPALIVED_METRICS_SOURCES.stateHook), "RUNNING", "VI_LB"], {
        env: { ...process.env, KEEPALIVED_METRICS_FILE: stateFile },
        encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage:");
    expect(fs.readFileSync(stateFile, "utf8")).toBe(before);
});

test("any other path on the metrics frontend is 404", async () => {
    expect((await get(metricsPort, "/")).status).toBe(404);
});
