// What the boot rehearsal takes from the program's graph (tests/harness/program.ts): the instances
// with their user data, the Parameter Store values, the SSM associations in dependency order, the
// IAM policies of the instance roles and the app images. Pure: no docker, no network.
//
// Nothing here knows resource names or counts: instances, parameters and associations are found by
// type, roles by the instance's `swarm-platform:role` tag, an association's targets by its
// `targets` input, and the order by the recorded `dependencies` (followed through resources of other
// types: an association that waits for a command that waits for another association runs after it).
import * as yaml from "js-yaml";
import { ProgramRun, RecordedResource } from "../harness/program";

export const INSTANCE = "aws:ec2/instance:Instance";
export const PARAMETER = "aws:ssm/parameter:Parameter";
export const ASSOCIATION = "aws:ssm/association:Association";
const SUBNET = "aws:ec2/subnet:Subnet";
const INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const IMAGE = "docker:index/image:Image";
const ROLE_TAG = "swarm-platform:role";

/** A file the boot script fetches: `fetch PARAMETER PATH MODE` in the user data's boot script. */
export interface FetchedFile {
    readonly parameter: string;
    readonly path: string;
    readonly mode: string;
}

/** A `write_files` entry of the cloud-config. */
export interface WrittenFile {
    readonly path: string;
    readonly permissions: string;
    readonly owner: string;
    readonly content: string;
}

/** A host container the boot script starts: `docker run … --name NAME … IMAGE …`. */
export interface BootContainer {
    readonly name: string;
    readonly image: string;
}

export interface RehearsalNode {
    /** Graph name of the instance, e.g. lb-0. */
    readonly name: string;
    readonly urn: string;
    readonly role: string;
    readonly tags: Record<string, string>;
    /** What EC2 would report: the mocks give every resource the id `<name>-id`. */
    readonly instanceId: string;
    readonly privateIp: string;
    readonly availabilityZone: string;
    readonly region: string;
    readonly instanceType: string;
    readonly ami: string;
    readonly userData: string;
    /** The user data, parsed (it must be `#cloud-config`). */
    readonly cloudConfig: Record<string, any>;
    readonly writeFiles: readonly WrittenFile[];
    readonly fetchedFiles: readonly FetchedFile[];
    readonly containers: readonly BootContainer[];
    /** The hostname the node must end up with: the graph's node name. */
    readonly expectedHostname: string;
    readonly metadataHttpTokens: string;
    readonly iamRoleName: string;
    readonly instanceProfileName: string;
    readonly policy: IamPolicy;
}

export interface IamStatement {
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | string[];
    readonly Resource: string | string[];
}
export interface IamPolicy {
    readonly Statement: IamStatement[];
}

export type AssociationTargets =
    | { readonly kind: "instances"; readonly instanceIds: readonly string[] }
    | { readonly kind: "tags"; readonly tags: Readonly<Record<string, readonly string[]>> };

export interface RehearsalAssociation {
    readonly name: string;
    readonly urn: string;
    readonly document: string;
    readonly commands: string;
    readonly executionTimeoutSeconds: number;
    readonly targets: AssociationTargets;
    /** SSM runs a tag-targeted association on its targets this many at a time ("1": one after the other). */
    readonly maxConcurrency?: string;
    /** …and stops after this many failed targets ("0": at the first). */
    readonly maxErrors?: string;
    /** URNs of the associations that must have succeeded first (through any resource in between). */
    readonly after: readonly string[];
}

export interface AppImage {
    /** The reference the program pushes to ECR (and the nodes pull). */
    readonly ref: string;
    readonly context: string;
    readonly dockerfile: string;
    readonly buildArgs: Record<string, string>;
}

export interface RehearsalPlan {
    readonly stack: string;
    readonly accountId: string;
    readonly nodes: readonly RehearsalNode[];
    /** Parameter Store as the program leaves it: name → value, type, tier. */
    readonly parameters: ReadonlyMap<string, { readonly value: string; readonly type: string; readonly tier: string }>;
    /** In a dependency order (every association after those in its `after`). */
    readonly associations: readonly RehearsalAssociation[];
    readonly images: readonly AppImage[];
}

