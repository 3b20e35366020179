// What every component contract shares: the resource-limits type, the shape of a broken rule, and the
// rules more than one component applies (odd quorum groups, container limits, image tags).
// Pure — no Pulumi, no platform — because config/ imports the contracts too: a stack-config key that
// feeds a component argument is checked by that component's own rule, so the two cannot disagree.

/** CPU (cores) and memory (MiB) limits of one container or task. */
export interface ResourceLimits {
    readonly cpus: number;
    readonly memoryMb: number;
}

/**
 * One broken rule: the key (a component argument such as `servers`, or a stack-config key such as
 * `consul.servers`), the value found and the rule it breaks.
 */
export interface Issue {
    readonly key: string;
    readonly value: unknown;
    readonly rule: string;
}

/** A value as error messages show it. */
export function formatValue(value: unknown): string {
    return value === undefined ? "(missing)" : JSON.stringify(value);
}

/** `key = value: rule`, one line per issue in every error message. */
export function formatIssue(issue: Issue): string {
    return `${issue.key} = ${formatValue(issue.value)}: ${issue.rule}`;
}

/** A rule on one value: what it demands, in words, and the check. */
export interface Rule<T> {
    readonly text: string;
    readonly holds: (value: T) => boolean;
}

/** The issue for `value` at `key` when it breaks `rule`, else undefined. */
export function check<T>(key: string, value: T, rule: Rule<T>): Issue | undefined {
    return rule.holds(value) ? undefined : { key, value, rule: rule.text };
}

/** Renames the keys of component issues, e.g. `servers` → `consul.servers` (and the keys named in their rules). */
export type KeyNames = (key: string) => string;
export const ownKeys: KeyNames = (key) => key;

/** The largest quorum group (Consul servers, Swarm managers): more voters only slow Raft down. */
export const MAX_QUORUM = 7;

export const ODD_QUORUM: Rule<number> = {
    text: `must be an odd whole number from 1 to ${MAX_QUORUM} (an even count adds a member without surviving one more failure)`,
    holds: (n) => Number.isInteger(n) && n >= 1 && n <= MAX_QUORUM && n % 2 === 1,
};

/** A whole number ≥ min. */
export function wholeAtLeast(min: number): Rule<number> {
    return { text: `must be a whole number ≥ ${min}`, holds: (n) => Number.isInteger(n) && n >= min };
}

/** Limits of one container: Docker refuses less than 6 MiB; 64 CPUs is more than any node here has. */
export const LIMIT_BOUNDS = { maxCpus: 64, minMemoryMb: 6 } as const;

export const CPUS: Rule<number> = {
    text: `must be a positive number of CPUs (at most ${LIMIT_BOUNDS.maxCpus})`,
    holds: (n) => n > 0 && n <= LIMIT_BOUNDS.maxCpus,
};

export const MEMORY_MB: Rule<number> = {
    text: `must be a whole number of MiB, at least ${LIMIT_BOUNDS.minMemoryMb} (Docker's minimum)`,
    holds: (n) => Number.isInteger(n) && n >= LIMIT_BOUNDS.minMemoryMb,
};

/** The rules of every resource-limits argument. */
export const LIMITS = { cpus: CPUS, memoryMb: MEMORY_MB } as const;

/** Issues of a resource-limits argument at `key` (`key.cpus`, `key.memoryMb`). */
export function limitsIssues(key: string, limits: ResourceLimits): (Issue | undefined)[] {
    return [check(`${key}.cpus`, limits.cpus, LIMITS.cpus), check(`${key}.memoryMb`, limits.memoryMb, LIMITS.memoryMb)];
}

/** Docker's tag grammar: versions become image tags. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Only the issues that exist. */
export function present(issues: readonly (Issue | undefined)[]): Issue[] {
    return issues.filter((i): i is Issue => i !== undefined);
}

export const PORT: Rule<number> = {
    text: "must be a TCP port, a whole number from 1 to 65535",
    holds: (n) => Number.isInteger(n) && n >= 1 && n <= 65535,
};
