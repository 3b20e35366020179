// Scripts on nodes: each script is a SecureString parameter, run by an SSM association (the
// AWS-RunShellScript document) on one instance, or on every instance of a role for cluster-wide work.
// A node script's delete steps (drain, leave, remove) run from wherever `pulumi up` runs, through
// `aws ssm send-command`, when the engine deletes the script — before its node goes.
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { shellQuote } from "../../render/shell";
import { ClusterScriptArgs, NodeRole, PlatformNode, RemoteSecret, RunScriptArgs, ScriptRun } from "../types";
import { AwsContext, shortHash } from "./context";
import { associationName } from "./names";
import { roleRuntime } from "./node";
import { readParameter, readStoredText, storedText } from "./parameters";

export interface ScriptContext extends AwsContext {
    /** New for every creation of the stack: token parameters written by scripts live under it. */
    readonly generation: random.RandomId;
    /** Token parameters made so far, by path: every join of a role shares its token's. */
    readonly tokens: Map<string, aws.ssm.Parameter>;
}

/** The value a token parameter holds until a script publishes the real one (SSM refuses empty values). */
export const TOKEN_UNSET = "unset";

/** SSM path under which tokens for nodes of `role` are published: the role's instance profile reads only its own. */
export function tokenPathFor(parameterRoot: string, role: NodeRole): string {
    return `${parameterRoot}/tokens/${role}`;
}

/**
 * The parameter a secret for nodes of `consumer` travels in: one per (reading role, command), under this
 * stack generation's path (a stack destroyed and created again never reads the old swarm's token).
 * Pulumi owns it — created with a placeholder, deleted with the stack — and a manager script
 * overwrites the value (`ignoreChanges: ["value"]`): the value never passes through Pulumi.
 */
function tokenParameter(
    ctx: ScriptContext,
    consumer: NodeRole,
    source: RemoteSecret,
): { name: pulumi.Output<string>; resource: aws.ssm.Parameter } {
    const key = `${consumer}/${shortHash(source.command)}`;
    let resource = ctx.tokens.get(key);
    if (resource === undefined) {
        resource = new aws.ssm.Parameter(
            `${ctx.platformName}-token-${consumer}-${shortHash(source.command)}`,
            {
                name: pulumi.interpolate`${tokenPathFor(ctx.parameterRoot, consumer)}/${ctx.generation.hex}/${shortHash(source.command)}`,
                type: "SecureString",
                tier: "Standard",
                value: TOKEN_UNSET,
                description: `written by a manager: ${source.command}`,
            },
            { parent: ctx.component, ignoreChanges: ["value"] },
        );
        ctx.tokens.set(key, resource);
    }
    return { name: resource.name, resource };
}

