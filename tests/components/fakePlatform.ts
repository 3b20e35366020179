// An in-memory Platform for component tests: it records every node, script, image and listener a
// component asks for, hands out planned addresses by role and index, and backs each node and script
// with a mock resource (so dependsOn and parents are real). Components are built under Pulumi's mock
// runtime, one at a time, inside a test — no program, no provider, no engine.
import * as pulumi from "@pulumi/pulumi";
import {
    BuiltImage,
    ClusterScriptArgs,
    DeployedMarksCheck,
    ImageBuildArgs,
    Ingress,
    IngressListener,
    ListenerName,
    NodeArgs,
    nodeMarksAndDependencies,
    NodeRole,
    Platform,
    PlatformNode,
    RunScriptArgs,
    ScriptRun,
    VipFailover,
} from "../../platforms/types";

/** Mock values of what @pulumi/random generates: recognisable, and secret where the component says so. */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    switch (type) {
        case "random:index/randomBytes:RandomBytes":
            return { ...inputs, base64: `base64-${name}`, hex: `hex-${name}` };
        case "random:index/randomUuid:RandomUuid":
            return { ...inputs, result: `uuid-${name}` };
        case "random:index/randomPassword:RandomPassword":
            // Honour `length`: renderers enforce real limits (VRRPv2 auth_pass is at most 8 characters).
            return { ...inputs, result: `pw-${name}`.slice(0, inputs.length) };
        // @pulumi/tls: placeholders named after the resource (tests/harness/tls.ts makes real ones).
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: `key-${name}` };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: `csr-${name}` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `cert-${name}` };
        default:
            return inputs;
    }
}

/** What the mock runtime registered, by name. */
export const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];

/**
 * What the engine is asked to register, beyond the inputs: the resource's parent (its URN, "" for
 * none) and the outputs it must keep secret in the stack's state.
 */
export const requested: { type: string; name: string; parent: string; additionalSecretOutputs: string[] }[] = [];

/** The outputs each component registered (what the stack's state shows for it), as given. */
const componentOutputs = new Map<pulumi.Resource, pulumi.Inputs | undefined>();

/** The outputs `component` registered, settled. */
export function registeredOutputs(component: pulumi.ComponentResource): Promise<Record<string, unknown>> {
    if (!componentOutputs.has(component)) throw new Error("the component registered no outputs");
    return settled(pulumi.output(componentOutputs.get(component) ?? {}) as pulumi.Output<Record<string, unknown>>);
}

/**
 * Every Output a component handed the fake platform or registered as its outputs. The applies that
 * render their text run when their inputs resolve — under the mock runtime, often after the test's
 * last `await`. useMocks waits for them after each test, so that a renderer runs inside the test that
 * built the component: StrykerJS attributes what runs between tests to no test ("static"), and then
 * runs each of those mutants against every related test file instead of the tests that cover it.
 */
const pending: Promise<unknown>[] = [];

/** The longest useMocks waits for a test's pending Outputs: one that never settles is not the test's verdict. */
const SETTLE_LIMIT_MS = 3000;

async function settlePending(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_LIMIT_MS)));
    await Promise.race([Promise.all(pending.splice(0)), limit]);
    clearTimeout(timer);
}

/** Pulumi's mock runtime for a test file: registrations recorded, every invoke refused. */
export function useMocks(): void {
    afterEach(settlePending);
    const prototype = pulumi.ComponentResource.prototype as unknown as { registerOutputs(outputs?: pulumi.Inputs): void };
    const registerOutputs = prototype.registerOutputs;
    prototype.registerOutputs = function (this: pulumi.ComponentResource, outputs?: pulumi.Inputs) {
        // Only the first call counts (Pulumi ignores later ones, such as its own after `initialize`).
        if (!componentOutputs.has(this)) componentOutputs.set(this, outputs);
        pending.push((pulumi.output(outputs ?? {}) as any).promise().catch(() => undefined));
        return registerOutputs.call(this, outputs);
    };
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
            },
            call: (args) => {
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        "swarm-platform",
        "test",
        false,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, callback: unknown): unknown };
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        requested.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        });
        return registerResource(req, callback);
    };
}