/** Splits one line of sh into words (quotes and backslashes as sh reads them; no expansions). */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "'") {
            const end = line.indexOf("'", i + 1);
            if (end < 0) throw new Error(`unterminated ' in: ${line}`);
            word = (word ?? "") + line.slice(i + 1, end);
            i = end;
        } else if (c === '"') {
            let j = i + 1;
            let text = "";
            for (; j < line.length && line[j] !== '"'; j++) {
                if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
                text += line[j];
            }
            if (j >= line.length) throw new Error(`unterminated " in: ${line}`);
            word = (word ?? "") + text;
            i = j;
        } else if (c === "\\" && i + 1 < line.length) {
            word = (word ?? "") + line[++i];
        } else if (c === " " || c === "\t") {
            if (word !== undefined) words.push(word);
            word = undefined;
        } else if (c === "#" && word === undefined) {
            break;
        } else {
            word = (word ?? "") + c;
        }
    }
    if (word !== undefined) words.push(word);
    return words;
}

/** `docker run` flags that take no value (every other flag without `=` takes the next word). */
const DOCKER_RUN_BOOLEAN_FLAGS = new Set(["-d", "--detach", "--rm", "-i", "--interactive", "-t", "--tty", "--init", "--privileged", "-P"]);

/** The containers a boot script starts with `docker run` (name and image). */
export function bootContainers(script: string): BootContainer[] {
    const found: BootContainer[] = [];
    for (const line of script.split("\n")) {
        const words = shellWords(line.trim());
        if (words[0] !== "docker" || words[1] !== "run") continue;
        let name = "";
        let i = 2;
        for (; i < words.length && words[i].startsWith("-"); i++) {
            const w = words[i];
            if (w === "--name") name = words[i + 1];
            else if (w.startsWith("--name=")) name = w.slice("--name=".length);
            if (!w.includes("=") && !DOCKER_RUN_BOOLEAN_FLAGS.has(w)) i++;
        }
        if (i >= words.length) throw new Error(`graph: no image in: ${line}`);
        found.push({ name, image: words[i] });
    }
    return found;
}

/** Lines `fetch PARAMETER PATH MODE` of a boot script. */
export function fetchedFiles(script: string): FetchedFile[] {
    return script
        .split("\n")
        .map((l) => shellWords(l.trim()))
        .filter((w) => w[0] === "fetch" && w.length === 4)
        .map(([, parameter, path, mode]) => ({ parameter, path, mode }));
}

function byUrn(run: ProgramRun): Map<string, RecordedResource> {
    return new Map(run.resources.map((r) => [r.urn, r]));
}

/** The resource a property's value came from, of the given type. */
function sourceOf(r: RecordedResource, key: string, type: string, urns: Map<string, RecordedResource>): RecordedResource {
    const found = (r.propertyDependencies[key] ?? []).map((u) => urns.get(u)).filter((x): x is RecordedResource => x?.type === type);
    if (found.length !== 1) throw new Error(`graph: ${r.name}.${key} comes from ${found.length} resources of type ${type}`);
    return found[0];
}

