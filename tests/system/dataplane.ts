// The data plane of the dev stack, derived from the program's graph and run on the local engine.
//
// The real index.ts is evaluated under Pulumi's mock runtime (tests/harness/program.ts) for the dev
// stack with a few overrides (a subnet and edge ports of our own, so a real dev stack is never
// touched). From the recorded resources this module creates, with the docker CLI:
// - the docker.Network (name, driver, subnet, gateway, options);
// - the LB containers and the edge exactly as declared (image built from the graph's docker.Image,
//   name, hostname, command, init, capabilities, sysctls, fixed IP, aliases, ports, limits, restart
//   policy, log options, health check) with the declared uploads copied in before the first start;
//   an input this module does not know how to apply fails the run instead of being dropped;
// - the node images' Consul agent: each node image copies `/bin/consul` from the image its
//   CONSUL_IMAGE build arg names; here that is a stand-in (tests/system/consul) that only runs and
//   leaves, so the node entrypoints' start/supervise/stop of the agent run for real. What the agent
//   answers is stood in for by a DNS server (tests/system/consul/dns.js) in each LB node's
//   network namespace on the agent's port, answering the SRV name HAProxy's server-template asks
//   for, in Consul's exact shape; the harness moves it into the node's new namespace after a restart;
// - the web service's tasks from its task spec (`web-deploy`'s spec): image built with the declared
//   build args, env, health check, CPU/memory limits, stop signal and grace period, init. Swarm runs
//   tasks with host networking on the nodes its placement allows, so each eligible swarm node of the
//   graph is stood in for by a network-namespace holder at the node's address (name, hostname, IP,
//   aliases from the graph) and each task is a container in its node's namespace: it binds the first
//   free port of the spec's range, exactly as on a real node. A Consul stand-in (ConsulCatalog) keeps
//   the tasks' registrations, runs the app's own check as the app registers it (CONSUL_CHECK) and
//   publishes the passing ones to every DNS stand-in (Consul DNS answers only passing instances).
// Names get our own prefix and every object the SYSTEM_LABEL (or the suite's own label key), so
// cleanup can always find them.
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ProgramRun, RecordedResource, REPO_ROOT, runProgram } from "../harness/program";
import type { WebServiceSpec } from "../../render/webService";
import { CONSUL_CHECK } from "../../app/server";
import { docker, dockerResult, removeSystemTestObjects, SYSTEM_LABEL, waitFor } from "./docker";

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const IMAGE = "docker:index/image:Image";

/** Where and under which names the system tests run. Every value can be overridden from the environment. */
export interface SystemSettings {
    /** Prefix of every container and network name (and of nothing else on the engine). */
    readonly namePrefix: string;
    /** Subnet of the test network; must not overlap anything on this machine. */
    readonly subnet: string;
    /** Host ports (on 127.0.0.1) of the edge's listeners. */
    readonly edgePorts: { readonly web: number; readonly stats: number; readonly consulUi: number };
    /** Web replicas to run (≥ 3). */
    readonly replicas: number;
    /** Repository namespace of the images the tests build, e.g. "swarm-platform-systest" → swarm-platform-systest/lb:local. */
    readonly imageNamespace: string;
    /**
     * Label key on every object the suite creates (cleanup removes by it). Defaults to SYSTEM_LABEL;
     * another suite sets its own so that neither suite's cleanup removes the other's objects.
     */
    readonly labelKey?: string;
}

