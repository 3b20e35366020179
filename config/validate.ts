// Validation of the raw stack config: every rule is checked, every broken one is collected, and
// the caller throws once (config/index.ts) before any resource exists.
import * as ipaddr from "ipaddr.js";
import { CONSUL_PORTS } from "../render/consul";
import { haproxyDeregistrationLagMs } from "../render/haproxy";
import { SWARM_PORTS } from "../render/swarm";
import {
    AddressCounts,
    AWS_ZONE_SUBNET_BITS,
    cidrSubnet,
    HOST_OFFSETS,
    hostAddress,
    highestAwsOffset,
    highestOffset,
    lastHostOffset,
    planAddresses,
    reservedAddresses,
} from "./addresses";
import {
    assertNever,
    AwsConfig,
    ConfigIssue,
    InstanceTypes,
    DEFAULTS,
    MAX_QUORUM,
    PLATFORMS,
    PRODUCTION_STACKS,
    PROD_MIN_QUORUM,
    PlatformName,
    RawStackConfig,
    ResourceLimits,
    StackConfig,
} from "./schema";

export interface ValidationResult {
    /** Present only when `issues` is empty. */
    readonly config?: StackConfig;
    readonly issues: readonly ConfigIssue[];
}

/** Reads one config section, recording type errors and unknown keys as it goes. */
class Section {
    private readonly values: Record<string, unknown>;
    private readonly read = new Set<string>();
    /** Where nested sections report. */
    readonly issuesList: ConfigIssue[];

    constructor(
        private readonly name: string,
        raw: unknown,
        private readonly issues: ConfigIssue[],
    ) {
        this.issuesList = issues;
        if (raw === undefined || raw === null) {
            this.values = {};
        } else if (typeof raw === "object" && !Array.isArray(raw)) {
            this.values = raw as Record<string, unknown>;
        } else {
            issues.push({ key: name, value: raw, rule: "must be an object (set its keys with `pulumi config set --path`)" });
            this.values = {};
        }
    }

    private key(k: string): string {
        return `${this.name}.${k}`;
    }

    raw(k: string): unknown {
        this.read.add(k);
        return this.values[k];
    }

    fail(k: string, value: unknown, rule: string): void {
        this.issues.push({ key: this.key(k), value, rule });
    }

    /** A number (YAML may hand numbers over as strings) passing `rule`; the default when absent. */
    number(k: string, fallback: number | undefined, check: (n: number) => boolean, rule: string): number {
        const value = this.raw(k);
        if (value === undefined) {
            if (fallback === undefined) this.fail(k, value, `is required; ${rule}`);
            return fallback ?? NaN;
        }
        const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
        if (typeof n !== "number" || !Number.isFinite(n) || !check(n)) {
            this.fail(k, value, rule);
            return fallback ?? NaN;
        }
        return n;
    }

    string(k: string, fallback: string | undefined, check: (s: string) => boolean, rule: string): string {
        const value = this.raw(k);
        if (value === undefined) {
            if (fallback === undefined) this.fail(k, value, `is required; ${rule}`);
            return fallback ?? "";
        }
        if (typeof value !== "string" || !check(value)) {
            this.fail(k, value, rule);
            return fallback ?? "";
        }
        return value;
    }

    /** A list of strings, each passing `check` (which returns the broken rule, or undefined). */
    stringList(k: string, fallback: readonly string[], check: (s: string) => string | undefined): string[] {
        const value = this.raw(k);
        if (value === undefined) return [...fallback];
        if (!Array.isArray(value)) {
            this.fail(k, value, "must be a list");
            return [...fallback];
        }
        value.forEach((item, i) => {
            const problem = typeof item === "string" ? check(item) : "must be a string";
            if (problem !== undefined) this.fail(`${k}[${i}]`, item, problem);
        });
        return value.filter((item): item is string => typeof item === "string");
    }

    resources(k: string, fallback: ResourceLimits): ResourceLimits {
        const section = new Section(this.key(k), this.raw(k), this.issues);
        const limits = {
            cpus: section.number("cpus", fallback.cpus, (n) => n > 0 && n <= 64, "must be a positive number of CPUs (at most 64)"),
            memoryMb: section.number(
                "memoryMb",
                fallback.memoryMb,
                (n) => Number.isInteger(n) && n >= 6,
                "must be a whole number of MiB, at least 6 (Docker's minimum)",
            ),
        };
        section.rejectUnknown();
        return limits;
    }

