// The component contracts (components/contracts/): every default as a literal, every rule at its
// edges, and the components' documented defaults (their Args JSDoc) equal to the contracts' values.
import * as fs from "fs";
import * as path from "path";
import {
    advertInterval,
    check,
    CONSUL_CLUSTER_DEFAULTS,
    loadBalancerPairIssues,
    updatePolicyIssues,
    webServiceRelationIssues,
    consulClusterIssues,
    DATACENTER,
    formatIssue,
    IPV4,
    LB_DEREGISTRATION_LAG_SECONDS,
    LOAD_BALANCER_PAIR_DEFAULTS,
    MAX_QUORUM,
    ODD_QUORUM,
    PORT,
    STOP_GRACE_MARGIN_SECONDS,
    SWARM_CLUSTER_DEFAULTS,
    SWARM_NODE_SERVICE_PORTS,
    swarmClusterIssues,
    TASK_HEALTHCHECK,
    TASK_UNHEALTHY_AFTER_SECONDS,
    VIRTUAL_ROUTER_ID,
    VRRP_VERSION,
    WEB_SERVICE_DEFAULTS,
    WEB_SERVICE_RULES,
    webServiceIssues,
    wholeAtLeast,
    CPUS,
    MEMORY_MB,
} from "../../components/contracts";

describe("defaults, literally", () => {
    test("ConsulCluster", () => {
        expect(CONSUL_CLUSTER_DEFAULTS).toEqual({
            servers: 3,
            datacenter: "dc1",
            resources: { cpus: 0.5, memoryMb: 256 },
            agentResources: { cpus: 0.25, memoryMb: 128 },
            tls: "enforce",
        });
    });

    test("SwarmCluster", () => {
        expect(SWARM_CLUSTER_DEFAULTS).toEqual({
            managers: 3,
            workers: 2,
            nodeResources: { cpus: 1, memoryMb: 1024 },
            joinTokenRotation: 0,
        });
    });

    test("LoadBalancerPair", () => {
        expect(LOAD_BALANCER_PAIR_DEFAULTS).toEqual({
            vrrpVersion: 3,
            advertIntervalSeconds: { 2: 1, 3: 0.1 },
            virtualRouterId: 51,
            webPort: 80,
            statsPort: 8404,
            resources: { cpus: 0.5, memoryMb: 128 },
            statsPasswordRotation: 0,
        });
        expect(LB_DEREGISTRATION_LAG_SECONDS).toBe(2);
    });

    test("WebService: the update monitor covers the health check's slowest verdict, 3 × (2 s + 5 s)", () => {
        expect(WEB_SERVICE_DEFAULTS).toEqual({
            serviceName: "web",
            replicas: 3,
            resources: { cpus: 0.25, memoryMb: 128 },
            portRange: { min: 20000, max: 20099 },
            drainSeconds: 3,
            stopGraceSeconds: 15,
            updatePolicy: { parallelism: 1, delaySeconds: 2, order: "start-first", monitorSeconds: 21 },
            preferWorkers: true,
        });
        expect(TASK_HEALTHCHECK).toEqual({ intervalSeconds: 2, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 });
        expect(TASK_UNHEALTHY_AFTER_SECONDS).toBe(21);
        expect(STOP_GRACE_MARGIN_SECONDS).toBe(2);
    });

    test("the ports a swarm node's own services listen on", () => {
        expect(SWARM_NODE_SERVICE_PORTS).toEqual([
            { port: 2377, what: "Swarm cluster management" },
            { port: 7946, what: "Swarm gossip" },
            { port: 4789, what: "Swarm overlay (VXLAN)" },
            { port: 8300, what: "Consul server RPC" },
            { port: 8301, what: "Consul LAN gossip" },
            { port: 8302, what: "Consul WAN gossip" },
            { port: 8500, what: "Consul HTTP API" },
            { port: 8600, what: "Consul DNS" },
        ]);
    });
});

