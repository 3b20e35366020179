// System tests of the data plane (issue #5): the LB pair, its DNS discovery and the edge, built from
// the program's graph and run as real containers; load through the edge while an LB node fails.
// Run: scripts/system-setup.sh && npm run test:system   (npm run bench also writes bench/results.*)
import { DataPlane } from "./dataplane";
import { dataPlaneFromGraph, DataPlaneSpec, evaluateGraph } from "./graph";
import { settingsFromEnv, VrrpSetting } from "./settings";
import { docker, removeSystemTestObjects, sleep } from "./docker";
import { LoadSession, percentile, STALL_REPORT_MS, summarize } from "./load";
import { replayLbPlan } from "./replay";
import { planUpdate, stateOf } from "../harness/engine";
import { ChartPanel } from "./chart";
import { BENCH, MetricInput, Results } from "./results";
import { Bound, ciText, Goal, goalText, valueText } from "./tables";
import { haproxyDeregistrationLagMs } from "../../render/haproxy";
import { METRICS_PATH_META, METRICS_SERVICE_PREFIX } from "../../render/prometheus";
import { loadConfig } from "../../app/server";
import { LivePrometheus, prometheusFromGraph, Series } from "./prometheus";
import { alertAfter, episodes, fireBoundMs, resolveBoundMs, resolveFloorMs, RuleTiming, withMargin } from "./alertTiming";
import { CatalogEntry } from "./catalog";
import { SeriesPanel } from "./chart";
import {
    BackendCrashResult,
    backendCrashTrial,
    backupComesBackTrial,
    FailoverTrial,
    gracefulStopTrial,
    hardKillTrial,
    haproxyDiesTrial,
    latencyTrial,
    LOAD,
    GracefulTrial,
    median,
    membershipTrials,
    RolloutResult,
    rolloutTrial,
    soak,
    SoakResult,
    trials,
} from "./scenarios";

const settings = settingsFromEnv();
const TRIALS = Number(process.env.SYSTEM_TEST_TRIALS ?? 3);
/** Membership adds and removals: the bench judges their p95, so it runs enough of them for one. */
const MEMBERSHIP_TRIALS = Number(process.env.SYSTEM_TEST_MEMBERSHIP_TRIALS ?? (BENCH ? 20 : 5));
const SOAK_SECONDS = Number(process.env.SYSTEM_TEST_SOAK_SECONDS ?? 60);
const LATENCY_ROUNDS = 6;
/** The baseline the issue asks for: keepalived's defaults (VRRPv2, advert 1 s), through the program's config. */
const BASELINE: VrrpSetting = { vrrpVersion: 2, advertIntervalSeconds: 1 };
const CMD = "npm run test:system -- -t";
/**
 * CI asserts correctness as the goal says it (0 failed, the VIP moved, nothing missing) and a
 * timing only within CI_MARGIN × its goal: a fresh-clone run on a loaded 2-core machine measured a
 * membership add at 1,044 ms against a 1,000 ms goal (typical 490–690 ms) — noise, not a
 * regression. The margin still catches one: keepalived's default timing instead of the program's
 * (3 s instead of 0.3 s for a hard kill), a DNS discovery that stopped working. Whether a figure
 * meets its goal is the bench's verdict (results.ts, check()).
 */
const CI_MARGIN = 3;
const within = (goal: number): Goal => ({ op: "<=", limit: goal });
const ciWithin = (goal: number): Bound => ({ op: "<=", limit: goal * CI_MARGIN });
const none = (): Goal => ({ op: "==", limit: 0 });
const all = (n: number): Goal => ({ op: "==", limit: n });
const ofTrials = (stat: string, n: number) => `${stat} of ${n} trial${n === 1 ? "" : "s"}`;

