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
// Anything else that is not `same` fails the replay: this harness runs the swarm, not the LB pair,
// the Consul servers (Consul cannot be installed here) or the network.
import { EnginePlan, Step } from "../harness/engine";
import { ProgramRun, RecordedResource } from "../harness/program";
import { objectLabel, SystemSettings } from "./dataplane";
import { docker, dockerResult, runCommand } from "./docker";
import { SwarmNodeSpec, SwarmNodeStatus, SwarmPlane, SwarmSpec } from "./swarm";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/image:Image";

export interface ReplayInput {
    readonly plane: SwarmPlane;
    readonly plan: EnginePlan;
    readonly before: { readonly run: ProgramRun; readonly spec: SwarmSpec };
    readonly after: { readonly run: ProgramRun; readonly spec: SwarmSpec };
    readonly settings: SystemSettings;
    readonly log: (msg: string) => void;
    /** Called before each step starts (e.g. to look at the swarm just before web-deploy). */
    readonly beforeStep?: (step: Step) => Promise<void>;
}

export interface ReplayReport {
    /** Steps that did something, in the order they finished, with their durations. */
    readonly steps: readonly { readonly id: string; readonly ms: number }[];
    readonly totalMs: number;
    /** The most managers / workers missing at once, sampled every 2 s (below the smaller of the before/after counts). */
    readonly mostMissing: { readonly managers: number; readonly workers: number };
}

/** Our engine name for a graph engine name. */
function renamer(run: ProgramRun, settings: SystemSettings): (text: string) => string {
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
        const env = { ...process.env, ...(r.inputs.environment ?? {}) } as NodeJS.ProcessEnv;
        const res = await runCommand("sh", ["-c", script], { input: String(r.inputs.stdin ?? ""), timeoutMs: 10 * 60_000, env });
        if (res.code !== 0) {
            const tail = `${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-20).join("\n");
            throw new Error(`${step.id}: exit ${res.code}${res.timedOut ? " (timed out)" : ""}:\n${tail}`);
        }
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
            case COMMAND:
                if (step.kind === "delete") {
                    if (r.inputs.delete === undefined || r.inputs.delete === "") return false;
                    await runScript(step, String(r.inputs.delete), renameBefore, r);
                } else {
                    const text = step.kind === "update" && r.inputs.update !== undefined ? r.inputs.update : r.inputs.create;
                    await runScript(step, String(text), renameAfter, r);
                }
                return true;
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

    const t0 = performance.now();
    const finished: { id: string; ms: number }[] = [];
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const running = new Map<string, Promise<void>>();
    const start = (s: Step): Promise<void> => {
        let p = running.get(s.id);
        if (p === undefined) {
            p = (async () => {
                await Promise.all(s.after.map((a) => start(byId.get(a)!)));
                await input.beforeStep?.(s);
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
    try {
        await Promise.all(plan.steps.map(start));
    } finally {
        sampling = false;
        await sampler;
    }
    plane.adoptAll(after.spec);
    return { steps: finished, totalMs: Math.round(performance.now() - t0), mostMissing };
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
