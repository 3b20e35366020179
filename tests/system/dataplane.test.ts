// System tests of the data plane (issue #5): the LB pair, its DNS discovery and the edge, built from
// the program's graph and run as real containers; load through the edge while an LB node fails.
// Run: scripts/system-setup.sh && npm run test:system   (npm run bench also writes bench/results.*)
import { DataPlane } from "./dataplane";
import { dataPlaneFromGraph, DataPlaneSpec, evaluateGraph } from "./graph";
import { settingsFromEnv, VrrpSetting } from "./settings";
import { docker, removeSystemTestObjects, sleep } from "./docker";
import { LoadSession, summarize } from "./load";
import { replayLbPlan } from "./replay";
import { planUpdate, stateOf } from "../harness/engine";
import { ChartPanel } from "./chart";
import { Results } from "./results";
import { haproxyDeregistrationLagMs } from "../../render/haproxy";
import {
    backendCrashTrial,
    backupComesBackTrial,
    FailoverTrial,
    gracefulStopTrial,
    hardKillTrial,
    haproxyDiesTrial,
    latencyTrial,
    LOAD,
    median,
    membershipTrial,
    rolloutTrial,
    soak,
    SoakResult,
    trials,
} from "./scenarios";

const settings = settingsFromEnv();
const TRIALS = Number(process.env.SYSTEM_TEST_TRIALS ?? 3);
const SOAK_SECONDS = Number(process.env.SYSTEM_TEST_SOAK_SECONDS ?? 60);
/** The baseline the issue asks for: keepalived's defaults (VRRPv2, advert 1 s), through the program's config. */
const BASELINE: VrrpSetting = { vrrpVersion: 2, advertIntervalSeconds: 1 };
const CMD = "npm run test:system -- -t";
/**
 * CI asserts correctness (0 failed, the right node took over) and timing only within a margin that a
 * loaded 2-core runner cannot cross; whether a figure meets its goal is the bench's verdict (the
 * `pass` of each results.set). A membership add measured 1,093 ms against the 1,000 ms goal on one
 * CI run (the next DNS poll landed late), which is noise, not a regression.
 */
const ciBound = (goalMs: number) => goalMs * 2.5;

const results = new Results();
let dp: DataPlane | undefined;
const log = (msg: string) => process.stderr.write(`[system] ${new Date().toISOString()} ${msg}\n`);
const plane = (): DataPlane => {
    if (dp === undefined) throw new Error("the data plane was not created (see beforeAll)");
    return dp;
};
const trialLine = (t: FailoverTrial) =>
    `${t.from} → ${t.to.join(",") || "nobody"}: gap ${t.gapMs} ms (starts ${t.gapFromFaultMs} ms after the fault), ` +
    (t.restore
        ? `${t.from} serves again ${t.restore.servesAfterMs} ms after its start (its Consul agent ${t.restore.agentFollowed ? "back" : "NOT back"}), `
        : "") +
    `${t.failed}/${t.requests} failed, keepalived takeover ${t.takeoverMs ?? "?"} ms` +
    (t.failures.length > 0
        ? ` [failures: ${t.failures
              .slice(0, 5)
              .map((f) => `${f.error} at +${Math.round(f.atMs - t.faultAtMs)} ms`)
              .join(", ")}${t.failures.length > 5 ? ", …" : ""}]`
        : "");

/** The chart panel of a hard-kill scenario: the trial with the median gap. */
function hardKillPanel(title: string, runs: readonly FailoverTrial[]): ChartPanel {
    const t = [...runs].sort((a, b) => a.gapMs - b.gapMs)[Math.floor((runs.length - 1) / 2)];
    return {
        title: `${title}: trial with the median gap, ${t.gapMs} ms`,
        timeline: t.timeline,
        markers: [{ atMs: t.faultAtMs, label: `docker kill ${t.from}` }],
    };
}

async function specFor(vrrp?: VrrpSetting, webVersion?: string): Promise<DataPlaneSpec> {
    return dataPlaneFromGraph(await evaluateGraph(settings, vrrp, webVersion), settings);
}

beforeAll(async () => {
    const spec = await specFor();
    dp = new DataPlane(spec);
    await dp.create(log);
}, 10 * 60_000);

