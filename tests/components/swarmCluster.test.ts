// SwarmCluster against the in-memory platform: its defaults, its refusal of bad arguments, and what
// it asks the platform for — nodes, the init/join/leave scripts, image loads, and their order.
import * as pulumi from "@pulumi/pulumi";
import { ConsulCluster } from "../../components/consulCluster";
import { SwarmCluster, SwarmClusterArgs } from "../../components/swarmCluster";
import { FakePlatform, FakePlatformOptions, registeredOutputs, settled, thrown, useMocks } from "./fakePlatform";

useMocks();

/** `NAME=value` lines of a rendered script. */
const vars = (script: pulumi.Input<string>): Promise<Record<string, string>> =>
    settled(script).then((text) =>
        Object.fromEntries(
            text
                .split("\n")
                .filter((l) => /^[A-Z_]+=/.test(l))
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        ),
    );

/** A swarm on its own fake platform, its Consul cluster on another (so the records are the swarm's). */
function build(args: Partial<SwarmClusterArgs> = {}, options: FakePlatformOptions = {}) {
    const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
    const platform = new FakePlatform(options);
    const swarm = new SwarmCluster("swarm", { platform, consul, subnet: "10.77.0.0/24", ...args });
    return { consul, platform, swarm };
}

describe("defaults", () => {
    test("three managers and two workers at their planned addresses, 1 CPU and 1024 MiB each", () => {
        const { platform, swarm } = build();
        expect(platform.loads).toEqual([]);
        expect(platform.nodes.map((n) => [n.name, n.args.role, n.args.index, n.node.address, n.args.resources])).toEqual([
            ["swarm-manager-0", "swarm-manager", 0, "10.0.2.10", { cpus: 1, memoryMb: 1024 }],
            ["swarm-manager-1", "swarm-manager", 1, "10.0.2.11", { cpus: 1, memoryMb: 1024 }],
            ["swarm-manager-2", "swarm-manager", 2, "10.0.2.12", { cpus: 1, memoryMb: 1024 }],
            ["swarm-worker-0", "swarm-worker", 0, "10.0.3.10", { cpus: 1, memoryMb: 1024 }],
            ["swarm-worker-1", "swarm-worker", 1, "10.0.3.11", { cpus: 1, memoryMb: 1024 }],
        ]);
        expect(swarm.managers.map((m) => m.name)).toEqual(["swarm-manager-0", "swarm-manager-1", "swarm-manager-2"]);
        expect(swarm.workers.map((w) => w.name)).toEqual(["swarm-worker-0", "swarm-worker-1"]);
        expect(swarm.leader.name).toBe("swarm-manager-0");
        expect(platform.nodes.every((n) => n.parent === swarm)).toBe(true);
    });

    test("every node: the engine's daemon.json, and a Consul agent of the cluster at the node's address", async () => {
        const { platform } = build();
        const worker = platform.node("swarm-worker-1").args;
        expect(worker.files.map((f) => [f.path, f.mode])).toEqual([["/etc/docker/daemon.json", "0644"]]);
        expect(JSON.parse(await settled(worker.files[0].content))).toMatchObject({
            "storage-driver": "overlay2",
            "default-address-pools": [{ base: "10.215.0.0/16", size: 24 }],
        });
        expect(worker.consulAgent?.resources).toEqual({ cpus: 0.25, memoryMb: 128 });
        // The agent also announces the engine's metrics endpoint (metrics-docker) in the catalog.
        expect(worker.consulAgent?.files.map((f) => f.path)).toEqual([
            "/consul/config/client.json",
            "/consul/config/metrics.json",
            "/consul/config/tls/ca.pem",
        ]);
        const agent = JSON.parse(await settled(worker.consulAgent!.files[0].content));
        expect([agent.node_name, agent.advertise_addr]).toEqual(["swarm-worker-1", "10.0.3.11"]);
    });

    test("the inner engines' address pools must keep clear of the nodes' subnet", () => {
        expect(() => build({ subnet: "10.215.0.0/16" })).toThrow(/overlap/);
    });
});

