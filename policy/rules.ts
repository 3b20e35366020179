// The policy pack's rules as plain functions over plain data: no @pulumi/policy import, so tests
// (and anything else) can run them directly. policy/pack.ts adapts the policy SDK's arguments to
// `RuleResource`; tests/policy adapts the mock-runtime graph of the real program the same way.
import * as zlib from "zlib";

/** Stands for a value Pulumi does not know yet (preview of a new resource). */
export const UNKNOWN: unique symbol = Symbol.for("swarm-platform.policy.unknown");

export interface RuleResource {
    /** Pulumi type token, e.g. "aws:ec2/instance:Instance". */
    readonly type: string;
    /** Logical name. */
    readonly name: string;
    readonly urn: string;
    /** URN of the parent resource, if any. */
    readonly parent?: string;
    /** Inputs, plain; values not known yet are `UNKNOWN`. */
    readonly props: Record<string, unknown>;
    /**
     * Paths of the inputs that are secrets ("uploads[0].content"; a secret object makes everything
     * under it secret). `undefined` when secret-ness cannot be seen — the policy SDK hands validations
     * unwrapped values; only remediations see which values are secrets.
     */
    readonly secretPaths?: ReadonlySet<string>;
    /** URNs of the resources each top-level input refers to (Pulumi's property dependencies). */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

export interface Violation {
    /** The resource the violation is reported on. */
    readonly urn: string;
    readonly message: string;
}

export const TYPES = {
    container: "docker:index/container:Container",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    subnet: "aws:ec2/subnet:Subnet",
    eip: "aws:ec2/eip:Eip",
    eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
    ebsVolume: "aws:ebs/volume:Volume",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ssmParameter: "aws:ssm/parameter:Parameter",
    consulCluster: "swarm-platform:consul:Cluster",
    swarmCluster: "swarm-platform:swarm:Cluster",
} as const;

/** Load balancers and their listeners (the aws provider's lb and alb modules are aliases). */
const LOAD_BALANCER_TYPES = new Set(["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"]);
const LISTENER_TYPES = new Set(["aws:lb/listener:Listener", "aws:alb/listener:Listener"]);
/** Resources that are a node of the platform. */
const NODE_TYPES = new Set<string>([TYPES.container, TYPES.instance]);

const ANYWHERE_V4 = "0.0.0.0/0";
const ANYWHERE_V6 = "::/0";

// ---------------------------------------------------------------------------------------------
// Helpers

const isUnknown = (v: unknown): v is typeof UNKNOWN => v === UNKNOWN;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const asRecord = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const show = (v: unknown): string => (isUnknown(v) ? "(unknown)" : v === undefined ? "unset" : JSON.stringify(v));
/** true / "true" (launch templates carry booleans as strings). */
const isTrue = (v: unknown) => v === true || v === "true";
const isFalse = (v: unknown) => v === false || v === "false";

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

/** Readable, unambiguous path: `uploads[0].content`, `tags["swarm-platform:role"]`. */
export function pathOf(segments: readonly PathSegment[]): string {
    return segments
        .map((s, i) =>
            typeof s === "number" ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `${i === 0 ? "" : "."}${s}` : `[${JSON.stringify(s)}]`,
        )
        .join("");
}

/** Every string in a value, with its path. */
export function stringLeaves(value: unknown, segments: PathSegment[] = []): { path: string; segments: PathSegment[]; value: string }[] {
    if (typeof value === "string") return [{ path: pathOf(segments), segments, value }];
    if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...segments, i]));
    if (isRecord(value)) return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...segments, k]));
    return [];
}

/** Whether `path` is secret: it, or an object or array it is inside, is in `secretPaths`. */
export function isSecretPath(secretPaths: ReadonlySet<string>, path: string): boolean {
    for (const p of secretPaths) {
        if (p === "" || path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) return true;
    }
    return false;
}

