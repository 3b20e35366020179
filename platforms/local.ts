// The `local` platform: every node is a container on one Docker engine, on a user-defined network
// with a fixed subnet and fixed addresses. Swarm nodes are Docker-in-Docker without --privileged
// (see images/swarm-node). Scripts run through `docker exec` from the machine running Pulumi.
import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { selfSignedCa, signedCertificate } from "./pki";
import {
    assertNever,
    BuiltImage,
    ClusterScriptArgs,
    DeployedMarksCheck,
    ImageBuildArgs,
    Ingress,
    IngressListener,
    ListenerName,
    NodeArgs,
    nodeMarksAndDependencies,
    NodeFile,
    NodeRole,
    Platform,
    PlatformNode,
    ResourceLimits,
    RunScriptArgs,
    ScriptRun,
    VipFailover,
} from "./types";
import { LocalAddressPlan } from "../config";
import { renderEdgeConfig } from "../render/haproxy";
import { PROMETHEUS_PATHS } from "../render/prometheus";
import { formerName, plannedAddress, REPO_ROOT } from "./shared";
import { shellQuote } from "../render/shell";

export interface LocalPlatformArgs {
    /** Prefix of every container, network and volume name on the engine, e.g. "swarm-platform-dev-". */
    readonly namePrefix: string;
    /** The address plan: the nodes' subnet and gateway (the host side of the bridge), every node's address, the edge's. */
    readonly plan: LocalAddressPlan;
    /** Official Consul image tag (pinned). */
    readonly consulVersion: string;
    /** The edge container: the local stand-in for the cloud load balancer. */
    readonly edge: {
        readonly bindAddress: string;
        /** Host port of each ingress listener (the public one's is HTTPS). */
        readonly hostPorts: Readonly<Record<ListenerName, number>>;
        /** Host port that redirects plain HTTP to the public listener's HTTPS port. */
        readonly httpPort: number;
        readonly resources: ResourceLimits;
    };
}

/** Docker's CPU and memory limits from the component contract. */
function limits(r: ResourceLimits): { cpus: string; memory: number } {
    return { cpus: String(r.cpus), memory: r.memoryMb };
}

function uploads(files: readonly NodeFile[]): docker.types.input.ContainerUpload[] {
    return files.map((f) => ({ file: f.path, content: f.content, permissions: f.mode }));
}

/** The official Consul image's entrypoint (hashicorp/consul Dockerfile: `ENTRYPOINT ["docker-entrypoint.sh"]`). */
const CONSUL_IMAGE_ENTRYPOINT = "docker-entrypoint.sh";

/** Where the node images' Consul agent reads its config, which its supervisor chowns to `consul` (images/consul-agent). */
const NODE_AGENT_CONFIG_DIR = "/consul/config/";

/**
 * Files with an owner, made theirs before the image's entrypoint runs. The Docker provider uploads
 * every file as root: an upload has a path, a mode and content but no owner (pulumi-docker
 * ContainerUpload: content, contentBase64, executable, file, permissions, source, sourceHash). The
 * entrypoint starts as root, so a `chown` ahead of it makes a 0600 file readable by the daemon's
 * user alone, which it then drops to (the official Consul entrypoint: su-exec to `consul`).
 */
function chownThenExec(files: readonly NodeFile[], entrypoint: string): string[] {
    const chowns = files.map((f) => `chown ${shellQuote(`${f.owner}:${f.owner}`)} ${shellQuote(f.path)}`);
    return ["/bin/sh", "-c", `${chowns.join(" && ")} && exec ${entrypoint} "$@"`, entrypoint];
}

/** The container label that holds a node's mark (NodeArgs.marks). */
function markLabel(key: string): string {
    return `swarm-platform.${key}`;
}

/** Candidate loops are rendered the same for one node or several. */
const ONE_CANDIDATE_IS_A_LIST = "# shellcheck disable=SC2043 # a single candidate is still a list";

/** Where the edge container holds its certificate and key (HAProxy's `crt`). */
const EDGE_CERT_PATH = "/etc/haproxy/edge.pem";

