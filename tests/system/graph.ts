// The dev stack's data plane as the program declares it: the real index.ts is evaluated under
// Pulumi's mock runtime (tests/harness/program.ts) for the dev stack with a few overrides (a subnet
// and edge ports of our own, so a real dev stack is never touched), and the recorded resources are
// translated — purely, without a docker call — into what the engine needs:
// - the docker.Network (name, driver, subnet, gateway, options);
// - the LB containers and the edge exactly as declared (image built from the graph's docker.Image,
//   name, hostname, command, init, capabilities, sysctls, fixed IP, aliases, ports, limits, restart
//   policy, log options, health check) with the declared uploads; an input this module does not know
//   how to apply fails the run instead of being dropped;
// - each LB node's Consul agent DNS, stood in for by a DNS server (tests/system/consul/dns.js) in
//   the node's network namespace on the agent's port;
// - the web service's task spec (`web-deploy`'s spec) and the swarm nodes its placement allows, each
//   stood in for by a network-namespace holder at the node's address (name, hostname, IP, aliases
//   from the graph); a task is a container in its node's namespace (taskContainer).
// Names get our own prefix and every object the suite's label (settings.ts).
import { ProgramRun, RecordedResource, runProgram } from "../harness/program";
import type { WebServiceSpec } from "../../render/webService";
import { SYSTEM_LABEL } from "./docker";
import { dnsImage, ImageBuild, imageBuildsFor } from "./images";
import { objectLabel, SystemSettings, VrrpSetting } from "./settings";
import { AgentService, agentConfigServices, CatalogNode } from "./catalog";

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";

/** Runs index.ts for the dev stack with the system-test overrides (and optionally other VRRP settings or web version). */
export async function evaluateGraph(settings: SystemSettings, vrrp?: VrrpSetting, webVersion?: string): Promise<ProgramRun> {
    return runProgram("dev", {
        network: { subnet: settings.subnet },
        // Pulumi.dev.yaml pins the VIP to its own subnet: unset it, the program's default (the
        // subnet's 10th address) applies.
        lb: { vip: undefined, ...(vrrp ?? {}) },
        edge: {
            webPort: settings.edgePorts.web,
            statsPort: settings.edgePorts.stats,
            consulUiPort: settings.edgePorts.consulUi,
            prometheusPort: settings.edgePorts.prometheus,
        },
        web: { replicas: settings.replicas, ...(webVersion === undefined ? {} : { version: webVersion }) },
    });
}

export interface FileUpload {
    readonly path: string;
    readonly content: string;
    readonly mode: string;
}

export interface ContainerSpec {
    /** Graph resource name (lb-0, local-edge) or, for a task, its task name (web.1.t1). */
    readonly logical: string;
    /** Engine name (prefixed). */
    readonly name: string;
    readonly image: string;
    /** `docker create` flags. */
    readonly flags: readonly string[];
    readonly command: readonly string[];
    readonly files: readonly FileUpload[];
    readonly address?: string;
}

export interface LbNodeSpec {
    readonly logical: string;
    readonly address: string;
    readonly container: ContainerSpec;
    /** The answers of the node's Consul agent: a DNS stand-in in the node's network namespace (the harness's, not the graph's). */
    readonly dns: ContainerSpec;
    readonly haproxyCfg: string;
    readonly keepalivedConf: string;
    /** The node as its Consul agent names it (client.json). */
    readonly consul: CatalogNode;
    /** What its agent registers from its own config (metrics.json: the metrics-* services). */
    readonly agentServices: readonly AgentService[];
}

/** A swarm node the service may run on, stood in for by a holder of its network namespace. */
export interface SwarmNodeSpec {
    /** Graph name, e.g. swarm-worker-0. */
    readonly logical: string;
    readonly address: string;
    readonly container: ContainerSpec;
    /** The node as its Consul agent names it (client.json): the Node of its tasks' registrations. */
    readonly consul: CatalogNode;
}

