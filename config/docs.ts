// The stack-config keys as a user reads them — what each sets, its rule, its default on each
// platform — rendered into the README's table and Pulumi.yaml's comment by `npm run docs:config`
// (tools/configDoc.ts); tests/config/configDocs.test.ts fails when either file is out of date, when a
// key the validator reads is missing here, or when a default shown here is not the one it resolves.
// Defaults come from DEFAULTS (which takes each component's from its contract) and the numbers in
// the rules from the constants the validators use, so a changed default or bound changes the docs.
import {
    LB_DEREGISTRATION_LAG_SECONDS,
    LIMIT_BOUNDS,
    MAX_DRAIN_SECONDS,
    MAX_QUORUM,
    ResourceLimits,
    STOP_GRACE_MARGIN_SECONDS,
    MAX_REPLICAS,
    MAX_STOP_GRACE_SECONDS,
    SWARM_ADDRESS_POOLS,
    CONSUL_TLS_MODES,
} from "../components/contracts";
import { hostAddress } from "./addresses";
import { AWS_BOUNDS, DEFAULTS, LOG_RETENTION_DAYS, PlatformName, PLATFORMS, PRODUCTION_STACKS, PROD_MIN_QUORUM } from "./schema";

/** A key that must be set (on the platforms that read it). */
export const REQUIRED = Symbol("required");

/** What a key defaults to: a value, a list, resource limits, or nothing (required). */
export type DefaultValue = string | number | readonly string[] | ResourceLimits | typeof REQUIRED;

export interface KeyDoc {
    /** As `pulumi config set --path` spells it; also the path of its value in StackConfig. */
    readonly key: string;
    readonly meaning: string;
    readonly rule: string;
    /** The default on each platform that reads the key (absent: that platform ignores it). */
    readonly defaults: Partial<Record<PlatformName, DefaultValue>>;
    /** How the default reads, when the value alone would not say it. */
    readonly shown?: Partial<Record<PlatformName, string>>;
}

const both = (value: DefaultValue): Partial<Record<PlatformName, DefaultValue>> => ({ local: value, aws: value });
const limits = (key: string, of: string, value: ResourceLimits, platforms: readonly PlatformName[] = PLATFORMS): KeyDoc => ({
    key,
    meaning: `CPU and memory limits of ${of} (\`.cpus\`, \`.memoryMb\`)`,
    rule:
        `\`cpus\` ${LIMIT_BOUNDS.minCpus}–${LIMIT_BOUNDS.maxCpus} (at most ${LIMIT_BOUNDS.cpuDecimals} decimals), ` +
        `\`memoryMb\` a whole number ${LIMIT_BOUNDS.minMemoryMb}–${LIMIT_BOUNDS.maxMemoryMb}`,
    defaults: Object.fromEntries(platforms.map((p) => [p, value])),
});
const instanceType = (role: keyof typeof DEFAULTS.aws.instanceTypes, of: string): KeyDoc => ({
    key: `aws.instanceTypes.${role}`,
    meaning: `EC2 instance type of ${of}`,
    rule: "an instance type such as t3.medium",
    defaults: { aws: DEFAULTS.aws.instanceTypes[role] },
});

/**
 * Every stack-config key, in the order the docs list them. Built per call, not when the module loads:
 * StrykerJS can then tell which tests cover each entry (tests/mutation/README.md).
 */