/** Ports inside the edge container of the public listener: HTTPS, and plain HTTP that only redirects. */
const EDGE_TLS_PORTS = { https: 443, http: 80 } as const;

/**
 * Lifetimes of the edge's certificates, hours: the leaf a year (browsers refuse leaves over 398 days),
 * renewed by the first `pulumi up` in its last 30 days; the CA ten years, renewed in its last one.
 */
export const EDGE_CERT_HOURS = { leaf: 365 * 24, leafRenewal: 30 * 24, ca: 10 * 365 * 24, caRenewal: 365 * 24 } as const;

/** Network alias every Consul server carries: what agents retry_join. */
const CONSUL_SERVERS_ALIAS = "consul-servers";

/** How fast an image streams into a node (MB/s): a ~200 MB web image takes ~12 s. */
const IMAGE_LOAD_MB_PER_SECOND = 16;

/**
 * Every node's CPU weight (cgroup cpu.shares; Docker's default, declared so that an image load can
 * restore it: `docker update --cpu-shares 0` would leave the lowered value in place). The provider
 * updates cpuShares in place (terraform-provider-docker resourceDockerContainerUpdate): adding it
 * restarts nothing.
 */
const NODE_CPU_SHARES = 1024;

/**
 * A node's CPU weight while an image unpacks into it. All nodes share this machine's CPUs; at equal
 * weight the unpacking (~35 ms of CPU per MB in the node's engine) took turns with the tasks and the
 * LB nodes on the request path, and a new worker's load cost 9–26 requests their 1 s deadline. At
 * this weight it gets only the CPU nobody on the request path wants.
 */
const IMAGE_LOAD_CPU_SHARES = 2;

/** Seconds a node gets to stop on SIGTERM when the engine deletes it (docker stop -t). */
const NODE_STOP_GRACE_SECONDS = 30;

/** Images the platform builds from images/. */
const IMAGE_DOCKERFILES = {
    lb: "images/lb/Dockerfile",
    swarmNode: "images/swarm-node/Dockerfile",
    prometheus: "images/prometheus/Dockerfile",
} as const;

export class LocalPlatform extends pulumi.ComponentResource implements Platform {
    readonly name = "local";
    readonly vipInterface = "eth0";
    readonly vipPrefixLength: number;
    readonly network: docker.Network;
    /** Local builds are referenced by digest, so a rebuilt image replaces the containers running it. */
    readonly lbImage: docker.Image;
    readonly swarmNodeImage: docker.Image;
    readonly prometheusImage: docker.Image;
    readonly consulImage: docker.RemoteImage;
    private readonly args: LocalPlatformArgs;
    private readonly platformName: string;

    constructor(name: string, args: LocalPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:local:Platform", name, {}, opts);
        this.args = args;
        this.platformName = name;
        this.vipPrefixLength = args.plan.prefixLength;
        const child = { parent: this };

        this.network = new docker.Network(
            `${name}-network`,
            {
                name: `${args.namePrefix}net`,
                driver: "bridge",
                ipamConfigs: [{ subnet: args.plan.subnet, gateway: args.plan.gateway }],
                // Not `internal`: swarm nodes' engines and the edge need the host's bridge; nothing is
                // published except the edge's ports on edge.bindAddress.
                options: { "com.docker.network.bridge.enable_icc": "true" },
            },
            child,
        );

        const consulImageName = `hashicorp/consul:${args.consulVersion}`;
        const build = (key: keyof typeof IMAGE_DOCKERFILES, imageName: string) =>
            new docker.Image(
                `${name}-${key}-image`,
                {
                    imageName,
                    build: {
                        context: REPO_ROOT,
                        dockerfile: path.join(REPO_ROOT, IMAGE_DOCKERFILES[key]),
                        // The node images run the node's Consul agent inside (images/consul-agent): same binary as the servers.
                        args: { CONSUL_IMAGE: consulImageName },
                        platform: "linux/amd64",
                    },
                    // No registry: the image stays on the local engine.
                    skipPush: true,
                },
                child,
            );
        this.lbImage = build("lb", "swarm-platform/lb:local");
        this.swarmNodeImage = build("swarmNode", "swarm-platform/swarm-node:local");
        this.prometheusImage = build("prometheus", "swarm-platform/prometheus:local");
        this.consulImage = new docker.RemoteImage(
            `${name}-consul-image`,
            {
                name: consulImageName,
                keepLocally: true,
            },
            child,
        );

        this.registerOutputs({ networkName: this.network.name });
    }