describe("rules at their edges", () => {
    const holds = <T>(rule: { holds: (v: T) => boolean }, values: T[]) => values.map((v) => rule.holds(v));

    test("odd quorum: 1, 3, 5, 7 only", () => {
        expect(MAX_QUORUM).toBe(7);
        expect(holds(ODD_QUORUM, [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1.5, NaN])).toEqual([
            false,
            false,
            true,
            false,
            true,
            false,
            true,
            false,
            true,
            false,
            false,
            false,
            false,
        ]);
    });

    test("whole numbers from a minimum", () => {
        expect(holds(wholeAtLeast(1), [0, 1, 2, 1.5])).toEqual([false, true, true, false]);
        expect(wholeAtLeast(0).text).toBe("must be a whole number ≥ 0");
    });

    test("limits: CPUs in (0, 64], memory a whole number of MiB from 6", () => {
        expect(holds(CPUS, [0, 0.001, 64, 64.5, -1])).toEqual([false, true, true, false, false]);
        expect(holds(MEMORY_MB, [5, 6, 6.5, 1024])).toEqual([false, true, false, true]);
    });

    test("ports, router ids, VRRP versions, IPv4 addresses, datacenters", () => {
        expect(holds(PORT, [0, 1, 65535, 65536, 80.5])).toEqual([false, true, true, false, false]);
        expect(holds(VIRTUAL_ROUTER_ID, [0, 1, 255, 256, 1.5])).toEqual([false, true, true, false, false]);
        expect(holds(VRRP_VERSION, [1, 2, 3, 4])).toEqual([false, true, true, false]);
        expect(holds(IPV4, ["10.0.0.1", "10.0.0", "10.0.0.256", "::1", "010.0.0.1"])).toEqual([true, false, false, false, false]);
        expect(holds(DATACENTER, ["dc1", "eu-west-1", "DC1", "-dc", "dc-", "a".repeat(63), "a".repeat(64)])).toEqual([
            true,
            true,
            false,
            false,
            false,
            true,
            false,
        ]);
    });

    test("image tags: letters, digits and _ first, then also . and -, 128 characters at most", () => {
        const first = ["A", "Z", "a", "z", "0", "9", "_"];
        const notFirst = ["@", "[", "`", "{", "/", ":", ".", "-", "^", " "];
        expect(holds(WEB_SERVICE_RULES.version, first)).toEqual(first.map(() => true));
        expect(holds(WEB_SERVICE_RULES.version, notFirst)).toEqual(notFirst.map(() => false));
        const next = ["A", "Z", "a", "z", "0", "9", "_", ".", "-"];
        const notNext = ["@", "[", "`", "{", "/", ":", ",", "+", " "];
        expect(
            holds(
                WEB_SERVICE_RULES.version,
                next.map((c) => `v${c}`),
            ),
        ).toEqual(next.map(() => true));
        expect(
            holds(
                WEB_SERVICE_RULES.version,
                notNext.map((c) => `v${c}`),
            ),
        ).toEqual(notNext.map(() => false));
        expect(holds(WEB_SERVICE_RULES.version, ["v1.0-rc_2", "a".repeat(127), "a".repeat(128), "a".repeat(129), "v1\n"])).toEqual([
            true,
            true,
            true,
            false,
            false,
        ]);
    });

    test("datacenters: DNS labels of 1–63 lowercase letters, digits and inner hyphens", () => {
        const ends = ["a", "z", "0", "9"];
        const notEnds = ["A", "Z", "`", "{", "/", ":", "-", "_", "."];
        expect(holds(DATACENTER, ends)).toEqual(ends.map(() => true));
        expect(holds(DATACENTER, notEnds)).toEqual(notEnds.map(() => false));
        expect(
            holds(
                DATACENTER,
                ends.map((c) => `${c}x`),
            ),
        ).toEqual(ends.map(() => true));
        expect(
            holds(
                DATACENTER,
                notEnds.map((c) => `${c}x`),
            ),
        ).toEqual(notEnds.map(() => false));
        expect(
            holds(
                DATACENTER,
                ends.map((c) => `x${c}`),
            ),
        ).toEqual(ends.map(() => true));
        expect(
            holds(
                DATACENTER,
                notEnds.map((c) => `x${c}`),
            ),
        ).toEqual(notEnds.map(() => false));
        const inner = ["a", "z", "0", "9", "-"];
        const notInner = ["A", "Z", "`", "{", "/", ":", "_", ".", " "];
        expect(
            holds(
                DATACENTER,
                inner.map((c) => `x${c}y`),
            ),
        ).toEqual(inner.map(() => true));
        expect(
            holds(
                DATACENTER,
                notInner.map((c) => `x${c}y`),
            ),
        ).toEqual(notInner.map(() => false));
        expect(holds(DATACENTER, ["ab", "a--b", "a".repeat(62), "a".repeat(63), "a".repeat(64), "dc1\n", ""])).toEqual([
            true,
            true,
            true,
            true,
            false,
            false,
            false,
        ]);
    });

    test("advert intervals: VRRPv2 whole seconds 1–255, VRRPv3 centiseconds 0.01–40", () => {
        expect(holds(advertInterval(2), [0, 1, 1.5, 255, 256])).toEqual([false, true, false, true, false]);
        expect(holds(advertInterval(3), [0, 0.01, 0.015, 0.1, 40, 40.01])).toEqual([false, true, false, true, true, false]);
        expect(advertInterval(2, (k) => `lb.${k}`).text).toBe(
            "must be a whole number of seconds from 1 to 255 with lb.vrrpVersion 2 (VRRPv2 cannot express sub-second adverts)",
        );
    });

    test("web: unprivileged ports, drain 0–60 s, whole grace seconds", () => {
        expect(holds(WEB_SERVICE_RULES.port, [1023, 1024, 65535, 65536])).toEqual([false, true, true, false]);
        expect(holds(WEB_SERVICE_RULES.drainSeconds, [-0.5, 0, 60, 60.5])).toEqual([false, true, true, false]);
        expect(holds(WEB_SERVICE_RULES.stopGraceSeconds, [0, 1, 1.5])).toEqual([false, true, false]);
        expect(holds(WEB_SERVICE_RULES.version, ["1.0.0", "", ".1", "-1", "a".repeat(128), "a".repeat(129), "v 1"])).toEqual([
            true,
            false,
            false,
            false,
            true,
            false,
            false,
        ]);
    });
});

