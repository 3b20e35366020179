// Data-plane scenarios on a running DataPlane: each one drives load through the edge while it breaks
// something, and returns what it measured. Shared by the jest suite (assertions) and the benchmark
// (bench/results.json). Every scenario is bounded: fixed load durations, bounded waits.
import * as fs from "fs";
import type { WebServiceSpec } from "../../render/webService";
import { DataPlane } from "./dataplane";
import { taskOf } from "./probe";
import { docker, dockerResult, sleep, SYSTEM_LABEL } from "./docker";
import { FAILED } from "./chart";
import { LoadRun, LoadSession, LoadSummary, median, percentile, runLoad, Sample, summarize, Timeline, timeline } from "./load";

/**
 * Load used by every scenario: ≥ 50 req/s as the issue asks (100 by default; `SYSTEM_TEST_RATE`
 * raises it to stress a scenario), 1 s timeout, no retries.
 */
export const LOAD = { ratePerSecond: loadRate(process.env.SYSTEM_TEST_RATE), timeoutMs: 1000 } as const;

function loadRate(raw: string | undefined): number {
    const rate = Number(raw ?? 100);
    if (!Number.isInteger(rate) || rate < 50 || rate > 1000)
        throw new Error(`SYSTEM_TEST_RATE must be a whole number of requests/s from 50 to 1000 (got ${JSON.stringify(raw)})`);
    return rate;
}

export interface FailoverTrial {
    /** Node that held the VIP before, and after. */
    readonly from: string;
    readonly to: string[];
    /** Longest time without a successful answer (ms) and failed requests, over the whole load window. */
    readonly gapMs: number;
    readonly failed: number;
    readonly requests: number;
    /** The gap's position relative to the fault (ms). */
    readonly gapFromFaultMs: number;
    /** When the fault was injected, relative to the load start (ms). */
    readonly faultAtMs: number;
    /** The same moment, wall clock (ms since epoch): what Prometheus's samples are compared with. */
    readonly faultEpochMs: number;
    /** From the fault to the peer's "Entering MASTER STATE" (keepalived's log), ms. */
    readonly takeoverMs: number | null;
    readonly failures: LoadSummary["failures"];
    /** After the fault: the node restarted (if it was down), did its Consul agent follow it, and when did it serve again. */
    readonly restore?: { readonly agentFollowed: boolean; readonly servesAfterMs: number };
    /** Requests per bucket by the LB node that answered (or "failed"): the benchmark's chart. */
    readonly timeline: Timeline;
}

/** Bucket of the benchmark's requests-over-time chart. */
const TIMELINE_BUCKET_MS = 250;

/** Which LB node answered each request (or that it failed). */
const byLbNode = (s: Sample): string => (s.ok ? `answered by ${s.lbNode ?? "?"}` : FAILED);

function gapRelative(summary: LoadSummary, faultAtMs: number): number {
    return Math.round(summary.longestGap.fromMs - faultAtMs);
}

async function takeoverAfter(dp: DataPlane, peer: string, faultEpochMs: number): Promise<number | null> {
    const entries = (await dp.transitions(peer, faultEpochMs - 1000)).filter(
        (t) => t.state === "MASTER" && t.atEpochMs >= faultEpochMs - 50,
    );
    return entries.length > 0 ? entries[0].atEpochMs - faultEpochMs : null;
}

/**
 * Load for warmupMs + afterMs; at warmupMs the fault is injected on the current MASTER. Returns the
 * load run, the fault time (relative to the load start and as wall clock) and the master.
 */
async function withFault(
    dp: DataPlane,
    opts: { warmupMs: number; afterMs: number },
    fault: (master: string) => Promise<void>,
): Promise<{ run: LoadRun; master: string; faultAtMs: number; faultEpochMs: number }> {
    const master = await dp.master();
    const load = runLoad({ url: dp.current.webUrl, durationMs: opts.warmupMs + opts.afterMs, ...LOAD });
    const loadStart = performance.now();
    await sleep(opts.warmupMs);
    const faultAtMs = performance.now() - loadStart;
    const faultEpochMs = Date.now();
    await fault(master);
    const run = await load;
    return { run, master, faultAtMs: faultAtMs - (run.startMs - loadStart), faultEpochMs };
}