    private containerName(nodeName: string): string {
        return `${this.args.namePrefix}${nodeName}`;
    }

    vipFailover(): VipFailover {
        // One layer-2 segment: keepalived's gratuitous ARP is all it takes.
        return { files: [] };
    }

    roleAddress(role: NodeRole): string | undefined {
        return role === "consul-server" ? CONSUL_SERVERS_ALIAS : undefined;
    }

    nodeAddress(role: NodeRole, index: number): string {
        return plannedAddress(this.args.plan, role, index);
    }

    consulRetryJoin(): string[] {
        // One name for every server (a network alias they share; Docker's DNS answers with all their
        // addresses and Consul tries each), so an agent's config does not change with the server
        // count — scaling the servers never replaces the other nodes.
        return [CONSUL_SERVERS_ALIAS];
    }

    private networkAttachment(nodeName: string, address: string, extraAliases: readonly string[] = []) {
        return [{ name: this.network.id, ipv4Address: address, aliases: [nodeName, ...extraAliases] }];
    }

    createNode(args: NodeArgs, parent: pulumi.Resource): PlatformNode {
        const address = this.nodeAddress(args.role, args.index);
        // A node's Consul agent runs inside the node container (started by its entrypoint, see
        // images/consul-agent): a sidecar sharing the node's network namespace cannot follow the node
        // through `docker stop` + `docker start` (Docker cannot start a container into a stopped
        // container's namespace), so it stayed dead. The container's limits cover both.
        const agent = args.consulAgent;
        const resources: ResourceLimits =
            agent === undefined
                ? args.resources
                : {
                      cpus: Math.round((args.resources.cpus + agent.resources.cpus) * 1000) / 1000,
                      memoryMb: args.resources.memoryMb + agent.resources.memoryMb,
                  };
        const { marks, dependsOn } = nodeMarksAndDependencies(args);
        const opts: pulumi.CustomResourceOptions = {
            parent,
            dependsOn,
            // The container name is fixed: the old container must go before its replacement starts.
            deleteBeforeReplace: true,
        };
        // The provider deletes a container with `docker stop -t destroyGraceSeconds` then `rm -f`
        // (terraform-provider-docker resourceDockerContainerDelete); unset, the grace is 0 s: SIGKILL.
        // A node must get its SIGTERM handlers' time: a Consul server leaves the peer set
        // (leave_on_terminate), an LB node hands the VIP over, a swarm node's engine stops its tasks.
        // An update of this input changes state only, so adding it never restarts a container.
        const common = {
            destroyGraceSeconds: NODE_STOP_GRACE_SECONDS,
            name: this.containerName(args.name),
            hostname: args.name,
            networksAdvanced: this.networkAttachment(args.name, address, [this.roleAddress(args.role) ?? []].flat()),
            uploads: uploads([...args.files, ...(agent?.files ?? [])]),
            restart: "unless-stopped",
            // Only when there are any: a node without marks keeps the inputs it had before marks existed.
            ...(Object.keys(marks).length === 0
                ? {}
                : { labels: Object.entries(marks).map(([key, value]) => ({ label: markLabel(key), value })) }),
            logOpts: { "max-size": "10m", "max-file": "3" },
            cpuShares: NODE_CPU_SHARES,
            ...limits(resources),
        };

        const owned = [...args.files, ...(agent?.files ?? [])].filter((f) => f.owner !== undefined);
        let container: docker.Container;
        switch (args.role) {
            case "consul-server": {
                const data = new docker.Volume(`${args.name}-data`, { name: this.containerName(`${args.name}-data`) }, { parent });
                container = new docker.Container(
                    args.name,
                    {
                        ...common,
                        image: this.consulImage.imageId,
                        // The image's entrypoint adds -data-dir/-config-dir and drops to the consul user.
                        ...(owned.length > 0 ? { entrypoints: chownThenExec(owned, CONSUL_IMAGE_ENTRYPOINT) } : {}),
                        command: ["agent"],
                        volumes: [{ volumeName: data.name, containerPath: "/consul/data" }],
                        // leave_on_terminate needs time to leave the Raft peer set.
                        stopTimeout: 30,
                    },
                    opts,
                );
                break;
            }
            case "swarm-manager":
            case "swarm-worker": {
                this.checkAgentOwnedFiles(args.name, owned);
                // Docker-in-Docker without --privileged (not available everywhere): everything but
                // CAP_SYS_RESOURCE, its own cgroup namespace, and /var/lib/docker on a volume
                // (overlay2 cannot sit on the container's own overlay rootfs).
                const engineData = new docker.Volume(
                    `${args.name}-engine`,
                    { name: this.containerName(`${args.name}-engine`) },
                    { parent },
                );
                container = new docker.Container(
                    args.name,
                    {
                        ...common,
                        image: this.swarmNodeImage.repoDigest,
                        init: true,
                        cgroupnsMode: "private",
                        capabilities: { adds: ["ALL"], drops: ["SYS_RESOURCE"] },
                        securityOpts: ["seccomp=unconfined", "systempaths=unconfined"],
                        volumes: [{ volumeName: engineData.name, containerPath: "/var/lib/docker" }],
                        stopTimeout: 30,
                    },
                    opts,
                );
                break;
            }
            case "lb": {
                this.checkAgentOwnedFiles(args.name, owned);
                container = new docker.Container(
                    args.name,
                    {
                        ...common,
                        image: this.lbImage.repoDigest,
                        // --init: a killed haproxy must not linger as a zombie that the health check still finds.
                        init: true,
                        // keepalived adds and removes the VIP.
                        capabilities: { adds: ["NET_ADMIN"] },
                        sysctls: {
                            "net.ipv4.ip_nonlocal_bind": "1",
                            // While a stopping node drains, it keeps the VIP on lo: only the interface that
                            // holds an address answers ARP for it, and ARP never uses the VIP as source.
                            "net.ipv4.conf.all.arp_ignore": "1",
                            "net.ipv4.conf.all.arp_announce": "2",
                        },
                    },
                    opts,
                );
                break;
            }
            case "monitoring": {
                // Its only files are its agent's (Prometheus's own arrive by the config script).
                this.checkAgentOwnedFiles(args.name, owned);
                // Prometheus's samples outlive its container: a replaced node keeps the history.
                const data = new docker.Volume(`${args.name}-data`, { name: this.containerName(`${args.name}-data`) }, { parent });
                container = new docker.Container(
                    args.name,
                    {
                        ...common,
                        image: this.prometheusImage.repoDigest,
                        init: true,
                        volumes: [{ volumeName: data.name, containerPath: PROMETHEUS_PATHS.data }],
                        stopTimeout: 30,
                    },
                    opts,
                );
                break;
            }
            default:
                return assertNever(args.role);
        }

        return { name: args.name, role: args.role, address, resource: container, instanceId: container.id };
    }

