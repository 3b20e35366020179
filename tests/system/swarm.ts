// The dev stack's Swarm, for real: the swarm nodes (Docker-in-Docker) as the program declares them,
// the swarm formed and the web service deployed by the program's own scripts, served through the
// data plane of tests/system/dataplane.ts (LB pair, DNS stand-ins, edge) and catalog.ts (ConsulCatalog).
//
// Everything comes from the graph the real index.ts produces under Pulumi's mock runtime (dev stack,
// swarm.managers = 3, swarm.workers = 2, a subnet and edge ports of our own):
// - each `swarm-manager-N` / `swarm-worker-N` docker.Container becomes a container with exactly its
//   inputs (image built from the graph's docker.Image with the Consul stand-in as CONSUL_IMAGE,
//   hostname, fixed IP, init, cgroupns, capabilities, security options, limits, restart policy, the
//   engine's named volume, the daemon.json and Consul client config uploads) — containerFlags()
//   fails on an input it does not apply;
// - the graph's command.local.Command resources (`swarm-init`, `*-join`, `<node>-web-image`,
//   `web-deploy`) run as the command provider runs them: `sh -c <create>` with `stdin`, in the
//   graph's dependency order, only the container-name prefix substituted (and, for the image loads,
//   the local tag of the image: see loadWebImage); a non-zero exit fails the run;
// - the Consul agent of each node is stood in for by tests/system/consul/agent-api.js (in the node's
//   network namespace, on 127.0.0.1:8500, with the ACL policies and tokens of the program's ACL
//   bootstrap script): the app running under Swarm registers and deregisters itself there, and the
//   harness feeds those registrations to the data plane's ConsulCatalog, which checks them and
//   publishes the passing ones to the LB nodes' DNS stand-ins;
// - those DNS stand-ins answer in Consul's exact shape (tests/system/consul/dns.js: an A record per
//   SRV record), which HAProxy needs once two tasks share a node.
import { ProgramRun, RecordedResource, runProgram } from "../harness/program";
import type { WebServiceSpec } from "../../render/webService";
import type { ServiceInstance } from "./catalog";
import { agentApiContainer } from "./agentApi";
import { DataPlane } from "./dataplane";
import { ContainerSpec, containerFlags, dataPlaneFromGraph, DataPlaneSpec } from "./graph";
import { buildImage, ImageBuild, imageBuildsFor } from "./images";
import { httpGet } from "./probe";
import { objectLabel, SystemSettings } from "./settings";
import { CommandResult, docker, dockerResult, Leftover, removeSystemTestObjects, runCommand, sleep, waitFor } from "./docker";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";

/** Label key of every object the swarm suite creates: not the data-plane suite's, so neither suite's cleanup touches the other's objects. */
export const SWARM_LABEL = "swarm-platform.system-test.swarm";

/**
 * The swarm suite's own defaults, so it never collides with the data-plane suite (spsys-,
 * 10.213.7.0/24, ports 28xxx) or a real dev stack. Overrides: SWARM_TEST_PREFIX, SWARM_TEST_SUBNET,
 * SWARM_TEST_PORT_BASE, SWARM_TEST_REPLICAS; the image namespace is shared (SYSTEM_TEST_IMAGE_NS):
 * the same Dockerfiles and build args give the same images.
 */
export function swarmSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemSettings {
    const portBase = Number(env.SWARM_TEST_PORT_BASE ?? 29000);
    return {
        namePrefix: env.SWARM_TEST_PREFIX ?? "spswarm-",
        subnet: env.SWARM_TEST_SUBNET ?? "10.213.9.0/24",
        edgePorts: { web: portBase + 443, http: portBase + 80, stats: portBase + 404, consulUi: portBase + 500, prometheus: portBase + 90 },
        replicas: Number(env.SWARM_TEST_REPLICAS ?? 3),
        imageNamespace: env.SYSTEM_TEST_IMAGE_NS ?? "swarm-platform-systest",
        labelKey: SWARM_LABEL,
    };
}

/** The swarm's shape the issue asks for. */
export const SWARM_SHAPE = { managers: 3, workers: 2 } as const;