    /** Typos (`web.replica`) must not be silently ignored. */
    rejectUnknown(): void {
        for (const k of Object.keys(this.values)) {
            if (!this.read.has(k)) {
                this.fail(k, this.values[k], `is not a known key (known: ${[...this.read].sort().join(", ")})`);
            }
        }
    }
}

const isInt = (n: number): boolean => Number.isInteger(n);
const isOddQuorum = (n: number): boolean => isInt(n) && n >= 1 && n <= MAX_QUORUM && n % 2 === 1;
const ODD_QUORUM_RULE = `must be an odd whole number from 1 to ${MAX_QUORUM} (an even count adds a member without surviving one more failure)`;
const isPort = (n: number): boolean => isInt(n) && n >= 1 && n <= 65535;
const PORT_RULE = "must be a TCP port, a whole number from 1 to 65535";
// Docker's tag grammar: the version becomes an image tag.
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function isIPv4(s: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(s);
}

/** Canonical IPv4 CIDR with host bits zero; by default in a private range (nodes never get public addresses). */
function cidrProblem(s: string, requirePrivate = true): string | undefined {
    const [address, prefix, ...rest] = s.split("/");
    if (prefix === undefined || rest.length > 0 || !isIPv4(address) || !/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) {
        return "must be an IPv4 CIDR such as 10.77.0.0/24";
    }
    const network = ipaddr.IPv4.networkAddressFromCIDR(s).toString();
    if (network !== address) return `must name the network address (host bits zero): ${network}/${prefix}`;
    if (requirePrivate && ipaddr.parse(address).range() !== "private") return "must be a private (RFC 1918) range";
    return undefined;
}

/** Ports a swarm node's own services listen on: never inside the web tasks' port range. */
const NODE_SERVICE_PORTS: readonly { port: number; what: string }[] = [
    { port: SWARM_PORTS.management, what: "Swarm cluster management" },
    { port: SWARM_PORTS.gossip, what: "Swarm gossip" },
    { port: SWARM_PORTS.overlay, what: "Swarm overlay (VXLAN)" },
    { port: CONSUL_PORTS.serverRpc, what: "Consul server RPC" },
    { port: CONSUL_PORTS.serfLan, what: "Consul LAN gossip" },
    { port: CONSUL_PORTS.serfLan + 1, what: "Consul WAN gossip" },
    { port: CONSUL_PORTS.http, what: "Consul HTTP API" },
    { port: CONSUL_PORTS.dns, what: "Consul DNS" },
];

