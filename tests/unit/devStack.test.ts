// The real index.ts for the dev stack (Pulumi.dev.yaml) under Pulumi's mock runtime.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isSecretMarked, ProgramRun, RecordedResource, runProgram } from "../harness/program";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";

const containers = (run: ProgramRun) => run.ofType(CONTAINER);
const containerNamed = (run: ProgramRun, logical: string) => run.byName(logical);
const upload = (r: RecordedResource, file: string): string => {
    const found = (r.inputs.uploads ?? []).find((u: { file: string }) => u.file === file);
    if (!found) throw new Error(`${r.name} has no upload ${file}`);
    return found.content;
};
/** Logical node name (the Pulumi resource name) of the containers whose name matches. */
const namesMatching = (run: ProgramRun, pattern: RegExp) =>
    containers(run)
        .map((c) => c.name)
        .filter((n) => pattern.test(n))
        .sort();

let dev: ProgramRun;
beforeAll(async () => {
    dev = await runProgram("dev");
});

describe("topology follows the stack config", () => {
    test("Pulumi.dev.yaml's counts: 3 Consul servers, 3 managers, 2 workers, 2 LB nodes, one edge", () => {
        expect(namesMatching(dev, /^consul-server-\d+$/)).toHaveLength(3);
        expect(namesMatching(dev, /^swarm-manager-\d+$/)).toHaveLength(3);
        expect(namesMatching(dev, /^swarm-worker-\d+$/)).toHaveLength(2);
        expect(namesMatching(dev, /^lb-\d+$/)).toEqual(["lb-0", "lb-1"]);
        expect(namesMatching(dev, /edge$/)).toEqual(["local-edge"]);
    });

    test("changing consul.servers, swarm.workers and web.replicas changes the graph", async () => {
        const run = await runProgram("dev", { consul: { servers: 5 }, swarm: { managers: 1, workers: 4 }, web: { replicas: 7 } });
        expect(namesMatching(run, /^consul-server-\d+$/)).toHaveLength(5);
        expect(namesMatching(run, /^swarm-manager-\d+$/)).toHaveLength(1);
        expect(namesMatching(run, /^swarm-worker-\d+$/)).toHaveLength(4);
        const server0 = JSON.parse(upload(run.byName("consul-server-0"), "/consul/config/server.json"));
        expect(server0.bootstrap_expect).toBe(5);
        expect(run.outputs.webReplicas).toBe(7);
        expect(run.byName("web-deploy").inputs.stdin).toMatch(/--replicas['= ]+7\b/);
        // Every swarm node gets the web image.
        expect(run.ofType(COMMAND).filter((c) => /^swarm-(manager|worker)-\d+-web-image$/.test(c.name))).toHaveLength(5);
    });

    test("every swarm node and LB node runs its Consul agent inside (no sidecar), within the node's limits", () => {
        const nodes = namesMatching(dev, /^(swarm-(manager|worker)-\d+|lb-\d+)$/);
        expect(nodes).toHaveLength(7);
        for (const node of nodes) {
            const c = containerNamed(dev, node);
            // The node image's entrypoint starts the agent when this config is present (images/consul-agent).
            expect(JSON.parse(upload(c, "/consul/config/client.json")).node_name).toBe(node);
            // A sidecar in the node's namespace does not survive `docker stop` + `docker start` of the node.
            expect(namesMatching(dev, new RegExp(`^${node}-consul-agent$`))).toEqual([]);
        }
        expect(containers(dev).filter((c) => String(c.inputs.networkMode ?? "").startsWith("container:"))).toEqual([]);
        // The agent's share of the limits is added to the node's (lb: 0.5 CPU/128 MB + agent 0.25/128).
        expect(containerNamed(dev, "lb-0").inputs.cpus).toBe(String(0.75));
        expect(containerNamed(dev, "lb-0").inputs.memory).toBe(256);
        // The node images get the same Consul binary as the servers run.
        for (const image of dev.ofType("docker:index/image:Image")) {
            if (/-(lb|swarmNode)-image$/.test(image.name)) expect(image.inputs.build.args.CONSUL_IMAGE).toBe("hashicorp/consul:1.20.2");
        }
    });

    test("every container has CPU and memory limits", () => {
        for (const c of containers(dev)) {
            expect({ name: c.name, cpus: Number(c.inputs.cpus) > 0, memory: c.inputs.memory > 0 }).toEqual({
                name: c.name,
                cpus: true,
                memory: true,
            });
        }
    });
});

describe("wiring", () => {
    test("Consul servers expect each other and join through the one name they all carry as a network alias", () => {
        const names = namesMatching(dev, /^consul-server-\d+$/);
        expect(names).toEqual(["consul-server-0", "consul-server-1", "consul-server-2"]);
        for (const name of names) {
            const server = containerNamed(dev, name);
            const config = JSON.parse(upload(server, "/consul/config/server.json"));
            expect(config.bootstrap_expect).toBe(3);
            expect(config.retry_join).toEqual(["consul-servers"]);
            expect(config.acl.default_policy).toBe("deny");
            expect(config.acl.enabled).toBe(true);
            expect(config.encrypt).toMatch(/^MOCKSECRET-base64-/);
            expect(server.inputs.networksAdvanced[0].aliases).toEqual([name, "consul-servers"]);
        }
        // No other node answers to the servers' name.
        for (const c of containers(dev).filter((c) => !names.includes(c.name)))
            expect(c.inputs.networksAdvanced?.[0]?.aliases ?? []).not.toContain("consul-servers");
    });

    test("every node's Consul agent points at the servers, by a name that does not change with their count", () => {
        const agents = namesMatching(dev, /^(swarm-(manager|worker)-\d+|lb-\d+)$/);
        for (const agent of agents) {
            const config = JSON.parse(upload(containerNamed(dev, agent), "/consul/config/client.json"));
            expect(config.retry_join).toEqual(["consul-servers"]);
            expect(config.server).toBe(false);
            expect(config.client_addr).toBe("127.0.0.1");
        }
    });

    test("HAProxy discovers the web service through the local Consul agent's DNS (SRV), not a fixed list", () => {
        for (const lb of ["lb-0", "lb-1"]) {
            const cfg = upload(containerNamed(dev, lb), "/etc/haproxy/haproxy.cfg");
            expect(cfg).toMatch(/nameserver \S+ 127\.0\.0\.1:8600/);
            expect(cfg).toMatch(/server-template \S+ 1-\d+ _web\._tcp\.service\.consul resolvers /);
            expect(cfg).not.toMatch(/^\s*server \S+ \d+\.\d+\.\d+\.\d+:\d+/m);
        }
        // The LB agents answer DNS with the catalog-read token; other agents give anonymous requests nothing.
        const lbAgent = JSON.parse(upload(containerNamed(dev, "lb-0"), "/consul/config/client.json"));
        expect(lbAgent.acl.tokens.default).toMatch(/^MOCKSECRET-uuid-consul-dns-token/);
        const workerAgent = JSON.parse(upload(containerNamed(dev, "swarm-worker-0"), "/consul/config/client.json"));
        expect(workerAgent.acl.tokens.default).toBeUndefined();
    });

    test("keepalived: the two LB nodes are each other's unicast peers and share the VIP inside the subnet", () => {
        // The documented plan (README): LB nodes .11 and .12, the VIP .10 — literal, not recomputed.
        const [a, b] = ["10.77.0.11", "10.77.0.12"];
        const conf0 = upload(containerNamed(dev, "lb-0"), "/etc/keepalived/keepalived.conf");
        const conf1 = upload(containerNamed(dev, "lb-1"), "/etc/keepalived/keepalived.conf");
        expect(conf0).toMatch(new RegExp(`unicast_src_ip ${a.replace(/\./g, "\\.")}`));
        expect(conf0).toMatch(new RegExp(`unicast_peer\\s*\\{\\s*${b.replace(/\./g, "\\.")}\\s*\\}`));
        expect(conf1).toMatch(new RegExp(`unicast_src_ip ${b.replace(/\./g, "\\.")}`));
        expect(conf1).toMatch(new RegExp(`unicast_peer\\s*\\{\\s*${a.replace(/\./g, "\\.")}\\s*\\}`));
        for (const conf of [conf0, conf1]) expect(conf).toContain("10.77.0.10/24");
        expect(dev.outputs.vip).toBe("10.77.0.10");
        expect(containerNamed(dev, "lb-0").inputs.networksAdvanced[0].ipv4Address).toBe(a);
        expect(containerNamed(dev, "lb-1").inputs.networksAdvanced[0].ipv4Address).toBe(b);
    });

    test("every node sits on the address the README documents: edge .2, Prometheus .5, LB .11–.12, Consul .20–, managers .30–, workers .40–", () => {
        const addresses = Object.fromEntries(containers(dev).map((c) => [c.name, c.inputs.networksAdvanced?.[0]?.ipv4Address]));
        expect(addresses).toEqual({
            "local-edge": "10.77.0.2",
            "monitoring-prometheus": "10.77.0.5",
            "lb-0": "10.77.0.11",
            "lb-1": "10.77.0.12",
            "consul-server-0": "10.77.0.20",
            "consul-server-1": "10.77.0.21",
            "consul-server-2": "10.77.0.22",
            "swarm-manager-0": "10.77.0.30",
            "swarm-manager-1": "10.77.0.31",
            "swarm-manager-2": "10.77.0.32",
            "swarm-worker-0": "10.77.0.40",
            "swarm-worker-1": "10.77.0.41",
        });
    });

    test("the LB nodes may manage addresses (NET_ADMIN) and run with an init process", () => {
        for (const lb of ["lb-0", "lb-1"]) {
            const c = containerNamed(dev, lb);
            expect(c.inputs.capabilities.adds).toContain("NET_ADMIN");
            expect(c.inputs.init).toBe(true);
            expect(c.inputs.privileged).toBeFalsy();
        }
    });

    test("swarm nodes are Docker-in-Docker without --privileged", () => {
        for (const name of namesMatching(dev, /^swarm-(manager|worker)-\d+$/)) {
            const c = containerNamed(dev, name);
            expect(c.inputs.privileged).toBeFalsy();
            expect(c.inputs.cgroupnsMode).toBe("private");
            expect(c.inputs.volumes[0].containerPath).toBe("/var/lib/docker");
        }
    });

    test("manager 0 initialises the swarm; the other managers join one at a time; workers join after init", () => {
        const init = dev.byName("swarm-init");
        expect(init.inputs.create).toContain("swarm-platform-dev-swarm-manager-0");
        const m1 = dev.byName("swarm-manager-1-join");
        const m2 = dev.byName("swarm-manager-2-join");
        expect(m1.dependencies).toContain(init.urn);
        expect(m2.dependencies).toContain(m1.urn);
        for (const w of ["swarm-worker-0-join", "swarm-worker-1-join"]) {
            expect(dev.byName(w).dependencies).toContain(init.urn);
        }
    });

    test("the web service deploy waits for the swarm and the image on every node", () => {
        const deploy = dev.byName("web-deploy");
        for (const dep of ["swarm-init", "swarm-manager-2-join", "swarm-worker-1-join", "swarm-worker-1-web-image"]) {
            expect(deploy.dependencies).toContain(dev.byName(dep).urn);
        }
        expect(deploy.inputs.stdin).toContain("swarm-platform/web:1.0.0");
        expect(deploy.inputs.stdin).toMatch(/start-first/);
        expect(deploy.inputs.stdin).toMatch(/rollback/);
    });

    test("a swarm node counts as ready only once it holds the web image: the next node of its group waits for that", () => {
        const dependsOn = (node: string, on: string) => dev.byName(node).dependencies.includes(dev.byName(on).urn);
        expect(dependsOn("swarm-manager-1", "swarm-manager-0-web-image")).toBe(true);
        expect(dependsOn("swarm-manager-2", "swarm-manager-1-web-image")).toBe(true);
        expect(dependsOn("swarm-worker-1", "swarm-worker-0-web-image")).toBe(true);
        // Each load runs after its node joined.
        expect(dependsOn("swarm-worker-0-web-image", "swarm-worker-0-join")).toBe(true);
        expect(dependsOn("swarm-manager-0-web-image", "swarm-init")).toBe(true);
    });

    test("the web image goes into one node at a time (a load competes with the tasks serving there)", () => {
        const loads = dev.ofType(COMMAND).filter((c) => /^swarm-(manager|worker)-\d+-web-image$/.test(c.name));
        const urns = new Set(loads.map((l) => l.urn));
        // Exactly one load starts first; every other waits for exactly one other load: a chain.
        const waitsFor = loads.map((l) => l.dependencies.filter((d) => urns.has(d)));
        expect(waitsFor.filter((w) => w.length === 0)).toHaveLength(1);
        expect(waitsFor.filter((w) => w.length === 1)).toHaveLength(loads.length - 1);
        expect(new Set(waitsFor.flat()).size).toBe(loads.length - 1);
    });

    test("a task's Docker health check says healthy within seconds but condemns it only after ≥ 10 s of failures", () => {
        // Swarm replaces unhealthy tasks: a check that fails on a few slow seconds (a node busy loading
        // an image) replaces every task at once. Traffic routing does not wait for this check.
        const script: string = dev.byName("web-deploy").inputs.stdin;
        const seconds = (flag: string) => {
            const m = new RegExp(`${flag}[ =]'?(\\d+)s?'?`).exec(script);
            if (!m) throw new Error(`web-deploy has no ${flag}`);
            return Number(m[1]);
        };
        const [interval, timeout, retries] = [seconds("--health-interval"), seconds("--health-timeout"), seconds("--health-retries")];
        expect(interval).toBeLessThanOrEqual(2);
        expect(retries * Math.min(interval, timeout)).toBeGreaterThanOrEqual(6);
        expect(retries * timeout).toBeGreaterThanOrEqual(10);
        // healthcheck.sh gives up before Docker kills it, so its reason lands in `docker inspect`.
        const inner = /HEALTHCHECK_TIMEOUT_SECONDS=(\d+)/.exec(script);
        expect(inner).not.toBeNull();
        expect(Number(inner![1])).toBeLessThan(timeout);
    });

    test("the task's health check is app/healthcheck.sh under bash, in the service and in the image: not a node process every 2 s on the task's own CPU limit", () => {
        // `node healthcheck.js` cost ~0.3 s of CPU per run; under the 0.25-CPU limit it throttled the
        // server for 1–2 s every 2 s (bench/experiments/2026-12-06-healthcheck-cost.md).
        const script: string = dev.byName("web-deploy").inputs.stdin;
        expect(script).toMatch(/--health-cmd '?bash'? '?\/app\/healthcheck\.sh'?/);
        const dockerfile = fs.readFileSync(path.join(__dirname, "../../images/web/Dockerfile"), "utf8");
        expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["bash", "\/app\/healthcheck\.sh"\]$/m);
        expect(dockerfile).toMatch(/^COPY .*app\/healthcheck\.sh .*\/app\/$/m);
    });

    test("the edge forwards the web port to the VIP and the Consul UI to every server (found by their shared name)", () => {
        const edge = containerNamed(dev, "local-edge");
        const cfg = upload(edge, "/etc/haproxy/edge.cfg");
        expect(cfg).toContain("10.77.0.10:80");
        // HTTPS to the servers' API (consul.tls enforce): their chain and name checked, the operator's client certificate presented.
        expect(cfg).toMatch(
            /^ {4}server-template consul-server- 7 consul-servers:8501 check ssl verify required ca-file \/etc\/haproxy\/consul-ui-ca\.pem crt \/etc\/haproxy\/consul-ui-client\.pem verifyhost server\.dc1\.consul check-ssl resolvers platform /m,
        );
        const files = (edge.inputs.uploads as { file: string; permissions: string }[]).map((u) => [u.file, u.permissions]);
        expect(files).toEqual(
            expect.arrayContaining([
                ["/etc/haproxy/consul-ui-ca.pem", "0600"],
                ["/etc/haproxy/consul-ui-client.pem", "0600"],
            ]),
        );
        expect(cfg).toMatch(/^resolvers platform\n {4}parse-resolv-conf$/m);
        expect(dev.outputs.webUrl).toBe("https://127.0.0.1:8443");
        expect(dev.outputs.consulUiUrl).toBe("http://127.0.0.1:8500");
        expect(dev.outputs.haproxyStatsUrl).toBe("http://127.0.0.1:8404");
    });
});

describe("security", () => {
    test("nothing listens on the host except the edge's web (HTTPS, and HTTP that redirects), Consul UI, stats and Prometheus ports, on 127.0.0.1", () => {
        const published = containers(dev).flatMap((c) =>
            (c.inputs.ports ?? []).map((p: any) => ({ container: c.name, ip: p.ip, external: p.external, internal: p.internal })),
        );
        expect(published).toEqual(
            expect.arrayContaining([
                { container: "local-edge", ip: "127.0.0.1", external: 8443, internal: 443 },
                { container: "local-edge", ip: "127.0.0.1", external: 8080, internal: 80 },
                { container: "local-edge", ip: "127.0.0.1", external: 8500, internal: 8501 },
                { container: "local-edge", ip: "127.0.0.1", external: 8404, internal: 8404 },
                { container: "local-edge", ip: "127.0.0.1", external: 9090, internal: 9090 },
            ]),
        );
        expect(published).toHaveLength(5);
        expect(containers(dev).filter((c) => c.inputs.networkMode === "host")).toEqual([]);
    });

    test("every generated secret reaches resources only as a secret input", () => {
        expect(dev.generatedSecrets.length).toBeGreaterThan(0);
        const leaks: string[] = [];
        const walk = (value: unknown, where: string): void => {
            if (typeof value === "string") {
                for (const s of dev.generatedSecrets) if (value.includes(s)) leaks.push(`${where} holds ${s} in plain text`);
            } else if (Array.isArray(value)) {
                value.forEach((v, i) => walk(v, `${where}[${i}]`));
            } else if (value !== null && typeof value === "object") {
                if (isSecretMarked(value)) return; // a secret: fine
                for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
            }
        };
        for (const r of dev.resources) walk(r.rawInputs, `${r.name}`);
        expect(leaks).toEqual([]);
    });

    test("the edge serves the web over HTTPS with the stack's own CA: a root-only, secret key file; a leaf for the names clients use; HTTP redirected", () => {
        const edge = containerNamed(dev, "local-edge");
        const cfg = upload(edge, "/etc/haproxy/edge.cfg");
        expect(cfg).toMatch(/^listen web\n {4}bind :443 ssl crt \/etc\/haproxy\/edge\.pem alpn h2,http\/1\.1$/m);
        expect(cfg).toMatch(
            /^frontend web-http\n {4}bind :80\n {4}http-request redirect location https:\/\/%\[req\.hdr\(host\),field\(1,:\)\]:8443%\[capture\.req\.uri\] code 301$/m,
        );
        expect(cfg).toContain("ssl-default-bind-options ssl-min-ver TLSv1.2");
        const pemUpload = (edge.rawInputs.uploads as any[]).find((u) => u.file === "/etc/haproxy/edge.pem");
        expect(pemUpload.permissions).toBe("0600");
        expect(isSecretMarked(pemUpload.content)).toBe(true);
        // The leaf verifies against the webCaCertificate output for every name a client of this stack uses.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-edge-"));
        try {
            fs.writeFileSync(path.join(dir, "ca.pem"), String(dev.outputs.webCaCertificate));
            fs.writeFileSync(path.join(dir, "edge.pem"), upload(edge, "/etc/haproxy/edge.pem"));
            const verify = (...how: string[]) =>
                spawnSync("openssl", ["verify", "-CAfile", "ca.pem", "-purpose", "sslserver", ...how, "edge.pem"], {
                    cwd: dir,
                    encoding: "utf8",
                });
            for (const how of [
                ["-verify_ip", "127.0.0.1"],
                ["-verify_hostname", "localhost"],
                ["-verify_ip", "10.77.0.2"],
            ])
                expect([how, verify(...how).stdout]).toEqual([how, "edge.pem: OK\n"]);
            expect(verify("-verify_hostname", "example.com").status).not.toBe(0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        // The CA is not the leaf: the output is a CA certificate, and holds no key.
        expect(String(dev.outputs.webCaCertificate)).toMatch(/^-----BEGIN CERTIFICATE-----\n[^]*-----END CERTIFICATE-----\n$/);
        expect(dev.byName("local-edge-ca").inputs).toMatchObject({
            isCaCertificate: true,
            validityPeriodHours: 87600,
            earlyRenewalHours: 8760,
        });
        expect(dev.byName("local-edge-cert").inputs).toMatchObject({ validityPeriodHours: 8760, earlyRenewalHours: 720 });
    });

    test("secrets actually reach the configs that need them", () => {
        const haproxy = upload(containerNamed(dev, "lb-0"), "/etc/haproxy/haproxy.cfg");
        expect(dev.generatedSecrets).toContain(dev.outputs.haproxyStatsPassword);
        expect(haproxy).toContain(`admin:${dev.outputs.haproxyStatsPassword}`);
        const acl = dev.byName("consul-acl-bootstrap").inputs.stdin;
        expect(acl).toContain("MOCKSECRET-uuid-consul-management-token");
        expect(acl).toContain("MOCKSECRET-uuid-consul-web-register-token");
    });

    test("stack outputs that carry secrets are secret", () => {
        expect(dev.secretOutputs).toEqual(new Set(["haproxyStatsPassword", "consulManagementToken", "consulOperatorCertificate"]));
        const plain = Object.entries(dev.outputs).filter(([k]) => !dev.secretOutputs.has(k));
        expect(JSON.stringify(plain)).not.toMatch(/MOCKSECRET/);
    });

    test("generated secrets are marked secret in state too", () => {
        for (const r of dev.ofType("random:index/randomUuid:RandomUuid").filter((r) => r.name.endsWith("-token"))) {
            expect(r.additionalSecretOutputs).toContain("result");
        }
        for (const r of dev.ofType("random:index/randomBytes:RandomBytes")) expect(r.additionalSecretOutputs).toContain("base64");
    });

    test("swarm join tokens never pass through Pulumi: joins read them from a live manager at run time", () => {
        for (const join of dev.ofType(COMMAND).filter((c) => c.name.endsWith("-join"))) {
            expect(join.inputs.create).toContain("docker swarm join-token -q");
            expect(join.inputs.create).toMatch(/docker exec -i -e SWARM_JOIN_TOKEN /);
            expect(join.inputs.stdin).not.toMatch(/SWMTKN-1-[A-Za-z0-9]{10,}/);
        }
    });
});

describe("resource hygiene", () => {
    test("every resource but the components themselves has a parent, and every child name starts with its component's", () => {
        const byUrn = new Map(dev.resources.map((r) => [r.urn, r]));
        for (const r of dev.resources) {
            if (r.type === "pulumi:pulumi:Stack") continue;
            const parent = byUrn.get(r.parent);
            if (!r.custom) continue; // components hang off the stack
            expect({ name: r.name, hasParent: parent !== undefined }).toEqual({ name: r.name, hasParent: true });
            if (parent && parent.type !== "pulumi:pulumi:Stack") {
                expect({ name: r.name, startsWithParentName: r.name.startsWith(`${parent.name}-`) }).toEqual({
                    name: r.name,
                    startsWithParentName: true,
                });
            }
        }
    });

    test("containers with fixed names are replaced delete-first (pulumi/pulumi-docker#1356)", () => {
        for (const c of containers(dev)) {
            expect(c.inputs.name).toBe(`swarm-platform-dev-${c.name.replace(/^local-/, "")}`);
            expect({ name: c.name, deleteBeforeReplace: c.deleteBeforeReplace }).toEqual({ name: c.name, deleteBeforeReplace: true });
        }
    });
});
