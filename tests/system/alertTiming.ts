// When an alert of the program's rules may fire and resolve, from the rules and the config Prometheus
// actually loaded (its HTTP API: /api/v1/rules, /api/v1/status/config), and the firing episodes of an
// alert from its ALERTS samples. Pure: the live suite (tests/system/prometheus.ts) feeds it; unit
// tests in tests/prometheus/alertTiming.test.ts.
import * as yaml from "js-yaml";

/** A Prometheus duration (`5s`, `2m`, `1m30s`, `500ms`, `1h`) in milliseconds. */
export function parseDurationMs(text: string): number {
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
    const re = /(\d+)(ms|s|m|h|d|w|y)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m.index !== consumed) break;
        total += Number(m[1]) * units[m[2]];
        consumed = m.index + m[0].length;
    }
    if (text === "" || consumed !== text.length) throw new Error(`not a Prometheus duration: ${JSON.stringify(text)}`);
    return total;
}

/**
 * The longest range selector in a PromQL expression (`increase(x[2m])` → 120000 ms): how long a
 * change stays inside the rule's view. 0 when the expression has none (an instant condition).
 */
export function rangeWindowMs(expr: string): number {
    // A range selector follows a series selector or `}`; subqueries (`[5m:1m]`) are not used by the rules.
    const windows = [...expr.matchAll(/\[([0-9a-z]+)\]/g)].map((m) => parseDurationMs(m[1]));
    return windows.length === 0 ? 0 : Math.max(...windows);
}

/** The intervals that delay what a rule sees, as Prometheus runs them. */
export interface PrometheusIntervals {
    /** The scrape interval of the job whose series the rule reads. */
    readonly scrapeMs: number;
    /** The rule group's evaluation interval. */
    readonly evalMs: number;
}

/** A rule as loaded, with what matters for its timing. */
export interface RuleTiming {
    readonly name: string;
    readonly expr: string;
    /** Its `for:` (0 when absent). */
    readonly forMs: number;
    /** Its longest range selector (rangeWindowMs). */
    readonly windowMs: number;
}

/**
 * The latest an alert fires after the change it watches happened: the next scrape sees the change
 * (≤ one scrape interval), the next evaluation after that finds the condition true (≤ one evaluation
 * interval), and it then stays true for `for:` before the alert fires.
 */
export function fireBoundMs(rule: RuleTiming, t: PrometheusIntervals): number {
    return rule.forMs + t.scrapeMs + t.evalMs;
}

/**
 * The latest an event-style alert (a range window over a counter) resolves after the last change:
 * the change leaves the window, then up to a scrape and an evaluation interval pass.
 */
export function resolveBoundMs(rule: RuleTiming, t: PrometheusIntervals): number {
    return rule.windowMs + t.scrapeMs + t.evalMs;
}

/**
 * The earliest it may resolve: the window still holds the sample before the change and the one after
 * it until the window has moved past the sample before, which is at most one scrape interval older
 * than the change. Resolving earlier means the window is not what holds the alert.
 */
export function resolveFloorMs(rule: RuleTiming, t: PrometheusIntervals): number {
    return Math.max(0, rule.windowMs - t.scrapeMs);
}

/**
 * The CI bound of a delay `exact + intervals`: the rule's own time (`for:`, the window) is exact, the
 * scrape and evaluation intervals are what a loaded machine can stretch, so only they get the margin.
 */
export function withMargin(exactMs: number, t: PrometheusIntervals, margin: number): number {
    return exactMs + margin * (t.scrapeMs + t.evalMs);
}