/**
 * Injects `fault` into the MASTER under load and measures what clients saw: the record shared by
 * the hard-kill and HAProxy-dies scenarios.
 */
async function measureFault(
    dp: DataPlane,
    afterMs: number,
    fault: (master: string) => Promise<void>,
): Promise<{ trial: FailoverTrial; master: string; faultEpochMs: number }> {
    const { run, master, faultAtMs, faultEpochMs } = await withFault(dp, { warmupMs: 2000, afterMs }, fault);
    const summary = summarize(run);
    const to = await dp.vipHolders();
    const trial: FailoverTrial = {
        from: master,
        to,
        gapMs: Math.round(summary.longestGap.ms),
        failed: summary.failed,
        requests: summary.requests,
        gapFromFaultMs: gapRelative(summary, faultAtMs),
        faultAtMs: Math.round(faultAtMs),
        faultEpochMs,
        takeoverMs: await takeoverAfter(dp, dp.peerOf(master), faultEpochMs),
        failures: summary.failures,
        timeline: timeline(run, TIMELINE_BUCKET_MS, byLbNode),
    };
    return { trial, master, faultEpochMs };
}

/** Scenario 1: `docker kill` of the MASTER. The killed node is started again afterwards (it stays BACKUP: nopreempt). */
export async function hardKillTrial(dp: DataPlane, afterMs: number): Promise<FailoverTrial> {
    const { trial, master } = await measureFault(dp, afterMs, (m) => docker(["kill", dp.containerName(m)]).then(() => undefined));
    const result: FailoverTrial = { ...trial, restore: await dp.restartLb(master) };
    await sleep(1000);
    return result;
}

export interface GracefulTrial extends FailoverTrial {
    /** While the stopped node comes back and afterwards: failed requests and VIP moves. */
    readonly returnFailed: number;
    readonly returnRequests: number;
    readonly returnVipMoves: number;
    readonly returnMs: number;
}

/**
 * Scenario 2: `docker stop` of the MASTER (its entrypoint hands the VIP over first, then drains
 * HAProxy), then the stopped node is started again while the load continues.
 */
export async function gracefulStopTrial(dp: DataPlane): Promise<GracefulTrial> {
    const warmupMs = 2000;
    const stopPhaseMs = 5000;
    const returnPhaseMs = 12_000;
    const master = await dp.master();
    const load = runLoad({ url: dp.current.webUrl, durationMs: warmupMs + stopPhaseMs + returnPhaseMs, ...LOAD });
    const t0 = performance.now();
    await sleep(warmupMs);
    const faultAtMs = performance.now() - t0;
    const faultEpochMs = Date.now();
    await docker(["stop", dp.containerName(master)], { timeoutMs: 30_000 });
    await sleep(Math.max(0, warmupMs + stopPhaseMs - (performance.now() - t0)));
    const returnAtMs = performance.now() - t0;
    const returnEpochMs = Date.now();
    const afterStop = await dp.vipHolders();
    const takeoverMs = await takeoverAfter(dp, dp.peerOf(master), faultEpochMs);
    const restore = await dp.restartLb(master);
    const returnMs = performance.now() - t0 - returnAtMs;
    const run = await load;
    const offset = run.startMs - t0;
    const stopPhase = summarize(run, { fromMs: 0, toMs: returnAtMs - offset });
    const returnPhase = summarize(run, { fromMs: returnAtMs - offset, toMs: run.options.durationMs });
    const moves = await dp.masterEntries(returnEpochMs);
    if (returnMs > returnPhaseMs - 2000)
        throw new Error(`the stopped node took ${Math.round(returnMs)} ms to return: longer than the load`);
    return {
        from: master,
        to: afterStop,
        gapMs: Math.round(stopPhase.longestGap.ms),
        failed: stopPhase.failed,
        requests: stopPhase.requests,
        gapFromFaultMs: gapRelative(stopPhase, faultAtMs - offset),
        faultAtMs: Math.round(faultAtMs - offset),
        faultEpochMs,
        takeoverMs,
        failures: [...stopPhase.failures, ...returnPhase.failures],
        returnFailed: returnPhase.failed,
        returnRequests: returnPhase.requests,
        returnVipMoves: moves.length,
        returnMs: Math.round(returnMs),
        restore,
        timeline: timeline(run, TIMELINE_BUCKET_MS, byLbNode),
    };
}