afterAll(async () => {
    // SYSTEM_TEST_KEEP=1 leaves the containers running for a look (the next run removes them first).
    dp?.catalog.stop();
    if (process.env.SYSTEM_TEST_KEEP === "1") log(`SYSTEM_TEST_KEEP=1: containers ${settings.namePrefix}* left running`);
    else await removeSystemTestObjects(settings.namePrefix);
    const gap = results.get("lb_hard_kill_gap_ms");
    const baseline = results.get("lb_hard_kill_gap_ms_baseline");
    if (gap !== null && baseline !== null && baseline > 0) {
        results.set({
            key: "lb_hard_kill_gap_ratio_vs_baseline",
            value: Math.round((gap / baseline) * 1000) / 1000,
            unit: "",
            goal: "< 1 (report)",
            pass: gap < baseline,
            command: `${CMD} "hard kill"`,
            note: "default-config gap ÷ keepalived-defaults gap",
        });
    }
    if (process.env.BENCH_WRITE === "1") {
        results.write();
        log("wrote bench/results.json and bench/results.md");
    }
}, 5 * 60_000);

describe("the program's LB image and generated configs in real containers", () => {
    test("each LB node runs exactly the uploaded configs, serves every registered backend, and one node holds the VIP", async () => {
        const p = plane();
        for (const lb of p.current.lbs) {
            expect(await docker(["exec", lb.container.name, "cat", "/etc/haproxy/haproxy.cfg"])).toBe(lb.haproxyCfg.trim());
            expect(await docker(["exec", lb.container.name, "cat", "/etc/keepalived/keepalived.conf"])).toBe(lb.keepalivedConf.trim());
            await p.waitLbReady(lb.logical, 10_000);
        }
        expect(p.catalog.passing()).toHaveLength(p.current.web.spec.replicas);
        expect(await p.vipHolders()).toHaveLength(1);
        expect(p.current.vrrp).toEqual({ version: 3, advertIntervalSeconds: 0.1 });
    });
});