export function validateStackConfig(raw: RawStackConfig, stack: string): ValidationResult {
    const issues: ConfigIssue[] = [];
    // platform
    let platform: PlatformName = "local";
    if (raw.platform === undefined) {
        issues.push({ key: "platform", value: undefined, rule: `is required; one of ${PLATFORMS.join(", ")}` });
    } else if (!PLATFORMS.includes(raw.platform as PlatformName)) {
        issues.push({ key: "platform", value: raw.platform, rule: `must be one of ${PLATFORMS.join(", ")}` });
    } else {
        platform = raw.platform as PlatformName;
    }

    // Production quorum floor: every stack on real machines (platform aws, whatever its name), and the
    // stacks whose name says production on any platform.
    const floorReason = platform === "aws" ? "on platform aws" : PRODUCTION_STACKS.includes(stack) ? `on the ${stack} stack` : undefined;
    const quorum = (section: Section, k: string, fallback: number): number => {
        const n = section.number(k, fallback, isOddQuorum, ODD_QUORUM_RULE);
        if (floorReason !== undefined && isOddQuorum(n) && n < PROD_MIN_QUORUM) {
            section.fail(k, n, `must be at least ${PROD_MIN_QUORUM} ${floorReason} (survives one failure)`);
        }
        return n;
    };

    // consul
    const c = new Section("consul", raw.consul, issues);
    const consul = {
        servers: quorum(c, "servers", DEFAULTS.consul.servers),
        version: c.string("version", DEFAULTS.consul.version, (s) => IMAGE_TAG.test(s), "must be a Consul release such as 1.20.2"),
        datacenter: c.string("datacenter", DEFAULTS.consul.datacenter, (s) => DNS_LABEL.test(s), "must be a lowercase DNS label"),
        resources: c.resources("resources", DEFAULTS.consul.resources),
        agentResources: c.resources("agentResources", DEFAULTS.consul.agentResources),
    };
    c.rejectUnknown();

    // swarm
    const s = new Section("swarm", raw.swarm, issues);
    const swarm = {
        managers: quorum(s, "managers", DEFAULTS.swarm.managers),
        workers: s.number("workers", DEFAULTS.swarm.workers, (n) => isInt(n) && n >= 0, "must be a whole number ≥ 0"),
        nodeResources: s.resources("nodeResources", DEFAULTS.swarm.nodeResources),
    };
    s.rejectUnknown();

    // web
    const w = new Section("web", raw.web, issues);
    const replicas = w.number("replicas", DEFAULTS.web.replicas, (n) => isInt(n) && n >= 1, "must be a whole number ≥ 1");
    const version = w.string(
        "version",
        undefined,
        (v) => IMAGE_TAG.test(v),
        "must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)",
    );
    const resources = w.resources("resources", DEFAULTS.web.resources);
    const portMin = w.number(
        "portMin",
        DEFAULTS.web.portMin,
        (n) => isPort(n) && n >= 1024,
        "must be an unprivileged TCP port, 1024–65535",
    );
    const portMax = w.number(
        "portMax",
        DEFAULTS.web.portMax,
        (n) => isPort(n) && n >= 1024,
        "must be an unprivileged TCP port, 1024–65535",
    );
    // Tasks bind on the swarm node's own network (and, on aws, the LB nodes may reach the whole range):
    // the range must not hold a port the node's own services listen on.
    const reserved = NODE_SERVICE_PORTS.find((p) => p.port >= portMin && p.port <= portMax);
    if (reserved !== undefined && portMax >= portMin) {
        w.fail(
            "portMax",
            portMax,
            `web.portMin–web.portMax (${portMin}–${portMax}) must not include ${reserved.port}, the ${reserved.what} port on every swarm node`,
        );
    }
    if (portMax < portMin) w.fail("portMax", portMax, `must not be below web.portMin = ${portMin}`);
    // A node may hold every replica plus the start-first surge task.
    if (portMax - portMin + 1 < replicas + 1) {
        w.fail("portMax", portMax, `must leave at least web.replicas + 1 = ${replicas + 1} ports from web.portMin = ${portMin}`);
    }
    // A stopping task must keep serving until HAProxy's DNS discovery has dropped it.
    const minDrain = haproxyDeregistrationLagMs() / 1000;
    const drainSeconds = w.number(
        "drainSeconds",
        DEFAULTS.web.drainSeconds,
        (n) => n >= minDrain && n <= 60,
        `must be ${minDrain}–60 seconds (HAProxy drops a deregistered task within ${minDrain} s)`,
    );
    const stopGraceSeconds = w.number(
        "stopGraceSeconds",
        DEFAULTS.web.stopGraceSeconds,
        (n) => isInt(n) && n >= 1,
        "must be a whole number of seconds ≥ 1",
    );
    if (stopGraceSeconds < drainSeconds + 2) {
        w.fail(
            "stopGraceSeconds",
            stopGraceSeconds,
            `must be at least web.drainSeconds + 2 = ${drainSeconds + 2} so a draining task is not killed mid-request`,
        );
    }
    const web = { replicas, version, resources, portMin, portMax, drainSeconds, stopGraceSeconds };
    w.rejectUnknown();

    // aws: read on every stack so a misspelt key is caught anywhere; only platform aws uses it.
    const aws = readAwsSection(new Section("aws", raw.aws, issues));
    if (platform === "aws" && aws.amiId === undefined && aws.amiName === undefined) {
        issues.push({
            key: "aws.amiName",
            value: undefined,
            rule:
                "is required with platform aws (or aws.amiId): the AMI is pinned in stack config so an upstream release never " +
                "replaces the nodes by surprise; a new one rolls them one at a time (README: Updating the AMI)",
        });
    }

    // network
    const n = new Section("network", raw.network, issues);
    const subnet = n.string(
        "subnet",
        DEFAULTS.network.subnet[platform],
        (v) => cidrProblem(v) === undefined,
        cidrProblem(String(n.raw("subnet"))) ?? "",
    );
    n.rejectUnknown();
    const counts = { consulServers: consul.servers, managers: swarm.managers, workers: swarm.workers };
    const subnetOk = cidrProblem(subnet) === undefined;
    if (subnetOk) issues.push(...subnetSizeIssues(platform, subnet, counts, aws.zones));

    // lb
    const l = new Section("lb", raw.lb, issues);
    const vrrpVersion = l.number("vrrpVersion", DEFAULTS.lb.vrrpVersion, (v) => v === 2 || v === 3, "must be 2 or 3") as 2 | 3;
    const advertIntervalSeconds = l.number(
        "advertIntervalSeconds",
        DEFAULTS.lb.advertIntervalSeconds[vrrpVersion] ?? DEFAULTS.lb.advertIntervalSeconds[3],
        vrrpVersion === 2
            ? (v) => isInt(v) && v >= 1 && v <= 255
            : (v) => v >= 0.01 && v <= 40 && Math.abs(v * 100 - Math.round(v * 100)) < 1e-9,
        vrrpVersion === 2
            ? "must be a whole number of seconds from 1 to 255 with lb.vrrpVersion 2 (VRRPv2 cannot express sub-second adverts)"
            : "must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)",
    );
    const virtualRouterId = l.number(
        "virtualRouterId",
        DEFAULTS.lb.virtualRouterId,
        (v) => isInt(v) && v >= 1 && v <= 255,
        "must be a whole number from 1 to 255",
    );
    const defaultVip = platform === "aws" ? DEFAULTS.lb.awsOverlayVip : subnetOk ? hostAddress(subnet, DEFAULTS.lb.vipHostOffset) : "";
    const vip = l.string("vip", defaultVip, isIPv4, "must be an IPv4 address");
    const lbResources = l.resources("resources", DEFAULTS.lb.resources);
    l.rejectUnknown();
    if (subnetOk && isIPv4(vip)) issues.push(...vipIssues(platform, subnet, vip, counts));
    const lb = { vip, vrrpVersion, advertIntervalSeconds, virtualRouterId, resources: lbResources };

    // edge
    const e = new Section("edge", raw.edge, issues);
    const edge = {
        bindAddress: e.string(
            "bindAddress",
            DEFAULTS.edge.bindAddress,
            isIPv4,
            "must be an IPv4 address of this host (127.0.0.1 keeps the platform private)",
        ),
        webPort: e.number("webPort", DEFAULTS.edge.webPort, isPort, PORT_RULE),
        consulUiPort: e.number("consulUiPort", DEFAULTS.edge.consulUiPort, isPort, PORT_RULE),
        statsPort: e.number("statsPort", DEFAULTS.edge.statsPort, isPort, PORT_RULE),
        resources: e.resources("resources", DEFAULTS.edge.resources),
    };
    const ports = [
        ["webPort", edge.webPort],
        ["consulUiPort", edge.consulUiPort],
        ["statsPort", edge.statsPort],
    ] as const;
    ports.forEach(([k, p], i) => {
        const clash = ports.slice(0, i).find(([, q]) => q === p);
        if (clash) e.fail(k, p, `must differ from edge.${clash[0]}`);
    });
    e.rejectUnknown();

    if (issues.length > 0) return { issues };
    return { issues, config: { stack, platform, consul, swarm, web, lb, network: { subnet }, edge, aws } };
}

