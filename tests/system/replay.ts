// Replays an engine plan (tests/harness/engine.ts) on the real Docker engine: what `pulumi up` from one
// stack config to another does to the running swarm, step by step, in the engine's order — every
// step starts once the steps it waits for have finished, independent steps run at once — including
// the delete scripts of replaced and removed commands and the deletes of replaced and removed nodes.
//
// Each step does what the provider would:
// - command:local:Command create/update: `sh -c <create>` (or `<update>` where set) with its stdin and
//   environment; delete: the OLD copy's stored `delete` with its stored stdin (pulumi-command
//   commandController.go Create/Update/Delete). A non-zero exit fails the replay, as it fails `up`.
// - docker Container create: the swarm node as declared (containerFlags), its agent's stand-in in its
//   network namespace; delete: `docker stop -t destroyGraceSeconds` then `docker rm -f`; update:
//   `docker update` of the inputs the provider updates in place (memory).
// - docker Volume create/delete; the web docker.Image update: a rebuild of the graph's web image.
// Anything else that is not `same` fails the replay. `replayPlan` runs the swarm's plans;
// `replayLbPlan` the LB pair's (its nodes, their DNS stand-ins, their ready gates). Neither runs the
// Consul servers (Consul cannot be installed here) or the network.
import { EnginePlan, Step } from "../harness/engine";
import { ProgramRun, RecordedResource } from "../harness/program";
import { DataPlane } from "./dataplane";
import type { DataPlaneSpec } from "./graph";
import { objectLabel, SystemSettings } from "./settings";
import { docker, dockerResult, runCommand } from "./docker";
import { SwarmNodeSpec, SwarmNodeStatus, SwarmPlane, SwarmSpec } from "./swarm";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/image:Image";

/** One plan to replay on a plane (the swarm's, or the data plane's LB pair), from one graph to the next. */
interface PlanReplayInput<Plane, Spec> {
    readonly plane: Plane;
    readonly plan: EnginePlan;
    readonly before: { readonly run: ProgramRun; readonly spec: Spec };
    readonly after: { readonly run: ProgramRun; readonly spec: Spec };
    readonly settings: SystemSettings;
    readonly log: (msg: string) => void;
    /** Called before each step starts (e.g. to look at the swarm just before web-deploy). */
    readonly beforeStep?: (step: Step) => Promise<void>;
}

interface PlanReplayReport<Missing> {
    /** Steps that did something, in the order they finished, with their durations. */
    readonly steps: readonly { readonly id: string; readonly ms: number }[];
    readonly totalMs: number;
    /** The most members missing at once while the plan ran. */
    readonly mostMissing: Missing;
}

export type ReplayInput = PlanReplayInput<SwarmPlane, SwarmSpec>;
/** mostMissing: managers / workers, sampled every 2 s below the smaller of the before/after counts. */
export type ReplayReport = PlanReplayReport<{ readonly managers: number; readonly workers: number }>;
export type LbReplayInput = PlanReplayInput<DataPlane, DataPlaneSpec>;
/** mostMissing: LB nodes not running, sampled every 250 ms. */
export type LbReplayReport = PlanReplayReport<number>;

/**
 * The script a Command step runs, as the provider picks it (commandController.go): a delete runs the
 * OLD copy's `delete` (none: nothing runs); an update runs `update`, else `create`; a create `create`.
 */
function commandScript(step: Step): { readonly text: string; readonly of: "before" | "after" } | undefined {
    const i = step.resource.inputs;
    if (step.kind === "delete") return i.delete === undefined || i.delete === "" ? undefined : { text: String(i.delete), of: "before" };
    return { text: String(step.kind === "update" && i.update !== undefined ? i.update : i.create), of: "after" };
}

/**
 * Runs a command:local:Command's script as the provider does (commandController.go): `sh -c <script>`
 * with its stdin and environment; a non-zero exit fails the step, as it fails `pulumi up`.
 */
