// System test of the dev stack's Swarm (issue #6): the swarm nodes as the program declares them,
// formed and deployed to by the program's own scripts, serving through the LB pair; under load the
// web service is rolled to a new version, scaled up and down, and a manager is killed.
// Run: scripts/system-setup.sh && npm run test:system -- tests/system/swarm   (npm run bench also writes bench/results.*)
// The tests run in order on one swarm: each one starts from where the previous one left it.
import { taskOf } from "./probe";
import { docker, sleep } from "./docker";
import { LoadRun, LoadSession, LoadSummary, summarize } from "./load";
import { BENCH, MetricInput, Results } from "./results";
import { ciText, goalText, valueText } from "./tables";
import { planUpdate, stateOf } from "../harness/engine";
import { ProgramRun } from "../harness/program";
import { inspectService, replayPlan, ReplayReport } from "./replay";
import {
    evaluateSwarmGraph,
    SwarmConfigChange,
    swarmFromGraph,
    SwarmNodeStatus,
    SwarmPlane,
    swarmSettingsFromEnv,
    SwarmSpec,
} from "./swarm";

const settings = swarmSettingsFromEnv();
/** ≥ 50 req/s as the issue asks, 1 s deadline, no retries, over HTTPS kept alive to the edge (load.ts). */
const LOAD = { ratePerSecond: Number(process.env.SWARM_TEST_RATE ?? 50), timeoutMs: 1000 } as const;
const CMD = "npm run test:system -- tests/system/swarm";

/** The day-2 replays of the managers (~5 min) run in the bench, or with SYSTEM_TEST_DAY2=1. */
const FULL_DAY2 = BENCH || process.env.SYSTEM_TEST_DAY2 === "1";
const results = new Results("swarm", "tests/system/swarm.test.ts", {
    ratePerSecond: LOAD.ratePerSecond,
    timeoutMs: LOAD.timeoutMs,
    retries: 0,
    connections: "kept alive to the edge (HTTPS); the edge opens one upstream connection per request",
    managers: 3,
    workers: 2,
    replicas: settings.replicas,
    managersDay2: FULL_DAY2,
});
const log = (msg: string) => process.stderr.write(`[swarm] ${new Date().toISOString()} ${msg}\n`);
/** Records a figure and prints it with its verdict. */
const record = (m: MetricInput): void => {
    const r = results.set(m);
    log(`${r.key} = ${valueText(r)} (${r.stat}): ${r.verdict}; goal ${goalText(r)}, CI asserts ${ciText(r)}`);
};
const ZERO = { op: "==", limit: 0 } as const;
let sp: SwarmPlane | undefined;
let base: SwarmSpec | undefined;
/** The stack as the last `pulumi up` left it: its config change, graph and translation (the state of the next plan). */
let deployed: { change: SwarmConfigChange; run: ProgramRun; spec: SwarmSpec } | undefined;
const swarm = (): SwarmPlane => {
    if (sp === undefined) throw new Error("the swarm was not started (see beforeAll)");
    return sp;
};
const baseSpec = (): SwarmSpec => {
    if (base === undefined) throw new Error("no graph (see beforeAll)");
    return base;
};

