// LoadBalancerPair against the in-memory platform: its defaults, its refusal of bad arguments, and what
// it asks the platform for — two nodes with their HAProxy and keepalived configs, the ready gates,
// the listeners — with literal expectations.
import * as pulumi from "@pulumi/pulumi";
import { ConsulCluster } from "../../components/consulCluster";
import { LoadBalancerPair, LoadBalancerPairArgs } from "../../components/loadBalancerPair";
import {
    FakePlatform,
    FakePlatformOptions,
    isSecret,
    registered,
    registeredOutputs,
    requested,
    settled,
    thrown,
    useMocks,
} from "./fakePlatform";

useMocks();

const SERVICE = { name: "web", healthPath: "/health", maxServers: 32 };
const VIP = "10.0.4.100";

/** The pair on its own fake platform, its Consul cluster on another (so the records are the pair's). */
function build(args: Partial<LoadBalancerPairArgs> = {}, options: FakePlatformOptions = {}) {
    const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
    const platform = new FakePlatform(options);
    const lb = new LoadBalancerPair("lb", { platform, consul, vip: VIP, service: SERVICE, ...args });
    return { consul, platform, lb };
}

/** The lines of a file, trimmed. */
const lines = async (content: pulumi.Input<string>) => (await settled(content)).split("\n").map((l) => l.trim());
const file = (platform: FakePlatform, node: string, path: string) => {
    const found = platform.node(node).args.files.find((f) => f.path === path);
    if (found === undefined) throw new Error(`${node} has no ${path}`);
    return found;
};