describe("joining: one init, managers one at a time, workers after the init", () => {
    test("manager 0 initialises, reading a token from another manager if one answers (a replacement joins the live swarm)", async () => {
        const { platform, swarm } = build();
        const init = platform.script("swarm-init");
        expect(init.args.node).toBe(swarm.leader);
        expect(await vars(init.args.script)).toMatchObject({
            NODE_NAME: "swarm-manager-0",
            ROLE: "manager",
            ADVERTISE_ADDR: "10.0.2.10",
            MANAGERS: "'10.0.2.11:2377 10.0.2.12:2377'",
            JOIN_TOKEN: "${SWARM_JOIN_TOKEN:-}",
        });
        expect(init.args.secretEnv).toEqual({
            SWARM_JOIN_TOKEN: {
                nodes: [swarm.managers[1], swarm.managers[2]],
                command: "docker swarm join-token -q manager",
                optional: true,
            },
        });
    });

    test("a single manager initialises a new swarm, nothing to join", async () => {
        const { platform } = build({ managers: 1, workers: 0 });
        const init = platform.script("swarm-init");
        expect(init.args.secretEnv).toBeUndefined();
        expect((await vars(init.args.script)).MANAGERS).toBe("''");
        expect(platform.scripts.map((s) => s.name)).toEqual(["swarm-init"]);
    });

    test("each join: its role's token from another manager, every other manager to try, after the previous member", async () => {
        const { platform, swarm } = build();
        expect(platform.scripts.map((s) => [s.name, s.args.node.name])).toEqual([
            ["swarm-init", "swarm-manager-0"],
            ["swarm-manager-1-join", "swarm-manager-1"],
            ["swarm-manager-2-join", "swarm-manager-2"],
            ["swarm-worker-0-join", "swarm-worker-0"],
            ["swarm-worker-1-join", "swarm-worker-1"],
        ]);
        const join = (name: string) => platform.script(name);
        expect(join("swarm-manager-1-join").args.dependsOn).toEqual([join("swarm-init").resource]);
        expect(join("swarm-manager-2-join").args.dependsOn).toEqual([join("swarm-manager-1-join").resource]);
        expect(join("swarm-worker-0-join").args.dependsOn).toEqual([join("swarm-init").resource]);
        expect(join("swarm-worker-1-join").args.dependsOn).toEqual([join("swarm-init").resource]);
        expect(await vars(join("swarm-manager-2-join").args.script)).toMatchObject({
            NODE_NAME: "swarm-manager-2",
            ROLE: "manager",
            ADVERTISE_ADDR: "10.0.2.12",
            MANAGERS: "'10.0.2.10:2377 10.0.2.11:2377'",
        });
        expect(join("swarm-manager-2-join").args.secretEnv).toEqual({
            SWARM_JOIN_TOKEN: {
                nodes: [swarm.managers[0], swarm.managers[1]],
                command: "docker swarm join-token -q manager",
                optional: false,
            },
        });
        expect(await vars(join("swarm-worker-0-join").args.script)).toMatchObject({
            NODE_NAME: "swarm-worker-0",
            ROLE: "worker",
            ADVERTISE_ADDR: "10.0.3.10",
            MANAGERS: "'10.0.2.10:2377 10.0.2.11:2377 10.0.2.12:2377'",
        });
        expect(join("swarm-worker-0-join").args.secretEnv).toEqual({
            SWARM_JOIN_TOKEN: { nodes: swarm.managers, command: "docker swarm join-token -q worker", optional: false },
        });
    });

    test("nodes in rolling chains: after the ACL bootstrap and the previous member of their group", async () => {
        const { consul, platform, swarm } = build({ images: [] });
        const dependsOn = async (name: string) => Promise.all(platform.node(name).args.dependsOn ?? []);
        const script = (name: string) => platform.script(name).resource;
        expect(await dependsOn("swarm-manager-0")).toStrictEqual([consul.aclBootstrap.resource]);
        expect(await dependsOn("swarm-worker-0")).toStrictEqual([consul.aclBootstrap.resource]);
        expect(await dependsOn("swarm-manager-1")).toEqual([consul.aclBootstrap.resource, script("swarm-init")]);
        expect(await dependsOn("swarm-manager-2")).toEqual([consul.aclBootstrap.resource, script("swarm-manager-1-join")]);
        expect(await dependsOn("swarm-worker-0")).toEqual([consul.aclBootstrap.resource]);
        expect(await dependsOn("swarm-worker-1")).toEqual([consul.aclBootstrap.resource, script("swarm-worker-0-join")]);
        expect(swarm.ready).toEqual(platform.scripts.map((s) => s.resource));
    });

    test("leaving: drain on a manager, leave on the node, remove on a manager — before the node goes", async () => {
        const { platform, swarm } = build();
        const worker = platform.script("swarm-worker-1-join").args;
        expect(worker.drain?.nodes).toEqual(swarm.managers);
        expect(worker.cleanup?.nodes).toEqual(swarm.managers);
        expect(await vars(worker.drain!.script)).toMatchObject({ NODE_NAME: "swarm-worker-1", DRAIN_TIMEOUT: "120" });
        expect(await vars(worker.deleteScript!)).toMatchObject({ NODE_NAME: "swarm-worker-1", ROLE: "worker" });
        expect(await vars(worker.cleanup!.script)).toMatchObject({ NODE_NAME: "swarm-worker-1", DOWN_TIMEOUT: "60" });
        const manager = platform.script("swarm-init").args;
        expect(await vars(manager.deleteScript!)).toMatchObject({ NODE_NAME: "swarm-manager-0", ROLE: "manager" });
        expect(await vars(manager.drain!.script)).toMatchObject({ NODE_NAME: "swarm-manager-0" });
    });
});

