// The SwarmCluster contract: its defaults, its argument rules, and the ports a swarm node's own
// services listen on (other components keep clear of them).
import * as ipaddr from "ipaddr.js";
import { CONSUL_PORTS } from "../../render/consul";
import { DEFAULT_DAEMON_ADDRESS_POOLS, DEFAULT_SWARM_ADDRESS_POOL, SWARM_PORTS } from "../../render/swarm";
import { check, Issue, KeyNames, LIMITS, limitsIssues, ODD_QUORUM, ownKeys, present, ResourceLimits, wholeAtLeast } from "./common";

export const SWARM_CLUSTER_DEFAULTS = {
    managers: 3,
    workers: 2,
    nodeResources: { cpus: 1, memoryMb: 1024 },
    /** 0: the join tokens the swarm was created with; each increase rotates them once. */
    joinTokenRotation: 0,
} as const;

export const SWARM_CLUSTER_RULES = {
    managers: ODD_QUORUM,
    workers: wholeAtLeast(0),
    nodeResources: LIMITS,
    joinTokenRotation: wholeAtLeast(0),
} as const;

/** Ports a swarm node's own services listen on: its engine's swarm ports and its Consul agent's. */
export const SWARM_NODE_SERVICE_PORTS: readonly { readonly port: number; readonly what: string }[] = [
    { port: SWARM_PORTS.management, what: "Swarm cluster management" },
    { port: SWARM_PORTS.gossip, what: "Swarm gossip" },
    { port: SWARM_PORTS.overlay, what: "Swarm overlay (VXLAN)" },
    { port: CONSUL_PORTS.serverRpc, what: "Consul server RPC" },
    { port: CONSUL_PORTS.serfLan, what: "Consul LAN gossip" },
    { port: CONSUL_PORTS.serfLan + 1, what: "Consul WAN gossip" },
    { port: CONSUL_PORTS.http, what: "Consul HTTP API" },
    { port: CONSUL_PORTS.dns, what: "Consul DNS" },
];

/**
 * The address pools a swarm node's engine allocates from (render/swarm.ts): Swarm's overlay networks
 * and the engine's own bridges. The nodes' subnet must not overlap them (the renderers refuse it).
 */
export const SWARM_ADDRESS_POOLS: readonly { readonly cidr: string; readonly what: string }[] = [
    ...DEFAULT_SWARM_ADDRESS_POOL.cidrs.map((cidr) => ({ cidr, what: "Swarm's overlay networks" })),
    ...DEFAULT_DAEMON_ADDRESS_POOLS.map((p) => ({ cidr: p.base, what: "each swarm node engine's bridge networks" })),
];

/** The issue of a nodes' subnet (a valid IPv4 CIDR) that overlaps a swarm address pool, else undefined. */
export function subnetPoolIssue(key: string, subnet: string): Issue | undefined {
    const [net, prefix] = ipaddr.IPv4.parseCIDR(subnet);
    const pool = SWARM_ADDRESS_POOLS.find((p) => {
        const [poolNet, poolPrefix] = ipaddr.IPv4.parseCIDR(p.cidr);
        // Two CIDRs overlap when they agree on the shorter prefix.
        return net.match(poolNet, Math.min(prefix, poolPrefix));
    });
    return pool === undefined
        ? undefined
        : { key, value: subnet, rule: `overlaps ${pool.cidr}, the address pool of ${pool.what}: pick a range outside it` };
}

/** The arguments the rules look at, defaults resolved. */
export interface SwarmClusterSettings {
    readonly managers: number;
    readonly workers: number;
    readonly nodeResources: ResourceLimits;
    /** Optional for callers that predate rotation: the default then applies. */
    readonly joinTokenRotation?: number;
}

export function swarmClusterIssues(s: SwarmClusterSettings, key: KeyNames = ownKeys): Issue[] {
    const r = SWARM_CLUSTER_RULES;
    return present([
        check(key("managers"), s.managers, r.managers),
        check(key("workers"), s.workers, r.workers),
        ...limitsIssues(key("nodeResources"), s.nodeResources),
        check(key("joinTokenRotation"), s.joinTokenRotation ?? SWARM_CLUSTER_DEFAULTS.joinTokenRotation, r.joinTokenRotation),
    ]);
}
