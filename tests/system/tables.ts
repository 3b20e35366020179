// The benchmark's record (bench/results.json) and every table generated from it: bench/results.md,
// the performance and day-2 tables of README.md and the measured tables of tests/system/README.md.
// A figure is written once, by `npm run bench`; the documents only ever show what results.json holds
// (`npm run bench:tables` rewrites them; tests/bench/tables.test.ts fails when they differ).
//
// No docker, no git, no jest here: the unit test imports this module.
//
// CLI: npx ts-node --transpile-only tests/system/tables.ts [--check]
import * as fs from "fs";
import * as path from "path";

/** `value <op> limit`. */
export interface Bound {
    readonly op: "<=" | "<" | ">=" | "==";
    readonly limit: number;
}

/** A figure's goal: a bound, and where it comes from when that is worth saying. */
export interface Goal extends Bound {
    readonly source?: string;
}

/**
 * - "goal met" / "goal missed": the figure against its goal;
 * - "reported": a figure without a goal;
 * - "not measured": the measurement is missing (null), which is always a failure.
 */
export type Verdict = "goal met" | "goal missed" | "reported" | "not measured";

export interface MetricRecord {
    readonly key: string;
    /** The suite run that measured it: a key of BenchResults.runs (its settings and machine). */
    readonly run: string;
    readonly value: number | null;
    readonly unit: string;
    /** What the figure is, for a reader. */
    readonly what: string;
    /** How the value comes from the trials: "median of 3 trials", "p95 of 20 trials", "sum over 3 trials", "one run". */
    readonly stat: string;
    /** Each trial's value, when there were several. */
    readonly trials?: readonly (number | null)[];
    /** For counts of failed requests: out of how many. */
    readonly of?: number;
    /** Absent: reported only. */
    readonly goal?: Goal;
    /**
     * What CI (`npm run test:system`) asserts of the figure. Absent: the goal itself (correctness
     * goals: 0 failed, the VIP moved). null: only that it was measured. A bound: a looser margin,
     * for timings a loaded 2-core machine can push past their goal; the goal is the bench's.
     */
    readonly ci?: Bound | null;
    readonly verdict: Verdict;
    /** 1-minute load average when the figure was recorded. */
    readonly loadAvg1: number;
    readonly command: string;
    readonly note?: string;
}

export interface RunRecord {
    /** The jest file. */
    readonly suite: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    /** The suite's settings: rate, trials, timeouts (what the environment set, or the defaults). */
    readonly settings: Readonly<Record<string, string | number | boolean>>;
    /** Measured at run time: CPUs, memory, kernel, load averages, the engine's and the LB image's versions. */
    readonly machine: Readonly<Record<string, string | number | readonly number[]>>;
}

export interface BenchResults {
    readonly schema: 2;
    readonly command: string;
    /** The tree measured: HEAD's commit and tree hash; `clean` false only with BENCH_ALLOW_DIRTY=1 (tree = the working tree's hash). */
    readonly source: { readonly commit: string; readonly tree: string; readonly clean: boolean };
    readonly generatedAt: string;
    readonly runs: Readonly<Record<string, RunRecord>>;
    readonly metrics: Readonly<Record<string, MetricRecord>>;
    /** Every trial of every scenario (timelines are drawn in the chart instead). */
    readonly details: Readonly<Record<string, unknown>>;
}

const OP_TEXT: Record<Bound["op"], string> = { "<=": "≤", "<": "<", ">=": "≥", "==": "=" };

export function meets(value: number, b: Bound): boolean {
    switch (b.op) {
        case "<=":
            return value <= b.limit;
        case "<":
            return value < b.limit;
        case ">=":
            return value >= b.limit;
        case "==":
            return value === b.limit;
    }
}

export function verdictOf(value: number | null, goal: Goal | undefined): Verdict {
    if (value === null || Number.isNaN(value)) return "not measured";
    if (goal === undefined) return "reported";
    return meets(value, goal) ? "goal met" : "goal missed";
}

