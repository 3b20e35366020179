// The benchmark's picture: requests over time, one panel per scenario, stacked by outcome (who
// answered, or failed), with the moment of the fault marked. Drawn by gnuplot (Debian gnuplot-nox,
// installed by scripts/system-setup.sh) from data written next to its script in a temporary folder.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Timeline } from "./load";

export interface ChartPanel {
    readonly title: string;
    readonly timeline: Timeline;
    /** Vertical lines, e.g. the fault: ms from the load's start. */
    readonly markers: readonly { readonly atMs: number; readonly label: string }[];
}

/** Failed requests are always drawn in red, on top; answers take the other colours in order. */
export const FAILED = "failed";
const FAILED_COLOUR = "#d62728";
const COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

/** Writes a PNG with one panel per entry. Throws, naming the fix, when gnuplot is missing. */
export function writeRequestsChart(pngFile: string, panels: readonly ChartPanel[]): void {
    if (panels.length === 0) throw new Error("writeRequestsChart: no panels");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-chart-"));
    try {
        const script = [
            `set terminal pngcairo size 1100,${280 * panels.length} font "sans,10"`,
            `set output ${quote(pngFile)}`,
            `set multiplot layout ${panels.length},1`,
            "set style fill solid 0.9 noborder",
            "set key outside right top",
            "set grid ytics",
            "set xlabel 'seconds since the load started (when each request got its answer or failed)'",
            "set yrange [0:*]",
            "set xrange [0:*]",
            "set autoscale xfixmax",
            "# Headroom above the bars for the markers' labels.",
            "set offsets 0, 0, graph 0.18, 0",
        ];
        panels.forEach((panel, p) => script.push(...panelScript(panel, path.join(dir, `panel-${p}.dat`))));
        script.push("unset multiplot", "");
        runGnuplot(dir, script);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function runGnuplot(dir: string, script: readonly string[]): void {
    const scriptFile = path.join(dir, "chart.gp");
    fs.writeFileSync(scriptFile, script.join("\n"));
    try {
        execFileSync("gnuplot", [scriptFile], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
        if (err.code === "ENOENT") throw new Error("gnuplot is not installed: apt-get install gnuplot-nox (scripts/system-setup.sh does)");
        throw new Error(`gnuplot failed on ${scriptFile}: ${err.stderr?.toString() ?? err.message}`);
    }
}

/** A panel of series over time (e.g. Prometheus's query_range answers): one step line per series. */
export interface SeriesPanel {
    readonly title: string;
    readonly ylabel: string;
    /** Label → [seconds since the panel's start, value] points; a missing point is a gap in the line. */
    readonly series: Readonly<Record<string, readonly (readonly [number, number])[]>>;
    readonly markers: readonly { readonly atMs: number; readonly label: string }[];
    /** Fixed y range, e.g. [0, 3] for a state gauge; default from 0 up. */
    readonly yrange?: readonly [number, number];
    /** Tick labels for a state gauge, e.g. {1: "BACKUP", 2: "MASTER"}. */
    readonly yticks?: Readonly<Record<number, string>>;
}

/** Writes a PNG with one panel per entry, each series a step line; throws, naming the fix, when gnuplot is missing. */
export function writeSeriesChart(pngFile: string, heading: string, panels: readonly SeriesPanel[]): void {
    if (panels.length === 0) throw new Error("writeSeriesChart: no panels");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-series-"));
    try {
        const script = [
            `set terminal pngcairo size 1100,${240 * panels.length + 40} font "sans,10"`,
            `set output ${quote(pngFile)}`,
            // Titles quote PromQL: `_` and `{}` are text, not gnuplot's sub/superscript markup.
            "set termoption noenhanced",
            `set multiplot layout ${panels.length},1 title ${quote(heading)}`,
            "set key outside right top",
            "set grid ytics",
            "set xlabel 'seconds'",
            "set offsets 0, 0, graph 0.18, 0",
        ];
        // One time axis for every panel: the latest point or marker of any.
        const xmax = Math.max(
            1,
            ...panels.flatMap((p) => [
                ...Object.values(p.series).flatMap((pts) => pts.map((q) => q[0])),
                ...p.markers.map((m) => m.atMs / 1000),
            ]),
        );
        script.push(`set xrange [0:${Math.ceil(xmax)}]`);
        // One colour per label across the panels (lb-0 is the same colour everywhere).
        const allLabels = [...new Set(panels.flatMap((p) => Object.keys(p.series)))].sort();
        panels.forEach((panel, p) => {
            const labels = Object.keys(panel.series).sort();
            script.push(
                `set title ${quote(panel.title)}`,
                `set ylabel ${quote(panel.ylabel)}`,
                panel.yrange === undefined ? "set yrange [0:*]" : `set yrange [${panel.yrange[0]}:${panel.yrange[1]}]`,
                panel.yticks === undefined
                    ? "set ytics autofreq"
                    : `set ytics (${Object.entries(panel.yticks)
                          .map(([v, l]) => `${quote(l)} ${v}`)
                          .join(", ")})`,
                "unset arrow",
                "unset label",
            );
            for (const m of panel.markers) {
                const x = m.atMs / 1000;
                script.push(`set arrow from ${x}, graph 0 to ${x}, graph 1 nohead front dt 2 lw 1.5 lc rgb "black"`);
                script.push(`set label ${quote(m.label)} at ${x}, graph 0.93 offset 0.5,0 front`);
            }
            const plots = labels.map((label, k) => {
                const file = path.join(dir, `series-${p}-${k}.dat`);
                // A blank line where consecutive points are more than 2.5 steps apart: gnuplot breaks the line there.
                const pts = panel.series[label];
                const step = pts.length > 1 ? Math.min(...pts.slice(1).map((q, i) => q[0] - pts[i][0])) : 1;
                const rows: string[] = [];
                pts.forEach((q, i) => {
                    if (i > 0 && q[0] - pts[i - 1][0] > 2.5 * step) rows.push("");
                    rows.push(`${q[0]} ${q[1]}`);
                });
                fs.writeFileSync(file, `${rows.join("\n")}\n`);
                const colour = COLOURS[allLabels.indexOf(label) % COLOURS.length];
                return `${quote(file)} using 1:2 with steps lw 2 lc rgb "${colour}" title ${quote(label)}`;
            });
            if (plots.length > 0) script.push(`plot ${plots.join(", \\\n     ")}`);
            else script.push("set yrange [0:1]", "plot -1 title '(no samples)'");
        });
        script.push("unset multiplot", "");
        runGnuplot(dir, script);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The panel's data file (x, then one cumulative column per series) and its gnuplot commands. */
function panelScript(panel: ChartPanel, dataFile: string): string[] {
    const { bucketMs, series } = panel.timeline;
    const labels = [
        ...Object.keys(series)
            .filter((l) => l !== FAILED)
            .sort(),
        ...(FAILED in series ? [FAILED] : []),
    ];
    const buckets = Math.max(0, ...labels.map((l) => series[l].length));
    const rows: string[] = [];
    for (let i = 0; i < buckets; i++) {
        let sum = 0;
        const cumulative = labels.map((l) => (sum += series[l][i] ?? 0));
        rows.push([((i + 0.5) * bucketMs) / 1000, ...cumulative].join(" "));
    }
    fs.writeFileSync(dataFile, `${rows.join("\n")}\n`);

    const out = [
        `set title ${quote(panel.title)}`,
        `set ylabel ${quote(`requests ended per ${bucketMs} ms`)}`,
        `set boxwidth ${bucketMs / 1000} absolute`,
        "unset arrow",
        "unset label",
    ];
    for (const m of panel.markers) {
        const x = m.atMs / 1000;
        out.push(`set arrow from ${x}, graph 0 to ${x}, graph 1 nohead front dt 2 lw 1.5 lc rgb "black"`);
        out.push(`set label ${quote(m.label)} at ${x}, graph 0.93 offset 0.5,0 front`);
    }
    // Tallest cumulative column first, so each band shows one series on top of the ones below it.
    const plots = labels
        .map((label, k) => {
            const colour = label === FAILED ? FAILED_COLOUR : COLOURS[k % COLOURS.length];
            return `${quote(dataFile)} using 1:${k + 2} with boxes lc rgb "${colour}" title ${quote(label)}`;
        })
        .reverse();
    out.push(`plot ${plots.join(", \\\n     ")}`);
    return out;
}

/** A gnuplot single-quoted string (no escapes inside; a quote is written twice). */
function quote(text: string): string {
    return `'${text.replace(/'/g, "''")}'`;
}