describe("defaults", () => {
    test("two LB nodes at their planned addresses, 0.5 CPU and 128 MiB each", () => {
        const { platform, lb } = build();
        expect(platform.nodes.map((n) => [n.name, n.args.role, n.args.index, n.node.address, n.args.resources])).toEqual([
            ["lb-0", "lb", 0, "10.0.4.10", { cpus: 0.5, memoryMb: 128 }],
            ["lb-1", "lb", 1, "10.0.4.11", { cpus: 0.5, memoryMb: 128 }],
        ]);
        expect(lb.nodes.map((n) => n.name)).toEqual(["lb-0", "lb-1"]);
        expect(lb.vip).toBe(VIP);
        expect(platform.nodes.every((n) => n.parent === lb)).toBe(true);
    });

    test("each node: haproxy.cfg and keepalived.conf, mode 0600, where the LB node reads them", () => {
        const { platform } = build();
        expect(platform.node("lb-1").args.files.map((f) => [f.path, f.mode])).toEqual([
            ["/etc/haproxy/haproxy.cfg", "0600"],
            ["/etc/keepalived/keepalived.conf", "0600"],
        ]);
    });

    test("HAProxy: web on 80, stats on 8404 as admin, backends from the node's Consul agent DNS, the runtime socket", async () => {
        const { platform, lb } = build();
        const cfg = await lines(file(platform, "lb-0", "/etc/haproxy/haproxy.cfg").content);
        expect(cfg).toEqual(
            expect.arrayContaining([
                "log-tag haproxy-lb-0",
                "stats socket /run/haproxy/admin.sock mode 600 level admin",
                "nameserver consul 127.0.0.1:8600",
                "bind :80",
                "http-check send meth GET uri /health ver HTTP/1.1 hdr Host web.service.consul",
                "server-template web 1-32 _web._tcp.service.consul resolvers consul resolve-prefer ipv4 init-addr none check",
                "bind :8404",
                "stats auth 'admin:pw-lb-stats-password'",
            ]),
        );
        expect(lb.statsUser).toBe("admin");
        expect(await settled(lb.statsPassword)).toBe("pw-lb-stats-password");
        expect(await isSecret(lb.statsPassword)).toBe(true);
        expect(await isSecret(file(platform, "lb-0", "/etc/haproxy/haproxy.cfg").content)).toBe(true);
    });

    test("keepalived: VRRPv3, 0.1 s adverts, router id 51, priorities 150 and 100, unicast to the peer, the VIP on the platform's interface", async () => {
        const { platform } = build();
        const lb0 = await lines(file(platform, "lb-0", "/etc/keepalived/keepalived.conf").content);
        const lb1 = await lines(file(platform, "lb-1", "/etc/keepalived/keepalived.conf").content);
        expect(lb0).toEqual(
            expect.arrayContaining([
                "router_id lb-0",
                "vrrp_version 3",
                'script "/usr/local/bin/check_haproxy.sh 80 /lb-health"',
                "interval 1",
                "fall 2",
                "rise 2",
                "file /run/keepalived/haproxy.down",
                "interface eth7",
                "virtual_router_id 51",
                "priority 150",
                "advert_int 0.1",
                "unicast_src_ip 10.0.4.10",
                "10.0.4.11",
                "10.0.4.100/23 dev eth7",
            ]),
        );
        // No failover notify on this platform (no `notify "…"`); only the state hooks that feed the metrics.
        expect(lb0.filter((l) => l.startsWith("auth") || l.startsWith("notify "))).toEqual([]);
        expect(lb0.filter((l) => l.startsWith("notify_"))).toEqual([
            'notify_backup "/usr/local/bin/keepalived_metrics.sh BACKUP VI_LB"',
            'notify_master "/usr/local/bin/keepalived_metrics.sh MASTER VI_LB"',
            'notify_fault "/usr/local/bin/keepalived_metrics.sh FAULT VI_LB"',
            'notify_stop "/usr/local/bin/keepalived_metrics.sh STOP VI_LB"',
        ]);
        expect(lb1).toEqual(expect.arrayContaining(["router_id lb-1", "priority 100", "unicast_src_ip 10.0.4.11", "10.0.4.10"]));
        expect(lb1).not.toContain("10.0.4.11");
        expect(await isSecret(file(platform, "lb-0", "/etc/keepalived/keepalived.conf").content)).toBe(true);
    });

    test("each node's Consul agent answers DNS with the catalog (default token), beside the node", async () => {
        const { platform } = build();
        const agent = platform.node("lb-1").args.consulAgent!;
        expect(agent.resources).toEqual({ cpus: 0.25, memoryMb: 128 });
        const config = JSON.parse(await settled(agent.files[0].content));
        expect([config.node_name, config.advertise_addr, config.acl.tokens.default]).toEqual([
            "lb-1",
            "10.0.4.11",
            "uuid-consul-dns-token",
        ]);
    });
});