/** The platform role of a node: its `swarm-platform:role` tag, else its logical name. */
export function nodeRole(r: RuleResource): string | undefined {
    if (!NODE_TYPES.has(r.type)) return undefined;
    const tag = asRecord(r.props.tags)["swarm-platform:role"];
    if (typeof tag === "string") return tag;
    return /^(consul-server|swarm-manager|swarm-worker|lb)-\d+$/.exec(r.name)?.[1];
}

/** Whether `r` is `ancestor` or below it. */
function isDescendant(r: RuleResource, ancestorUrn: string, byUrn: ReadonlyMap<string, RuleResource>): boolean {
    const seen = new Set<string>();
    for (let p = r.parent; p !== undefined && !seen.has(p); p = byUrn.get(p)?.parent) {
        if (p === ancestorUrn) return true;
        seen.add(p);
    }
    return false;
}

const dependencyUrns = (r: RuleResource, prop: string): readonly string[] => r.propertyDependencies?.[prop] ?? [];

// ---------------------------------------------------------------------------------------------
// odd-quorum (stack)

export const QUORUM_GROUPS = [
    { component: TYPES.consulCluster, role: "consul-server", label: "Consul servers" },
    { component: TYPES.swarmCluster, role: "swarm-manager", label: "Swarm managers" },
] as const;

/**
 * Consul servers and Swarm managers are Raft quorum groups: an even count tolerates no more failures
 * than the odd count below it and can split evenly. The cluster components register no inputs, so
 * the servers/managers are counted among each component's child nodes (containers or instances,
 * by `swarm-platform:role` tag or by name).
 */
export function oddQuorum(resources: readonly RuleResource[]): Violation[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const violations: Violation[] = [];
    for (const group of QUORUM_GROUPS) {
        const members = resources.filter((r) => nodeRole(r) === group.role);
        const components = resources.filter((r) => r.type === group.component);
        // Without the component (another program shape), count the role across the stack.
        const scopes = components.length > 0 ? components.map((c) => ({ urn: c.urn, name: c.name })) : [{ urn: "", name: "" }];
        for (const scope of scopes) {
            const nodes = scope.urn ? members.filter((m) => isDescendant(m, scope.urn, byUrn)) : members;
            if (nodes.length === 0 && !scope.urn) continue;
            if (nodes.length % 2 === 1) continue;
            const names = nodes.map((n) => n.name).sort();
            violations.push({
                urn: scope.urn || nodes[0].urn,
                message:
                    `${group.label}${scope.name ? ` of ${scope.name}` : ""}: ${nodes.length} (${names.join(", ") || "none"}); ` +
                    `a Raft quorum group must have an odd number of members (${nodes.length} tolerates no more failures than ${Math.max(nodes.length - 1, 0)})`,
            });
        }
    }
    return violations;
}

// ---------------------------------------------------------------------------------------------
// no-public-ingress (stack: the exception needs the load balancer and its listeners)

interface OpenIngress {
    readonly rule: RuleResource;
    /** URNs of the security group(s) the rule opens. */
    readonly groups: readonly string[];
    readonly protocol: unknown;
    readonly fromPort: unknown;
    readonly toPort: unknown;
    readonly what: string;
}

function openIngresses(r: RuleResource): OpenIngress[] {
    const p = r.props;
    switch (r.type) {
        case TYPES.ingressRule:
            if (p.cidrIpv4 !== ANYWHERE_V4 && p.cidrIpv6 !== ANYWHERE_V6) return [];
            return [
                {
                    rule: r,
                    groups: dependencyUrns(r, "securityGroupId"),
                    protocol: p.ipProtocol,
                    fromPort: p.fromPort,
                    toPort: p.toPort,
                    what: `ingress from ${p.cidrIpv4 === ANYWHERE_V4 ? ANYWHERE_V4 : ANYWHERE_V6}`,
                },
            ];
        case TYPES.securityGroupRule: {
            if (p.type !== "ingress") return [];
            const open = asArray(p.cidrBlocks).includes(ANYWHERE_V4) || asArray(p.ipv6CidrBlocks).includes(ANYWHERE_V6);
            if (!open) return [];
            return [
                {
                    rule: r,
                    groups: dependencyUrns(r, "securityGroupId"),
                    protocol: p.protocol,
                    fromPort: p.fromPort,
                    toPort: p.toPort,
                    what: "ingress from anywhere",
                },
            ];
        }
        case TYPES.securityGroup:
            return asArray(p.ingress)
                .map(asRecord)
                .filter((i) => asArray(i.cidrBlocks).includes(ANYWHERE_V4) || asArray(i.ipv6CidrBlocks).includes(ANYWHERE_V6))
                .map((i) => ({
                    rule: r,
                    groups: [r.urn],
                    protocol: i.protocol,
                    fromPort: i.fromPort,
                    toPort: i.toPort,
                    what: "inline ingress from anywhere",
                }));
        default:
            return [];
    }
}