describe("default VRRP settings (the program's defaults)", () => {
    test("1. hard kill (docker kill) of the MASTER: longest gap ≤ 0.9 s (goal ≤ 0.5 s), median of 3", async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await hardKillTrial(p, 4000);
            log(`hard kill: ${trialLine(t)}`);
            return t;
        });
        const gap = median(runs.map((t) => t.gapMs));
        const failed = median(runs.map((t) => t.failed));
        results.set({
            key: "lb_hard_kill_gap_ms",
            value: gap,
            unit: "ms",
            goal: "≤ 500 (fail > 900)",
            pass: gap <= 900,
            command: `${CMD} "hard kill"`,
            note: gap > 500 ? "above the 500 ms goal" : "",
        });
        results.set({
            key: "lb_hard_kill_failed",
            value: failed,
            unit: "requests",
            goal: "report (in-flight requests on the killed node are lost)",
            pass: null,
            command: `${CMD} "hard kill"`,
        });
        results.detail("lb_hard_kill_trials", runs);
        results.chart("1-hard-kill", hardKillPanel("1. docker kill of the MASTER, the program's VRRP (v3, 0.1 s adverts)", runs));
        for (const t of runs) expect(t.to).toEqual([p.peerOf(t.from)]);
        expect(gap).toBeLessThanOrEqual(900);
    });

    test("2. graceful stop (docker stop) of the MASTER: 0 failed, gap ≤ 0.2 s; its return: ≤ 1 VIP move, 0 failed", async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await gracefulStopTrial(p);
            log(
                `graceful stop: ${trialLine(t)}; return in ${t.returnMs} ms: ${t.returnVipMoves} VIP move(s), ${t.returnFailed}/${t.returnRequests} failed`,
            );
            return t;
        });
        const gap = median(runs.map((t) => t.gapMs));
        const failed = runs.reduce((a, t) => a + t.failed, 0);
        const returnMoves = Math.max(...runs.map((t) => t.returnVipMoves));
        const returnFailed = runs.reduce((a, t) => a + t.returnFailed, 0);
        results.set({
            key: "lb_graceful_gap_ms",
            value: gap,
            unit: "ms",
            goal: "≤ 200",
            pass: gap <= 200,
            command: `${CMD} "graceful stop"`,
        });
        results.set({
            key: "lb_graceful_failed",
            value: failed,
            unit: "requests",
            goal: "0 (sum of all trials)",
            pass: failed === 0,
            command: `${CMD} "graceful stop"`,
        });
        results.set({
            key: "lb_graceful_return_vip_moves",
            value: returnMoves,
            unit: "moves",
            goal: "≤ 1 (worst trial)",
            pass: returnMoves <= 1,
            command: `${CMD} "graceful stop"`,
        });
        results.set({
            key: "lb_graceful_return_failed",
            value: returnFailed,
            unit: "requests",
            goal: "0 (sum of all trials)",
            pass: returnFailed === 0,
            command: `${CMD} "graceful stop"`,
        });
        results.detail("lb_graceful_trials", runs);
        for (const t of runs) expect(t.to).toEqual([p.peerOf(t.from)]);
        expect({ failed, returnFailed, returnMoves }).toEqual({ failed: 0, returnFailed: 0, returnMoves: expect.any(Number) });
        expect(returnMoves).toBeLessThanOrEqual(1);
        expect(gap).toBeLessThanOrEqual(ciBound(200));
    });

    test("3. the MASTER's HAProxy dies (keepalived lives): the VIP moves; gap reported", async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await haproxyDiesTrial(p);
            log(`haproxy dies: ${trialLine(t)}`);
            return t;
        });
        const gap = median(runs.map((t) => t.gapMs));
        results.set({
            key: "lb_haproxy_dies_gap_ms",
            value: gap,
            unit: "ms",
            goal: "report; VIP must move",
            pass: runs.every((t) => t.to.length === 1 && t.to[0] !== t.from),
            command: `${CMD} "HAProxy dies"`,
        });
        results.set({
            key: "lb_haproxy_dies_failed",
            value: median(runs.map((t) => t.failed)),
            unit: "requests",
            goal: "report",
            pass: null,
            command: `${CMD} "HAProxy dies"`,
        });
        results.detail("lb_haproxy_dies_trials", runs);
        for (const t of runs) expect(t.to).toEqual([p.peerOf(t.from)]);
    });

    test.each([
        ["1c", "restart" as const, "docker restart", "lb_restarted_node_serves_ms"],
        ["1d", "stop-start" as const, "docker stop, 3 s, docker start", "lb_stopped_node_serves_ms"],
    ])(
        "%s. the BACKUP comes back (%s: %s): its Consul agent runs again inside it and the node serves every backend",
        async (_id, how, _what, key) => {
            const r = await backupComesBackTrial(plane(), how);
            log(
                `${how} of ${r.node}: ${r.servesAfterMs === null ? `serves NO backend after ${r.boundMs} ms` : `serves every backend after ${r.servesAfterMs} ms`}, ` +
                    `its Consul agent ${r.agentRunning ? "running again" : "NOT running"}, ${r.failed}/${r.requests} failed through the edge meanwhile`,
            );
            results.set({
                key,
                value: r.servesAfterMs,
                unit: "ms",
                goal: `serves every backend within ${r.boundMs} ms`,
                pass: r.servesAfterMs !== null,
                command: `${CMD} "comes back"`,
                note: r.agentRunning ? "" : "the node's entrypoint did not start its Consul agent again",
                whenNull: `serves none after ${r.boundMs} ms`,
            });
            results.set({
                key: `${key.replace(/_serves_ms$/, "")}_failed`,
                value: r.failed,
                unit: "requests",
                goal: "0",
                pass: r.failed === 0,
                command: `${CMD} "comes back"`,
            });
            expect(r.failed).toBe(0);
            expect(r.agentRunning).toBe(true);
            expect(r.servesAfterMs).not.toBeNull();
        },
    );

    test(`soak: ${SOAK_SECONDS} s with every CPU saturated: no spurious VIP move (default VRRP)`, async () => {
        const r = await soakAndRecord("default");
        expect({ vipMoves: r.vipMoves, faults: r.faults, splitBrain: r.splitBrainSamples }).toEqual({
            vipMoves: 0,
            faults: 0,
            splitBrain: 0,
        });
    });
});