    /**
     * In the LB, swarm node and Prometheus images the only daemon that reads a file of its own is the Consul
     * agent, whose supervisor chowns its config directory to `consul` before starting it
     * (images/consul-agent/consul-agent-supervise): any other owner would silently stay root.
     */
    private checkAgentOwnedFiles(node: string, owned: readonly NodeFile[]): void {
        for (const f of owned) {
            if (f.owner !== "consul" || !f.path.startsWith(NODE_AGENT_CONFIG_DIR)) {
                throw new Error(
                    `local platform: ${node}: ${f.path} is to be owned by ${f.owner}, but this node's image makes only files under ${NODE_AGENT_CONFIG_DIR} consul's`,
                );
            }
        }
    }

    /**
     * Shell lines that fill `secretEnv` variables from other nodes' engines at run time; the value goes
     * engine → host shell variable → `docker exec -e NAME`: never in argv, state or logs.
     */
    private secretEnvLines(name: string, secretEnv: RunScriptArgs["secretEnv"]): { lines: string[]; flags: string[] } {
        const lines: string[] = [];
        const flags: string[] = [];
        for (const [variable, source] of Object.entries(secretEnv ?? {})) {
            const candidates = source.nodes.map((n) => this.containerName(n.name)).join(" ");
            lines.push(
                ONE_CANDIDATE_IS_A_LIST,
                `${variable}=$(for c in ${candidates}; do docker exec "$c" sh -c ${shellQuote(source.command)} 2>/dev/null && break; done || true)`,
            );
            if (source.optional !== true) {
                lines.push(
                    `[ -n "$${variable}" ] || { echo "${name}: could not read ${variable} from any of: ${candidates}" >&2; exit 1; }`,
                );
            }
            lines.push(`export ${variable}`);
            flags.push(`-e ${variable}`);
        }
        return { lines, flags };
    }

