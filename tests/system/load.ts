// Bounded HTTP load generator (Node only, no dependencies).
//
// Fixed rate, fixed duration, a per-request deadline and no retries. Every request is counted and
// ends as exactly one success (HTTP 200) or failure (status, error or timeout); every outcome is
// timestamped, so "the longest time without a successful answer" can be computed, and the
// `X-LB-Node` response header says which LB node answered.
//
// Connections: kept alive to the target by default (`connections: "keep-alive"`), as a browser keeps
// its connection to a cloud load balancer. That does not hide a VIP move: the edge opens a new
// upstream connection for every request (`option http-server-close`, render/haproxy.ts
// renderEdgeConfig), so every request still takes edge → VIP → HAProxy → task. What it saves is a TLS
// handshake per request: at 100 requests/s over HTTPS, a new connection per request cost this process
// 35–41 % of a core against 8–15 % kept alive (10–14 % for plain HTTP), and those handshakes ran on the
// jest process's event loop beside the harness, on a 2-core machine
// (bench/experiments/2026-12-06-load-over-tls.md). The agent never queues a request: it opens another
// connection whenever none is free (maxSockets unbounded), so no request waits behind a slow one.
// `connections: "per-request"` (the CLI's --connections) sends `Connection: close` on a new
// connection each time.
//
// The deadline counts the time this process was running, not the time it was stalled: on a loaded
// machine the generator itself can be descheduled or blocked (a fresh-clone CI run at load average
// 11 had 4 of 4,000 timeouts), and a request open across such a pause would be charged with it — a
// process stopped for 1.5 s while the server answers in 20 ms times out the requests it had in
// flight (bench/experiments/2026-12-05-load-generator-stall.md). A stall monitor (a 5 ms ticker)
// records every pause of the event loop; a request times out once it has waited `timeoutMs` of the
// generator's own running time (and at most 10 × timeoutMs of wall time, so every request ends).
// What the platform drops, refuses, resets or answers late still fails: only the client's own
// absence is not charged to it. Each sample carries the stall it lived through (`clientStallMs`),
// and the summaries list the stalls, so a run that was stalled says so.
//
// Library: `runLoad(options)` resolves once every request has ended (at most duration + timeout).
// CLI:     npx ts-node --transpile-only tests/system/load.ts --url https://127.0.0.1:28443/ --ca CA.pem \
//              [--rate 100] [--seconds 10] [--timeout-ms 1000] [--connections keep-alive|per-request]
//          (CA.pem: the stack's webCaCertificate output; --ca only for https://)
//          (prints the summary as JSON)
import * as http from "http";
import * as https from "https";
import * as fs from "fs";
import { getFor, trustCa } from "./probe";

export interface LoadOptions {
    /** Target; the system tests only ever aim at 127.0.0.1 (the edge) or containers they created. */
    readonly url: string;
    /** Requests per second, spread evenly. */
    readonly ratePerSecond: number;
    /** How long requests are sent for. */
    readonly durationMs: number;
    /** Deadline per request (connect + full response). Default 1000. */
    readonly timeoutMs?: number;
    /** Header naming the LB node that answered. Default X-LB-Node. */
    readonly nodeHeader?: string;
    /** Keep connections to the target alive (default) or open a new one per request (see the file's head). */
    readonly connections?: "keep-alive" | "per-request";
}

/** One request. Times are `performance.now()` values (ms), comparable with the caller's clock. */
export interface Sample {
    readonly index: number;
    readonly sentMs: number;
    readonly doneMs: number;
    readonly ok: boolean;
    readonly status?: number;
    readonly error?: string;
    readonly lbNode?: string;
    /** The app's answer (first line), to see which task/version answered. */
    readonly body?: string;
    /** How long this process was stalled (not running) while the request was open, ms. */
    readonly clientStallMs: number;
}