const results = new Results("dataplane", "tests/system/dataplane.test.ts", {
    ratePerSecond: LOAD.ratePerSecond,
    timeoutMs: LOAD.timeoutMs,
    retries: 0,
    connections: "kept alive to the edge (HTTPS); the edge opens one upstream connection per request",
    trials: TRIALS,
    membershipTrials: MEMBERSHIP_TRIALS,
    soakSeconds: SOAK_SECONDS,
    latencyRounds: LATENCY_ROUNDS,
    replicas: settings.replicas,
    ciTimingMargin: CI_MARGIN,
});
let dp: DataPlane | undefined;
/** The program's Prometheus beside the plane (issue #16, live proof): the graph's node, config and rules. */
let prom: LivePrometheus | undefined;
/** Scrape jobs and their target counts, as the catalog lists them (what Prometheus must be scraping). */
let scrapedJobs: Record<string, number> = {};
/** Wall clock of test 1's first fault: the VipMoved alerts of tests 1–3 are judged from there. */
let firstFailoverEpochMs: number | undefined;
const log = (msg: string) => process.stderr.write(`[system] ${new Date().toISOString()} ${msg}\n`);
const plane = (): DataPlane => {
    if (dp === undefined) throw new Error("the data plane was not created (see beforeAll)");
    return dp;
};
const live = (): LivePrometheus => {
    if (prom === undefined || prom.timings === undefined) throw new Error("Prometheus was not started (see beforeAll)");
    return prom;
};
/** Records a figure and prints it with its verdict. */
const record = (m: MetricInput): void => {
    const r = results.set(m);
    log(`${r.key} = ${valueText(r)} (${r.stat}): ${r.verdict}; goal ${goalText(r)}, CI asserts ${ciText(r)}`);
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
              .map((f) => `${f.error} at +${Math.round(f.atMs - t.faultAtMs)} ms (client stalled ${f.clientStallMs} ms)`)
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

/** Trials where the VIP went to the peer of the node that lost it (and only there). */
const movedToPeer = (p: DataPlane, runs: readonly FailoverTrial[]) =>
    runs.filter((t) => t.to.length === 1 && t.to[0] === p.peerOf(t.from)).length;

/** `<scenario>_vip_moved`: in how many trials the peer took the VIP; the goal is every trial. */
function recordVipMoved(scenario: string, p: DataPlane, runs: readonly FailoverTrial[], command: string): void {
    record({
        key: `${scenario}_vip_moved`,
        what: "trials where the peer took the VIP",
        value: movedToPeer(p, runs),
        unit: "trials",
        stat: `count of ${runs.length}`,
        goal: all(runs.length),
        command,
    });
}

async function specFor(vrrp?: VrrpSetting, webVersion?: string): Promise<DataPlaneSpec> {
    return dataPlaneFromGraph(await evaluateGraph(settings, vrrp, webVersion), settings);
}

beforeAll(async () => {
    // In bench mode: refuses a dirty tree before anything is measured.
    results.begin();
    const run = await evaluateGraph(settings);
    const spec = dataPlaneFromGraph(run, settings);
    dp = new DataPlane(spec);
    await dp.create(log);
    await results.measureVersions(spec.lbs[0].container.name);
    // What each LB node's Consul agent registers from its own config (metrics.json: metrics-haproxy,
    // metrics-keepalived). The swarm nodes' metrics-docker is left out: their engines do not run here.
    for (const lb of spec.lbs) dp.catalog.registerAgentServices(lb.consul, lb.agentServices);
    scrapedJobs = jobsOf(dp.catalog.catalog());
    prom = new LivePrometheus(prometheusFromGraph(run, settings), dp.catalog, spec.web.image);
    await prom.create(scrapedJobs, log);
    // Two more scrapes of every target before test 1: a rate() over the first failover (its picture)
    // needs samples from before it.
    await prom.waitTargets(scrapedJobs, Date.now() + 2 * prom.timings!.intervals.scrapeMs, 60_000);
}, 10 * 60_000);

/** Scrape jobs and their target counts, as the program's relabelling makes them from the catalog (render/prometheus.ts). */
function jobsOf(entries: readonly CatalogEntry[]): Record<string, number> {
    const jobs: Record<string, number> = {};
    for (const e of entries) {
        if (!(e.ServiceMeta[METRICS_PATH_META] ?? "").startsWith("/")) continue;
        const job = e.ServiceName.startsWith(METRICS_SERVICE_PREFIX) ? e.ServiceName.slice(METRICS_SERVICE_PREFIX.length) : e.ServiceName;
        jobs[job] = (jobs[job] ?? 0) + 1;
    }
    return jobs;
}

/** A loaded rule by name (the program's rules as Prometheus runs them). */
function rule(name: string): RuleTiming {
    const r = live().timings!.rules[name];
    if (r === undefined) throw new Error(`Prometheus has no rule ${name}`);
    return r;
}

const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;
/** Where a fire bound comes from, for the tables. */
function fireSource(r: RuleTiming): string {
    const t = live().timings!.intervals;
    return `${r.name}: for ${secs(r.forMs)} + scrape ${secs(t.scrapeMs)} + evaluation ${secs(t.evalMs)}`;
}
function resolveSource(r: RuleTiming): string {
    const t = live().timings!.intervals;
    return `${r.name}: window ${secs(r.windowMs)} + scrape ${secs(t.scrapeMs)} + evaluation ${secs(t.evalMs)}`;
}

/** Until `probe` holds or `deadlineEpochMs` passes (then quietly: the figures say what was missed). */
async function until(probe: () => Promise<boolean>, deadlineEpochMs: number, everyMs = 1000): Promise<void> {
    for (;;) {
        if (await probe().catch(() => false)) return;
        if (Date.now() > deadlineEpochMs) return;
        await sleep(everyMs);
    }
}

/** Firing samples of `selector`, per series, from `fromMs` until now: [labels, timestamps]. */
async function firingSamples(selector: string, fromMs: number): Promise<{ labels: Record<string, string>; ts: number[] }[]> {
    const now = Date.now();
    return (await live().samples(selector, fromMs, now)).map((x: Series) => ({ labels: { ...x.labels }, ts: x.points.map((q) => q[0]) }));
}

/** A range query as chart series: label → [seconds since `fromMs`, value]. */
async function chartSeries(expr: string, label: (l: Record<string, string>) => string, fromMs: number, toMs: number) {
    const out: Record<string, [number, number][]> = {};
    for (const x of await live().range(expr, fromMs, toMs, 1000)) {
        const key = label(x.labels);
        out[key] = [...(out[key] ?? []), ...x.points.map(([t, v]) => [(t - fromMs) / 1000, v] as [number, number])];
    }
    return out;
}

afterAll(async () => {
    // SYSTEM_TEST_KEEP=1 leaves the containers running for a look (the next run removes them first).
    dp?.catalog.stop();
    if (process.env.SYSTEM_TEST_KEEP === "1") log(`SYSTEM_TEST_KEEP=1: containers ${settings.namePrefix}* left running`);
    else {
        await removeSystemTestObjects(settings.namePrefix);
        dp?.removeLocalFiles();
        prom?.removeLocalFiles();
    }
    if (BENCH) {
        results.write();
        log("wrote bench/results.json (npm run bench:tables writes bench/results.md and the READMEs' tables from it)");
    }
}, 5 * 60_000);

/**
 * Live proof, hard kill: in every trial Prometheus's VipMoved fires for the node that took the VIP,
 * within the rule's `for:` + one scrape + one evaluation of keepalived's MASTER entry (CI: the
 * intervals × CI_MARGIN). A trial whose new MASTER was still firing from an earlier move counts as
 * fired but gives no time.
 */
async function vipMovedFires(p: DataPlane, runs: readonly FailoverTrial[]): Promise<void> {
    const t = live().timings!;
    const r = rule("VipMoved");
    const ciFire = withMargin(r.forMs, t.intervals, CI_MARGIN);
    const moves = runs.map((x) => ({
        node: x.to.length === 1 ? p.lb(x.to[0]).consul.node : "?",
        atMs: x.takeoverMs === null ? NaN : x.faultEpochMs + x.takeoverMs,
    }));
    const measured = moves.filter((m) => !Number.isNaN(m.atMs));
    const selector = 'ALERTS{alertname="VipMoved",alertstate="firing"}';
    const from = Math.min(...runs.map((x) => x.faultEpochMs)) - 3 * 60_000;
    const after = async () => {
        const series = await firingSamples(selector, from);
        return moves.map((m) => ({
            ...m,
            ...alertAfter(
                series.filter((x) => x.labels.node === m.node).flatMap((x) => x.ts),
                m.atMs,
                t.intervals.evalMs,
                Date.now(),
            ),
        }));
    };
    // The last move may be younger than the CI bound: wait for it (no longer).
    await until(
        async () => (await after()).every((a) => a.firstAfterMs !== null),
        Math.max(...measured.map((m) => m.atMs), 0) + ciFire + 1000,
    );
    const seen = await after();
    for (const a of seen)
        log(
            `VipMoved for ${a.node}: ${a.firstAfterMs === null ? "NOT firing" : a.fresh ? `fired ${a.firedMs} ms after the MASTER entry` : `already firing (an earlier move), sample ${a.firstAfterMs} ms after`}`,
        );
    const fresh = seen.filter((a) => a.fresh);
    const command = `${CMD} "hard kill"`;
    record({
        key: "obs_vip_moved_fired",
        what: "Prometheus: trials where VipMoved fired for the new MASTER (or still fired from a move before)",
        value: seen.filter((a) => a.firstAfterMs !== null && a.firstAfterMs <= ciFire).length,
        unit: "trials",
        stat: `count of ${runs.length}`,
        goal: all(runs.length),
        command,
    });
    record({
        key: "obs_vip_moved_fire_ms",
        what: "Prometheus: keepalived's MASTER entry on the peer → VipMoved fires",
        value: fresh.length === 0 || fresh.some((a) => a.firedMs === null) ? null : Math.max(...fresh.map((a) => a.firedMs!)),
        trials: fresh.map((a) => a.firedMs),
        unit: "ms",
        stat: `worst of ${fresh.length} trial(s) where it was not firing already`,
        goal: { op: "<=", limit: fireBoundMs(r, t.intervals), source: fireSource(r) },
        ci: { op: "<=", limit: ciFire },
        command,
        note: "ALERTS samples (evaluation time) against the MASTER entry in keepalived's log",
    });
    results.detail("obs_vip_moved_fires", seen);
    results.check("obs_vip_moved_fired", "obs_vip_moved_fire_ms");
}

/** The scraped series of the first hard kill, until the second: the picture of one failover. */
async function failoverChart(runs: readonly FailoverTrial[]): Promise<void> {
    const first = runs[0];
    if (first === undefined) return;
    const from = first.faultEpochMs - 10_000;
    const to = runs.length > 1 ? runs[1].faultEpochMs - 500 : Math.min(Date.now(), first.faultEpochMs + 40_000);
    const at = (epochMs: number) => epochMs - from;
    const peer = first.to.length === 1 ? plane().lb(first.to[0]).consul.node : "?";
    const alerts = await live().samples('ALERTS{alertname="VipMoved",alertstate="firing"}', first.faultEpochMs, to);
    const fired = alerts.find((x) => x.labels.node === peer)?.points[0]?.[0];
    const markers = [
        { atMs: at(first.faultEpochMs), label: `docker kill ${first.from}` },
        ...(fired === undefined ? [] : [{ atMs: at(fired), label: "VipMoved fires" }]),
    ];
    const node = (l: Record<string, string>) => l.node ?? "?";
    const panels: SeriesPanel[] = [
        {
            title: "keepalived_vrrp_state (the notify hook's file, /keepalived/metrics)",
            ylabel: "state",
            series: await chartSeries("keepalived_vrrp_state", node, from, to),
            markers,
            yrange: [-0.2, 4.2],
            yticks: { 0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 4: "STOP" },
        },
        {
            title: 'requests/s through each LB node: rate(haproxy_frontend_http_requests_total{proxy="web"}[10s])',
            ylabel: "requests/s",
            series: await chartSeries('sum by (node) (rate(haproxy_frontend_http_requests_total{proxy="web"}[10s]))', node, from, to),
            markers,
        },
        {
            title: 'up{job="haproxy"}: the killed node stops answering scrapes until it is started again',
            ylabel: "up",
            series: await chartSeries('up{job="haproxy"}', node, from, to),
            markers,
            yrange: [-0.1, 1.1],
        },
        {
            title: 'ALERTS{alertname="VipMoved", alertstate="firing"}',
            ylabel: "firing",
            series: await chartSeries('ALERTS{alertname="VipMoved",alertstate="firing"}', node, from, to),
            markers,
            yrange: [-0.1, 1.1],
        },
    ];
    const png = results.seriesChart(
        "prometheus-failover.png",
        `docker kill of the MASTER (${first.from}) as Prometheus scraped it (every ${secs(live().timings!.intervals.scrapeMs)}); seconds from 10 s before the kill`,
        panels,
    );
    log(`failover chart: ${png}`);
}

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
    test(`1. hard kill (docker kill) of the MASTER, ${TRIALS} trials: the peer takes the VIP every time; median gap judged against ≤ 0.5 s (CI: ≤ ${(500 * CI_MARGIN) / 1000} s)`, async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await hardKillTrial(p, 4000);
            log(`hard kill: ${trialLine(t)}`);
            // VipMoved is increase() of the new MASTER's transition counter: Prometheus sees a move only
            // with a sample from before it. The killed node's counters restart from 0 with it: the next
            // trial moves the VIP back onto it only once Prometheus has scraped them (≤ one interval).
            await live().waitTargets(scrapedJobs, Date.now(), 30_000);
            return t;
        });
        firstFailoverEpochMs = runs[0]?.faultEpochMs;
        const command = `${CMD} "hard kill"`;
        const stat = ofTrials("median", runs.length);
        record({
            key: "lb_hard_kill_gap_ms",
            what: "longest time without an answer",
            value: median(runs.map((t) => t.gapMs)),
            trials: runs.map((t) => t.gapMs),
            unit: "ms",
            stat,
            goal: within(500),
            ci: ciWithin(500),
            command,
        });
        record({
            key: "lb_hard_kill_failed",
            what: "failed requests",
            value: median(runs.map((t) => t.failed)),
            trials: runs.map((t) => t.failed),
            unit: "requests",
            stat,
            command,
            note: "in-flight requests on the killed node are lost",
        });
        recordVipMoved("lb_hard_kill", p, runs, command);
        results.detail("lb_hard_kill_trials", runs);
        results.chart("1-hard-kill", hardKillPanel("1. docker kill of the MASTER, the program's VRRP (v3, 0.1 s adverts)", runs));
        results.check("lb_hard_kill_gap_ms", "lb_hard_kill_failed", "lb_hard_kill_vip_moved");
        await vipMovedFires(p, runs);
        await failoverChart(runs);
    });

    test(`2. graceful stop (docker stop) of the MASTER, ${TRIALS} trials: 0 failed, the peer takes the VIP; its return: ≤ 1 VIP move, 0 failed; median gap judged against ≤ 0.2 s (CI: ≤ ${(200 * CI_MARGIN) / 1000} s)`, async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await gracefulStopTrial(p);
            log(
                `graceful stop: ${trialLine(t)}; return in ${t.returnMs} ms: ${t.returnVipMoves} VIP move(s), ${t.returnFailed}/${t.returnRequests} failed`,
            );
            return t;
        });
        const command = `${CMD} "graceful stop"`;
        const sum = (f: (t: GracefulTrial) => number) => runs.reduce((a, t) => a + f(t), 0);
        record({
            key: "lb_graceful_gap_ms",
            what: "longest time without an answer",
            value: median(runs.map((t) => t.gapMs)),
            trials: runs.map((t) => t.gapMs),
            unit: "ms",
            stat: ofTrials("median", runs.length),
            goal: within(200),
            ci: ciWithin(200),
            command,
        });
        record({
            key: "lb_graceful_failed",
            what: "failed requests",
            value: sum((t) => t.failed),
            of: sum((t) => t.requests),
            trials: runs.map((t) => t.failed),
            unit: "requests",
            stat: `sum over ${runs.length} trials`,
            goal: none(),
            command,
        });
        recordVipMoved("lb_graceful", p, runs, command);
        record({
            key: "lb_graceful_return_vip_moves",
            what: "VIP moves when the stopped node returns",
            value: Math.max(...runs.map((t) => t.returnVipMoves)),
            trials: runs.map((t) => t.returnVipMoves),
            unit: "moves",
            stat: `worst of ${runs.length} trials`,
            goal: within(1),
            command,
        });
        record({
            key: "lb_graceful_return_failed",
            what: "failed requests while it returns",
            value: sum((t) => t.returnFailed),
            of: sum((t) => t.returnRequests),
            trials: runs.map((t) => t.returnFailed),
            unit: "requests",
            stat: `sum over ${runs.length} trials`,
            goal: none(),
            command,
        });
        results.detail("lb_graceful_trials", runs);
        results.check(
            "lb_graceful_gap_ms",
            "lb_graceful_failed",
            "lb_graceful_vip_moved",
            "lb_graceful_return_vip_moves",
            "lb_graceful_return_failed",
        );
    });

    test(`3. the MASTER's HAProxy dies (keepalived lives), ${TRIALS} trials: the VIP moves to the peer every time; gap reported`, async () => {
        const p = plane();
        const runs = await trials(TRIALS, async () => {
            const t = await haproxyDiesTrial(p);
            log(`haproxy dies: ${trialLine(t)}`);
            return t;
        });
        const command = `${CMD} "HAProxy dies"`;
        recordVipMoved("lb_haproxy_dies", p, runs, command);
        record({
            key: "lb_haproxy_dies_gap_ms",
            what: "longest time without an answer",
            value: median(runs.map((t) => t.gapMs)),
            trials: runs.map((t) => t.gapMs),
            unit: "ms",
            stat: ofTrials("median", runs.length),
            command,
        });
        record({
            key: "lb_haproxy_dies_failed",
            what: "failed requests",
            value: median(runs.map((t) => t.failed)),
            trials: runs.map((t) => t.failed),
            unit: "requests",
            stat: ofTrials("median", runs.length),
            command,
        });
        results.detail("lb_haproxy_dies_trials", runs);
        results.check("lb_haproxy_dies_vip_moved", "lb_haproxy_dies_gap_ms", "lb_haproxy_dies_failed");
    });

    test.each([
        ["1c", "restart" as const, "docker restart", "lb_restarted_node"],
        ["1d", "stop-start" as const, "docker stop, 3 s, docker start", "lb_stopped_node"],
    ])(
        "%s. the BACKUP comes back (%s: %s): its Consul agent runs again inside it and the node serves every backend within 20 s, 0 failed",
        async (_id, how, _what, key) => {
            const r = await backupComesBackTrial(plane(), how);
            log(
                `${how} of ${r.node}: ${r.servesAfterMs === null ? `serves NO backend after ${r.boundMs} ms` : `serves every backend after ${r.servesAfterMs} ms`}, ` +
                    `its Consul agent ${r.agentRunning ? "running again" : "NOT running"}, ${r.failed}/${r.requests} failed through the edge meanwhile`,
            );
            const command = `${CMD} "comes back"`;
            record({
                key: `${key}_serves_ms`,
                what: "until it serves every backend",
                value: r.servesAfterMs,
                unit: "ms",
                stat: "one run",
                goal: { ...within(r.boundMs), source: "the scenario's bound" },
                command,
                note: "null: it did not serve within the bound",
            });
            record({
                key: `${key}_agent_back`,
                what: "its Consul agent runs again",
                value: r.agentRunning ? 1 : 0,
                unit: "",
                stat: "one run",
                goal: all(1),
                command,
            });
            record({
                key: `${key}_failed`,
                what: "failed requests meanwhile",
                value: r.failed,
                of: r.requests,
                unit: "requests",
                stat: "one run",
                goal: none(),
                command,
            });
            results.check(`${key}_serves_ms`, `${key}_agent_back`, `${key}_failed`);
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
        const loadStartEpochMs = Date.now();
        const r = await rolloutTrial(p, { spec: next.web.spec, image: next.web.image });
        log(
            `rollout ${r.from} → ${r.to}: ${r.ms} ms, ${r.failed}/${r.requests} failed, longest gap ${r.longestGapMs} ms, ` +
                `answers ${JSON.stringify(r.answersByVersion)}, last second: ${r.finalVersions.join(",")}; ` +
                `load generator stalls ≥ ${STALL_REPORT_MS} ms: ${r.clientStalls.count} (longest ${r.clientStalls.longestMs} ms)` +
                (r.failures.length > 0
                    ? ` [failures: ${r.failures
                          .slice(0, 5)
                          .map((f) => `${f.error} at ${Math.round(f.atMs)} ms (client stalled ${f.clientStallMs} ms)`)
                          .join(", ")}]`
                    : ""),
        );
        const command = `${CMD} "rolling update"`;
        record({
            key: "rollout_failed",
            what: "failed requests",
            value: r.failed,
            of: r.requests,
            unit: "requests",
            stat: "one run",
            goal: none(),
            command,
        });
        record({
            key: "rollout_ms",
            what: "first new task → last old task gone",
            value: r.ms,
            unit: "ms",
            stat: "one run",
            command,
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
        results.check("rollout_failed", "rollout_ms");
        await rolloutSeries(r, loadStartEpochMs);
    });

    test("5. a web task crashes (SIGKILL): 0 failed; HAProxy marks it down, judged against ≤ 1 s", async () => {
        const r = await backendCrashTrial(plane());
        log(
            `backend crash of ${r.task}: ${r.failed}/${r.requests} failed, HAProxy DOWN after ${r.haproxyDetectMs ?? "?"} ms, ` +
                `Consul check after ${r.consulDetectMs ?? "?"} ms` +
                (r.failures.length > 0 ? ` [failures: ${r.failures.map((f) => `${f.error} at ${Math.round(f.atMs)} ms`).join(", ")}]` : ""),
        );
        const command = `${CMD} "crashes"`;
        record({
            key: "backend_crash_failed",
            what: "failed requests",
            value: r.failed,
            of: r.requests,
            unit: "requests",
            stat: "one run",
            goal: none(),
            command,
        });
        record({
            key: "backend_crash_detect_ms",
            what: "until HAProxy marks the server DOWN",
            value: r.haproxyDetectMs,
            unit: "ms",
            stat: "one run",
            goal: { ...within(1000), source: "checks: inter 500 ms, then fastinter 250 ms, fall 2" },
            ci: ciWithin(1000),
            command,
            note: `the Consul stand-in's check: ${r.consulDetectMs ?? "not seen"} ms`,
        });
        results.detail("backend_crash", r);
        results.check("backend_crash_failed", "backend_crash_detect_ms");
        await backendDownAlert(plane(), r);
    });

    test(`6. membership, ${MEMBERSHIP_TRIALS} tasks joining and leaving: each takes traffic after passing in Consul (p95 judged against ≤ 1 s) and gets none after the deregistration lag; 0 failed`, async () => {
        const r = await membershipTrials(plane(), MEMBERSHIP_TRIALS);
        const lag = haproxyDeregistrationLagMs();
        for (const t of r.trials)
            log(
                `membership of ${t.task}: first answer ${t.addMs ?? "never"} ms after it passed (catalog → DNS ${t.dnsMs ?? "?"} ms, ` +
                    `DNS → HAProxy on ${t.firstLbNode ?? "?"} ${t.resolverMs ?? "?"} ms, → first answer ${t.routeMs ?? "?"} ms); ` +
                    `last request ${t.removeMs ?? "none after it left"} ms after it left`,
            );
        log(
            `membership: ${r.failed}/${r.requests} failed; load generator stalls ≥ ${STALL_REPORT_MS} ms: ${r.clientStalls.count} (longest ${r.clientStalls.longestMs} ms)`,
        );
        const command = `${CMD} membership`;
        const n = r.trials.length;
        const adds = r.trials.map((t) => t.addMs);
        const removes = r.trials.map((t) => t.removeMs);
        // A trial without a figure counts against membership_measured; the percentiles are over the measured ones.
        const measured = (xs: readonly (number | null)[]) => xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
        const p = (xs: readonly (number | null)[], q: number) => (measured(xs).length > 0 ? percentile(measured(xs), q) : null);
        const lagGoal: Goal = { op: "<=", limit: lag, source: "haproxyDeregistrationLagMs()" };
        record({
            key: "membership_measured",
            what: "trials with both the add and the removal measured",
            value: r.trials.filter((t) => t.addMs !== null && t.removeMs !== null).length,
            unit: "trials",
            stat: `count of ${n}`,
            goal: all(n),
            command,
        });
        record({
            key: "membership_add_p95_ms",
            what: "passing in Consul → first answer",
            value: p(adds, 0.95),
            trials: adds,
            unit: "ms",
            stat: ofTrials("p95", n),
            goal: within(1000),
            ci: ciWithin(1000),
            command,
        });
        record({
            key: "membership_add_ms",
            what: "passing in Consul → first answer",
            value: p(adds, 0.5),
            unit: "ms",
            stat: ofTrials("median", n),
            command,
        });
        record({
            key: "membership_remove_p95_ms",
            what: "deregistered → last request sent to it",
            value: p(removes, 0.95),
            trials: removes,
            unit: "ms",
            stat: ofTrials("p95", n),
            goal: lagGoal,
            ci: ciWithin(lag),
            command,
        });
        record({
            key: "membership_remove_ms",
            what: "deregistered → last request sent to it",
            value: p(removes, 0.5),
            unit: "ms",
            stat: ofTrials("median", n),
            command,
        });
        record({
            key: "membership_failed",
            what: "failed requests",
            value: r.failed,
            of: r.requests,
            unit: "requests",
            stat: `all ${n} trials`,
            goal: none(),
            command,
        });
        results.detail("membership", r);
        results.check(
            "membership_measured",
            "membership_add_p95_ms",
            "membership_add_ms",
            "membership_remove_p95_ms",
            "membership_remove_ms",
            "membership_failed",
        );
    });

    test(`7. latency through edge → VIP → HAProxy against a task directly, ${LATENCY_ROUNDS} interleaved rounds: p50 ratio judged against ≤ 1.5 (CI: ≤ ${(15 * CI_MARGIN) / 10})`, async () => {
        const r = await latencyTrial(plane(), LATENCY_ROUNDS);
        const ms = (x: number) => Math.round(x * 100) / 100;
        log(
            `latency (${r.rounds} interleaved rounds): edge p50 ${ms(r.edge.p50)} / p99 ${ms(r.edge.p99)} ms, ` +
                `published port p50 ${ms(r.published.p50)} / p99 ${ms(r.published.p99)} ms, ` +
                `direct p50 ${ms(r.direct.p50)} / p99 ${ms(r.direct.p99)} ms: ratios ${r.p50Ratio} / ${r.p99Ratio} (published port: p50 ${r.publishedP50Ratio})`,
        );
        const command = `${CMD} latency`;
        const stat = `over ${r.rounds} interleaved rounds`;
        record({
            key: "latency_p50_ratio",
            what: "p50 ratio, edge listener → VIP → HAProxy → task vs one task",
            value: r.p50Ratio,
            unit: "×",
            stat,
            goal: { op: "<=", limit: 1.5 },
            ci: { op: "<=", limit: 1.5 * CI_MARGIN },
            command,
            note: "both from the host over the bridge",
        });
        record({ key: "latency_p99_ratio", what: "p99 ratio, the same paths", value: r.p99Ratio, unit: "×", stat, command });
        record({
            key: "latency_published_p50_ratio",
            what: "p50 ratio through 127.0.0.1's published port",
            value: r.publishedP50Ratio,
            unit: "×",
            stat,
            command,
            note: "adds Docker's userland proxy (engine setting userland-proxy)",
        });
        results.detail("latency_ms", { edge: r.edge, published: r.published, direct: r.direct, rounds: r.rounds });
        results.check("latency_p50_ratio", "latency_p99_ratio", "latency_published_p50_ratio");
    });
});

