// Measurements of a system-test run, and the benchmark files (bench/results.json, bench/results.md)
// written from them when BENCH_WRITE=1 (`npm run bench`).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";
import { ChartPanel, writeRequestsChart } from "./chart";

export interface Metric {
    readonly key: string;
    readonly value: number | null;
    readonly unit: string;
    /** Human-readable goal, e.g. "≤ 500 (fail > 900)". */
    readonly goal: string;
    readonly pass: boolean | null;
    readonly command: string;
    readonly note?: string;
    /** Shown instead of the value when it is null (default "not measured"). */
    readonly whenNull?: string;
}

const SYSTEM_COMMAND = "npm run test:system";
/** The requests-over-time picture next to results.md. */
const CHART_FILE = "requests-over-time.png";

export class Results {
    private readonly metrics = new Map<string, Metric>();
    private readonly details: Record<string, unknown> = {};
    private readonly panels = new Map<string, ChartPanel>();

    set(m: Omit<Metric, "command"> & { command?: string }): void {
        this.metrics.set(m.key, { command: `${SYSTEM_COMMAND} -- -t '${m.key}'`, ...m });
    }

    get(key: string): number | null {
        return this.metrics.get(key)?.value ?? null;
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
     * Writes bench/results.json and bench/results.md. Each system-test suite (a jest test file) has
     * its own Results and writes when it ends: the figures another suite already wrote to
     * results.json for the same commit are kept (this run's own keys win), so `npm run bench` over
     * every suite ends with all of them.
     */
    write(dir = path.join(REPO_ROOT, "bench")): void {
        fs.mkdirSync(dir, { recursive: true });
        const commit = git(["rev-parse", "HEAD"]);
        // bench/ itself is not a change to the code measured (the other suite may have just written it).
        const dirty = git(["status", "--porcelain", "--", ".", ":(exclude)bench"]).length > 0;
        this.keepOtherSuites(path.join(dir, "results.json"), commit);
        const json: Record<string, unknown> = {
            generated_at: new Date().toISOString(),
            git_commit: commit,
            git_dirty: dirty,
            command: "npm run bench",
        };
        for (const m of this.metrics.values()) json[m.key] = m.value;
        json.goals = Object.fromEntries(
            [...this.metrics.values()].map((m) => [
                m.key,
                { goal: m.goal, unit: m.unit, pass: m.pass, command: m.command, note: m.note, whenNull: m.whenNull },
            ]),
        );
        json.details = this.details;
        const withoutTimelines = (key: string, value: unknown) => (key === "timeline" ? undefined : value);
        fs.writeFileSync(path.join(dir, "results.json"), `${JSON.stringify(json, withoutTimelines, 2)}\n`);
        const panels = [...this.panels.keys()].sort().map((k) => this.panels.get(k)!);
        if (panels.length > 0) writeRequestsChart(path.join(dir, CHART_FILE), panels);

        const rows = [...this.metrics.values()].map((m) => {
            const measured = m.value === null ? (m.whenNull ?? "not measured") : `${m.value} ${m.unit}`.trim();
            const result = m.pass === null ? "–" : m.pass ? "pass" : "**FAIL**";
            return `| \`${m.key}\` | ${m.goal} | ${measured} | ${result} | \`${m.command}\` | ${m.note ?? ""} |`;
        });
        const md = [
            "# System-test benchmark (data plane, swarm)",
            "",
            `Generated ${json.generated_at} by \`npm run bench\` at commit \`${commit}\`${dirty ? " (working tree had changes)" : ""}.`,
            "Machine: see /work/shared/test-machine.md (2 cores, Docker 20.10). Load: 100 req/s (`swarm_*`: 50 req/s), 1 s timeout,",
            "no retries, one connection per request, through the edge on 127.0.0.1. Data-plane timings are medians of 3 trials",
            "unless noted; `swarm_*` figures are one run each.",
            "",
            "| Metric | Goal | Measured | Result | Command | Note |",
            "|---|---|---|---|---|---|",
            ...rows,
            "",
            "Details (every trial) are in `bench/results.json` under `details`. Failing rows: causes, measurements and",
            "proposed fixes in `bench/proposals/README.md`.",
            "",
            ...(fs.existsSync(path.join(dir, CHART_FILE)) ? [`![Requests over time](${CHART_FILE})`, ""] : []),
        ].join("\n");
        fs.writeFileSync(path.join(dir, "results.md"), md);
    }

    /** Adds the metrics and details of an earlier results.json that this run did not set, if it was written at `commit`. */
    private keepOtherSuites(file: string, commit: string): void {
        let previous: Record<string, any>;
        try {
            previous = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            return;
        }
        if (commit === "unknown" || previous.git_commit !== commit) return;
        for (const [key, g] of Object.entries<Record<string, any>>(previous.goals ?? {})) {
            if (this.metrics.has(key)) continue;
            this.metrics.set(key, {
                key,
                value: previous[key] ?? null,
                unit: g.unit ?? "",
                goal: g.goal ?? "",
                pass: g.pass ?? null,
                command: g.command ?? "npm run bench",
                note: g.note,
                whenNull: g.whenNull,
            });
        }
        for (const [key, value] of Object.entries(previous.details ?? {})) if (!(key in this.details)) this.details[key] = value;
    }
}

function git(args: string[]): string {
    try {
        return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    } catch {
        return "unknown";
    }
}
