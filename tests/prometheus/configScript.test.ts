/**
 * render/prometheus.ts renderPrometheusConfigScript, run for real (sh, the real promtool) with
 * /etc/prometheus and the pid file moved into a temp dir: it writes every file with its mode, checks
 * rules and config, and sends SIGHUP to the running Prometheus; broken rules stop it before anything
 * is replaced or reloaded.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
    PROMETHEUS_PATHS,
    PROMETHEUS_PID_FILE,
    renderAlertRules,
    renderPrometheusConfig,
    renderPrometheusConfigScript,
} from "../../render/prometheus";

let dir = "";
let waiter: ChildProcess | undefined;
let hups = 0;

/** The script with its absolute paths moved under `dir`, run as this user (no chown to prometheus). */
function run(script: string): { status: number | null; output: string } {
    const moved = script
        .split("/etc/prometheus")
        .join(path.join(dir, "etc"))
        .split(PROMETHEUS_PID_FILE)
        .join(path.join(dir, "prometheus.pid"))
        .replace(/^chown .*$/gm, ":");
    const r = spawnSync("sh", ["-s"], { input: moved, encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const files = (rules: string) => [
    {
        path: PROMETHEUS_PATHS.config,
        content: renderPrometheusConfig({ stack: "dev", datacenter: "dc1", consulServersScheme: "http" }),
        mode: "0644",
    },
    { path: PROMETHEUS_PATHS.rules, content: rules, mode: "0644" },
    { path: PROMETHEUS_PATHS.consulToken, content: "token\n", mode: "0600", secret: true },
];

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-config-"));
    fs.mkdirSync(path.join(dir, "etc"));
    // No systemd here: the script must fall back to the pid file. A stand-in process counts SIGHUPs.
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    waiter = spawn("sh", ["-c", "trap 'echo hup' HUP; while :; do sleep 0.1; done"], { stdio: ["ignore", "pipe", "ignore"] });
    waiter.stdout?.on("data", (d) => (hups += String(d).split("hup").length - 1));
    fs.writeFileSync(path.join(dir, "prometheus.pid"), `${waiter.pid}\n`);
    await new Promise((r) => setTimeout(r, 200));
});

afterAll(() => {
    waiter?.kill("SIGKILL");
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

const rules = renderAlertRules({ consulServers: 3, swarmManagers: 3, swarmNodes: 5, lbNodes: 2 });

test("writes every file with its mode, checks them and reloads Prometheus (SIGHUP)", async () => {
    const r = run(renderPrometheusConfigScript(files(rules)));
    expect(r).toEqual({ status: 0, output: "prometheus-config: written and reloaded\n" });
    expect(fs.readFileSync(path.join(dir, "etc", "rules.yml"), "utf8")).toBe(rules);
    expect(fs.statSync(path.join(dir, "etc", "consul.token")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, "etc", "prometheus.yml")).mode & 0o777).toBe(0o644);
    await new Promise((res) => setTimeout(res, 300));
    expect(hups).toBe(1);
    // Nothing staged is left behind.
    expect(fs.readdirSync(path.join(dir, "etc")).sort()).toEqual(["consul.token", "prometheus.yml", "rules.yml"]);
});

test("broken rules stop it before anything is replaced or reloaded", async () => {
    const before = fs.readFileSync(path.join(dir, "etc", "rules.yml"), "utf8");
    const r = run(renderPrometheusConfigScript(files(rules.replace("expr: up == 0", "expr: up ==== 0"))));
    expect(r.status).not.toBe(0);
    expect(fs.readFileSync(path.join(dir, "etc", "rules.yml"), "utf8")).toBe(before);
    await new Promise((res) => setTimeout(res, 300));
    expect(hups).toBe(1);
});

test("refuses a secret file others could read, and a missing config or rules file", () => {
    expect(() =>
        renderPrometheusConfigScript([
            ...files(rules).slice(0, 2),
            { path: PROMETHEUS_PATHS.consulToken, content: "t", mode: "0644", secret: true },
        ]),
    ).toThrow("secret /etc/prometheus/consul.token must be mode 0600 or 0400");
    expect(() => renderPrometheusConfigScript(files(rules).slice(1))).toThrow("no /etc/prometheus/prometheus.yml");
});

test("the script passes shellcheck", () => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-"], { input: renderPrometheusConfigScript(files(rules)), encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
});