/**
 * Marks an Output's failure as seen: a component built from arguments it should have refused may
 * render invalid text in an apply, and an unobserved rejection would end the test process instead
 * of failing the test.
 */
function observe(...inputs: unknown[]): void {
    for (const input of inputs) {
        if (!pulumi.Output.isInstance(input)) continue;
        const o = input as any;
        for (const p of [o.promise(), o.isKnown, o.isSecret, o.allResources()]) p.catch(() => undefined);
        pending.push(o.promise().catch(() => undefined));
    }
}

/** The value of an Input once it settles (mock runtime: always known). */
export function settled<T>(input: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(input).apply((v) => (resolve(v as T), v)));
}

/** Whether an Output is secret. */
export function isSecret(input: pulumi.Input<unknown>): Promise<boolean> {
    return (pulumi.output(input) as any).isSecret;
}

/** A mock resource standing for what a platform would create (a container, an instance, a command). */
class FakeResource extends pulumi.CustomResource {
    constructor(type: string, name: string, opts: pulumi.CustomResourceOptions = {}) {
        super(`fake:index:${type}`, name, {}, opts);
    }
}

/** The fake's address plan: role → third octet, node i → host 10 + i. */
export const FAKE_SUBNETS: Record<NodeRole, string> = {
    "consul-server": "10.0.1",
    "swarm-manager": "10.0.2",
    "swarm-worker": "10.0.3",
    lb: "10.0.4",
    monitoring: "10.0.5",
};

export interface FakePlatformOptions {
    /** What roleAddress answers for Consul servers (undefined: the platform has no shared name). */
    readonly consulServersName?: string;
    /** Nodes pull images themselves (loadImage answers undefined), like AWS. */
    readonly pullsImages?: boolean;
    /** What the swarm init script prints (the cluster's identity); "" like SSM. */
    readonly initStdout?: string;
    /** What vipFailover gives the LB nodes. */
    readonly vipFailover?: VipFailover;
}

interface Recorded<A> {
    readonly name: string;
    readonly args: A;
    readonly parent: pulumi.Resource;
    readonly resource: pulumi.Resource;
}

export class FakePlatform implements Platform {
    readonly name = "fake";
    readonly vipInterface = "eth7";
    readonly vipPrefixLength = 23;
    readonly nodes: (Recorded<NodeArgs> & { node: PlatformNode })[] = [];
    readonly scripts: Recorded<RunScriptArgs>[] = [];
    readonly clusterScripts: Recorded<ClusterScriptArgs>[] = [];
    readonly marksChecks: (Recorded<DeployedMarksCheck> & { result: pulumi.Output<pulumi.Resource> })[] = [];
    readonly images: ImageBuildArgs[] = [];
    readonly loads: { image: BuiltImage; node: PlatformNode; dependsOn: pulumi.Input<pulumi.Resource>[]; resource?: pulumi.Resource }[] =
        [];
    readonly failovers: string[] = [];
    readonly retryJoins: number[] = [];
    readonly ingresses: { name: string; listeners: readonly IngressListener[] }[] = [];

    constructor(private readonly options: FakePlatformOptions = {}) {}

    nodeAddress(role: NodeRole, index: number): string {
        return `${FAKE_SUBNETS[role]}.${10 + index}`;
    }

    consulRetryJoin(servers: number): string[] {
        this.retryJoins.push(servers);
        return [`fake-join-${servers}`];
    }

    roleAddress(role: NodeRole): string | undefined {
        return role === "consul-server" ? this.options.consulServersName : undefined;
    }