/** What a day-2 operation changes in the stack config (the rest is the suite's own). */
export interface SwarmConfigChange {
    readonly version?: string;
    readonly replicas?: number;
    readonly workers?: number;
    readonly managers?: number;
    /** swarm.nodeResources: a cpus change replaces every swarm node. */
    readonly nodeResources?: { readonly cpus: number; readonly memoryMb: number };
    /** rotation.swarmJoinTokens: each increase rotates the join tokens once. */
    readonly joinTokenRotation?: number;
}

/** Runs index.ts for the dev stack with the suite's overrides plus `change`. */
export async function evaluateSwarmGraph(settings: SystemSettings, change: SwarmConfigChange = {}): Promise<ProgramRun> {
    return runProgram("dev", {
        network: { subnet: settings.subnet },
        // Pulumi.dev.yaml pins the VIP to its own subnet: unset it, the program's default applies.
        lb: { vip: undefined },
        edge: {
            webPort: settings.edgePorts.web,
            httpPort: settings.edgePorts.http,
            statsPort: settings.edgePorts.stats,
            consulUiPort: settings.edgePorts.consulUi,
            prometheusPort: settings.edgePorts.prometheus,
        },
        swarm: {
            ...SWARM_SHAPE,
            ...(change.workers === undefined ? {} : { workers: change.workers }),
            ...(change.managers === undefined ? {} : { managers: change.managers }),
            ...(change.nodeResources === undefined ? {} : { nodeResources: change.nodeResources }),
        },
        web: { replicas: change.replicas ?? settings.replicas, ...(change.version === undefined ? {} : { version: change.version }) },
        ...(change.joinTokenRotation === undefined ? {} : { rotation: { swarmJoinTokens: change.joinTokenRotation } }),
    });
}

/** A command.local.Command of the graph, ready to run: our names in `create`, `stdin` as declared. */
export interface GraphCommand {
    /** Graph resource name, e.g. swarm-init. */
    readonly name: string;
    /** Graph names of the Commands it depends on (the program's dependsOn). */
    readonly after: readonly string[];
    readonly create: string;
    readonly stdin?: string;
}

export interface SwarmNodeSpec {
    /** Graph name, e.g. swarm-manager-0. */
    readonly logical: string;
    readonly role: "manager" | "worker";
    /** The engine's hostname: its name in `docker node ls`. */
    readonly hostname: string;
    readonly address: string;
    readonly container: ContainerSpec;
    /** Engine names of the named volumes it mounts. */
    readonly volumes: readonly string[];
    /** Its Consul agent's stand-in (agent-api.js in the node's network namespace). */
    readonly agent: ContainerSpec;
}

export interface SwarmSpec {
    readonly settings: SystemSettings;
    /** The data plane: network, LB pair, DNS stand-ins, edge, the web service's spec and image. */
    readonly plane: DataPlaneSpec;
    readonly nodes: readonly SwarmNodeSpec[];
    /** The swarm-node image (and the Consul stand-in it takes its binary from), in build order. */
    readonly nodeImages: readonly ImageBuild[];
    /** init + joins, in the graph's order. */
    readonly form: readonly GraphCommand[];
    /** `<node>-web-image`: the web image into every node's engine. */
    readonly imageLoads: readonly GraphCommand[];
    readonly deploy: GraphCommand;
    readonly web: {
        readonly spec: WebServiceSpec;
        /** The image reference the service runs (what the graph builds and loads). */
        readonly graphImage: string;
        /** Our local tag of the same build. */
        readonly localImage: string;
    };
}

/** ACL policies (name → HCL rules) and tokens (secret → policy names) the program's ACL bootstrap creates. */
export interface AclSetup {
    readonly policies: Record<string, string>;
    readonly tokens: Record<string, string[]>;
}

/** One shell word as shellQuote (render/shell.ts) writes it: plain, or single-quoted with `'\\''` for a quote. */
const WORD = String.raw`('(?:[^']|'\\'')*'|[A-Za-z0-9_@%+=:,./-]+)`;
const unquote = (w: string): string => (w.startsWith("'") ? w.slice(1, -1).split(`'\\''`).join("'") : w);