/** Scenario 3: the MASTER's HAProxy is SIGKILLed (keepalived lives; the image restarts HAProxy after a delay). */
export async function haproxyDiesTrial(dp: DataPlane): Promise<FailoverTrial> {
    const { trial, master, faultEpochMs } = await measureFault(dp, 5000, (m) =>
        docker(["exec", dp.containerName(m), "pkill", "-KILL", "-x", "haproxy"]).then(() => undefined),
    );
    // The supervisor restarts HAProxy; the node goes FAULT → BACKUP once its check passes again.
    await dp.waitLbReady(master, 60_000, faultEpochMs + 500);
    await sleep(1000);
    return trial;
}

export interface RestartResult {
    readonly node: string;
    readonly how: "restart" | "stop-start";
    /** The node's own Consul agent (started by its entrypoint) runs again afterwards. */
    readonly agentRunning: boolean;
    /** ms from `docker restart`/`docker start` until the node serves every backend again; null if not within the bound. */
    readonly servesAfterMs: number | null;
    readonly boundMs: number;
    /** Requests through the edge meanwhile (the other node holds the VIP). */
    readonly failed: number;
    readonly requests: number;
}

/**
 * The BACKUP node goes away and comes back: `restart` is `docker restart` (what the engine's restart
 * policy does when the node's main process exits); `stop-start` is `docker stop`, 3 s, `docker start`
 * (a node that was down for a while: stopped by an operator, killed, out of memory…). Either way the
 * node must run its Consul agent again and serve every backend: its HAProxy resolves them through the
 * agent in its own network namespace (the agent's DNS answers are the harness's stand-in, moved into
 * the node's new namespace once the node's agent runs).
 */
export async function backupComesBackTrial(dp: DataPlane, how: "restart" | "stop-start", boundMs = 20_000): Promise<RestartResult> {
    const master = await dp.master();
    const backup = dp.peerOf(master);
    const name = dp.containerName(backup);
    const load = runLoad({ url: dp.current.webUrl, durationMs: how === "restart" ? 5000 : 8000, ...LOAD });
    if (how === "stop-start") {
        await docker(["stop", name], { timeoutMs: 60_000 });
        await sleep(3000);
    }
    const since = Date.now();
    const t0 = performance.now();
    await docker([how === "restart" ? "restart" : "start", name], { timeoutMs: 60_000 });
    const agentRunning = await dp.followNode(backup, boundMs);
    let servesAfterMs: number | null = null;
    try {
        await dp.waitLbReady(backup, Math.max(1000, boundMs - (performance.now() - t0)), since);
        servesAfterMs = Math.round(performance.now() - t0);
    } catch {
        servesAfterMs = null;
    }
    const summary = summarize(await load);
    return { node: backup, how, servesAfterMs, boundMs, agentRunning, failed: summary.failed, requests: summary.requests };
}

export interface SoakResult {
    readonly seconds: number;
    readonly vipMoves: number;
    readonly faults: number;
    /** Times both nodes held the VIP at once (sampled every 2 s). */
    readonly splitBrainSamples: number;
    readonly failed: number;
    readonly requests: number;
    readonly longestGapMs: number;
    /** Host CPU idle share during the soak (0–1): near 0 means saturated. */
    readonly hostIdle: number;
    readonly lbCpuLimit: string;
}

/** Host CPU counters from /proc/stat: [idle, total] jiffies. */
function cpuCounters(): [number, number] {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    return [idle, fields.reduce((a, b) => a + b, 0)];
}

/**
 * Soak: `seconds` of load with every CPU saturated by busy loops in a container of our own (bounded by
 * `timeout`), the LB nodes under their declared CPU limits. Counts VIP moves (keepalived MASTER
 * entries), FAULTs and split-brain samples.
 */