export interface LoadRun {
    readonly options: Required<LoadOptions>;
    /** performance.now() when sending started and the end of the sending window. */
    readonly startMs: number;
    readonly endMs: number;
    /** Wall clock at startMs, for logs. */
    readonly startedAt: string;
    /** Every request, in the order it was sent. */
    readonly samples: readonly Sample[];
    /** Pauses of the generator itself (≥ STALL_REPORT_MS) while it ran: when (performance.now()) and how long. */
    readonly stalls: readonly Stall[];
}

export interface Stall {
    readonly atMs: number;
    readonly ms: number;
}

/** Tick of the stall monitor. */
const TICK_MS = 5;
/** A tick later than this counts as a stall (of its lateness beyond one tick). */
const STALL_TOLERANCE_MS = 20;
/** Stalls at least this long are listed in LoadRun.stalls. */
export const STALL_REPORT_MS = 100;

/**
 * Pauses of this process's event loop, from a ticker: a tick that comes more than STALL_TOLERANCE_MS
 * after the previous one means the loop did not run in between. Runs while at least one load run
 * is open (the interval is unref'd: it never keeps the process alive).
 */
class StallMonitor {
    private users = 0;
    private timer: NodeJS.Timeout | undefined;
    private last = 0;
    private readonly stalls: { from: number; to: number }[] = [];

    acquire(): void {
        if (this.users++ === 0) {
            this.last = performance.now();
            this.timer = setInterval(() => this.observe(performance.now()), TICK_MS);
            this.timer.unref();
        }
    }

    release(): void {
        if (--this.users === 0) {
            if (this.timer) clearInterval(this.timer);
            this.timer = undefined;
            this.stalls.length = 0;
        }
    }

    /** Records the stall that ends now, if any (the ticker calls it; so does a deadline, in case it runs first). */
    observe(now: number): void {
        if (now - this.last > TICK_MS + STALL_TOLERANCE_MS) this.stalls.push({ from: this.last + TICK_MS, to: now });
        if (now > this.last) this.last = now;
    }

    /** Stalled time within [from, to]. */
    stalledBetween(from: number, to: number): number {
        let ms = 0;
        for (let i = this.stalls.length - 1; i >= 0; i--) {
            const s = this.stalls[i];
            if (s.to <= from) break;
            ms += Math.max(0, Math.min(s.to, to) - Math.max(s.from, from));
        }
        return ms;
    }

    /** Stalls of at least `minMs` within [from, to]. */
    list(from: number, to: number, minMs: number): Stall[] {
        return this.stalls
            .filter((s) => s.to > from && s.from < to && s.to - s.from >= minMs)
            .map((s) => ({ atMs: s.from, ms: Math.round(s.to - s.from) }));
    }
}

const stallMonitor = new StallMonitor();