    /**
     * Runs `script` on the first of `nodes` on which it succeeds (a candidate that is itself leaving —
     * a manager being demoted in its own group's roll — fails the script: the next one is tried);
     * `|| true`: a failure must not wedge a delete.
     */
    private onFirstAnswering(nodes: readonly PlatformNode[], script: string): string {
        if (nodes.length === 0) return "true";
        const containers = nodes.map((n) => this.containerName(n.name)).join(" ");
        return [
            ONE_CANDIDATE_IS_A_LIST,
            `for c in ${containers}; do docker exec "$c" true 2>/dev/null || continue; docker exec "$c" sh -c ${shellQuote(script)} && break; done || true`,
        ].join("\n");
    }

    runScript(name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
        const target = this.containerName(args.node.name);
        const env = this.secretEnvLines(name, args.secretEnv);
        const lines = ["set -eu", ...env.lines, `exec docker exec -i ${[...env.flags, target].join(" ")} sh -s`];
        // Deletion is best effort: the node may already be gone, and a failed delete must not wedge the stack.
        const others = (nodes: readonly PlatformNode[]) => nodes.filter((n) => n.name !== args.node.name);
        const deleteLines: string[] = [];
        if (args.drain !== undefined) deleteLines.push(this.onFirstAnswering(others(args.drain.nodes), args.drain.script));
        if (args.deleteScript !== undefined) deleteLines.push(`docker exec ${target} sh -c ${shellQuote(args.deleteScript)} || true`);
        if (args.cleanup !== undefined) deleteLines.push(this.onFirstAnswering(others(args.cleanup.nodes), args.cleanup.script));
        // @pulumi/command 1.x: with no `update`, a change of `create`/`stdin` re-runs `create` in place
        // (every script is idempotent); a change of `triggers` (the node replaced) REPLACES the command,
        // and because the node's container is replaced delete-first, the engine deletes this command
        // — running its delete lines — before the container goes (see tests/harness/engine.ts).
        const run = new command.local.Command(
            name,
            {
                create: lines.join("\n"),
                stdin: args.script,
                delete: deleteLines.length > 0 ? deleteLines.join("\n") : undefined,
                triggers: [args.node.instanceId, ...(args.triggers ?? [])],
            },
            {
                parent,
                dependsOn: [args.node.resource, ...(args.dependsOn ?? [])],
                // A replacement never runs the old copy's delete (leave the swarm, …) AFTER the new copy
                // ran: when the node was recreated underneath (`up --refresh` after the containers were
                // lost), a create-before-delete would make the NEW node leave at the end of the update.
                deleteBeforeReplace: true,
            },
        );
        return { resource: run, stdout: run.stdout };
    }