/** Parses the policies and tokens out of the graph's `consul-acl-bootstrap` script. */
export function aclFromGraph(run: ProgramRun): AclSetup {
    const script = String(run.byName("consul-acl-bootstrap").inputs.stdin ?? "");
    const policies: Record<string, string> = {};
    const policyRe = new RegExp(String.raw`cat >"\$rules" <<'RULES'\n([\s\S]*?)\nRULES\n\s+consul acl policy create -name ${WORD}`, "g");
    for (let m = policyRe.exec(script); m !== null; m = policyRe.exec(script)) policies[unquote(m[2])] = m[1];
    const tokens: Record<string, string[]> = {};
    // Each token is a PUT /v1/acl/token whose JSON body is a here-document (render/consul.ts tokenCreateLines).
    const tokenRe = /<<'TOKEN'\n(.*)\nTOKEN\n/g;
    for (let m = tokenRe.exec(script); m !== null; m = tokenRe.exec(script)) {
        const body = JSON.parse(m[1]) as { SecretID: string; Policies: { Name: string }[] };
        tokens[body.SecretID] = [...(tokens[body.SecretID] ?? []), ...body.Policies.map((p) => p.Name)];
    }
    if (Object.keys(policies).length === 0 || Object.keys(tokens).length === 0)
        throw new Error("graph: no ACL policies or tokens found in consul-acl-bootstrap's script");
    return { policies, tokens };
}

/** Translates the graph into the swarm and its data plane. Pure: no docker calls. */
export function swarmFromGraph(run: ProgramRun, settings: SystemSettings): SwarmSpec {
    const plane = dataPlaneFromGraph(run, settings);
    const graphPrefix = `swarm-platform-${run.stack}-`;
    const rename = (engineName: string): string => {
        if (!engineName.startsWith(graphPrefix)) throw new Error(`graph: name ${engineName} does not start with ${graphPrefix}`);
        return `${settings.namePrefix}${engineName.slice(graphPrefix.length)}`;
    };
    const networkId = `${run.ofType("docker:index/network:Network")[0].name}-id`;
    const acl = aclFromGraph(run);
    const agentApi = agentApiContainer("0.2");

    const nodeResources = run
        .ofType(CONTAINER)
        .filter((c) => /^swarm-(manager|worker)-\d+$/.test(c.name))
        .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    if (nodeResources.filter((n) => n.name.startsWith("swarm-manager-")).length === 0) throw new Error("graph: no swarm manager");

    const nodeImageRefs = new Set(nodeResources.map((r) => String(r.inputs.image)));
    if (nodeImageRefs.size !== 1) throw new Error(`graph: the swarm nodes run ${nodeImageRefs.size} different images`);
    const nodeImages = imageBuildsFor(run, settings, [...nodeImageRefs][0]);
    const nodeImage = nodeImages[nodeImages.length - 1].tag;

    const nodes = nodeResources.map((r): SwarmNodeSpec => {
        const { flags, address, command } = containerFlags(r, {
            networkId,
            networkName: plane.network.name,
            engineNameOfId: () => {
                throw new Error(`graph: ${r.name} shares another container's network namespace`);
            },
            rename,
            label: objectLabel(settings),
        });
        if (address === undefined) throw new Error(`graph: ${r.name} has no fixed address`);
        const files = (r.inputs.uploads ?? []).map((u: any) => ({ path: u.file, content: u.content, mode: u.permissions ?? "0644" }));
        const client = files.find((f: { path: string }) => f.path === "/consul/config/client.json");
        if (client === undefined) throw new Error(`graph: ${r.name} gets no Consul agent config (/consul/config/client.json)`);
        const agentConfig = JSON.parse(client.content);
        const container: ContainerSpec = { logical: r.name, name: rename(r.inputs.name), image: nodeImage, flags, command, files, address };
        const agentName = `${container.name}-consul-api`;
        return {
            logical: r.name,
            role: r.name.startsWith("swarm-manager-") ? "manager" : "worker",
            hostname: r.inputs.hostname ?? r.name,
            address,
            container,
            volumes: (r.inputs.volumes ?? []).map((v: any) => rename(v.volumeName)),
            agent: {
                logical: `${r.name}-consul-api`,
                name: agentName,
                // Node.js comes with the web image; the agent's address and node name from its rendered config.
                image: plane.web.image,
                flags: [
                    "--name",
                    agentName,
                    "--label",
                    objectLabel(settings),
                    "--network",
                    `container:${container.name}`,
                    ...agentApi.flags,
                    "--env",
                    `NODE_NAME=${agentConfig.node_name}`,
                    "--env",
                    `NODE_ADDR=${agentConfig.advertise_addr}`,
                    "--env",
                    `DATACENTER=${agentConfig.datacenter}`,
                    "--env",
                    "ACL_FILE=/tmp/acl.json",
                ],
                command: agentApi.command,
                files: [agentApi.file, { path: "/tmp/acl.json", content: JSON.stringify(acl), mode: "0644" }],
                address,
            },
        };
    });
    // Every volume a node mounts is one of the graph's docker.Volume resources.
    const graphVolumes = new Set(run.ofType(VOLUME).map((v) => rename(v.inputs.name)));
    for (const n of nodes)
        for (const v of n.volumes) if (!graphVolumes.has(v)) throw new Error(`graph: ${n.logical} mounts ${v}, not a docker.Volume`);

    const spec = plane.web.spec;
    const commands = run.ofType(COMMAND);
    const commandNames = new Set(commands.map((c) => c.name));
    const command = (r: RecordedResource, substitutions: readonly (readonly [string, string])[] = []): GraphCommand => {
        let create = String(r.inputs.create ?? "");
        if (!create.includes(graphPrefix)) throw new Error(`graph: ${r.name} names no container of the stack`);
        if (r.inputs.stdin !== undefined && String(r.inputs.stdin).includes(graphPrefix))
            throw new Error(`graph: ${r.name}'s script names a container of the stack; the harness substitutes names in create only`);
        create = create.split(graphPrefix).join(settings.namePrefix);
        for (const [from, to] of substitutions) {
            if (!create.includes(from)) throw new Error(`graph: ${r.name} does not mention ${from}`);
            create = create.split(from).join(to);
        }
        const after = r.dependencies.map((urn) => urn.split("::").pop()!).filter((n) => commandNames.has(n));
        return { name: r.name, after, create, stdin: r.inputs.stdin === undefined ? undefined : String(r.inputs.stdin) };
    };
    const form = commands.filter((c) => c.name === "swarm-init" || /^swarm-(manager|worker)-\d+-join$/.test(c.name)).map((c) => command(c));
    if (form.length !== nodes.length)
        throw new Error(`graph: expected an init and ${nodes.length - 1} joins, found ${form.length} commands`);
    const imageLoads = commands
        .filter((c) => /^swarm-(manager|worker)-\d+-web-image$/.test(c.name))
        .map((c) => command(c, [[`docker save ${spec.image} `, `docker save ${plane.web.image} `]]));
    if (imageLoads.length !== nodes.length) throw new Error(`graph: expected ${nodes.length} web-image loads, found ${imageLoads.length}`);

    return {
        settings,
        plane,
        nodes,
        nodeImages,
        form,
        imageLoads,
        deploy: command(run.byName("web-deploy")),
        web: { spec, graphImage: spec.image, localImage: plane.web.image },
    };
}