export async function runLoad(options: LoadOptions): Promise<LoadRun> {
    const opts: Required<LoadOptions> = { timeoutMs: 1000, nodeHeader: "X-LB-Node", connections: "keep-alive", ...options };
    const url = new URL(opts.url);
    // https:// goes through the edge's TLS, verified against the stack's CA (probe.ts trustCa).
    const { get, tls } = getFor(url);
    if (!(opts.ratePerSecond > 0 && opts.ratePerSecond <= 1000))
        throw new Error(`load: rate must be in (0, 1000] (got ${opts.ratePerSecond})`);
    if (!(opts.durationMs > 0 && opts.durationMs <= 15 * 60_000)) throw new Error(`load: duration must be in (0, 15 min]`);
    const total = Math.round((opts.ratePerSecond * opts.durationMs) / 1000);
    const periodMs = 1000 / opts.ratePerSecond;
    const headerName = opts.nodeHeader.toLowerCase();
    const samples: Sample[] = new Array(total);
    const pending: Promise<void>[] = [];
    // One pool per run, closed when the run ends. Unbounded: a request never waits for a free socket.
    // The CA comes with each request (`tls` below), which the agent's sockets are made from.
    const keepAlive = opts.connections === "keep-alive";
    const agent = keepAlive && new (url.protocol === "https:" ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: Infinity });
    const headers = { "User-Agent": "swarm-platform-system-load", ...(keepAlive ? {} : { Connection: "close" }) };

    const fire = (index: number): Promise<void> =>
        new Promise((resolve) => {
            const sentMs = performance.now();
            let settled = false;
            const finish = (s: Omit<Sample, "index" | "sentMs" | "doneMs" | "clientStallMs">) => {
                if (settled) return;
                settled = true;
                clearTimeout(deadline);
                const doneMs = performance.now();
                stallMonitor.observe(doneMs);
                samples[index] = { index, sentMs, doneMs, clientStallMs: Math.round(stallMonitor.stalledBetween(sentMs, doneMs)), ...s };
                resolve();
            };
            const req = get(
                {
                    ...tls,
                    host: url.hostname,
                    port: url.port || (url.protocol === "https:" ? 443 : 80),
                    path: `${url.pathname}${url.search}`,
                    agent,
                    headers,
                },
                (res) => {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (chunk: string) => {
                        if (body.length < 512) body += chunk;
                    });
                    res.on("end", () => {
                        const header = res.headers[headerName];
                        const lbNode = Array.isArray(header) ? header[0] : header;
                        finish({
                            ok: res.statusCode === 200,
                            status: res.statusCode,
                            lbNode,
                            body: body.split("\n")[0],
                            // Who refused: an LB node names itself; without its header the edge answered.
                            error: res.statusCode === 200 ? undefined : `HTTP ${res.statusCode} from ${lbNode ?? "the edge"}`,
                        });
                    });
                    res.on("error", (err) => finish({ ok: false, status: res.statusCode, error: errorName(err) }));
                },
            );
            // One deadline for connect + the whole response, in the generator's own running time.
            const expire = () => {
                const now = performance.now();
                stallMonitor.observe(now);
                const awake = now - sentMs - stallMonitor.stalledBetween(sentMs, now);
                if (awake < opts.timeoutMs && now - sentMs < opts.timeoutMs * 10) {
                    // The generator was stalled meanwhile: wait out the rest (socket reads that were waiting run first).
                    deadline = setTimeout(expire, Math.max(1, opts.timeoutMs - awake));
                    return;
                }
                finish({ ok: false, error: "timeout" });
                req.destroy();
            };
            let deadline = setTimeout(expire, opts.timeoutMs);
            req.on("error", (err) => finish({ ok: false, error: errorName(err) }));
        });

    stallMonitor.acquire();
    try {
        const startMs = performance.now();
        const startedAt = new Date().toISOString();
        // Absolute schedule: request i goes out at startMs + i × period, however late a timer fires.
        await new Promise<void>((resolve) => {
            let next = 0;
            const tick = () => {
                const now = performance.now();
                while (next < total && startMs + next * periodMs <= now) pending.push(fire(next++));
                if (next >= total) return resolve();
                setTimeout(tick, Math.max(0, startMs + next * periodMs - performance.now()));
            };
            tick();
        });
        await Promise.all(pending);
        const stalls = stallMonitor.list(startMs, performance.now(), STALL_REPORT_MS);
        return { options: opts, startMs, endMs: startMs + opts.durationMs, startedAt, samples, stalls };
    } finally {
        if (agent) agent.destroy();
        stallMonitor.release();
    }
}

function errorName(err: unknown): string {
    const e = err as NodeJS.ErrnoException;
    return e.code ?? e.message ?? String(err);
}

export interface Gap {
    /** Longest time (ms) without a successful answer, between consecutive successes (or the window's edges). */
    readonly ms: number;
    /** Its start and end, relative to the start of the load (ms). */
    readonly fromMs: number;
    readonly toMs: number;
}

