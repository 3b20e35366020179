// Observability in the dev stack's graph (the real index.ts under Pulumi's mock runtime): which node
// exposes which metrics, how Prometheus finds them, and what it may read.
import * as yaml from "js-yaml";
import { isSecretMarked, ProgramRun, RecordedResource, runProgram } from "../harness/program";
import { PROMETHEUS_PATHS, PROMETHEUS_CONSUL_POLICY, METRICS_REGISTER_POLICY } from "../../render/prometheus";

const CONTAINER = "docker:index/container:Container";

const upload = (r: RecordedResource, file: string): { content: string; raw: unknown } => {
    const found = (r.inputs.uploads ?? []).find((u: { file: string }) => u.file === file);
    if (!found) throw new Error(`${r.name} has no upload ${file}`);
    return { content: found.content, raw: found };
};

let dev: ProgramRun;
beforeAll(async () => {
    dev = await runProgram("dev");
});

test("each LB node announces HAProxy's and keepalived's metrics in Consul, with the token that may write only metrics-* services", () => {
    for (const lb of ["lb-0", "lb-1"]) {
        const services = JSON.parse(upload(dev.byName(lb), "/consul/config/metrics.json").content).services;
        expect(
            services.map((s: { name: string; port: number; meta: Record<string, string> }) => [s.name, s.port, s.meta.metrics_path]),
        ).toEqual([
            ["metrics-haproxy", 8405, "/metrics"],
            ["metrics-keepalived", 8405, "/keepalived/metrics"],
        ]);
        const cfg = upload(dev.byName(lb), "/etc/haproxy/haproxy.cfg").content;
        expect(cfg).toContain("frontend metrics\n    bind :8405\n");
        expect(cfg).toContain("lua-load /etc/haproxy/keepalived_metrics.lua");
        const keepalived = upload(dev.byName(lb), "/etc/keepalived/keepalived.conf").content;
        expect(keepalived).toContain('notify_master "/usr/local/bin/keepalived_metrics.sh MASTER VI_LB"');
    }
});

test("each swarm node's engine serves its metrics on its own address, announced in Consul", () => {
    const nodes = dev.ofType(CONTAINER).filter((c) => /^swarm-(manager|worker)-\d+$/.test(c.name));
    expect(nodes.length).toBe(5);
    for (const node of nodes) {
        const daemon = JSON.parse(upload(node, "/etc/docker/daemon.json").content);
        const address = node.inputs.networksAdvanced[0].ipv4Address;
        expect(daemon["metrics-addr"]).toBe(`${address}:9323`);
        const services = JSON.parse(upload(node, "/consul/config/metrics.json").content).services;
        expect(services.map((s: { name: string; port: number }) => [s.name, s.port])).toEqual([["metrics-docker", 9323]]);
    }
});

test("every Consul agent exports Prometheus telemetry", () => {
    for (const c of dev.ofType(CONTAINER)) {
        const agentConfig = (c.inputs.uploads ?? []).find((u: { file: string }) =>
            /^\/consul\/config\/(server|client)\.json$/.test(u.file),
        );
        if (agentConfig === undefined) continue;
        expect({ node: c.name, telemetry: JSON.parse(agentConfig.content).telemetry }).toEqual({
            node: c.name,
            telemetry: { prometheus_retention_time: "1m", disable_hostname: true },
        });
    }
});

test("the Prometheus node holds only its agent's files; its config, rules and credentials come from a script that reloads it", () => {
    const node = dev.byName("monitoring-prometheus");
    expect(node.type).toBe(CONTAINER);
    expect(node.inputs.networksAdvanced[0].ipv4Address).toBe("10.77.0.5");
    expect((node.inputs.uploads as { file: string }[]).map((u) => u.file).sort()).toEqual([
        "/consul/config/client.json",
        "/consul/config/tls/ca.pem",
    ]);
    expect(JSON.parse(upload(node, "/consul/config/client.json").content).node_name).toBe("monitoring-prometheus");
    expect(node.inputs.volumes.map((v: { containerPath: string }) => v.containerPath)).toEqual([PROMETHEUS_PATHS.data]);

    const config = dev.byName("monitoring-prometheus-config");
    // The script holds the Consul token and Prometheus's client key: secret as a whole.
    expect(isSecretMarked(config.rawInputs.stdin)).toBe(true);
    const script = String(config.inputs.stdin);
    const written = (file: string): string => {
        const m = new RegExp(`printf '%s' '((?:[^']|'\\\\'')*)' >"\\$staged/(\\d+)"`, "g");
        const contents = [...script.matchAll(m)].map((x) => x[1].split("'\\''").join("'"));
        const order = [...script.matchAll(/^mv -f "\$staged\/(\d+)" '?([^' ]+)'?$/gm)].map((x) => [Number(x[1]), x[2]] as const);
        const index = order.find(([, p]) => p === file)?.[0];
        if (index === undefined) throw new Error(`the config script writes no ${file}`);
        return contents[index];
    };
    const prometheusYml = yaml.load(written(PROMETHEUS_PATHS.config)) as { scrape_configs: { job_name: string; scheme?: string }[] };
    expect(prometheusYml.scrape_configs.map((j) => j.job_name)).toEqual(["prometheus", "consul-services", "consul-servers"]);
    // consul.tls enforce (Pulumi.dev.yaml's default): the servers' metrics over HTTPS with a client certificate.
    expect(prometheusYml.scrape_configs[2].scheme).toBe("https");
    expect(written(PROMETHEUS_PATHS.consulKey)).toContain("PRIVATE KEY");
    const rules = yaml.load(written(PROMETHEUS_PATHS.rules)) as { groups: { rules: { alert: string; expr: string }[] }[] };
    expect(rules.groups[0].rules.find((r) => r.alert === "ConsulServerMissing")?.expr).toContain("< 3");
});

test("the ACL bootstrap creates the metrics-register and prometheus policies, with exactly their rules", () => {
    const script = JSON.parse(JSON.stringify(dev.byName("consul-acl-bootstrap").inputs)) as Record<string, unknown>;
    const text = Object.values(script).map(String).join("\n");
    for (const policy of [METRICS_REGISTER_POLICY, PROMETHEUS_CONSUL_POLICY]) {
        expect(text).toMatch(new RegExp(`consul acl policy create -name '?${policy.name}'? `));
        expect(text).toContain(policy.rules.trimEnd());
    }
});

test("prometheusUrl is Prometheus on the edge's loopback address", () => {
    expect(dev.outputs.prometheusUrl).toBe("http://127.0.0.1:9090");
    const edgeCfg = upload(dev.byName("local-edge"), "/etc/haproxy/edge.cfg").content;
    expect(edgeCfg).toMatch(/listen prometheus\n\s+bind :9090/);
    expect(edgeCfg).toContain("10.77.0.5:9090");
});