/** The subnet must hold the address plan: local, one network; aws, zone subnets 4 bits longer. */
function subnetSizeIssues(platform: PlatformName, subnet: string, counts: AddressCounts, zones: number): ConfigIssue[] {
    switch (platform) {
        case "local": {
            const needed = highestOffset(counts);
            return needed > lastHostOffset(subnet)
                ? [
                      {
                          key: "network.subnet",
                          value: subnet,
                          rule: `is too small: the address plan needs host offsets up to ${needed} (workers start at ${HOST_OFFSETS.workers}); use a larger subnet or fewer swarm.workers`,
                      },
                  ]
                : [];
        }
        case "aws": {
            const prefix = Number(subnet.split("/")[1]);
            if (prefix < 16 || prefix > 24) {
                return [
                    {
                        key: "network.subnet",
                        value: subnet,
                        rule: "must be a /16–/24 VPC range (each zone gets a public and a private subnet 4 bits longer)",
                    },
                ];
            }
            const zoneSubnet = cidrSubnet(subnet, AWS_ZONE_SUBNET_BITS, 0);
            const needed = highestAwsOffset(counts, Math.max(zones, 1));
            return needed > lastHostOffset(zoneSubnet) - 1
                ? [
                      {
                          key: "network.subnet",
                          value: subnet,
                          rule: `is too small: each zone's private subnet (/${prefix + AWS_ZONE_SUBNET_BITS}) must hold host offsets up to ${needed}`,
                      },
                  ]
                : [];
        }
        default:
            return assertNever(platform);
    }
}

