/**
 * The data-plane system suite's discovery path for Prometheus, without containers: the harness's
 * catalog (tests/system/catalog.ts) holds what the web tasks register (the app's own
 * serviceDefinition) and what an LB node's agent registers from its metrics.json (rendered by
 * renderMetricsServicesConfig); the agent API stand-in (tests/system/consul/agent-api.js) answers the
 * catalog reads from it with the graph's ACLs; the image's bridge (images/prometheus/consul-http-sd.js)
 * turns that into Prometheus's targets, with consul_sd's labels.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { loadConfig, serviceDefinition } from "../../app/server";
import {
    LB_METRICS_ENDPOINTS,
    METRICS_REGISTER_POLICY,
    PROMETHEUS_CONSUL_POLICY,
    renderMetricsServicesConfig,
} from "../../render/prometheus";
import { agentConfigServices, catalogServices, ConsulCatalog } from "../system/catalog";
import { freePort, getText } from "../harness/net";
import { waitFor } from "../system/docker";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createBridge } = require("../../images/prometheus/consul-http-sd.js") as {
    createBridge: (o: { consulAddr: string; tokenFile?: string; timeoutMs?: number }) => http.Server;
};

const AGENT_API = path.join(__dirname, "..", "system", "consul", "agent-api.js");
const lb0 = { node: "lb-0", address: "10.77.0.11", datacenter: "dc1" };
const worker0 = { node: "swarm-worker-0", address: "10.77.0.40", datacenter: "dc1" };

describe("the harness's catalog, as Consul's catalog API", () => {
    test("lists a task as the app registers it and an LB node's metrics.json services, with their nodes", () => {
        const catalog = new ConsulCatalog(async () => undefined);
        const app = loadConfig({ APP_VERSION: "1.2.3", TASK_NAME: "web.1.t1" });
        catalog.register(
            { name: "web.1.t1", address: worker0.address, port: 20001 },
            { node: worker0, service: serviceDefinition(app, worker0.address, 20001) },
        );
        catalog.registerAgentServices(
            lb0,
            agentConfigServices(renderMetricsServicesConfig({ endpoints: LB_METRICS_ENDPOINTS, token: "t" })),
        );
        const entries = catalog.catalog();
        expect(entries.map((e) => `${e.ServiceName}@${e.Node}:${e.ServicePort}`)).toEqual([
            "metrics-haproxy@lb-0:8405",
            "metrics-keepalived@lb-0:8405",
            "web@swarm-worker-0:20001",
        ]);
        const web = entries.find((e) => e.ServiceName === "web")!;
        expect(web).toMatchObject({
            ServiceID: "web-web.1.t1-20001",
            Address: worker0.address,
            ServiceAddress: worker0.address,
            ServiceTags: ["version-1.2.3"],
            ServiceMeta: { version: "1.2.3", task: "web.1.t1", metrics_path: "/metrics" },
        });
        // Agent-registered services without an address: the catalog lists ServiceAddress "" (the node's is used).
        expect(entries.find((e) => e.ServiceName === "metrics-keepalived")).toMatchObject({
            ServiceAddress: "",
            ServiceMeta: { metrics_path: "/keepalived/metrics" },
        });
        expect(catalogServices(entries)).toEqual({ "metrics-haproxy": [], "metrics-keepalived": [], web: ["version-1.2.3"] });
    });

    test("a deregistered task leaves the catalog; every change is an event and reaches the listeners", async () => {
        const catalog = new ConsulCatalog(async () => undefined);
        const seen: number[] = [];
        catalog.onCatalogChange((e) => seen.push(e.length));
        const app = loadConfig({ TASK_NAME: "web.2.t2" });
        catalog.register(
            { name: "web.2.t2", address: worker0.address, port: 20002 },
            { node: worker0, service: serviceDefinition(app, worker0.address, 20002) },
        );
        await catalog.deregister("web.2.t2");
        expect(seen).toEqual([0, 1, 0]);
        expect(catalog.events.map((e) => `${e.event} ${e.serviceId}`)).toEqual([
            "register web-web.2.t2-20002",
            "deregister web-web.2.t2-20002",
        ]);
    });

    test("an agent config without services is refused", () => {
        expect(() => agentConfigServices("{}")).toThrow("no services array");
    });
});

describe("catalog → agent API stand-in → the Prometheus image's bridge", () => {
    let dir = "";
    let agent: ChildProcess | undefined;
    let agentUrl = "";
    let bridge: http.Server;
    let bridgeUrl = "";
    let agentLog = "";

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-catalog-"));
        const catalog = new ConsulCatalog(async () => undefined);
        catalog.onCatalogChange((entries) => fs.writeFileSync(path.join(dir, "catalog.json"), JSON.stringify(entries)));
        const app = loadConfig({ APP_VERSION: "2.0.0", TASK_NAME: "web.1.t9" });
        catalog.register(
            { name: "web.1.t9", address: worker0.address, port: 20003 },
            { node: worker0, service: serviceDefinition(app, worker0.address, 20003) },
        );
        catalog.registerAgentServices(
            lb0,
            agentConfigServices(renderMetricsServicesConfig({ endpoints: LB_METRICS_ENDPOINTS, token: "t" })),
        );
        fs.writeFileSync(
            path.join(dir, "acl.json"),
            JSON.stringify({
                policies: {
                    [PROMETHEUS_CONSUL_POLICY.name]: PROMETHEUS_CONSUL_POLICY.rules,
                    [METRICS_REGISTER_POLICY.name]: METRICS_REGISTER_POLICY.rules,
                },
                tokens: { "prometheus-token": [PROMETHEUS_CONSUL_POLICY.name], "metrics-token": [METRICS_REGISTER_POLICY.name] },
            }),
        );
        fs.writeFileSync(path.join(dir, "prometheus.token"), "prometheus-token\n");
        fs.writeFileSync(path.join(dir, "metrics.token"), "metrics-token\n");
        fs.writeFileSync(path.join(dir, "unknown.token"), "no-such-token\n");
        const port = await freePort();
        agent = spawn(process.execPath, [AGENT_API], {
            env: {
                ...process.env,
                PORT: String(port),
                NODE_NAME: "monitoring-prometheus",
                NODE_ADDR: "10.77.0.5",
                ACL_FILE: path.join(dir, "acl.json"),
                CATALOG_FILE: path.join(dir, "catalog.json"),
            },
            stdio: ["ignore", "pipe", "pipe"],
        });
        agent.stdout?.on("data", (d) => (agentLog += String(d)));
        agent.stderr?.on("data", (d) => (agentLog += String(d)));
        agentUrl = `http://127.0.0.1:${port}`;
        await waitFor(
            "the agent API to answer (403 without a token)",
            async () => ((await getText(`${agentUrl}/v1/catalog/services`)).status === 403 ? true : undefined),
            10_000,
        );
        bridge = createBridge({ consulAddr: agentUrl, tokenFile: path.join(dir, "prometheus.token"), timeoutMs: 2000 });
        await new Promise<void>((r) => bridge.listen(0, "127.0.0.1", r));
        bridgeUrl = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
        agent?.kill("SIGTERM");
        if (bridge !== undefined) await new Promise<void>((r) => bridge.close(() => r()));
        if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
    });

    test("with Prometheus's token the bridge lists every instance with consul_sd's labels", async () => {
        const r = await getText(`${bridgeUrl}/targets`);
        expect({ status: r.status, log: r.status === 200 ? "" : agentLog }).toEqual({ status: 200, log: "" });
        const groups = JSON.parse(r.body) as { targets: string[]; labels: Record<string, string> }[];
        expect(
            groups.map((g) => `${g.labels.__meta_consul_service} ${g.targets[0]} ${g.labels.__meta_consul_service_metadata_metrics_path}`),
        ).toEqual([
            "metrics-haproxy 10.77.0.11:8405 /metrics",
            "metrics-keepalived 10.77.0.11:8405 /keepalived/metrics",
            "web 10.77.0.40:20003 /metrics",
        ]);
        expect(groups[2].labels).toMatchObject({
            __meta_consul_node: "swarm-worker-0",
            __meta_consul_tags: ",version-2.0.0,",
            __meta_consul_dc: "dc1",
        });
    });

    test("a token without catalog read sees nothing; an unknown token is refused (403), which the bridge answers 503", async () => {
        const limited = createBridge({ consulAddr: agentUrl, tokenFile: path.join(dir, "metrics.token") });
        const unknown = createBridge({ consulAddr: agentUrl, tokenFile: path.join(dir, "unknown.token") });
        try {
            for (const s of [limited, unknown]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
            const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/targets`;
            // metrics-register is service_prefix "metrics-" write (which includes read), but no node read: Consul filters every instance out.
            expect(await getText(url(limited))).toEqual({ status: 200, body: "[]" });
            const refused = await getText(url(unknown));
            expect(refused.status).toBe(503);
            expect(refused.body).toContain("ACL not found");
        } finally {
            for (const s of [limited, unknown]) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
        }
    });
});