/** The `key=1` label every object of a suite carries. */
export function objectLabel(settings: SystemSettings): string {
    return `${settings.labelKey ?? SYSTEM_LABEL}=1`;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemSettings {
    const portBase = Number(env.SYSTEM_TEST_PORT_BASE ?? 28000);
    return {
        namePrefix: env.SYSTEM_TEST_PREFIX ?? "spsys-",
        subnet: env.SYSTEM_TEST_SUBNET ?? "10.213.7.0/24",
        edgePorts: { web: portBase + 80, stats: portBase + 404, consulUi: portBase + 500 },
        replicas: Number(env.SYSTEM_TEST_REPLICAS ?? 3),
        imageNamespace: env.SYSTEM_TEST_IMAGE_NS ?? "swarm-platform-systest",
    };
}

/** VRRP settings passed to the program as stack config (`lb.vrrpVersion`, `lb.advertIntervalSeconds`). */
export interface VrrpSetting {
    readonly vrrpVersion: 2 | 3;
    readonly advertIntervalSeconds?: number;
}

/** Runs index.ts for the dev stack with the system-test overrides (and optionally other VRRP settings or web version). */
export async function evaluateGraph(settings: SystemSettings, vrrp?: VrrpSetting, webVersion?: string): Promise<ProgramRun> {
    return runProgram("dev", {
        network: { subnet: settings.subnet },
        // Pulumi.dev.yaml pins the VIP to its own subnet: unset it, the program's default (the
        // subnet's 10th address) applies.
        lb: { vip: undefined, ...(vrrp ?? {}) },
        edge: { webPort: settings.edgePorts.web, statsPort: settings.edgePorts.stats, consulUiPort: settings.edgePorts.consulUi },
        web: { replicas: settings.replicas, ...(webVersion === undefined ? {} : { version: webVersion }) },
    });
}

export interface ImageBuild {
    /** Reference the graph uses (mock digest or image name). */
    readonly graphRef: string;
    /** Local tag the system tests build and run. */
    readonly tag: string;
    /** Dockerfile path relative to the context. */
    readonly dockerfile: string;
    readonly context: string;
    readonly buildArgs: Readonly<Record<string, string>>;
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
}

/** A swarm node the service may run on, stood in for by a holder of its network namespace. */
export interface SwarmNodeSpec {
    /** Graph name, e.g. swarm-worker-0. */
    readonly logical: string;
    readonly address: string;
    readonly container: ContainerSpec;
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

/** Build arg of the node images naming the image their Consul binary comes from (images/lb, images/swarm-node). */
const CONSUL_IMAGE_ARG = "CONSUL_IMAGE";

/** An image of the harness's own (a stand-in for something that cannot run here), built under the tests' namespace. */
export function standInImage(
    settings: SystemSettings,
    image: {
        readonly name: string;
        readonly what: string;
        readonly dockerfile: string;
        readonly buildArgs?: Readonly<Record<string, string>>;
    },
): ImageBuild {
    return {
        graphRef: `(system test) ${image.what}`,
        tag: `${settings.imageNamespace}/${image.name}:local`,
        dockerfile: image.dockerfile,
        context: REPO_ROOT,
        buildArgs: image.buildArgs ?? {},
    };
}

const consulStandInImage = (settings: SystemSettings): ImageBuild =>
    standInImage(settings, { name: "consul-standin", what: "consul binary stand-in", dockerfile: "tests/system/consul/Dockerfile" });

/**
 * Each LB node's Consul agent DNS (tests/system/consul/dns.js): Consul's exact answer shape, and it
 * rereads the records on every query, so a catalog change needs no restart (a restarting server
 * refuses queries for a moment, and HAProxy then retries only after `timeout retry`). Node.js comes
 * from the web image, so nothing is downloaded.
 */
const dnsImage = (settings: SystemSettings, nodeImage: string): ImageBuild =>
    standInImage(settings, {
        name: "consul-dns",
        what: "Consul agent DNS stand-in",
        dockerfile: "tests/system/consul/dns.Dockerfile",
        buildArgs: { NODE_IMAGE: nodeImage },
    });

/**
 * The builds behind an image reference of the graph (a mock digest or an image name), in build
 * order: the stand-in Consul image first when the image takes it as its CONSUL_IMAGE, then the
 * graph's docker.Image (same Dockerfile, context and build args) under our own tag.
 */
export function imageBuildsFor(run: ProgramRun, settings: SystemSettings, ref: string): ImageBuild[] {
    // The mock gives a built image the digest `<repo>@sha256:<resource name>`; the web spec uses the image name.
    const graphImages = run.ofType(IMAGE);
    const byDigest = graphImages.find((i) => ref.endsWith(`@sha256:${i.name}`));
    const resource = byDigest ?? graphImages.find((i) => i.inputs.imageName === ref);
    if (resource === undefined) throw new Error(`graph: no docker.Image builds ${ref}`);
    const [repo, tag] = String(resource.inputs.imageName).split(":");
    const build = resource.inputs.build ?? {};
    const buildArgs: Record<string, string> = { ...(build.args ?? {}) };
    const builds: ImageBuild[] = [];
    // The one substitution: the official Consul image cannot be pulled here (see consulStandInImage).
    if (buildArgs[CONSUL_IMAGE_ARG] !== undefined) {
        const consul = consulStandInImage(settings);
        buildArgs[CONSUL_IMAGE_ARG] = consul.tag;
        builds.push(consul);
    }
    builds.push({
        graphRef: ref,
        tag: `${settings.imageNamespace}/${repo.split("/").pop()}:${tag ?? "latest"}`,
        dockerfile: path.relative(build.context, build.dockerfile),
        context: build.context,
        buildArgs,
    });
    return builds;
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
        };
    });

    const edge = fromGraph(containerByName("local-edge"));
    const webPort = (containerByName("local-edge").inputs.ports ?? []).find((p: any) => p.internal === lbWebPort(lbs[0].haproxyCfg));
    if (webPort === undefined) throw new Error("graph: the edge publishes no port for the LB's web frontend");

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
        webUrl: `http://${webPort.ip}:${webPort.external}/`,
        edgeUrl: `http://${edge.address}:${webPort.internal}/`,
        srvName: srv[1],
        datacenter,
        web: { spec, image: webImage, nodes },
        vrrp: { version: vrrpVersion, advertIntervalSeconds: advert },
    };
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
        throw new Error(
            `graph: ${r.name} declares ${unknown.join(", ")}, which the system tests do not apply yet (tests/system/dataplane.ts)`,
        );
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

