// Argument checks shared by the components: each returns a problem or undefined; collectErrors
// throws once with all of them, before the component creates any child.
import * as pulumi from "@pulumi/pulumi";

export type Problem = { readonly propertyPath: string; readonly reason: string } | undefined;

/** The largest quorum group (Consul servers, Swarm managers): more voters only slow Raft down. */
export const MAX_QUORUM = 7;

export function isOddQuorum(propertyPath: string, n: number): Problem {
    return Number.isInteger(n) && n >= 1 && n <= MAX_QUORUM && n % 2 === 1
        ? undefined
        : { propertyPath, reason: `must be an odd whole number from 1 to ${MAX_QUORUM}, got ${n}` };
}

export function isWholeAtLeast(propertyPath: string, n: number, min: number): Problem {
    return Number.isInteger(n) && n >= min ? undefined : { propertyPath, reason: `must be a whole number ≥ ${min}, got ${n}` };
}

export function sameLength(propertyPath: string, list: readonly unknown[], expected: number, what: string): Problem {
    return list.length === expected ? undefined : { propertyPath, reason: `needs one entry per ${what} (${expected}), got ${list.length}` };
}

export function collectErrors(component: string, problems: readonly Problem[]): void {
    const errors = problems.filter((p): p is NonNullable<Problem> => p !== undefined);
    if (errors.length > 0) {
        throw new pulumi.InputPropertiesError({
            message: `${component}: invalid arguments: ${errors.map((e) => `${e.propertyPath} ${e.reason}`).join("; ")}`,
            errors,
        });
    }
}
