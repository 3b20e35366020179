// The stack's topology, read off the program's resource graph (as recorded under Pulumi's mock
// runtime by tests/harness/program.ts): nodes by role and zone, the ingress (local edge or cloud
// load balancer), the VIP, and the flows between them. Pure: no Pulumi, no I/O.
import { decodeStoredText } from "../../render/storedForm";
import { LB_NODE_PATHS } from "../../render/lbNode";

/** The slice of a recorded resource the diagram reads. */
export interface GraphResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly dependencies: readonly string[];
    readonly inputs: Record<string, any>;
}

export interface ProgramGraph {
    readonly stack: string;
    readonly resources: readonly GraphResource[];
    readonly outputs: Record<string, any>;
}

export type Role = "lb" | "swarm-manager" | "swarm-worker" | "consul-server";
export const ROLES: readonly Role[] = ["lb", "swarm-manager", "swarm-worker", "consul-server"];

export interface TopologyNode {
    readonly name: string;
    readonly role: Role;
    readonly address: string;
    readonly zone: string;
    /** A Consul client agent runs beside it. */
    readonly consulAgent: boolean;
    /** e.g. "t3.small", "0.5 CPU / 256 MiB". */
    readonly size: string;
}

export interface Listener {
    readonly name: string;
    /** Where clients connect, e.g. "127.0.0.1:8080" or ":80". */
    readonly bind: string;
    /** Target node names, or "vip". */
    readonly targets: readonly string[];
    /** Port the targets listen on. */
    readonly targetPort?: number;
    readonly note?: string;
}

export interface Topology {
    readonly stack: string;
    readonly platform: "local" | "aws";
    /** The nodes' network, e.g. "Docker network 10.77.0.0/24" or "VPC 10.20.0.0/16". */
    readonly network: string;
    /** Zones in order (one, "local engine", on the local platform). */
    readonly zones: readonly string[];
    readonly nodes: readonly TopologyNode[];
    readonly ingress: { readonly kind: string; readonly name: string; readonly listeners: readonly Listener[] };
    readonly vip: { readonly address: string; readonly mechanism: string };
    /** keepalived unicast peers: [node, peer]. */
    readonly vrrpPeers: readonly (readonly [string, string])[];
    readonly web: { readonly replicas: number; readonly version: string; readonly discovery: string; readonly placement: string };
    readonly quorum: {
        readonly consulServers: number;
        readonly consulTolerates: number;
        readonly managers: number;
        readonly managersTolerate: number;
    };
}

const CONTAINER = "docker:index/container:Container";
const INSTANCE = "aws:ec2/instance:Instance";
const SUBNET = "aws:ec2/subnet:Subnet";
const SSM_PARAMETER = "aws:ssm/parameter:Parameter";

function roleOf(r: GraphResource): Role | undefined {
    if (r.type !== CONTAINER && r.type !== INSTANCE) return undefined;
    const tag = r.inputs.tags?.["swarm-platform:role"];
    const role = typeof tag === "string" ? tag : /^(consul-server|swarm-manager|swarm-worker|lb)-\d+$/.exec(r.name)?.[1];
    return ROLES.find((x) => x === role);
}

/** Content of a file a node receives: a container upload (local) or an SSM parameter (aws). */
export function nodeFile(graph: ProgramGraph, node: string, file: string): string | undefined {
    for (const r of graph.resources) {
        if (r.type === CONTAINER && r.name === node) {
            const upload = (r.inputs.uploads ?? []).find((u: { file: string }) => u.file === file);
            if (upload) return String(upload.content);
        }
        if (r.type === SSM_PARAMETER && r.inputs.description === `${node}:${file}`) return decodeStoredText(String(r.inputs.value));
    }
    return undefined;
}

const byOrder = (a: TopologyNode, b: TopologyNode) =>
    ROLES.indexOf(a.role) - ROLES.indexOf(b.role) || a.name.localeCompare(b.name, "en", { numeric: true });

