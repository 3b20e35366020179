// Validation of the raw stack config: every rule is checked, every broken one is collected, and
// the caller throws once (config/index.ts) before any resource exists. A key that feeds a component
// argument is checked with that component's own rules (components/contracts/); the rules written
// here are the stack's: production quorum floors, the address plan, the VIP, the edge, AWS.
import * as ipaddr from "ipaddr.js";
import {
    CONSUL_CLUSTER_RULES,
    IMAGE_TAG,
    KeyNames,
    LB_DEREGISTRATION_LAG_SECONDS,
    LIMITS,
    LOAD_BALANCER_PAIR_RULES,
    PORT,
    Rule,
    SWARM_CLUSTER_RULES,
    subnetPoolIssue,
    WEB_SERVICE_RULES,
    webServiceRelationIssues,
    ConsulTlsMode,
} from "../components/contracts";
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
    AWS_BOUNDS,
    AwsConfig,
    AwsMonitoringConfig,
    ConfigIssue,
    InstanceTypes,
    DEFAULTS,
    LOG_RETENTION_DAYS,
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

/**
 * The number grammar of a number given as text: an optional minus, decimal digits, an optional
 * decimal fraction. Number() would also read "0x10", "0b11", "1e3", " 5 " and "Infinity": none is
 * how a count, a port or a size is written, and a hex or exponent form would reach no renderer the
 * way the user meant it.
 */