const num = (n: number): string => (Number.isInteger(n) ? n.toLocaleString("en-US") : String(n));

function withUnit(n: number, unit: string): string {
    if (unit === "" || unit === "×") return `${num(n)}${unit}`;
    return `${num(n)} ${unit}`;
}

export function boundText(b: Bound, unit: string): string {
    return `${OP_TEXT[b.op]} ${withUnit(b.limit, unit)}`;
}

export function goalText(m: Pick<MetricRecord, "goal" | "unit">): string {
    if (m.goal === undefined) return "report";
    return `${boundText(m.goal, m.unit)}${m.goal.source ? ` (${m.goal.source})` : ""}`;
}

export function ciText(m: Pick<MetricRecord, "goal" | "ci" | "unit">): string {
    if (m.ci === null || (m.ci === undefined && m.goal === undefined)) return "measured";
    if (m.ci === undefined) return `${boundText(m.goal!, m.unit)} (the goal)`;
    return boundText(m.ci, m.unit);
}

export function valueText(m: Pick<MetricRecord, "value" | "unit" | "of">): string {
    if (m.value === null) return "not measured";
    return `${withUnit(m.value, m.unit)}${m.of !== undefined ? ` of ${num(m.of)}` : ""}`;
}

function verdictCell(v: Verdict): string {
    return v === "goal missed" || v === "not measured" ? `**${v}**` : v;
}

function row(cells: readonly string[]): string {
    return `| ${cells.map((c) => c.replace(/\|/g, "\\|").replace(/\n/g, " ")).join(" | ")} |`;
}

function metricsOf(r: BenchResults, run?: string): MetricRecord[] {
    return Object.values(r.metrics).filter((m) => run === undefined || m.run === run);
}

/** One line per suite run: when, the settings and the machine. */
export function provenanceLines(r: BenchResults): string[] {
    const out = [
        `Tree: commit \`${r.source.commit}\`, tree \`${r.source.tree}\`${r.source.clean ? " (clean)" : " (**working tree had uncommitted changes**: BENCH_ALLOW_DIRTY=1)"}; written ${r.generatedAt} by \`${r.command}\`.`,
    ];
    for (const [name, run] of Object.entries(r.runs)) {
        const m = run.machine;
        const settings = Object.entries(run.settings)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ");
        const load = (x: unknown) => (Array.isArray(x) ? x.map((n) => Number(n).toFixed(2)).join(" / ") : "?");
        out.push(
            `- \`${name}\` (${run.suite}, ${run.startedAt} → ${run.finishedAt}): ${settings}. Machine: ${m.cpus} CPUs (${m.cpuModel}), ` +
                `${m.memGiB} GiB, kernel ${m.kernel}, Node.js ${m.node}, Docker engine ${m.dockerEngine}, HAProxy ${m.haproxy}, keepalived ${m.keepalived}; ` +
                `load average (1/5/15 min) ${load(m.loadAvgStart)} at the start, ${load(m.loadAvgEnd)} at the end.`,
        );
    }
    return out;
}

/** bench/results.md: every figure, its goal, what CI asserts, the verdict, and where it came from. */
export function renderResultsMd(r: BenchResults, chartFile?: string): string {
    const lines = [
        "# System-test benchmark (data plane, swarm)",
        "",
        "Generated from [`results.json`](results.json) by `npm run bench:tables`; do not edit. Every figure names the suite run",
        "that measured it (its settings and machine below). `goal met` only when the figure meets its goal; a missing",
        'measurement is `not measured`, and a failure. CI (`npm run test:system`) asserts the "CI asserts" column: the same',
        "correctness goals, and for timings a margin a loaded 2-core machine cannot cross; the goal itself is judged here.",
        "",
        ...provenanceLines(r),
        "",
        row(["Metric", "What", "Goal", "CI asserts", "Measured", "Verdict", "Stat (trials)", "Load avg", "Command"]),
        "|---|---|---|---|---|---|---|---|---|",
        ...metricsOf(r).map((m) =>
            row([
                `\`${m.key}\``,
                m.what + (m.note ? ` — ${m.note}` : ""),
                goalText(m),
                ciText(m),
                valueText(m),
                verdictCell(m.verdict),
                m.stat + (m.trials && m.trials.length > 1 ? ` (${m.trials.map((t) => (t === null ? "–" : num(t))).join(", ")})` : ""),
                m.loadAvg1.toFixed(2),
                `\`${m.command}\``,
            ]),
        ),
        "",
        "Details (every trial) are in `results.json` under `details`. One-off experiments behind figures quoted",
        "elsewhere (README, docs/decisions.md): [`experiments/`](experiments/), each with the command that produced it.",
        "",
    ];
    if (chartFile) lines.push(`![Requests over time](${chartFile})`, "");
    return lines.join("\n");
}