describe("the web service behind the pair (tasks, Consul, DNS discovery)", () => {
    test("4. rolling update to the next version (the spec's update policy): 0 failed, every answer from the new version after it", async () => {
        const p = plane();
        const current = p.current.web.spec.env?.APP_VERSION ?? "1.0.0";
        const nextVersion = current.replace(/(\d+)$/, (d) => String(Number(d) + 1));
        const next = await specFor(undefined, nextVersion);
        await p.buildImages(next);
        const r = await rolloutTrial(p, { spec: next.web.spec, image: next.web.image });
        log(
            `rollout ${r.from} → ${r.to}: ${r.ms} ms, ${r.failed}/${r.requests} failed, longest gap ${r.longestGapMs} ms, ` +
                `answers ${JSON.stringify(r.answersByVersion)}, last second: ${r.finalVersions.join(",")}` +
                (r.failures.length > 0
                    ? ` [failures: ${r.failures
                          .slice(0, 5)
                          .map((f) => `${f.error} at ${Math.round(f.atMs)} ms`)
                          .join(", ")}]`
                    : ""),
        );
        results.set({
            key: "rollout_failed",
            value: r.failed,
            unit: "requests",
            goal: "0",
            pass: r.failed === 0,
            command: `${CMD} "rolling update"`,
        });
        results.set({
            key: "rollout_requests",
            value: r.requests,
            unit: "requests",
            goal: "report",
            pass: null,
            command: `${CMD} "rolling update"`,
        });
        results.set({
            key: "rollout_ms",
            value: r.ms,
            unit: "ms",
            goal: "report",
            pass: null,
            command: `${CMD} "rolling update"`,
            note: `${p.current.web.spec.replicas} tasks, start-first, delay ${next.web.spec.updatePolicy?.delaySeconds ?? "?"} s`,
        });
        results.detail("rollout", r);
        results.chart("4-rollout", {
            title: `4. rolling upgrade of every replica, ${r.from} → ${r.to} (start-first, one at a time): ${r.failed} of ${r.requests} failed`,
            timeline: r.timeline,
            markers: [
                { atMs: r.startedAtMs, label: "first new task" },
                { atMs: r.doneAtMs, label: "last old task gone" },
            ],
        });
        expect(r.finalVersions).toEqual([r.to]);
        expect(r.failed).toBe(0);
    });

    test("5. a web task crashes (SIGKILL): 0 failed; HAProxy's detection time reported", async () => {
        const r = await backendCrashTrial(plane());
        log(
            `backend crash of ${r.task}: ${r.failed}/${r.requests} failed, HAProxy DOWN after ${r.haproxyDetectMs ?? "?"} ms, ` +
                `Consul check after ${r.consulDetectMs ?? "?"} ms` +
                (r.failures.length > 0 ? ` [failures: ${r.failures.map((f) => `${f.error} at ${Math.round(f.atMs)} ms`).join(", ")}]` : ""),
        );
        results.set({
            key: "backend_crash_failed",
            value: r.failed,
            unit: "requests",
            goal: "0",
            pass: r.failed === 0,
            command: `${CMD} "crashes"`,
        });
        results.set({
            key: "backend_crash_detect_ms",
            value: r.haproxyDetectMs,
            unit: "ms",
            goal: "report (HAProxy marks the server DOWN)",
            pass: null,
            command: `${CMD} "crashes"`,
            note: `Consul stand-in's check: ${r.consulDetectMs ?? "?"} ms`,
        });
        results.detail("backend_crash", r);
        expect(r.failed).toBe(0);
    });

    test("6. membership: a new task takes traffic within 1 s of passing in Consul; a leaving task gets none after the deregistration lag, 0 failed", async () => {
        const r = await membershipTrial(plane());
        const lag = haproxyDeregistrationLagMs();
        log(
            `membership of ${r.task}: first answer ${r.addMs ?? "never"} ms after it passed, last request ${r.removeMs ?? "?"} ms after it left, ${r.failed}/${r.requests} failed`,
        );
        results.set({
            key: "membership_add_ms",
            value: r.addMs,
            unit: "ms",
            goal: "≤ 1000 (DNS query period 500 ms)",
            pass: r.addMs !== null && r.addMs <= 1000,
            command: `${CMD} membership`,
        });
        results.set({
            key: "membership_remove_ms",
            value: r.removeMs,
            unit: "ms",
            goal: `≤ ${lag} (haproxyDeregistrationLagMs)`,
            pass: r.removeMs !== null && r.removeMs <= lag,
            command: `${CMD} membership`,
        });
        results.set({
            key: "membership_failed",
            value: r.failed,
            unit: "requests",
            goal: "0",
            pass: r.failed === 0,
            command: `${CMD} membership`,
        });
        results.detail("membership", r);
        expect(r.failed).toBe(0);
        expect(r.addMs).not.toBeNull();
        expect(r.addMs!).toBeLessThanOrEqual(ciBound(1000));
        expect(r.removeMs!).toBeLessThanOrEqual(ciBound(lag));
    });

    test("7. latency through edge → VIP → HAProxy against a task directly: p50/p99 ratios reported", async () => {
        const r = await latencyTrial(plane());
        const ms = (x: number) => Math.round(x * 100) / 100;
        log(
            `latency (${r.rounds} interleaved rounds): edge p50 ${ms(r.edge.p50)} / p99 ${ms(r.edge.p99)} ms, ` +
                `published port p50 ${ms(r.published.p50)} / p99 ${ms(r.published.p99)} ms, ` +
                `direct p50 ${ms(r.direct.p50)} / p99 ${ms(r.direct.p99)} ms: ratios ${r.p50Ratio} / ${r.p99Ratio} (published port: p50 ${r.publishedP50Ratio})`,
        );
        // Goal from issue #5 (scenario 7): measured and reported; the issue asserts scenarios 1–6.
        results.set({
            key: "latency_p50_ratio",
            value: r.p50Ratio,
            unit: "×",
            goal: "≤ 1.5",
            pass: r.p50Ratio <= 1.5,
            command: `${CMD} latency`,
            note: "edge listener → VIP → HAProxy → task vs one task, both from the host over the bridge",
        });
        results.set({ key: "latency_p99_ratio", value: r.p99Ratio, unit: "×", goal: "report", pass: null, command: `${CMD} latency` });
        results.set({
            key: "latency_published_p50_ratio",
            value: r.publishedP50Ratio,
            unit: "×",
            goal: "report",
            pass: null,
            command: `${CMD} latency`,
            note: "through 127.0.0.1's published port: adds Docker's userland proxy (engine setting userland-proxy)",
        });
        results.detail("latency_ms", { edge: r.edge, published: r.published, direct: r.direct, rounds: r.rounds });
        expect(r.edge.p50).toBeGreaterThan(0);
    });
});