describe("live proof: Prometheus beside the data plane (issue #16)", () => {
    test("7b. every VipMoved alert of tests 1–3 resolves once its last move has left the rule's window, not before", async () => {
        const p = plane();
        const t = live().timings!;
        const r = rule("VipMoved");
        if (firstFailoverEpochMs === undefined) throw new Error('test 1 did not run (run it too: -t "hard kill|7b")');
        const since = firstFailoverEpochMs;
        // Every MASTER entry since test 1 (keepalived's logs), by the node label Prometheus gives it.
        const moves = (await p.masterEntries(since - 1000)).map((m) => ({ node: p.lb(m.node).consul.node, atMs: m.atEpochMs }));
        if (moves.length === 0) throw new Error("no VIP move since test 1");
        const lastMove = Math.max(...moves.map((m) => m.atMs));
        const ciResolve = withMargin(r.windowMs, t.intervals, CI_MARGIN);
        const waitFrom = Date.now();
        await until(
            async () => !(await live().alerts()).some((a) => a.labels.alertname === r.name),
            lastMove + ciResolve + 2 * t.intervals.evalMs,
            2000,
        );
        // An episode counts as resolved once its next evaluation is overdue (episodes()): let it be.
        if (Date.now() - waitFrom > 1000) await sleep(2 * t.intervals.evalMs + 1000);
        const now = Date.now();
        const series = await firingSamples(`ALERTS{alertname="${r.name}",alertstate="firing"}`, since - 3 * 60_000);
        const found = series.flatMap((x) =>
            episodes(x.ts, t.intervals.evalMs, now)
                .filter((e) => e.lastMs >= since)
                .map((e) => {
                    const mine = moves.filter((m) => m.node === x.labels.node && m.atMs <= (e.resolvedMs ?? now));
                    const last = mine.length > 0 ? Math.max(...mine.map((m) => m.atMs)) : null;
                    return {
                        node: x.labels.node,
                        firedAt: new Date(e.startMs).toISOString(),
                        resolvedAfterLastMoveMs: e.resolvedMs === null || last === null ? null : e.resolvedMs - last,
                    };
                }),
        );
        for (const f of found)
            log(
                `VipMoved for ${f.node} from ${f.firedAt}: ${f.resolvedAfterLastMoveMs === null ? "NOT resolved" : `resolved ${f.resolvedAfterLastMoveMs} ms after its last move`}`,
            );
        const values = found.map((f) => f.resolvedAfterLastMoveMs);
        record({
            key: "obs_vip_moved_resolve_ms",
            what: "Prometheus: the node's last MASTER entry → its VipMoved resolves",
            value: found.length === 0 || values.some((v) => v === null) ? null : Math.max(...(values as number[])),
            trials: values,
            unit: "ms",
            stat: `worst of ${found.length} firing episode(s), ${moves.length} moves in tests 1–3`,
            goal: { op: "<=", limit: resolveBoundMs(r, t.intervals), source: resolveSource(r) },
            ci: { op: "<=", limit: ciResolve },
            command: `${CMD} "hard kill|7b"`,
            note: `never before the window less one scrape: ${resolveFloorMs(r, t.intervals)} ms`,
        });
        results.detail("obs_vip_moved_episodes", found);
        results.check("obs_vip_moved_resolve_ms");
        // Not before the window: the alert is held by the rule's range, not by a scrape that came late.
        for (const v of values) expect(v ?? Infinity).toBeGreaterThanOrEqual(resolveFloorMs(r, t.intervals) - 1000);
    });
});