export function configKeys(): readonly KeyDoc[] {
    const quorumRule = `odd, 1–${MAX_QUORUM}; ≥ ${PROD_MIN_QUORUM} on platform aws and on stacks named ${PRODUCTION_STACKS.join(" or ")}`;
    const localVip = hostAddress(DEFAULTS.network.subnet.local, DEFAULTS.lb.vipHostOffset);
    return [
        {
            key: "platform",
            meaning: "where the nodes run: containers on the local Docker engine, or EC2",
            rule: PLATFORMS.map((p) => `\`${p}\``).join(" or "),
            defaults: both(REQUIRED),
        },
        { key: "consul.servers", meaning: "Consul servers", rule: quorumRule, defaults: both(DEFAULTS.consul.servers) },
        {
            key: "consul.version",
            meaning: "the official Consul image tag (local) / release (aws), pinned",
            rule: "a Docker image tag",
            defaults: both(DEFAULTS.consul.version),
        },
        {
            key: "consul.datacenter",
            meaning: "the Consul datacenter",
            rule: "a lowercase DNS label",
            defaults: both(DEFAULTS.consul.datacenter),
        },
        limits("consul.resources", "each Consul server", DEFAULTS.consul.resources),
        limits("consul.agentResources", "each Consul client agent beside a node", DEFAULTS.consul.agentResources),
        {
            key: "consul.tls",
            meaning:
                "how far Consul's mutual TLS is on; a stack made before it steps `off` → `accept` → `permissive` → `enforce`, one `pulumi up` each (docs/day2.md)",
            rule: CONSUL_TLS_MODES.map((m) => `\`${m}\``).join(", "),
            defaults: both(DEFAULTS.consul.tls),
        },
        { key: "swarm.managers", meaning: "Swarm managers", rule: quorumRule, defaults: both(DEFAULTS.swarm.managers) },
        { key: "swarm.workers", meaning: "Swarm workers", rule: "a whole number ≥ 0", defaults: both(DEFAULTS.swarm.workers) },
        limits("swarm.nodeResources", "each swarm node (local: the Docker-in-Docker container)", DEFAULTS.swarm.nodeResources),
        {
            key: "web.replicas",
            meaning: "web service tasks",
            rule: `a whole number 1–${MAX_REPLICAS}`,
            defaults: both(DEFAULTS.web.replicas),
        },
        { key: "web.version", meaning: "the web image version (its tag)", rule: "a Docker image tag", defaults: both(REQUIRED) },
        limits("web.resources", "each web task", DEFAULTS.web.resources),
        {
            key: "web.portMin",
            meaning: "first host port a task may bind (tasks use the node's network)",
            rule: "1024–65535; the range holds no port of the swarm node's own services",
            defaults: both(DEFAULTS.web.portMin),
        },
        {
            key: "web.portMax",
            meaning: "last host port a task may bind",
            rule: "1024–65535, ≥ `web.portMin`, at least `web.replicas` + 1 ports in the range",
            defaults: both(DEFAULTS.web.portMax),
        },
        {
            key: "web.drainSeconds",
            meaning: "how long a stopping task keeps serving after leaving Consul",
            rule: `${LB_DEREGISTRATION_LAG_SECONDS}–${MAX_DRAIN_SECONDS} s (HAProxy drops a deregistered task within ${LB_DEREGISTRATION_LAG_SECONDS} s)`,
            defaults: both(DEFAULTS.web.drainSeconds),
        },
        {
            key: "web.stopGraceSeconds",
            meaning: "Swarm's stop grace period: SIGTERM to SIGKILL",
            rule: `whole seconds ≥ \`web.drainSeconds\` + ${STOP_GRACE_MARGIN_SECONDS}, ≤ ${MAX_STOP_GRACE_SECONDS}`,
            defaults: both(DEFAULTS.web.stopGraceSeconds),
        },
        {
            key: "lb.vip",
            meaning: "the virtual IP the HAProxy pair shares",
            rule: "local: a free host of `network.subnet`; aws: a private address outside the VPC (routed to the MASTER)",
            defaults: { local: localVip, aws: DEFAULTS.lb.awsOverlayVip },
            shown: { local: `\`${localVip}\` (host ${DEFAULTS.lb.vipHostOffset} of \`network.subnet\`)` },
        },
        {
            key: "lb.vrrpVersion",
            meaning: "VRRP version: 3 has sub-second adverts and no authentication, 2 has PASS authentication",
            rule: "2 or 3",
            defaults: both(DEFAULTS.lb.vrrpVersion),
        },
        {
            key: "lb.advertIntervalSeconds",
            meaning: "VRRP advert interval; a dead MASTER is replaced after about 3 × this",
            rule: "VRRPv3: 0.01–40 in steps of 0.01; VRRPv2: whole seconds 1–255",
            defaults: both(DEFAULTS.lb.advertIntervalSeconds[DEFAULTS.lb.vrrpVersion]),
            shown: Object.fromEntries(
                PLATFORMS.map((p) => [p, `${DEFAULTS.lb.advertIntervalSeconds[3]} (v3), ${DEFAULTS.lb.advertIntervalSeconds[2]} (v2)`]),
            ),
        },
        {
            key: "lb.virtualRouterId",
            meaning: "VRRP virtual router id, unique on the network",
            rule: "1–255",
            defaults: both(DEFAULTS.lb.virtualRouterId),
        },
        limits("lb.resources", "each LB node", DEFAULTS.lb.resources),
        {
            key: "network.subnet",
            meaning: "the nodes' private IPv4 range: local, the Docker network; aws, the VPC",
            rule:
                `a private CIDR (host bits zero) that holds the address plan and overlaps no swarm address pool ` +
                `(${SWARM_ADDRESS_POOLS.map((p) => `\`${p.cidr}\``).join(", ")}); aws: /${AWS_BOUNDS.vpcPrefix.min}–/${AWS_BOUNDS.vpcPrefix.max}`,
            defaults: { local: DEFAULTS.network.subnet.local, aws: DEFAULTS.network.subnet.aws },
        },
        {
            key: "edge.bindAddress",
            meaning: "host address the edge (the local stand-in for the cloud load balancer) listens on",
            rule: "an IPv4 address of this host",
            defaults: { local: DEFAULTS.edge.bindAddress },
        },
        {
            key: "edge.webPort",
            meaning: "host port of the web service, HTTPS with a certificate from the stack's own CA (output `webCaCertificate`)",
            rule: "a TCP port, unique among the edge's",
            defaults: { local: DEFAULTS.edge.webPort },
        },
        {
            key: "edge.httpPort",
            meaning: "host port that answers plain HTTP with a redirect (301) to `edge.webPort`",
            rule: "a TCP port, unique among the edge's",
            defaults: { local: DEFAULTS.edge.httpPort },
        },
        {
            key: "edge.consulUiPort",
            meaning: "host port of the Consul UI",
            rule: "a TCP port, unique among the edge's",
            defaults: { local: DEFAULTS.edge.consulUiPort },
        },
        {
            key: "edge.statsPort",
            meaning: "host port of the HAProxy stats page",
            rule: "a TCP port, unique among the edge's",
            defaults: { local: DEFAULTS.edge.statsPort },
        },
        {
            key: "edge.prometheusPort",
            meaning: "host port of Prometheus (output `prometheusUrl`)",
            rule: "a TCP port, unique among the edge's",
            defaults: { local: DEFAULTS.edge.prometheusPort },
        },
        limits("edge.resources", "the edge container", DEFAULTS.edge.resources, ["local"]),
        {
            key: "rotation.swarmJoinTokens",
            meaning:
                "raise it to rotate the swarm's worker and manager join tokens on the next `pulumi up` (joined nodes stay; later joins get the new token)",
            rule: "a whole number ≥ 0; each increase rotates once",
            defaults: both(DEFAULTS.rotation.swarmJoinTokens),
        },
        {
            key: "rotation.statsPassword",
            meaning: "change it to draw a new HAProxy stats password on the next `pulumi up` (LB nodes roll one at a time)",
            rule: "a whole number ≥ 0; each change draws a new password",
            defaults: both(DEFAULTS.rotation.statsPassword),
        },
        {
            key: "aws.zones",
            meaning: "availability zones the nodes spread over (node i of a group in zone i mod zones)",
            rule: `${AWS_BOUNDS.zones.min}–${AWS_BOUNDS.zones.max}, and the region must have as many`,
            defaults: { aws: DEFAULTS.aws.zones },
        },
        instanceType("consulServer", "the Consul servers"),
        instanceType("manager", "the Swarm managers"),
        instanceType("worker", "the Swarm workers"),
        instanceType("lb", "the LB nodes"),
        instanceType("monitoring", "the Prometheus node"),
        {
            key: "aws.amiName",
            meaning: "the AMI of every node, by official Debian 12 image name (the same in every region)",
            rule: "`debian-12-amd64-YYYYMMDD-NNNN`; this or `aws.amiId` (README: Updating the AMI)",
            defaults: { aws: REQUIRED },
            shown: { aws: "required (or `aws.amiId`)" },
        },
        {
            key: "aws.amiId",
            meaning: "the AMI of every node, by id (region-specific)",
            rule: "`ami-…`; this or `aws.amiName`",
            defaults: { aws: REQUIRED },
            shown: { aws: "required (or `aws.amiName`)" },
        },
        {
            key: "aws.operatorCidrs",
            meaning: "CIDRs that may reach the nodes on SSH (22); without, operators use SSM Session Manager",
            rule: "a list of CIDRs, each /8 or narrower (never `0.0.0.0/0`)",
            defaults: { aws: DEFAULTS.aws.operatorCidrs },
        },
        {
            key: "aws.rootVolumeGb",
            meaning: "size of each node's encrypted gp3 root volume, GiB",
            rule: `${AWS_BOUNDS.rootVolumeGb.min}–${AWS_BOUNDS.rootVolumeGb.max}`,
            defaults: { aws: DEFAULTS.aws.rootVolumeGb },
        },
        {
            key: "aws.interface",
            meaning: "the primary network interface on the AMI (keepalived's)",
            rule: "an interface name",
            defaults: { aws: DEFAULTS.aws.interface },
        },
        {
            key: "aws.natGateways",
            meaning: "NAT gateways: one per zone (survives a zone outage) or a single one (cheaper)",
            rule: "`perZone` or `single`",
            defaults: { aws: DEFAULTS.aws.natGateways },
        },
        {
            key: "aws.ssmAgentVersion",
            meaning: "the Amazon SSM agent release installed at first boot",
            rule: "`latest` or a release such as 3.3.1611.0",
            defaults: { aws: DEFAULTS.aws.ssmAgentVersion },
        },
        {
            key: "aws.domain",
            meaning:
                "the web service's public name: the load balancer's HTTPS certificate (ACM, DNS-validated) is for it, `webUrl` is `https://` it",
            rule: "a lowercase fully qualified host name (RFC 1123 labels, ≤ 253 characters)",
            defaults: { aws: REQUIRED },
        },
        {
            key: "aws.route53ZoneId",
            meaning:
                "a Route 53 public hosted zone holding `aws.domain`: the certificate's validation record and the domain's alias to the load balancer are made there; without, both are the output `ingressDnsRecords` for your DNS",
            rule: "a hosted zone id such as `Z0123456789ABCDEFGHIJ`",
            defaults: { aws: DEFAULTS.aws.route53ZoneId },
            shown: { aws: "none" },
        },
        {
            key: "aws.monitoring.alarmTopicArn",
            meaning:
                "the SNS topic every CloudWatch alarm notifies on ALARM and OK (README: Prod monitoring); without, the stack makes its own topic `<project>-<stack>-alarms` to subscribe to",
            rule: "an SNS topic ARN, `arn:aws[-partition]:sns:<region>:<12-digit account>:<topic name>`",
            defaults: { aws: DEFAULTS.aws.monitoring.alarmTopicArn },
            shown: { aws: "none (the stack's own topic)" },
        },
        {
            key: "aws.monitoring.logRetentionDays",
            meaning: "days CloudWatch Logs keeps the nodes' container and daemon logs",
            rule: `one of the periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`,
            defaults: { aws: DEFAULTS.aws.monitoring.logRetentionDays },
        },
    ];
}

