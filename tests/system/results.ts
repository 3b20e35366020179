// Measurements of a system-test run: each figure with its goal and what CI asserts of it, judged
// here; and the benchmark's record (bench/results.json and the chart; tables.ts writes bench/results.md) written
// when BENCH_WRITE=1 (`npm run bench`), only from a clean tree, with the tree, the suite's settings
// and the machine measured at run time.
//
// Two modes, one set of figures:
// - CI (`npm run test:system`): check() asserts that every figure was measured and, for a figure
//   with a goal, the figure's CI bound: the goal itself for correctness (0 failed, the VIP moved),
//   a wider margin for a timing that a loaded 2-core machine can push past its goal (the margin says
//   "this broke", not "this is slow today").
// - bench (`npm run bench`): check() asserts each goal; results.json records every figure's
//   verdict ("goal met" only when it meets the goal).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";
import { ChartPanel, SeriesPanel, writeRequestsChart, writeSeriesChart } from "./chart";
import { dockerResult } from "./docker";
import { BenchResults, CHART_FILE, SERIES_CHART_FILES, ciText, goalText, meets, MetricRecord, RunRecord, verdictOf } from "./tables";

/** `npm run bench`: figures are judged against their goals and written to bench/. */
export const BENCH = process.env.BENCH_WRITE === "1";

/** What a test hands to Results.set; the run, the verdict and the load average are filled in. */
export type MetricInput = Omit<MetricRecord, "run" | "verdict" | "loadAvg1">;

/** Files `npm run bench` itself writes: not a change to the code measured. */
const BENCH_OUTPUTS = ["bench/results.json", "bench/results.md", `bench/${CHART_FILE}`, ...SERIES_CHART_FILES.map((f) => `bench/${f}`)];

export class Results {
    private readonly metrics = new Map<string, MetricRecord>();
    private readonly details: Record<string, unknown> = {};
    private readonly panels = new Map<string, ChartPanel>();
    private readonly seriesCharts = new Map<string, { heading: string; panels: readonly SeriesPanel[] }>();
    private readonly machine: Record<string, string | number | readonly number[]> = {};
    private startedAt = new Date().toISOString();
    private source: BenchResults["source"] | undefined;

    /**
     * @param run    the suite's name in results.json (`dataplane`, `swarm`)
     * @param suite  its jest file
     * @param settings what the suite runs with (rate, trials, …): recorded with every figure
     */
    constructor(
        readonly run: string,
        private readonly suite: string,
        private readonly settings: Readonly<Record<string, string | number | boolean>>,
    ) {}

    /**
     * Call first (beforeAll). Records the start and the machine; in bench mode refuses a dirty tree
     * (figures must name the code they measured) unless BENCH_ALLOW_DIRTY=1, which records the
     * working tree's own hash instead.
     */
    begin(): void {
        this.startedAt = new Date().toISOString();
        Object.assign(this.machine, hostFacts(), { loadAvgStart: os.loadavg().map(round2) });
        if (BENCH) this.source = sourceTree();
    }

    /** Versions measured at run time (the engine, the LB image's HAProxy and keepalived). */
    async measureVersions(lbContainer: string): Promise<void> {
        Object.assign(this.machine, await runtimeVersions(lbContainer));
    }

    /** Records a figure; returns it with its verdict. */
    set(m: MetricInput): MetricRecord {
        const record: MetricRecord = {
            ...m,
            run: this.run,
            verdict: verdictOf(m.value, m.goal),
            loadAvg1: round2(os.loadavg()[0]),
        };
        this.metrics.set(m.key, record);
        return record;
    }

    get(key: string): number | null {
        return this.metrics.get(key)?.value ?? null;
    }

    /**
     * The jest assertions for a figure: it was measured (null is a failure: a scenario that saw
     * nothing proves nothing); in bench mode it meets its goal; in CI its CI bound.
     */
    check(...keys: string[]): void {
        for (const key of keys) {
            const m = this.metrics.get(key);
            if (m === undefined) throw new Error(`no figure ${key} was recorded`);
            expect({ key, measured: m.value !== null && !Number.isNaN(m.value) }).toEqual({ key, measured: true });
            const bound = BENCH ? m.goal : m.ci === undefined ? m.goal : m.ci;
            if (bound === undefined || bound === null || m.value === null) continue;
            const what = BENCH ? `goal ${goalText(m)}` : `CI bound ${ciText(m)}`;
            expect({ key, value: m.value, [what]: meets(m.value, bound) }).toEqual({ key, value: m.value, [what]: true });
        }
    }

    /** Details go to results.json as they are, except `timeline` fields: those are drawn, see chart(). */
    detail(key: string, value: unknown): void {
        this.details[key] = value;
    }

    /** A panel of bench/requests-over-time.png; panels are drawn top to bottom in the order of their keys. */
    chart(key: string, panel: ChartPanel): void {
        this.panels.set(key, panel);
    }

