// Evaluates the real program (index.ts) under Pulumi's mock runtime, from a stack's own
// Pulumi.<stack>.yaml plus overrides, and records every resource the program registers: type,
// name, parent, dependencies, inputs (plain) and which inputs travelled as secrets.
//
// Each evaluation runs in `jest.isolateModules`, so @pulumi/pulumi's global state is fresh and the
// program is imported only after the mocks are set (pulumi/pulumi#12141).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { mockTlsState, TLS_TYPES } from "./tls";

export const REPO_ROOT = path.join(__dirname, "..", "..");
const PROJECT = "swarm-platform";
/**
 * Pulumi's marker for a secret value in serialized properties: `{ [SIG_KEY]: SECRET_SIG, value }`.
 * The one copy in the tests. Typed as the SDK's own constants (`specialSigKey`, `specialSecretSig`
 * in @pulumi/pulumi/runtime/rpc), so `tsc` fails if the SDK ever changes them; importing their
 * values instead would load @pulumi/pulumi outside the per-run isolateModules registry.
 */
const SIG_KEY: typeof import("@pulumi/pulumi/runtime/rpc").specialSigKey = "4dabf18193072939515e22adb298388d";
const SECRET_SIG: typeof import("@pulumi/pulumi/runtime/rpc").specialSecretSig = "1b47061264138c4ac30d75fd1eb44270";