export async function soak(dp: DataPlane, seconds: number): Promise<SoakResult> {
    const busy = (await import("os")).cpus().length * 2;
    const stressName = `${dp.current.settings.namePrefix}stress`;
    await dockerResult(["rm", "-f", stressName]);
    await docker([
        "run",
        "-d",
        "--rm",
        "--name",
        stressName,
        "--label",
        `${SYSTEM_LABEL}=1`,
        "debian:bookworm-slim",
        "timeout",
        String(seconds + 15),
        "sh",
        "-c",
        `for i in $(seq ${busy}); do (while :; do :; done) & done; wait`,
    ]);
    try {
        await sleep(2000);
        const since = Date.now();
        const [idle0, total0] = cpuCounters();
        const load = runLoad({ url: dp.current.webUrl, durationMs: seconds * 1000, ...LOAD });
        let splitBrain = 0;
        const deadline = performance.now() + seconds * 1000;
        while (performance.now() < deadline - 2000) {
            await sleep(2000);
            if ((await dp.vipHolders()).length > 1) splitBrain++;
        }
        const run = await load;
        const [idle1, total1] = cpuCounters();
        const summary = summarize(run);
        const all = (await Promise.all(dp.current.lbs.map((lb) => dp.transitions(lb.logical, since)))).flat();
        return {
            seconds,
            vipMoves: all.filter((t) => t.state === "MASTER").length,
            faults: all.filter((t) => t.state === "FAULT").length,
            splitBrainSamples: splitBrain,
            failed: summary.failed,
            requests: summary.requests,
            longestGapMs: Math.round(summary.longestGap.ms),
            hostIdle: Math.round(((idle1 - idle0) / Math.max(1, total1 - total0)) * 1000) / 1000,
            lbCpuLimit: flagValue(dp.current.lbs[0].container.flags, "--cpus") ?? "none",
        };
    } finally {
        await dockerResult(["rm", "-f", stressName], { timeoutMs: 30_000 });
    }
}

function flagValue(flags: readonly string[], flag: string): string | undefined {
    const i = flags.indexOf(flag);
    return i >= 0 ? flags[i + 1] : undefined;
}

/** Runs `n` trials; returns them and the median of a field. */
export async function trials<T>(n: number, one: (i: number) => Promise<T>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(await one(i));
    return out;
}

export { median };

// ---------------------------------------------------------------------------------------------
// The web service behind the pair: rollout, crash, membership, latency
// ---------------------------------------------------------------------------------------------

export interface RolloutResult {
    readonly from: string;
    readonly to: string;
    /** From the first new task's start to the last old task's exit. */
    readonly ms: number;
    readonly requests: number;
    readonly failed: number;
    readonly longestGapMs: number;
    readonly failures: LoadSummary["failures"];
    readonly clientStalls: LoadSummary["clientStalls"];
    /** Successful answers per version during the load. */
    readonly answersByVersion: Record<string, number>;
    /** Versions answering in the last second of the load (want: only the new one). */
    readonly finalVersions: string[];
    /** Requests per bucket by the version that answered (or "failed"): the benchmark's chart. */
    readonly timeline: Timeline;
    /** When the first new task was started and the last old one had exited, ms from the load's start. */
    readonly startedAtMs: number;
    readonly doneAtMs: number;
}

/**
 * Scenario 4: a rolling update to another version, as Swarm runs it under the spec's update policy
 * (order, parallelism, delay): per slot, start the new task, wait until Docker reports it healthy,
 * then SIGTERM the old one (the app deregisters, fails /health, drains drainSeconds, exits) — and so
 * on, one slot at a time with the policy's delay in between. Load runs throughout.
 */