/**
 * Live proof, backend crash: on each LB node that marked the crashed task's server DOWN, Prometheus's
 * BackendDown for that server fires within `for:` + one scrape + one evaluation of the DOWN (HAProxy's
 * log), and resolves once the DOWN has left the rule's window (the task was replaced meanwhile).
 */
async function backendDownAlert(p: DataPlane, crash: BackendCrashResult): Promise<void> {
    const t = live().timings!;
    const r = rule("BackendDown");
    // Each LB node's first DOWN of the crashed task's server.
    const downs = p.current.lbs
        .map((lb) => crash.downs.filter((d) => d.lb === lb.logical).sort((a, b) => a.atEpochMs - b.atEpochMs)[0])
        .filter((d) => d !== undefined)
        .map((d) => ({ ...d, node: p.lb(d.lb).consul.node }));
    const ciFire = withMargin(r.forMs, t.intervals, CI_MARGIN);
    const ciResolve = withMargin(r.windowMs, t.intervals, CI_MARGIN);
    const servers = new Set(downs.map((d) => d.server));
    const lastDown = Math.max(0, ...downs.map((d) => d.atEpochMs));
    await until(
        async () => !(await live().alerts()).some((a) => a.labels.alertname === r.name && servers.has(a.labels.server)),
        lastDown + ciResolve + 2 * t.intervals.evalMs,
        2000,
    );
    // An episode counts as resolved once its next evaluation is overdue (episodes()): let it be.
    await sleep(2 * t.intervals.evalMs + 1000);
    const series = await firingSamples(`ALERTS{alertname="${r.name}",alertstate="firing"}`, crash.killEpochMs - 3 * 60_000);
    const now = Date.now();
    const seen = downs.map((d) => ({
        ...d,
        ...alertAfter(
            series.filter((x) => x.labels.node === d.node && x.labels.server === d.server).flatMap((x) => x.ts),
            d.atEpochMs,
            t.intervals.evalMs,
            now,
        ),
    }));
    for (const a of seen)
        log(
            `BackendDown for ${a.server} on ${a.node}: ${a.firedMs === null ? (a.fresh ? "did NOT fire" : "was already firing before the crash") : `fired ${a.firedMs} ms after HAProxy's DOWN`}, ` +
                `${a.resolvedMs === null ? "NOT resolved" : `resolved ${a.resolvedMs} ms after it`}`,
        );
    const worst = (xs: (number | null)[]) => (xs.length === 0 || xs.some((x) => x === null) ? null : Math.max(...(xs as number[])));
    const command = `${CMD} "crashes"`;
    const note = `${seen.length} LB node(s) marked ${[...servers].join(", ")} DOWN`;
    record({
        key: "obs_backend_down_fire_ms",
        what: "Prometheus: HAProxy marks the crashed task's server DOWN → BackendDown fires",
        value: worst(seen.map((a) => a.firedMs)),
        trials: seen.map((a) => a.firedMs),
        unit: "ms",
        stat: `worst of ${seen.length} LB nodes`,
        goal: { op: "<=", limit: fireBoundMs(r, t.intervals), source: fireSource(r) },
        ci: { op: "<=", limit: ciFire },
        command,
        note,
    });
    record({
        key: "obs_backend_down_resolve_ms",
        what: "Prometheus: the DOWN → BackendDown resolves (the task replaced, the DOWN out of the window)",
        value: worst(seen.map((a) => a.resolvedMs)),
        trials: seen.map((a) => a.resolvedMs),
        unit: "ms",
        stat: `worst of ${seen.length} LB nodes`,
        goal: { op: "<=", limit: resolveBoundMs(r, t.intervals), source: resolveSource(r) },
        ci: { op: "<=", limit: ciResolve },
        command,
        note: `never before the window less one scrape: ${resolveFloorMs(r, t.intervals)} ms`,
    });
    results.detail("obs_backend_down", seen);
    // An LB node that logged no DOWN has nothing to judge; none at all proves nothing.
    expect(seen.length).toBeGreaterThan(0);
    results.check("obs_backend_down_fire_ms", "obs_backend_down_resolve_ms");
    for (const a of seen) expect(a.resolvedMs ?? Infinity).toBeGreaterThanOrEqual(resolveFloorMs(r, t.intervals) - 1000);
}

