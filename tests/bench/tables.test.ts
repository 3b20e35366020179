// The benchmark's record and the tables generated from it (tests/system/tables.ts): the committed
// documents show exactly what bench/results.json holds, a figure is "goal met" only when it meets its
// goal, a missing figure is "not measured", and every run names its tree, settings and machine.
import { REPO_ROOT } from "../harness/program";
import {
    BenchResults,
    MetricRecord,
    meets,
    readResults,
    renderResultsMd,
    renderSuiteTable,
    syncDocs,
    valueText,
    verdictOf,
} from "../system/tables";

const committed = readResults(REPO_ROOT);

describe("bench/results.json and its tables", () => {
    it("README.md, tests/system/README.md and bench/results.md are what `npm run bench:tables` writes", () => {
        expect(syncDocs(REPO_ROOT, false)).toEqual([]);
    });

    it("names the tree it measured: a commit and a tree hash, clean unless BENCH_ALLOW_DIRTY said otherwise", () => {
        expect(committed.source.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(committed.source.tree).toMatch(/^[0-9a-f]{40}$/);
        expect(typeof committed.source.clean).toBe("boolean");
    });

    it.each(Object.keys(committed.runs))("run %s records its settings and the machine, measured at run time", (name) => {
        const run = committed.runs[name];
        expect(run.settings).toEqual(expect.objectContaining({ ratePerSecond: expect.any(Number), timeoutMs: expect.any(Number) }));
        expect(run.machine).toEqual(
            expect.objectContaining({ cpus: expect.any(Number), dockerEngine: expect.any(String), loadAvgStart: expect.any(Array) }),
        );
        expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    });

    it.each(Object.values(committed.metrics).map((m) => [m.key, m] as const))(
        "%s: its verdict is its value against its goal, and its run is recorded",
        (_key, m) => {
            expect(m.verdict).toBe(verdictOf(m.value, m.goal));
            expect(Object.keys(committed.runs)).toContain(m.run);
        },
    );
});

describe("verdicts", () => {
    it("a figure at its goal's limit meets it; one past it does not", () => {
        expect(verdictOf(1000, { op: "<=", limit: 1000 })).toBe("goal met");
        expect(verdictOf(1001, { op: "<=", limit: 1000 })).toBe("goal missed");
        expect(verdictOf(1, { op: "<", limit: 1 })).toBe("goal missed");
        expect(verdictOf(0.99, { op: "<", limit: 1 })).toBe("goal met");
        expect(verdictOf(3, { op: ">=", limit: 3 })).toBe("goal met");
        expect(verdictOf(2, { op: ">=", limit: 3 })).toBe("goal missed");
        expect(verdictOf(0, { op: "==", limit: 0 })).toBe("goal met");
        expect(verdictOf(1, { op: "==", limit: 0 })).toBe("goal missed");
    });

    it("a missing measurement is 'not measured', never 'goal met' nor a zero", () => {
        expect(verdictOf(null, { op: "<=", limit: 1000 })).toBe("not measured");
        expect(verdictOf(Number.NaN, { op: "<=", limit: 1000 })).toBe("not measured");
        expect(verdictOf(null, undefined)).toBe("not measured");
        expect(valueText({ value: null, unit: "ms" })).toBe("not measured");
    });

    it("a figure without a goal is 'reported'", () => {
        expect(verdictOf(18756, undefined)).toBe("reported");
        expect(meets(5, { op: "<=", limit: 5 })).toBe(true);
    });
});

describe("the generated tables", () => {
    const metric = (over: Partial<MetricRecord>): MetricRecord => ({
        key: "membership_add_p95_ms",
        run: "dataplane",
        value: 1044,
        unit: "ms",
        what: "passing in Consul → first answer",
        stat: "p95 of 20 trials",
        goal: { op: "<=", limit: 1000 },
        ci: { op: "<=", limit: 3000 },
        verdict: "goal missed",
        loadAvg1: 11,
        command: "npm run test:system -- -t membership",
        ...over,
    });
    const results = (m: MetricRecord): BenchResults => ({
        schema: 2,
        command: "npm run bench",
        source: { commit: "a".repeat(40), tree: "b".repeat(40), clean: false },
        generatedAt: "2026-12-05T00:00:00.000Z",
        runs: {
            dataplane: {
                suite: "tests/system/dataplane.test.ts",
                startedAt: "2026-12-05T00:00:00.000Z",
                finishedAt: "2026-12-05T00:10:00.000Z",
                settings: { ratePerSecond: 250, trials: 5 },
                machine: { cpus: 2, dockerEngine: "20.10.24" },
            },
        },
        metrics: { [m.key]: m },
        details: {},
    });

    it("shows a missed goal and a missing figure in bold, with the CI bound beside the goal", () => {
        const missed = renderSuiteTable(results(metric({})), "dataplane");
        expect(missed).toContain(
            "| `membership_add_p95_ms` | passing in Consul → first answer | ≤ 3,000 ms | ≤ 1,000 ms | 1,044 ms (p95 of 20 trials) | **goal missed** |",
        );
        const missing = renderSuiteTable(results(metric({ value: null, verdict: "not measured" })), "dataplane");
        expect(missing).toContain("| not measured (p95 of 20 trials) | **not measured** |");
    });

    it("bench/results.md states the tree, whether it was clean, and the run's settings as recorded", () => {
        const md = renderResultsMd(results(metric({})));
        expect(md).toContain("`" + "a".repeat(40) + "`");
        expect(md).toContain("`" + "b".repeat(40) + "`");
        expect(md).toMatch(/ratePerSecond 250, trials 5/);
        expect(md).not.toMatch(/\(clean\)/);
    });
});