export function runNodeScript(ctx: ScriptContext, name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
    const role = args.node.role;
    const scriptParameter = `${ctx.parameterRoot}/${role}/${args.node.name}/${name}`;
    const script = storedText(`${name}-script`, scriptParameter, args.script, `${args.node.name}: ${name}`, parent);
    const dependsOn: pulumi.Input<pulumi.Resource>[] = [args.node.resource, script, ...(args.dependsOn ?? [])];
    const lines: pulumi.Input<string>[] = ["set -eu", ...REGION_FROM_IMDS];
    const env: string[] = [];
    for (const [variable, source] of Object.entries(args.secretEnv ?? {})) {
        // The value goes source node → SecureString parameter → this node; never into Pulumi.
        const token = tokenParameter(ctx, role, source);
        dependsOn.push(token.resource);
        if (source.optional === true) {
            // Published by the other nodes' own runs; none yet on the first `pulumi up` (empty). Not
            // published here: the sources are created after this script (a rolling chain), a
            // publish that waited for them would wait forever.
            lines.push(
                pulumi.interpolate`${variable}=$(${token.name.apply(readParameter)} 2>/dev/null || true)`,
                `[ "$${variable}" != ${TOKEN_UNSET} ] || ${variable}=""`,
                `export ${variable}`,
            );
            env.push(variable);
            continue;
        }
        const publish: pulumi.Input<string>[] = [
            "set -eu",
            ...REGION_FROM_IMDS,
            `value=$(${source.command})`,
            pulumi.interpolate`printf %s "$value" | aws ssm put-parameter --type SecureString --overwrite --name ${token.name.apply(shellQuote)} --value file:///dev/stdin >/dev/null`,
        ];
        // Published again whenever this script runs again (its node replaced, its triggers changed),
        // not only when the source node changes: the value may have changed at the source since the
        // last publish (a rotated swarm join token, rotation.swarmJoinTokens), and a stale one would
        // make the rejoin fail.
        dependsOn.push(
            runAssociation(
                ctx,
                `${name}-${variable.toLowerCase()}-publish`,
                source.nodes[0],
                publish,
                [source.nodes[0].resource, token.resource, ...(args.dependsOn ?? [])],
                parent,
                [args.node.instanceId, ...(args.triggers ?? [])],
            ),
        );
        lines.push(pulumi.interpolate`${variable}=$(${token.name.apply(readParameter)})`, `export ${variable}`);
        env.push(variable);
    }
    lines.push(`${readStoredText(scriptParameter)} | ${roleRuntime(role, false, ctx.args.consulVersion).exec(env)}`);
    const association = runAssociation(ctx, name, args.node, lines, dependsOn, parent, args.triggers);
    const leave = leaveCommand(ctx, name, args, association, parent);
    // SSM keeps the output; scripts print nothing Pulumi needs.
    return { resource: leave ?? association, stdout: pulumi.output("") };
}

/**
 * The script's delete steps as a command with only a `delete`: it runs when the engine deletes it —
 * the node removed (scale-down) or replaced (its instance id is a trigger, so the command is replaced
 * with the node, and the node's delete-before-replace deletes it first: tests/harness/engine.ts) —
 * and before the node's association and instance go, which it depends on. Each step is best effort,
 * as on the local platform: a node already gone must not wedge the stack. The nodes a drain or
 * cleanup step may run on are looked up by tag when it runs (the running ones then, and no input
 * that would make this node wait for nodes that wait for it).
 */
function leaveCommand(
    ctx: ScriptContext,
    name: string,
    args: RunScriptArgs,
    association: aws.ssm.Association,
    parent: pulumi.Resource,
): command.local.Command | undefined {
    const roles = (nodes: readonly PlatformNode[]) => [...new Set(nodes.filter((n) => n.name !== args.node.name).map((n) => n.role))];
    const steps: SsmDeleteStep[] = [];
    if (args.drain !== undefined)
        steps.push({ on: roles(args.drain.nodes), parameters: runShellScriptParameters(args.drain.script, "sh -s") });
    if (args.deleteScript !== undefined) {
        const exec = roleRuntime(args.node.role, false, ctx.args.consulVersion).exec([]);
        steps.push({ on: "self", parameters: runShellScriptParameters(args.deleteScript, exec) });
    }
    if (args.cleanup !== undefined)
        steps.push({ on: roles(args.cleanup.nodes), parameters: runShellScriptParameters(args.cleanup.script, "sh -s") });
    if (steps.length === 0) return undefined;
    return new command.local.Command(
        `${name}-leave`,
        {
            delete: renderSsmDeleteSteps(steps),
            environment: { AWS_REGION: ctx.region, STACK: ctx.args.stack, NODE_INSTANCE: args.node.instanceId },
            triggers: [args.node.instanceId],
        },
        { parent, dependsOn: [association, args.node.resource], deleteBeforeReplace: true },
    );
}

/** AWS-RunShellScript parameters (JSON) that feed `script` to `exec` on stdin; base64 keeps any quoting intact. */
function runShellScriptParameters(script: string, exec: string): string {
    const encoded = Buffer.from(script, "utf8").toString("base64");
    return JSON.stringify({ commands: [`echo ${encoded} | base64 -d | ${exec}`], executionTimeout: ["900"] });
}

