// Names AWS itself checks. The stack name is free-form to Pulumi ([A-Za-z0-9_.-], up to 100
// characters); AWS's name rules are narrower and differ per service, so every such name is made
// here — valid by construction and distinct per stack (a name that had to be cut or changed
// carries a hash of the whole, so `production-eu-west-1` and `-2` never collide).
import { shortHash } from "./context";

/**
 * Load balancer and target group names: at most 32 characters, only alphanumerics and hyphens,
 * not beginning or ending with a hyphen, not beginning with "internal-".
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html (Name)
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html (Name)
 */
export const ELB_NAME_MAX = 32;

/**
 * ECR repository names: 2–256 characters, lowercase, ECR_NAME_PATTERN below (slash-separated namespaces).
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName)
 */
export const ECR_NAME_MAX = 256;
export const ECR_NAME_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * SSM association names: 3–128 characters of `[a-zA-Z0-9_\-.]`.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html (AssociationName)
 */
export const ASSOCIATION_NAME_MAX = 128;

/** `text` in lowercase alphanumerics joined by single hyphens. */
function slug(text: string): string {
    return text
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
}

/** `base` if it is at most `max` long, else cut to fit with a hash of the whole base (so cut names stay distinct). */
function bounded(base: string, max: number): string {
    if (base.length <= max) return base;
    const hash = shortHash(base).slice(0, 8);
    return `${base.slice(0, max - hash.length - 1).replace(/[^a-zA-Z0-9]+$/, "")}-${hash}`;
}

/** The stack's part of AWS names: its slug, plus a hash of the real name when the slug differs from it. */
function stackPart(stack: string): string {
    const s = slug(stack) || "stack";
    return s === stack ? s : `${s}-${shortHash(stack).slice(0, 6)}`;
}

/** Load balancer / target group name of this stack's `purpose` (e.g. "ingress"). */
export function elbName(project: string, stack: string, purpose: string): string {
    return bounded(`${slug(project)}-${stackPart(stack)}-${slug(purpose)}`, ELB_NAME_MAX);
}

/** The ECR namespace of this stack: its repositories are `<namespace>/<image>`, so IAM can grant `<namespace>/*` and no other stack's. */
export function ecrNamespace(project: string, stack: string): string {
    return bounded(`${slug(project)}-${stackPart(stack)}`, 200);
}

export function ecrRepositoryName(project: string, stack: string, image: string): string {
    return `${ecrNamespace(project, stack)}/${slug(image)}`;
}

/** SSM association name: `<prefix><name>-<fingerprint>` within 128 characters of the allowed set. */
export function associationName(prefix: string, name: string, fingerprint: string): string {
    const base = `${prefix}${name}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
    return `${bounded(base, ASSOCIATION_NAME_MAX - fingerprint.length - 1)}-${fingerprint}`;
}

/**
 * CloudWatch Logs group names: 1–512 characters of `[.\-_/#A-Za-z0-9]`
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html,
 * logGroupName). Pulumi's project and stack names ([A-Za-z0-9_.-]) fit as they are, so the group
 * reads like the stack's Parameter Store root: `/<project>/<stack>`.
 */
export const LOG_GROUP_NAME_MAX = 512;

/** The stack's log group: every node's container and daemon logs. */
export function logGroupName(project: string, stack: string): string {
    return `/${project}/${stack}`;
}

/**
 * SNS topic names: 1–256 characters of letters, digits, hyphens and underscores
 * (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html, Name). A stack name may hold a
 * dot, which SNS refuses: slugged, with a hash when changed (stackPart).
 */
export const SNS_TOPIC_NAME_MAX = 256;

/** The topic of this stack's `purpose` (e.g. "alarms"). */
export function snsTopicName(project: string, stack: string, purpose: string): string {
    return bounded(`${slug(project)}-${stackPart(stack)}-${slug(purpose)}`, SNS_TOPIC_NAME_MAX);
}

/**
 * CloudWatch alarm names: 1–255 characters (PutMetricAlarm, AlarmName:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html). Named
 * like the stack's other resources (the Name tag: `<project>-<stack>-<resource>`, context.ts).
 */
export const ALARM_NAME_MAX = 255;

export function alarmName(namePrefix: string, what: string): string {
    return bounded(`${namePrefix}${what}`, ALARM_NAME_MAX);
}