    requireDeployedMarks(name: string, check: DeployedMarksCheck, parent: pulumi.Resource): pulumi.Output<pulumi.Resource> {
        const containers = check.nodes.map((n) => ({ ...n, container: this.containerName(n.name) }));
        // Reads every container's label once (a stopped container counts; one not there yet passes)
        // and refuses as deployedMarksRefusal words it. Runs when the rule changes (the desired value
        // moved): a command runs at `up`, not in preview, and every node it guards waits for it.
        const create = [
            "set -eu",
            `deployed=$(docker ps -a --format ${shellQuote(`{{.Names}} {{.Label ${JSON.stringify(markLabel(check.key))}}}`)})`,
            "offending=''",
            "# check CONTAINER NODE ALLOWED...: an allowed mark, or the container does not exist",
            "check() {",
            "  container=$1 node=$2",
            "  shift 2",
            `  line=$(printf '%s\\n' "$deployed" | awk -v c="$container" '$1 == c { print "found " $2 }')`,
            '  [ -n "$line" ] || return 0',
            "  mark=${line#found }",
            '  for allowed in "$@"; do [ "$mark" = "$allowed" ] && return 0; done',
            '  offending="$offending  $node: ${mark:-(none)}\n"',
            "}",
            ...containers.map((n) => `check ${n.container} ${n.name} ${n.allowed.map((a) => shellQuote(a)).join(" ")}`),
            '[ -z "$offending" ] && exit 0',
            `printf '%s\\n' ${shellQuote(check.refusal)} ${shellQuote(`Nodes as they run now (${check.key}):`)} >&2`,
            `printf '%s' "$offending" >&2`,
            "exit 1",
        ].join("\n");
        const run = new command.local.Command(name, { create, triggers: [JSON.stringify(check)] }, { parent });
        return run.stdout.apply(() => run);
    }

    runClusterScript(name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
        const containers = args.nodes.map((n) => this.containerName(n.name)).join(" ");
        // `docker exec c true` reads no stdin, so the script on stdin reaches the one `exec` that runs it.
        const create = [
            "set -eu",
            ONE_CANDIDATE_IS_A_LIST,
            `for c in ${containers}; do`,
            '  docker exec "$c" true 2>/dev/null && exec docker exec -i "$c" sh -s',
            "done",
            `echo "${name}: none of ${containers} answers" >&2`,
            "exit 1",
        ].join("\n");
        const run = new command.local.Command(
            name,
            {
                create,
                // An explicit `update`: a changed script runs again in place — never a replacement, whose
                // delete at the end of the update would undo what the new script just did.
                update: create,
                stdin: args.script,
                delete: args.deleteScript === undefined ? undefined : this.onFirstAnswering(args.nodes, args.deleteScript),
                // An input like any other: a change is an update, which re-runs the script.
                environment: { SWARM_PLATFORM_REAPPLY_ON: pulumi.all(args.reapplyOn ?? []).apply((values) => values.join(" ")) },
            },
            // Stacks created before cluster scripts existed stored `triggers` on these commands; a
            // triggers change REPLACES a command (the SDK sets replaceOnChanges: ["triggers[*]"]) and
            // the old copy's delete — removing the service — would run at the end of the update.
            // Ignoring the stored value keeps that upgrade, and every later change, an in-place update.
            { parent, dependsOn: args.dependsOn, ignoreChanges: ["triggers"] },
        );
        return { resource: run, stdout: run.stdout };
    }

    buildImage(args: ImageBuildArgs): BuiltImage {
        const image = new docker.Image(
            `${this.platformName}-${args.name}-image`,
            {
                imageName: `swarm-platform/${args.name}:${args.tag}`,
                build: {
                    context: REPO_ROOT,
                    dockerfile: path.join(REPO_ROOT, args.dockerfile),
                    args: { ...(args.buildArgs ?? {}) },
                    platform: "linux/amd64",
                },
                skipPush: true,
            },
            { parent: this, aliases: args.formerParent === undefined ? [] : [{ parent: args.formerParent }] },
        );
        return {
            name: args.name,
            ref: image.imageName,
            digest: image.repoDigest,
            resource: image,
            inRegistry: false,
            formerParent: args.formerParent,
        };
    }