/**
 * Nothing may be reachable from 0.0.0.0/0 (or ::/0) except a load balancer's listener: the rule's
 * security group must be attached to a load balancer, and the rule must open exactly one TCP port
 * that is a listener port of that load balancer.
 */
export function noPublicIngress(resources: readonly RuleResource[]): Violation[] {
    const loadBalancers = resources.filter((r) => LOAD_BALANCER_TYPES.has(r.type));
    const listeners = resources.filter((r) => LISTENER_TYPES.has(r.type));
    const listenerPorts = (groupUrn: string): number[] =>
        loadBalancers
            .filter((lb) => dependencyUrns(lb, "securityGroups").includes(groupUrn))
            .flatMap((lb) => listeners.filter((l) => dependencyUrns(l, "loadBalancerArn").includes(lb.urn)))
            .map((l) => l.props.port)
            .filter((port): port is number => typeof port === "number");
    const violations: Violation[] = [];
    for (const open of resources.flatMap(openIngresses)) {
        const tcp = typeof open.protocol === "string" && ["tcp", "6"].includes(open.protocol.toLowerCase());
        const onePort = typeof open.fromPort === "number" && open.fromPort === open.toPort;
        const allowed =
            tcp && onePort && open.groups.length > 0 && open.groups.every((g) => listenerPorts(g).includes(open.fromPort as number));
        if (allowed) continue;
        violations.push({
            urn: open.rule.urn,
            message:
                `${open.rule.name}: ${open.what} (protocol ${show(open.protocol)}, ports ${show(open.fromPort)}-${show(open.toPort)}); ` +
                "only a load balancer's listener port may be open to the internet",
        });
    }
    return violations;
}

// ---------------------------------------------------------------------------------------------
// public-listener-tls (stack: a listener is public when its load balancer is internet-facing)

/**
 * Security policies that accept TLS 1.2 and 1.3 only (the "TLS13-1-2" family and TLS 1.3-only
 * ones), per the policy tables of
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html and
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html.
 * Unset is not modern: API-created listeners then get ELBSecurityPolicy-2016-08 (TLS 1.0 up).
 */
export const MODERN_TLS_POLICY = /^ELBSecurityPolicy-TLS13-1-[23]-/;

/**
 * Every listener of an internet-facing load balancer encrypts: HTTPS or TLS with a TLS 1.2+ security
 * policy, or plain HTTP whose only default action redirects to HTTPS (the "redirect all HTTP to
 * HTTPS" control: https://docs.aws.amazon.com/config/latest/developerguide/alb-http-to-https-redirection-check.html).
 */
