// What every component contract shares: the resource-limits type, the shape of a broken rule, and the
// rules more than one component applies (odd quorum groups, container limits, image tags).
// Pure — no Pulumi, no platform — because config/ imports the contracts too: a stack-config key that
// feeds a component argument is checked by that component's own rule, so the two cannot disagree.
// A bound a renderer enforces is imported from that renderer (the layer below), never copied.
import { TASK_BOUNDS } from "../../render/webService";

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

/** The most characters of a value (or of a key nobody knows) an error message echoes. */
export const ECHO_CHARACTERS = 60;

/**
 * `text` cut to ECHO_CHARACTERS, saying how long the original was (`length`, in characters): a
 * 5,000-character value must not make a 5,000-character message.
 */
function capped(text: string, length = [...text].length): string {
    const chars = [...text];
    return chars.length <= ECHO_CHARACTERS ? text : `${chars.slice(0, ECHO_CHARACTERS).join("")}… (${length} characters)`;
}

/** A value as error messages show it: JSON, capped (a string's length is its own, quotes aside). */
export function formatValue(value: unknown): string {
    if (value === undefined) return "(missing)";
    const text = JSON.stringify(value) ?? String(value);
    return capped(text, typeof value === "string" ? [...value].length : [...text].length);
}

/** `key = value: rule`, one line per issue in every error message. */
export function formatIssue(issue: Issue): string {
    return `${capped(issue.key)} = ${formatValue(issue.value)}: ${issue.rule}`;
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

/**
 * Limits of one container or task. The task renderer (render/webService.ts) owns the floor and step
 * of CPUs (thousandths: it writes them so) and the memory range (Docker refuses less than 6 MiB);
 * 64 CPUs is more than any node here has.
 */
export const LIMIT_BOUNDS = {
    minCpus: TASK_BOUNDS.cpus.min,
    maxCpus: 64,
    cpuDecimals: TASK_BOUNDS.cpus.decimals,
    minMemoryMb: TASK_BOUNDS.memoryMiB.min,
    maxMemoryMb: TASK_BOUNDS.memoryMiB.max,
} as const;

/** Whether `n` has at most `decimals` digits after the point (a float's rounding noise aside). */
export function hasDecimals(n: number, decimals: number): boolean {
    const scaled = n * 10 ** decimals;
    return Math.abs(scaled - Math.round(scaled)) < 1e-6;
}

export const CPUS: Rule<number> = {
    text: `must be a number of CPUs from ${LIMIT_BOUNDS.minCpus} to ${LIMIT_BOUNDS.maxCpus}, at most ${LIMIT_BOUNDS.cpuDecimals} decimals`,
    holds: (n) => n >= LIMIT_BOUNDS.minCpus && n <= LIMIT_BOUNDS.maxCpus && hasDecimals(n, LIMIT_BOUNDS.cpuDecimals),
};

export const MEMORY_MB: Rule<number> = {
    text: `must be a whole number of MiB from ${LIMIT_BOUNDS.minMemoryMb} (Docker's minimum) to ${LIMIT_BOUNDS.maxMemoryMb}`,
    holds: (n) => Number.isInteger(n) && n >= LIMIT_BOUNDS.minMemoryMb && n <= LIMIT_BOUNDS.maxMemoryMb,
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