// ---------------------------------------------------------------------------------------------
// On the engine
// ---------------------------------------------------------------------------------------------

/** One keepalived state change, from the container log. */
export interface VrrpTransition {
    readonly node: string;
    /** Wall clock (ms since epoch) from docker's log timestamp. */
    readonly atEpochMs: number;
    readonly state: "MASTER" | "BACKUP" | "FAULT" | "STOP";
}

/** A Consul service instance: what a task registers (its node's address and the port it bound). */
export interface ServiceInstance {
    /** The task name (TASK_NAME), also the instance's name in answers (`task=` in the app's body). */
    readonly name: string;
    readonly address: string;
    readonly port: number;
}

/** A running task of the web service. */
export interface Task extends ServiceInstance {
    readonly slot: number;
    /** Engine name of the task's container. */
    readonly container: string;
    readonly node: string;
    readonly version: string;
}

/** Builds an image from the graph's declaration; the context goes as a tar without node_modules/.git. */
export async function buildImage(b: ImageBuild): Promise<void> {
    const tar = await tarContext(b.context);
    const args = ["build", "-q", "-f", b.dockerfile, "-t", b.tag];
    for (const [k, v] of Object.entries(b.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    args.push("-");
    await docker(args, { input: tar, timeoutMs: 15 * 60_000 });
}

async function tarContext(dir: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const excludes = ["node_modules", ".git", ".pulumi-state", "bench/tmp"].map((e) => `--exclude=./${e}`);
        const child = spawn("tar", ["-C", dir, ...excludes, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar exited ${code}`))));
    });
}

/** "1s", "500ms" (the durations app/server.js registers) → ms. */
function durationMs(text: string): number {
    const m = /^(\d+)(ms|s)$/.exec(text);
    if (!m) throw new Error(`unsupported Consul duration ${JSON.stringify(text)}`);
    return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}
const CHECK_INTERVAL_MS = durationMs(CONSUL_CHECK.Interval);
const CHECK_TIMEOUT_MS = durationMs(CONSUL_CHECK.Timeout);

/**
 * Consul's part for the web service, as the LB nodes see it: tasks register themselves when they
 * start and deregister when they get SIGTERM (the app does both; here the test calls register and
 * deregister at those moments), the agent runs the app's check as the app registers it
 * (`CONSUL_CHECK` of app/server.js: HTTP GET /health, interval, timeout, critical after
 * FailuresBeforeCritical failures in a row) and DNS answers only passing instances, with TTL 0.
 * Every change of the passing set is written to every DNS stand-in at once.
 */
export class ConsulCatalog {
    private readonly instances = new Map<string, { instance: ServiceInstance; passing: boolean; failures: number }>();
    private published = "";
    private timer: NodeJS.Timeout | undefined;
    private checking = false;
    private publishing: Promise<void> = Promise.resolve();
    /** Every change published to DNS: when (performance.now()) and the passing names. */
    readonly history: { readonly atMs: number; readonly passing: readonly string[] }[] = [];

    constructor(private readonly publish: (passing: readonly ServiceInstance[]) => Promise<void>) {}

    /** Checks run every `intervalMs` until stop(); each check is bounded by `timeoutMs`. */
    start(intervalMs = CHECK_INTERVAL_MS, timeoutMs = CHECK_TIMEOUT_MS): void {
        if (this.timer) return;
        this.timer = setInterval(() => void this.checkAll(timeoutMs), intervalMs);
    }

    stop(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }

    /** Registered instances start critical (no traffic before the first passing check), like the app's check. */
    register(instance: ServiceInstance): void {
        this.instances.set(instance.name, { instance, passing: false, failures: 0 });
    }

    /** Deregistration is immediate in DNS (TTL 0). */
    async deregister(name: string): Promise<void> {
        this.instances.delete(name);
        await this.sync();
    }

    passing(): ServiceInstance[] {
        return [...this.instances.values()].filter((i) => i.passing).map((i) => i.instance);
    }

    isPassing(name: string): boolean {
        return this.instances.get(name)?.passing ?? false;
    }

    /** Runs every check once now (also what the interval does). */
    async checkAll(timeoutMs = CHECK_TIMEOUT_MS): Promise<void> {
        if (this.checking) return;
        this.checking = true;
        try {
            await Promise.all(
                [...this.instances.values()].map(async (entry) => {
                    const r = await httpGet(`http://${entry.instance.address}:${entry.instance.port}/health`, timeoutMs);
                    entry.failures = r.status === 200 ? 0 : entry.failures + 1;
                    if (r.status === 200) entry.passing = true;
                    else if (entry.failures >= CONSUL_CHECK.FailuresBeforeCritical) entry.passing = false;
                }),
            );
            await this.sync();
        } finally {
            this.checking = false;
        }
    }

    /** Publishes the passing set if it changed (serialised: one DNS update at a time). */
    private sync(): Promise<void> {
        this.publishing = this.publishing.then(async () => {
            const passing = this.passing().sort((a, b) => a.name.localeCompare(b.name));
            const key = passing.map((i) => `${i.name}@${i.address}:${i.port}`).join(",");
            if (key === this.published) return;
            this.published = key;
            this.history.push({ atMs: performance.now(), passing: passing.map((i) => i.name) });
            await this.publish(passing);
        });
        return this.publishing;
    }
}