export interface DataPlaneSpec {
    readonly settings: SystemSettings;
    readonly network: { readonly name: string; readonly flags: readonly string[] };
    readonly images: readonly ImageBuild[];
    readonly vip: string;
    readonly lbs: readonly LbNodeSpec[];
    readonly edge: ContainerSpec;
    /** The edge's web listener on the host. */
    readonly webUrl: string;
    /** The edge's web listener itself, at the edge container's address (without Docker's port publishing in front). */
    readonly edgeUrl: string;
    /** The CA that issued the edge's certificate (the stack output webCaCertificate): what clients verify against. */
    readonly caCertPem: string;
    /** SRV name HAProxy resolves (from haproxy.cfg's server-template). */
    readonly srvName: string;
    /** Consul datacenter (SRV targets are `<hex ip>.addr.<dc>.consul`). */
    readonly datacenter: string;
    readonly web: {
        readonly spec: WebServiceSpec;
        /** Local tag of the spec's image. */
        readonly image: string;
        /** Nodes the placement constraints allow, in the order tasks are spread over them. */
        readonly nodes: readonly SwarmNodeSpec[];
    };
    readonly vrrp: { readonly version: number; readonly advertIntervalSeconds: number };
}

/** Translates the graph into everything the engine needs. Pure: no docker calls. */
export function dataPlaneFromGraph(run: ProgramRun, settings: SystemSettings): DataPlaneSpec {
    const graphPrefix = `swarm-platform-${run.stack}-`;
    const rename = (engineName: string): string => {
        if (!engineName.startsWith(graphPrefix)) throw new Error(`graph: name ${engineName} does not start with ${graphPrefix}`);
        return `${settings.namePrefix}${engineName.slice(graphPrefix.length)}`;
    };

    // Network.
    const networks = run.ofType(NETWORK);
    if (networks.length !== 1) throw new Error(`graph: expected one docker.Network, found ${networks.length}`);
    const net = networks[0];
    const networkName = rename(net.inputs.name);
    const networkFlags: string[] = ["--driver", net.inputs.driver ?? "bridge", "--label", objectLabel(settings)];
    for (const ipam of net.inputs.ipamConfigs ?? []) {
        if (ipam.subnet) networkFlags.push("--subnet", ipam.subnet);
        if (ipam.gateway) networkFlags.push("--gateway", ipam.gateway);
    }
    for (const [k, v] of Object.entries<string>(net.inputs.options ?? {})) networkFlags.push("--opt", `${k}=${v}`);
    if (net.inputs.internal) networkFlags.push("--internal");
    const networkId = `${net.name}-id`; // the mock runtime's id for the network resource

    // Images: the graph's docker.Image resources, built under our own tags.
    const imageFor = (ref: string): ImageBuild => {
        const builds = imageBuildsFor(run, settings, ref);
        for (const b of builds.slice(0, -1)) images.set(b.tag, b);
        return builds[builds.length - 1];
    };
    // Insertion order is build order: a stand-in base goes in before the images that use it.
    const images = new Map<string, ImageBuild>();
    const image = (ref: string): string => {
        const b = imageFor(ref);
        images.set(b.tag, b);
        return b.tag;
    };

    const containerByName = (logical: string): RecordedResource => {
        const r = run.byName(logical);
        if (r.type !== CONTAINER) throw new Error(`graph: ${logical} is a ${r.type}, not a container`);
        return r;
    };
    const engineNameOfId = (id: string): string => {
        // networkMode `container:<resource>-id` (mock ids are `<resource name>-id`).
        const logical = id.replace(/-id$/, "");
        return rename(containerByName(logical).inputs.name);
    };

    const fromGraph = (r: RecordedResource): ContainerSpec => {
        const { flags, address, command } = containerFlags(r, {
            networkId,
            networkName,
            engineNameOfId,
            rename,
            label: objectLabel(settings),
        });
        return {
            logical: r.name,
            name: rename(r.inputs.name),
            image: image(r.inputs.image),
            flags,
            command,
            files: (r.inputs.uploads ?? []).map((u: any) => ({ path: u.file, content: u.content, mode: u.permissions ?? "0644" })),
            address,
        };
    };

    // The web service's task spec: what the web component registered as its output, cross-checked with the deploy script.
    const deploy = run.byName("web-deploy");
    const spec = run.componentOutputs("web").spec as WebServiceSpec | undefined;
    if (spec === undefined || typeof spec.image !== "string") throw new Error("graph: the web service registered no spec");
    if (!String(deploy.inputs.stdin).includes(spec.image)) throw new Error("graph: web-deploy's script does not deploy the spec's image");
    const webImage = image(spec.image);

    // LB nodes (each runs its Consul agent inside) and the DNS answers of those agents.
    const dns = dnsImage(settings, webImage);
    images.set(dns.tag, dns);
    const lbResources = run
        .ofType(CONTAINER)
        .filter((c) => /^lb-\d+$/.test(c.name))
        .sort((a, b) => a.name.localeCompare(b.name));
    if (lbResources.length !== 2) throw new Error(`graph: expected two LB nodes, found ${lbResources.length}`);
    const uploadOf = (c: ContainerSpec, file: string): string => {
        const f = c.files.find((u) => u.path === file);
        if (f === undefined) throw new Error(`graph: ${c.logical} has no upload ${file}`);
        return f.content;
    };
    const lbs: LbNodeSpec[] = lbResources.map((r) => {
        const container = fromGraph(r);
        if (!container.files.some((f) => f.path === "/consul/config/client.json"))
            throw new Error(`graph: ${r.name} gets no Consul agent config (/consul/config/client.json)`);
        return {
            logical: r.name,
            address: container.address!,
            container,
            dns: {
                logical: `${r.name}-consul-dns`,
                name: `${settings.namePrefix}${r.name}-consul-dns`,
                image: dns.tag,
                // In the node's network namespace, on the agent's DNS port (127.0.0.1:8600).
                flags: ["--label", objectLabel(settings), "--network", `container:${container.name}`, "--cpus", "0.1", "--memory", "96m"],
                command: [],
                files: [],
            },
            haproxyCfg: uploadOf(container, "/etc/haproxy/haproxy.cfg"),
            keepalivedConf: uploadOf(container, "/etc/keepalived/keepalived.conf"),
            consul: catalogNodeOf(r),
            agentServices: agentConfigServices(uploadOf(container, METRICS_SERVICES_FILE)),
        };
    });

    const edge = fromGraph(containerByName("local-edge"));
    // The web listener is the edge's TLS bind (`bind :<port> ssl crt …` in the listen section that
    // forwards to the LB's web port); its host port is the one published for that bind.
    const edgeCfg = uploadOf(edge, "/etc/haproxy/edge.cfg");
    const tlsBind = /^listen web\n {4}bind :(\d+) ssl crt /m.exec(edgeCfg);
    if (tlsBind === null) throw new Error("graph: the edge's web listener does not terminate TLS");
    const webPort = (containerByName("local-edge").inputs.ports ?? []).find((p: any) => p.internal === Number(tlsBind[1]));
    if (webPort === undefined) throw new Error("graph: the edge publishes no port for its web listener");
    if (!edgeCfg.includes(`${run.outputs.vip}:${lbWebPort(lbs[0].haproxyCfg)}`))
        throw new Error("graph: the edge's web listener does not forward to the LB's web frontend");

    const srv = /server-template \S+ 1-\d+ (\S+) resolvers /.exec(lbs[0].haproxyCfg);
    if (srv === null) throw new Error("graph: haproxy.cfg has no server-template");
    const serverJson = containerByName("consul-server-0").inputs.uploads.find((u: any) => u.file === "/consul/config/server.json");
    const datacenter = serverJson ? JSON.parse(serverJson.content).datacenter : "dc1";

    const nodes = eligibleNodes(run, spec).map((r): SwarmNodeSpec => {
        const attachment = (r.inputs.networksAdvanced ?? [])[0];
        if (attachment?.name !== networkId || !attachment.ipv4Address)
            throw new Error(`graph: ${r.name} has no fixed address on the stack's network`);
        return {
            logical: r.name,
            address: attachment.ipv4Address,
            consul: catalogNodeOf(r),
            container: {
                logical: r.name,
                name: rename(r.inputs.name),
                image: webImage,
                // Only the node's network identity: its engine, volumes and privileges are not needed to host a task's port.
                flags: [
                    "--name",
                    rename(r.inputs.name),
                    "--label",
                    objectLabel(settings),
                    "--hostname",
                    r.inputs.hostname ?? r.name,
                    "--network",
                    networkName,
                    "--ip",
                    attachment.ipv4Address,
                    ...(attachment.aliases ?? []).flatMap((a: string) => ["--network-alias", a]),
                    "--init",
                    "--cpus",
                    "0.1",
                    "--memory",
                    "16m",
                    "--no-healthcheck",
                ],
                command: ["sleep", "infinity"],
                files: [],
                address: attachment.ipv4Address,
            },
        };
    });

    const vrrpVersion = Number(/vrrp_version (\d)/.exec(lbs[0].keepalivedConf)?.[1]);
    const advert = Number(/advert_int (\S+)/.exec(lbs[0].keepalivedConf)?.[1]);
    return {
        settings,
        network: { name: networkName, flags: networkFlags },
        images: [...images.values()],
        vip: run.outputs.vip,
        lbs,
        edge,
        webUrl: `https://${webPort.ip}:${webPort.external}/`,
        edgeUrl: `https://${edge.address}:${webPort.internal}/`,
        caCertPem: String(run.outputs.webCaCertificate),
        srvName: srv[1],
        datacenter,
        web: { spec, image: webImage, nodes },
        vrrp: { version: vrrpVersion, advertIntervalSeconds: advert },
    };
}