describe("issues: key, value, rule — under the caller's key names", () => {
    test("an issue reads key = value: rule, a missing value as (missing)", () => {
        expect(formatIssue({ key: "consul.servers", value: 4, rule: "must be odd" })).toBe("consul.servers = 4: must be odd");
        expect(formatIssue({ key: "web.version", value: undefined, rule: "is required" })).toBe("web.version = (missing): is required");
        expect(check("k", 2, wholeAtLeast(3))).toEqual({ key: "k", value: 2, rule: "must be a whole number ≥ 3" });
        expect(check("k", 3, wholeAtLeast(3))).toBeUndefined();
    });

    test("the contracts' issues name the caller's keys, also inside their rules", () => {
        const config = (k: string) => (k === "portRange.min" ? "web.portMin" : k === "portRange.max" ? "web.portMax" : `web.${k}`);
        const web = { replicas: 3, version: "1", resources: { cpus: 1, memoryMb: 64 }, drainSeconds: 3, stopGraceSeconds: 4 };
        expect(webServiceIssues({ ...web, portRange: { min: 30000, max: 30002 } }, config)).toEqual([
            { key: "web.portMax", value: 30002, rule: "must leave at least web.replicas + 1 = 4 ports from web.portMin = 30000" },
            {
                key: "web.stopGraceSeconds",
                value: 4,
                rule: "must be at least web.drainSeconds + 2 = 5 so a draining task is not killed mid-request",
            },
        ]);
        expect(consulClusterIssues({ ...CONSUL_CLUSTER_DEFAULTS, servers: 2 }, (k) => `consul.${k}`).map((i) => i.key)).toEqual([
            "consul.servers",
        ]);
        expect(
            swarmClusterIssues({ managers: 3, workers: -1, nodeResources: { cpus: 0, memoryMb: 1 } }, (k) => `swarm.${k}`).map(
                (i) => i.key,
            ),
        ).toEqual(["swarm.workers", "swarm.nodeResources.cpus", "swarm.nodeResources.memoryMb"]);
    });
});

