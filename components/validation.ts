// How a component refuses its arguments: every broken rule of its contract (components/contracts/)
// is collected first, then thrown once, before the component creates any child.
import * as pulumi from "@pulumi/pulumi";
import { formatIssue, formatValue, Issue } from "./contracts";

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
