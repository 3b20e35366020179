// The one place the program reads stack config. Everything downstream gets a typed, validated,
// default-resolved StackConfig; nothing else reads the runtime's config.
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./read";
import { ConfigIssue, formatIssue, StackConfig } from "./schema";

export * from "./schema";
export * from "./addresses";
export { validateStackConfig } from "./validate";
export { readStackConfig, TOP_LEVEL_KEYS } from "./read";

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
    const stack = pulumi.getStack();
    const result = readStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), stack);
    if (result.config === undefined) throw new StackConfigError(stack, result.issues);
    return result.config;
}