describe("each component documents the contract's defaults", () => {
    /** `Defaults to X` of each `readonly key?:` in a component file's JSDoc. */
    const documented = (file: string): Record<string, string> => {
        const text = fs.readFileSync(path.join(__dirname, "..", "..", "components", file), "utf8");
        const found: Record<string, string> = {};
        for (const m of text.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*?)\*\/\s*readonly (\w+)\?:/g)) {
            const doc = m[1].replace(/\s*\n\s*\*\s*/g, " ");
            const stated = /Defaults to (.+?)(?:[.:;] |\.?\s*$)/.exec(doc.trim());
            if (stated !== undefined && stated !== null) found[m[2]] = stated[1];
        }
        return found;
    };
    const limits = (l: { cpus: number; memoryMb: number }) => `${l.cpus} CPU, ${l.memoryMb} MiB`;

    test("ConsulCluster", () => {
        const d = CONSUL_CLUSTER_DEFAULTS;
        expect(documented("consulCluster.ts")).toMatchObject({
            servers: String(d.servers),
            datacenter: `"${d.datacenter}"`,
            resources: limits(d.resources),
            agentResources: limits(d.agentResources),
        });
    });

    test("SwarmCluster", () => {
        const d = SWARM_CLUSTER_DEFAULTS;
        expect(documented("swarmCluster.ts")).toMatchObject({
            managers: String(d.managers),
            workers: String(d.workers),
            nodeResources: limits(d.nodeResources),
        });
    });

    test("LoadBalancerPair", () => {
        const d = LOAD_BALANCER_PAIR_DEFAULTS;
        expect(documented("loadBalancerPair.ts")).toMatchObject({
            vrrpVersion: `${d.vrrpVersion} (sub-second adverts)`,
            advertIntervalSeconds: `${d.advertIntervalSeconds[3]} with VRRPv3, ${d.advertIntervalSeconds[2]} with VRRPv2`,
            virtualRouterId: String(d.virtualRouterId),
            webPort: String(d.webPort),
            statsPort: String(d.statsPort),
            resources: limits(d.resources),
        });
    });

    test("WebService and its update policy", () => {
        const d = WEB_SERVICE_DEFAULTS;
        expect(documented("webService.ts")).toMatchObject({
            serviceName: `"${d.serviceName}"`,
            replicas: String(d.replicas),
            resources: limits(d.resources),
            portRange: `${d.portRange.min}–${d.portRange.max}`,
            drainSeconds: String(d.drainSeconds),
            stopGraceSeconds: String(d.stopGraceSeconds),
            preferWorkers: String(d.preferWorkers),
            parallelism: String(d.updatePolicy.parallelism),
            delaySeconds: String(d.updatePolicy.delaySeconds),
            order: `"${d.updatePolicy.order}"`,
            monitorSeconds: String(d.updatePolicy.monitorSeconds),
        });
    });
});

// These call the contracts directly: the component tests reach them only through the components.
describe("each rule's words", () => {
    test("as every error message shows them", () => {
        expect(
            [ODD_QUORUM, CPUS, MEMORY_MB, PORT, DATACENTER, VRRP_VERSION, VIRTUAL_ROUTER_ID, IPV4, advertInterval(3)].map((r) => r.text),
        ).toEqual([
            "must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
            "must be a number of CPUs from 0.001 to 64, at most 3 decimals",
            "must be a whole number of MiB from 6 (Docker's minimum) to 4194304",
            "must be a TCP port, a whole number from 1 to 65535",
            "must be a lowercase DNS label",
            "must be 2 or 3",
            "must be a whole number from 1 to 255",
            "must be an IPv4 address",
            "must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)",
        ]);
    });
});