export function publicListenerTls(resources: readonly RuleResource[]): Violation[] {
    const publicLbs = new Set(
        resources.filter((r) => LOAD_BALANCER_TYPES.has(r.type) && isFalse(r.props.internal ?? false)).map((r) => r.urn),
    );
    const violations: Violation[] = [];
    for (const l of resources.filter((r) => LISTENER_TYPES.has(r.type))) {
        if (!dependencyUrns(l, "loadBalancerArn").some((urn) => publicLbs.has(urn))) continue;
        const protocol = l.props.protocol;
        const actions = asArray(l.props.defaultActions).map(asRecord);
        let problem: string | undefined;
        if (protocol === "HTTPS" || protocol === "TLS") {
            const policy = l.props.sslPolicy;
            if (!(typeof policy === "string" && MODERN_TLS_POLICY.test(policy)))
                problem = `sslPolicy is ${show(policy)}; a public TLS listener must accept TLS 1.2 and 1.3 only (ELBSecurityPolicy-TLS13-1-2-…)`;
        } else if (protocol === "HTTP") {
            const redirectsToHttps =
                actions.length > 0 && actions.every((a) => a.type === "redirect" && asRecord(a.redirect).protocol === "HTTPS");
            if (!redirectsToHttps) problem = "is plain HTTP that does not only redirect to HTTPS";
        } else {
            problem = `protocol is ${show(protocol)}; a public listener must be HTTPS or TLS (or HTTP redirecting to HTTPS)`;
        }
        if (problem !== undefined) violations.push({ urn: l.urn, message: `${l.name}: ${problem}` });
    }
    return violations;
}

// ---------------------------------------------------------------------------------------------
// imdsv2-required

export function imdsV2Required(r: RuleResource): string[] {
    if (r.type !== TYPES.instance && r.type !== TYPES.launchTemplate) return [];
    const tokens = asRecord(r.props.metadataOptions).httpTokens;
    return tokens === "required" ? [] : [`${r.name}: metadataOptions.httpTokens is ${show(tokens)}; IMDSv2 must be required ("required")`];
}

// ---------------------------------------------------------------------------------------------
// detailed-monitoring

/**
 * EC2 instances publish their metrics every minute (detailed monitoring), not every five: alarms on
 * a node react in minutes. AWS Config's managed rule of the same check,
 * https://docs.aws.amazon.com/config/latest/developerguide/ec2-instance-detailed-monitoring-enabled.html
 * ("NON_COMPLIANT if detailed monitoring is not enabled"); a launch template's instances get it from
 * `monitoring.enabled`. A value not known yet fails, as for IMDSv2: the program sets it literally.
 */
export function detailedMonitoring(r: RuleResource): string[] {
    switch (r.type) {
        case TYPES.instance:
            return isTrue(r.props.monitoring)
                ? []
                : [`${r.name}: monitoring is ${show(r.props.monitoring)}; EC2 instances need detailed monitoring (monitoring: true)`];
        case TYPES.launchTemplate: {
            const enabled = asRecord(r.props.monitoring).enabled;
            return isTrue(enabled)
                ? []
                : [`${r.name}: monitoring.enabled is ${show(enabled)}; instances need detailed monitoring (monitoring.enabled: true)`];
        }
        default:
            return [];
    }
}

// ---------------------------------------------------------------------------------------------
// encrypted-volumes