function node(run: ProgramRun, r: RecordedResource, urns: Map<string, RecordedResource>): RehearsalNode {
    const inputs = r.inputs;
    const tags = (inputs.tags ?? {}) as Record<string, string>;
    const role = tags[ROLE_TAG];
    if (!role) throw new Error(`graph: instance ${r.name} has no ${ROLE_TAG} tag`);
    const userData = String(inputs.userData ?? "");
    if (!userData.startsWith("#cloud-config")) throw new Error(`graph: ${r.name}'s user data is not #cloud-config`);
    const cloudConfig = (yaml.load(userData) ?? {}) as Record<string, any>;
    const writeFiles: WrittenFile[] = (cloudConfig.write_files ?? []).map((f: any) => ({
        path: String(f.path),
        permissions: String(f.permissions ?? "0644"),
        owner: String(f.owner ?? "root:root"),
        content: String(f.content ?? ""),
    }));
    // The boot script: whatever write_files entry runcmd runs.
    const runcmd: string[] = (cloudConfig.runcmd ?? []).map((c: unknown) => (Array.isArray(c) ? String(c[0]) : String(c).split(" ")[0]));
    const scripts = writeFiles.filter((f) => runcmd.includes(f.path)).map((f) => f.content);
    const subnet = sourceOf(r, "subnetId", SUBNET, urns);
    const zone = String(subnet.inputs.availabilityZone ?? "");
    if (!/^[a-z]+-[a-z]+-\d[a-z]$/.test(zone)) throw new Error(`graph: ${r.name}'s subnet has no availability zone (${zone})`);
    const profile = sourceOf(r, "iamInstanceProfile", INSTANCE_PROFILE, urns);
    const roleUrns = profile.propertyDependencies.role ?? [];
    const policies = run
        .ofType(ROLE_POLICY)
        .filter((p) => (p.propertyDependencies.role ?? []).some((u) => roleUrns.includes(u)))
        .flatMap((p) => (JSON.parse(String(p.inputs.policy)) as IamPolicy).Statement);
    return {
        name: r.name,
        urn: r.urn,
        role,
        tags,
        instanceId: `${r.name}-id`,
        privateIp: String(inputs.privateIp),
        availabilityZone: zone,
        region: zone.slice(0, -1),
        instanceType: String(inputs.instanceType ?? ""),
        ami: String(inputs.ami ?? ""),
        userData,
        cloudConfig,
        writeFiles,
        fetchedFiles: scripts.flatMap(fetchedFiles),
        containers: scripts.flatMap(bootContainers),
        expectedHostname: r.name,
        metadataHttpTokens: String(inputs.metadataOptions?.httpTokens ?? "optional"),
        iamRoleName: String(profile.inputs.role),
        instanceProfileName: String(profile.inputs.name ?? profile.name),
        policy: { Statement: policies },
    };
}

function targetsOf(r: RecordedResource): AssociationTargets {
    const targets = (r.inputs.targets ?? []) as { key: string; values: string[] }[];
    const ids = targets.filter((t) => t.key === "InstanceIds").flatMap((t) => t.values);
    if (ids.length > 0) return { kind: "instances", instanceIds: ids };
    const tags: Record<string, string[]> = {};
    for (const t of targets) {
        if (!t.key.startsWith("tag:")) throw new Error(`graph: association ${r.name}: unsupported target key ${t.key}`);
        tags[t.key.slice("tag:".length)] = t.values;
    }
    if (Object.keys(tags).length === 0) throw new Error(`graph: association ${r.name} has no targets`);
    return { kind: "tags", tags };
}

