// The address plan (config/addresses.ts), called directly: literal plans for the documented stacks,
// then properties over every subnet and count the config rules accept.
import * as fc from "fast-check";
import * as ipaddr from "ipaddr.js";
import {
    AddressCounts,
    AwsAddressPlan,
    backendSlots,
    cidrSubnet,
    highestAwsOffset,
    highestOffset,
    hostAddress,
    lastHostOffset,
    LocalAddressPlan,
    planAddresses,
    planAwsAddresses,
    reservedAddresses,
} from "../../config/addresses";
import { subnetPoolIssue } from "../../components/contracts";
import { validateStackConfig } from "../../config/validate";
import { propertyRuns } from "./propertyRuns";

const DEV_COUNTS: AddressCounts = { consulServers: 3, managers: 3, workers: 2 };

describe("the documented plan (README: gateway .1, edge .2, Prometheus .5, VIP .10, LB .11–.12, Consul .20–, managers .30–, workers .40–)", () => {
    test("local, the dev stack's 10.77.0.0/24 with 3 servers, 3 managers, 2 workers", () => {
        expect(planAddresses("10.77.0.0/24", "10.77.0.10", DEV_COUNTS)).toEqual({
            kind: "local",
            subnet: "10.77.0.0/24",
            prefixLength: 24,
            gateway: "10.77.0.1",
            edge: "10.77.0.2",
            vip: "10.77.0.10",
            lb: ["10.77.0.11", "10.77.0.12"],
            monitoring: "10.77.0.5",
            consulServers: ["10.77.0.20", "10.77.0.21", "10.77.0.22"],
            managers: ["10.77.0.30", "10.77.0.31", "10.77.0.32"],
            workers: ["10.77.0.40", "10.77.0.41"],
        });
    });

    test("local, full quorum groups end at .26 and .36", () => {
        const plan = planAddresses("10.77.0.0/24", "10.77.0.10", { consulServers: 7, managers: 7, workers: 0 });
        expect(plan.consulServers).toEqual([
            "10.77.0.20",
            "10.77.0.21",
            "10.77.0.22",
            "10.77.0.23",
            "10.77.0.24",
            "10.77.0.25",
            "10.77.0.26",
        ]);
        expect(plan.managers.at(-1)).toBe("10.77.0.36");
        expect(plan.workers).toEqual([]);
    });

    test("every reserved address is named by its owner", () => {
        const plan = planAddresses("10.77.0.0/24", "10.77.0.10", DEV_COUNTS);
        expect([...reservedAddresses(plan)]).toEqual([
            ["10.77.0.1", "the network gateway"],
            ["10.77.0.2", "the edge"],
            ["10.77.0.5", "prometheus"],
            ["10.77.0.11", "lb-0"],
            ["10.77.0.12", "lb-1"],
            ["10.77.0.20", "consul-server-0"],
            ["10.77.0.21", "consul-server-1"],
            ["10.77.0.22", "consul-server-2"],
            ["10.77.0.30", "manager-0"],
            ["10.77.0.31", "manager-1"],
            ["10.77.0.32", "manager-2"],
            ["10.77.0.40", "worker-0"],
            ["10.77.0.41", "worker-1"],
        ]);
    });

    test("aws, the prod default VPC 10.20.0.0/16 over 3 zones: public /20s first, private /20s from index 8, node i in zone i mod 3", () => {
        const plan = planAwsAddresses("10.20.0.0/16", 3, "192.168.255.10", { consulServers: 5, managers: 3, workers: 4 });
        expect(plan).toEqual({
            kind: "aws",
            vpcCidr: "10.20.0.0/16",
            zones: 3,
            publicSubnets: ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"],
            privateSubnets: ["10.20.128.0/20", "10.20.144.0/20", "10.20.160.0/20"],
            vip: "192.168.255.10",
            lb: ["10.20.128.11", "10.20.144.11"],
            monitoring: "10.20.128.5",
            consulServers: ["10.20.128.20", "10.20.144.20", "10.20.160.20", "10.20.128.21", "10.20.144.21"],
            managers: ["10.20.128.30", "10.20.144.30", "10.20.160.30"],
            workers: ["10.20.128.40", "10.20.144.40", "10.20.160.40", "10.20.128.41"],
            zoneOf: {
                "10.20.128.11": 0,
                "10.20.144.11": 1,
                "10.20.128.5": 0,
                "10.20.128.20": 0,
                "10.20.144.20": 1,
                "10.20.160.20": 2,
                "10.20.128.21": 0,
                "10.20.144.21": 1,
                "10.20.128.30": 0,
                "10.20.144.30": 1,
                "10.20.160.30": 2,
                "10.20.128.40": 0,
                "10.20.144.40": 1,
                "10.20.160.40": 2,
                "10.20.128.41": 0,
            },
        });
    });
});