describe("images: every node holds them before it counts, loaded one node at a time", () => {
    test("loads chained across all nodes; the next member of a group waits for its predecessor's loads", async () => {
        const images = new FakePlatform();
        const web = images.buildImage({ name: "web", dockerfile: "images/web/Dockerfile", tag: "1.0.0" });
        const api = images.buildImage({ name: "api", dockerfile: "images/api/Dockerfile", tag: "2.0.0" });
        const { consul, platform, swarm } = build({ managers: 1, workers: 2, images: [web, api] });
        expect(platform.loads.map((l) => [l.image.name, l.node.name])).toEqual([
            ["web", "swarm-manager-0"],
            ["api", "swarm-manager-0"],
            ["web", "swarm-worker-0"],
            ["api", "swarm-worker-0"],
            ["web", "swarm-worker-1"],
            ["api", "swarm-worker-1"],
        ]);
        const load = (i: number) => platform.loads[i].resource!;
        const script = (name: string) => platform.script(name).resource;
        expect(platform.loads.map((l) => l.dependsOn)).toStrictEqual([
            [script("swarm-init")],
            [script("swarm-init"), load(0)],
            [script("swarm-worker-0-join"), load(1)],
            [script("swarm-worker-0-join"), load(2)],
            [script("swarm-worker-1-join"), load(3)],
            [script("swarm-worker-1-join"), load(4)],
        ]);
        expect(await Promise.all(platform.node("swarm-worker-1").args.dependsOn ?? [])).toEqual([consul.aclBootstrap.resource, load(3)]);
        expect(swarm.ready).toEqual([
            script("swarm-init"),
            script("swarm-worker-0-join"),
            script("swarm-worker-1-join"),
            ...[0, 1, 2, 3, 4, 5].map(load),
        ]);
    });

    test("where nodes pull from a registry there is nothing to load: membership alone makes a node ready", async () => {
        const registry = new FakePlatform({ pullsImages: true });
        const web = registry.buildImage({ name: "web", dockerfile: "images/web/Dockerfile", tag: "1.0.0" });
        const { consul, platform, swarm } = build({ managers: 1, workers: 2, images: [web] }, { pullsImages: true });
        expect(platform.loads.map((l) => l.node.name)).toEqual(["swarm-manager-0", "swarm-worker-0", "swarm-worker-1"]);
        expect(await Promise.all(platform.node("swarm-worker-1").args.dependsOn ?? [])).toEqual([
            consul.aclBootstrap.resource,
            platform.script("swarm-worker-0-join").resource,
        ]);
        expect(swarm.ready).toEqual(platform.scripts.map((s) => s.resource));
    });
});