const DECIMAL = /^-?\d+(\.\d+)?$/;
const NOT_DECIMAL = "is not a decimal number (digits, an optional leading - and .fraction: no hex, exponent, Infinity or spaces)";

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

    /** A number (YAML may hand numbers over as strings, in the number grammar) passing `rule`; the default when absent or refused. */
    number(k: string, fallback: number, rule: Rule<number>): number {
        const value = this.raw(k);
        if (value === undefined) return fallback;
        if (typeof value === "string" && !DECIMAL.test(value)) {
            this.fail(k, value, `${NOT_DECIMAL}; ${rule.text}`);
            return fallback;
        }
        const n = typeof value === "string" ? Number(value) : value;
        // Number.isFinite is false for anything but a finite number.
        if (!Number.isFinite(n) || !rule.holds(n as number)) {
            this.fail(k, value, rule.text);
            return fallback;
        }
        return n as number;
    }

    /** A string passing `rule`; the default when absent or refused (no default: required). */
    string(k: string, fallback: string | undefined, rule: Rule<string>): string {
        const value = this.raw(k);
        if (value === undefined && fallback !== undefined) return fallback;
        if (typeof value === "string" && rule.holds(value)) return value;
        this.fail(k, value, value === undefined ? `is required; ${rule.text}` : rule.text);
        return fallback ?? "";
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
            cpus: section.number("cpus", fallback.cpus, LIMITS.cpus),
            memoryMb: section.number("memoryMb", fallback.memoryMb, LIMITS.memoryMb),
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

/** A rule written here, beside the key it checks. */
const ruleOf = <T>(holds: (value: T) => boolean, text: string): Rule<T> => ({ holds, text });

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

/** A valid CIDR that overlaps an address pool of the swarm's engines (render/swarm.ts refuses it): the rule broken. */
function poolOverlap(cidr: string): string | undefined {
    return subnetPoolIssue("network.subnet", cidr)?.rule;
}

/**
 * A fully qualified host name (RFC 1123 §2.1 labels: letters, digits and inner hyphens, 1–63
 * characters each; 253 in all), lowercase, with at least two labels and a top-level label that
 * starts with a letter (RFC 3696 §2: no all-numeric TLD). ACM issues certificates only for such
 * names ("must have a fully-qualified domain name", DomainName: 1–253 characters,
 * https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html). No wildcard: the
 * certificate names exactly the host users reach.
 */
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN_NAME_RULE = "must be a lowercase fully qualified host name such as www.example.com (RFC 1123 labels, ≤ 253 characters)";

/**
 * Route 53 hosted zone ids: "Z" and uppercase letters and digits, at most 32 characters
 * (HostedZone Id, https://docs.aws.amazon.com/Route53/latest/APIReference/API_HostedZone.html).
 */
const ROUTE53_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;

/** Config keys of the web service's arguments (the port range is two keys). */
const webKey: KeyNames = (k) => (k === "portRange.min" ? "web.portMin" : k === "portRange.max" ? "web.portMax" : `web.${k}`);

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
    const quorum = (section: Section, k: string, fallback: number, rule: Rule<number>): number => {
        const n = section.number(k, fallback, rule);
        if (floorReason !== undefined && rule.holds(n) && n < PROD_MIN_QUORUM) {
            section.fail(k, n, `must be at least ${PROD_MIN_QUORUM} ${floorReason} (survives one failure)`);
        }
        return n;
    };

    // consul
    const c = new Section("consul", raw.consul, issues);
    const consul = {
        servers: quorum(c, "servers", DEFAULTS.consul.servers, CONSUL_CLUSTER_RULES.servers),
        version: c.string(
            "version",
            DEFAULTS.consul.version,
            ruleOf((s) => IMAGE_TAG.test(s), "must be a Consul release such as 1.20.2"),
        ),
        datacenter: c.string("datacenter", DEFAULTS.consul.datacenter, CONSUL_CLUSTER_RULES.datacenter),
        resources: c.resources("resources", DEFAULTS.consul.resources),
        agentResources: c.resources("agentResources", DEFAULTS.consul.agentResources),
        tls: c.string("tls", DEFAULTS.consul.tls, CONSUL_CLUSTER_RULES.tls) as ConsulTlsMode,
    };
    c.rejectUnknown();

    // swarm
    const s = new Section("swarm", raw.swarm, issues);
    const swarm = {
        managers: quorum(s, "managers", DEFAULTS.swarm.managers, SWARM_CLUSTER_RULES.managers),
        workers: s.number("workers", DEFAULTS.swarm.workers, SWARM_CLUSTER_RULES.workers),
        nodeResources: s.resources("nodeResources", DEFAULTS.swarm.nodeResources),
    };
    s.rejectUnknown();

    // web
    const w = new Section("web", raw.web, issues);
    const rules = WEB_SERVICE_RULES;
    const replicas = w.number("replicas", DEFAULTS.web.replicas, rules.replicas);
    const version = w.string("version", undefined, rules.version);
    const resources = w.resources("resources", DEFAULTS.web.resources);
    const portMin = w.number("portMin", DEFAULTS.web.portMin, rules.port);
    const portMax = w.number("portMax", DEFAULTS.web.portMax, rules.port);
    const drainSeconds = w.number("drainSeconds", DEFAULTS.web.drainSeconds, rules.drainSeconds);
    // A stopping task must keep serving until the LB pair's HAProxy has dropped it (it discovers tasks
    // through Consul's DNS): a rule between two components, so the stack's.
    if (drainSeconds < LB_DEREGISTRATION_LAG_SECONDS) {
        w.fail(
            "drainSeconds",
            drainSeconds,
            `must be at least ${LB_DEREGISTRATION_LAG_SECONDS} seconds (HAProxy drops a deregistered task within ${LB_DEREGISTRATION_LAG_SECONDS} s)`,
        );
    }
    const stopGraceSeconds = w.number("stopGraceSeconds", DEFAULTS.web.stopGraceSeconds, rules.stopGraceSeconds);
    issues.push(
        ...webServiceRelationIssues(
            { replicas, version, resources, portRange: { min: portMin, max: portMax }, drainSeconds, stopGraceSeconds },
            webKey,
        ),
    );
    const web = { replicas, version, resources, portMin, portMax, drainSeconds, stopGraceSeconds };
    w.rejectUnknown();

    // aws: read on every stack so a misspelt key is caught anywhere; only platform aws uses it.
    const aws = readAwsSection(new Section("aws", raw.aws, issues));
    // (A refused domain reads as "" too, and was reported as refused.)
    if (platform === "aws" && aws.domain === "" && !issues.some((i) => i.key === "aws.domain")) {
        issues.push({
            key: "aws.domain",
            value: undefined,
            rule: "is required with platform aws: the load balancer serves HTTPS with an ACM certificate for this name",
        });
    }
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
    const rawSubnet = n.raw("subnet");
    // A refused subnet reads as the default: the address plan and the VIP are then checked against
    // neither (the user did not set the default, so its issues would only mislead).
    const subnetProblem = rawSubnet === undefined ? undefined : (cidrProblem(String(rawSubnet)) ?? poolOverlap(String(rawSubnet)));
    const subnet = n.string(
        "subnet",
        DEFAULTS.network.subnet[platform],
        ruleOf(() => subnetProblem === undefined, subnetProblem ?? ""),
    );
    n.rejectUnknown();
    const counts = { consulServers: consul.servers, managers: swarm.managers, workers: swarm.workers };
    const subnetOk = subnetProblem === undefined;
    if (subnetOk) issues.push(...subnetSizeIssues(platform, subnet, counts, aws.zones));

    // lb
    const l = new Section("lb", raw.lb, issues);
    const lbRules = LOAD_BALANCER_PAIR_RULES;
    const vrrpVersion = l.number("vrrpVersion", DEFAULTS.lb.vrrpVersion, lbRules.vrrpVersion) as 2 | 3;
    // (An invalid version was reported and reads as the default.)
    const advertIntervalSeconds = l.number(
        "advertIntervalSeconds",
        DEFAULTS.lb.advertIntervalSeconds[vrrpVersion],
        lbRules.advertIntervalSeconds(vrrpVersion, (k) => `lb.${k}`),
    );
    const virtualRouterId = l.number("virtualRouterId", DEFAULTS.lb.virtualRouterId, lbRules.virtualRouterId);
    // (`subnet` is a valid CIDR here: a refused one reads as the default.)
    const defaultVip = platform === "aws" ? DEFAULTS.lb.awsOverlayVip : hostAddress(subnet, DEFAULTS.lb.vipHostOffset);
    const vip = l.string("vip", defaultVip, lbRules.vip);
    const lbResources = l.resources("resources", DEFAULTS.lb.resources);
    l.rejectUnknown();
    // A refused VIP reads as its default, an IPv4 address too.
    if (subnetOk) issues.push(...vipIssues(platform, subnet, vip, counts));
    const lb = { vip, vrrpVersion, advertIntervalSeconds, virtualRouterId, resources: lbResources };

    // edge
    const e = new Section("edge", raw.edge, issues);
    const edge = {
        bindAddress: e.string(
            "bindAddress",
            DEFAULTS.edge.bindAddress,
            ruleOf(isIPv4, "must be an IPv4 address of this host (127.0.0.1 keeps the platform private)"),
        ),
        webPort: e.number("webPort", DEFAULTS.edge.webPort, PORT),
        httpPort: e.number("httpPort", DEFAULTS.edge.httpPort, PORT),
        consulUiPort: e.number("consulUiPort", DEFAULTS.edge.consulUiPort, PORT),
        statsPort: e.number("statsPort", DEFAULTS.edge.statsPort, PORT),
        prometheusPort: e.number("prometheusPort", DEFAULTS.edge.prometheusPort, PORT),
        resources: e.resources("resources", DEFAULTS.edge.resources),
    };
    const ports = [
        ["webPort", edge.webPort],
        ["httpPort", edge.httpPort],
        ["consulUiPort", edge.consulUiPort],
        ["statsPort", edge.statsPort],
        ["prometheusPort", edge.prometheusPort],
    ] as const;
    ports.forEach(([k, p], i) => {
        const clash = ports.slice(0, i).find(([, q]) => q === p);
        if (clash) e.fail(k, p, `must differ from edge.${clash[0]}`);
    });
    e.rejectUnknown();

    // rotation: generation counters of the day-2 secret rotations, checked by the rules of the
    // components that rotate them.
    const r = new Section("rotation", raw.rotation, issues);
    const rotation = {
        swarmJoinTokens: r.number("swarmJoinTokens", DEFAULTS.rotation.swarmJoinTokens, SWARM_CLUSTER_RULES.joinTokenRotation),
        statsPassword: r.number("statsPassword", DEFAULTS.rotation.statsPassword, LOAD_BALANCER_PAIR_RULES.statsPasswordRotation),
    };
    r.rejectUnknown();

    if (issues.length > 0) return { issues };
    return { issues, config: { stack, platform, consul, swarm, web, lb, network: { subnet }, edge, rotation, aws } };
}