describe("the arithmetic", () => {
    test.each([
        ["10.77.0.0/24", 0, "10.77.0.0"],
        ["10.77.0.0/24", 255, "10.77.0.255"],
        ["10.77.0.0/16", 256, "10.77.1.0"],
        ["10.0.0.0/8", 65536 * 3 + 256 * 2 + 1, "10.3.2.1"],
        ["192.168.255.0/24", 10, "192.168.255.10"],
        ["10.255.255.0/24", 256, "11.0.0.0"],
    ])("hostAddress(%s, %i) = %s", (subnet, n, expected) => {
        expect(hostAddress(subnet, n)).toBe(expected);
    });

    test.each([
        ["10.77.0.0/24", 254],
        ["10.77.0.0/27", 30],
        ["10.20.0.0/16", 65534],
        ["10.20.0.0/30", 2],
    ])("lastHostOffset(%s) = %i (the broadcast address is not a host)", (subnet, n) => {
        expect(lastHostOffset(subnet)).toBe(n);
    });

    test.each([
        [{ consulServers: 1, managers: 1, workers: 0 }, 30],
        [{ consulServers: 7, managers: 1, workers: 0 }, 30],
        [{ consulServers: 7, managers: 7, workers: 0 }, 36],
        [{ consulServers: 7, managers: 0, workers: 0 }, 26],
        [{ consulServers: 3, managers: 3, workers: 1 }, 40],
        [{ consulServers: 3, managers: 3, workers: 25 }, 64],
        [{ consulServers: 0, managers: 0, workers: 0 }, 12],
    ])("highestOffset(%o) = %i: the last address the plan hands out (no workers: none from .40)", (counts, n) => {
        expect(highestOffset(counts)).toBe(n);
    });

    test.each([
        [{ consulServers: 3, managers: 3, workers: 0 }, 3, 30],
        [{ consulServers: 7, managers: 3, workers: 0 }, 2, 31],
        [{ consulServers: 3, managers: 7, workers: 0 }, 2, 33],
        [{ consulServers: 7, managers: 1, workers: 0 }, 2, 30],
        [{ consulServers: 3, managers: 3, workers: 7 }, 3, 42],
        [{ consulServers: 3, managers: 3, workers: 6 }, 3, 41],
    ])("highestAwsOffset(%o, %i zones) = %i (counts per zone rounded up)", (counts, zones, n) => {
        expect(highestAwsOffset(counts, zones)).toBe(n);
    });

    test.each([
        ["10.20.0.0/16", 4, 0, "10.20.0.0/20"],
        ["10.20.0.0/16", 4, 9, "10.20.144.0/20"],
        ["10.20.0.0/16", 4, 15, "10.20.240.0/20"],
        ["10.20.0.0/22", 4, 8, "10.20.2.0/26"],
        ["10.0.0.0/8", 8, 3, "10.3.0.0/16"],
    ])("cidrSubnet(%s, %i, %i) = %s", (cidr, newbits, netnum, expected) => {
        expect(cidrSubnet(cidr, newbits, netnum)).toBe(expected);
    });

    test.each([
        [1, 32],
        [16, 32],
        [17, 64],
        [32, 64],
        [33, 96],
    ])("backendSlots(%i replicas) = %i (every task plus the surge, in steps of 32)", (replicas, slots) => {
        expect(backendSlots(replicas)).toBe(slots);
    });
});