export class DataPlane {
    private spec: DataPlaneSpec;
    private builtImages = new Set<string>();
    private readonly tasks = new Map<string, Task>();
    private taskCounter = 0;
    private dnsContent = "";
    readonly catalog: ConsulCatalog;

    constructor(spec: DataPlaneSpec) {
        this.spec = spec;
        this.catalog = new ConsulCatalog((passing) => this.writeDns(passing));
    }

    get current(): DataPlaneSpec {
        return this.spec;
    }

    /** The tasks that run now, by slot. */
    get tasksRunning(): Task[] {
        return [...this.tasks.values()].sort((a, b) => a.slot - b.slot || a.name.localeCompare(b.name));
    }

    lb(logical: string): LbNodeSpec {
        const n = this.spec.lbs.find((l) => l.logical === logical);
        if (n === undefined) throw new Error(`no LB node ${logical}`);
        return n;
    }

    peerOf(logical: string): string {
        return this.spec.lbs.find((l) => l.logical !== logical)!.logical;
    }

    /** Removes leftovers, builds the images, creates everything and waits until traffic flows. */
    async create(log: (msg: string) => void = () => undefined): Promise<void> {
        await removeSystemTestObjects(this.spec.settings.namePrefix, this.spec.settings.labelKey);
        await this.buildImages(this.spec);
        log(`images built: ${this.spec.images.map((i) => i.tag).join(", ")}`);
        await this.createNetwork();
        for (const node of this.spec.web.nodes) await this.createContainer(node.container);
        // Tasks first, so the LB nodes find them in DNS at once.
        const tasks = await Promise.all(Array.from({ length: this.spec.web.spec.replicas }, (_, i) => this.startTask(i + 1)));
        await Promise.all(tasks.map((t) => this.waitPassing(t.name, 30_000)));
        log(`web tasks passing: ${tasks.map((t) => `${t.name} on ${t.node} (${t.address}:${t.port})`).join(", ")}`);
        this.catalog.start();
        await this.startLbsAndEdge(log);
    }

    /** The graph's docker.Network. */
    async createNetwork(): Promise<void> {
        await docker(["network", "create", ...this.spec.network.flags, this.spec.network.name]);
    }

