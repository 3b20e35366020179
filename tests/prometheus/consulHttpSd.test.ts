/**
 * images/prometheus/consul-http-sd.js, the catalog bridge: against a fake Consul agent it answers
 * consul_sd_configs' labels for every instance, sends the ACL token, reads one service on request
 * and answers 503 while Consul does not. Then the real Prometheus (Debian's 2.42) runs the rendered
 * prometheus.yml through the bridge: a node's metrics-* service and a task's own registration become
 * targets with their job, path and node, scraped; a service without metrics_path is not scraped;
 * an instance that registers later is scraped without a config change.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { PROMETHEUS_PATHS, renderPrometheusConfig, renderAlertRules } from "../../render/prometheus";
import { getText } from "../harness/net";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createBridge } = require("../../images/prometheus/consul-http-sd.js") as {
    createBridge: (o: { consulAddr: string; tokenFile?: string; timeoutMs?: number }) => http.Server;
};

interface Entry {
    Node: string;
    Address: string;
    Datacenter: string;
    ServiceID: string;
    ServiceName: string;
    ServiceAddress: string;
    ServicePort: number;
    ServiceTags: string[];
    ServiceMeta: Record<string, string>;
    NodeMeta?: Record<string, string>;
}

/** A fake Consul agent: the two catalog reads the bridge makes, behind an ACL token. */
class FakeConsul {
    readonly entries: Entry[] = [];
    failing = false;
    readonly tokens: (string | undefined)[] = [];
    private server = http.createServer((req, res) => {
        this.tokens.push(req.headers["x-consul-token"] as string | undefined);
        const url = new URL(req.url ?? "/", "http://consul");
        if (this.failing || !url.searchParams.has("stale")) return void res.writeHead(500).end("rpc error: no leader");
        if (url.pathname === "/v1/catalog/services") {
            const services: Record<string, string[]> = {};
            for (const e of this.entries) services[e.ServiceName] = e.ServiceTags;
            return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(services));
        }
        const m = /^\/v1\/catalog\/service\/([^/]+)$/.exec(url.pathname);
        if (m !== null) {
            const name = decodeURIComponent(m[1]);
            return void res.writeHead(200).end(JSON.stringify(this.entries.filter((e) => e.ServiceName === name)));
        }
        res.writeHead(404).end();
    });
    async start(): Promise<string> {
        await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }
    stop(): Promise<void> {
        return new Promise((r) => this.server.close(() => r()));
    }
}

const entry = (node: string, service: string, port: number, meta: Record<string, string> = {}, address = "127.0.0.1"): Entry => ({
    Node: node,
    Address: address,
    Datacenter: "dc1",
    ServiceID: `${service}-${port}`,
    ServiceName: service,
    ServiceAddress: "",
    ServicePort: port,
    ServiceTags: ["v1"],
    ServiceMeta: meta,
});

async function listen(server: http.Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as AddressInfo).port;
}

describe("the bridge", () => {
    const consul = new FakeConsul();
    let bridge: http.Server;
    let base = "";
    let dir = "";
    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-http-sd-"));
        fs.writeFileSync(path.join(dir, "token"), "s3cret-token\n");
        bridge = createBridge({ consulAddr: await consul.start(), tokenFile: path.join(dir, "token"), timeoutMs: 1000 });
        base = `http://127.0.0.1:${await listen(bridge)}`;
        consul.entries.push(
            entry("lb-0", "metrics-haproxy", 8405, { metrics_path: "/metrics", "odd-key": "x" }, "10.77.0.11"),
            entry("swarm-worker-0", "web", 20001, { metrics_path: "/metrics" }, "10.77.0.40"),
            entry("consul-server-0", "consul", 8300, {}, "10.77.0.20"),
        );
    });
    afterAll(async () => {
        await new Promise<void>((r) => bridge.close(() => r()));
        await consul.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("answers every instance with consul_sd_configs' labels, its token on every catalog read", async () => {
        const r = await getText(`${base}/targets`);
        expect(r.status).toBe(200);
        const groups = JSON.parse(r.body) as { targets: string[]; labels: Record<string, string> }[];
        expect(groups.map((g) => g.targets[0]).sort()).toEqual(["10.77.0.11:8405", "10.77.0.20:8300", "10.77.0.40:20001"]);
        const lb = groups.find((g) => g.targets[0] === "10.77.0.11:8405");
        expect(lb?.labels).toEqual({
            __meta_consul_address: "10.77.0.11",
            __meta_consul_dc: "dc1",
            __meta_consul_node: "lb-0",
            __meta_consul_service: "metrics-haproxy",
            __meta_consul_service_address: "",
            __meta_consul_service_id: "metrics-haproxy-8405",
            __meta_consul_service_port: "8405",
            __meta_consul_tags: ",v1,",
            __meta_consul_service_metadata_metrics_path: "/metrics",
            __meta_consul_service_metadata_odd_key: "x",
        });
        expect(consul.tokens.length).toBeGreaterThanOrEqual(4);
        expect(new Set(consul.tokens)).toEqual(new Set(["s3cret-token"]));
    });

    test("?service= reads that service alone", async () => {
        const groups = JSON.parse((await getText(`${base}/targets?service=consul`)).body) as { targets: string[] }[];
        expect(groups.map((g) => g.targets[0])).toEqual(["10.77.0.20:8300"]);
    });

    test("answers 503 while Consul fails (Prometheus then keeps its targets)", async () => {
        consul.failing = true;
        try {
            const r = await getText(`${base}/targets`);
            expect(r.status).toBe(503);
            expect(r.body).toContain("no leader");
        } finally {
            consul.failing = false;
        }
    });

    test("anything but GET /targets is 404", async () => {
        expect((await getText(`${base}/metrics`)).status).toBe(404);
    });
});