    /**
     * A picture of scraped series (one of SERIES_CHART_FILES): written to bench/ by `npm run bench`,
     * and on every run to the system tests' folder in $TMPDIR with its data, for a look.
     */
    seriesChart(file: (typeof SERIES_CHART_FILES)[number], heading: string, panels: readonly SeriesPanel[]): string {
        this.seriesCharts.set(file, { heading, panels });
        const dir = path.join(os.tmpdir(), "swarm-system-charts");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `${file}.json`), `${JSON.stringify({ heading, panels }, null, 1)}\n`);
        const png = path.join(dir, file);
        writeSeriesChart(png, heading, panels);
        return png;
    }

    /**
     * Writes bench/results.json (and the chart). Each suite writes when it ends; figures that
     * another suite wrote for the same tree are kept (this run's own win), so `npm run bench` over
     * both suites ends with all of them. Refuses when the tree is not the one begin() saw.
     */
    write(dir = path.join(REPO_ROOT, "bench")): void {
        if (this.source === undefined) throw new Error("Results.write: begin() was not called in bench mode");
        const now = sourceTree();
        if (now.tree !== this.source.tree || now.commit !== this.source.commit)
            throw new Error(`the tree changed during the run (${this.source.tree} → ${now.tree}): not writing results`);
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "results.json");
        const previous = readPrevious(file);
        const sameTree =
            previous !== undefined && previous.source.tree === this.source.tree && previous.source.commit === this.source.commit;
        const run: RunRecord = {
            suite: this.suite,
            startedAt: this.startedAt,
            finishedAt: new Date().toISOString(),
            settings: this.settings,
            machine: { ...this.machine, loadAvgEnd: os.loadavg().map(round2) },
        };
        const mine = Object.fromEntries(this.metrics);
        const kept = sameTree
            ? Object.fromEntries(Object.entries(previous.metrics).filter(([k, m]) => !(k in mine) && m.run !== this.run))
            : {};
        const results: BenchResults = {
            schema: 2,
            command: "npm run bench",
            source: this.source,
            generatedAt: new Date().toISOString(),
            runs: {
                ...(sameTree ? Object.fromEntries(Object.entries(previous.runs).filter(([k]) => k !== this.run)) : {}),
                [this.run]: run,
            },
            metrics: { ...kept, ...mine },
            details: { ...(sameTree ? previous.details : {}), ...this.details },
        };
        const withoutTimelines = (key: string, value: unknown) => (key === "timeline" ? undefined : value);
        fs.writeFileSync(file, `${JSON.stringify(results, withoutTimelines, 2)}\n`);
        const panels = [...this.panels.keys()].sort().map((k) => this.panels.get(k)!);
        if (panels.length > 0) writeRequestsChart(path.join(dir, CHART_FILE), panels);
        for (const [file, chart] of this.seriesCharts) writeSeriesChart(path.join(dir, file), chart.heading, chart.panels);
        // bench/results.md and the READMEs' tables have one writer: tables.ts, which scripts/bench.sh
        // runs after the suites (npm run bench:tables).
    }
}

function readPrevious(file: string): BenchResults | undefined {
    try {
        const r = JSON.parse(fs.readFileSync(file, "utf8"));
        return r.schema === 2 ? (r as BenchResults) : undefined;
    } catch {
        return undefined;
    }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function git(args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", env: env ?? process.env }).trim();
}

/**
 * HEAD and the tree measured. Clean (nothing but the bench's own outputs differs from HEAD,
 * untracked files included): HEAD's tree. Otherwise an error, unless BENCH_ALLOW_DIRTY=1: then the
 * working tree's hash (every tracked and untracked, not ignored, file, through a temporary index).
 */
export function sourceTree(env: NodeJS.ProcessEnv = process.env): BenchResults["source"] {
    const commit = git(["rev-parse", "HEAD"]);
    const changes = git(["status", "--porcelain", "--untracked-files=all", "--", ".", ...BENCH_OUTPUTS.map((f) => `:(exclude)${f}`)]);
    if (changes === "") return { commit, tree: git(["rev-parse", "HEAD^{tree}"]), clean: true };
    if (env.BENCH_ALLOW_DIRTY !== "1")
        throw new Error(
            `npm run bench writes results only from a clean tree (commit first, or BENCH_ALLOW_DIRTY=1 to record the working tree's hash); changed:\n${changes}`,
        );
    const index = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-index-")), "index");
    try {
        fs.copyFileSync(git(["rev-parse", "--path-format=absolute", "--git-path", "index"]), index);
        const withIndex = { ...process.env, GIT_INDEX_FILE: index };
        git(["add", "-A", "--", ".", ...BENCH_OUTPUTS.map((f) => `:(exclude)${f}`)], withIndex);
        return { commit, tree: git(["write-tree"], withIndex), clean: false };
    } finally {
        fs.rmSync(path.dirname(index), { recursive: true, force: true });
    }
}

/** The host: CPUs, memory, kernel, Node.js. */
export function hostFacts(): Record<string, string | number> {
    const cpus = os.cpus();
    return {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? "?",
        memGiB: Math.round(os.totalmem() / 2 ** 30),
        kernel: os.release(),
        node: process.version,
    };
}

/** The Docker engine's version, and HAProxy's and keepalived's inside an LB node (what ran). */
export async function runtimeVersions(lbContainer: string): Promise<Record<string, string>> {
    const engine = await dockerResult(["version", "-f", "{{.Server.Version}}"]);
    const haproxy = await dockerResult(["exec", lbContainer, "haproxy", "-v"]);
    const keepalived = await dockerResult(["exec", lbContainer, "keepalived", "--version"]);
    const first = (r: { stdout: string; stderr: string }, re: RegExp) => re.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? "?";
    return {
        dockerEngine: engine.code === 0 ? engine.stdout.trim() : "?",
        haproxy: first(haproxy, /HAProxy version (\S+)/),
        keepalived: first(keepalived, /Keepalived v(\S+)/),
    };
}