/** The intervals of `job` and the rules, from GET /api/v1/status/config's YAML and GET /api/v1/rules' data. */
export function loadedTimings(
    configYaml: string,
    rulesData: { groups: { name: string; interval: number; rules: { type: string; name: string; query: string; duration: number }[] }[] },
    job: string,
): { intervals: PrometheusIntervals; sdRefreshMs: number; rules: Record<string, RuleTiming> } {
    const config = yaml.load(configYaml) as {
        global: { scrape_interval?: string; evaluation_interval?: string };
        scrape_configs: { job_name: string; scrape_interval?: string; http_sd_configs?: { refresh_interval?: string }[] }[];
    };
    const scrapeConfig = config.scrape_configs.find((c) => c.job_name === job);
    if (scrapeConfig === undefined) throw new Error(`Prometheus's config has no job ${job}`);
    const scrapeMs = parseDurationMs(scrapeConfig.scrape_interval ?? config.global.scrape_interval ?? "1m");
    const sdRefreshMs = parseDurationMs(scrapeConfig.http_sd_configs?.[0]?.refresh_interval ?? "1m");
    const rules: Record<string, RuleTiming> = {};
    let evalMs: number | undefined;
    for (const g of rulesData.groups) {
        for (const r of g.rules) {
            if (r.type !== "alerting") continue;
            rules[r.name] = { name: r.name, expr: r.query, forMs: Math.round(r.duration * 1000), windowMs: rangeWindowMs(r.query) };
            const groupEval = Math.round(g.interval * 1000);
            if (evalMs !== undefined && evalMs !== groupEval) throw new Error("the alerting rules' groups evaluate at different intervals");
            evalMs = groupEval;
        }
    }
    if (evalMs === undefined) throw new Error("Prometheus has no alerting rules loaded");
    return { intervals: { scrapeMs, evalMs }, sdRefreshMs, rules };
}

/** One stretch of an alert's firing samples: its first and last evaluation, and when it resolved (null: still firing). */
export interface Episode {
    readonly startMs: number;
    readonly lastMs: number;
    readonly resolvedMs: number | null;
}

/**
 * The firing episodes of one ALERTS series from its samples' timestamps (one per evaluation while it
 * fires). A gap of more than two evaluation intervals ends an episode (one late evaluation on a
 * loaded machine does not); the evaluation after the last sample is the one that found it resolved.
 * The last episode is still firing when that evaluation is not yet due at `nowMs`.
 */
export function episodes(timestampsMs: readonly number[], evalMs: number, nowMs: number): Episode[] {
    const ts = [...timestampsMs].sort((a, b) => a - b);
    const out: Episode[] = [];
    let start: number | undefined;
    let last: number | undefined;
    for (const t of ts) {
        if (start !== undefined && last !== undefined && t - last > 2 * evalMs) {
            out.push({ startMs: start, lastMs: last, resolvedMs: last + evalMs });
            start = undefined;
        }
        start ??= t;
        last = t;
    }
    if (start !== undefined && last !== undefined)
        out.push({ startMs: start, lastMs: last, resolvedMs: nowMs - last > 2 * evalMs ? last + evalMs : null });
    return out;
}

/** What one alert series did after a change it watches (times relative to the change, ms). */
export interface AlertAfterChange {
    /** It had no firing sample in the two evaluations before the change: its start is this change's doing. */
    readonly fresh: boolean;
    /** Its first firing evaluation at or after the change (null: it did not fire, or it was already firing). */
    readonly firedMs: number | null;
    /** The evaluation that found it resolved, for the episode that holds the change (null: not resolved, or never fired). */
    readonly resolvedMs: number | null;
    /** It fired (or was firing) at all after the change. */
    readonly firing: boolean;
    /** Its first firing sample at or after the change, fresh or not (null: none). */
    readonly firstAfterMs: number | null;
}

/** How the ALERTS series with samples at `timestampsMs` answered a change at `changeMs`. */
export function alertAfter(timestampsMs: readonly number[], changeMs: number, evalMs: number, nowMs: number): AlertAfterChange {
    const before = timestampsMs.some((t) => t < changeMs && t >= changeMs - 2 * evalMs);
    const episode = episodes(timestampsMs, evalMs, nowMs).find((e) => e.lastMs >= changeMs);
    if (episode === undefined) return { fresh: !before, firedMs: null, resolvedMs: null, firing: false, firstAfterMs: null };
    const firstAfter = [...timestampsMs].sort((a, b) => a - b).find((t) => t >= changeMs)!;
    return {
        fresh: !before,
        firedMs: before ? null : firstAfter - changeMs,
        resolvedMs: episode.resolvedMs === null ? null : episode.resolvedMs - changeMs,
        firing: true,
        firstAfterMs: firstAfter - changeMs,
    };
}