export function encryptedVolumes(r: RuleResource): string[] {
    const p = r.props;
    const problems: string[] = [];
    switch (r.type) {
        case TYPES.instance: {
            const root = asRecord(p.rootBlockDevice);
            if (!isTrue(root.encrypted)) problems.push(`${r.name}: rootBlockDevice.encrypted is ${show(root.encrypted)}; must be true`);
            asArray(p.ebsBlockDevices).forEach((d, i) => {
                const encrypted = asRecord(d).encrypted;
                if (!isTrue(encrypted)) problems.push(`${r.name}: ebsBlockDevices[${i}].encrypted is ${show(encrypted)}; must be true`);
            });
            break;
        }
        case TYPES.launchTemplate: {
            const mappings = asArray(p.blockDeviceMappings).map(asRecord);
            if (mappings.length === 0) problems.push(`${r.name}: no blockDeviceMappings; declare the root volume, encrypted`);
            mappings.forEach((m, i) => {
                const encrypted = asRecord(m.ebs).encrypted;
                if (m.ebs !== undefined && !isTrue(encrypted))
                    problems.push(`${r.name}: blockDeviceMappings[${i}].ebs.encrypted is ${show(encrypted)}; must be true`);
            });
            break;
        }
        case TYPES.ebsVolume:
            if (!isTrue(p.encrypted)) problems.push(`${r.name}: encrypted is ${show(p.encrypted)}; must be true`);
            break;
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// no-public-ip

export function noPublicIp(r: RuleResource): string[] {
    const p = r.props;
    switch (r.type) {
        case TYPES.instance:
            // Explicitly false: left unset, an instance in a default subnet gets a public address.
            return isFalse(p.associatePublicIpAddress)
                ? []
                : [`${r.name}: associatePublicIpAddress is ${show(p.associatePublicIpAddress)}; nodes must set it to false`];
        case TYPES.launchTemplate:
            return asArray(p.networkInterfaces)
                .map(asRecord)
                .flatMap((n, i) =>
                    isTrue(n.associatePublicIpAddress) || isUnknown(n.associatePublicIpAddress)
                        ? [
                              `${r.name}: networkInterfaces[${i}].associatePublicIpAddress is ${show(n.associatePublicIpAddress)}; must not be true`,
                          ]
                        : [],
                );
        case TYPES.subnet:
            return isTrue(p.mapPublicIpOnLaunch) || isUnknown(p.mapPublicIpOnLaunch)
                ? [`${r.name}: mapPublicIpOnLaunch is ${show(p.mapPublicIpOnLaunch)}; subnets must not hand out public addresses`]
                : [];
        case TYPES.eip:
            return p.instance !== undefined || p.networkInterface !== undefined
                ? [`${r.name}: an Elastic IP attached to an instance or interface gives a node a public address`]
                : [];
        case TYPES.eipAssociation:
            return [`${r.name}: an Elastic IP association gives a node a public address`];
        default:
            return [];
    }
}

// ---------------------------------------------------------------------------------------------
// container-limits

export function containerLimits(r: RuleResource): string[] {
    if (r.type !== TYPES.container) return [];
    const problems: string[] = [];
    // A value not known yet (preview) cannot be judged; a missing one is a violation.
    const positive = (v: unknown) => isUnknown(v) || Number(v) > 0;
    const { cpus, memory } = r.props;
    if (!positive(cpus)) problems.push(`${r.name}: cpus is ${show(cpus)}; every container needs a CPU limit > 0`);
    if (!positive(memory)) problems.push(`${r.name}: memory is ${show(memory)}; every container needs a memory limit > 0 (MB)`);
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Secrets: what looks like one, whether it is marked secret, and where it must never be

/** Content that carries a secret value: configs and scripts of Consul, keepalived, HAProxy, and tokens. */
export const SECRET_PATTERNS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
    { name: "Consul gossip key (encrypt)", pattern: /"encrypt"\s*:\s*"[^"\s]+"/ },
    { name: "Consul ACL tokens (acl.tokens)", pattern: /"tokens"\s*:\s*\{[^}]*"\w+"\s*:\s*"[^"\s]+"/ },
    { name: "keepalived auth_pass", pattern: /^\s*auth_pass\s+\S+/m },
    { name: "HAProxy stats auth", pattern: /^\s*stats\s+auth\s+\S+/m },
    { name: "HAProxy userlist password", pattern: /^\s*user\s+\S+\s+(?:insecure-)?password\s+\S+/m },
    { name: "Consul token flag", pattern: /\s-(?:token|secret)[= ]+(?!["']?\$)[^\s"'$]{8,}/ },
    {
        // NAME=value where NAME holds TOKEN/SECRET/PASSWORD and value is a literal (not "$var", not "$(…)"),
        // and NAME is not a pointer to one (…_FILE, …_PATH).
        name: "token/secret/password assignment",
        pattern:
            /\b[A-Za-z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD)(?:_[A-Z0-9]+)*(?<!_FILE|_PATH|_DIR|_ID|_NAME)=(?!["']?\$)["']?[^\s"'$]{8,}/i,
    },
];

/** Names of the secret patterns `text` matches — read through gzip + base64, the form node files are stored in. */
export function secretContent(text: string): string[] {
    const plain = gunzippedBase64(text) ?? text;
    return SECRET_PATTERNS.filter((s) => s.pattern.test(plain)).map((s) => s.name);
}

/**
 * The text a gzip + base64 value holds (the aws platform stores node files so), else undefined. The
 * twin of render/storedForm.ts decodeStoredText, kept here because the pack is published on its own
 * (policy/ is its whole package) and never throws: a value that only looks stored is left as it is.
 */
function gunzippedBase64(text: string): string | undefined {
    if (text.length < 24 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
    const bytes = Buffer.from(text, "base64");
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return undefined;
    try {
        return zlib.gunzipSync(bytes).toString("utf8");
    } catch {
        return undefined;
    }
}

/**
 * Inputs holding secret content that are not marked secret (paths). Needs `secretPaths`: the policy
 * pack runs this as a remediation, the only place the SDK shows which inputs are secrets.
 */
export function unmarkedSecrets(r: RuleResource): { path: string; segments: PathSegment[]; kinds: string[] }[] {
    if (r.secretPaths === undefined) return [];
    const secretPaths = r.secretPaths;
    return stringLeaves(r.props)
        .filter((leaf) => !isSecretPath(secretPaths, leaf.path))
        .map((leaf) => ({ path: leaf.path, segments: leaf.segments, kinds: secretContent(leaf.value) }))
        .filter((leaf) => leaf.kinds.length > 0);
}

export function secretsMarkedSecret(r: RuleResource): string[] {
    return unmarkedSecrets(r).map((u) => `${r.name}: ${u.path} holds a secret (${u.kinds.join(", ")}) but is not marked secret`);
}

/**
 * What can be checked without seeing secret-ness: secret content in SSM must be a SecureString, and
 * never in EC2 user data (readable through the EC2 API and by every process on the node via IMDS).
 */
export function secretsAtRest(r: RuleResource): string[] {
    const p = r.props;
    switch (r.type) {
        case TYPES.ssmParameter: {
            const kinds = typeof p.value === "string" ? secretContent(p.value) : [];
            return kinds.length > 0 && p.type !== "SecureString"
                ? [`${r.name}: value holds a secret (${kinds.join(", ")}) but type is ${show(p.type)}; use SecureString`]
                : [];
        }
        case TYPES.instance:
        case TYPES.launchTemplate: {
            const kinds = typeof p.userData === "string" ? secretContent(p.userData) : [];
            return kinds.length > 0
                ? [`${r.name}: userData holds a secret (${kinds.join(", ")}); fetch it at boot (SSM SecureString)`]
                : [];
        }
        default:
            return [];
    }
}

// ---------------------------------------------------------------------------------------------
// The catalogue

export type ResourceRule = (r: RuleResource) => string[];
export type StackRule = (resources: readonly RuleResource[]) => Violation[];

export interface RuleSpec {
    readonly name: string;
    readonly description: string;
    readonly kind: "resource" | "stack" | "remediation";
}

export const RESOURCE_RULES: Readonly<Record<string, ResourceRule>> = {
    "imdsv2-required": imdsV2Required,
    "detailed-monitoring": detailedMonitoring,
    "encrypted-volumes": encryptedVolumes,
    "no-public-ip": noPublicIp,
    "container-limits": containerLimits,
    "secrets-at-rest": secretsAtRest,
};

export const STACK_RULES: Readonly<Record<string, StackRule>> = {
    "odd-quorum": oddQuorum,
    "no-public-ingress": noPublicIngress,
    "public-listener-tls": publicListenerTls,
};

/** Runs every rule (including the secret-marking check, when `secretPaths` are known) over a graph. */
export function checkAll(resources: readonly RuleResource[]): Violation[] {
    const perResource = resources.flatMap((r) =>
        [...Object.values(RESOURCE_RULES), secretsMarkedSecret].flatMap((rule) => rule(r).map((message) => ({ urn: r.urn, message }))),
    );
    return [...perResource, ...Object.values(STACK_RULES).flatMap((rule) => rule(resources))];
}