/** The subnet must hold the address plan: local, one network; aws, zone subnets 4 bits longer. */
function subnetSizeIssues(platform: PlatformName, subnet: string, counts: AddressCounts, zones: number): ConfigIssue[] {
    // No default: with a new PlatformName this switch fails to compile (TS2366, no ending return).
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
            if (prefix < AWS_BOUNDS.vpcPrefix.min || prefix > AWS_BOUNDS.vpcPrefix.max) {
                return [
                    {
                        key: "network.subnet",
                        value: subnet,
                        rule: `must be a /${AWS_BOUNDS.vpcPrefix.min}–/${AWS_BOUNDS.vpcPrefix.max} VPC range (each zone gets a public and a private subnet ${AWS_ZONE_SUBNET_BITS} bits longer)`,
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
    }
}

/** local: a free host of the nodes' subnet; aws: an overlay address outside the VPC. */
function vipIssues(platform: PlatformName, subnet: string, vip: string, counts: AddressCounts): ConfigIssue[] {
    const [net, prefix] = ipaddr.IPv4.parseCIDR(subnet);
    const inside = ipaddr.IPv4.parse(vip).match(net, prefix);
    // No default: with a new PlatformName this switch fails to compile (TS2366, no ending return).
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
    }
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/**
 * An SNS topic ARN: `arn:<partition>:sns:<region>:<account>:<topic name>`. Partitions are aws,
 * aws-cn, aws-us-gov, … (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html); a
 * topic name is 1–256 letters, digits, hyphens and underscores, a FIFO topic's ending in .fifo
 * (CreateTopic, Name: https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html).
 */
export const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;
const SNS_TOPIC_ARN_RULE =
    "must be an SNS topic ARN, arn:aws[-partition]:sns:<region>:<12-digit account>:<topic name>, such as arn:aws:sns:eu-west-1:123456789012:platform-alarms";

/** aws.monitoring: where alarms notify, how long logs stay. */
function readMonitoringSection(m: Section): AwsMonitoringConfig {
    const config: AwsMonitoringConfig = {
        alarmTopicArn: m.string(
            "alarmTopicArn",
            DEFAULTS.aws.monitoring.alarmTopicArn,
            ruleOf((v) => SNS_TOPIC_ARN.test(v), SNS_TOPIC_ARN_RULE),
        ),
        logRetentionDays: m.number(
            "logRetentionDays",
            DEFAULTS.aws.monitoring.logRetentionDays,
            ruleOf(
                (v) => LOG_RETENTION_DAYS.includes(v),
                `must be a retention period CloudWatch Logs accepts, in days: ${LOG_RETENTION_DAYS.join(", ")}`,
            ),
        ),
    };
    m.rejectUnknown();
    return config;
}

function readAwsSection(a: Section): AwsConfig {
    const types = new Section("aws.instanceTypes", a.raw("instanceTypes"), a.issuesList);
    const instanceType = (k: keyof InstanceTypes) =>
        types.string(
            k,
            DEFAULTS.aws.instanceTypes[k],
            ruleOf((v) => INSTANCE_TYPE.test(v), "must be an EC2 instance type such as t3.medium"),
        );
    const instanceTypes = {
        consulServer: instanceType("consulServer"),
        manager: instanceType("manager"),
        worker: instanceType("worker"),
        lb: instanceType("lb"),
        monitoring: instanceType("monitoring"),
    };
    types.rejectUnknown();
    const amiId =
        a.raw("amiId") === undefined
            ? undefined
            : a.string(
                  "amiId",
                  undefined,
                  ruleOf((v) => /^ami-[0-9a-f]{8,17}$/.test(v), "must be an AMI id such as ami-0123456789abcdef0"),
              );
    const amiName =
        a.raw("amiName") === undefined
            ? undefined
            : a.string(
                  "amiName",
                  undefined,
                  ruleOf(
                      (v) => /^debian-12-amd64-\d{8}-\d{1,6}$/.test(v),
                      "must be an official Debian 12 amd64 image name such as debian-12-amd64-20250316-2053",
                  ),
              );
    // Named with the value given: a refused amiName reads as "".
    if (amiId !== undefined && amiName !== undefined) a.fail("amiName", a.raw("amiName"), "give aws.amiName or aws.amiId, not both");
    const config: AwsConfig = {
        zones: a.number(
            "zones",
            DEFAULTS.aws.zones,
            ruleOf(
                (v) => isInt(v) && v >= AWS_BOUNDS.zones.min && v <= AWS_BOUNDS.zones.max,
                `must be a whole number from ${AWS_BOUNDS.zones.min} to ${AWS_BOUNDS.zones.max} (a quorum must survive a zone outage)`,
            ),
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
            ruleOf(
                (v) => isInt(v) && v >= AWS_BOUNDS.rootVolumeGb.min && v <= AWS_BOUNDS.rootVolumeGb.max,
                `must be a whole number of GiB from ${AWS_BOUNDS.rootVolumeGb.min} to ${AWS_BOUNDS.rootVolumeGb.max}`,
            ),
        ),
        interface: a.string(
            "interface",
            DEFAULTS.aws.interface,
            ruleOf((v) => /^[a-z][a-z0-9]{1,14}$/.test(v), "must be a network interface name such as ens5"),
        ),
        natGateways: a.string(
            "natGateways",
            DEFAULTS.aws.natGateways,
            ruleOf((v) => v === "perZone" || v === "single", 'must be "perZone" or "single"'),
        ) as AwsConfig["natGateways"],
        ssmAgentVersion: a.string(
            "ssmAgentVersion",
            DEFAULTS.aws.ssmAgentVersion,
            ruleOf((v) => /^(latest|\d+\.\d+\.\d+\.\d+)$/.test(v), 'must be "latest" or an SSM agent release such as 3.3.1611.0'),
        ),
        // Absent reads as "" and is refused on platform aws only (validateStackConfig): dev stacks need none.
        domain:
            a.raw("domain") === undefined
                ? ""
                : a.string(
                      "domain",
                      undefined,
                      ruleOf((v) => DOMAIN_NAME.test(v), DOMAIN_NAME_RULE),
                  ),
        route53ZoneId: a.string(
            "route53ZoneId",
            DEFAULTS.aws.route53ZoneId,
            ruleOf((v) => ROUTE53_ZONE_ID.test(v), "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"),
        ),
        monitoring: readMonitoringSection(new Section("aws.monitoring", a.raw("monitoring"), a.issuesList)),
    };
    a.rejectUnknown();
    return config;
}