/** A README row made of figures: the first one's goal, all of them in the measured cell. */
interface SummaryRow {
    readonly scenario: string;
    readonly keys: readonly string[];
}

const PERFORMANCE_ROWS: readonly SummaryRow[] = [
    { scenario: "`docker kill` of the MASTER LB", keys: ["lb_hard_kill_gap_ms", "lb_hard_kill_failed", "lb_hard_kill_gap_ms_baseline"] },
    {
        scenario: "`docker stop` of the MASTER, then it returns",
        keys: ["lb_graceful_gap_ms", "lb_graceful_failed", "lb_graceful_return_vip_moves", "lb_graceful_return_failed"],
    },
    { scenario: "HAProxy dies, keepalived lives", keys: ["lb_haproxy_dies_vip_moved", "lb_haproxy_dies_gap_ms", "lb_haproxy_dies_failed"] },
    { scenario: "LB node restarted (`docker restart`)", keys: ["lb_restarted_node_serves_ms", "lb_restarted_node_failed"] },
    { scenario: "LB node stopped and started", keys: ["lb_stopped_node_serves_ms", "lb_stopped_node_failed"] },
    { scenario: "soak, CPUs saturated, LB at its CPU limit", keys: ["lb_soak_spurious_moves"] },
    { scenario: "rolling upgrade of every replica (emulated policy)", keys: ["rollout_failed", "rollout_ms"] },
    { scenario: "`docker kill` of a web task", keys: ["backend_crash_failed", "backend_crash_detect_ms"] },
    { scenario: "membership: a new task takes traffic", keys: ["membership_add_p95_ms", "membership_add_ms"] },
    { scenario: "membership: a leaving task gets no new request", keys: ["membership_remove_p95_ms", "membership_remove_ms"] },
    { scenario: "membership: requests while tasks join and leave", keys: ["membership_failed"] },
    {
        scenario: "latency p50, edge → VIP → HAProxy → task vs one task",
        keys: ["latency_p50_ratio", "latency_p99_ratio", "latency_published_p50_ratio"],
    },
    { scenario: "LB config change (`lb.advertIntervalSeconds` doubled)", keys: ["day2_lb_config_failed", "day2_lb_config_most_missing"] },
    { scenario: "swarm forms (init + joins)", keys: ["swarm_form_ms"] },
    {
        scenario: "`docker kill` of the swarm leader, then start",
        keys: ["swarm_manager_kill_failed", "swarm_leader_reelect_ms", "swarm_manager_rejoin_ms"],
    },
];

function figure(m: MetricRecord | undefined, key: string): string {
    if (m === undefined) return `\`${key}\` not in results.json`;
    const v = valueText(m);
    return `${v}${m.stat === "one run" ? "" : ` (${m.stat})`}`;
}

function rowVerdict(ms: readonly (MetricRecord | undefined)[]): Verdict {
    if (ms.some((m) => m === undefined || m.verdict === "not measured")) return "not measured";
    if (ms.some((m) => m!.verdict === "goal missed")) return "goal missed";
    if (ms.some((m) => m!.verdict === "goal met")) return "goal met";
    return "reported";
}