// ---------------------------------------------------------------------------------------------
// On the engine
// ---------------------------------------------------------------------------------------------

/** One line of `docker node ls`. */
export interface SwarmNodeStatus {
    readonly hostname: string;
    /** Ready, Down, Unknown. */
    readonly status: string;
    readonly availability: string;
    /** Leader, Reachable, Unreachable; "" for a worker. */
    readonly managerStatus: string;
}

/** A registration in a node's agent stand-in, as the app sent it. */
interface Registration {
    readonly id: string;
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly meta: Record<string, string>;
}

/** A call the app made to its node's agent, with the answer (403 = denied by the graph's ACLs). */
export interface AgentCall {
    readonly node: string;
    readonly at: string;
    readonly method: string;
    readonly path: string;
    readonly status: number;
    readonly denied?: string;
}

/** Runs a graph command as the command provider does (`sh -c create`, stdin); fails on a non-zero exit. */
export async function runGraphCommand(c: GraphCommand, timeoutMs: number): Promise<CommandResult> {
    const r = await runCommand("sh", ["-c", c.create], { input: c.stdin ?? "", timeoutMs });
    if (r.code !== 0) {
        const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.code}`;
        const tail = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-15).join("\n");
        throw new Error(`${c.name}: ${why}:\n${tail}`);
    }
    return r;
}

/**
 * Runs graph commands the way the engine would: each once every Command it depends on has
 * finished, independent ones at once. A dependency outside `commands` must already have run.
 * Returns each command's duration (ms).
 */
export async function runInGraphOrder(
    commands: readonly GraphCommand[],
    done: Set<string>,
    timeoutMs: number,
): Promise<Record<string, number>> {
    const byName = new Map(commands.map((c) => [c.name, c]));
    for (const c of commands)
        for (const d of c.after) if (!byName.has(d) && !done.has(d)) throw new Error(`${c.name} depends on ${d}, which has not run`);
    const runs = new Map<string, Promise<void>>();
    const durations: Record<string, number> = {};
    const start = (c: GraphCommand): Promise<void> => {
        let p = runs.get(c.name);
        if (p === undefined) {
            p = (async () => {
                await Promise.all(c.after.filter((d) => byName.has(d)).map((d) => start(byName.get(d)!)));
                const t0 = performance.now();
                await runGraphCommand(c, timeoutMs);
                durations[c.name] = Math.round(performance.now() - t0);
                done.add(c.name);
            })();
            runs.set(c.name, p);
        }
        return p;
    };
    await Promise.all(commands.map(start));
    return durations;
}

/**
 * Feeds the registrations of every node's agent stand-in into the catalog: one blocking query per
 * node at a time (answered as soon as the node's registrations change), so a task that registers
 * or deregisters reaches the catalog within milliseconds, as a Consul agent's anti-entropy would
 * within its sync. A stand-in that is gone (its node restarted) is retried until stop().
 */
class RegistrationFeed {
    private stopped = false;
    private readonly known = new Map<string, Map<string, ServiceInstance>>();
    private readonly loops: Promise<void>[] = [];
    /** The latest calls log of each node's stand-in. */
    readonly calls = new Map<string, AgentCall[]>();

    constructor(
        private readonly nodes: readonly SwarmNodeSpec[],
        private readonly onRegister: (i: ServiceInstance) => void,
        private readonly onDeregister: (name: string) => Promise<void>,
    ) {}

    /** Node → generation of its follow loop: a loop whose node was removed (or re-added) ends. */
    private readonly following = new Map<string, number>();
    private generation = 0;

    start(): void {
        for (const n of this.nodes) this.add(n);
    }

    /** Follows a node's agent stand-in (a node added by a plan, or its replacement). */
    add(n: SwarmNodeSpec): void {
        if (this.following.has(n.logical)) return;
        const gen = ++this.generation;
        this.following.set(n.logical, gen);
        this.loops.push(this.follow(n, gen));
    }

    /** Stops following a node that is going; whatever it still had registered leaves the catalog. */
    async remove(logical: string): Promise<void> {
        this.following.delete(logical);
        await this.apply(logical, []);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await Promise.all(this.loops);
    }

    /** Every instance currently registered on some node. */
    instances(): ServiceInstance[] {
        return [...this.known.values()].flatMap((m) => [...m.values()]);
    }

    private async follow(node: SwarmNodeSpec, gen: number): Promise<void> {
        let index = 0;
        let boot = "";
        while (!this.stopped && this.following.get(node.logical) === gen) {
            // At most 2 s per query, so stop() returns quickly.
            const r = await httpGet(`http://${node.address}:8500/_standin/registrations?index=${index}&boot=${boot}&wait=2`, 3000);
            if (r.status !== 200) {
                await sleep(200);
                continue;
            }
            const body = JSON.parse(r.body) as {
                index: number;
                boot: string;
                registrations: Registration[];
                calls: Omit<AgentCall, "node">[];
            };
            if (this.following.get(node.logical) !== gen) return;
            index = body.index;
            boot = body.boot;
            this.calls.set(
                node.logical,
                body.calls.map((c) => ({ node: node.logical, ...c })),
            );
            await this.apply(node.logical, body.registrations);
        }
    }

    private async apply(node: string, registrations: readonly Registration[]): Promise<void> {
        const before = this.known.get(node) ?? new Map<string, ServiceInstance>();
        const now = new Map<string, ServiceInstance>();
        for (const r of registrations) {
            // The app's body names its task (task=<TASK_NAME>): the instance carries that name, like the data-plane suite's.
            now.set(r.id, { name: r.meta.task ?? r.id, address: r.address, port: r.port });
        }
        this.known.set(node, now);
        for (const [id, inst] of now) {
            const old = before.get(id);
            if (old === undefined || old.address !== inst.address || old.port !== inst.port) this.onRegister(inst);
        }
        for (const [id, inst] of before) if (!now.has(id)) await this.onDeregister(inst.name);
    }
}

