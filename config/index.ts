// The one place the program reads stack config. Everything downstream gets a typed, validated,
// default-resolved StackConfig; nothing else calls `new pulumi.Config()`.
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssue, formatIssue, RawStackConfig, StackConfig } from "./schema";
import { validateStackConfig } from "./validate";

export * from "./schema";
export * from "./addresses";
export { validateStackConfig } from "./validate";

/**
 * Thrown before any resource is created when the stack config breaks a rule. A RunError, so the
 * CLI prints the message alone (no stack trace): one line per bad key with its value and rule.
 */
export class StackConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly issues: readonly ConfigIssue[],
    ) {
        super(
            `Invalid stack config for stack "${stack}" (nothing was created):\n` +
                issues.map((issue) => `  - ${formatIssue(issue)}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/** Reads the stack's config and validates it; throws StackConfigError listing every broken rule. */
export function loadStackConfig(): StackConfig {
    const config = new pulumi.Config();
    const stack = pulumi.getStack();
    const parseIssues: ConfigIssue[] = [];
    // Sections are objects (`pulumi config set --path web.replicas 7`); a section set as a plain
    // string is reported with the other issues instead of failing on the first JSON.parse.
    const section = (key: string): unknown => {
        const text = config.get(key);
        if (text === undefined) return undefined;
        try {
            return JSON.parse(text);
        } catch {
            parseIssues.push({ key, value: text, rule: "must be an object (set its keys with `pulumi config set --path`)" });
            return undefined;
        }
    };
    const raw: RawStackConfig = {
        platform: config.get("platform"),
        consul: section("consul"),
        swarm: section("swarm"),
        web: section("web"),
        lb: section("lb"),
        network: section("network"),
        edge: section("edge"),
        aws: section("aws"),
    };
    // A misspelt top-level key (`swarm-platform:webb`) would otherwise be ignored silently.
    const project = pulumi.getProject();
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        const [namespace, key] = fullKey.split(":");
        if (namespace === project && !(key in raw)) {
            parseIssues.push({ key, value: config.get(key), rule: `is not a known key (known: ${Object.keys(raw).join(", ")})` });
        }
    }
    const result = validateStackConfig(raw, stack);
    const issues = [...parseIssues, ...result.issues];
    if (result.config === undefined || issues.length > 0) throw new StackConfigError(stack, issues);
    return result.config;
}
