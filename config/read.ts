// From the text Pulumi hands a program to a validated StackConfig: the flat `project:key` → text map
// (`pulumi.runtime.allConfig()`), sections parsed from JSON, misspelt top-level keys reported with
// every other issue. Pure — config/index.ts feeds it the runtime's config and throws on issues — so
// tests check what a stack file does without evaluating the program.
import { ConfigIssue, RawStackConfig } from "./schema";
import { validateStackConfig, ValidationResult } from "./validate";

/** The stack config's top-level keys: the platform and one object per section. */
export const TOP_LEVEL_KEYS = ["platform", "consul", "swarm", "web", "lb", "network", "edge", "rotation", "aws"] as const;

export function readStackConfig(values: Readonly<Record<string, string>>, project: string, stack: string): ValidationResult {
    const parseIssues: ConfigIssue[] = [];
    const get = (key: string): string | undefined => values[`${project}:${key}`];
    // Sections are objects (`pulumi config set --path web.replicas 7`); a section set as a plain
    // string is reported with the other issues instead of failing on the first JSON.parse.
    const section = (key: string): unknown => {
        const text = get(key);
        if (text === undefined) return undefined;
        try {
            return JSON.parse(text);
        } catch {
            parseIssues.push({ key, value: text, rule: "must be an object (set its keys with `pulumi config set --path`)" });
            return undefined;
        }
    };
    const raw: RawStackConfig = Object.fromEntries(TOP_LEVEL_KEYS.map((key) => [key, key === "platform" ? get(key) : section(key)]));
    // A misspelt top-level key (`swarm-platform:webb`) would otherwise be ignored silently.
    for (const fullKey of Object.keys(values)) {
        // Split at the first colon only: `swarm-platform:web:x` is the key `web:x`, not `web`.
        const colon = fullKey.indexOf(":");
        const [namespace, key] = colon < 0 ? ["", fullKey] : [fullKey.slice(0, colon), fullKey.slice(colon + 1)];
        if (namespace === project && !(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
            parseIssues.push({ key, value: get(key), rule: `is not a known key (known: ${TOP_LEVEL_KEYS.join(", ")})` });
        }
    }
    const result = validateStackConfig(raw, stack);
    const issues = [...parseIssues, ...result.issues];
    return issues.length > 0 ? { issues } : result;
}