    loadImage(image: BuiltImage, node: PlatformNode, dependsOn: pulumi.Input<pulumi.Resource>[], parent: pulumi.Resource): pulumi.Resource {
        // No registry: `docker save` on this machine, `docker load` inside the node. A load unpacks the
        // whole image on the CPU the node's tasks share: the caller runs one load at a time (the swarm
        // system test measured 191 of 3700 requests failing with all nodes loading at once).
        const container = this.containerName(node.name);
        return new command.local.Command(
            `${node.name}-${image.name}-image`,
            {
                // Through scripts/rate-limit.js (relative: a command runs in the project directory) and at
                // the lowest CPU weight: at full speed and weight the unpacking starved the tasks and LB
                // nodes of CPU. The weight comes back whether or not the load succeeds; the exit status
                // is the load's.
                create: pulumi.interpolate`docker update --cpu-shares ${IMAGE_LOAD_CPU_SHARES} ${container} >/dev/null && { docker save ${image.ref} | node scripts/rate-limit.js ${IMAGE_LOAD_MB_PER_SECOND} | docker exec -i ${container} docker load -q; loaded=$?; docker update --cpu-shares ${NODE_CPU_SHARES} ${container} >/dev/null && exit $loaded; }`,
                // repoDigest of a local build is its image ID: a rebuild with new content loads again.
                triggers: [image.digest, node.instanceId],
            },
            {
                parent,
                dependsOn: [node.resource, image.resource, ...dependsOn],
                aliases: formerName(image.formerParent, `${image.name}-image-${node.name}`),
            },
        );
    }