/** "what: " before a figure of a row, unless the row's first figure is the same thing (another statistic of it). */
function label(m: MetricRecord, first: MetricRecord | undefined, always: boolean): string {
    return !always && first !== undefined && m !== first && m.what === first.what ? "" : `${m.what}: `;
}

function goalsCell(ms: readonly (MetricRecord | undefined)[], text: (m: MetricRecord) => string): string {
    const withGoal = ms.filter((m): m is MetricRecord => m !== undefined && (m.goal !== undefined || m.ci !== undefined));
    if (withGoal.length === 0) return "report";
    if (withGoal.length === 1) return text(withGoal[0]);
    return withGoal.map((m) => `${m.what}: ${text(m)}`).join("; ");
}

function summaryTable(r: BenchResults, rows: readonly SummaryRow[]): string[] {
    return [
        row(["Scenario", "Goal (judged by the bench)", "CI asserts", "Measured", "Verdict"]),
        "|---|---|---|---|---|",
        ...rows.map((x) => {
            const ms = x.keys.map((k) => r.metrics[k]);
            return row([
                x.scenario,
                goalsCell(ms, goalText),
                goalsCell(ms, ciText),
                ms.map((m, i) => (m ? `${label(m, ms[0], i === 0)}**${figure(m, x.keys[i])}**` : figure(m, x.keys[i]))).join("; "),
                verdictCell(rowVerdict(ms)),
            ]);
        }),
    ];
}

/** README.md, "Data plane and swarm under load". */
export function renderReadmePerformance(r: BenchResults): string {
    return [
        `From [\`bench/results.json\`](bench/results.json) (\`npm run bench\`; every figure with its trials, settings and machine: [\`bench/results.md\`](bench/results.md)).`,
        ...provenanceLines(r),
        "",
        ...summaryTable(r, PERFORMANCE_ROWS),
    ].join("\n");
}

/** The day-2 operations, in the order the suites run them: key (day2_<key>_*) → what the table calls it. */
const DAY2_ORDER = [
    "version_bump",
    "replicas_up",
    "replicas_down",
    "workers_up",
    "workers_down",
    "nodes_replaced",
    "managers_up",
    "managers_down",
    "lb_config",
] as const;

/** README.md, "Day-2 operations". */
export function renderReadmeDay2(r: BenchResults): string {
    const lines = [row(["operation", "failed requests", "converged", "most members missing at once", "verdict"]), "|---|---|---|---|---|"];
    for (const key of DAY2_ORDER) {
        const failed = r.metrics[`day2_${key}_failed`];
        const converge = r.metrics[`day2_${key}_converge_ms`];
        const missing = r.metrics[`day2_${key}_most_missing`];
        const present = r.metrics[`day2_${key}_service_present`];
        if (failed === undefined) {
            lines.push(row([`\`day2_${key}\``, `not in results.json`, "", "", verdictCell("not measured")]));
            continue;
        }
        const rate = r.runs[failed.run]?.settings.ratePerSecond;
        lines.push(
            row([
                `${failed.what}${rate !== undefined ? ` (${rate} req/s)` : ""}`,
                `**${valueText(failed)}**`,
                converge ? valueText(converge) : "–",
                missing ? `${valueText(missing)}${missing.note ? ` (${missing.note})` : ""}` : "–",
                verdictCell(rowVerdict([failed, converge, missing, ...(present ? [present] : [])])),
            ]),
        );
    }
    lines.push(
        "",
        `From [\`bench/results.json\`](bench/results.json), commit \`${r.source.commit.slice(0, 12)}\`${r.source.clean ? "" : " (working tree had changes)"}; settings and machine of each run: [\`bench/results.md\`](bench/results.md).`,
    );
    return lines.join("\n");
}

