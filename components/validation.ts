// How a component refuses its arguments: every broken rule of its contract (components/contracts/)
// is collected first, then thrown once, before the component creates any child.
import * as pulumi from "@pulumi/pulumi";
import { formatIssue, formatValue, Issue } from "./contracts";

/** A list argument must hold one entry per member. */
export function sameLength(key: string, list: readonly unknown[], expected: number, what: string): Issue | undefined {
    return list.length === expected
        ? undefined
        : { key, value: list, rule: `needs one entry per ${what} (${expected}), got ${list.length}` };
}

/** Throws one InputPropertiesError naming every issue (key, value, rule); does nothing when there are none. */
export function collectErrors(component: string, issues: readonly (Issue | undefined)[]): void {
    const found = issues.filter((i): i is Issue => i !== undefined);
    if (found.length > 0) {
        throw new pulumi.InputPropertiesError({
            message: `${component}: invalid arguments: ${found.map(formatIssue).join("; ")}`,
            errors: found.map((i) => ({ propertyPath: i.key, reason: `${formatValue(i.value)}: ${i.rule}` })),
        });
    }
}