/** Array.isArray, narrowing a readonly list too. */
const isList = (value: DefaultValue | undefined): value is readonly string[] => Array.isArray(value);

/** How a default reads in the docs. */
export function showDefault(doc: KeyDoc, platform: PlatformName): string {
    if (!(platform in doc.defaults)) return "—";
    const custom = doc.shown?.[platform];
    if (custom !== undefined) return custom;
    const value = doc.defaults[platform];
    if (value === REQUIRED) return "required";
    if (isList(value)) return value.length === 0 ? "none" : value.map((v) => `\`${v}\``).join(", ");
    if (typeof value === "object") return `${value.cpus} CPU, ${value.memoryMb} MiB`;
    return typeof value === "string" ? `\`${value}\`` : String(value);
}

/** The README's table. */
export function renderConfigTable(keys: readonly KeyDoc[] = configKeys()): string {
    const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
    return [
        row(["key", "what it sets", "rule", ...PLATFORMS.map((p) => `default (\`${p}\`)`)]),
        row(["---", "---", "---", ...PLATFORMS.map(() => "---")]),
        ...keys.map((k) => row([`\`${k.key}\``, k.meaning, k.rule, ...PLATFORMS.map((p) => showDefault(k, p))])),
    ].join("\n");
}

/** The comment in Pulumi.yaml: one key per entry, wrapped, without Markdown's backquotes. */
export function renderPulumiYamlComment(keys: readonly KeyDoc[] = configKeys(), width = 100): string {
    const plain = (s: string) => s.replace(/`/g, "");
    const column = 4 + Math.max(...keys.map((k) => k.key.length)) + 2;
    const lines: string[] = [];
    for (const k of keys) {
        const platforms = PLATFORMS.filter((p) => p in k.defaults);
        const shown = platforms.map((p) => plain(showDefault(k, p)));
        const defaults = new Set(shown).size === 1 ? shown[0] : platforms.map((p, i) => `${p} ${shown[i]}`).join("; ");
        const scope = platforms.length < PLATFORMS.length ? `(${platforms.join(", ")} only) ` : "";
        const words = `${scope}${plain(k.meaning)}. Rule: ${plain(k.rule)}. Default: ${defaults}.`.split(" ");
        let line = `#   ${k.key}`.padEnd(column - 1);
        for (const word of words) {
            if (line.length + 1 + word.length > width) {
                lines.push(line);
                line = "#".padEnd(column - 1);
            }
            line += ` ${word}`;
        }
        lines.push(line);
    }
    return lines.join("\n");
}