export interface LoadSummary {
    readonly requests: number;
    readonly ok: number;
    readonly failed: number;
    readonly longestGap: Gap;
    /** Failures relative to the load start: when, what, and how long the generator itself was stalled while the request was open. */
    readonly failures: { readonly atMs: number; readonly error: string; readonly clientStallMs: number }[];
    /** The generator's own stalls (≥ STALL_REPORT_MS) in the window: how many, the longest, ms. */
    readonly clientStalls: { readonly count: number; readonly longestMs: number };
    /** Which LB node answered how many successful requests. */
    readonly byLbNode: Record<string, number>;
    /** Changes of the answering LB node along the successful requests (in send order). */
    readonly lbNodeChanges: { readonly atMs: number; readonly from: string; readonly to: string }[];
    readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/**
 * Summary of a load run, optionally of the requests SENT within [fromMs, toMs) relative to the start
 * (the gap is then computed within that window too).
 */
export function summarize(run: LoadRun, window?: { fromMs: number; toMs: number }): LoadSummary {
    const lo = run.startMs + (window?.fromMs ?? 0);
    const hi = window ? run.startMs + window.toMs : run.endMs;
    const samples = run.samples.filter((s) => s.sentMs >= lo && s.sentMs < hi);
    const ok = samples.filter((s) => s.ok);
    const successTimes = ok.map((s) => s.doneMs).sort((a, b) => a - b);
    // A request sent inside the window that succeeds after it still ends the gap it was in.
    const end = Math.max(hi, successTimes.length > 0 ? successTimes[successTimes.length - 1] : hi);
    const edges = [lo, ...successTimes, end];
    let gap: Gap = { ms: 0, fromMs: 0, toMs: 0 };
    for (let i = 1; i < edges.length; i++) {
        const ms = edges[i] - edges[i - 1];
        if (ms > gap.ms) gap = { ms, fromMs: edges[i - 1] - run.startMs, toMs: edges[i] - run.startMs };
    }
    const byLbNode: Record<string, number> = {};
    for (const s of ok) byLbNode[s.lbNode ?? "?"] = (byLbNode[s.lbNode ?? "?"] ?? 0) + 1;
    const lbNodeChanges: LoadSummary["lbNodeChanges"][number][] = [];
    for (let i = 1; i < ok.length; i++) {
        const from = ok[i - 1].lbNode ?? "?";
        const to = ok[i].lbNode ?? "?";
        if (from !== to) lbNodeChanges.push({ atMs: ok[i].sentMs - run.startMs, from, to });
    }
    const latencies = ok.map((s) => s.doneMs - s.sentMs).sort((a, b) => a - b);
    return {
        requests: samples.length,
        ok: ok.length,
        failed: samples.length - ok.length,
        longestGap: gap,
        failures: samples
            .filter((s) => !s.ok)
            .map((s) => ({ atMs: s.doneMs - run.startMs, error: s.error ?? "?", clientStallMs: s.clientStallMs })),
        clientStalls: (() => {
            const inWindow = run.stalls.filter((x) => x.atMs < hi && x.atMs + x.ms > lo);
            return { count: inWindow.length, longestMs: inWindow.reduce((m, x) => Math.max(m, x.ms), 0) };
        })(),
        byLbNode,
        lbNodeChanges,
        latencyMs: {
            p50: percentile(latencies, 0.5),
            p90: percentile(latencies, 0.9),
            p99: percentile(latencies, 0.99),
            max: latencies.length > 0 ? latencies[latencies.length - 1] : NaN,
        },
    };
}

/** Requests per time bucket, by outcome: what the benchmark's chart draws. */
export interface Timeline {
    readonly bucketMs: number;
    /**
     * Outcome → requests per bucket of the time each request ENDED (answer or failure), from the
     * load's start: a gap without answers shows as a gap. Every series has the same length.
     */
    readonly series: Record<string, number[]>;
}

/** Counts the run's requests per `bucketMs` of the time they ended, under the label `outcome` gives each one. */
export function timeline(run: LoadRun, bucketMs: number, outcome: (s: Sample) => string): Timeline {
    const lastEnd = run.samples.reduce((m, s) => Math.max(m, s.doneMs), run.endMs);
    const buckets = Math.max(1, Math.ceil((lastEnd - run.startMs) / bucketMs));
    const series: Record<string, number[]> = {};
    for (const s of run.samples) {
        const label = outcome(s);
        series[label] ??= new Array<number>(buckets).fill(0);
        const i = Math.min(buckets - 1, Math.max(0, Math.floor((s.doneMs - run.startMs) / bucketMs)));
        series[label][i] += 1;
    }
    return { bucketMs, series };
}

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Median (NaN when empty). */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parseCli(argv: readonly string[]): LoadOptions {
    const args = new Map<string, string>();
    for (let i = 0; i < argv.length; i += 2) {
        if (!argv[i].startsWith("--") || argv[i + 1] === undefined)
            throw new Error(
                `usage: load.ts --url URL [--ca CA.pem] [--rate N] [--seconds S] [--timeout-ms MS] [--connections keep-alive|per-request]`,
            );
        args.set(argv[i].slice(2), argv[i + 1]);
    }
    const url = args.get("url");
    if (url === undefined) throw new Error("load.ts: --url is required");
    const host = new URL(url).hostname;
    if (!/^127\./.test(host)) throw new Error(`load.ts: the CLI only sends to 127.0.0.0/8 (got ${host})`);
    const ca = args.get("ca");
    if (ca !== undefined) trustCa(fs.readFileSync(ca, "utf8"));
    return {
        url,
        ratePerSecond: Number(args.get("rate") ?? 100),
        durationMs: Number(args.get("seconds") ?? 10) * 1000,
        timeoutMs: Number(args.get("timeout-ms") ?? 1000),
        connections: connectionsArg(args.get("connections") ?? "keep-alive"),
    };
}

function connectionsArg(raw: string): "keep-alive" | "per-request" {
    if (raw !== "keep-alive" && raw !== "per-request") throw new Error(`load.ts: --connections is keep-alive or per-request (got ${raw})`);
    return raw;
}

if (require.main === module) {
    runLoad(parseCli(process.argv.slice(2))).then(
        (run) => console.log(JSON.stringify(summarize(run), null, 2)),
        (err: Error) => {
            console.error(err.message);
            process.exit(2);
        },
    );
}

/**
 * Load through the edge for as long as it takes (an update's length is not known up front): runLoad
 * windows of `chunkMs`, each started when the previous one stops sending (absolute schedule), merged
 * into one LoadRun by stop(). Bounded: no window starts after `maxMs`.
 */
export class LoadSession {
    private readonly runs: Promise<LoadRun>[] = [];
    private timer: NodeJS.Timeout | undefined;
    private stopped = false;
    private readonly t0 = performance.now();