describe("what it asks the platform for", () => {
    test("a rolling chain: each node after the ACL bootstrap, lb-1 after lb-0 serves", async () => {
        const { consul, platform, lb } = build();
        expect(platform.scripts.map((s) => [s.name, s.args.node.name])).toEqual([
            ["lb-0-ready", "lb-0"],
            ["lb-1-ready", "lb-1"],
        ]);
        expect(lb.readyGates.map((g) => g.resource)).toEqual(platform.scripts.map((s) => s.resource));
        expect(platform.node("lb-0").args.dependsOn).toEqual([consul.aclBootstrap.resource]);
        expect(platform.node("lb-1").args.dependsOn).toEqual([consul.aclBootstrap.resource, platform.script("lb-0-ready").resource]);
        const ready = await settled(platform.script("lb-0-ready").args.script);
        expect(ready).toContain("if /usr/local/bin/check_haproxy.sh 80 /lb-health; then");
        expect(ready).toContain("CHECK_HAPROXY_HOST=10.0.4.11 /usr/local/bin/check_haproxy.sh 80 /lb-health");
        expect(await settled(platform.script("lb-1-ready").args.script)).toContain("CHECK_HAPROXY_HOST=10.0.4.10 ");
    });

    test("the platform's VIP failover: asked for the VIP, its files on every node, its notify command in keepalived", async () => {
        const failover = {
            files: [{ path: "/usr/local/sbin/vip-notify", content: "#!/bin/sh\n", mode: "0755" }],
            notifyCommand: "/usr/local/sbin/vip-notify",
        };
        const { platform } = build({}, { vipFailover: failover });
        expect(platform.failovers).toEqual([VIP]);
        for (const node of ["lb-0", "lb-1"]) {
            expect(platform.node(node).args.files.map((f) => f.path)).toEqual([
                "/etc/haproxy/haproxy.cfg",
                "/etc/keepalived/keepalived.conf",
                "/usr/local/sbin/vip-notify",
            ]);
        }
        expect(await lines(file(platform, "lb-1", "/etc/keepalived/keepalived.conf").content)).toContain(
            'notify "/usr/local/sbin/vip-notify"',
        );
    });

    test("listeners: web on the VIP, public, and active-active on both nodes; stats on the VIP", () => {
        const { lb } = build();
        expect(lb.webListener).toEqual({
            name: "web",
            port: 80,
            upstreams: [{ name: "vip", address: VIP, port: 80 }],
            check: false,
            public: true,
            activeActive: [
                { name: "lb-0", address: "10.0.4.10", port: 80 },
                { name: "lb-1", address: "10.0.4.11", port: 80 },
            ],
        });
        expect(lb.statsListener).toEqual({
            name: "stats",
            port: 8404,
            upstreams: [{ name: "vip", address: VIP, port: 8404 }],
            check: false,
        });
    });

    test("given ports, VRRP settings and limits win over the defaults", async () => {
        const { platform, lb } = build({
            webPort: 8080,
            statsPort: 9000,
            vrrpVersion: 2,
            virtualRouterId: 7,
            resources: { cpus: 1, memoryMb: 256 },
            service: { ...SERVICE, maxServers: 64 },
        });
        expect(platform.nodes.map((n) => n.args.resources)).toEqual([
            { cpus: 1, memoryMb: 256 },
            { cpus: 1, memoryMb: 256 },
        ]);
        expect(await lines(file(platform, "lb-0", "/etc/haproxy/haproxy.cfg").content)).toEqual(
            expect.arrayContaining(["bind :8080", "bind :9000", expect.stringMatching(/^server-template web 1-64 /)]),
        );
        const keepalived = await lines(file(platform, "lb-0", "/etc/keepalived/keepalived.conf").content);
        expect(keepalived).toEqual(
            expect.arrayContaining([
                "vrrp_version 2",
                "advert_int 1",
                "virtual_router_id 7",
                'script "/usr/local/bin/check_haproxy.sh 8080 /lb-health"',
                "auth_type PASS",
                "auth_pass pw-lb-vr",
            ]),
        );
        expect(lb.webListener.port).toBe(8080);
        expect(lb.webListener.activeActive?.map((t) => t.port)).toEqual([8080, 8080]);
        expect(lb.statsListener.upstreams).toEqual([{ name: "vip", address: VIP, port: 9000 }]);
        expect(await settled(platform.script("lb-1-ready").args.script)).toContain("/usr/local/bin/check_haproxy.sh 8080 /lb-health");
    });

    test("a given advert interval wins over the version's default", async () => {
        const { platform } = build({ advertIntervalSeconds: 0.25 });
        expect(await lines(file(platform, "lb-1", "/etc/keepalived/keepalived.conf").content)).toContain("advert_int 0.25");
    });
});

