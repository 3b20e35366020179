// What `pulumi up` does to a stack whose state was written by one evaluation of the program (A) when
// the program now evaluates to another (B): per resource same / create / update / replace / delete,
// the cascade a delete-before-replace drags along, and the order of every step (a happens-before
// graph), modelled on the engine's and the providers' own code. No Pulumi engine runs here, so the
// day-2 tests (tests/unit/day2.test.ts) and the live replay (tests/system/) run this model instead.
//
// The engine (pulumi/pulumi pkg/resource/deploy, v3.259.0), as read:
// - Registration order: the Node SDK sends RegisterResource only once every resource in `dependsOn`
//   and every resource an input came from has finished its step (sdk/nodejs/runtime/resource.ts
//   prepareResource awaits their URNs, which the engine resolves when the step completes). So a
//   step starts after the steps of all its dependencies; independent steps run in parallel.
// - Diff: the provider decides update vs replace per changed input (RULES below, from each
//   provider's schema); the program's `replaceOnChanges` adds replace keys, `ignoreChanges` keys keep
//   their old value (step_generator.go diff / applyReplaceOnChanges).
// - Replace, create-before-delete (default): the new resource is created in program order; the old
//   one is marked for deletion and deleted after the program has finished (step_generator.go
//   continueStepsFromDiff; deployment_executor.go).
// - Replace, delete-before-replace (`deleteBeforeReplace`, and every docker Container: the provider
//   sets it): first `calculateDependentReplacements` walks the resource's dependents in the OLD
//   state and deletes — in reverse dependency order, before the resource itself — every dependent
//   with an input that came from a resource being replaced AND whose provider diff says replace with
//   that input unknown. Dependents linked only through `dependsOn` are left alone. Then the old
//   resource is deleted and the new one created. The cascaded dependents are created again when the
//   program registers them.
// - Deletes of removed resources and of create-before-delete old copies run in one batch after the
//   program, in reverse dependency order of the old state, independent ones in parallel
//   (step_generator.go ScheduleDeletes: antichains).
// - A deleted command:local:Command runs its stored `delete` script (pulumi-command
//   commandController.go Delete); an updated one runs `update`, or `create` when it has no `update`.
// - `pulumi up --refresh`: resources whose provider Read finds nothing are dropped from the state
//   before the program runs (their registrations become creates); a local Command's Read returns
//   its state unchanged, so Commands are never dropped.
import * as path from "path";
import { contextDigest } from "../../platforms/imageContext";
import { ProgramRun, RecordedResource } from "./program";
import { readyForRenewal, RENEWING_TYPES } from "./tls";

export type Operation = "same" | "create" | "update" | "replace" | "delete";

/** What the engine does to one resource, and why. */
export interface Disposition {
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    readonly op: Operation;
    /** Replace only: the old copy is deleted before the new one is created. */
    readonly deleteFirst: boolean;
    /** Inputs that differ (or became unknown because what they came from is replaced or recreated). */
    readonly changed: readonly string[];
    /** Replace only: the inputs that force it. */
    readonly replaceKeys: readonly string[];
    /** Replace only: deleted first by another resource's delete-before-replace. */
    readonly cascadedFrom?: string;
}

export type StepKind = "create" | "update" | "delete" | "same";

/** One thing the engine does, with what must be finished before it starts. */
export interface Step {
    readonly id: string;
    readonly kind: StepKind;
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    /** The resource as declared: the new declaration for create/update/same, the old one for delete. */
    readonly resource: RecordedResource;
    /** "program" while the program runs; "deletes" for the batch after it. */
    readonly phase: "program" | "deletes";
    /** Ids of steps that finish before this one starts. */
    readonly after: readonly string[];
}

export interface EnginePlan {
    readonly dispositions: ReadonlyMap<string, Disposition>;
    /** Every step, in an order the engine could run them in (a topological order). */
    readonly steps: readonly Step[];
    /** The disposition of the (single) resource of this name, in the new program or else the old state. */
    op(name: string): Disposition;
    /** Steps of the resource of this name, in order. */
    stepsOf(name: string): Step[];
    /** Whether `a` must have finished before `b` starts, whatever the engine's parallelism. */
    before(a: Step, b: Step): boolean;
    /** Names of resources that are not `same`. */
    changedNames(): string[];
}