    constructor(private readonly opts: { url: string; ratePerSecond: number; timeoutMs: number; chunkMs?: number; maxMs?: number }) {
        this.next(0);
    }

    private get chunkMs(): number {
        return this.opts.chunkMs ?? 2000;
    }

    private next(k: number): void {
        if (this.stopped || k * this.chunkMs >= (this.opts.maxMs ?? 10 * 60_000)) return;
        this.runs.push(
            runLoad({
                url: this.opts.url,
                ratePerSecond: this.opts.ratePerSecond,
                durationMs: this.chunkMs,
                timeoutMs: this.opts.timeoutMs,
            }),
        );
        this.timer = setTimeout(() => this.next(k + 1), Math.max(0, this.t0 + (k + 1) * this.chunkMs - performance.now()));
    }

    /** The load's start (performance.now()), for times relative to it. */
    get startMs(): number {
        return this.t0;
    }

    /** Stops starting windows; resolves with every request (the current window finishes sending first). */
    async stop(): Promise<LoadRun> {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
        const runs = await Promise.all(this.runs);
        let index = 0;
        const samples = runs.flatMap((r) => r.samples.map((s) => ({ ...s, index: index++ })));
        const startMs = runs[0].startMs;
        const endMs = runs[runs.length - 1].endMs;
        const stalls = runs.flatMap((r) => r.stalls).filter((x, i, all) => all.findIndex((y) => y.atMs === x.atMs) === i);
        return {
            options: { ...runs[0].options, durationMs: endMs - startMs },
            startMs,
            endMs,
            startedAt: runs[0].startedAt,
            samples,
            stalls,
        };
    }
}