/** One delete step: AWS-RunShellScript parameters, run on this node or on the first answering node of these roles. */
export interface SsmDeleteStep {
    readonly on: "self" | readonly NodeRole[];
    readonly parameters: string;
}

/**
 * The operator-side shell of a leave command (environment: AWS_REGION, STACK, NODE_INSTANCE): each
 * step runs on the first instance that runs it to success, polling get-command-invocation (the CLI's
 * `ssm wait command-executed` gives up after 100 s; a drain may take longer).
 */
export function renderSsmDeleteSteps(steps: readonly SsmDeleteStep[]): string {
    return [
        "set -u",
        "# others ROLES: running instances of this stack with one of ROLES (comma-separated), this node excepted.",
        "others() {",
        '  aws ec2 describe-instances --filters "Name=tag:swarm-platform:stack,Values=$STACK" "Name=tag:swarm-platform:role,Values=$1" \\',
        "    Name=instance-state-name,Values=running --query 'Reservations[].Instances[].InstanceId' --output text |",
        "    tr '\\t' '\\n' | grep -vx \"$NODE_INSTANCE\" || true",
        "}",
        "# ssm_run PARAMETERS INSTANCE...: AWS-RunShellScript on the first instance that runs it to success.",
        "ssm_run() {",
        "  parameters=$1",
        "  shift",
        "  status=none",
        '  for instance in "$@"; do',
        '    id=$(aws ssm send-command --instance-ids "$instance" --document-name AWS-RunShellScript --parameters "$parameters" --query Command.CommandId --output text) || continue',
        "    polls=0",
        "    while [ $polls -lt 190 ]; do",
        "      polls=$((polls + 1))",
        "      sleep 5",
        '      status=$(aws ssm get-command-invocation --command-id "$id" --instance-id "$instance" --query Status --output text 2>/dev/null) || continue',
        '      case "$status" in',
        "        Success) return 0 ;;",
        "        Pending | InProgress | Delayed) ;;",
        "        *) break ;;",
        "      esac",
        "    done",
        '    echo "ssm_run: $instance did not run it ($status)" >&2',
        "  done",
        "  return 1",
        "}",
        ...steps.flatMap((step, i) => {
            const targets = step.on === "self" ? '"$NODE_INSTANCE"' : `$(others ${step.on.join(",")})`;
            return [
                `step${i}=${shellQuote(step.parameters)}`,
                ...(step.on === "self" ? [] : ["# shellcheck disable=SC2046 # a list of instance ids"]),
                `ssm_run "$step${i}" ${targets} || echo "leave: step ${i + 1} of ${steps.length} did not complete" >&2`,
            ];
        }),
        "exit 0",
        "",
    ].join("\n");
}

export function runClusterScript(ctx: ScriptContext, name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
    const roles = [...new Set(args.nodes.map((n) => n.role))];
    if (roles.length !== 1) throw new Error(`aws platform: ${name} runs on nodes of ${roles.length} roles; a cluster script takes one`);
    const role = roles[0];
    const scriptParameter = `${ctx.parameterRoot}/${role}/cluster/${name}`;
    const script = storedText(`${name}-script`, scriptParameter, args.script, `cluster: ${name}`, parent);
    const lines = [
        "set -eu",
        ...REGION_FROM_IMDS,
        `${readStoredText(scriptParameter)} | ${roleRuntime(role, false, ctx.args.consulVersion).exec([])}`,
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
 * failed metadata call stops the script under `set -e` (an `export X=$(…)` would hide it). The
 * session token is a credential (it opens IMDS, and so the instance role's keys): it reaches curl
 * on stdin (`-H @-`, curl ≥ 7.55; Debian 12 has 7.88), written by the printf builtin, never in argv.
 */
const REGION_FROM_IMDS = [
    "imds_token=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)",
    "AWS_DEFAULT_REGION=$(printf 'X-aws-ec2-metadata-token: %s\\n' \"$imds_token\" | curl -fsS -m 2 -H @- http://169.254.169.254/latest/meta-data/placement/region)",
    "export AWS_DEFAULT_REGION",
];
