// The policies of the pack, built on policy/rules.ts. This file does NOT start the pack (index.ts
// does, with `new PolicyPack`, which starts a gRPC server): tests import this file and run the
// policies exactly as the SDK would, without a server.
import { Policies, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, Secret, StackValidationPolicy } from "@pulumi/policy";
import * as rules from "./rules";

export const POLICY_PACK_NAME = "swarm-platform";

/**
 * What the policy SDK puts in place of values not known during preview (the engine's unknown
 * sentinels; @pulumi/policy proxy.js, internal). tests/policy checks they still match the SDK.
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);
/** The SDK wraps props in proxies (unknown checks, secret preservation) that answer these keys. */
export const PROXY_KEYS = { isProxy: "__isSpecialProxy", target: "__getSpecialProxyTarget" } as const;

/** The object behind the SDK's proxies (reading through them throws on unknown values). */
export function unwrapProxy(value: any): any {
    while (value !== null && typeof value === "object" && value[PROXY_KEYS.isProxy] === true) value = value[PROXY_KEYS.target];
    return value;
}

/**
 * SDK props → plain props for the rules: proxies removed, unknowns as `rules.UNKNOWN`, and the
 * paths of `Secret` values (remediations only: validations get secrets already unwrapped).
 */
export function plainProps(props: Record<string, any>): { props: Record<string, unknown>; secretPaths: Set<string> } {
    const secretPaths = new Set<string>();
    const walk = (raw: unknown, segments: rules.PathSegment[]): unknown => {
        const value = unwrapProxy(raw);
        if (value instanceof Secret) {
            secretPaths.add(rules.pathOf(segments));
            return walk(value.value, segments);
        }
        if (typeof value === "string" && UNKNOWN_SENTINELS.has(value)) return rules.UNKNOWN;
        if (Array.isArray(value)) return value.map((v, i) => walk(v, [...segments, i]));
        if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...segments, k])]));
        return value;
    };
    return { props: walk(props, []) as Record<string, unknown>, secretPaths };
}

function fromResourceArgs(args: ResourceValidationArgs, withSecrets: boolean): rules.RuleResource {
    const { props, secretPaths } = plainProps(args.props);
    return { type: args.type, name: args.name, urn: args.urn, props, secretPaths: withSecrets ? secretPaths : undefined };
}

export function fromPolicyResource(r: PolicyResource): rules.RuleResource {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        parent: r.parent?.urn,
        props: plainProps(r.props).props,
        propertyDependencies: Object.fromEntries(
            Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)]),
        ),
    };
}

/** Wraps the value at `segments` of raw SDK props in a `Secret`. */
function markSecret(raw: any, segments: readonly rules.PathSegment[]): void {
    let node = raw;
    for (const s of segments.slice(0, -1)) node = unwrapProxy(node[s]);
    const last = segments[segments.length - 1];
    node[last] = new Secret(unwrapProxy(node[last]));
}

const resourcePolicy = (name: string, description: string, rule: rules.ResourceRule): ResourceValidationPolicy => ({
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of rule(fromResourceArgs(args, false))) reportViolation(message);
    },
});

const stackPolicy = (name: string, description: string, rule: rules.StackRule): StackValidationPolicy => ({
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of rule(args.resources.map(fromPolicyResource))) reportViolation(v.message, v.urn);
    },
});

/**
 * Secret content must travel as a Pulumi secret (encrypted in state, masked in output). Validations
 * cannot see secret-ness, remediations can: this one marks any unmarked secret content secret before
 * the resource is registered, and the preview shows that it did.
 */
export const secretsMarkedSecret: ResourceValidationPolicy = {
    name: "secrets-marked-secret",
    description:
        "Inputs holding a Consul gossip key or ACL token, keepalived auth_pass, HAProxy stats auth or another token/password are Pulumi secrets (remediated: marked secret).",
    enforcementLevel: "remediate",
    remediateResource: (args) => {
        const leaks = rules.unmarkedSecrets(fromResourceArgs(args, true));
        if (leaks.length === 0) return undefined;
        const raw = unwrapProxy(args.props);
        for (const leak of leaks) markSecret(raw, leak.segments);
        return raw;
    },
};

export const policies: Policies = [
    stackPolicy(
        "odd-quorum",
        "Consul servers and Swarm managers (counted among the cluster components' child nodes) are odd in number.",
        rules.oddQuorum,
    ),
    stackPolicy(
        "no-public-ingress",
        "No security group ingress from 0.0.0.0/0 or ::/0, except a load balancer's listener port on that load balancer's group.",
        rules.noPublicIngress,
    ),
    stackPolicy(
        "public-listener-tls",
        "Every listener of an internet-facing load balancer is HTTPS/TLS with a TLS 1.2+ policy, or HTTP that only redirects to HTTPS.",
        rules.publicListenerTls,
    ),
    resourcePolicy(
        "imdsv2-required",
        "EC2 instances and launch templates require IMDSv2 (metadataOptions.httpTokens = required).",
        rules.imdsV2Required,
    ),
    resourcePolicy(
        "detailed-monitoring",
        "EC2 instances and launch templates have detailed monitoring (metrics every minute): monitoring / monitoring.enabled = true.",
        rules.detailedMonitoring,
    ),
    resourcePolicy(
        "encrypted-volumes",
        "Root and data EBS volumes of instances and launch templates are encrypted.",
        rules.encryptedVolumes,
    ),
    resourcePolicy(
        "no-public-ip",
        "Nodes have no public IP: associatePublicIpAddress false, no subnet maps public IPs on launch, no EIP on an instance.",
        rules.noPublicIp,
    ),
    resourcePolicy("container-limits", "Every Docker container has a CPU (cpus) and a memory limit above 0.", rules.containerLimits),
    resourcePolicy(
        "secrets-at-rest",
        "Secret content in SSM is a SecureString, and never in EC2 user data (readable through the EC2 API and IMDS).",
        rules.secretsAtRest,
    ),
    secretsMarkedSecret,
];