export function topologyOf(graph: ProgramGraph): Topology {
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    const platform = graph.resources.some((r) => r.type === INSTANCE) ? "aws" : "local";
    const localZone = "local Docker engine";

    const zoneOf = (r: GraphResource): string => {
        const subnet = r.dependencies.map((d) => byUrn.get(d)).find((d) => d?.type === SUBNET);
        return subnet?.inputs.availabilityZone ?? localZone;
    };
    const nodes: TopologyNode[] = graph.resources
        .flatMap((r) => {
            const role = roleOf(r);
            if (!role) return [];
            const address = r.type === INSTANCE ? r.inputs.privateIp : r.inputs.networksAdvanced?.[0]?.ipv4Address;
            const size = r.type === INSTANCE ? String(r.inputs.instanceType) : `${r.inputs.cpus} CPU / ${r.inputs.memory} MiB`;
            const consulAgent = role !== "consul-server" && nodeFile(graph, r.name, "/consul/config/client.json") !== undefined;
            return [{ name: r.name, role, address: String(address ?? "?"), zone: zoneOf(r), consulAgent, size }];
        })
        .sort(byOrder);
    const zones = [...new Set(nodes.map((n) => n.zone))].sort();
    const nodeByAddress = new Map(nodes.map((n) => [n.address, n.name]));
    const vipAddress = String(graph.outputs.vip ?? "");

    // keepalived: each LB node's unicast peers.
    const vrrpPeers: [string, string][] = [];
    for (const lb of nodes.filter((n) => n.role === "lb")) {
        const conf = nodeFile(graph, lb.name, LB_NODE_PATHS.keepalivedConfig) ?? "";
        const peers = /unicast_peer\s*\{([^}]*)\}/.exec(conf)?.[1].split(/\s+/).filter(Boolean) ?? [];
        for (const peer of peers) {
            const name = nodeByAddress.get(peer);
            if (name && lb.name < name) vrrpPeers.push([lb.name, name]);
        }
    }

    let ingress: Topology["ingress"];
    let network: string;
    if (platform === "aws") {
        const vpc = graph.resources.find((r) => r.type === "aws:ec2/vpc:Vpc");
        network = `VPC ${vpc?.inputs.cidrBlock ?? "?"}, nodes in private subnets`;
        const lb = graph.resources.find((r) => r.type === "aws:lb/loadBalancer:LoadBalancer");
        const kinds: Record<string, string> = { network: "NLB", application: "ALB" };
        // By port, so the picture does not follow the order the runtime registered them in.
        const listeners = graph.resources
            .filter((r) => r.type === "aws:lb/listener:Listener" && r.dependencies.includes(lb?.urn ?? ""))
            .sort((a, b) => Number(b.inputs.port) - Number(a.inputs.port));
        const groups = graph.resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup");
        const attachments = graph.resources.filter((r) => r.type === "aws:lb/targetGroupAttachment:TargetGroupAttachment");
        ingress = {
            kind: `${kinds[lb?.inputs.loadBalancerType] ?? "load balancer"}${lb?.inputs.internal === false ? ", internet-facing" : ""}`,
            name: lb?.name ?? "load balancer",
            listeners: listeners.map((l) => {
                const group = groups.find((g) => l.dependencies.includes(g.urn));
                const targets = attachments
                    .filter((a) => group && a.dependencies.includes(group.urn))
                    .map((a) => nodeByAddress.get(a.inputs.targetId) ?? a.inputs.targetId);
                const health = group?.inputs.healthCheck;
                const redirect = (l.inputs.defaultActions ?? []).find((a: any) => a.type === "redirect")?.redirect;
                if (redirect !== undefined)
                    return {
                        name: `${l.inputs.protocol} :${l.inputs.port}`,
                        bind: `:${l.inputs.port}`,
                        targets: [],
                        note: `redirect to ${redirect.protocol} :${redirect.port}`,
                    };
                return {
                    name: `${l.inputs.protocol} :${l.inputs.port}`,
                    bind: `:${l.inputs.port}`,
                    targets,
                    targetPort: group?.inputs.port,
                    note: health ? `health ${health.protocol} ${health.path}` : undefined,
                };
            }),
        };
    } else {
        const net = graph.resources.find((r) => r.type === "docker:index/network:Network");
        network = `Docker network ${net?.inputs.ipamConfigs?.[0]?.subnet ?? "?"}`;
        // The container that publishes ports is the edge; its config names each listener's upstreams.
        const edge = graph.resources.find((r) => r.type === CONTAINER && (r.inputs.ports ?? []).length > 0);
        const config = String(edge?.inputs.uploads?.[0]?.content ?? "");
        const ports: { internal: number; external: number; ip: string }[] = edge?.inputs.ports ?? [];
        const listeners: Listener[] = [];
        for (const block of config.split(/^listen /m).slice(1)) {
            const name = block.split(/\s/)[0];
            const bindPort = Number(/bind :(\d+)/.exec(block)?.[1]);
            const published = ports.find((p) => p.internal === bindPort);
            const servers = [...block.matchAll(/^\s*server \S+ ([\d.]+):(\d+)/gm)];
            // server-template over a name the members share (a network alias): every container carrying it.
            const groups = [...block.matchAll(/^\s*server-template \S+ \d+ ([\w.-]+):(\d+)/gm)];
            const members = (alias: string) =>
                graph.resources
                    .filter(
                        (r) =>
                            r.type === CONTAINER && (r.inputs.networksAdvanced ?? []).some((n: any) => (n.aliases ?? []).includes(alias)),
                    )
                    .map((r) => r.name);
            const targets = [
                ...servers.map((m) => (m[1] === vipAddress ? "vip" : (nodeByAddress.get(m[1]) ?? m[1]))),
                ...groups.flatMap((m) => members(m[1])),
            ];
            const targetPort = [...servers, ...groups].length > 0 ? Number([...servers, ...groups][0][2]) : undefined;
            listeners.push({ name, bind: published ? `${published.ip}:${published.external}` : `:${bindPort}`, targets, targetPort });
        }
        ingress = { kind: "edge: HAProxy, TCP (stand-in for the ELB)", name: edge?.name ?? "edge", listeners };
    }

    const deploy =
        graph.resources.find((r) => r.name === "web-deploy")?.inputs.stdin ??
        (decodeStoredText(
            String(graph.resources.find((r) => r.type === SSM_PARAMETER && r.name === "web-deploy-script")?.inputs.value ?? ""),
        ) ||
            "");
    const constraint = /'node\.role==(\w+)'/.exec(String(deploy))?.[1];
    const quorum = graph.outputs.quorum ?? {};
    return {
        stack: graph.stack,
        platform,
        network,
        zones: zones.length > 0 ? zones : [localZone],
        nodes,
        ingress,
        vip: {
            address: vipAddress,
            mechanism:
                platform === "aws" ? "overlay VIP for internal clients:\n/32 route to the MASTER" : "keepalived VRRP: held by the MASTER",
        },
        vrrpPeers,
        web: {
            replicas: Number(graph.outputs.webReplicas ?? 0),
            version: String(graph.outputs.webVersion ?? "?"),
            discovery: "Consul DNS SRV _web._tcp",
            placement: constraint ? `${constraint}s` : "swarm nodes",
        },
        quorum: {
            consulServers: Number(quorum.consulServers ?? 0),
            consulTolerates: Number(quorum.consulFailuresTolerated ?? 0),
            managers: Number(quorum.swarmManagers ?? 0),
            managersTolerate: Number(quorum.swarmManagerFailuresTolerated ?? 0),
        },
    };
}