/** The swarm and its data plane on the engine. */
export class SwarmPlane {
    readonly plane: DataPlane;
    private spec: SwarmSpec;
    private readonly feed: RegistrationFeed;
    private readonly done = new Set<string>();

    constructor(spec: SwarmSpec) {
        this.spec = spec;
        this.plane = new DataPlane(spec.plane);
        this.feed = new RegistrationFeed(
            spec.nodes,
            (i) => this.plane.catalog.register(i),
            (name) => this.plane.catalog.deregister(name),
        );
    }

    get current(): SwarmSpec {
        return this.spec;
    }

    node(logical: string): SwarmNodeSpec {
        const n = this.spec.nodes.find((x) => x.logical === logical);
        if (n === undefined) throw new Error(`no swarm node ${logical}`);
        return n;
    }

    /** Removes our leftovers, builds the images (node images, then the data plane's). */
    async prepare(log: (msg: string) => void): Promise<void> {
        const leftovers = await removeSystemTestObjects(this.spec.settings.namePrefix, SWARM_LABEL);
        // A leftover under another prefix (an earlier run with other settings) is in nobody's way.
        const inTheWay = leftovers.filter((l) => l.name.startsWith(this.spec.settings.namePrefix));
        for (const l of leftovers)
            if (!inTheWay.includes(l)) log(`WARNING: an earlier run's ${l.kind} ${l.name} cannot be removed: ${l.error}`);
        if (inTheWay.length > 0)
            throw new Error(
                `an earlier run's ${inTheWay.map((l) => `${l.kind} ${l.name}`).join(", ")} cannot be removed ` +
                    `(${inTheWay[0].error}): restart dockerd, or run with SWARM_TEST_PREFIX and SWARM_TEST_SUBNET of your own`,
            );
        for (const b of this.spec.nodeImages) await buildImage(b);
        await this.plane.buildImages(this.spec.plane);
        const all = [...this.spec.nodeImages, ...this.spec.plane.images];
        log(`images built: ${[...new Set(all.map((i) => i.tag))].join(", ")}`);
    }