// ---------------------------------------------------------------------------------------------
// Replace rules, per resource type, from each provider's code
// ---------------------------------------------------------------------------------------------

interface ReplaceRule {
    /** Which changed inputs force a replacement (the others update in place). */
    replaces(changed: readonly string[], before: RecordedResource, after: RecordedResource): string[];
    /** The provider asks for delete-before-replace itself. */
    readonly deleteBeforeReplace?: boolean;
    /** An update changes outputs that dependents read (so their inputs become unknown, as in a preview). */
    readonly outputsChangeOnUpdate?: boolean;
}

const except =
    (updatable: readonly string[]): ReplaceRule["replaces"] =>
    (changed) =>
        changed.filter((k) => !updatable.includes(k));
const only =
    (forcing: readonly string[]): ReplaceRule["replaces"] =>
    (changed) =>
        changed.filter((k) => forcing.includes(k));

/**
 * Sources: terraform-provider-docker v4.5.0 (bridged by pulumi-docker 5.x) resource schemas;
 * pulumi-docker provider/provider.go for the native Image; pulumi-command provider v1.2.1; the
 * random provider (every input RequiresReplace); terraform-provider-aws (bridged by pulumi-aws 7.x).
 * Notes with the quoted lines: docs/day2.md ("Where the model comes from").
 */
const RULES: Readonly<Record<string, ReplaceRule>> = {
    // docker_container: every attribute is ForceNew except those ContainerUpdate applies
    // (resource_docker_container_funcs.go resourceDockerContainerUpdate) and a few stored in state
    // only. pulumi-docker marks containers DeleteBeforeReplace (provider/resources.go).
    "docker:index/container:Container": {
        replaces: except([
            "restart",
            "maxRetryCount",
            "cpuShares",
            "memory",
            "memoryReservation",
            "memorySwap",
            "cpuSet",
            "mustRun",
            // State only: changing them does not touch the running container.
            "healthcheck",
            "init",
            "tmpfs",
            "cpuPeriod",
            "cpuQuota",
            "rm",
            "start",
            "attach",
            "logs",
            "wait",
            "waitTimeout",
            "destroyGraceSeconds",
            "removeVolumes",
            "containerReadRefreshTimeoutMilliseconds",
        ]),
        deleteBeforeReplace: true,
    },
    // docker_volume, docker_network: every input ForceNew (the network has no Update at all).
    "docker:index/volume:Volume": { replaces: except([]) },
    "docker:index/network:Network": { replaces: except([]) },
    // docker_image (RemoteImage): name, triggers, pull_triggers, platform, build ForceNew; keep_locally, force_remove update.
    "docker:index/remoteImage:RemoteImage": { replaces: except(["keepLocally", "forceRemove"]) },
    // Native Image: Diff returns UPDATE for every change (a rebuild), never a replacement.
    "docker:index/image:Image": { replaces: only([]), outputsChangeOnUpdate: true },
    // pulumi-command: only `triggers` replaces (with the SDK's replaceOnChanges: ["triggers[*]"]);
    // any other change is an update that runs `update`, or `create` again. stdout changes with it.
    "command:local:Command": { replaces: only(["triggers"]), outputsChangeOnUpdate: true },
    "random:index/randomBytes:RandomBytes": { replaces: except([]) },
    "random:index/randomUuid:RandomUuid": { replaces: except([]) },
    "random:index/randomPassword:RandomPassword": { replaces: except([]) },
    "random:index/randomId:RandomId": { replaces: except([]) },
    // terraform-provider-tls (bridged by @pulumi/tls): every tls_private_key and tls_cert_request
    // attribute RequiresReplace; a certificate's every input too (ca_cert_pem, ca_private_key_pem and
    // cert_request_pem with requireReplaceIfStateContainsPEMString), except early_renewal_hours, which
    // only changes when the plan marks it ready for renewal (PlanOptions.hoursLater, tls.ts readyForRenewal).
    "tls:index/privateKey:PrivateKey": { replaces: except([]) },
    "tls:index/certRequest:CertRequest": { replaces: except([]) },
    "tls:index/selfSignedCert:SelfSignedCert": { replaces: except(["earlyRenewalHours"]) },
    "tls:index/locallySignedCert:LocallySignedCert": { replaces: except(["earlyRenewalHours"]) },
    // aws_instance: ForceNew ami, subnet_id, private_ip, availability_zone, key_name,
    // associate_public_ip_address, root_block_device.encrypted/kms_key_id, …; user_data replaces only
    // with user_data_replace_on_change; instance_type, security groups, profile, metadata: update.
    "aws:ec2/instance:Instance": {
        replaces: (changed, before, after) =>
            changed.filter((k) => {
                switch (k) {
                    case "ami":
                    case "subnetId":
                    case "privateIp":
                    case "availabilityZone":
                    case "keyName":
                    case "associatePublicIpAddress":
                    case "securityGroups":
                    case "launchTemplate":
                    case "ebsBlockDevices":
                        return true;
                    case "userData":
                    case "userDataBase64":
                        return after.inputs.userDataReplaceOnChange === true;
                    case "rootBlockDevice":
                        return (
                            before.inputs.rootBlockDevice?.encrypted !== after.inputs.rootBlockDevice?.encrypted ||
                            before.inputs.rootBlockDevice?.kmsKeyId !== after.inputs.rootBlockDevice?.kmsKeyId
                        );
                    default:
                        return false;
                }
            }),
    },
    // aws_ssm_parameter: name ForceNew (and a tier downgrade Advanced → Standard).
    "aws:ssm/parameter:Parameter": {
        replaces: (changed, before, after) =>
            changed.filter((k) => k === "name" || (k === "tier" && before.inputs.tier === "Advanced" && after.inputs.tier === "Standard")),
    },
    // aws_cloudwatch_metric_alarm: alarm_name ForceNew; everything else (dimensions, actions,
    // thresholds) PutMetricAlarm again, in place (internal/service/cloudwatch/metric_alarm.go).
    "aws:cloudwatch/metricAlarm:MetricAlarm": { replaces: only(["name"]) },
    // aws_cloudwatch_log_group: name, name_prefix, log_group_class ForceNew; retention_in_days
    // (PutRetentionPolicy) and kms_key_id (AssociateKmsKey) update (internal/service/logs/group.go).
    "aws:cloudwatch/logGroup:LogGroup": { replaces: only(["name", "namePrefix", "logGroupClass"]) },
    // aws_sns_topic: name, name_prefix, fifo_topic ForceNew (internal/service/sns/topic.go).
    "aws:sns/topic:Topic": { replaces: only(["name", "namePrefix", "fifoTopic"]) },
    // aws_ssm_association: name (the document) and instance_id ForceNew; everything else
    // UpdateAssociation, which runs the association again.
    "aws:ssm/association:Association": { replaces: only(["name", "instanceId"]) },
};