/**
 * Requests/s answered by each version, from the apps' counters: label version → [seconds since
 * `fromMs`, requests/s] at 1 s steps. Each task's rate goes to the version of the web_build_info its
 * target shows at that step (the newest series when two overlap: a reused port).
 */
async function requestsByVersion(job: string, fromMs: number, toMs: number): Promise<Record<string, [number, number][]>> {
    const rates = await live().range(`sum by (instance) (rate(http_requests_total{job="${job}",route="/"}[10s]))`, fromMs, toMs, 1000);
    const infos = await live().range(`web_build_info{job="${job}"}`, fromMs, toMs, 1000);
    const firstOf = (x: Series) => x.points[0]?.[0] ?? Infinity;
    const versionAt = (instance: string, t: number): string | undefined =>
        infos.filter((x) => x.labels.instance === instance && x.points.some((q) => q[0] === t)).sort((a, b) => firstOf(b) - firstOf(a))[0]
            ?.labels.version;
    const sums = new Map<string, Map<number, number>>();
    for (const r of rates) {
        for (const [t, v] of r.points) {
            const version = versionAt(r.labels.instance ?? "", t);
            if (version === undefined) continue;
            const perStep = sums.get(version) ?? new Map<number, number>();
            perStep.set(t, (perStep.get(t) ?? 0) + v);
            sums.set(version, perStep);
        }
    }
    return Object.fromEntries(
        [...sums].map(([version, perStep]) => [
            version,
            [...perStep].sort((a, b) => a[0] - b[0]).map(([t, v]) => [(t - fromMs) / 1000, v] as [number, number]),
        ]),
    );
}