/** `value` as the engine receives a secret input. */
export function secretMarked(value: unknown): Record<string, unknown> {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** Whether a serialized value is a secret marker (its plain value is `.value`). */
export function isSecretMarked(value: unknown): value is { readonly value: unknown } {
    return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** URN of the parent ("" for the stack itself). */
    readonly parent: string;
    readonly dependencies: readonly string[];
    /** Inputs with secrets unwrapped. */
    readonly inputs: Record<string, any>;
    /** Inputs exactly as serialized to the engine: secret values are wrapped in a secret marker. */
    readonly rawInputs: Record<string, any>;
    readonly additionalSecretOutputs: readonly string[];
    readonly custom: boolean;
    readonly deleteBeforeReplace: boolean;
    /** Input key → URNs of the resources its value came from (what the engine's replacement cascade follows). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    readonly ignoreChanges: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly retainOnDelete: boolean;
}

export interface ProgramRun {
    readonly stack: string;
    readonly resources: RecordedResource[];
    /** Stack outputs, unwrapped. */
    readonly outputs: Record<string, any>;
    /** Names of stack outputs that are secret. */
    readonly secretOutputs: Set<string>;
    /** Every value the mocks handed out as a generated secret (passwords, tokens, keys). */
    readonly generatedSecrets: string[];
    ofType(type: string): RecordedResource[];
    byName(name: string): RecordedResource;
    /** What the component of this name registered as its outputs (registerOutputs), unwrapped. */
    componentOutputs(name: string): Record<string, any>;
}

/** The edges the engine orders by: a resource's dependsOn and the resources its inputs came from. */
type Dependent = Pick<RecordedResource, "urn" | "dependencies" | "propertyDependencies">;

/** URNs a resource depends on, directly or through other resources (dependsOn and input dependencies). */
export function dependsOnTransitively(resources: readonly Dependent[], r: Dependent): Set<string> {
    const byUrn = new Map(resources.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const visit = (urn: string) => {
        if (seen.has(urn)) return;
        seen.add(urn);
        const x = byUrn.get(urn);
        for (const d of x?.dependencies ?? []) visit(d);
        for (const ds of Object.values(x?.propertyDependencies ?? {})) ds.forEach(visit);
    };
    r.dependencies.forEach(visit);
    Object.values(r.propertyDependencies).forEach((ds) => ds.forEach(visit));
    return seen;
}

/** Per-section overrides, merged into the stack file's sections key by key. */
export type ConfigOverrides = Record<string, unknown>;

/** Reads Pulumi.<stack>.yaml into the flat `project:key` → string map the runtime expects. */
export function stackConfig(stack: string, overrides: ConfigOverrides = {}): Record<string, string> {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const config: Record<string, unknown> = { ...(doc.config ?? {}) };
    for (const [key, value] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        const current = config[full];
        config[full] =
            value !== null && typeof value === "object" && !Array.isArray(value) && current !== null && typeof current === "object"
                ? { ...(current as object), ...(value as object) }
                : value;
        if (value === undefined) delete config[full];
    }
    // The runtime hands config to the program as strings; objects and numbers as JSON.
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value !== null && typeof value === "object") {
        if (isSecretMarked(value)) return unwrapSecrets(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Mock values of generated secrets: distinctive, so tests can search every input for them. */
function mockState(type: string, name: string, inputs: Record<string, any>, secrets: string[]): Record<string, any> {
    const secret = (label: string) => {
        const value = `MOCKSECRET-${label}-${name}`;
        secrets.push(value);
        return value;
    };
    // @pulumi/tls: real keys and certificates (tests/harness/tls.ts); private keys are generated secrets.
    const tlsState = mockTlsState(type, name, inputs);
    if (tlsState !== undefined) {
        if (typeof tlsState.privateKeyPem === "string" && type === TLS_TYPES.privateKey) secrets.push(tlsState.privateKeyPem);
        return tlsState;
    }
    switch (type) {
        case "random:index/randomPassword:RandomPassword": {
            // Honour `length`: renderers enforce real limits (VRRPv2 auth_pass is at most 8 characters).
            const full = `MOCKSECRET-password-${name}`;
            const value = inputs.length !== undefined && inputs.length < full.length ? full.slice(-inputs.length) : full;
            secrets.push(value);
            return { ...inputs, result: value, bcryptHash: secret("bcrypt") };
        }
        case "random:index/randomUuid:RandomUuid":
            // Accessors are public; only token secrets are generated secrets.
            return { ...inputs, result: name.endsWith("-token") ? secret("uuid") : `accessor-${name}` };
        case "random:index/randomBytes:RandomBytes":
            return { ...inputs, base64: secret("base64"), hex: secret("hex") };
        case "docker:index/image:Image":
            return { ...inputs, repoDigest: `${String(inputs.imageName).split(":")[0]}@sha256:${name}`, imageName: inputs.imageName };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `sha256:${name}`, repoDigest: `${inputs.name}@sha256:${name}` };
        case "command:local:Command":
            return { ...inputs, stdout: "", stderr: "" };
        case "aws:ec2/instance:Instance":
            return { ...inputs, arn: `arn:aws:ec2:eu-west-1:123456789012:instance/${name}`, privateIp: inputs.privateIp };
        case "aws:ecr/repository:Repository":
            return { ...inputs, registryId: "123456789012", repositoryUrl: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${inputs.name}` };
        case "aws:lb/loadBalancer:LoadBalancer": {
            // arnSuffix: the ARN's resource part less `loadbalancer/`, what CloudWatch's dimensions name.
            const arnSuffix = `${inputs.loadBalancerType === "application" ? "app" : "net"}/${name}`;
            return {
                ...inputs,
                arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/${arnSuffix}`,
                arnSuffix,
                dnsName: `${name}.elb.eu-west-1.amazonaws.com`,
                // The ALBs' canonical hosted zone in eu-west-1 (what an alias record names).
                zoneId: "Z32O12XQLNTSW2",
            };
        }
        case "aws:acm/certificate:Certificate":
            // ACM's shape: one validation option per name, a CNAME under the name itself.
            return {
                ...inputs,
                arn: `arn:aws:acm:eu-west-1:123456789012:certificate/${name}`,
                domainValidationOptions: [
                    {
                        domainName: inputs.domainName,
                        resourceRecordName: `_0123456789abcdef.${inputs.domainName}.`,
                        resourceRecordType: "CNAME",
                        resourceRecordValue: `_fedcba9876543210.acm-validations.aws.`,
                    },
                ],
            };
        case "aws:acm/certificateValidation:CertificateValidation":
            return { ...inputs, certificateArn: inputs.certificateArn };
        case "aws:route53/record:Record":
            return { ...inputs, fqdn: String(inputs.name).replace(/\.$/, "") };
        case "aws:iam/instanceProfile:InstanceProfile":
        case "aws:iam/role:Role":
            return { ...inputs, name: inputs.name ?? name };
        case "aws:lb/targetGroup:TargetGroup":
            return {
                ...inputs,
                arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}`,
                arnSuffix: `targetgroup/${name}`,
            };
        default:
            return inputs;
    }
}

/** The cloud look-ups the program makes, answered like the real APIs; anything else throws. */
export const MOCK_ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/** A running instance as EC2 describes it to the mocks' getInstances/getInstance. */
export interface MockInstance {
    readonly id: string;
    readonly tags: Readonly<Record<string, string>>;
}

let mockDeployedInstances: readonly MockInstance[] = [];

/** The instances the next programs find running (AWS data sources), until set again. */
export function setMockDeployedInstances(instances: readonly MockInstance[]): void {
    mockDeployedInstances = instances;
}

function mockInvoke(token: string, inputs: Record<string, any>): Record<string, any> {
    switch (token) {
        case "aws:index/getRegion:getRegion":
            return {
                id: "eu-west-1",
                name: "eu-west-1",
                region: "eu-west-1",
                description: "Europe (Ireland)",
                endpoint: "ec2.eu-west-1.amazonaws.com",
            };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { id: "123456789012", accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/ci", userId: "AIDA" };
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                id: "eu-west-1",
                names: MOCK_ZONES,
                zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"],
                groupNames: ["eu-west-1"],
                region: "eu-west-1",
            };
        case "aws:ec2/getAmi:getAmi": {
            // Like EC2's DescribeImages: an image name is unique per owner and region, so a given name
            // answers with one id, and another name with another (the mock's id is a hash of the name).
            expect(inputs.owners).toEqual(["136693071363"]);
            const name = (inputs.filters ?? []).find((f: { name: string }) => f.name === "name")?.values?.[0];
            if (typeof name !== "string" || name.includes("*")) throw new Error(`getAmi mock: expected an exact image name, got ${name}`);
            const id = `ami-0${crypto.createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
            return { id, imageId: id, name };
        }
        // The instances as they run now (Platform.requireDeployedMarks): none unless a test says so.
        case "aws:ec2/getInstances:getInstances": {
            const names: string[] = (inputs.filters ?? []).find((f: { name: string }) => f.name === "tag:Name")?.values ?? [];
            const found = mockDeployedInstances.filter((i) => names.includes(i.tags.Name ?? ""));
            return { id: "instances", ids: found.map((i) => i.id), privateIps: [], publicIps: [], ipv6Addresses: [] };
        }
        case "aws:ec2/getInstance:getInstance": {
            const instance = mockDeployedInstances.find((i) => i.id === inputs.instanceId);
            if (instance === undefined) throw new Error(`getInstance mock: no instance ${inputs.instanceId}`);
            return { id: instance.id, instanceId: instance.id, tags: instance.tags };
        }
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                id: "ecr",
                proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                userName: "AWS",
                password: "MOCKSECRET-ecr-password",
                authorizationToken: "MOCKSECRET-ecr-token",
                expiresAt: "",
            };
        default:
            throw new Error(`unmocked invoke ${token}: add a mock for it in tests/harness/program.ts`);
    }
}

/** Runs index.ts for `stack` and resolves once every registration and output has settled. */
export async function runProgram(stack: string, overrides: ConfigOverrides = {}, secretKeys: string[] = []): Promise<ProgramRun> {
    const { run, error } = await evaluate(stack, overrides, secretKeys);
    if (error !== undefined) throw error;
    return run;
}

/**
 * Runs index.ts as the stack named `stackName` with `configStack`'s Pulumi.<configStack>.yaml: the same
 * config under another stack name (AWS names and the quorum floor depend on the name).
 */
export async function runProgramAs(stackName: string, configStack: string, overrides: ConfigOverrides = {}): Promise<ProgramRun> {
    const { run, error } = await evaluate(stackName, overrides, [], configStack);
    if (error !== undefined) throw error;
    return run;
}

/** For programs expected to fail: the error, and every resource registered before it (want: none). */
export async function runProgramExpectingError(
    stack: string,
    overrides: ConfigOverrides = {},
): Promise<{ error: Error; resources: RecordedResource[] }> {
    const { run, error } = await evaluate(stack, overrides, []);
    if (error === undefined) throw new Error("expected the program to fail, but it succeeded");
    return { error: error as Error, resources: run.resources };
}

/**
 * Runs index.ts for `stack` and returns the run and the program's error, if any — for callers that
 * accept either outcome (the config-totality property).
 */
export async function tryProgram(stack: string, overrides: ConfigOverrides = {}): Promise<{ run: ProgramRun; error: unknown }> {
    return evaluate(stack, overrides, []);
}

async function evaluate(
    stack: string,
    overrides: ConfigOverrides,
    secretKeys: string[],
    configStack = stack,
): Promise<{ run: ProgramRun; error: unknown }> {
    const resources: RecordedResource[] = [];
    const generatedSecrets: string[] = [];
    const componentOutputs = new Map<string, Record<string, any>>();
    let outputs: Record<string, any> = {};
    const secretOutputs = new Set<string>();
    let programError: unknown;
    // A renderer that throws inside an `apply` rejects a resource's inputs, not the program's import:
    // the SDK leaves that rejection unhandled on purpose (runtime/resource.ts, runAsyncResourceOp) and
    // the language host's `unhandledRejection` handler fails the update (cmd/run/run.ts in
    // @pulumi/pulumi 3.248.0: `process.on("unhandledRejection", uncaughtHandler)` logs the error and
    // the run exits non-zero). The mocks have no such handler, so the harness listens instead: such a
    // rejection is the program's error, as it is for the CLI.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    let invokes = 0;
    process.on("unhandledRejection", onUnhandled);

    // isolateModulesAsync: the program's require() calls come after awaits and must stay isolated.
    await jest.isolateModulesAsync(async () => {
        const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
        pulumi.runtime.setAllConfig(stackConfig(configStack, overrides), secretKeys);
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => ({ id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs, generatedSecrets) }),
                call: (args) => {
                    invokes++;
                    return mockInvoke(args.token, args.inputs);
                },
            },
            PROJECT,
            stack,
            false,
        );
        // MockResourceArgs carries no parent/dependencies/secrets: read them off the raw request.
        const monitor: any = pulumi.runtime.getMonitor();
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            const rawInputs = req.getObject()?.toJavaScript() ?? {};
            const type = req.getType();
            const name = req.getName();
            // URNs carry the parent's type chain (the stack's own type is left out).
            const parentType = req.getParent() ? req.getParent().split("::")[2] : "";
            const chain = !parentType || parentType === "pulumi:pulumi:Stack" ? type : `${parentType}$${type}`;
            resources.push({
                type,
                name,
                urn: `urn:pulumi:${stack}::${PROJECT}::${chain}::${name}`,
                parent: req.getParent(),
                dependencies: req.getDependenciesList(),
                inputs: unwrapSecrets(rawInputs),
                rawInputs,
                additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                custom: req.getCustom(),
                deleteBeforeReplace: req.getDeletebeforereplace(),
                propertyDependencies: Object.fromEntries(
                    req
                        .getPropertydependenciesMap()
                        .toArray()
                        .map(([key, deps]: [string, any]) => [key, deps[0] ?? []]),
                ),
                ignoreChanges: req.getIgnorechangesList(),
                replaceOnChanges: req.getReplaceonchangesList(),
                retainOnDelete: req.getRetainondelete() ?? false,
            });
            return register(req, callback);
        };
        const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
        monitor.registerResourceOutputs = (req: any, callback: any) => {
            componentOutputs.set(req.getUrn(), unwrapSecrets(req.getOutputs()?.toJavaScript() ?? {}));
            return registerOutputs(req, callback);
        };
        try {
            const program = require("../../index");
            for (const [key, value] of Object.entries(program)) {
                if (pulumi.Output.isInstance(value)) {
                    const output = value as import("@pulumi/pulumi").Output<unknown>;
                    outputs[key] = await (output as any).promise();
                    if (await (output as any).isSecret) secretOutputs.add(key);
                } else {
                    outputs[key] = value;
                }
            }
        } catch (err) {
            programError = err;
        }
        // Let registrations that no output depends on finish too, and the data-source reads they
        // wait for (a read that refuses the update rejects a node's registration).
        for (let settled = -1; settled !== resources.length + invokes; ) {
            settled = resources.length + invokes;
            await new Promise((r) => setTimeout(r, 20));
        }
    });
    process.off("unhandledRejection", onUnhandled);
    if (programError === undefined && unhandled.length > 0) programError = unhandled[0];
    outputs = unwrapSecrets(outputs);
    const run: ProgramRun = {
        stack,
        resources,
        outputs,
        secretOutputs,
        generatedSecrets,
        ofType: (type) => resources.filter((r) => r.type === type),
        componentOutputs: (name) => {
            const component = resources.find((r) => !r.custom && r.name === name);
            const out = component === undefined ? undefined : componentOutputs.get(component.urn);
            if (out === undefined) throw new Error(`no outputs registered by a component named ${name}`);
            return out;
        },
        byName: (name) => {
            const found = resources.filter((r) => r.name === name);
            if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
            return found[0];
        },
    };
    return { run, error: programError };
}