function ruleFor(type: string): ReplaceRule {
    const rule = RULES[type];
    if (rule === undefined)
        throw new Error(`engine model: no replace rule for ${type}: add one to tests/harness/engine.ts from the provider's schema`);
    return rule;
}

/** Whether a changed top-level input matches a replaceOnChanges path ("triggers[*]", "associationName", "*"). */
function matchesReplaceOnChanges(key: string, paths: readonly string[]): boolean {
    return paths.some((p) => p === "*" || p === key || p.startsWith(`${key}[`) || p.startsWith(`${key}.`));
}

/** Inputs as the provider sees them after Check: the Image's implicit build.contextDigest added. */
function providerInputs(r: RecordedResource): Record<string, unknown> {
    if (r.type !== "docker:index/image:Image" || r.inputs.build === undefined) return r.inputs;
    const build = r.inputs.build;
    const context = String(build.context ?? ".");
    const dockerfile = String(build.dockerfile ?? path.join(context, "Dockerfile"));
    return { ...r.inputs, build: { ...build, contextDigest: contextDigest(context, dockerfile) } };
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

export interface PlanOptions {
    /** `pulumi up --refresh`: resources of the old state that Read finds gone (dropped before the program runs). */
    readonly gone?: (r: RecordedResource) => boolean;
    /**
     * Hours since the old state was written (its certificates issued): a certificate the tls provider
     * then finds ready for renewal is replaced (`readyForRenewal` in its replace keys). Defaults to 0.
     */
    readonly hoursLater?: number;
}

/** The old state as the program that wrote it: the resources it registered. */
export type State = readonly RecordedResource[];

export function stateOf(run: ProgramRun): State {
    return run.resources;
}

/** Plans `pulumi up` from `state` (what an earlier program registered) to `next` (this program). */
export function planUpdate(state: State, next: ProgramRun, options: PlanOptions = {}): EnginePlan {
    const refreshed = state.filter((r) => r.custom && !(options.gone?.(r) ?? false));
    const old = new Map(refreshed.map((r) => [r.urn, r]));
    const customs = next.resources.filter((r) => r.custom);
    const byUrn = new Map(customs.map((r) => [r.urn, r]));
    if (byUrn.size !== customs.length) throw new Error("engine model: two resources share a URN");

    const dispositions = new Map<string, Disposition>();
    const steps: Step[] = [];
    /** Step id after which dependents of a resource may start (its last program-phase step). */
    const done = new Map<string, string>();
    /** Resources the cascade already deleted: their registration is a create. */
    const cascaded = new Map<string, string>();
    const deferredDeletes: RecordedResource[] = [];

    const step = (kind: StepKind, r: RecordedResource, phase: Step["phase"], after: string[]): Step => {
        const s: Step = {
            id: `${kind} ${r.name}#${steps.length}`,
            kind,
            urn: r.urn,
            name: r.name,
            type: r.type,
            resource: r,
            phase,
            after,
        };
        steps.push(s);
        return s;
    };

    /** An input came from a resource whose outputs are new: it is unknown until that resource's step. */
    const outputsRenewed = (urn: string): boolean => {
        const d = dispositions.get(urn);
        if (d === undefined) return false;
        if (d.op === "create" || d.op === "replace") return true;
        return d.op === "update" && (RULES[d.type]?.outputsChangeOnUpdate ?? false);
    };

    const diff = (before: RecordedResource, after: RecordedResource, renewed: (urn: string) => boolean): string[] => {
        const a = providerInputs(before);
        const b = providerInputs(after);
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.filter((k) => {
            if (after.ignoreChanges.includes(k)) return false;
            if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return true;
            return (after.propertyDependencies[k] ?? []).some(renewed);
        });
    };

    const replaceKeysOf = (r: RecordedResource, before: RecordedResource, changed: readonly string[]): string[] => {
        const forced = new Set(ruleFor(r.type).replaces(changed, before, r));
        // The tls provider's ModifyPlan adds ready_for_renewal to RequiresReplace (tls.ts readyForRenewal).
        if (changed.includes("readyForRenewal") && RENEWING_TYPES.includes(r.type)) forced.add("readyForRenewal");
        for (const k of changed) if (matchesReplaceOnChanges(k, r.replaceOnChanges)) forced.add(k);
        return [...forced].sort();
    };

    /** The engine's calculateDependentReplacements over the OLD state, for a delete-before-replace of `root`. */
    const dependentReplacements = (root: RecordedResource): RecordedResource[] => {
        const replaceSet = new Set([root.urn]);
        const found: RecordedResource[] = [];
        for (const d of dependentsInOrder(refreshed, root.urn)) {
            const fromReplaced = Object.entries(d.propertyDependencies)
                .filter(([, urns]) => urns.some((u) => replaceSet.has(u)))
                .map(([k]) => k);
            if (fromReplaced.length === 0) continue;
            if (replaceKeysOf(d, d, fromReplaced).length === 0) continue;
            replaceSet.add(d.urn);
            found.push(d);
        }
        return found;
    };

    for (const r of customs) {
        const after = r.dependencies.filter((u) => done.has(u)).map((u) => done.get(u)!);
        const before = old.get(r.urn);
        if (before === undefined || cascaded.has(r.urn)) {
            dispositions.set(r.urn, {
                urn: r.urn,
                name: r.name,
                type: r.type,
                op: before === undefined ? "create" : "replace",
                deleteFirst: before !== undefined,
                changed: [],
                replaceKeys: [],
                cascadedFrom: cascaded.get(r.urn),
            });
            done.set(r.urn, step("create", r, "program", after).id);
            continue;
        }
        const renews = RENEWING_TYPES.includes(r.type) && readyForRenewal(before.inputs, options.hoursLater ?? 0);
        const changed = [...diff(before, r, outputsRenewed), ...(renews ? ["readyForRenewal"] : [])];
        const replaceKeys = changed.length === 0 ? [] : replaceKeysOf(r, before, changed);
        const op: Operation = changed.length === 0 ? "same" : replaceKeys.length > 0 ? "replace" : "update";
        const deleteFirst = op === "replace" && (r.deleteBeforeReplace || (ruleFor(r.type).deleteBeforeReplace ?? false));
        dispositions.set(r.urn, { urn: r.urn, name: r.name, type: r.type, op, deleteFirst, changed, replaceKeys });
        if (op === "same" || op === "update") {
            done.set(r.urn, step(op, r, "program", after).id);
        } else if (!deleteFirst) {
            done.set(r.urn, step("create", r, "program", after).id);
            deferredDeletes.push(before);
        } else {
            // Dependents first (reverse dependency order), then the resource, then its replacement.
            let previous = after;
            for (const d of dependentReplacements(before).reverse()) {
                cascaded.set(d.urn, r.name);
                previous = [step("delete", d, "program", previous).id];
            }
            previous = [step("delete", before, "program", previous).id];
            done.set(r.urn, step("create", r, "program", previous).id);
        }
    }

    // The batch after the program: removed resources and create-before-delete old copies.
    const removed = refreshed.filter((r) => !byUrn.has(r.urn) && !cascaded.has(r.urn));
    for (const r of removed)
        dispositions.set(r.urn, { urn: r.urn, name: r.name, type: r.type, op: "delete", deleteFirst: false, changed: [], replaceKeys: [] });
    const batch = [...removed, ...deferredDeletes];
    const programSteps = steps.map((s) => s.id);
    const batchUrns = new Set(batch.map((r) => r.urn));
    const deleteStep = new Map<string, Step>();
    // Dependents are deleted before what they depend on: walk the batch in reverse dependency order.
    for (const r of [...batch].sort((a, b) => orderIndex(refreshed, b.urn) - orderIndex(refreshed, a.urn))) {
        const dependents = dependentsInOrder(refreshed, r.urn).filter((d) => batchUrns.has(d.urn));
        const after = [...programSteps, ...dependents.map((d) => deleteStep.get(d.urn)!.id)];
        deleteStep.set(r.urn, step("delete", r, "deletes", after));
    }

    return makePlan(dispositions, steps, next, state);
}

/** Position of a resource in the old state (registration order: dependencies come first). */
function orderIndex(state: State, urn: string): number {
    return state.findIndex((r) => r.urn === urn);
}

/** Transitive dependents of `urn` in `state` (through dependencies and property dependencies), in dependency order. */
function dependentsInOrder(state: State, urn: string): RecordedResource[] {
    const reached = new Set([urn]);
    const out: RecordedResource[] = [];
    for (const r of state) {
        if (r.urn === urn) continue;
        const deps = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
        if (deps.some((d) => reached.has(d))) {
            reached.add(r.urn);
            out.push(r);
        }
    }
    return out;
}

function makePlan(dispositions: Map<string, Disposition>, steps: Step[], next: ProgramRun, state: State): EnginePlan {
    const byId = new Map(steps.map((s) => [s.id, s]));
    const ancestors = new Map<string, Set<string>>();
    const ancestorsOf = (id: string): Set<string> => {
        let set = ancestors.get(id);
        if (set === undefined) {
            set = new Set<string>();
            for (const a of byId.get(id)!.after) {
                set.add(a);
                for (const x of ancestorsOf(a)) set.add(x);
            }
            ancestors.set(id, set);
        }
        return set;
    };
    const find = (name: string): Disposition => {
        const inNext = next.resources.find((r) => r.custom && r.name === name);
        const urn = inNext?.urn ?? state.find((r) => r.custom && r.name === name)?.urn;
        const d = urn === undefined ? undefined : dispositions.get(urn);
        if (d === undefined) throw new Error(`engine model: no resource named ${name}`);
        return d;
    };
    return {
        dispositions,
        steps,
        op: find,
        stepsOf: (name) => steps.filter((s) => s.name === name),
        before: (a, b) => ancestorsOf(b.id).has(a.id),
        changedNames: () => [...dispositions.values()].filter((d) => d.op !== "same").map((d) => d.name),
    };
}