describe("in the stack's state", () => {
    test("its type; its passwords under it, 24 and 8 letters and digits (VRRPv2 auth_pass holds 8)", async () => {
        const { lb } = build({ vrrpVersion: 2 });
        const urn = "urn:pulumi:test::swarm-platform::swarm-platform:lb:Pair::lb";
        expect(await settled(lb.urn)).toBe(urn);
        await settled(lb.statsPassword);
        await settled(lb.nodes[0].instanceId);
        const password = (name: string) => ({
            parent: requested.find((r) => r.name === name)?.parent,
            inputs: registered.find((r) => r.name === name)?.inputs,
        });
        expect(password("lb-stats-password")).toEqual({ parent: urn, inputs: { length: 24, special: false } });
        expect(password("lb-vrrp-password")).toEqual({ parent: urn, inputs: { length: 8, special: false } });
    });

    test("its outputs: the VIP, the node names and the stats password", async () => {
        const { lb } = build();
        expect(await registeredOutputs(lb)).toEqual({ vip: VIP, nodeNames: ["lb-0", "lb-1"], statsPassword: "pw-lb-stats-password" });
    });
});

describe("bad arguments are refused before anything is created, all at once, with key, value and rule", () => {
    test.each([
        [{ vip: "10.0.4" }, 'vip = "10.0.4": must be an IPv4 address'],
        [{ vip: "10.0.4.11" }, `vip = "10.0.4.11": must differ from the LB nodes' addresses (10.0.4.10, 10.0.4.11)`],
        [{ vrrpVersion: 4 as 2 }, "vrrpVersion = 4: must be 2 or 3"],
        [
            { vrrpVersion: 2 as const, advertIntervalSeconds: 0.5 },
            "advertIntervalSeconds = 0.5: must be a whole number of seconds from 1 to 255 with vrrpVersion 2 (VRRPv2 cannot express sub-second adverts)",
        ],
        [{ advertIntervalSeconds: 0.005 }, "advertIntervalSeconds = 0.005: must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)"],
        [{ virtualRouterId: 256 }, "virtualRouterId = 256: must be a whole number from 1 to 255"],
        [{ webPort: 0 }, "webPort = 0: must be a TCP port, a whole number from 1 to 65535"],
        [{ statsPort: 65536 }, "statsPort = 65536: must be a TCP port, a whole number from 1 to 65535"],
        [{ statsPort: 80 }, "statsPort = 80: must differ from webPort"],
        [
            { resources: { cpus: 0.5, memoryMb: 2 } },
            "resources.memoryMb = 2: must be a whole number of MiB from 6 (Docker's minimum) to 4194304",
        ],
        [{ service: { ...SERVICE, maxServers: 0 } }, "service.maxServers = 0: must be a whole number ≥ 1"],
        [{ statsPasswordRotation: -1 }, "statsPasswordRotation = -1: must be a whole number ≥ 0"],
    ])("%j", (args, issue) => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        const platform = new FakePlatform();
        expect(thrown(() => new LoadBalancerPair("lb", { platform, consul, vip: VIP, service: SERVICE, ...args })).message).toBe(
            `LoadBalancerPair: invalid arguments: ${issue}`,
        );
        expect(platform.nodes).toEqual([]);
        expect(platform.failovers).toEqual([]);
    });

    test("every broken rule in one error", () => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        const error = thrown(
            () =>
                new LoadBalancerPair("lb", {
                    platform: new FakePlatform(),
                    consul,
                    vip: "10.0.4.10",
                    virtualRouterId: 0,
                    service: { ...SERVICE, maxServers: 0 },
                }),
        );
        expect(error.errors.map((e) => e.propertyPath)).toEqual(["vip", "virtualRouterId", "service.maxServers"]);
    });

    test("the edges of each range are accepted", () => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        const ok = (args: Partial<LoadBalancerPairArgs>) =>
            new LoadBalancerPair("lb", { platform: new FakePlatform(), consul, vip: VIP, service: SERVICE, ...args });
        expect(() => ok({ virtualRouterId: 1, webPort: 1, statsPort: 65535, advertIntervalSeconds: 0.01 })).not.toThrow();
        expect(() => ok({ virtualRouterId: 255, advertIntervalSeconds: 40 })).not.toThrow();
        expect(() => ok({ vrrpVersion: 2, advertIntervalSeconds: 255, service: { ...SERVICE, maxServers: 1 } })).not.toThrow();
    });
});
