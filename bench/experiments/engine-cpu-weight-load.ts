// Experiment (bench/experiments/2026-12-06-engine-cpu-weight.md): the swarm suite's load generator
// (50 requests/s, 1 s deadline) against a URL, for S seconds; prints failures and the latency tail.
// The load CLI (tests/system/load.ts) sends only to 127.0.0.0/8; this one is for the kept swarm
// plane's VIP (plain HTTP on the LB pair, no edge).
//   npx ts-node --transpile-only bench/experiments/engine-cpu-weight-load.ts http://10.213.9.10/ 60
import { runLoad, summarize, percentile } from "../../tests/system/load";

(async () => {
    const [url, seconds] = [process.argv[2], Number(process.argv[3] ?? 60)];
    const run = await runLoad({ url, ratePerSecond: 50, durationMs: seconds * 1000, timeoutMs: 1000 });
    const s = summarize(run);
    // p99 and max as the suites report them; the summary has no p99.9 or count of slow answers.
    const ms = run.samples
        .filter((x) => x.ok)
        .map((x) => x.doneMs - x.sentMs)
        .sort((a, b) => a - b);
    console.log(
        `p99 ${Math.round(s.latencyMs.p99)} ms, p99.9 ${Math.round(percentile(ms, 0.999))} ms, max ${Math.round(s.latencyMs.max)} ms; ` +
            `${s.failed}/${s.requests} failed, ${ms.filter((x) => x > 500).length} answered after 500 ms`,
    );
})();