    /**
     * The edge's certificate: a CA of this stack and a leaf it signs for the names clients use
     * (localhost, 127.0.0.1, the bind address, the edge's own address on the network). Keys are ECDSA
     * P-256 and stay Pulumi secrets (the provider marks `privateKeyPem` secret; so does this). The
     * leaf lives a year and the CA ten; within `earlyRenewalHours` of the end a `pulumi up` replaces
     * it (the provider's readyForRenewal), which replaces the edge with the new one (README: HTTPS).
     * A LocallySignedCert takes its subject and SANs from the request
     * (https://registry.terraform.io/providers/hashicorp/tls/latest/docs/resources/locally_signed_cert).
     */
    private edgeCertificate(name: string): { pem: pulumi.Output<string>; caCertPem: pulumi.Output<string> } {
        const child = { parent: this };
        const prefix = `${this.platformName}-${name}`;
        const ca = selfSignedCa(
            prefix,
            {
                subject: { commonName: `${this.args.namePrefix}edge CA`, organization: "swarm-platform" },
                validityPeriodHours: EDGE_CERT_HOURS.ca,
                earlyRenewalHours: EDGE_CERT_HOURS.caRenewal,
                allowedUses: ["cert_signing", "crl_signing"],
            },
            child,
        );
        const bind = this.args.edge.bindAddress;
        const addresses = [...new Set(["127.0.0.1", ...(bind === "0.0.0.0" ? [] : [bind]), this.args.plan.edge])];
        const cert = signedCertificate(
            prefix,
            ca,
            {
                subject: { commonName: "localhost" },
                dnsNames: ["localhost"],
                ipAddresses: addresses,
                validityPeriodHours: EDGE_CERT_HOURS.leaf,
                earlyRenewalHours: EDGE_CERT_HOURS.leafRenewal,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            child,
        );
        // HAProxy's `crt` reads the certificate and its key from one PEM file.
        return { pem: pulumi.secret(pulumi.interpolate`${cert.certPem}${cert.keyPem}`), caCertPem: ca.certPem };
    }

    ingress<L extends ListenerName>(name: string, listeners: readonly IngressListener<L>[]): Ingress<L> {
        const edge = this.args.edge;
        // The public listener (the web service) is HTTPS on the host, with plain HTTP redirected to it,
        // as the prod ALB does; the others (stats, Consul UI) stay plain HTTP on the bind address.
        const published = listeners.filter((l) => l.public === true);
        if (published.length > 1) {
            throw new Error(`local platform: the edge serves one listener over HTTPS, got ${published.map((l) => l.name).join(", ")}`);
        }
        const certificate = published.length > 0 ? this.edgeCertificate(name) : undefined;
        const bindPort = (l: IngressListener<L>) => (l.public === true ? EDGE_TLS_PORTS.https : l.port);
        // Upstreams that require a client certificate (the Consul API in `consul.tls enforce`): the
        // CA and the client certificate go into the edge, 0600 (HAProxy reads them as root at start).
        const upstreamFiles = (l: IngressListener<L>) => ({
            ca: `/etc/haproxy/${l.name}-ca.pem`,
            crt: `/etc/haproxy/${l.name}-client.pem`,
        });
        const config = renderEdgeConfig({
            listeners: listeners.map((l) => ({
                name: l.name,
                bindPort: bindPort(l),
                upstreams: l.upstreams,
                check: l.check,
                upstreamTls:
                    l.upstreamTls === undefined
                        ? undefined
                        : { caFile: upstreamFiles(l).ca, crtFile: upstreamFiles(l).crt, verifyHost: l.upstreamTls.serverName },
                tls:
                    l.public === true
                        ? { crtPath: EDGE_CERT_PATH, redirect: { bindPort: EDGE_TLS_PORTS.http, httpsPort: edge.hostPorts[l.name] } }
                        : undefined,
            })),
        });
        const ports = [
            ...listeners.map((l) => ({ internal: bindPort(l), external: edge.hostPorts[l.name], ip: edge.bindAddress, protocol: "tcp" })),
            ...(published.length > 0
                ? [{ internal: EDGE_TLS_PORTS.http, external: edge.httpPort, ip: edge.bindAddress, protocol: "tcp" }]
                : []),
        ];
        const container = new docker.Container(
            `${this.platformName}-${name}`,
            {
                name: this.containerName(name),
                hostname: name,
                // The LB image's entrypoint runs a given command as is: HAProxy alone, no keepalived.
                image: this.lbImage.repoDigest,
                command: ["haproxy", "-W", "-db", "-f", "/etc/haproxy/edge.cfg"],
                // The image's HEALTHCHECK probes the LB frontend, which the edge does not have.
                healthcheck: { tests: ["NONE"] },
                init: true,
                networksAdvanced: this.networkAttachment(name, this.args.plan.edge),
                uploads: [
                    { file: "/etc/haproxy/edge.cfg", content: config, permissions: "0644" },
                    // The key: readable by root only (HAProxy reads it before it drops to its user).
                    ...(certificate === undefined ? [] : [{ file: EDGE_CERT_PATH, content: certificate.pem, permissions: "0600" }]),
                    ...listeners.flatMap((l) =>
                        l.upstreamTls === undefined
                            ? []
                            : [
                                  { file: upstreamFiles(l).ca, content: l.upstreamTls.caCertificate, permissions: "0600" },
                                  { file: upstreamFiles(l).crt, content: l.upstreamTls.clientCertificate, permissions: "0600" },
                              ],
                    ),
                ],
                ports,
                destroyGraceSeconds: 10,
                restart: "unless-stopped",
                logOpts: { "max-size": "10m", "max-file": "3" },
                ...limits(edge.resources),
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: listeners.flatMap((l) => l.dependsOn ?? []) },
        );
        const host = edge.bindAddress === "0.0.0.0" ? "localhost" : edge.bindAddress;
        const urls = Object.fromEntries(
            listeners.map((l) => [l.name, pulumi.output(`${l.public === true ? "https" : "http"}://${host}:${edge.hostPorts[l.name]}`)]),
        );
        return { urls: urls as Record<L, pulumi.Output<string>>, resources: [container], caCertificate: certificate?.caCertPem };
    }
}
