// Experiment (bench/experiments/2026-12-05-load-generator-stall.md): what a pause of the load
// generator's own process does to its verdicts, and that a real failure still fails.
//
// A local HTTP server in a child process answers every request in 20 ms (`ok`), or never answers
// requests 150–152 (`drop`), or answers requests 150–159 after 1,200 ms (`slow`). The generator
// sends 100 requests/s for 4 s with a 1 s deadline. With `stop`, 1.5 s in, the generator is stopped
// by the kernel for 1.5 s (SIGSTOP … SIGCONT: what a descheduled process sees); with `busy` its
// event loop is blocked in a callback for 1.5 s; with `none` it runs undisturbed.
//
// Run: npx ts-node --transpile-only bench/experiments/load-generator-stall.ts <ok|drop|slow> <none|stop|busy>
import { fork, spawn } from "child_process";
import * as http from "http";
import { runLoad, summarize } from "../../tests/system/load";

const [serverMode = "ok", stall = "stop"] = process.argv.slice(2);

if (process.argv[2] === "server") {
    const mode = process.argv[3];
    let n = 0;
    const server = http.createServer((_req, res) => {
        const i = n++;
        if (mode === "drop" && i >= 150 && i <= 152) return; // never answered
        const ms = mode === "slow" && i >= 150 && i <= 159 ? 1200 : 20;
        setTimeout(() => res.end("swarm-platform web 0 task=stall-experiment\n"), ms);
    });
    server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
} else {
    const child = fork(__filename, ["server", serverMode], { execArgv: ["-r", "ts-node/register/transpile-only"] });
    child.once("message", async (port) => {
        const load = runLoad({ url: `http://127.0.0.1:${port}/`, ratePerSecond: 100, durationMs: 4000, timeoutMs: 1000 });
        if (stall === "busy")
            setTimeout(() => {
                const until = Date.now() + 1500;
                while (Date.now() < until) {
                    // The event loop is blocked.
                }
            }, 1500);
        else if (stall === "stop")
            spawn("sh", ["-c", `sleep 1.5; kill -STOP ${process.pid}; sleep 1.5; kill -CONT ${process.pid}`], { stdio: "ignore" });
        const run = await load;
        const s = summarize(run);
        console.log(
            JSON.stringify({
                server: serverMode,
                generator: stall,
                requests: s.requests,
                failed: s.failed,
                failures: s.failures.map((f) => `${f.error} (client stalled ${f.clientStallMs} ms)`),
                generatorStallsMs: run.stalls.map((x) => x.ms),
                longestAnswerMs: Math.round(s.latencyMs.max),
            }),
        );
        child.kill();
    });
}