/** The next patch version after the dev stack's (what an operator's `web.version` bump does). */
function nextVersion(v: string): string {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (m === null) throw new Error(`web.version ${v} is not x.y.z`);
    return `${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
}

/** performance.now() → ms since the load run's start. */
const rel = (run: LoadRun, at: number) => Math.round(at - run.startMs);

/** LB configs of a graph: the program promises that a version bump or a scale within the slots leaves them (and the LB containers) alone. */
const lbConfigs = (spec: SwarmSpec) => spec.plane.lbs.map((l) => [l.haproxyCfg, l.keepalivedConf]);

const nodeLine = (ls: readonly SwarmNodeStatus[]) => ls.map((n) => `${n.hostname} ${n.status} ${n.managerStatus || "worker"}`).join(", ");

const failureLine = (s: LoadSummary, fromMs = 0) =>
    `${s.failed}/${s.requests} failed, longest gap ${Math.round(s.longestGap.ms)} ms` +
    (s.failures.length > 0
        ? ` [${s.failures
              .slice(0, 5)
              .map((f) => `${f.error} at +${Math.round(f.atMs - fromMs)} ms`)
              .join(", ")}${s.failures.length > 5 ? ", …" : ""}]`
        : "");

interface Day2Outcome {
    readonly report: ReplayReport;
    readonly load: LoadRun;
    readonly summary: LoadSummary;
    /** When the replay started and ended (performance.now()). */
    readonly startedAt: number;
    readonly endedAt: number;
    readonly next: SwarmSpec;
}

/**
 * One `pulumi up` from the deployed config to `change` (merged into it), as the engine runs it: the
 * plan from the graphs (tests/harness/engine.ts), replayed on the engine (replay.ts) with the load
 * running. Afterwards the service exists at the new spec, the swarm has its managers (1 leader, the
 * rest reachable) and every node Ready, and the catalog holds exactly the service's tasks. Records
 * the failed requests, the time to converge and the most members missing at once.
 */
async function day2(
    key: string,
    what: string,
    change: SwarmConfigChange,
    opts: { beforeStep?: Parameters<typeof replayPlan>[0]["beforeStep"] } = {},
): Promise<Day2Outcome> {
    const s = swarm();
    if (deployed === undefined) throw new Error("nothing deployed");
    const merged = { ...deployed.change, ...change };
    const run = await evaluateSwarmGraph(settings, merged);
    const next = swarmFromGraph(run, settings);
    const plan = planUpdate(stateOf(deployed.run), run);
    log(`${key}: plan ${plan.changedNames().length} resources: ${plan.changedNames().join(", ")}`);
    const load = new LoadSession({ url: s.plane.current.webUrl, ...LOAD });
    await sleep(1000);
    const startedAt = performance.now();
    const report = await replayPlan({
        plane: s,
        plan,
        before: deployed,
        after: { run, spec: next },
        settings,
        log,
        beforeStep: opts.beforeStep,
    });
    deployed = { change: merged, run, spec: next };
    const managers = next.nodes.filter((n) => n.role === "manager").length;
    const ls = await s.waitNodes(
        (l) =>
            l.length === next.nodes.length &&
            l.every((n) => n.status === "Ready") &&
            l.filter((n) => n.managerStatus === "Leader").length === 1 &&
            l.filter((n) => n.managerStatus === "Reachable").length === managers - 1,
        90_000,
    );
    await s.waitPassing(next.web.spec.replicas, 60_000);
    const endedAt = performance.now();
    await sleep(2000);
    const loadRun = await load.stop();
    const summary = summarize(loadRun);
    const svc = await inspectService(s, next.web.spec.name);
    log(
        `${key}: converged in ${Math.round(endedAt - startedAt)} ms (replay ${report.totalMs} ms); ${failureLine(summary, rel(loadRun, startedAt))}; ` +
            `most missing at once: ${report.mostMissing.managers} managers, ${report.mostMissing.workers} workers; nodes: ${nodeLine(ls)}`,
    );
    const missing = Math.max(report.mostMissing.managers, report.mostMissing.workers);
    record({
        key: `day2_${key}_failed`,
        what,
        value: summary.failed,
        of: summary.requests,
        unit: "requests",
        stat: "one run",
        goal: ZERO,
        command: CMD,
    });
    record({
        key: `day2_${key}_converge_ms`,
        what: "until converged",
        value: Math.round(endedAt - startedAt),
        unit: "ms",
        stat: "one run",
        command: CMD,
    });
    record({
        key: `day2_${key}_most_missing`,
        what: "most members missing at once",
        value: missing,
        unit: "members",
        stat: "one run",
        goal: { op: "<=", limit: 1 },
        command: CMD,
        note: `managers ${report.mostMissing.managers}, workers ${report.mostMissing.workers}; docker node ls every 2 s`,
    });
    record({
        key: `day2_${key}_service_present`,
        what: "the service exists afterwards",
        value: svc === undefined ? 0 : 1,
        unit: "",
        stat: "one run",
        goal: { op: "==", limit: 1 },
        command: CMD,
    });
    results.detail(`day2_${key}`, { steps: report.steps, failures: summary.failures, longestGapMs: Math.round(summary.longestGap.ms) });
    if (summary.failed > 0) log(`task history:\n${await s.taskHistory()}`);

    results.check(`day2_${key}_service_present`, `day2_${key}_most_missing`, `day2_${key}_converge_ms`);
    expect(svc.Spec.Mode.Replicated.Replicas).toBe(next.web.spec.replicas);
    expect(svc.Spec.TaskTemplate.ContainerSpec.Image).toBe(next.web.spec.image);
    expect(report.mostMissing.managers).toBeLessThanOrEqual(1);
    expect(report.mostMissing.workers).toBeLessThanOrEqual(1);
    return { report, load: loadRun, summary, startedAt, endedAt, next };
}

beforeAll(async () => {
    // In bench mode: refuses a dirty tree before anything is measured.
    results.begin();
    const run = await evaluateSwarmGraph(settings);
    base = swarmFromGraph(run, settings);
    deployed = { change: {}, run, spec: base };
    sp = new SwarmPlane(base);
    await sp.prepare(log);
    const ms = await sp.startNodes();
    log(`${base.nodes.length} swarm nodes up (inner engines answer) in ${ms} ms`);
    results.detail("swarm_nodes_start_ms", ms);
}, 10 * 60_000);

afterAll(async () => {
    const keep = process.env.SYSTEM_TEST_KEEP === "1";
    const leftovers = (await sp?.destroy(keep)) ?? [];
    if (keep) log(`SYSTEM_TEST_KEEP=1: containers ${settings.namePrefix}* left running`);
    // The engine's own bug (moby/moby#42119) can keep a network; the next run says so and stops. Never silent.
    for (const l of leftovers) log(`WARNING: ${l.kind} ${l.name} not removed: ${l.error}`);
    if (BENCH) {
        results.write();
        log("wrote bench/results.json (npm run bench:tables writes bench/results.md and the READMEs' tables from it)");
    }
}, 5 * 60_000);

describe("the dev stack's Swarm, live", () => {
    test("1. the nodes run as declared and form a swarm by the program's init/join scripts: 3 managers (1 leader, 2 reachable), 2 workers, all Ready", async () => {
        const s = swarm();
        // What the graph declares is what runs (containerFlags applied every input; spot-check the DinD ones).
        for (const n of s.current.nodes) {
            const hc = JSON.parse(await docker(["inspect", "-f", "{{json .HostConfig}}", n.container.name]));
            expect(hc.CgroupnsMode).toBe("private");
            expect(hc.CapAdd).toEqual(["ALL"]);
            // The engine reports capabilities with or without the CAP_ prefix, depending on its version.
            expect(hc.CapDrop.map((c: string) => c.replace(/^CAP_/, ""))).toEqual(["SYS_RESOURCE"]);
            expect(hc.SecurityOpt).toEqual(["seccomp=unconfined"]);
            // systempaths=unconfined is not kept as an option: the engine applies it as no masked or read-only paths.
            expect([hc.MaskedPaths, hc.ReadonlyPaths]).toEqual([[], []]);
            expect(hc.Binds).toEqual([`${n.volumes[0]}:/var/lib/docker`]);
            expect(hc.Privileged).toBe(false);
        }
        const formed = await s.form();
        log(
            `swarm formed in ${formed.totalMs} ms (${Object.entries(formed.commands)
                .map(([k, v]) => `${k} ${v} ms`)
                .join(", ")})`,
        );
        const ls = await s.nodeList();
        log(`docker node ls: ${nodeLine(ls)}`);
        record({
            key: "swarm_form_ms",
            what: "init + joins in the graph's order until every node is Ready",
            value: formed.totalMs,
            unit: "ms",
            stat: "one run",
            command: CMD,
        });
        results.detail("swarm_form_commands_ms", formed.commands);

        expect(ls).toHaveLength(5);
        expect(ls.every((n) => n.status === "Ready" && n.availability === "Active")).toBe(true);
        const managers = ls.filter((n) => n.managerStatus !== "");
        expect(managers.map((n) => n.hostname).sort()).toEqual(["swarm-manager-0", "swarm-manager-1", "swarm-manager-2"]);
        expect(managers.filter((n) => n.managerStatus === "Leader")).toHaveLength(1);
        expect(managers.filter((n) => n.managerStatus === "Reachable")).toHaveLength(2);
        expect(
            ls
                .filter((n) => n.managerStatus === "")
                .map((n) => n.hostname)
                .sort(),
        ).toEqual(["swarm-worker-0", "swarm-worker-1"]);
    });

    test("2. the web service runs as declared (image loaded into every node, host network, dnsrr, no published port); its tasks register in Consul and serve through the LB pair", async () => {
        const s = swarm();
        const imageMs = await s.loadWebImage();
        const deployMs = await s.deploy();
        log(`web image into ${s.current.nodes.length} nodes in ${imageMs} ms; web-deploy (create) in ${deployMs} ms`);
        results.detail("swarm_image_load_ms", imageMs);
        results.detail("swarm_deploy_create_ms", deployMs);
        const spec = s.current.web.spec;
        const manager = s.current.nodes[0].container.name;
        const svc = JSON.parse(await docker(["exec", manager, "docker", "service", "inspect", spec.name]))[0];
        expect(svc.Spec.Mode.Replicated.Replicas).toBe(spec.replicas);
        expect(svc.Spec.EndpointSpec.Mode).toBe("dnsrr");
        expect(svc.Spec.EndpointSpec.Ports ?? []).toEqual([]);
        // Host networking: the task template's one network is the swarm's "host" network.
        const networks: string[] = (svc.Spec.TaskTemplate.Networks ?? []).map((n: { Target: string }) => n.Target);
        const names = await Promise.all(
            networks.map((id) => docker(["exec", manager, "docker", "network", "inspect", "-f", "{{.Name}}", id])),
        );
        expect(names).toEqual(["host"]);
        expect(svc.Spec.TaskTemplate.ContainerSpec.Image).toBe(spec.image);
        expect(svc.Spec.TaskTemplate.Resources.Limits.NanoCPUs).toBe(Math.round(spec.cpuLimit * 1e9));
        expect(svc.Spec.TaskTemplate.Resources.Limits.MemoryBytes).toBe(spec.memoryLimitMiB * 1024 * 1024);
        expect(svc.Spec.TaskTemplate.ContainerSpec.Healthcheck.Interval).toBe(spec.healthcheck.intervalSeconds * 1e9);
        expect(svc.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, Order: "start-first", FailureAction: "rollback" });
        expect(svc.Spec.TaskTemplate.Placement.Constraints).toEqual(spec.placementConstraints);

        const passing = await s.waitPassing(spec.replicas, 60_000);
        const workers = s.current.nodes.filter((n) => n.role === "worker").map((n) => n.address);
        log(`registered by the app: ${passing.map((p) => `${p.name} at ${p.address}:${p.port}`).join(", ")}`);
        // Host networking in a DinD node: a task listens on its node's address; the placement keeps them on workers.
        expect(passing.every((p) => workers.includes(p.address))).toBe(true);
        // The instances are exactly Swarm's running tasks (TASK_NAME = {{.Task.Name}}).
        expect([...(await s.runningTasks()).keys()].sort()).toEqual(passing.map((p) => p.name).sort());
        await s.plane.startLbsAndEdge(log);
        await results.measureVersions(s.plane.current.lbs[0].container.name);
        // Every call the app made to its agent was allowed by the ACL the program grants its token.
        expect(s.agentCalls().filter((c) => c.status === 403)).toEqual([]);
    });

    test("3. web.version bump, replayed as the engine runs it, under load: 0 failed requests, then only the new version answers", async () => {
        const s = swarm();
        const replicas = baseSpec().web.spec.replicas;
        const version = nextVersion(baseSpec().web.spec.env?.APP_VERSION ?? "");
        const serving = await s.runningTasks();
        let beforeDeploy: Map<string, string> | undefined;
        const out = await day2(
            "version_bump",
            `\`web.version\` bump: build, load into ${s.current.nodes.length} nodes, rolling update`,
            { version },
            {
                beforeStep: async (step) => {
                    if (step.name === "web-deploy") beforeDeploy = await s.runningTasks();
                },
            },
        );
        expect(lbConfigs(out.next)).toEqual(lbConfigs(baseSpec()));
        const after = await s.runningTasks();
        // The image loads must not cost a task (a too-eager Docker health check once made Swarm replace them all).
        const replacedByImageLoad = [...serving.keys()].filter((t) => !(beforeDeploy ?? new Map()).has(t));
        const afterwards = out.load.samples.filter((x) => x.ok && x.sentMs >= out.endedAt);
        record({
            key: "swarm_rollout_ms",
            what: "the bump's replay: image build, image into every node, update",
            value: out.report.totalMs,
            unit: "ms",
            stat: "one run",
            command: CMD,
        });

        expect(beforeDeploy).toBeDefined();
        expect(replacedByImageLoad).toEqual([]);
        results.check("day2_version_bump_failed", "swarm_rollout_ms");
        expect(afterwards.length).toBeGreaterThan(0);
        expect(afterwards.filter((x) => !(x.body ?? "").startsWith(`swarm-platform web ${version} `))).toEqual([]);
        expect(after.size).toBe(replicas);
        expect([...after.keys()].filter((t) => beforeDeploy!.has(t))).toEqual([]);
        expect(s.agentCalls().filter((c) => c.status !== 200)).toEqual([]);
    });

    test("4. web.replicas up and back down, replayed as the engine runs it, under load: new tasks take traffic, 0 failed", async () => {
        const s = swarm();
        const replicas = baseSpec().web.spec.replicas;
        const before = await s.runningTasks();
        const up = await day2("replicas_up", `\`web.replicas\` ${replicas} → ${replicas + 2}`, { replicas: replicas + 2 });
        expect(up.report.steps.map((x) => x.id.replace(/#\d+$/, ""))).toEqual(["update web-deploy"]);
        const scaled = await s.runningTasks();
        const added = [...scaled.keys()].filter((t) => !before.has(t));
        const answered = new Set(up.load.samples.filter((x) => x.ok).map((x) => taskOf(x.body ?? "")));
        const down = await day2("replicas_down", `\`web.replicas\` ${replicas + 2} → ${replicas}`, { replicas });
        const after = await s.runningTasks();

        expect(added).toHaveLength(2);
        expect(added.filter((t) => !answered.has(t))).toEqual([]);
        // Scaling touches no running task (the deploy script changes nothing else in the spec).
        expect([...before.keys()].filter((t) => !scaled.has(t))).toEqual([]);
        results.check("day2_replicas_up_failed", "day2_replicas_down_failed");
        expect([up.summary.failed, down.summary.failed]).toEqual([0, 0]);
        expect(after.size).toBe(replicas);
    });

    test("5. docker kill of a manager (the leader): the swarm keeps a leader, the service keeps serving (0 failed), the node rejoins when started", async () => {
        const s = swarm();
        const ls = await s.nodeList();
        const leader = ls.find((n) => n.managerStatus === "Leader")!.hostname;
        const victim = s.current.nodes.find((n) => n.hostname === leader)!;
        const tasksBefore = await s.runningTasks();

        const load = new LoadSession({ url: s.plane.current.webUrl, ...LOAD });
        await sleep(2000);
        const killAt = performance.now();
        await s.kill(victim.logical);
        const reelected = await s.waitNodes((l) => l.some((n) => n.managerStatus === "Leader" && n.hostname !== leader), 60_000, [
            victim.logical,
        ]);
        const reelectMs = Math.round(performance.now() - killAt);
        await sleep(2000);
        // A SIGKILLed container stays down whatever its restart policy ("unless-stopped"): the operator starts it.
        const stayedDown = !(await s.running(victim.logical));
        const startAt = performance.now();
        await s.start(victim.logical);
        const rejoined = await s.waitNodes(
            (l) =>
                l.some(
                    (n) =>
                        n.hostname === leader && n.status === "Ready" && (n.managerStatus === "Reachable" || n.managerStatus === "Leader"),
                ),
            90_000,
        );
        const rejoinMs = Math.round(performance.now() - startAt);
        // A new leader reports the workers Unknown until they heartbeat to it: until every node is Ready again.
        const healthy = await s.waitNodes(
            (l) =>
                l.length === s.current.nodes.length &&
                l.every((n) => n.status === "Ready") &&
                l.filter((n) => n.managerStatus === "Leader").length === 1 &&
                l.filter((n) => n.managerStatus === "Reachable").length === 2,
            90_000,
        );
        const healthyMs = Math.round(performance.now() - killAt);
        await sleep(2000);
        const run = await load.stop();
        const sum = summarize(run);
        const tasksAfter = await s.runningTasks();
        log(
            `killed ${victim.logical} (the leader): new leader ${reelected.find((n) => n.managerStatus === "Leader")!.hostname} after ${reelectMs} ms; ` +
                `rejoined ${rejoinMs} ms after docker start (then: ${nodeLine(rejoined)}); every node Ready ${healthyMs} ms after the kill; ` +
                `${failureLine(sum, rel(run, killAt))}`,
        );
        log(`docker node ls: ${nodeLine(healthy)}`);
        record({
            key: "swarm_manager_kill_failed",
            what: "failed requests: docker kill of the leader, re-election, docker start, rejoin",
            value: sum.failed,
            of: sum.requests,
            unit: "requests",
            stat: "one run",
            goal: ZERO,
            command: CMD,
        });
        record({
            key: "swarm_leader_reelect_ms",
            what: "docker kill of the leader → another manager reports itself Leader",
            value: reelectMs,
            unit: "ms",
            stat: "one run",
            command: CMD,
        });
        record({
            key: "swarm_manager_rejoin_ms",
            what: "docker start → Ready and Reachable in docker node ls",
            value: rejoinMs,
            unit: "ms",
            stat: "one run",
            command: CMD,
        });
        results.detail("swarm_manager_kill", {
            victim: victim.logical,
            allReadyAfterKillMs: healthyMs,
            failures: sum.failures,
            longestGapMs: Math.round(sum.longestGap.ms),
        });

        expect(stayedDown).toBe(true);
        results.check("swarm_manager_kill_failed", "swarm_leader_reelect_ms", "swarm_manager_rejoin_ms");
        expect(healthy.find((n) => n.hostname === leader)).toMatchObject({ status: "Ready", managerStatus: "Reachable" });
        // The service was not touched: the same tasks run.
        expect([...tasksAfter.keys()].sort()).toEqual([...tasksBefore.keys()].sort());
    });

    test("9. rotation.swarmJoinTokens, replayed as the engine runs it, under load: both tokens rotate with 0 failed requests, no node restarts or leaves (test 6's new workers then join with the new token)", async () => {
        const s = swarm();
        const manager = () => s.current.nodes.find((n) => n.role === "manager")!.container.name;
        // Read on a manager, compared here, never printed.
        const tokens = async () => ({
            worker: (await docker(["exec", manager(), "docker", "swarm", "join-token", "-q", "worker"])).trim(),
            manager: (await docker(["exec", manager(), "docker", "swarm", "join-token", "-q", "manager"])).trim(),
        });
        /** Container start time and swarm node id of every node: a restart or a rejoin changes one of them. */
        const identities = async () => {
            const ls = await docker(["exec", manager(), "docker", "node", "ls", "--format", "{{.Hostname}} {{.ID}}"]);
            const ids = new Map(
                ls
                    .trim()
                    .split("\n")
                    .map((line) => line.split(" ") as [string, string]),
            );
            return Promise.all(
                s.current.nodes.map(async (n) => ({
                    node: n.hostname,
                    startedAt: (await docker(["inspect", "-f", "{{.State.StartedAt}}", n.container.name])).trim(),
                    swarmId: ids.get(n.hostname),
                })),
            );
        };
        const before = await tokens();
        const nodesBefore = await identities();
        const generation = (deployed?.change.joinTokenRotation ?? 0) + 1;
        const rotated = await day2("join_tokens_rotated", "`rotation.swarmJoinTokens` raised: both join tokens rotated", {
            joinTokenRotation: generation,
        });
        // The plan runs one command, the rotation, and nothing else (tests/unit/day2.test.ts proves it on the model).
        expect(rotated.report.steps.map((x) => x.id.replace(/#\d+$/, ""))).toEqual(["create swarm-rotate-join-tokens"]);
        const after = await tokens();
        expect([after.worker === before.worker, after.manager === before.manager]).toEqual([false, false]);
        expect(await identities()).toEqual(nodesBefore);

        results.check("day2_join_tokens_rotated_failed");
        expect(rotated.summary.failed).toBe(0);
    });

    // The managers' scale-up and -down (~5 min) runs in the bench (npm run bench) or with
    // SYSTEM_TEST_DAY2=1: CI replays the workers' and every node's replacement (a manager replacement
    // included), which exercise the same join, drain, demote and remove scripts.
    const benchOnly = FULL_DAY2 ? test : test.skip;

    test("6. swarm.workers 2 → 4 → 2, replayed as the engine runs it, under load: the new workers join (with the token rotated in test 9); the removed ones drain and leave first; 0 failed", async () => {
        const s = swarm();
        // After test 9's rotation the old tokens are refused: the new workers join with the new one,
        // which each join script reads from a manager at join time.
        const rotatedBefore = (deployed?.change.joinTokenRotation ?? 0) > 0;
        await day2("workers_up", "`swarm.workers` 2 → 4", { workers: 4 });
        expect((await s.nodeList()).filter((n) => n.managerStatus === "")).toHaveLength(4);
        if (rotatedBefore) log("workers_up: the new workers joined with the join token rotated in test 9");
        const down = await day2("workers_down", "`swarm.workers` 4 → 2: drain, leave, rm, then the container", { workers: 2 });
        const ls = await s.nodeList();
        // The removed workers left and were removed: no Down entry remains.
        expect(ls.map((n) => n.hostname).sort()).toEqual(s.current.nodes.map((n) => n.hostname).sort());
        expect(down.report.steps.some((x) => /^delete swarm-worker-3-join/.test(x.id))).toBe(true);
        results.check("day2_workers_up_failed", "day2_workers_down_failed");
    });

    test("7. every swarm node replaced (swarm.nodeResources.cpus), replayed as the engine runs it, under load: one manager and one worker at a time, each back before the next goes; 0 failed", async () => {
        const s = swarm();
        const managersBefore = (await s.nodeList()).filter((n) => n.managerStatus !== "").length;
        const out = await day2("nodes_replaced", "every swarm node replaced (`swarm.nodeResources.cpus`)", {
            nodeResources: { cpus: 1.5, memoryMb: 1024 },
        });
        const replaced = out.report.steps.filter((x) => /^delete swarm-(manager|worker)-\d+$/.test(x.id.replace(/#\d+$/, "")));
        expect(replaced).toHaveLength(s.current.nodes.length);
        for (const n of s.current.nodes) {
            const hc = JSON.parse(await docker(["inspect", "-f", "{{json .HostConfig}}", n.container.name]));
            expect(hc.NanoCpus).toBe(1.75e9);
        }
        expect((await s.nodeList()).filter((n) => n.managerStatus !== "")).toHaveLength(managersBefore);
        results.check("day2_nodes_replaced_failed");
    });

    benchOnly(
        "8. swarm.managers 3 → 5 → 3, replayed as the engine runs it, under load: one Raft change at a time; the removed managers are demoted and leave first; 0 failed",
        async () => {
            const s = swarm();
            const up = await day2("managers_up", "`swarm.managers` 3 → 5 (bench only)", { managers: 5 });
            const ls = await s.nodeList();
            expect(ls.filter((n) => n.managerStatus !== "")).toHaveLength(5);
            const down = await day2("managers_down", "`swarm.managers` 5 → 3 (bench only)", { managers: 3 });
            const after = await s.nodeList();
            // The removed managers were demoted, left and were removed: no Down entry remains.
            expect(after.map((n) => n.hostname).sort()).toEqual(s.current.nodes.map((n) => n.hostname).sort());
            expect(after.filter((n) => n.managerStatus !== "")).toHaveLength(3);
            expect(down.report.steps.some((x) => /^delete swarm-manager-4-join/.test(x.id))).toBe(true);
            results.check("day2_managers_up_failed", "day2_managers_down_failed");
            expect([up.summary.failed, down.summary.failed]).toEqual([0, 0]);
        },
    );
});