/** tests/system/README.md: every figure of one suite run. */
export function renderSuiteTable(r: BenchResults, run: string): string {
    const ms = metricsOf(r, run);
    const lines = [
        `From [\`bench/results.json\`](../../bench/results.json), run \`${run}\`${r.runs[run] ? ` of ${r.runs[run].startedAt}` : " (**not in results.json**)"}, commit \`${r.source.commit.slice(0, 12)}\`.`,
        "",
        row(["Key", "What", "CI asserts", "Goal (bench)", "Measured", "Verdict"]),
        "|---|---|---|---|---|---|",
        ...ms.map((m) => row([`\`${m.key}\``, m.what, ciText(m), goalText(m), `${valueText(m)} (${m.stat})`, verdictCell(m.verdict)])),
    ];
    return lines.join("\n");
}

/** A generated block in a Markdown file, between these markers. */
export function blockMarkers(name: string): { start: string; end: string } {
    return {
        start: `<!-- generated:${name} by \`npm run bench:tables\` from bench/results.json; do not edit -->`,
        end: `<!-- /generated:${name} -->`,
    };
}

/** Replaces the block `name` in `text` (which must hold its markers once). */
export function replaceBlock(text: string, name: string, content: string): string {
    const { start, end } = blockMarkers(name);
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i < 0 || j < i || text.indexOf(start, i + 1) >= 0)
        throw new Error(`no single generated block "${name}" (markers ${start} … ${end})`);
    return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}

export const RESULTS_FILE = "bench/results.json";
export const CHART_FILE = "requests-over-time.png";
/** Pictures of Prometheus's scraped series (dataplane suite, issue #16): one failover, one rollout. */
export const SERIES_CHART_FILES = ["prometheus-failover.png", "prometheus-rollout.png"] as const;

/** Every generated file and its content from `r`: path relative to the repository → content. */
export function generatedDocs(repoRoot: string, r: BenchResults): Map<string, string> {
    const read = (p: string) => fs.readFileSync(path.join(repoRoot, p), "utf8");
    const out = new Map<string, string>();
    const chart = fs.existsSync(path.join(repoRoot, "bench", CHART_FILE)) ? CHART_FILE : undefined;
    out.set("bench/results.md", renderResultsMd(r, chart));
    let readme = read("README.md");
    readme = replaceBlock(readme, "performance", renderReadmePerformance(r));
    readme = replaceBlock(readme, "day2", renderReadmeDay2(r));
    out.set("README.md", readme);
    let system = read("tests/system/README.md");
    system = replaceBlock(system, "dataplane", renderSuiteTable(r, "dataplane"));
    system = replaceBlock(system, "swarm", renderSuiteTable(r, "swarm"));
    out.set("tests/system/README.md", system);
    return out;
}

export function readResults(repoRoot: string): BenchResults {
    const r = JSON.parse(fs.readFileSync(path.join(repoRoot, RESULTS_FILE), "utf8"));
    if (r.schema !== 2) throw new Error(`${RESULTS_FILE}: schema ${r.schema}, expected 2 (rerun npm run bench)`);
    return r as BenchResults;
}

/** Files whose generated parts differ from results.json (after writing them, when `write`). */
export function syncDocs(repoRoot: string, write: boolean): string[] {
    const stale: string[] = [];
    for (const [file, content] of generatedDocs(repoRoot, readResults(repoRoot))) {
        const full = path.join(repoRoot, file);
        const current = fs.existsSync(full) ? fs.readFileSync(full, "utf8") : "";
        if (current === content) continue;
        stale.push(file);
        if (write) fs.writeFileSync(full, content);
    }
    return stale;
}

if (require.main === module) {
    const check = process.argv.includes("--check");
    const root = path.join(__dirname, "..", "..");
    const stale = syncDocs(root, !check);
    if (check && stale.length > 0) {
        console.error(`out of date with ${RESULTS_FILE}: ${stale.join(", ")} (run npm run bench:tables)`);
        process.exit(1);
    }
    console.log(stale.length === 0 ? "tables up to date" : `rewrote ${stale.join(", ")}`);
}