    /** The network, the graph's volumes and node containers (in parallel, like the engine), their agents' stand-ins; until every inner engine answers. */
    async startNodes(): Promise<number> {
        const t0 = performance.now();
        await this.plane.createNetwork();
        const volumes = [...new Set(this.spec.nodes.flatMap((n) => n.volumes))];
        for (const v of volumes) await docker(["volume", "create", "--label", objectLabel(this.spec.settings), v]);
        await Promise.all(this.spec.nodes.map((n) => this.plane.createContainer(n.container)));
        await Promise.all(this.spec.nodes.map((n) => this.waitEngine(n, 60_000)));
        await Promise.all(this.spec.nodes.map((n) => this.startAgent(n)));
        this.feed.start();
        this.plane.catalog.start();
        return Math.round(performance.now() - t0);
    }

    private async waitEngine(n: SwarmNodeSpec, timeoutMs: number): Promise<void> {
        await waitFor(
            `${n.container.name}'s inner Docker engine`,
            async () =>
                (await dockerResult(["exec", n.container.name, "docker", "info"], { timeoutMs: 10_000 })).code === 0 ? true : undefined,
            timeoutMs,
            250,
        );
    }

    /** (Re)creates a node's agent stand-in in the node's current network namespace; until it answers. */
    async startAgent(n: SwarmNodeSpec): Promise<void> {
        await dockerResult(["rm", "-f", n.agent.name]);
        await this.plane.createContainer(n.agent);
        await waitFor(
            `${n.agent.name} to answer`,
            async () => ((await httpGet(`http://${n.address}:8500/_standin/registrations`, 1000)).status === 200 ? true : undefined),
            20_000,
            100,
        );
    }