    createNode(args: NodeArgs, parent: pulumi.Resource): PlatformNode {
        observe(...[...args.files, ...(args.consulAgent?.files ?? [])].map((f) => f.content));
        const resource = new FakeResource("Node", args.name, { parent, dependsOn: nodeMarksAndDependencies(args).dependsOn });
        const node: PlatformNode = {
            name: args.name,
            role: args.role,
            address: this.nodeAddress(args.role, args.index),
            resource,
            instanceId: pulumi.output(`instance-${args.name}`),
        };
        this.nodes.push({ name: args.name, args, parent, resource, node });
        return node;
    }

    requireDeployedMarks(name: string, check: DeployedMarksCheck, parent: pulumi.Resource): pulumi.Output<pulumi.Resource> {
        const resource = new FakeResource("MarksCheck", name, { parent });
        const result = pulumi.output(name).apply(() => resource as pulumi.Resource);
        this.marksChecks.push({ name, args: check, parent, resource, result });
        return result;
    }

    runScript(name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
        observe(args.script);
        const resource = new FakeResource("Script", name, { parent, dependsOn: args.dependsOn });
        this.scripts.push({ name, args, parent, resource });
        return { resource, stdout: pulumi.output(name.endsWith("-init") ? (this.options.initStdout ?? "") : "") };
    }

    runClusterScript(name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
        observe(args.script, ...(args.reapplyOn ?? []));
        const resource = new FakeResource("ClusterScript", name, { parent, dependsOn: args.dependsOn });
        this.clusterScripts.push({ name, args, parent, resource });
        return { resource, stdout: pulumi.output("") };
    }

    buildImage(args: ImageBuildArgs): BuiltImage {
        this.images.push(args);
        const resource = new FakeResource("Image", `fake-${args.name}-image`);
        return {
            name: args.name,
            ref: pulumi.output(`fake/${args.name}:${args.tag}`),
            digest: pulumi.output(`sha256:${args.name}`),
            resource,
            inRegistry: this.options.pullsImages === true,
        };
    }

    loadImage(image: BuiltImage, node: PlatformNode, dependsOn: pulumi.Input<pulumi.Resource>[], parent: pulumi.Resource) {
        if (this.options.pullsImages === true) {
            this.loads.push({ image, node, dependsOn });
            return undefined;
        }
        const resource = new FakeResource("Load", `${node.name}-${image.name}-load`, { parent, dependsOn });
        this.loads.push({ image, node, dependsOn, resource });
        return resource;
    }

    vipFailover(vip: string): VipFailover {
        this.failovers.push(vip);
        return this.options.vipFailover ?? { files: [] };
    }

    ingress<L extends ListenerName>(name: string, listeners: readonly IngressListener<L>[]): Ingress<L> {
        this.ingresses.push({ name, listeners });
        const urls = Object.fromEntries(listeners.map((l) => [l.name, pulumi.output(`fake://${name}/${l.name}`)]));
        return { urls: urls as Record<L, pulumi.Output<string>>, resources: [] };
    }

    /** The node created under this name. */
    node(name: string): Recorded<NodeArgs> & { node: PlatformNode } {
        const found = this.nodes.find((n) => n.name === name);
        if (found === undefined) throw new Error(`no node ${name} (have: ${this.nodes.map((n) => n.name).join(", ")})`);
        return found;
    }

    /** The node script run under this name. */
    script(name: string): Recorded<RunScriptArgs> {
        const found = this.scripts.find((s) => s.name === name);
        if (found === undefined) throw new Error(`no script ${name} (have: ${this.scripts.map((s) => s.name).join(", ")})`);
        return found;
    }
}

/** The thrown error of a component constructor: its message and its per-key errors. */
export function thrown(build: () => unknown): { message: string; errors: { propertyPath: string; reason: string }[] } {
    try {
        build();
    } catch (e) {
        if (!pulumi.InputPropertiesError.isInstance(e)) throw e;
        return { message: e.message, errors: e.errors.map((x) => ({ propertyPath: x.propertyPath, reason: x.reason })) };
    }
    throw new Error("expected the component to refuse its arguments");
}