/**
 * Live proof, rollout: Prometheus scraped every task of the old version before the first new task
 * registered and every task of the new one after the last old task left; requests were counted by
 * both versions during the load. Reported: how long after the catalog changed the series followed.
 */
async function rolloutSeries(r: RolloutResult, loadStartEpochMs: number): Promise<void> {
    const p = plane();
    const t = live().timings!;
    const job = loadConfig(p.current.web.spec.env ?? {}).serviceName;
    const events = p.catalog.events.filter((e) => e.atEpochMs >= loadStartEpochMs && e.serviceName === job);
    const firstNew = Math.min(...events.filter((e) => e.event === "register").map((e) => e.atEpochMs));
    const lastOld = Math.max(...events.filter((e) => e.event === "deregister").map((e) => e.atEpochMs));
    // A target that left the catalog is dropped at the next discovery refresh; its series end with
    // staleness markers one to two scrape intervals later.
    const settled = lastOld + t.sdRefreshMs + 2 * t.intervals.scrapeMs + 1000;
    if (Date.now() < settled) await sleep(settled - Date.now());
    const byVersion = async (expr: string, atMs?: number) =>
        Object.fromEntries((await live().query(expr, atMs)).map((x) => [x.labels.version ?? "?", x.value]));
    const tasks = `count by (version) (web_build_info{job="${job}"})`;
    const before = await byVersion(tasks, firstNew - 1);
    const after = await byVersion(tasks);
    // Requests by the version that answered them: each task's request rate, attributed at each 1 s
    // step to the version its web_build_info says then (a new task may bind the port an old one had,
    // so a PromQL join on instance can meet two versions at once), summed over the load.
    const perSecond = await requestsByVersion(job, loadStartEpochMs - 5000, Date.now());
    const answered: Record<string, number> = {};
    for (const [v, pts] of Object.entries(perSecond))
        answered[v] = Math.round(pts.filter(([x]) => x * 1000 >= 5000).reduce((a, q) => a + q[1], 0));
    log(
        `rollout in Prometheus: tasks by version before ${JSON.stringify(before)}, after ${JSON.stringify(after)}; requests by version ${JSON.stringify(answered)}`,
    );
    const switchSeries = await live().range(tasks, loadStartEpochMs - 5000, Date.now(), 1000);
    const pointsOf = (v: string) => switchSeries.filter((x) => x.labels.version === v).flatMap((x) => x.points.map((q) => q[0]));
    const newSeen = pointsOf(r.to);
    const oldSeen = pointsOf(r.from);
    const command = `${CMD} "rolling update"`;
    record({
        key: "obs_rollout_new_version_seen_ms",
        what: "Prometheus: the first new task registered → web_build_info of the new version",
        value: newSeen.length === 0 || !Number.isFinite(firstNew) ? null : Math.min(...newSeen) - firstNew,
        unit: "ms",
        stat: "one run (query_range, 1 s steps)",
        command,
        note: `discovery refresh ${secs(t.sdRefreshMs)}, scrape ${secs(t.intervals.scrapeMs)}`,
    });
    record({
        key: "obs_rollout_old_version_gone_ms",
        what: "Prometheus: the last old task deregistered → no web_build_info of the old version",
        value: oldSeen.length === 0 || !Number.isFinite(lastOld) ? null : Math.max(...oldSeen) + 1000 - lastOld,
        unit: "ms",
        stat: "one run (query_range, 1 s steps)",
        command,
    });
    results.detail("obs_rollout", { before, after, answered, firstNew, lastOld });
    results.check("obs_rollout_new_version_seen_ms", "obs_rollout_old_version_gone_ms");
    const replicas = p.current.web.spec.replicas;
    expect({ before, after }).toEqual({ before: { [r.from]: replicas }, after: { [r.to]: replicas } });
    expect({ oldAnswered: (answered[r.from] ?? 0) > 0, newAnswered: (answered[r.to] ?? 0) > 0 }).toEqual({
        oldAnswered: true,
        newAnswered: true,
    });

    const from = loadStartEpochMs - 5000;
    const to = Date.now();
    const markers = [
        { atMs: firstNew - from, label: "first new task registered" },
        { atMs: lastOld - from, label: "last old task deregistered" },
    ];
    const version = (l: Record<string, string>) => l.version ?? "?";
    const png = results.seriesChart(
        "prometheus-rollout.png",
        `rolling upgrade ${r.from} → ${r.to} as Prometheus scraped it (every ${secs(t.intervals.scrapeMs)}); seconds from 5 s before the load`,
        [
            { title: `tasks scraped by version: ${tasks}`, ylabel: "tasks", series: await chartSeries(tasks, version, from, to), markers },
            {
                title: "requests/s answered by each version (the apps' http_requests_total, route /)",
                ylabel: "requests/s",
                series: perSecond,
                markers,
            },
            {
                title: "BackendDown alerts firing (a stopping task fails /health before DNS drops it)",
                ylabel: "alerts",
                series: await chartSeries('count(ALERTS{alertname="BackendDown",alertstate="firing"})', () => "BackendDown", from, to),
                markers,
            },
        ],
    );
    log(`rollout chart: ${png}`);
}

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
        const command = `${CMD} "LB config change"`;
        record({
            key: "day2_lb_config_failed",
            what: `\`lb.advertIntervalSeconds\` ${from.advertIntervalSeconds} → ${change.advertIntervalSeconds}: LB nodes replaced one at a time`,
            value: sum.failed,
            of: sum.requests,
            unit: "requests",
            stat: "one run",
            goal: none(),
            command,
        });
        record({ key: "day2_lb_config_converge_ms", what: "until converged", value: convergedMs, unit: "ms", stat: "one run", command });
        record({
            key: "day2_lb_config_most_missing",
            what: "most LB nodes missing at once",
            value: report.mostMissing,
            unit: "members",
            stat: "one run",
            goal: within(1),
            command,
            note: "LB containers not running, docker ps every 250 ms",
        });
        results.detail("day2_lb_config", { steps: report.steps, failures: sum.failures, longestGapMs: Math.round(sum.longestGap.ms) });

        // Only the LB nodes and their ready gates change; each node is replaced, one at a time.
        expect(plan.changedNames().every((n) => /^lb-\d(-ready)?$/.test(n))).toBe(true);
        expect(report.steps.filter((x) => /^delete lb-\d#/.test(x.id))).toHaveLength(2);
        expect(report.mostMissing).toBe(1);
        results.check("day2_lb_config_failed", "day2_lb_config_converge_ms", "day2_lb_config_most_missing");
        for (const lb of p.current.lbs) {
            const conf = await docker(["exec", lb.container.name, "cat", "/etc/keepalived/keepalived.conf"]);
            expect(conf).toContain(`advert_int ${change.advertIntervalSeconds}`);
        }
        expect(p.current.vrrp.advertIntervalSeconds).toBe(change.advertIntervalSeconds);
    });
});