    /**
     * The LB pair, its agents' DNS answers and the edge, once the catalog holds the web service's
     * instances (whoever runs them: emulated tasks, or Swarm in the swarm suite); until traffic flows.
     */
    async startLbsAndEdge(log: (msg: string) => void = () => undefined): Promise<void> {
        await this.createLbs();
        await this.createContainer(this.spec.edge);
        await this.waitServing();
        log(`serving through ${this.spec.webUrl}; VIP ${this.spec.vip} on ${await this.master()}`);
    }

    /** Replaces both LB nodes (and their DNS stand-ins) with those of another graph (e.g. other VRRP settings). */
    async replaceLbs(next: DataPlaneSpec): Promise<void> {
        await this.buildImages(next);
        for (const lb of this.spec.lbs) await dockerResult(["rm", "-f", lb.dns.name, lb.container.name], { timeoutMs: 60_000 });
        this.adoptLbs(next);
        await this.createLbs();
        await this.waitServing();
    }

    /**
     * Deletes one LB node as the provider deletes a container: `docker stop -t destroyGraceSeconds`
     * (its SIGTERM handler hands the VIP over; its DNS stand-in still answers meanwhile) then
     * `docker rm -f`; the stand-in goes with it, as the Consul agent inside the real node does.
     */
    async deleteLb(lb: LbNodeSpec, graceSeconds: number): Promise<void> {
        await dockerResult(["stop", "-t", String(graceSeconds), lb.container.name], { timeoutMs: (graceSeconds + 30) * 1000 });
        await dockerResult(["rm", "-f", lb.dns.name]);
        await docker(["rm", "-f", lb.container.name]);
    }

    /** Creates one LB node as declared (a graph's), with its DNS stand-in answering the current catalog. */
    async createLb(lb: LbNodeSpec): Promise<void> {
        await this.createContainer(lb.container);
        await this.startDns(lb);
    }

    /** After a replayed plan: the LB nodes (and the VRRP settings) are those of `next`. */
    adoptLbs(next: DataPlaneSpec): void {
        this.spec = { ...next, web: this.spec.web };
    }

    async destroy(): Promise<void> {
        this.catalog.stop();
        await removeSystemTestObjects(this.spec.settings.namePrefix, this.spec.settings.labelKey);
    }

    async buildImages(spec: DataPlaneSpec): Promise<void> {
        for (const b of spec.images) {
            if (this.builtImages.has(b.tag)) continue;
            await buildImage(b);
            this.builtImages.add(b.tag);
        }
    }

    private async createLbs(): Promise<void> {
        // Like the program: both nodes, then the agents beside them.
        for (const lb of this.spec.lbs) await this.createContainer(lb.container);
        for (const lb of this.spec.lbs) await this.startDns(lb);
    }