export async function runCommandScript(step: Step, script: string, r: RecordedResource): Promise<void> {
    const env = { ...process.env, ...(r.inputs.environment ?? {}) } as NodeJS.ProcessEnv;
    const res = await runCommand("sh", ["-c", script], { input: String(r.inputs.stdin ?? ""), timeoutMs: 10 * 60_000, env });
    if (res.code !== 0) {
        const tail = `${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-20).join("\n");
        throw new Error(`${step.id}: exit ${res.code}${res.timedOut ? " (timed out)" : ""}:\n${tail}`);
    }
}

/** Our engine name for a graph engine name. */
export function renamer(run: ProgramRun, settings: SystemSettings): (text: string) => string {
    const graphPrefix = `swarm-platform-${run.stack}-`;
    return (text) => text.split(graphPrefix).join(settings.namePrefix);
}

/** How healthy the swarm's groups are right now: managers Ready and in the Raft quorum, workers Ready and Active. */
function healthy(ls: readonly SwarmNodeStatus[]): { managers: number; workers: number } {
    return {
        managers: ls.filter((n) => n.status === "Ready" && (n.managerStatus === "Leader" || n.managerStatus === "Reachable")).length,
        workers: ls.filter((n) => n.managerStatus === "" && n.status === "Ready" && n.availability === "Active").length,
    };
}

export async function replayPlan(input: ReplayInput): Promise<ReplayReport> {
    const { plane, plan, before, after, settings, log } = input;
    const renameBefore = renamer(before.run, settings);
    const renameAfter = renamer(after.run, settings);
    const nodeOf = (spec: SwarmSpec, name: string): SwarmNodeSpec | undefined => spec.nodes.find((n) => n.logical === name);
    const count = (spec: SwarmSpec, role: "manager" | "worker") => spec.nodes.filter((n) => n.role === role).length;
    const expected = {
        managers: Math.min(count(before.spec, "manager"), count(after.spec, "manager")),
        workers: Math.min(count(before.spec, "worker"), count(after.spec, "worker")),
    };
    // Which local image stands for which graph image name (the harness builds under its own tags).
    const localImage = new Map([
        [before.spec.web.graphImage, before.spec.web.localImage],
        [after.spec.web.graphImage, after.spec.web.localImage],
    ]);

    const runScript = async (step: Step, text: string, rename: (t: string) => string, r: RecordedResource): Promise<void> => {
        let script = rename(text);
        const isLoad = /-web-image$/.test(r.name);
        let loaded: string | undefined;
        if (isLoad) {
            for (const [graph, local] of localImage)
                if (script.includes(`docker save ${graph} `)) {
                    script = script.split(`docker save ${graph} `).join(`docker save ${local} `);
                    loaded = graph;
                }
            if (loaded === undefined) throw new Error(`${step.id}: the image it loads is not one the harness built`);
        }
        await runCommandScript(step, script, r);
        if (loaded !== undefined) {
            // The node got our tag; give it the graph's name too, as a load of the graph's build would.
            const node = rename(String(r.inputs.create)).match(/docker exec -i (\S+) docker load/)?.[1];
            if (node === undefined) throw new Error(`${step.id}: no node in ${r.inputs.create}`);
            await docker(["exec", node, "docker", "tag", localImage.get(loaded)!, loaded]);
        }
    };

    const apply = async (step: Step): Promise<boolean> => {
        const r = step.resource;
        if (step.kind === "same") return false;
        switch (r.type) {
            case COMMAND: {
                // The Prometheus node is not part of this plane: its config script re-runs when the
                // rules follow a new count (a reload, proven by tests/prometheus/configScript.test.ts;
                // that it replaces nothing, by tests/unit/day2.test.ts).
                if (r.name.startsWith("monitoring-")) return false;
                const c = commandScript(step);
                if (c === undefined) return false;
                await runScript(step, c.text, c.of === "before" ? renameBefore : renameAfter, r);
                return true;
            }
            case CONTAINER: {
                const spec = step.kind === "delete" ? before.spec : after.spec;
                const node = nodeOf(spec, r.name);
                if (node === undefined) throw new Error(`${step.id}: the replay runs swarm nodes only, not ${r.name}`);
                if (step.kind === "create") await plane.createNode(node);
                else if (step.kind === "delete") await plane.deleteNode(node, Number(r.inputs.destroyGraceSeconds ?? 0));
                else {
                    const changed = plan.op(r.name).changed.filter((k) => k !== "destroyGraceSeconds");
                    if (changed.some((k) => k !== "memory")) throw new Error(`${step.id}: updates ${changed.join(", ")} in place`);
                    await docker([
                        "update",
                        "--memory",
                        `${r.inputs.memory}m`,
                        "--memory-swap",
                        `${r.inputs.memory}m`,
                        node.container.name,
                    ]);
                }
                return true;
            }
            case VOLUME: {
                const name = (step.kind === "delete" ? renameBefore : renameAfter)(String(r.inputs.name));
                if (step.kind === "create") await docker(["volume", "create", "--label", objectLabel(settings), name]);
                else if (step.kind === "delete") await docker(["volume", "rm", name]);
                else throw new Error(`${step.id}: a volume is never updated`);
                return true;
            }
            case IMAGE:
                if (r.name !== "local-web-image") throw new Error(`${step.id}: the replay rebuilds the web image only`);
                if (step.kind === "delete") return false; // The provider's Delete of an Image is a no-op.
                await plane.buildWebImage(after.spec);
                return true;
            default:
                throw new Error(`${step.id}: the replay does not run ${r.type}`);
        }
    };

    const mostMissing = { managers: 0, workers: 0 };
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            try {
                const h = healthy(await plane.nodeList());
                mostMissing.managers = Math.max(mostMissing.managers, expected.managers - h.managers);
                mostMissing.workers = Math.max(mostMissing.workers, expected.workers - h.workers);
            } catch {
                // No manager answers `docker node ls` at this instant: every manager counts as missing.
                mostMissing.managers = Math.max(mostMissing.managers, expected.managers);
            }
            // Every 2 s: each sample is a `docker exec` on a manager, CPU the serving tasks share.
            await new Promise((r) => setTimeout(r, 2000));
        }
    })();

    try {
        const run = await runSteps(plan, apply, log, input.beforeStep);
        plane.adoptAll(after.spec);
        return { ...run, mostMissing };
    } finally {
        sampling = false;
        await sampler;
    }
}

/**
 * Runs a plan's steps as the engine does: each starts once the steps it waits for have finished,
 * independent ones at once; the first failure fails the run (as it fails `pulumi up`). `apply` does
 * one step and says whether it did anything.
 */
export async function runSteps(
    plan: EnginePlan,
    apply: (step: Step) => Promise<boolean>,
    log: (msg: string) => void,
    beforeStep?: (step: Step) => Promise<void>,
): Promise<{ steps: { id: string; ms: number }[]; totalMs: number }> {
    const t0 = performance.now();
    const finished: { id: string; ms: number }[] = [];
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const running = new Map<string, Promise<void>>();
    const start = (s: Step): Promise<void> => {
        let p = running.get(s.id);
        if (p === undefined) {
            p = (async () => {
                await Promise.all(s.after.map((a) => start(byId.get(a)!)));
                await beforeStep?.(s);
                const t = performance.now();
                if (await apply(s)) {
                    const ms = Math.round(performance.now() - t);
                    finished.push({ id: s.id, ms });
                    log(`  ${s.id.replace(/#\d+$/, "")} (${ms} ms)`);
                }
            })();
            running.set(s.id, p);
        }
        return p;
    };
    await Promise.all(plan.steps.map(start));
    return { steps: finished, totalMs: Math.round(performance.now() - t0) };
}