// The baseline is the bench's comparison (its ratio is a goal the bench reports), not a check of the
// program, whose own hard kill (test 1, CI bound 1,500 ms) and soak run in CI: CI skips its LB
// replacement, trials and soak (~1 min), as the swarm suite skips its full day-2 replays
// (FULL_DAY2), to keep the CI run under its 45-minute budget.
const benchDescribe = BENCH ? describe : describe.skip;
benchDescribe("baseline: keepalived's defaults (VRRPv2, advert 1 s) through the program's config (bench only)", () => {
    beforeAll(async () => {
        const next = await specFor(BASELINE);
        await plane().replaceLbs(next);
        log(`LB pair replaced: VRRPv${next.vrrp.version}, advert ${next.vrrp.advertIntervalSeconds} s`);
    }, 5 * 60_000);

    test(`1b. hard kill of the MASTER with the baseline settings, ${TRIALS} trials: gap measured; the program's default gap is below it`, async () => {
        const p = plane();
        expect(p.current.vrrp).toEqual({ version: 2, advertIntervalSeconds: 1 });
        const runs = await trials(TRIALS, async () => {
            const t = await hardKillTrial(p, 7000);
            log(`hard kill (baseline): ${trialLine(t)}`);
            return t;
        });
        const command = `${CMD} "hard kill"`;
        const gap = median(runs.map((t) => t.gapMs));
        record({
            key: "lb_hard_kill_gap_ms_baseline",
            what: "longest time without an answer, keepalived's defaults (VRRPv2, advert 1 s)",
            value: gap,
            trials: runs.map((t) => t.gapMs),
            unit: "ms",
            stat: ofTrials("median", runs.length),
            command,
        });
        const program = results.get("lb_hard_kill_gap_ms");
        record({
            key: "lb_hard_kill_gap_ratio_vs_baseline",
            what: "the program's gap ÷ keepalived's defaults' gap",
            value: program === null || gap <= 0 ? null : Math.round((program / gap) * 1000) / 1000,
            unit: "",
            stat: "medians",
            goal: { op: "<", limit: 1 },
            command,
            note: 'null when test 1 did not run (run both: -t "hard kill")',
        });
        results.detail("lb_hard_kill_baseline_trials", runs);
        results.chart("1b-hard-kill", hardKillPanel("1b. docker kill of the MASTER, keepalived's defaults (VRRPv2, 1 s adverts)", runs));
        for (const t of runs) expect(t.to).toEqual([p.peerOf(t.from)]);
        results.check("lb_hard_kill_gap_ms_baseline", "lb_hard_kill_gap_ratio_vs_baseline");
    });

    test(`soak: ${SOAK_SECONDS} s with every CPU saturated: no spurious VIP move (VRRPv2, advert 1 s; bench only)`, async () => {
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
    record({
        key: "lb_soak_spurious_moves",
        what: `VIP moves in ${SOAK_SECONDS} s per VRRP setting, every CPU saturated`,
        value: total,
        unit: "moves",
        stat: `sum over ${Object.keys(soaks).length} setting(s)`,
        goal: none(),
        command: `${CMD} soak`,
        note: `settings: ${Object.keys(soaks).join("; ")}`,
    });
    results.detail("lb_soak", soaks);
    return r;
}