/** The Consul agent config file in which a node announces its metrics endpoints (render/prometheus.ts renderMetricsServicesConfig). */
const METRICS_SERVICES_FILE = "/consul/config/metrics.json";

/** A node as its Consul agent names it, from the agent config the graph uploads to it (client.json). */
export function catalogNodeOf(r: RecordedResource): CatalogNode {
    const upload = (r.inputs.uploads ?? []).find((u: { file: string }) => u.file === "/consul/config/client.json");
    if (upload === undefined) throw new Error(`graph: ${r.name} gets no Consul agent config (/consul/config/client.json)`);
    const c = JSON.parse(upload.content) as { node_name?: string; advertise_addr?: string; datacenter?: string };
    if (!c.node_name || !c.advertise_addr) throw new Error(`graph: ${r.name}'s client.json names no node_name or advertise_addr`);
    return { node: c.node_name, address: c.advertise_addr, datacenter: c.datacenter ?? "dc1" };
}

/** Swarm nodes the service's placement constraints allow (node.role==worker / ==manager), sorted. */
function eligibleNodes(run: ProgramRun, spec: WebServiceSpec): RecordedResource[] {
    const nodes = run.ofType(CONTAINER).filter((c) => /^swarm-(manager|worker)-\d+$/.test(c.name));
    const role = (c: RecordedResource) => (c.name.startsWith("swarm-worker-") ? "worker" : "manager");
    let eligible = nodes;
    for (const constraint of spec.placementConstraints ?? []) {
        const m = /^node\.role\s*(==|!=)\s*(worker|manager)$/.exec(constraint);
        if (m === null) throw new Error(`web spec: placement constraint ${constraint} is not supported by the system tests`);
        eligible = eligible.filter((c) => (m[1] === "==" ? role(c) === m[2] : role(c) !== m[2]));
    }
    if (eligible.length === 0) throw new Error("graph: no swarm node satisfies the web service's placement constraints");
    const index = (c: RecordedResource) => Number(/(\d+)$/.exec(c.name)![1]);
    return eligible.sort((a, b) => role(a).localeCompare(role(b)) || index(a) - index(b));
}

