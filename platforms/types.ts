// The small interface every platform implements. Components describe WHAT a node is (role, files,
// limits, the Consul agent beside it); platforms decide HOW it exists (a container on the local
// engine, an EC2 instance). No component ever asks which platform it is on.
import * as pulumi from "@pulumi/pulumi";
import { ResourceLimits } from "../components/contracts";

export type { ResourceLimits } from "../components/contracts";

/** What a node does. Platforms switch on this exhaustively (see `assertNever`). */
export type NodeRole = "consul-server" | "swarm-manager" | "swarm-worker" | "lb" | "monitoring";

/** A file a node needs before it starts (configs, scripts). */
export interface NodeFile {
    /** Absolute path on the node. */
    readonly path: string;
    /** File content; pass a secret Output when it holds secrets, it stays secret. */
    readonly content: pulumi.Input<string>;
    /** Octal mode string, e.g. "0600". A file that holds a secret is 0600 or 0400. */
    readonly mode: string;
    /**
     * The user (by name) of the daemon that reads the file: the platform makes the file theirs
     * before the daemon starts, so a secret file (mode 0600) is readable by that daemon alone.
     * Defaults to root.
     */
    readonly owner?: string;
}

export interface NodeArgs {
    readonly role: NodeRole;
    /** Node name, unique in the stack and stable forever: "consul-server-0", "swarm-worker-3", "lb-1". */
    readonly name: string;
    /** Which node of its role this is (0, 1, …): it gets that node's fixed address (see Platform.nodeAddress). */
    readonly index: number;
    readonly files: readonly NodeFile[];
    readonly resources: ResourceLimits;
    /** When set, a Consul client agent runs beside the node (sharing its network) with these files. */
    readonly consulAgent?: ConsulAgentSpec;
    /** Extra dependencies (e.g. a node may only start once the Consul ACLs exist). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Facts about how the node was made, kept on the running node where an update can read them
     * before it touches the node (local: container labels; AWS: instance tags) — see
     * Platform.requireDeployedMarks. A mark belongs to the node's definition: changing one replaces
     * the node, so set one only where the node's files change with it.
     */
    readonly marks?: Readonly<Record<string, string>>;
}