export async function rolloutTrial(dp: DataPlane, next: { spec: WebServiceSpec; image: string }, loadMs = 40_000): Promise<RolloutResult> {
    const policy = next.spec.updatePolicy ?? {};
    if ((policy.parallelism ?? 1) !== 1) throw new Error("rollout: only parallelism 1 is emulated");
    if ((policy.order ?? "start-first") !== "start-first") throw new Error("rollout: only start-first is emulated");
    const delayMs = (policy.delaySeconds ?? 5) * 1000;
    const old = dp.tasksRunning;
    const from = old[0]?.version ?? "?";
    const to = next.spec.env?.APP_VERSION ?? "?";
    const load = runLoad({ url: dp.current.webUrl, durationMs: loadMs, ...LOAD });
    await sleep(2000);
    const t0 = performance.now();
    const exits: Promise<void>[] = [];
    for (const task of old) {
        const fresh = await dp.startTask(task.slot, next);
        await dp.waitHealthy(fresh, 60_000);
        exits.push(dp.stopTask(task));
        await sleep(delayMs);
    }
    await Promise.all(exits);
    const ms = performance.now() - t0;
    dp.adoptWebSpec(next);
    const run = await load;
    if (ms > loadMs - 4000) throw new Error(`rollout took ${Math.round(ms)} ms: longer than the load window`);
    const summary = summarize(run);
    const version = (x: Sample): string => /^swarm-platform web (\S+)/.exec(x.body ?? "")?.[1] ?? "?";
    const answersByVersion: Record<string, number> = {};
    for (const s of run.samples.filter((x) => x.ok)) answersByVersion[version(s)] = (answersByVersion[version(s)] ?? 0) + 1;
    const last = run.samples.filter((x) => x.ok && x.sentMs >= run.endMs - 1000);
    const finalVersions = [...new Set(last.map(version))];
    return {
        from,
        to,
        ms: Math.round(ms),
        requests: summary.requests,
        failed: summary.failed,
        longestGapMs: Math.round(summary.longestGap.ms),
        failures: summary.failures,
        clientStalls: summary.clientStalls,
        answersByVersion,
        finalVersions,
        timeline: timeline(run, TIMELINE_BUCKET_MS, (x) => (x.ok ? `answered by ${version(x)}` : FAILED)),
        startedAtMs: Math.round(t0 - run.startMs),
        doneAtMs: Math.round(t0 + ms - run.startMs),
    };
}

export interface BackendCrashResult {
    readonly task: string;
    readonly failed: number;
    readonly requests: number;
    /** From the kill to HAProxy marking a server DOWN on the MASTER (its log). */
    readonly haproxyDetectMs: number | null;
    /** From the kill to the instance leaving Consul's passing set (the stand-in's check). */
    readonly consulDetectMs: number | null;
    /** The kill, wall clock (ms since epoch). */
    readonly killEpochMs: number;
    /** Each LB node's HAProxy marking a server DOWN after the kill (its log): which server slot, when (wall clock). */
    readonly downs: readonly { readonly lb: string; readonly server: string; readonly atEpochMs: number }[];
    readonly failures: LoadSummary["failures"];
}

/** Scenario 5: a web task is SIGKILLed (no drain, no deregistration); Swarm replaces it afterwards. */
export async function backendCrashTrial(dp: DataPlane): Promise<BackendCrashResult> {
    const master = await dp.master();
    const victim = dp.tasksRunning[0];
    const load = runLoad({ url: dp.current.webUrl, durationMs: 8000, ...LOAD });
    await sleep(2000);
    const killEpoch = Date.now();
    const killAt = performance.now();
    await dp.killTask(victim);
    const run = await load;
    const summary = summarize(run);
    const logs = await dockerResult([
        "logs",
        "--timestamps",
        "--since",
        new Date(killEpoch - 1000).toISOString(),
        dp.containerName(master),
    ]);
    const down = `${logs.stdout}\n${logs.stderr}`
        .split("\n")
        .map((l) => /^(\S+) .*Server web\/\S+ .*is DOWN/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Date.parse(m[1].replace(/(\.\d{3})\d*/, "$1")))
        .filter((t) => t >= killEpoch)
        .sort((a, b) => a - b);
    const left = dp.catalog.history.find((h) => h.atMs >= killAt && !h.passing.includes(victim.name));
    const downs: { lb: string; server: string; atEpochMs: number }[] = [];
    for (const lb of dp.current.lbs) {
        const l = await dockerResult(["logs", "--timestamps", "--since", new Date(killEpoch - 1000).toISOString(), lb.container.name]);
        for (const line of `${l.stdout}\n${l.stderr}`.split("\n")) {
            const m = /^(\S+) .*Server web\/(\S+) .*is DOWN/.exec(line);
            const at = m === null ? NaN : Date.parse(m[1].replace(/(\.\d{3})\d*/, "$1"));
            if (m !== null && at >= killEpoch) downs.push({ lb: lb.logical, server: m[2], atEpochMs: at });
        }
    }
    // Swarm starts a replacement (restart policy: any).
    await dp.removeTask(victim);
    const replacement = await dp.startTask(victim.slot);
    await dp.waitPassing(replacement.name, 30_000);
    await dp.waitServing();
    return {
        task: victim.name,
        failed: summary.failed,
        requests: summary.requests,
        haproxyDetectMs: down.length > 0 ? down[0] - killEpoch : null,
        consulDetectMs: left ? Math.round(left.atMs - killAt) : null,
        killEpochMs: killEpoch,
        downs,
        failures: summary.failures,
    };
}

