/**
 * tests/system/alertTiming.ts: the bounds the live suite judges alerts by, from the rules and config
 * Prometheus loaded (here: the program's rendered ones), and the firing episodes read from ALERTS.
 */
import * as yaml from "js-yaml";

import {
    alertAfter,
    episodes,
    fireBoundMs,
    loadedTimings,
    parseDurationMs,
    rangeWindowMs,
    resolveBoundMs,
    resolveFloorMs,
    withMargin,
} from "../system/alertTiming";
import { PROMETHEUS_INTERVAL_SECONDS, renderAlertRules, renderPrometheusConfig } from "../../render/prometheus";

/** The rendered rules as /api/v1/rules shows them (durations in seconds, one group interval). */
function rulesApi(evalSeconds: number) {
    const rendered = yaml.load(renderAlertRules({ consulServers: 3, swarmManagers: 3, swarmNodes: 5, lbNodes: 2 })) as {
        groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
    };
    return {
        groups: rendered.groups.map((g) => ({
            name: g.name,
            interval: evalSeconds,
            rules: g.rules.map((r) => ({
                type: "alerting",
                name: r.alert,
                query: r.expr,
                duration: r.for === undefined ? 0 : parseDurationMs(r.for) / 1000,
            })),
        })),
    };
}

describe("durations and windows", () => {
    test.each([
        ["5s", 5000],
        ["2m", 120_000],
        ["1m30s", 90_000],
        ["500ms", 500],
        ["1h", 3_600_000],
    ])("%s is %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

    test.each(["", "5", "5 s", "s5", "5x"])("%j is refused", (text) =>
        expect(() => parseDurationMs(text)).toThrow("not a Prometheus duration"),
    );

    test("a rule's window is its longest range selector; none is 0", () => {
        expect(rangeWindowMs('increase(keepalived_vrrp_transitions_total{state="MASTER"}[2m]) > 0')).toBe(120_000);
        expect(rangeWindowMs("rate(a[1m]) / rate(b[5m])")).toBe(300_000);
        expect(rangeWindowMs("up == 0")).toBe(0);
    });
});

describe("the program's rules and config as loaded", () => {
    const config = renderPrometheusConfig({ stack: "dev", datacenter: "dc1", consulServersScheme: "http" });
    const t = loadedTimings(config, rulesApi(PROMETHEUS_INTERVAL_SECONDS), "consul-services");

    test("intervals come from the config: the job's scrape (the global one), the discovery refresh, the group's evaluation", () => {
        expect(t.intervals).toEqual({ scrapeMs: PROMETHEUS_INTERVAL_SECONDS * 1000, evalMs: PROMETHEUS_INTERVAL_SECONDS * 1000 });
        expect(t.sdRefreshMs).toBe(PROMETHEUS_INTERVAL_SECONDS * 1000);
    });

    test("VipMoved fires within one scrape + one evaluation (no for:) and resolves within its 2 m window + both", () => {
        const r = t.rules.VipMoved;
        expect(r).toMatchObject({ forMs: 0, windowMs: 120_000 });
        expect(fireBoundMs(r, t.intervals)).toBe(10_000);
        expect(resolveBoundMs(r, t.intervals)).toBe(130_000);
        expect(resolveFloorMs(r, t.intervals)).toBe(115_000);
        expect(withMargin(r.forMs, t.intervals, 3)).toBe(30_000);
        expect(withMargin(r.windowMs, t.intervals, 3)).toBe(150_000);
    });

    test("BackendDown's window is its 1 m; a rule's for: adds to its fire bound", () => {
        expect(resolveBoundMs(t.rules.BackendDown, t.intervals)).toBe(70_000);
        expect(fireBoundMs(t.rules.LbNodeMissing, t.intervals)).toBe(40_000);
    });

    test("a job that is not in the config is an error, not a default", () => {
        expect(() => loadedTimings(config, rulesApi(5), "nope")).toThrow("no job nope");
    });

    test("another evaluation interval moves the bounds with it", () => {
        const slow = loadedTimings(config, rulesApi(15), "consul-services");
        expect(fireBoundMs(slow.rules.VipMoved, slow.intervals)).toBe(20_000);
    });
});

describe("firing episodes from ALERTS samples", () => {
    const ev = 5000;
    test("one sample per evaluation is one episode, resolved at the evaluation after its last sample", () => {
        expect(episodes([10_000, 15_000, 20_000], ev, 60_000)).toEqual([{ startMs: 10_000, lastMs: 20_000, resolvedMs: 25_000 }]);
    });
    test("one late evaluation does not split it; a longer gap does", () => {
        expect(episodes([0, 10_000, 15_000], ev, 60_000)).toHaveLength(1);
        expect(episodes([0, 5000, 30_000], ev, 60_000)).toEqual([
            { startMs: 0, lastMs: 5000, resolvedMs: 10_000 },
            { startMs: 30_000, lastMs: 30_000, resolvedMs: 35_000 },
        ]);
    });
    test("the last episode is still firing until its next evaluation is overdue", () => {
        expect(episodes([0, 5000], ev, 12_000)[0].resolvedMs).toBeNull();
        expect(episodes([0, 5000], ev, 16_000)[0].resolvedMs).toBe(10_000);
    });
    test("after a change: fired and resolved relative to it when it was quiet before; no time when it was already firing", () => {
        expect(alertAfter([13_000, 18_000, 23_000], 10_000, ev, 60_000)).toEqual({
            fresh: true,
            firedMs: 3000,
            resolvedMs: 18_000,
            firing: true,
            firstAfterMs: 3000,
        });
        expect(alertAfter([3000, 8000, 13_000], 10_000, ev, 60_000)).toMatchObject({
            fresh: false,
            firedMs: null,
            firing: true,
            firstAfterMs: 3000,
        });
        expect(alertAfter([], 10_000, ev, 60_000)).toMatchObject({ fresh: true, firedMs: null, firing: false, firstAfterMs: null });
    });
});