/** Associations in an order where each comes after every association it (transitively) depends on. */
function orderAssociations(run: ProgramRun, urns: Map<string, RecordedResource>): RehearsalAssociation[] {
    const associations = run.ofType(ASSOCIATION);
    // The associations a resource waits for: its dependencies, followed through other resources.
    const memo = new Map<string, Set<string>>();
    const upstream = (urn: string, visiting: Set<string>): Set<string> => {
        const known = memo.get(urn);
        if (known) return known;
        if (visiting.has(urn)) throw new Error(`graph: dependency cycle through ${urn}`);
        visiting.add(urn);
        const found = new Set<string>();
        for (const dep of urns.get(urn)?.dependencies ?? []) {
            if (urns.get(dep)?.type === ASSOCIATION) found.add(dep);
            else upstream(dep, visiting).forEach((u) => found.add(u));
        }
        visiting.delete(urn);
        memo.set(urn, found);
        return found;
    };
    const plan = associations.map((r): RehearsalAssociation => {
        const parameters = r.inputs.parameters ?? {};
        return {
            name: r.name,
            urn: r.urn,
            document: String(r.inputs.name),
            commands: Array.isArray(parameters.commands) ? parameters.commands.join("\n") : String(parameters.commands ?? ""),
            executionTimeoutSeconds: Number(parameters.executionTimeout ?? 3600),
            targets: targetsOf(r),
            maxConcurrency: r.inputs.maxConcurrency,
            maxErrors: r.inputs.maxErrors,
            after: [...upstream(r.urn, new Set())],
        };
    });
    // Kahn's algorithm, keeping the graph's registration order among the ready ones.
    const ordered: RehearsalAssociation[] = [];
    const done = new Set<string>();
    while (ordered.length < plan.length) {
        const ready = plan.filter((a) => !done.has(a.urn) && a.after.every((u) => done.has(u)));
        if (ready.length === 0) throw new Error("graph: the associations' dependencies form a cycle");
        for (const a of ready) {
            ordered.push(a);
            done.add(a.urn);
        }
    }
    return ordered;
}

/** The rehearsal's plan from a program run of an aws stack. */
export function rehearsalPlan(run: ProgramRun): RehearsalPlan {
    const urns = byUrn(run);
    const nodes = run
        .ofType(INSTANCE)
        .map((r) => node(run, r, urns))
        .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    const parameters = new Map(
        run
            .ofType(PARAMETER)
            .map((p) => [
                String(p.inputs.name),
                { value: String(p.inputs.value ?? ""), type: String(p.inputs.type ?? "String"), tier: String(p.inputs.tier ?? "Standard") },
            ]),
    );
    const images = run.ofType(IMAGE).map((i) => ({
        ref: String(i.inputs.imageName),
        context: String(i.inputs.build?.context ?? "."),
        dockerfile: String(i.inputs.build?.dockerfile ?? "Dockerfile"),
        buildArgs: (i.inputs.build?.args ?? {}) as Record<string, string>,
    }));
    // The account the program's ARNs name (its IAM policies are written for it).
    const arnAccount = nodes
        .flatMap((n) => n.policy.Statement.flatMap((s) => [s.Resource].flat()))
        .map((arn) => /^arn:aws:[^:]+:[^:]*:(\d{12}):/.exec(arn)?.[1])
        .find((a) => a !== undefined);
    return {
        stack: run.stack,
        accountId: arnAccount ?? "000000000000",
        nodes,
        parameters,
        associations: orderAssociations(run, urns),
        images,
    };
}

/** The nodes an association runs on (sorted by name), or an error for a target no instance has. */
export function associationNodes(plan: RehearsalPlan, a: RehearsalAssociation): RehearsalNode[] {
    const t = a.targets;
    if (t.kind === "instances") {
        return t.instanceIds.map((id) => {
            const n = plan.nodes.find((x) => x.instanceId === id);
            if (!n) throw new Error(`association ${a.name} targets instance ${id}, which the graph does not have`);
            return n;
        });
    }
    return plan.nodes.filter((n) => Object.entries(t.tags).every(([k, values]) => values.includes(n.tags[k])));
}

/** Whether an IAM policy allows `action` on `resource` (Allow minus Deny; `*` and `?` wildcards). */
export function iamAllows(policy: IamPolicy, action: string, resource: string): boolean {
    const glob = (pattern: string, value: string, caseless: boolean) => {
        const re = new RegExp(
            `^${pattern
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, ".*")
                .replace(/\?/g, ".")}$`,
            caseless ? "i" : "",
        );
        return re.test(value);
    };
    const matches = (s: IamStatement) =>
        [s.Action].flat().some((p) => glob(p, action, true)) && [s.Resource].flat().some((p) => glob(p, resource, false));
    const statements = policy.Statement;
    return statements.some((s) => s.Effect === "Allow" && matches(s)) && !statements.some((s) => s.Effect === "Deny" && matches(s));
}