function lbWebPort(haproxyCfg: string): number {
    const m = /frontend web\n\s+bind :(\d+)/.exec(haproxyCfg);
    if (m === null) throw new Error("graph: haproxy.cfg has no web frontend bind");
    return Number(m[1]);
}

/** Container inputs this module applies; anything else in a container's inputs fails the run. */
const HANDLED_INPUTS = new Set([
    "name",
    "hostname",
    "image",
    "entrypoints",
    "command",
    "uploads",
    "networksAdvanced",
    "networkMode",
    "cpus",
    "cpuShares",
    "memory",
    "init",
    "capabilities",
    "sysctls",
    "healthcheck",
    "ports",
    "restart",
    "logOpts",
    "stopTimeout",
    // Not a `docker create` flag: the provider stops the container with it before removing it; the
    // plan replay (tests/system/replay.ts) deletes containers the same way.
    "destroyGraceSeconds",
    // A node's marks (platforms/local.ts markLabel): read back by the deployed-marks checks.
    "labels",
    // The swarm nodes (Docker-in-Docker): their own cgroup namespace, seccomp/systempaths, the engine's data volume.
    "cgroupnsMode",
    "securityOpts",
    "volumes",
]);

/** How graph names become engine names, for {@link containerFlags}. */
export interface ContainerContext {
    /** The mock id of the stack's docker.Network. */
    readonly networkId: string;
    /** Engine name of that network. */
    readonly networkName: string;
    /** Engine name of the container behind a mock id (networkMode `container:<id>`). */
    readonly engineNameOfId: (id: string) => string;
    /** Graph engine name (container, volume) → our prefixed name. */
    readonly rename: (n: string) => string;
    /** `key=value` label put on the container. Defaults to `${SYSTEM_LABEL}=1`. */
    readonly label?: string;
}

