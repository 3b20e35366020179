// Scripts on nodes: each script is a SecureString parameter, run by an SSM association (the
// AWS-RunShellScript document) on one instance, or on every instance of a role for cluster-wide work.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { shellQuote } from "../../render/shell";
import { ClusterScriptArgs, PlatformNode, RunScriptArgs, ScriptRun } from "../types";
import { AwsContext, shortHash } from "./context";
import { associationName } from "./names";
import { roleRuntime } from "./node";

export interface ScriptContext extends AwsContext {
    /** New for every creation of the stack: token parameters written by scripts live under it. */
    readonly generation: random.RandomId;
}

export function runNodeScript(ctx: ScriptContext, name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
    const role = args.node.role;
    const scriptParameter = `${ctx.parameterRoot}/${role}/${args.node.name}/${name}`;
    const script = new aws.ssm.Parameter(
        `${name}-script`,
        { name: scriptParameter, type: "SecureString", tier: "Intelligent-Tiering", value: args.script },
        { parent },
    );
    const dependsOn: pulumi.Input<pulumi.Resource>[] = [args.node.resource, script, ...(args.dependsOn ?? [])];
    const lines: pulumi.Input<string>[] = ["set -eu", ...REGION_FROM_IMDS];
    const env: string[] = [];
    for (const [variable, source] of Object.entries(args.secretEnv ?? {})) {
        // The value goes source node → SecureString parameter → this node; never into Pulumi. One
        // parameter per command (all manager joins share the manager token's), under this stack
        // generation's path: a stack destroyed and created again never reads the old swarm's token.
        const parameter = pulumi.interpolate`${ctx.parameterRoot}/swarm/${ctx.generation.hex}/${shortHash(source.command)}`;
        if (source.optional === true) {
            // Published by the other nodes' own runs; none yet on the first `pulumi up` (empty). Not
            // published here: the sources are created after this script (a rolling chain), a
            // publish that waited for them would wait forever.
            lines.push(pulumi.interpolate`${variable}=$(${parameter.apply(getParameter)} 2>/dev/null || true)`, `export ${variable}`);
            env.push(variable);
            continue;
        }
        const publish: pulumi.Input<string>[] = [
            "set -eu",
            ...REGION_FROM_IMDS,
            `value=$(${source.command})`,
            pulumi.interpolate`printf %s "$value" | aws ssm put-parameter --type SecureString --overwrite --name ${parameter.apply(shellQuote)} --value file:///dev/stdin >/dev/null`,
        ];
        dependsOn.push(
            runAssociation(
                ctx,
                `${name}-${variable.toLowerCase()}-publish`,
                source.nodes[0],
                publish,
                [source.nodes[0].resource, ...(args.dependsOn ?? [])],
                parent,
            ),
        );
        lines.push(pulumi.interpolate`${variable}=$(${parameter.apply(getParameter)})`, `export ${variable}`);
        env.push(variable);
    }
    lines.push(`${getParameter(scriptParameter)} | ${roleRuntime(role, false, ctx.args.consulVersion).exec(env)}`);
    const association = runAssociation(ctx, name, args.node, lines, dependsOn, parent, args.triggers);
    // SSM keeps the output; scripts print nothing Pulumi needs.
    return { resource: association, stdout: pulumi.output("") };
}

export function runClusterScript(ctx: ScriptContext, name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
    const roles = [...new Set(args.nodes.map((n) => n.role))];
    if (roles.length !== 1) throw new Error(`aws platform: ${name} runs on nodes of ${roles.length} roles; a cluster script takes one`);
    const role = roles[0];
    const scriptParameter = `${ctx.parameterRoot}/${role}/cluster/${name}`;
    const script = new aws.ssm.Parameter(
        `${name}-script`,
        { name: scriptParameter, type: "SecureString", tier: "Intelligent-Tiering", value: args.script },
        { parent },
    );
    const lines = [
        "set -eu",
        ...REGION_FROM_IMDS,
        `${getParameter(scriptParameter)} | ${roleRuntime(role, false, ctx.args.consulVersion).exec([])}`,
    ];
    // Every node of the role, one at a time (maxConcurrency 1): the script is idempotent, so the
    // first run converges and the others find nothing to do; a replaced node matches the tag and
    // runs it once more, harmlessly. A changed script is a new association name: it runs again.
    const fingerprint = pulumi.output(args.script).apply((text) => shortHash(text));
    const association = new aws.ssm.Association(
        name,
        {
            name: "AWS-RunShellScript",
            targets: [
                { key: "tag:swarm-platform:stack", values: [ctx.args.stack] },
                { key: "tag:swarm-platform:role", values: [role] },
            ],
            parameters: { commands: lines.join("\n"), executionTimeout: "900" },
            maxConcurrency: "1",
            maxErrors: "0",
            waitForSuccessTimeoutSeconds: 900,
            associationName: fingerprint.apply((f) => associationName(ctx.args.namePrefix, name, f)),
        },
        { parent, dependsOn: [script, ...args.nodes.map((n) => n.resource), ...(args.dependsOn ?? [])] },
    );
    return { resource: association, stdout: pulumi.output("") };
}

/** Runs shell lines once on a node through SSM and waits until they succeeded; re-runs when triggers change. */
function runAssociation(
    ctx: ScriptContext,
    name: string,
    node: PlatformNode,
    lines: readonly pulumi.Input<string>[],
    dependsOn: pulumi.Input<pulumi.Resource>[],
    parent: pulumi.Resource,
    triggers: pulumi.Input<unknown>[] = [],
): aws.ssm.Association {
    const fingerprint = pulumi
        .all([node.instanceId, ...triggers.map((t) => pulumi.output(t))])
        .apply((parts) => shortHash(JSON.stringify(parts)));
    return new aws.ssm.Association(
        name,
        {
            name: "AWS-RunShellScript",
            targets: [{ key: "InstanceIds", values: [node.instanceId] }],
            parameters: { commands: pulumi.all([...lines]).apply((l) => l.join("\n")), executionTimeout: "900" },
            waitForSuccessTimeoutSeconds: 900,
            associationName: fingerprint.apply((f) => associationName(ctx.args.namePrefix, name, f)),
        },
        // A new name (node replaced, triggers changed) is a new association: it runs again.
        { parent, dependsOn, replaceOnChanges: ["associationName"], deleteBeforeReplace: true },
    );
}

/**
 * Sets AWS_DEFAULT_REGION from IMDSv2 for scripts run by SSM on a node. Separate assignments, so a
 * failed metadata call stops the script under `set -e` (an `export X=$(…)` would hide it).
 */
const REGION_FROM_IMDS = [
    "imds_token=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)",
    'AWS_DEFAULT_REGION=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/placement/region)',
    "export AWS_DEFAULT_REGION",
];

function getParameter(name: string): string {
    return `aws ssm get-parameter --with-decryption --name ${shellQuote(name)} --query Parameter.Value --output text`;
}