export interface MembershipTrial {
    readonly task: string;
    /**
     * From the new instance passing in Consul (the catalog's decision) to its first answer through
     * the edge. null: it never answered, or its passing was never recorded (a failure either way).
     */
    readonly addMs: number | null;
    /** The add, in parts (null where a moment was not seen): the catalog → every DNS stand-in, */
    readonly dnsMs: number | null;
    /** DNS → the answering LB node's HAProxy put the server in (its log), */
    readonly resolverMs: number | null;
    /** and that → the first answer. */
    readonly routeMs: number | null;
    /** The LB node that gave the first answer. */
    readonly firstLbNode: string | null;
    /**
     * From its deregistration (SIGTERM) to the last request the LB pair still sent it (sent time).
     * null: it got no request at all from 50 ms before it left on, i.e. it was not in rotation when
     * it left — nothing was measured, which is a failure, not a lag of 0.
     */
    readonly removeMs: number | null;
}

export interface MembershipResult {
    readonly trials: readonly MembershipTrial[];
    /** Over the whole load, every trial. */
    readonly failed: number;
    readonly requests: number;
    readonly failures: LoadSummary["failures"];
    readonly clientStalls: LoadSummary["clientStalls"];
}

/** Performance-clock time of the first HAProxy log line on `lb` after `sinceEpochMs` that puts a server in: its DNS resolution. */
async function serverAddedAt(dp: DataPlane, lb: string, sinceEpochMs: number): Promise<number | null> {
    const logs = await dockerResult(["logs", "--timestamps", "--since", new Date(sinceEpochMs - 1000).toISOString(), dp.containerName(lb)]);
    const offset = Date.now() - performance.now();
    const at = `${logs.stdout}\n${logs.stderr}`
        .split("\n")
        .map((l) => /^(\S+) .*web\/\S+ changed its IP from \S* to /.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Date.parse(m[1].replace(/(\.\d{3})\d*/, "$1")))
        .filter((t) => t >= sinceEpochMs)
        .sort((a, b) => a - b);
    return at.length > 0 ? at[0] - offset : null;
}

/**
 * Scenario 6: `n` times, under one load: a task joins (registers; once its check passes, Consul → DNS
 * → HAProxy), serves for a while, then leaves (SIGTERM: deregister, drain). Each trial measures the
 * add and the removal lag; the load counts every failed request over all of them.
 */
