// Feeds the program's mock-runtime graph (tests/harness/program.ts) to the policy pack, two ways:
// - `ruleResources`: straight into policy/rules.ts, secrets read off the serialized inputs;
// - `runPack`: through policy/pack.ts exactly as the policy SDK's analyzer server does (props
//   deserialized by the SDK and wrapped in its unknown-checking proxy; secrets unwrapped for
//   validations, kept as `Secret` for remediations; stack resources with parents and property
//   dependencies) — without `new PolicyPack`, which would start a server.
import {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
} from "@pulumi/policy";
import { policies } from "../../policy/pack";
import { pathOf, PathSegment, RuleResource } from "../../policy/rules";
import { isSecretMarked, ProgramRun, RecordedResource } from "../harness/program";

/** The SDK's own (de)serializer (internal module, no type declarations). */
export const sdkSerde: {
    deserializeProperties(struct: { toJavaScript(): unknown }, proxySecrets: boolean): Record<string, any>;
    serializeProperties(props: unknown): Promise<any>;
} = require("@pulumi/policy/deserialize");

/** Paths of the secret values in serialized inputs. */
export function secretPathsOf(raw: unknown, segments: PathSegment[] = [], found = new Set<string>()): Set<string> {
    if (Array.isArray(raw)) raw.forEach((v, i) => secretPathsOf(v, [...segments, i], found));
    else if (raw !== null && typeof raw === "object") {
        if (isSecretMarked(raw)) {
            found.add(pathOf(segments));
            secretPathsOf(raw.value, segments, found);
        } else for (const [k, v] of Object.entries(raw)) secretPathsOf(v, [...segments, k], found);
    }
    return found;
}

function strings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
    return [];
}

/**
 * Property dependencies of a recorded resource. The mock runtime records only the union of its
 * dependencies, so an input refers to a dependency when it holds that resource's mock id
 * (`<name>-id`) or an ARN ending in its name (the harness's mocks make both).
 */
export function propertyDependenciesOf(r: RecordedResource, byUrn: ReadonlyMap<string, RecordedResource>): Record<string, string[]> {
    const deps = r.dependencies.map((u) => byUrn.get(u)).filter((d): d is RecordedResource => d !== undefined);
    const result: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(r.inputs)) {
        const values = strings(value);
        const refs = deps.filter((d) => values.some((s) => s === `${d.name}-id` || s.endsWith(`/${d.name}`))).map((d) => d.urn);
        if (refs.length > 0) result[key] = refs;
    }
    return result;
}

/** The graph as the rules see it (secret-ness visible, as in a remediation). */
export function ruleResources(run: ProgramRun | readonly RecordedResource[]): RuleResource[] {
    const resources = "resources" in run ? run.resources : run;
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    return resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        parent: r.parent || undefined,
        props: r.inputs,
        secretPaths: secretPathsOf(r.rawInputs),
        propertyDependencies: propertyDependenciesOf(r, byUrn),
    }));
}

export interface PackFinding {
    readonly policy: string;
    readonly urn: string;
    readonly message: string;
}

export interface PackRun {
    readonly violations: PackFinding[];
    /** Remediations that changed a resource: the policy and the new (serialized) inputs. */
    readonly remediations: { policy: string; urn: string; props: Record<string, unknown> }[];
}

/** Minimal resource options (the policies do not read them). */
const OPTS = {
    protect: false,
    ignoreChanges: [],
    deleteBeforeReplace: false,
    aliases: [],
    additionalSecretOutputs: [],
    customTimeouts: {},
};

function resourceArgs(r: RecordedResource, proxySecrets: boolean): ResourceValidationArgs {
    const props = unknownCheckingProxy(sdkSerde.deserializeProperties({ toJavaScript: () => r.rawInputs }, proxySecrets));
    const args = {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props,
        opts: OPTS,
        stackTags: new Map<string, string>(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({}),
        notApplicable: (reason?: string): never => {
            throw new Error(`notApplicable: ${reason}`);
        },
    };
    return args as unknown as ResourceValidationArgs;
}

function policyResources(resources: readonly RecordedResource[]): PolicyResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const out = new Map<string, PolicyResource>();
    for (const r of resources) {
        out.set(r.urn, {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: unknownCheckingProxy(sdkSerde.deserializeProperties({ toJavaScript: () => r.rawInputs }, false)),
            opts: OPTS,
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        } as unknown as PolicyResource);
    }
    for (const r of resources) {
        const p = out.get(r.urn)!;
        p.parent = out.get(r.parent);
        p.dependencies = r.dependencies.map((d) => out.get(d)).filter((d): d is PolicyResource => d !== undefined);
        for (const [k, urns] of Object.entries(propertyDependenciesOf(r, byUrn))) p.propertyDependencies[k] = urns.map((u) => out.get(u)!);
    }
    return [...out.values()];
}

/** Runs every policy of the pack over the graph, as the analyzer would for an update. */
export async function runPack(run: ProgramRun | readonly RecordedResource[]): Promise<PackRun> {
    const resources = "resources" in run ? run.resources : run;
    const violations: PackFinding[] = [];
    const remediations: PackRun["remediations"] = [];
    for (const policy of policies) {
        if ("validateStack" in policy) {
            const p = policy as StackValidationPolicy;
            const args = {
                resources: policyResources(resources),
                stackTags: new Map(),
                getConfig: () => ({}),
                notApplicable: () => undefined,
            };
            await p.validateStack(args as any, (message: string, urn?: string) =>
                violations.push({ policy: p.name, urn: urn ?? "", message }),
            );
            continue;
        }
        const p = policy as ResourceValidationPolicy;
        for (const r of resources) {
            if (p.remediateResource) {
                const result = await p.remediateResource(resourceArgs(r, true));
                if (result) remediations.push({ policy: p.name, urn: r.urn, props: await sdkSerde.serializeProperties(result) });
            }
            const validations =
                p.validateResource === undefined ? [] : Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
            for (const validate of validations)
                await validate(resourceArgs(r, false), (message: string) => violations.push({ policy: p.name, urn: r.urn, message }));
        }
    }
    return { violations, remediations };
}