/** The generated parts of README.md and Pulumi.yaml sit between these lines. */
export const MARKERS = {
    readme: {
        begin: "<!-- BEGIN config keys: generated by `npm run docs:config` from config/docs.ts -->",
        end: "<!-- END config keys -->",
    },
    pulumiYaml: { begin: "# BEGIN config keys: generated by `npm run docs:config` from config/docs.ts", end: "# END config keys" },
} as const;

/** `text` with the part between `begin` and `end` replaced by `body`; throws when the markers are missing. */
export function replaceBetween(text: string, begin: string, end: string, body: string): string {
    const from = text.indexOf(begin);
    const to = text.indexOf(end, from);
    if (from === -1 || to === -1) throw new Error(`markers not found: "${begin}" … "${end}"`);
    return `${text.slice(0, from + begin.length)}\n${body}\n${text.slice(to)}`;
}

/** README.md and Pulumi.yaml as they must read. */
export function generatedDocs(files: { readme: string; pulumiYaml: string }): { readme: string; pulumiYaml: string } {
    return {
        readme: replaceBetween(files.readme, MARKERS.readme.begin, MARKERS.readme.end, renderConfigTable()),
        pulumiYaml: replaceBetween(files.pulumiYaml, MARKERS.pulumiYaml.begin, MARKERS.pulumiYaml.end, renderPulumiYamlComment()),
    };
}