describe("join-token rotation (joinTokenRotation)", () => {
    test("a generation asks for one cluster script on the managers, after every node joined, that rotates once for it; 0 (the default) for none", async () => {
        expect(build().platform.clusterScripts.map((c) => c.name)).toEqual([]);
        const { platform, swarm } = build({ joinTokenRotation: 2 });
        expect(platform.clusterScripts.map((c) => c.name)).toEqual(["swarm-rotate-join-tokens"]);
        const [rotate] = platform.clusterScripts;
        expect(rotate.args.nodes.map((n) => n.name)).toEqual(["swarm-manager-0", "swarm-manager-1", "swarm-manager-2"]);
        expect(rotate.args.dependsOn).toEqual(swarm.ready);
        expect(await vars(rotate.args.script)).toMatchObject({ GENERATION: "2", MARKER: "swarm-platform-join-tokens-rotated-2" });
        // Cluster-wide work: nothing to undo when it leaves the program.
        expect(rotate.args.deleteScript).toBeUndefined();
    });

    test("a generation that is not a whole number ≥ 0 is refused before anything is created", () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        expect(thrown(() => new SwarmCluster("swarm", { platform, consul, subnet: "10.77.0.0/24", joinTokenRotation: 1.5 })).message).toBe(
            "SwarmCluster: invalid arguments: joinTokenRotation = 1.5: must be a whole number ≥ 0",
        );
        expect(platform.nodes).toEqual([]);
    });
});

describe("identity: the swarm's cluster ID from the init script", () => {
    test("read from the init script's output", async () => {
        const { swarm } = build({}, { initStdout: '{"managerAddr":"10.0.2.10:2377","nodeId":"n0","clusterId":"c0ffee"}\n' });
        expect(await settled(swarm.identity)).toBe("c0ffee");
    });

    test("empty where the platform returns no output (its swarm outlives the state)", async () => {
        const { swarm } = build({}, { initStdout: "  \n" });
        expect(await settled(swarm.identity)).toBe("");
    });
});

describe("in the stack's state", () => {
    test("its type and its outputs: the manager and worker names", async () => {
        const { swarm } = build({ managers: 1, workers: 2 });
        expect(await settled(swarm.urn)).toBe("urn:pulumi:test::swarm-platform::swarm-platform:swarm:Cluster::swarm");
        expect(await registeredOutputs(swarm)).toEqual({
            managerNames: ["swarm-manager-0"],
            workerNames: ["swarm-worker-0", "swarm-worker-1"],
        });
    });
});

describe("arguments", () => {
    test("counts and limits given win over the defaults; zero workers is a value", () => {
        const { platform } = build({ managers: 5, workers: 0, nodeResources: { cpus: 2, memoryMb: 2048 } });
        expect(platform.nodes.map((n) => [n.name, n.args.resources])).toEqual([
            ["swarm-manager-0", { cpus: 2, memoryMb: 2048 }],
            ["swarm-manager-1", { cpus: 2, memoryMb: 2048 }],
            ["swarm-manager-2", { cpus: 2, memoryMb: 2048 }],
            ["swarm-manager-3", { cpus: 2, memoryMb: 2048 }],
            ["swarm-manager-4", { cpus: 2, memoryMb: 2048 }],
        ]);
    });

    test.each([
        [
            { managers: 2 },
            "managers = 2: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
        ],
        [
            { managers: 9 },
            "managers = 9: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
        ],
        [{ workers: -1 }, "workers = -1: must be a whole number ≥ 0"],
        [{ workers: 1.5 }, "workers = 1.5: must be a whole number ≥ 0"],
        [
            { nodeResources: { cpus: -1, memoryMb: 1024 } },
            "nodeResources.cpus = -1: must be a number of CPUs from 0.001 to 64, at most 3 decimals",
        ],
        [
            { nodeResources: { cpus: 1, memoryMb: 0 } },
            "nodeResources.memoryMb = 0: must be a whole number of MiB from 6 (Docker's minimum) to 4194304",
        ],
    ])("%j is refused before any node exists", (args, issue) => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        const platform = new FakePlatform();
        expect(thrown(() => new SwarmCluster("swarm", { platform, consul, subnet: "10.77.0.0/24", ...args })).message).toBe(
            `SwarmCluster: invalid arguments: ${issue}`,
        );
        expect(platform.nodes).toEqual([]);
        expect(platform.scripts).toEqual([]);
    });

    test("every broken rule in one error", () => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform() });
        const error = thrown(
            () => new SwarmCluster("swarm", { platform: new FakePlatform(), consul, subnet: "10.77.0.0/24", managers: 4, workers: -2 }),
        );
        expect(error.errors.map((e) => e.propertyPath)).toEqual(["managers", "workers"]);
    });
});
