// The node address plan: every node's private address is fixed by its role and index, so configs
// that name peers (keepalived unicast peers, Consul retry_join, HAProxy edge upstreams) are known
// before any node exists and never change when a node is replaced.
import * as ipaddr from "ipaddr.js";

/** Host offsets inside the subnet. Groups are 10 apart; quorum groups hold at most 7. */
export const HOST_OFFSETS = {
    gateway: 1,
    edge: 2,
    monitoring: 5,
    lb: 11,
    consulServers: 20,
    managers: 30,
    workers: 40,
} as const;

/** What every platform's plan gives the components: one fixed private address per node. */
export interface AddressPlan {
    readonly vip: string;
    readonly lb: readonly [string, string];
    /** The Prometheus node. */
    readonly monitoring: string;
    readonly consulServers: readonly string[];
    readonly managers: readonly string[];
    readonly workers: readonly string[];
}

/** local: one Docker network; the VIP is a host of it. */
export interface LocalAddressPlan extends AddressPlan {
    readonly kind: "local";
    readonly subnet: string;
    readonly prefixLength: number;
    readonly gateway: string;
    readonly edge: string;
}

/**
 * aws: a VPC split into a public and a private subnet per zone; node i of a group sits in zone
 * i mod zones, so every quorum group spans zones. The VIP lies outside the VPC (an overlay address
 * routed to the MASTER's network interface), because a VPC address cannot move across subnets.
 */
export interface AwsAddressPlan extends AddressPlan {
    readonly kind: "aws";
    readonly vpcCidr: string;
    readonly zones: number;
    readonly publicSubnets: readonly string[];
    readonly privateSubnets: readonly string[];
    /** Zone index of each planned address. */
    readonly zoneOf: Readonly<Record<string, number>>;
}

export interface AddressCounts {
    readonly consulServers: number;
    readonly managers: number;
    readonly workers: number;
}

/** The `n`-th address of an IPv4 CIDR (0 is the network address). */
export function hostAddress(subnet: string, n: number): string {
    const [network] = ipaddr.IPv4.parseCIDR(subnet);
    const base = network.toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
    const value = base + n;
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Number of usable host offsets (excludes the network and broadcast addresses). */
export function lastHostOffset(subnet: string): number {
    const [, prefix] = ipaddr.IPv4.parseCIDR(subnet);
    return 2 ** (32 - prefix) - 2;
}

/** Highest host offset the plan uses for these counts (an empty group uses none). */
export function highestOffset(counts: AddressCounts): number {
    const last = (offset: number, count: number): number => (count > 0 ? offset + count - 1 : 0);
    return Math.max(
        HOST_OFFSETS.lb + 1,
        last(HOST_OFFSETS.consulServers, counts.consulServers),
        last(HOST_OFFSETS.managers, counts.managers),
        last(HOST_OFFSETS.workers, counts.workers),
    );
}

const range = (offset: number, count: number, subnet: string): string[] =>
    Array.from({ length: count }, (_, i) => hostAddress(subnet, offset + i));

/** The plan for a valid subnet and counts (validation in validate.ts guarantees they fit). */
export function planAddresses(subnet: string, vip: string, counts: AddressCounts): LocalAddressPlan {
    const [, prefixLength] = ipaddr.IPv4.parseCIDR(subnet);
    return {
        kind: "local",
        subnet,
        prefixLength,
        gateway: hostAddress(subnet, HOST_OFFSETS.gateway),
        edge: hostAddress(subnet, HOST_OFFSETS.edge),
        vip,
        lb: [hostAddress(subnet, HOST_OFFSETS.lb), hostAddress(subnet, HOST_OFFSETS.lb + 1)],
        monitoring: hostAddress(subnet, HOST_OFFSETS.monitoring),
        consulServers: range(HOST_OFFSETS.consulServers, counts.consulServers, subnet),
        managers: range(HOST_OFFSETS.managers, counts.managers, subnet),
        workers: range(HOST_OFFSETS.workers, counts.workers, subnet),
    };
}

/** Every address the plan hands to something other than the VIP, by owner. */
export function reservedAddresses(plan: Omit<LocalAddressPlan, "vip">): Map<string, string> {
    const owners = new Map<string, string>();
    owners.set(plan.gateway, "the network gateway");
    owners.set(plan.edge, "the edge");
    owners.set(plan.monitoring, "prometheus");
    plan.lb.forEach((a, i) => owners.set(a, `lb-${i}`));
    plan.consulServers.forEach((a, i) => owners.set(a, `consul-server-${i}`));
    plan.managers.forEach((a, i) => owners.set(a, `manager-${i}`));
    plan.workers.forEach((a, i) => owners.set(a, `worker-${i}`));
    return owners;
}

/**
 * HAProxy server-template slots for a service of `replicas` tasks: room for every task plus the
 * rolling-update surge, rounded up to a multiple of 32 so scaling replicas rarely changes haproxy.cfg
 * (a changed config replaces the LB containers).
 */
export function backendSlots(replicas: number): number {
    return Math.max(32, Math.ceil((replicas * 2) / 32) * 32);
}

/** Zone subnets are 4 bits longer than the VPC: up to 8 zones of public and private subnets. */
export const AWS_ZONE_SUBNET_BITS = 4;
/** Private subnets follow the public ones at this subnet index. */
const AWS_PRIVATE_SUBNET_INDEX = 8;

/** The `netnum`-th subnet of `cidr` that is `newbits` longer (Terraform's cidrsubnet). */
export function cidrSubnet(cidr: string, newbits: number, netnum: number): string {
    const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    const length = prefix + newbits;
    return `${hostAddress(cidr, netnum * 2 ** (32 - length))}/${length}`;
}

/** Highest host offset a zone's private subnet needs for these counts spread over `zones`. */
export function highestAwsOffset(counts: AddressCounts, zones: number): number {
    const perZone = (n: number) => Math.ceil(n / zones);
    return highestOffset({
        consulServers: perZone(counts.consulServers),
        managers: perZone(counts.managers),
        workers: perZone(counts.workers),
    });
}

export function planAwsAddresses(vpcCidr: string, zones: number, vip: string, counts: AddressCounts): AwsAddressPlan {
    const publicSubnets = Array.from({ length: zones }, (_, z) => cidrSubnet(vpcCidr, AWS_ZONE_SUBNET_BITS, z));
    const privateSubnets = Array.from({ length: zones }, (_, z) => cidrSubnet(vpcCidr, AWS_ZONE_SUBNET_BITS, AWS_PRIVATE_SUBNET_INDEX + z));
    const zoneOf: Record<string, number> = {};
    const spread = (offset: number, count: number): string[] =>
        Array.from({ length: count }, (_, i) => {
            const zone = i % zones;
            const address = hostAddress(privateSubnets[zone], offset + Math.floor(i / zones));
            zoneOf[address] = zone;
            return address;
        });
    const lb = spread(HOST_OFFSETS.lb, 2);
    return {
        kind: "aws",
        vpcCidr,
        zones,
        publicSubnets,
        privateSubnets,
        zoneOf,
        vip,
        lb: [lb[0], lb[1]],
        monitoring: spread(HOST_OFFSETS.monitoring, 1)[0],
        consulServers: spread(HOST_OFFSETS.consulServers, counts.consulServers),
        managers: spread(HOST_OFFSETS.managers, counts.managers),
        workers: spread(HOST_OFFSETS.workers, counts.workers),
    };
}