// ---------------------------------------------------------------------------------------------
// Properties: over generated subnets and counts that validateStackConfig accepts.
// ---------------------------------------------------------------------------------------------

const toInt = (a: string): number =>
    ipaddr.IPv4.parse(a)
        .toByteArray()
        .reduce((acc, b) => acc * 256 + b, 0);
const inCidr = (a: string, cidr: string): boolean => ipaddr.IPv4.parse(a).match(ipaddr.IPv4.parseCIDR(cidr));
/** Offset of `a` inside `cidr`, and the cidr's size. */
const offsetIn = (a: string, cidr: string): { offset: number; size: number } => {
    const [network, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    return { offset: toInt(a) - toInt(network.toString()), size: 2 ** (32 - prefix) };
};

const oddQuorum = (min: number) => fc.integer({ min: (min - 1) / 2, max: 3 }).map((k) => 2 * k + 1);
/** A private network of the given prefix length: 10/8, 172.16/12 or 192.168/16, host bits zero. */
const privateNetwork = (prefix: number): fc.Arbitrary<string> =>
    fc
        .constantFrom(["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16])
        .filter(([, outer]) => (outer as number) <= prefix)
        .chain(([base, outer]) =>
            fc
                .integer({ min: 0, max: 2 ** (prefix - (outer as number)) - 1 })
                .map((i) => `${hostAddress(`${base}/${outer}`, i * 2 ** (32 - prefix))}/${prefix}`),
        )
        // Not over the swarm's own address pools: that is a rule of its own (the subnet is refused
        // whatever the counts), proven in validate.test.ts and by the totality property.
        .filter((subnet) => subnetPoolIssue("network.subnet", subnet) === undefined);

interface LocalCase {
    readonly subnet: string;
    readonly counts: AddressCounts;
    readonly vipOffset: number;
}

/** Local: subnets /16–/27 and counts up to (and past) what fits, VIP anywhere in the subnet. */
const localCase: fc.Arbitrary<LocalCase> = fc.integer({ min: 16, max: 27 }).chain((prefix) =>
    fc.record({
        subnet: privateNetwork(prefix),
        counts: fc.record({
            consulServers: oddQuorum(1),
            managers: oddQuorum(1),
            workers: fc.integer({ min: 0, max: Math.max(Math.min(2 ** (32 - prefix) - 40, 300), 2) }),
        }),
        vipOffset: fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }),
    }),
);

const acceptsLocal = (c: LocalCase, vip?: string) =>
    validateStackConfig(
        {
            platform: "local",
            web: { version: "1" },
            consul: { servers: c.counts.consulServers },
            swarm: { managers: c.counts.managers, workers: c.counts.workers },
            network: { subnet: c.subnet },
            ...(vip === undefined ? {} : { lb: { vip } }),
        },
        "dev",
    );

const localNodeAddresses = (p: LocalAddressPlan): string[] => [p.gateway, p.edge, ...p.lb, ...p.consulServers, ...p.managers, ...p.workers];

describe("properties of the local plan, for every config the rules accept", () => {
    test("no two planned addresses overlap, and every one is a host of the subnet (not its network or broadcast address)", () => {
        fc.assert(
            fc.property(localCase, (c) => {
                const result = acceptsLocal(c);
                fc.pre(result.config !== undefined);
                const plan = planAddresses(c.subnet, result.config!.lb.vip, c.counts);
                const addresses = localNodeAddresses(plan);
                expect(new Set(addresses).size).toBe(addresses.length);
                const notHosts = addresses.filter((a) => {
                    const { offset, size } = offsetIn(a, c.subnet);
                    return !(inCidr(a, c.subnet) && offset > 0 && offset < size - 1);
                });
                expect(notHosts).toEqual([]);
            }),
            propertyRuns(150),
        );
    });

    test("the VIP the rules accept (default or chosen) is a host of the subnet that no node holds", () => {
        fc.assert(
            fc.property(localCase, fc.boolean(), (c, chooseVip) => {
                const vip = chooseVip ? hostAddress(c.subnet, c.vipOffset) : undefined;
                const result = acceptsLocal(c, vip);
                fc.pre(result.config !== undefined);
                const plan = planAddresses(c.subnet, result.config!.lb.vip, c.counts);
                const { offset, size } = offsetIn(plan.vip, c.subnet);
                expect(offset > 0 && offset < size - 1).toBe(true);
                expect(localNodeAddresses(plan)).not.toContain(plan.vip);
            }),
            propertyRuns(150),
        );
    });

    test("a VIP on a node's address is always refused, naming that node", () => {
        fc.assert(
            fc.property(localCase, fc.nat(), (c, pick) => {
                fc.pre(acceptsLocal(c).config !== undefined);
                const plan = planAddresses(c.subnet, "", c.counts);
                const owners = [...reservedAddresses(plan)];
                const [vip, owner] = owners[pick % owners.length];
                const issues = acceptsLocal(c, vip).issues.filter((i) => i.key === "lb.vip");
                expect(issues).toEqual([
                    { key: "lb.vip", value: vip, rule: `collides with the address of ${owner}; pick a free host of ${c.subnet}` },
                ]);
            }),
            propertyRuns(100),
        );
    });

    test("a subnet is refused as too small exactly when a planned address would run past its last host", () => {
        fc.assert(
            fc.property(localCase, (c) => {
                const tooSmall = acceptsLocal(c).issues.some((i) => i.key === "network.subnet");
                const plan = planAddresses(c.subnet, "", c.counts);
                const last = Math.max(...localNodeAddresses(plan).map((a) => offsetIn(a, c.subnet).offset));
                expect({ subnet: c.subnet, counts: c.counts, tooSmall }).toEqual({
                    subnet: c.subnet,
                    counts: c.counts,
                    tooSmall: last > lastHostOffset(c.subnet),
                });
            }),
            propertyRuns(150),
        );
    });
});

interface AwsCase {
    readonly vpc: string;
    readonly zones: number;
    readonly counts: AddressCounts;
}

/**
 * aws: VPCs /16–/24 over 2–6 zones, production quorum sizes. Workers go up to the count whose last
 * one lands on a zone subnet's broadcast address (fast-check favours the bounds), or 300 on large VPCs.
 */
const awsCase: fc.Arbitrary<AwsCase> = fc.tuple(fc.integer({ min: 16, max: 24 }), fc.integer({ min: 2, max: 6 })).chain(([prefix, zones]) =>
    fc.record({
        vpc: privateNetwork(prefix),
        zones: fc.constant(zones),
        counts: fc.record({
            consulServers: oddQuorum(3),
            managers: oddQuorum(3),
            workers: fc.integer({ min: 0, max: Math.min(Math.max(zones * (2 ** (28 - prefix) - 40), 0), 300) }),
        }),
    }),
);

const acceptsAws = (c: AwsCase) =>
    validateStackConfig(
        {
            platform: "aws",
            web: { version: "1" },
            consul: { servers: c.counts.consulServers },
            swarm: { managers: c.counts.managers, workers: c.counts.workers },
            network: { subnet: c.vpc },
            aws: { zones: c.zones, amiName: "debian-12-amd64-20250316-2053", domain: "www.example.com" },
        },
        "prod",
    );

const awsNodeAddresses = (p: AwsAddressPlan): string[] => [...p.lb, p.monitoring, ...p.consulServers, ...p.managers, ...p.workers];

describe("properties of the aws plan, for every config the rules accept", () => {
    test("zone subnets lie inside the VPC and never overlap", () => {
        fc.assert(
            fc.property(awsCase, (c) => {
                // A refused case is skipped; a rule that refuses nearly everything fails the property.
                fc.pre(acceptsAws(c).config !== undefined);
                const plan = planAwsAddresses(c.vpc, c.zones, "192.168.255.10", c.counts);
                const subnets = [...plan.publicSubnets, ...plan.privateSubnets];
                expect(subnets).toHaveLength(2 * c.zones);
                const range = (cidr: string): [number, number] => {
                    const [network, prefix] = cidr.split("/");
                    return [toInt(network), toInt(network) + 2 ** (32 - Number(prefix)) - 1];
                };
                const [vpcStart, vpcEnd] = range(c.vpc);
                const outside = subnets.filter((s) => range(s)[0] < vpcStart || range(s)[1] > vpcEnd);
                expect(outside).toEqual([]);
                const overlapping = subnets.flatMap((a, i) =>
                    subnets
                        .slice(i + 1)
                        .filter((b) => range(a)[0] <= range(b)[1] && range(b)[0] <= range(a)[1])
                        .map((b) => `${a} ${b}`),
                );
                expect(overlapping).toEqual([]);
            }),
            propertyRuns(100),
        );
    });

    test("no two node addresses overlap; each sits in its zone's private subnet, clear of AWS's reserved first 4 and last address", () => {
        fc.assert(
            fc.property(awsCase, (c) => {
                // A refused case is skipped; a rule that refuses nearly everything fails the property.
                fc.pre(acceptsAws(c).config !== undefined);
                const plan = planAwsAddresses(c.vpc, c.zones, "192.168.255.10", c.counts);
                const addresses = awsNodeAddresses(plan);
                expect(addresses).toHaveLength(2 + 1 + c.counts.consulServers + c.counts.managers + c.counts.workers);
                expect(new Set(addresses).size).toBe(addresses.length);
                expect(Object.keys(plan.zoneOf).sort()).toEqual([...addresses].sort());
                const unusable = addresses.filter((a) => {
                    const subnet = plan.privateSubnets[plan.zoneOf[a]];
                    if (subnet === undefined) return true;
                    const { offset, size } = offsetIn(a, subnet);
                    return !(inCidr(a, subnet) && offset >= 4 && offset <= size - 2);
                });
                expect(unusable).toEqual([]);
            }),
            propertyRuns(150),
        );
    });

    test("each quorum group (Consul servers, swarm managers) and the LB pair spans at least 2 zones, evenly", () => {
        fc.assert(
            fc.property(awsCase, (c) => {
                // A refused case is skipped; a rule that refuses nearly everything fails the property.
                fc.pre(acceptsAws(c).config !== undefined);
                const plan = planAwsAddresses(c.vpc, c.zones, "192.168.255.10", c.counts);
                for (const [group, members] of [
                    ["consulServers", plan.consulServers],
                    ["managers", plan.managers],
                    ["lb", plan.lb],
                ] as const) {
                    const perZone = new Map<number, number>();
                    for (const a of members) perZone.set(plan.zoneOf[a], (perZone.get(plan.zoneOf[a]) ?? 0) + 1);
                    const sizes = [...perZone.values()];
                    expect({ group, zones: perZone.size >= 2 }).toEqual({ group, zones: true });
                    // No zone holds more than its share: losing one zone loses as few members as it can.
                    expect({ group, even: Math.max(...sizes) <= Math.ceil(members.length / c.zones) }).toEqual({ group, even: true });
                }
            }),
            propertyRuns(150),
        );
    });

    test("the VIP the rules accept lies outside the VPC, so no node holds it", () => {
        fc.assert(
            fc.property(awsCase, fc.integer({ min: 0, max: 2 ** 16 - 1 }), fc.boolean(), (c, vipOffset, inVpc) => {
                const vip = hostAddress(inVpc ? c.vpc : "192.168.0.0/16", vipOffset);
                const result = validateStackConfig(
                    {
                        platform: "aws",
                        web: { version: "1" },
                        consul: { servers: c.counts.consulServers },
                        swarm: { managers: c.counts.managers, workers: c.counts.workers },
                        network: { subnet: c.vpc },
                        lb: { vip },
                        aws: { zones: c.zones, amiName: "debian-12-amd64-20250316-2053", domain: "www.example.com" },
                    },
                    "prod",
                );
                fc.pre(result.config !== undefined);
                const plan = planAwsAddresses(c.vpc, c.zones, result.config!.lb.vip, c.counts);
                expect(inCidr(plan.vip, c.vpc)).toBe(false);
                expect(awsNodeAddresses(plan)).not.toContain(plan.vip);
            }),
            propertyRuns(150),
        );
    });
});