    /** docker create, the uploads copied in (like the provider's uploads), docker start. */
    async createContainer(c: ContainerSpec): Promise<void> {
        await docker(["create", ...c.flags, c.image, ...c.command]);
        if (c.files.length > 0) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spsys-upload-"));
            try {
                for (const [n, f] of c.files.entries()) {
                    const local = path.join(dir, String(n));
                    fs.writeFileSync(local, f.content);
                    fs.chmodSync(local, parseInt(f.mode, 8));
                    await docker(["cp", local, `${c.name}:${f.path}`]);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
        await docker(["start", c.name]);
    }

    // --- the web service ------------------------------------------------------------------------

    /**
     * Starts a task for `slot` (Swarm spreads slots over the eligible nodes) from the current spec, or
     * from `spec`/`image` (a new version); it binds a port and registers, as the app does at start.
     */
    async startTask(slot: number, version?: { spec: WebServiceSpec; image: string }): Promise<Task> {
        const spec = version?.spec ?? this.spec.web.spec;
        const nodes = this.spec.web.nodes;
        const node = nodes[(slot - 1) % nodes.length];
        const id = `t${++this.taskCounter}`;
        const taskName = `${spec.name}.${slot}.${id}`;
        const name = `${this.spec.settings.namePrefix}${taskName}`;
        await this.createContainer(taskContainer(spec, { name, taskName, node, image: version?.image ?? this.spec.web.image, slot }));
        const port = await waitFor(
            `${name} to bind its port`,
            async () => {
                const r = await dockerResult(["exec", name, "cat", "/tmp/web.port"], { timeoutMs: 5000 });
                return r.code === 0 && /^\d+\s*$/.test(r.stdout) ? Number(r.stdout) : undefined;
            },
            30_000,
            100,
        );
        const task: Task = {
            name: taskName,
            slot,
            container: name,
            node: node.logical,
            address: node.address,
            port,
            version: spec.env?.APP_VERSION ?? "?",
        };
        this.tasks.set(taskName, task);
        this.catalog.register(task);
        return task;
    }

    /** After a rollout: new tasks (replacements, scale-ups) run this spec and image, as Swarm's updated service would. */
    adoptWebSpec(next: { spec: WebServiceSpec; image: string }): void {
        this.spec = { ...this.spec, web: { ...this.spec.web, spec: next.spec, image: next.image } };
    }

    /** Until Consul's check passes for the instance and it is in DNS. */
    async waitPassing(name: string, timeoutMs: number): Promise<void> {
        await waitFor(
            `${name} to pass its Consul check`,
            async () => {
                await this.catalog.checkAll();
                return this.catalog.isPassing(name) ? true : undefined;
            },
            timeoutMs,
            200,
        );
    }

    /** Until Docker reports the task healthy (what Swarm waits for before it stops the task being replaced). */
    async waitHealthy(task: Task, timeoutMs: number): Promise<void> {
        await waitFor(
            `${task.container} to be healthy`,
            async () => ((await docker(["inspect", "-f", "{{.State.Health.Status}}", task.container])) === "healthy" ? true : undefined),
            timeoutMs,
            200,
        );
    }

    /**
     * Stops a task as Swarm does: SIGTERM, SIGKILL after the spec's grace period. The app deregisters
     * at once on SIGTERM (done here at the same moment), fails /health, drains, exits.
     * Resolves when the container has exited.
     */
    async stopTask(task: Task): Promise<void> {
        const grace = this.spec.web.spec.stopGracePeriodSeconds ?? 30;
        await Promise.all([
            this.catalog.deregister(task.name),
            docker(["stop", "-t", String(grace), task.container], { timeoutMs: (grace + 30) * 1000 }),
        ]);
        this.tasks.delete(task.name);
        await dockerResult(["rm", "-f", task.container]);
    }

    /** A crash: SIGKILL, no deregistration (Consul's check turns critical). */
    async killTask(task: Task): Promise<void> {
        await docker(["kill", task.container]);
    }

    /** Forgets a killed task: its registration and container (Consul: DeregisterCriticalServiceAfter). */
    async removeTask(task: Task): Promise<void> {
        this.tasks.delete(task.name);
        await this.catalog.deregister(task.name);
        await dockerResult(["rm", "-f", task.container]);
    }

    // --- DNS stand-ins ----------------------------------------------------------------------------

    /** (Re)starts a node's DNS stand-in in the node's current network namespace, with the current records. */
    private async startDns(lb: LbNodeSpec): Promise<void> {
        await dockerResult(["rm", "-f", lb.dns.name]);
        await docker(["create", ...lb.dns.flags, "--name", lb.dns.name, lb.dns.image, ...lb.dns.command]);
        await docker(["cp", "-", `${lb.dns.name}:/etc/consul-dns/`], { input: tarOf("records.conf", this.dnsContent) });
        await docker(["start", lb.dns.name]);
    }

    /** The DNS stand-in's records (dnsmasq's syntax, read by dns.js): SRV → `<hex ip>.addr.<dc>.consul`, and its A record. */
    private records(passing: readonly ServiceInstance[]): string {
        const out = [`# ${this.spec.srvName}: ${passing.length} passing instance(s), written by tests/system`];
        const hosts = new Map<string, string>();
        for (const b of passing) {
            const hex = b.address
                .split(".")
                .map((o) => Number(o).toString(16).padStart(2, "0"))
                .join("");
            const target = `${hex}.addr.${this.spec.datacenter}.consul`;
            out.push(`srv-host=${this.spec.srvName},${target},${b.port},1,1`);
            hosts.set(target, b.address);
        }
        for (const [target, address] of hosts) out.push(`host-record=${target},${address}`);
        return `${out.join("\n")}\n`;
    }

    /**
     * Writes the records to every DNS stand-in (it rereads them on every query; the rename is atomic).
     * A stand-in that is not running gets the file anyway: a Consul agent that comes back has the
     * current catalog too.
     */
    private async writeDns(passing: readonly ServiceInstance[]): Promise<void> {
        this.dnsContent = this.records(passing);
        await Promise.all(
            this.spec.lbs.map(async (lb) => {
                const script = "cat > /etc/consul-dns/records.tmp && mv /etc/consul-dns/records.tmp /etc/consul-dns/records.conf";
                const r = await dockerResult(["exec", "-i", lb.dns.name, "sh", "-c", script], {
                    input: this.dnsContent,
                    timeoutMs: 10_000,
                });
                if (r.code !== 0) {
                    await dockerResult(["cp", "-", `${lb.dns.name}:/etc/consul-dns/`], { input: tarOf("records.conf", this.dnsContent) });
                }
            }),
        );
    }

    // --- LB nodes ---------------------------------------------------------------------------------

    /** Until each LB node serves every passing instance, the edge answers and exactly one node holds the VIP. */
    async waitServing(timeoutMs = 60_000): Promise<void> {
        await Promise.all(this.spec.lbs.map((lb) => this.waitLbReady(lb.logical, timeoutMs)));
        await waitFor("exactly one VIP holder", async () => ((await this.vipHolders()).length === 1 ? true : undefined), timeoutMs, 200);
        await waitFor(
            "the edge to answer",
            async () => ((await httpGet(this.spec.webUrl, 1000)).status === 200 ? true : undefined),
            timeoutMs,
            200,
        );
    }

    /**
     * Until the node's HAProxy serves every passing instance and its keepalived is BACKUP or MASTER
     * (judged by its log since the container's current start, or since `sinceEpochMs` if later: the
     * log also holds earlier runs of the container).
     */
    async waitLbReady(logical: string, timeoutMs = 60_000, sinceEpochMs?: number): Promise<void> {
        const lb = this.lb(logical);
        const startedAt = Date.parse(await docker(["inspect", "-f", "{{.State.StartedAt}}", lb.container.name]));
        const since = Math.max(Number.isNaN(startedAt) ? 0 : startedAt - 50, sinceEpochMs ?? 0);
        await waitFor(
            `${lb.container.name} to serve every passing instance`,
            async () => {
                const want = new Set(this.catalog.passing().map((i) => i.name));
                const seen = new Set<string>();
                for (let i = 0; i < want.size * 3 && seen.size < want.size; i++) {
                    const r = await httpGet(`http://${lb.address}/`, 1000);
                    if (r.status !== 200) return undefined;
                    const task = taskOf(r.body);
                    if (task) seen.add(task);
                }
                return want.size > 0 && [...want].every((w) => seen.has(w)) ? true : undefined;
            },
            timeoutMs,
            250,
        );
        await waitFor(
            `${lb.container.name}'s keepalived to leave FAULT`,
            async () => {
                const states = await this.transitions(logical, since);
                const last = states[states.length - 1];
                return last && (last.state === "BACKUP" || last.state === "MASTER") ? true : undefined;
            },
            timeoutMs,
            250,
        );
    }

    /** LB nodes whose eth0 carries the VIP. */
    async vipHolders(): Promise<string[]> {
        const held = await Promise.all(
            this.spec.lbs.map(async (lb) => {
                const r = await dockerResult(["exec", lb.container.name, "ip", "-o", "-4", "addr", "show"], { timeoutMs: 10_000 });
                return r.code === 0 && r.stdout.includes(` ${this.spec.vip}/`) ? lb.logical : undefined;
            }),
        );
        return held.filter((h): h is string => h !== undefined);
    }

    /** The one VIP holder (throws if none or both). */
    async master(): Promise<string> {
        const holders = await this.vipHolders();
        if (holders.length !== 1) throw new Error(`expected one VIP holder, found ${holders.length}: ${holders.join(", ")}`);
        return holders[0];
    }

    /** keepalived's state changes in the node's log (its current container run and earlier ones). */
    async transitions(logical: string, sinceEpochMs?: number): Promise<VrrpTransition[]> {
        const args = ["logs", "--timestamps"];
        if (sinceEpochMs !== undefined) args.push("--since", new Date(sinceEpochMs).toISOString());
        const r = await dockerResult([...args, this.lb(logical).container.name], { timeoutMs: 10_000 });
        const out: VrrpTransition[] = [];
        for (const line of `${r.stdout}\n${r.stderr}`.split("\n")) {
            const m = /^(\S+) .*\(VI_\w+\) Entering (MASTER|BACKUP|FAULT|STOP) STATE/.exec(line);
            // docker's RFC 3339 timestamps carry nanoseconds: keep milliseconds for Date.parse.
            const at = Date.parse(m?.[1].replace(/(\.\d{3})\d*/, "$1") ?? "");
            if (m) out.push({ node: logical, atEpochMs: at, state: m[2] as VrrpTransition["state"] });
        }
        return out.sort((a, b) => a.atEpochMs - b.atEpochMs);
    }

    /** MASTER entries on any node since a time: the VIP moves. */
    async masterEntries(sinceEpochMs: number): Promise<VrrpTransition[]> {
        const all = await Promise.all(this.spec.lbs.map((lb) => this.transitions(lb.logical, sinceEpochMs)));
        return all
            .flat()
            .filter((t) => t.state === "MASTER" && t.atEpochMs >= sinceEpochMs)
            .sort((a, b) => a.atEpochMs - b.atEpochMs);
    }

    /** Is the node's container running? */
    async running(logical: string): Promise<boolean> {
        const r = await dockerResult(["inspect", "-f", "{{.State.Running}}", this.lb(logical).container.name]);
        return r.stdout.trim() === "true";
    }

    /**
     * Starts a stopped/killed node again and waits until it serves. The node's entrypoint starts its
     * Consul agent again inside it (in the node's new network namespace); the harness then moves the
     * agent's DNS answers there too (Docker cannot do that for a container that shares a namespace).
     * `agentFollowed` reports whether the node's own agent process came back.
     */
    async restartLb(logical: string, agentFollowMs = 15_000): Promise<{ agentFollowed: boolean; servesAfterMs: number }> {
        const lb = this.lb(logical);
        const t0 = performance.now();
        if (!(await this.running(logical))) await docker(["start", lb.container.name]);
        const agentFollowed = await this.followNode(logical, agentFollowMs);
        await this.waitLbReady(logical, 60_000);
        return { agentFollowed, servesAfterMs: Math.round(performance.now() - t0) };
    }

    /** Is the node's own Consul agent (started by its entrypoint, as the consul user) running? */
    async agentAlive(logical: string): Promise<boolean> {
        const r = await dockerResult(["exec", this.lb(logical).container.name, "pgrep", "-u", "consul", "-x", "consul"]);
        return r.code === 0;
    }

    /**
     * After the node got a new network namespace (restart, stop/start): waits (up to `boundMs`) until
     * the node's entrypoint runs its Consul agent again, then re-creates the DNS stand-in in the new
     * namespace. Returns whether the agent came back.
     */
    async followNode(logical: string, boundMs = 15_000): Promise<boolean> {
        let agentBack = true;
        try {
            await waitFor(`${logical}'s Consul agent`, async () => ((await this.agentAlive(logical)) ? true : undefined), boundMs, 200);
        } catch {
            agentBack = false;
        }
        await this.startDns(this.lb(logical));
        return agentBack;
    }

    containerName(logical: string): string {
        return this.lb(logical).container.name;
    }
}

/** A one-file tar archive (ustar), for `docker cp -`. */
function tarOf(name: string, content: string, mode = 0o644): Buffer {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512, 0);
    const put = (s: string, off: number, len: number) => header.write(s, off, Math.min(len, Buffer.byteLength(s)), "ascii");
    put(name, 0, 100);
    put(mode.toString(8).padStart(7, "0") + "\0", 100, 8);
    put("0000000\0", 108, 8);
    put("0000000\0", 116, 8);
    put(body.length.toString(8).padStart(11, "0") + "\0", 124, 12);
    put(
        Math.floor(Date.now() / 1000)
            .toString(8)
            .padStart(11, "0") + "\0",
        136,
        12,
    );
    put("        ", 148, 8);
    put("0", 156, 1);
    put("ustar\0", 257, 6);
    put("00", 263, 2);
    let sum = 0;
    for (const b of header) sum += b;
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    const pad = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
    return Buffer.concat([header, body, pad, Buffer.alloc(1024, 0)]);
}

/** GET with one deadline; never rejects (status 0 = no answer). */
export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve) => {
        let done = false;
        const finish = (v: { status: number; body: string; headers: http.IncomingHttpHeaders }) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(v);
        };
        const req = http.get(url, { agent: false }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => finish({ status: res.statusCode ?? 0, body, headers: res.headers }));
            res.on("error", () => finish({ status: 0, body: "", headers: {} }));
        });
        const timer = setTimeout(() => {
            req.destroy();
            finish({ status: 0, body: "", headers: {} });
        }, timeoutMs);
        req.on("error", () => finish({ status: 0, body: "", headers: {} }));
    });
}

/** The task that answered, from the app's body ("swarm-platform web <version> task=<name> host=… port=…"). */
export function taskOf(body: string): string | undefined {
    return /task=(\S+)/.exec(body)?.[1];
}