describe("Prometheus through the bridge (the real prometheus, the rendered config)", () => {
    const consul = new FakeConsul();
    const exporters: http.Server[] = [];
    let bridge: http.Server;
    let prometheus: ChildProcess | undefined;
    let dir = "";
    let promPort = 0;
    let log = "";

    /** A fake metrics endpoint: answers `path` with one gauge. */
    async function exporter(metricsPath: string, metric: string): Promise<number> {
        const s = http.createServer((req, res) => {
            if (req.url?.split("?")[0] !== metricsPath) return void res.writeHead(404).end();
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`# TYPE ${metric} gauge\n${metric} 1\n`);
        });
        exporters.push(s);
        return listen(s);
    }

    async function targets(): Promise<{ labels: Record<string, string>; scrapeUrl: string; health: string }[]> {
        const r = await getText(`http://127.0.0.1:${promPort}/api/v1/targets?state=active`);
        return (JSON.parse(r.body) as { data: { activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string }[] } })
            .data.activeTargets;
    }

    async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30000): Promise<T> {
        const end = Date.now() + ms;
        for (;;) {
            const v = await f().catch(() => undefined);
            if (v !== undefined) return v;
            if (Date.now() > end) throw new Error(`timed out waiting for ${what}; prometheus log:\n${log.slice(-3000)}`);
            await new Promise((r) => setTimeout(r, 250));
        }
    }

    beforeAll(async () => {
        const r = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
        if (r.error !== undefined) throw new Error(`prometheus not runnable (${r.error.message}): run \`apt-get install -y prometheus\``);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-sd-"));
        fs.writeFileSync(path.join(dir, "token"), "t\n");
        bridge = createBridge({ consulAddr: await consul.start(), tokenFile: path.join(dir, "token") });
        const bridgePort = await listen(bridge);
        // The rendered config, pointed at this test's bridge port and files.
        const text = renderPrometheusConfig({ stack: "test", datacenter: "dc1", consulServersScheme: "http" })
            .split("http://127.0.0.1:9091/")
            .join(`http://127.0.0.1:${bridgePort}/`)
            .split(PROMETHEUS_PATHS.rules)
            .join(path.join(dir, "rules.yml"))
            .split(PROMETHEUS_PATHS.consulToken)
            .join(path.join(dir, "token"));
        fs.writeFileSync(path.join(dir, "prometheus.yml"), text);
        fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRules({ consulServers: 3, swarmManagers: 3, swarmNodes: 5, lbNodes: 2 }));
    });

    afterAll(async () => {
        prometheus?.kill("SIGKILL");
        await new Promise<void>((r) => bridge.close(() => r()));
        await Promise.all(exporters.map((s) => new Promise<void>((r) => s.close(() => r()))));
        await consul.stop();
        if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
    });

    test("finds, relabels and scrapes what the catalog lists, and a new instance without a change", async () => {
        const haproxyPort = await exporter("/metrics", "haproxy_up");
        const keepalivedPort = await exporter("/keepalived/metrics", "keepalived_vrrp_state");
        const webPort = await exporter("/metrics", "web_build_info");
        consul.entries.push(
            entry("lb-0", "metrics-haproxy", haproxyPort, { metrics_path: "/metrics" }),
            entry("lb-0", "metrics-keepalived", keepalivedPort, { metrics_path: "/keepalived/metrics" }),
            entry("swarm-worker-0", "web", webPort, { metrics_path: "/metrics" }),
            // Listed, but says nothing of metrics: not a target.
            entry("swarm-worker-0", "other", 1),
        );
        // A free port for Prometheus: taken, released, then given to it.
        const probe = http.createServer();
        promPort = await listen(probe);
        await new Promise<void>((r) => probe.close(() => r()));
        prometheus = spawn(
            "prometheus",
            [
                `--config.file=${path.join(dir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(dir, "data")}`,
                `--web.listen-address=127.0.0.1:${promPort}`,
            ],
            { stdio: ["ignore", "pipe", "pipe"] },
        );
        prometheus.stdout?.on("data", (d) => (log += String(d)));
        prometheus.stderr?.on("data", (d) => (log += String(d)));

        const upFor = async (n: number) => {
            const t = (await targets()).filter((x) => x.labels.job !== "prometheus");
            return t.length === n && t.every((x) => x.health === "up") ? t : undefined;
        };
        const found = await until("three targets up", () => upFor(3));
        const byJob = Object.fromEntries(found.map((t) => [t.labels.job, t]));
        expect(Object.keys(byJob).sort()).toEqual(["haproxy", "keepalived", "web"]);
        expect(byJob.keepalived.scrapeUrl).toBe(`http://127.0.0.1:${keepalivedPort}/keepalived/metrics`);
        expect(byJob.haproxy.labels.node).toBe("lb-0");
        expect(byJob.web.labels.node).toBe("swarm-worker-0");

        // A new replica registers: scraped at the next refresh, no config change.
        const secondWeb = await exporter("/metrics", "web_build_info");
        consul.entries.push(entry("swarm-worker-1", "web", secondWeb, { metrics_path: "/metrics" }));
        const more = await until("the new replica up", () => upFor(4));
        expect(
            more
                .filter((t) => t.labels.job === "web")
                .map((t) => t.labels.node)
                .sort(),
        ).toEqual(["swarm-worker-0", "swarm-worker-1"]);
    }, 90000);
});