/** `docker service inspect` of the web service on a manager that answers, or undefined when it does not exist. */
export async function inspectService(plane: SwarmPlane, name: string): Promise<any | undefined> {
    for (const m of plane.current.nodes.filter((n) => n.role === "manager")) {
        const r = await dockerResult(["exec", m.container.name, "docker", "service", "inspect", name], { timeoutMs: 15_000 });
        if (r.code === 0) return JSON.parse(r.stdout)[0];
        if (/no such service|not found/i.test(r.stderr)) return undefined;
    }
    throw new Error("no manager answers docker service inspect");
}

/**
 * Replays a plan that changes the LB pair on the data plane (tests/system/dataplane.ts): LB node
 * containers deleted and created as the provider does, their ready gates and any other command run
 * from the graph. Anything else that is not `same` fails the replay.
 */
export async function replayLbPlan(input: LbReplayInput): Promise<LbReplayReport> {
    const { plane, plan, before, after, settings, log } = input;
    const renameBefore = renamer(before.run, settings);
    const renameAfter = renamer(after.run, settings);
    const lbOf = (spec: DataPlaneSpec, name: string) => spec.lbs.find((l) => l.logical === name);

    const apply = async (step: Step): Promise<boolean> => {
        const r = step.resource;
        if (step.kind === "same") return false;
        switch (r.type) {
            case COMMAND: {
                const c = commandScript(step);
                if (c === undefined) return false;
                await runCommandScript(step, (c.of === "before" ? renameBefore : renameAfter)(c.text), r);
                return true;
            }
            case CONTAINER: {
                const lb = lbOf(step.kind === "delete" ? before.spec : after.spec, r.name);
                if (lb === undefined) throw new Error(`${step.id}: the LB replay runs LB nodes only, not ${r.name}`);
                if (step.kind === "create") await plane.createLb(lb);
                else if (step.kind === "delete") await plane.deleteLb(lb, Number(r.inputs.destroyGraceSeconds ?? 0));
                else throw new Error(`${step.id}: updates ${plan.op(r.name).changed.join(", ")} in place`);
                return true;
            }
            default:
                throw new Error(`${step.id}: the LB replay does not run ${r.type}`);
        }
    };

    const names = before.spec.lbs.map((l) => l.container.name);
    let mostMissing = 0;
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            const out = await dockerResult(["ps", "--format", "{{.Names}}"]);
            const running = new Set(out.stdout.split("\n"));
            mostMissing = Math.max(mostMissing, names.filter((n) => !running.has(n)).length);
            await new Promise((r) => setTimeout(r, 250));
        }
    })();
    try {
        const run = await runSteps(plan, apply, log);
        plane.adoptLbs(after.spec);
        return { ...run, mostMissing };
    } finally {
        sampling = false;
        await sampler;
    }
}