    /** Init + joins, in the graph's order; until `docker node ls` shows every node Ready. Returns durations. */
    async form(): Promise<{ totalMs: number; commands: Record<string, number> }> {
        const t0 = performance.now();
        const commands = await runInGraphOrder(this.spec.form, this.done, 3 * 60_000);
        await this.waitNodes(
            (ls) => this.spec.nodes.every((n) => ls.some((s) => s.hostname === n.hostname && s.status === "Ready")),
            60_000,
        );
        return { totalMs: Math.round(performance.now() - t0), commands };
    }

    /** `docker node ls` on a manager that answers (any but `except`). */
    async nodeList(except: readonly string[] = []): Promise<SwarmNodeStatus[]> {
        const managers = this.spec.nodes.filter((n) => n.role === "manager" && !except.includes(n.logical));
        let last = "";
        for (const m of managers) {
            const r = await dockerResult(
                [
                    "exec",
                    m.container.name,
                    "docker",
                    "node",
                    "ls",
                    "--format",
                    "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}",
                ],
                { timeoutMs: 10_000 },
            );
            if (r.code !== 0) {
                last = r.stderr.trim();
                continue;
            }
            return r.stdout
                .trim()
                .split("\n")
                .filter((l) => l.length > 0)
                .map((l) => {
                    const [hostname, status, availability, managerStatus] = l.split("|");
                    return { hostname, status, availability, managerStatus: managerStatus ?? "" };
                });
        }
        throw new Error(`no manager answers docker node ls (last: ${last})`);
    }

    async waitNodes(ok: (ls: SwarmNodeStatus[]) => boolean, timeoutMs: number, except: readonly string[] = []): Promise<SwarmNodeStatus[]> {
        let last: SwarmNodeStatus[] = [];
        try {
            return await waitFor(
                "the swarm's nodes",
                async () => {
                    last = await this.nodeList(except);
                    return ok(last) ? last : undefined;
                },
                timeoutMs,
                250,
            );
        } catch (err) {
            const seen = last.map((n) => `${n.hostname} ${n.status} ${n.availability} ${n.managerStatus || "worker"}`).join(", ");
            throw new Error(`${(err as Error).message}; last docker node ls: ${seen || "(none)"}`);
        }
    }

    /**
     * The graph's `<node>-web-image` commands: `docker save IMAGE | docker exec -i NODE docker load -q`,
     * in parallel. The one difference: our build carries our tag (the outer engine's `swarm-platform/*`
     * names are left alone), so the node gets it under our tag and the harness adds the graph's name
     * inside the node. Returns the wall time (ms).
     */
    async loadWebImage(): Promise<number> {
        const t0 = performance.now();
        await runInGraphOrder(this.spec.imageLoads, this.done, 5 * 60_000);
        await Promise.all(
            this.spec.nodes.map((n) =>
                docker(["exec", n.container.name, "docker", "tag", this.spec.web.localImage, this.spec.web.graphImage]),
            ),
        );
        return Math.round(performance.now() - t0);
    }

    /** The graph's `web-deploy` (create or rolling update, --detach=false, bounded by the script). Returns its duration (ms). */
    async deploy(): Promise<number> {
        const t0 = performance.now();
        await runGraphCommand(this.spec.deploy, 10 * 60_000);
        this.done.add(this.spec.deploy.name);
        return Math.round(performance.now() - t0);
    }

    /** A node the plan creates: the container as declared, until its engine answers, then its agent's stand-in. */
    async createNode(n: SwarmNodeSpec): Promise<void> {
        await this.plane.createContainer(n.container);
        await this.waitEngine(n, 60_000);
        await this.startAgent(n);
        this.feed.add(n);
    }

    /**
     * A node the plan deletes, as the provider deletes a container: `docker stop -t destroyGraceSeconds`
     * then `docker rm -f` (terraform-provider-docker resourceDockerContainerDelete). Its agent's
     * stand-in goes first (it lives in the node's network namespace).
     */
    async deleteNode(n: SwarmNodeSpec, graceSeconds: number): Promise<void> {
        await this.feed.remove(n.logical);
        await dockerResult(["rm", "-f", n.agent.name]);
        await dockerResult(["stop", "-t", String(graceSeconds), n.container.name], { timeoutMs: (graceSeconds + 30) * 1000 });
        await docker(["rm", "-f", n.container.name]);
    }