describe("day 2: an LB config change, as `pulumi up` runs it", () => {
    test("8. lb.advertIntervalSeconds doubled, replayed as the engine runs it, under load: one LB node at a time, each serving before the other goes; the VIP answers throughout, 0 failed", async () => {
        const p = plane();
        const from = p.current.vrrp;
        const change: VrrpSetting = { vrrpVersion: from.version as 2 | 3, advertIntervalSeconds: from.advertIntervalSeconds * 2 };
        // The deployed LB pair is the default graph's; the web version (test 4 rolled it) is not the LB's business.
        const beforeRun = await evaluateGraph(settings);
        const afterRun = await evaluateGraph(settings, change);
        const plan = planUpdate(stateOf(beforeRun), afterRun);
        log(`lb_config: plan ${plan.changedNames().join(", ")}`);
        const next = dataPlaneFromGraph(afterRun, settings);
        await p.buildImages(next);
        const load = new LoadSession({ url: p.current.webUrl, ...LOAD });
        await sleep(1000);
        const startedAt = performance.now();
        const report = await replayLbPlan({
            plane: p,
            plan,
            before: { run: beforeRun, spec: p.current },
            after: { run: afterRun, spec: next },
            settings,
            log,
        });
        await p.waitServing();
        const convergedMs = Math.round(performance.now() - startedAt);
        await sleep(2000);
        const sum = summarize(await load.stop());
        log(
            `lb_config: converged in ${convergedMs} ms; ${sum.failed}/${sum.requests} failed, longest gap ${Math.round(sum.longestGap.ms)} ms; ` +
                `most LB nodes missing at once: ${report.mostMissing}; VIP on ${await p.master()}`,
        );
        results.set({
            key: "day2_lb_config_failed",
            value: sum.failed,
            unit: "requests",
            goal: "0",
            pass: sum.failed === 0,
            command: `${CMD} "LB config change"`,
            note: `${LOAD.ratePerSecond} req/s through the edge while the plan ran (${sum.requests} requests)`,
        });
        results.set({
            key: "day2_lb_config_converge_ms",
            value: convergedMs,
            unit: "ms",
            goal: "report",
            pass: null,
            command: `${CMD} "LB config change"`,
        });
        results.set({
            key: "day2_lb_config_most_missing",
            value: report.mostMissing,
            unit: "members",
            goal: "≤ 1",
            pass: report.mostMissing <= 1,
            command: `${CMD} "LB config change"`,
            note: "LB containers not running (docker ps every 250 ms)",
        });
        results.detail("day2_lb_config", { steps: report.steps, failures: sum.failures, longestGapMs: Math.round(sum.longestGap.ms) });

        // Only the LB nodes and their ready gates change; each node is replaced, one at a time.
        expect(plan.changedNames().every((n) => /^lb-\d(-ready)?$/.test(n))).toBe(true);
        expect(report.steps.filter((x) => /^delete lb-\d#/.test(x.id))).toHaveLength(2);
        expect(report.mostMissing).toBe(1);
        expect(sum.failed).toBe(0);
        for (const lb of p.current.lbs) {
            const conf = await docker(["exec", lb.container.name, "cat", "/etc/keepalived/keepalived.conf"]);
            expect(conf).toContain(`advert_int ${change.advertIntervalSeconds}`);
        }
        expect(p.current.vrrp.advertIntervalSeconds).toBe(change.advertIntervalSeconds);
    });
});

describe("baseline: keepalived's defaults (VRRPv2, advert 1 s) through the program's config", () => {
    beforeAll(async () => {
        const next = await specFor(BASELINE);
        await plane().replaceLbs(next);
        log(`LB pair replaced: VRRPv${next.vrrp.version}, advert ${next.vrrp.advertIntervalSeconds} s`);
    }, 5 * 60_000);

    test("1b. hard kill of the MASTER with the baseline settings: gap measured (median of 3)", async () => {
        const p = plane();
        expect(p.current.vrrp).toEqual({ version: 2, advertIntervalSeconds: 1 });
        const runs = await trials(TRIALS, async () => {
            const t = await hardKillTrial(p, 7000);
            log(`hard kill (baseline): ${trialLine(t)}`);
            return t;
        });
        const gap = median(runs.map((t) => t.gapMs));
        results.set({
            key: "lb_hard_kill_gap_ms_baseline",
            value: gap,
            unit: "ms",
            goal: "report (keepalived defaults)",
            pass: null,
            command: `${CMD} "hard kill"`,
        });
        results.detail("lb_hard_kill_baseline_trials", runs);
        results.chart("1b-hard-kill", hardKillPanel("1b. docker kill of the MASTER, keepalived's defaults (VRRPv2, 1 s adverts)", runs));
        for (const t of runs) expect(t.to).toEqual([p.peerOf(t.from)]);
    });

    test(`soak: ${SOAK_SECONDS} s with every CPU saturated: no spurious VIP move (VRRPv2, advert 1 s)`, async () => {
        const r = await soakAndRecord("vrrp2");
        expect({ vipMoves: r.vipMoves, faults: r.faults, splitBrain: r.splitBrainSamples }).toEqual({
            vipMoves: 0,
            faults: 0,
            splitBrain: 0,
        });
    });
});

const soaks: Record<string, SoakResult> = {};
async function soakAndRecord(label: string): Promise<SoakResult> {
    const p = plane();
    const r = await soak(p, SOAK_SECONDS);
    soaks[`VRRPv${p.current.vrrp.version} advert ${p.current.vrrp.advertIntervalSeconds} s`] = r;
    log(
        `soak ${label}: ${r.vipMoves} VIP moves, ${r.faults} FAULTs, ${r.splitBrainSamples} split-brain samples, ` +
            `${r.failed}/${r.requests} failed, longest gap ${r.longestGapMs} ms, host idle ${Math.round(r.hostIdle * 100)} %`,
    );
    const total = Object.values(soaks).reduce((a, s) => a + s.vipMoves, 0);
    results.set({
        key: "lb_soak_spurious_moves",
        value: total,
        unit: "moves",
        goal: `0 in ${SOAK_SECONDS} s per VRRP setting, CPUs saturated`,
        pass: total === 0,
        command: `${CMD} soak`,
        note: `settings: ${Object.keys(soaks).join("; ")}`,
    });
    results.detail("lb_soak", soaks);
    return r;
}