/** A Consul client agent beside a node: its files, limits, and what it adds to the node. */
export interface ConsulAgentSpec {
    readonly files: readonly NodeFile[];
    readonly resources: ResourceLimits;
    /** Marks for the node (NodeArgs.marks). */
    readonly marks?: Readonly<Record<string, string>>;
    /** Dependencies for the node (NodeArgs.dependsOn). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** A node's marks and dependencies with its agent's added: what a platform applies to the node. */
export function nodeMarksAndDependencies(args: NodeArgs): {
    marks: Record<string, string>;
    dependsOn: pulumi.Input<pulumi.Resource>[];
} {
    return {
        marks: { ...(args.marks ?? {}), ...(args.consulAgent?.marks ?? {}) },
        dependsOn: [...(args.dependsOn ?? []), ...(args.consulAgent?.dependsOn ?? [])],
    };
}

/**
 * Marks (NodeArgs.marks) that the nodes must carry as they run now, before this update may touch
 * them: how an update refuses a change that is safe only in steps (consul.tls) before anything is
 * replaced, whatever config the stack had before.
 */
export interface DeployedMarksCheck {
    /** The mark's key. */
    readonly key: string;
    /**
     * Per node (by name): the values its mark may have now; "" is a node without the mark. A node that
     * does not exist yet passes.
     */
    readonly nodes: readonly { readonly name: string; readonly allowed: readonly string[] }[];
    /** The refusal's text: names the config key, the value and the rule; the offending nodes follow. */
    readonly refusal: string;
}

/** The refusal for a check, given each existing node's mark ("" = none); undefined when all pass. */
export function deployedMarksRefusal(check: DeployedMarksCheck, deployed: ReadonlyMap<string, string>): string | undefined {
    const offending = check.nodes.flatMap((node) => {
        const mark = deployed.get(node.name);
        return mark === undefined || node.allowed.includes(mark) ? [] : [`  ${node.name}: ${mark === "" ? "(none)" : mark}`];
    });
    return offending.length === 0 ? undefined : [check.refusal, `Nodes as they run now (${check.key}):`, ...offending].join("\n");
}

/** A node as the components see it. */
export interface PlatformNode {
    readonly name: string;
    readonly role: NodeRole;
    readonly address: string;
    /** The resource whose replacement means "this node was replaced" (scripts re-run on it). */
    readonly resource: pulumi.Resource;
    /** A value that changes whenever the node is replaced. */
    readonly instanceId: pulumi.Output<string>;
}

/** A value read on one node and handed to a script on another without passing through Pulumi. */
export interface RemoteSecret {
    /** Tried in order until one answers. */
    readonly nodes: readonly PlatformNode[];
    /** Command run on the node; its stdout (trimmed) is the value. */
    readonly command: string;
    /**
     * When no node answers, the variable is empty instead of the script failing (the first manager
     * of a new swarm finds no other manager; its replacement later does). Defaults to false.
     */
    readonly optional?: boolean;
}

/**
 * A script bound to one node: it runs once the node is up, re-runs in place when its text changes,
 * and when the node is REPLACED or REMOVED it is deleted first — its delete steps (drain, then
 * `deleteScript` on the node, then `cleanup`) run before the node goes, then it runs again on the
 * replacement. This is how a node leaves its cluster before it goes.
 */
export interface RunScriptArgs {
    /** Where the script runs. */
    readonly node: PlatformNode;
    /** POSIX sh, fed on stdin. May embed secrets (pass a secret Output): it is never logged. */
    readonly script: pulumi.Input<string>;
    /** First delete step: run on the first of these nodes that answers (e.g. drain the node's tasks from a manager); plain text. */
    readonly drain?: { readonly nodes: readonly PlatformNode[]; readonly script: string };
    /** Run on the node before the resource goes away (scale-down, replacement); plain text, no secrets. */
    readonly deleteScript?: string;
    /** Then run on the first of these nodes that answers (e.g. `docker node rm` on a manager). */
    readonly cleanup?: { readonly nodes: readonly PlatformNode[]; readonly script: string };
    /** Environment variables for the script whose values are read from other nodes at run time. */
    readonly secretEnv?: Readonly<Record<string, RemoteSecret>>;
    /** Re-run when any of these change (the node's instanceId is always included). */
    readonly triggers?: pulumi.Input<unknown>[];
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Cluster-wide work (deploying a service): runs on the first of `nodes` that answers, re-runs in
 * place whenever its text changes, and is never re-run or deleted because one of those nodes was
 * replaced. Its `deleteScript` runs only when the script leaves the program (`pulumi destroy`).
 */
export interface ClusterScriptArgs {
    /** Candidates, tried in order. */
    readonly nodes: readonly PlatformNode[];
    /** POSIX sh, fed on stdin; idempotent (it runs again on every change). May embed secrets. */
    readonly script: pulumi.Input<string>;
    /** Run when the resource is deleted for good; plain text, no secrets. */
    readonly deleteScript?: string;
    /**
     * Values whose change re-runs the script in place although its text is the same: what identifies
     * the cluster it configures (a swarm created anew, e.g. after `pulumi up --refresh` found the
     * nodes gone, needs its service again). Defaults to none.
     */
    readonly reapplyOn?: pulumi.Input<string>[];
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface ScriptRun {
    readonly resource: pulumi.Resource;
    /** The script's stdout. Scripts never print secrets. */
    readonly stdout: pulumi.Output<string>;
}

/**
 * The listeners clients reach, by name: the same names on every platform (the local edge has a host
 * port for each, the ingress's URLs are keyed by them).
 */
export type ListenerName = "web" | "stats" | "consul-ui" | "prometheus";

/** A port clients reach, forwarded by the platform's ingress (local edge, cloud load balancer). */
export interface IngressListener<L extends ListenerName = ListenerName> {
    readonly name: L;
    /** Port clients connect to on the ingress. */
    readonly port: number;
    /** Where traffic goes (tried in order of health). */
    readonly upstreams: readonly {
        readonly name: string;
        readonly address: string;
        readonly port: number;
        /** `address` is a name answered with several members (see Platform.roleAddress): up to this many. */
        readonly maxServers?: number;
    }[];
    /** Health-check the upstreams (TCP) and skip dead ones. */
    readonly check: boolean;
    /**
     * What must have run before the platform changes what serves this listener (e.g. the Consul UI's
     * consul.tls step check: an edge must not move to HTTPS for servers that an `up` refuses to touch).
     */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * The upstreams speak HTTPS and verify incoming connections: the ingress checks them against
     * `caCertificate` and `serverName`, and presents `clientCertificate` (certificate and key in one
     * PEM; secret). Absent: plain HTTP.
     */
    readonly upstreamTls?: {
        readonly caCertificate: pulumi.Input<string>;
        readonly clientCertificate: pulumi.Input<string>;
        readonly serverName: string;
    };
    /**
     * Published beyond the platform's private network where the platform has a public entry (AWS:
     * the internet-facing ALB, HTTPS); the others stay internal. Defaults to false.
     */
    readonly public?: boolean;
    /**
     * Nodes that can serve the listener directly, for ingresses that balance active-active
     * instead of following a VIP (the AWS ALB health-checks both HAProxy nodes).
     */
    readonly activeActive?: readonly { readonly name: string; readonly address: string; readonly port: number }[];
}

/** How the platform moves the VIP beyond keepalived adding it to the interface. */
export interface VipFailover {
    /** Files the LB nodes need for it. */
    readonly files: readonly NodeFile[];
    /** keepalived `notify` command, if the platform must act on state changes (e.g. an API call). */
    readonly notifyCommand?: string;
}

/** A DNS record the operator must create (the platform could not: no zone it manages). */
export interface DnsRecord {
    /** Fully qualified name. */
    readonly name: string;
    /** Record type, e.g. "CNAME". */
    readonly type: string;
    readonly value: string;
}

export interface Ingress<L extends ListenerName = ListenerName> {
    /** URL of each listener by name, as a client reaches it. */
    readonly urls: Readonly<Record<L, pulumi.Output<string>>>;
    readonly resources: readonly pulumi.Resource[];
    /** Records to create at the operator's DNS provider for the public listener's name and certificate; undefined when none. */
    readonly dnsRecords?: pulumi.Output<DnsRecord[]>;
    /**
     * PEM of the CA that issued the public listener's certificate, where clients cannot know it already
     * (the dev stack's own CA: `curl --cacert`); undefined where a public CA issued it.
     */
    readonly caCertificate?: pulumi.Output<string>;
}

/** An image the platform builds from `images/` for the swarm's services. */
export interface ImageBuildArgs {
    /** Short name, e.g. "web". */
    readonly name: string;
    /** Dockerfile path relative to the repo root (the build context; see <Dockerfile>.dockerignore). */
    readonly dockerfile: string;
    /** Image tag, e.g. the web version. */
    readonly tag: string;
    readonly buildArgs?: Readonly<Record<string, string>>;
    /**
     * URN of the component that declared this image's resources before (they keep their URNs, so
     * moving the declaration replaces nothing). Defaults to none.
     */
    readonly formerParent?: pulumi.Input<string>;
}

export interface BuiltImage {
    readonly name: string;
    /** The reference swarm nodes run, e.g. "swarm-platform/web:1.2.0". */
    readonly ref: pulumi.Output<string>;
    /** Changes whenever the image's content does (a rebuild under the same tag). */
    readonly digest: pulumi.Output<string>;
    /** Done once the image is built (and pushed where there is a registry). */
    readonly resource: pulumi.Resource;
    /** Whether nodes pull the ref from a registry (else the platform loads it into each node). */
    readonly inRegistry: boolean;
    readonly formerParent?: pulumi.Input<string>;
}

export interface Platform {
    readonly name: string;
    /** Interface name on LB nodes that carries the VIP. */
    readonly vipInterface: string;
    /** Prefix length of the nodes' subnet (the VIP is added with it). */
    readonly vipPrefixLength: number;
    /**
     * The fixed private address of node `index` of a role, from the platform's address plan (the one
     * owner of addresses): known before any node exists, the same for a node's replacement.
     */
    nodeAddress(role: NodeRole, index: number): string;
    /** How a Consul agent finds the servers (`servers` of them). */
    consulRetryJoin(servers: number): string[];
    /**
     * A name on the nodes' network that answers with the address of every node of this role (local:
     * a Docker network alias the nodes share), so what reaches them need not change with their
     * count; undefined where the platform has none.
     */
    roleAddress(role: NodeRole): string | undefined;
    /** Creates a node and (when asked) its Consul agent, as children of `parent`. */
    createNode(args: NodeArgs, parent: pulumi.Resource): PlatformNode;
    /**
     * Reads the marks of the nodes as they run now and refuses the update (deployedMarksRefusal)
     * unless each is allowed. Nodes that depend on the result are touched only after it passed; the
     * result fails with the refusal (a stack output made from it fails the update with that message).
     * Local: a command at `up` (not in preview); AWS: a read of the instances' tags, in preview too.
     */
    requireDeployedMarks(name: string, check: DeployedMarksCheck, parent: pulumi.Resource): pulumi.Output<pulumi.Resource>;
    /** Runs a script on a node once it is up, and again whenever the node is replaced or triggers change. */
    runScript(name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun;
    /** Runs cluster-wide work on any node of a set that answers; updated in place, never re-run for a node's replacement. */
    runClusterScript(name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun;
    /** Builds an app image (owned by the platform: nodes and services only refer to it). */
    buildImage(args: ImageBuildArgs): BuiltImage;
    /**
     * Puts a built image on a node, after `dependsOn`; re-runs when the image or the node changes.
     * Undefined where nodes pull from a registry themselves.
     */
    loadImage(
        image: BuiltImage,
        node: PlatformNode,
        dependsOn: pulumi.Input<pulumi.Resource>[],
        parent: pulumi.Resource,
    ): pulumi.Resource | undefined;
    /** What moves the VIP on this platform (local: nothing beyond keepalived's gratuitous ARP). */
    vipFailover(vip: string): VipFailover;
    /** Exposes listeners to clients (local: the edge container on the host; AWS: the ELB). Owned by the platform. */
    ingress<L extends ListenerName>(name: string, listeners: readonly IngressListener<L>[]): Ingress<L>;
}

export { assertNever } from "../config/schema";