describe("issues of each contract, under the caller's key names", () => {
    const lb = (k: string) => `lb.${k}`;
    const lbSettings = {
        vip: "10.0.4.100",
        vrrpVersion: 3 as 2 | 3,
        advertIntervalSeconds: 0.1,
        virtualRouterId: 51,
        webPort: 80,
        statsPort: 8404,
        resources: { cpus: 0.5, memoryMb: 128 },
        addresses: ["10.0.4.10", "10.0.4.11"],
        maxServers: 32,
    };

    test("LoadBalancerPair: none for the defaults; every broken rule with its key, value and rule", () => {
        expect(loadBalancerPairIssues(lbSettings, lb)).toEqual([]);
        expect(
            loadBalancerPairIssues(
                {
                    vip: "10.0.4.11",
                    vrrpVersion: 3,
                    advertIntervalSeconds: 0.005,
                    virtualRouterId: 0,
                    webPort: 0,
                    statsPort: 0,
                    resources: { cpus: 0, memoryMb: 128 },
                    addresses: ["10.0.4.10", "10.0.4.11"],
                    maxServers: 0,
                },
                lb,
            ),
        ).toEqual([
            { key: "lb.vip", value: "10.0.4.11", rule: "must differ from the LB nodes' addresses (10.0.4.10, 10.0.4.11)" },
            { key: "lb.advertIntervalSeconds", value: 0.005, rule: "must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)" },
            { key: "lb.virtualRouterId", value: 0, rule: "must be a whole number from 1 to 255" },
            { key: "lb.webPort", value: 0, rule: "must be a TCP port, a whole number from 1 to 65535" },
            { key: "lb.statsPort", value: 0, rule: "must be a TCP port, a whole number from 1 to 65535" },
            { key: "lb.statsPort", value: 0, rule: "must differ from lb.webPort" },
            { key: "lb.resources.cpus", value: 0, rule: "must be a number of CPUs from 0.001 to 64, at most 3 decimals" },
            { key: "lb.service.maxServers", value: 0, rule: "must be a whole number ≥ 1" },
        ]);
        expect(loadBalancerPairIssues({ ...lbSettings, vip: "10.0.4", vrrpVersion: 4 as 3 }, lb)).toEqual([
            { key: "lb.vip", value: "10.0.4", rule: "must be an IPv4 address" },
            { key: "lb.vrrpVersion", value: 4, rule: "must be 2 or 3" },
        ]);
        expect(loadBalancerPairIssues({ ...lbSettings, webPort: 8404 }, lb)).toEqual([
            { key: "lb.statsPort", value: 8404, rule: "must differ from lb.webPort" },
        ]);
    });

    const web = {
        replicas: 3,
        version: "1.0.0",
        resources: { cpus: 0.25, memoryMb: 64 },
        portRange: { min: 20000, max: 20099 },
        drainSeconds: 3,
        stopGraceSeconds: 15,
    };
    const w = (k: string) => `web.${k}`;

    test("WebService: every value's own rule under its key", () => {
        expect(webServiceIssues(web, w)).toEqual([]);
        expect(
            webServiceIssues(
                {
                    replicas: 0,
                    version: "",
                    resources: { cpus: 0.25, memoryMb: 1 },
                    portRange: { min: 80, max: 70000 },
                    drainSeconds: 61,
                    stopGraceSeconds: 0.5,
                },
                w,
            ).map((i) => i.key),
        ).toEqual([
            "web.replicas",
            "web.version",
            "web.resources.memoryMb",
            "web.portRange.min",
            "web.portRange.max",
            "web.drainSeconds",
            "web.stopGraceSeconds",
            "web.portRange.max",
            "web.stopGraceSeconds",
        ]);
    });

    test("WebService: a port range holding a swarm node's own port, at either end, is refused", () => {
        const range = (min: number, max: number) => webServiceRelationIssues({ ...web, replicas: 1, portRange: { min, max } }, w);
        const rpc = {
            key: "web.portRange.max",
            value: 8300,
            rule: "web.portRange.min–web.portRange.max (8300–8300) must not include 8300, the Consul server RPC port on every swarm node",
        };
        expect(range(8300, 8300)).toEqual([
            rpc,
            { key: "web.portRange.max", value: 8300, rule: "must leave at least web.replicas + 1 = 2 ports from web.portRange.min = 8300" },
        ]);
        expect(range(8299, 8300).map((i) => i.rule)).toEqual([
            "web.portRange.min–web.portRange.max (8299–8300) must not include 8300, the Consul server RPC port on every swarm node",
        ]);
        expect(range(8300, 8301).map((i) => i.rule)).toEqual([
            "web.portRange.min–web.portRange.max (8300–8301) must not include 8300, the Consul server RPC port on every swarm node",
        ]);
        expect(range(8301, 8302).map((i) => i.rule)).toEqual([
            "web.portRange.min–web.portRange.max (8301–8302) must not include 8301, the Consul LAN gossip port on every swarm node",
        ]);
        expect(range(8303, 8304)).toEqual([]);
        expect(range(8298, 8299)).toEqual([]);
    });

    test("WebService: max below min, too few ports, too short a grace — each at its edge", () => {
        const issues = (s: Partial<typeof web>) => webServiceRelationIssues({ ...web, ...s }, w);
        expect(issues({ portRange: { min: 30000, max: 29999 }, replicas: 0 })).toEqual([
            { key: "web.portRange.max", value: 29999, rule: "must not be below web.portRange.min = 30000" },
            {
                key: "web.portRange.max",
                value: 29999,
                rule: "must leave at least web.replicas + 1 = 1 ports from web.portRange.min = 30000",
            },
        ]);
        expect(issues({ portRange: { min: 30000, max: 30000 }, replicas: 0 })).toEqual([]);
        expect(issues({ portRange: { min: 30000, max: 30003 }, replicas: 3 })).toEqual([]);
        expect(issues({ portRange: { min: 30000, max: 30002 }, replicas: 3 }).map((i) => i.rule)).toEqual([
            "must leave at least web.replicas + 1 = 4 ports from web.portRange.min = 30000",
        ]);
        expect(issues({ drainSeconds: 3, stopGraceSeconds: 5 })).toEqual([]);
        expect(issues({ drainSeconds: 3, stopGraceSeconds: 4 }).map((i) => i.key)).toEqual(["web.stopGraceSeconds"]);
    });

    test("WebService: the rolling-update policy, each value under its key", () => {
        expect(updatePolicyIssues({ parallelism: 1, delaySeconds: 0, order: "stop-first", monitorSeconds: 0 }, w)).toEqual([]);
        expect(updatePolicyIssues({ parallelism: 0, delaySeconds: -1, order: "random", monitorSeconds: 1.5 }, w)).toEqual([
            { key: "web.updatePolicy.parallelism", value: 0, rule: "must be a whole number ≥ 1" },
            { key: "web.updatePolicy.delaySeconds", value: -1, rule: "must be a whole number ≥ 0" },
            { key: "web.updatePolicy.order", value: "random", rule: 'must be "start-first" or "stop-first"' },
            { key: "web.updatePolicy.monitorSeconds", value: 1.5, rule: "must be a whole number ≥ 0" },
        ]);
    });

    test("without key names, the components' own argument names", () => {
        expect(swarmClusterIssues({ managers: 3, workers: -1, nodeResources: { cpus: 1, memoryMb: 64 } }).map((i) => i.key)).toEqual([
            "workers",
        ]);
    });

    test("ConsulCluster and SwarmCluster: every key", () => {
        const limits = { cpus: 0, memoryMb: 1 };
        expect(
            consulClusterIssues(
                { servers: 2, datacenter: "DC", resources: limits, agentResources: limits, tls: "on" },
                (k) => `consul.${k}`,
            ).map((i) => i.key),
        ).toEqual([
            "consul.servers",
            "consul.datacenter",
            "consul.resources.cpus",
            "consul.resources.memoryMb",
            "consul.agentResources.cpus",
            "consul.agentResources.memoryMb",
            "consul.tls",
        ]);
        expect(swarmClusterIssues({ managers: 2, workers: 0, nodeResources: { cpus: 1, memoryMb: 64 } }, (k) => `swarm.${k}`)).toEqual([
            {
                key: "swarm.managers",
                value: 2,
                rule: "must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
            },
        ]);
    });
});