/** local: a free host of the nodes' subnet; aws: an overlay address outside the VPC. */
function vipIssues(platform: PlatformName, subnet: string, vip: string, counts: AddressCounts): ConfigIssue[] {
    const [net, prefix] = ipaddr.IPv4.parseCIDR(subnet);
    const inside = ipaddr.IPv4.parse(vip).match(net, prefix);
    switch (platform) {
        case "local": {
            const owner = reservedAddresses(planAddresses(subnet, vip, counts)).get(vip);
            if (!inside) return [{ key: "lb.vip", value: vip, rule: `must be inside network.subnet ${subnet}` }];
            if (vip === hostAddress(subnet, 0) || vip === ipaddr.IPv4.broadcastAddressFromCIDR(subnet).toString()) {
                return [{ key: "lb.vip", value: vip, rule: `must not be the network or broadcast address of ${subnet}` }];
            }
            if (owner !== undefined)
                return [{ key: "lb.vip", value: vip, rule: `collides with the address of ${owner}; pick a free host of ${subnet}` }];
            return [];
        }
        case "aws":
            if (inside) {
                return [
                    {
                        key: "lb.vip",
                        value: vip,
                        rule: `must lie outside the VPC ${subnet}: on aws the VIP is an overlay address routed to the MASTER`,
                    },
                ];
            }
            return ipaddr.parse(vip).range() === "private"
                ? []
                : [{ key: "lb.vip", value: vip, rule: "must be a private (RFC 1918) address" }];
        default:
            return assertNever(platform);
    }
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

function readAwsSection(a: Section): AwsConfig {
    const types = new Section("aws.instanceTypes", a.raw("instanceTypes"), a.issuesList);
    const instanceType = (k: keyof InstanceTypes) =>
        types.string(k, DEFAULTS.aws.instanceTypes[k], (v) => INSTANCE_TYPE.test(v), "must be an EC2 instance type such as t3.medium");
    const instanceTypes = {
        consulServer: instanceType("consulServer"),
        manager: instanceType("manager"),
        worker: instanceType("worker"),
        lb: instanceType("lb"),
    };
    types.rejectUnknown();
    const amiId =
        a.raw("amiId") === undefined
            ? undefined
            : a.string("amiId", undefined, (v) => /^ami-[0-9a-f]{8,17}$/.test(v), "must be an AMI id such as ami-0123456789abcdef0");
    const amiName =
        a.raw("amiName") === undefined
            ? undefined
            : a.string(
                  "amiName",
                  undefined,
                  (v) => /^debian-12-amd64-\d{8}-\d{1,6}$/.test(v),
                  "must be an official Debian 12 amd64 image name such as debian-12-amd64-20250316-2053",
              );
    if (amiId !== undefined && amiName !== undefined) a.fail("amiName", amiName, "give aws.amiName or aws.amiId, not both");
    const config: AwsConfig = {
        zones: a.number(
            "zones",
            DEFAULTS.aws.zones,
            (v) => isInt(v) && v >= 2 && v <= 6,
            "must be a whole number from 2 to 6 (a quorum must survive a zone outage)",
        ),
        instanceTypes,
        amiId,
        amiName,
        operatorCidrs: a.stringList("operatorCidrs", DEFAULTS.aws.operatorCidrs, (v) => {
            const problem = cidrProblem(v, false);
            if (problem !== undefined) return problem;
            return Number(v.split("/")[1]) < 8 ? "must be /8 or narrower: operator access is never open to the internet" : undefined;
        }),
        rootVolumeGb: a.number(
            "rootVolumeGb",
            DEFAULTS.aws.rootVolumeGb,
            (v) => isInt(v) && v >= 8 && v <= 16384,
            "must be a whole number of GiB from 8 to 16384",
        ),
        interface: a.string(
            "interface",
            DEFAULTS.aws.interface,
            (v) => /^[a-z][a-z0-9]{1,14}$/.test(v),
            "must be a network interface name such as ens5",
        ),
        natGateways: a.string(
            "natGateways",
            DEFAULTS.aws.natGateways,
            (v) => v === "perZone" || v === "single",
            'must be "perZone" or "single"',
        ) as AwsConfig["natGateways"],
        ssmAgentVersion: a.string(
            "ssmAgentVersion",
            DEFAULTS.aws.ssmAgentVersion,
            (v) => /^(latest|\d+\.\d+\.\d+\.\d+)$/.test(v),
            'must be "latest" or an SSM agent release such as 3.3.1611.0',
        ),
    };
    a.rejectUnknown();
    return config;
}