/** `docker create` flags of a graph container; an input this function does not apply fails the run. */
export function containerFlags(r: RecordedResource, ctx: ContainerContext): { flags: string[]; address?: string; command: string[] } {
    const i = r.inputs;
    const unknown = Object.keys(i).filter((k) => !HANDLED_INPUTS.has(k) && i[k] !== undefined);
    if (unknown.length > 0) {
        throw new Error(`graph: ${r.name} declares ${unknown.join(", ")}, which the system tests do not apply yet (tests/system/graph.ts)`);
    }
    const flags: string[] = ["--name", ctx.rename(i.name), "--label", ctx.label ?? `${SYSTEM_LABEL}=1`];
    let address: string | undefined;
    if (i.hostname) flags.push("--hostname", i.hostname);
    const attachments = i.networksAdvanced ?? [];
    if (attachments.length > 1) throw new Error(`graph: ${r.name} is on ${attachments.length} networks; only one is supported`);
    for (const a of attachments) {
        if (a.name !== ctx.networkId) throw new Error(`graph: ${r.name} is attached to ${a.name}, not the stack's network`);
        flags.push("--network", ctx.networkName);
        if (a.ipv4Address) {
            flags.push("--ip", a.ipv4Address);
            address = a.ipv4Address;
        }
        for (const alias of a.aliases ?? []) flags.push("--network-alias", alias);
    }
    if (i.networkMode) {
        const m = /^container:(.+)$/.exec(i.networkMode);
        if (m === null) throw new Error(`graph: ${r.name} has networkMode ${i.networkMode}; only container:<id> is supported`);
        flags.push("--network", `container:${ctx.engineNameOfId(m[1])}`);
    }
    if (i.cpus !== undefined) flags.push("--cpus", String(i.cpus));
    if (i.cpuShares !== undefined) flags.push("--cpu-shares", String(i.cpuShares));
    if (i.memory !== undefined) flags.push("--memory", `${i.memory}m`);
    if (i.init) flags.push("--init");
    for (const cap of i.capabilities?.adds ?? []) flags.push("--cap-add", cap);
    for (const cap of i.capabilities?.drops ?? []) flags.push("--cap-drop", cap);
    for (const [k, v] of Object.entries<string>(i.sysctls ?? {})) flags.push("--sysctl", `${k}=${v}`);
    if (i.healthcheck) {
        const tests: string[] = i.healthcheck.tests ?? [];
        if (tests.length === 1 && tests[0] === "NONE") flags.push("--no-healthcheck");
        else throw new Error(`graph: ${r.name} has a health check the system tests do not apply yet: ${JSON.stringify(i.healthcheck)}`);
    }
    for (const p of i.ports ?? []) flags.push("--publish", `${p.ip ? `${p.ip}:` : ""}${p.external}:${p.internal}/${p.protocol ?? "tcp"}`);
    for (const l of i.labels ?? []) flags.push("--label", `${l.label}=${l.value}`);
    if (i.restart) flags.push("--restart", i.restart);
    for (const [k, v] of Object.entries<string>(i.logOpts ?? {})) flags.push("--log-opt", `${k}=${v}`);
    if (i.stopTimeout !== undefined) flags.push("--stop-timeout", String(i.stopTimeout));
    if (i.cgroupnsMode) flags.push("--cgroupns", i.cgroupnsMode);
    for (const opt of i.securityOpts ?? []) flags.push("--security-opt", opt);
    for (const v of i.volumes ?? []) {
        // Named volumes only (the graph's docker.Volume resources), under our prefix.
        if (!v.volumeName || v.hostPath || v.fromContainer || !v.containerPath)
            throw new Error(`graph: ${r.name} mounts ${JSON.stringify(v)}; only named volumes are supported`);
        flags.push("--volume", `${ctx.rename(v.volumeName)}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
    }
    // docker create takes one --entrypoint word; the rest of `entrypoints` goes before the command.
    const entrypoints: string[] = i.entrypoints ?? [];
    if (entrypoints.length > 0) flags.push("--entrypoint", entrypoints[0]);
    return { flags, address, command: [...entrypoints.slice(1), ...(i.command ?? [])] };
}

/** `docker create` flags for one task of the Swarm service from its spec, in its node's network namespace. */
export function taskContainer(
    spec: WebServiceSpec,
    t: { name: string; taskName: string; node: SwarmNodeSpec; image: string; slot: number },
): ContainerSpec {
    if (spec.network !== "host") throw new Error(`web spec: network ${spec.network} is not supported`);
    const hc = spec.healthcheck;
    const healthCmd = typeof hc.cmd === "string" ? hc.cmd : hc.cmd.map(shellWord).join(" ");
    const flags: string[] = [
        "--name",
        t.name,
        "--label",
        `${SYSTEM_LABEL}=1`,
        "--label",
        `${SYSTEM_LABEL}.slot=${t.slot}`,
        // Host networking on the node: the task shares the node's network namespace.
        "--network",
        `container:${t.node.container.name}`,
        // Swarm's TASK_NAME template ({{.Task.Name}}) is `<service>.<slot>.<task id>`.
        "--env",
        `TASK_NAME=${t.taskName}`,
        ...Object.entries(spec.env ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        "--cpus",
        String(spec.cpuLimit),
        "--memory",
        `${spec.memoryLimitMiB}m`,
        "--health-cmd",
        healthCmd,
        "--health-interval",
        `${hc.intervalSeconds}s`,
        "--health-timeout",
        `${hc.timeoutSeconds}s`,
        "--health-retries",
        String(hc.retries),
        "--health-start-period",
        `${hc.startPeriodSeconds}s`,
        "--stop-timeout",
        String(spec.stopGracePeriodSeconds ?? 30),
        "--stop-signal",
        spec.stopSignal ?? "SIGTERM",
        ...Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
        ...((spec.init ?? true) ? ["--init"] : []),
    ];
    return { logical: t.taskName, name: t.name, image: t.image, flags, command: [], files: [], address: t.node.address };
}

function shellWord(s: string): string {
    return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