export async function membershipTrials(dp: DataPlane, n: number): Promise<MembershipResult> {
    const serveMs = 3000;
    const load = new LoadSession({ url: dp.current.webUrl, ...LOAD, maxMs: n * 30_000 + 10_000 });
    await sleep(1000);
    const marks: { task: string; passingAt: number | null; publishedAt: number | null; passingEpoch: number; leaveAt: number }[] = [];
    for (let i = 0; i < n; i++) {
        const slot = Math.max(...dp.tasksRunning.map((t) => t.slot)) + 1;
        const sinceHistory = dp.catalog.history.length;
        const task = await dp.startTask(slot);
        await dp.waitPassing(task.name, 30_000);
        const change = dp.catalog.history.slice(sinceHistory).find((h) => h.passing.includes(task.name));
        const passingEpoch = Date.now() - (performance.now() - (change?.atMs ?? performance.now()));
        await sleep(serveMs);
        const leaveAt = performance.now();
        await dp.stopTask(task);
        marks.push({ task: task.name, passingAt: change?.atMs ?? null, publishedAt: change?.publishedAtMs ?? null, passingEpoch, leaveAt });
        await sleep(1000);
    }
    const run = await load.stop();
    const summary = summarize(run);
    const trials: MembershipTrial[] = [];
    for (const m of marks) {
        const mine = run.samples.filter((s) => s.ok && taskOf(s.body ?? "") === m.task);
        const first = mine.length > 0 ? mine.reduce((a, b) => (b.doneMs < a.doneMs ? b : a)) : null;
        const lastSent = mine.filter((s) => s.sentMs >= m.leaveAt - 50);
        const last = lastSent.length > 0 ? Math.max(...lastSent.map((s) => s.sentMs)) : null;
        const firstLbNode = first?.lbNode ?? null;
        const added = firstLbNode !== null && m.passingAt !== null ? await serverAddedAt(dp, firstLbNode, m.passingEpoch - 50) : null;
        const diff = (a: number | null | undefined, b: number | null) =>
            a === null || a === undefined || b === null ? null : Math.round(a - b);
        trials.push({
            task: m.task,
            addMs: diff(first?.doneMs, m.passingAt),
            dnsMs: diff(m.publishedAt, m.passingAt),
            resolverMs: diff(added, m.publishedAt),
            routeMs: diff(first?.doneMs, added),
            firstLbNode,
            removeMs: last === null ? null : Math.round(last - m.leaveAt),
        });
    }
    return { trials, failed: summary.failed, requests: summary.requests, failures: summary.failures, clientStalls: summary.clientStalls };
}

export interface LatencyResult {
    /** Edge listener (edge container address) → VIP → HAProxy → task: the platform's path. */
    readonly edge: LoadSummary["latencyMs"];
    /** The same through the host's published port (127.0.0.1), i.e. with Docker's port publishing in front. */
    readonly published: LoadSummary["latencyMs"];
    /** One task directly (its node's address and port). */
    readonly direct: LoadSummary["latencyMs"];
    readonly p50Ratio: number;
    readonly p99Ratio: number;
    readonly publishedP50Ratio: number;
    readonly rounds: number;
}

/**
 * Scenario 7: latency of the platform's path (edge → VIP → HAProxy → task) against one task directly,
 * and of the user's path through the published port. Same rate for all; the three alternate in short
 * rounds so a noisy neighbour hits them alike, and each percentile is over all rounds' samples.
 * Every path is warmed up first (connections, ARP, caches).
 */
export async function latencyTrial(dp: DataPlane, rounds = 6, roundMs = 2500): Promise<LatencyResult> {
    const task = dp.tasksRunning[0];
    const urls = { edge: dp.current.edgeUrl, published: dp.current.webUrl, direct: `http://${task.address}:${task.port}/` };
    const samples: Record<keyof typeof urls, Sample[]> = { edge: [], published: [], direct: [] };
    for (const url of Object.values(urls)) await runLoad({ url, durationMs: 1000, ...LOAD });
    for (let round = 0; round < rounds; round++) {
        for (const [path, url] of Object.entries(urls) as [keyof typeof urls, string][]) {
            const run = await runLoad({ url, durationMs: roundMs, ...LOAD });
            samples[path].push(...run.samples);
        }
    }
    const latency = (s: readonly Sample[]) => {
        const failed = s.filter((x) => !x.ok).length;
        if (failed > 0) throw new Error(`latency: ${failed} of ${s.length} requests failed`);
        const sorted = s.map((x) => x.doneMs - x.sentMs).sort((a, b) => a - b);
        return {
            p50: percentile(sorted, 0.5),
            p90: percentile(sorted, 0.9),
            p99: percentile(sorted, 0.99),
            max: sorted[sorted.length - 1],
        };
    };
    const edge = latency(samples.edge);
    const published = latency(samples.published);
    const direct = latency(samples.direct);
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    return {
        edge,
        published,
        direct,
        p50Ratio: ratio(edge.p50, direct.p50),
        p99Ratio: ratio(edge.p99, direct.p99),
        publishedP50Ratio: ratio(published.p50, direct.p50),
        rounds,
    };
}