    /** Takes the whole graph of a plan as the current one (nodes included). */
    adoptAll(next: SwarmSpec): void {
        this.spec = next;
    }

    /** Takes another graph's service (and image) as the current one: what `pulumi up` with changed config would run next. */
    adopt(next: SwarmSpec): void {
        this.spec = { ...this.spec, imageLoads: next.imageLoads, deploy: next.deploy, web: next.web };
    }

    /** Builds the current graph's web image (a new version). */
    async buildWebImage(next: SwarmSpec): Promise<void> {
        await this.plane.buildImages(next.plane);
    }

    /** The service's running tasks, from a manager: task name (as TASK_NAME) → node hostname. */
    async runningTasks(except: readonly string[] = []): Promise<Map<string, string>> {
        const manager = this.spec.nodes.find((n) => n.role === "manager" && !except.includes(n.logical))!;
        const out = await docker(
            [
                "exec",
                manager.container.name,
                "docker",
                "service",
                "ps",
                "--filter",
                "desired-state=running",
                "--no-trunc",
                "--format",
                "{{.Name}}.{{.ID}}|{{.Node}}|{{.CurrentState}}",
                this.spec.web.spec.name,
            ],
            { timeoutMs: 15_000 },
        );
        const tasks = new Map<string, string>();
        for (const line of out.split("\n").filter((l) => l.includes("|"))) {
            const [name, node, state] = line.split("|");
            if (state.startsWith("Running")) tasks.set(name, node);
        }
        return tasks;
    }

    /** Every task of the service Swarm remembers, with its state and error (why one was shut down): for failure reports. */
    async taskHistory(): Promise<string> {
        const manager = this.spec.nodes.find((n) => n.role === "manager")!;
        const r = await dockerResult(
            [
                "exec",
                manager.container.name,
                "docker",
                "service",
                "ps",
                "--no-trunc",
                "--format",
                "{{.Name}} {{.Node}} desired={{.DesiredState}} {{.CurrentState}} {{.Error}}",
                this.spec.web.spec.name,
            ],
            { timeoutMs: 15_000 },
        );
        return (r.stdout + r.stderr).trim();
    }

    /** Until the catalog's passing instances are exactly `count` (and, if given, all answer `version`). */
    async waitPassing(count: number, timeoutMs: number): Promise<ServiceInstance[]> {
        return waitFor(
            `${count} passing web instances`,
            async () => {
                const passing = this.plane.catalog.passing();
                return passing.length === count && this.feed.instances().length === count ? passing : undefined;
            },
            timeoutMs,
            200,
        );
    }

    /** Calls the app made to the agents' stand-ins (with the ACL outcome). */
    agentCalls(): AgentCall[] {
        return [...this.feed.calls.values()].flat().sort((a, b) => a.at.localeCompare(b.at));
    }

    /** `docker kill` of a node container (SIGKILL: its engine and tasks die with it, its restart policy does not bring it back). */
    async kill(logical: string): Promise<void> {
        await docker(["kill", this.node(logical).container.name]);
    }

    /**
     * `docker start` of a killed node; the node got a new network namespace, so its agent stand-in
     * is re-created there once the inner engine answers (as the node's own agent would be started
     * by its entrypoint). Resolves when the engine answers.
     */
    async start(logical: string): Promise<void> {
        const n = this.node(logical);
        await docker(["start", n.container.name]);
        await this.waitEngine(n, 60_000);
        await this.startAgent(n);
    }

    async running(logical: string): Promise<boolean> {
        const r = await dockerResult(["inspect", "-f", "{{.State.Running}}", this.node(logical).container.name]);
        return r.stdout.trim() === "true";
    }

    /** Stops the harness's loops and removes everything (unless `keep`); resolves with what could not be removed. */
    async destroy(keep: boolean): Promise<Leftover[]> {
        await this.feed.stop();
        this.plane.catalog.stop();
        if (keep) return [];
        const leftovers = await removeSystemTestObjects(this.spec.settings.namePrefix, SWARM_LABEL);
        this.plane.removeLocalFiles();
        return leftovers;
    }
}
