// Issue #15, item 2: no secret in any process's arguments. A process's argv is public on its machine
// (`ps`, /proc/PID/cmdline are readable by every user), so a token passed as a flag is readable by
// every process on the node — on the machine running Pulumi too, for the commands it runs.
//
// Every script of both graphs runs the way its platform runs it, against fake docker, consul, curl
// and aws (tests/harness/fakeNodes.ts) that let it get past its waits; strace records the argv of
// every process started, the shells that run the scripts included. No secret of the graph — nor a
// join or IMDS token the fakes hand out — may appear in any of them.
import { execFileSync } from "child_process";
import { collectArtifacts } from "../harness/artifacts";
import { FakeNodes, graphSecrets, HANDED_OUT_SECRETS, TracedRun } from "../harness/fakeNodes";
import { ProgramRun, runProgram } from "../harness/program";

beforeAll(() => {
    // strace is the witness: without it nothing is checked, so the suite fails rather than skips.
    execFileSync("strace", ["-V"], { stdio: "ignore" });
});

/** Every (run, secret) pair where the secret appears in an argv, with the offending exec line cut short. */
function leaks(runs: readonly TracedRun[], secrets: readonly string[]): string[] {
    const found = runs.flatMap((r) =>
        r.execs.flatMap((exec) =>
            secrets
                .filter((s) => exec.includes(s))
                .map((s) => `${r.label}: ${s} in ${exec.replace(/^\d+ /, "").split(s).join("<SECRET>").slice(0, 300)}`),
        ),
    );
    return [...new Set(found)];
}

describe.each(["dev", "prod"])("%s: no secret in any process's arguments", (stack) => {
    let run: ProgramRun;
    let world: FakeNodes;
    let runs: TracedRun[];
    let secrets: string[];

    beforeAll(async () => {
        run = await runProgram(stack);
        secrets = [...graphSecrets(run), ...HANDED_OUT_SECRETS];
        world = new FakeNodes(run);
        runs = world.runAll();
        // Scripts that daemons run from node files (keepalived's notify, health checks, timers).
        for (const a of collectArtifacts(run)) {
            if (a.kind !== "shell" || !a.path.startsWith("/") || a.node === undefined) continue;
            // The boot script runs once, by cloud-init, as root: it only fetches files (their
            // values through pipes) and starts services; running it here would write to this machine.
            if (a.path === "/usr/local/sbin/swarm-platform-boot") continue;
            runs.push(world.runNodeScript(stack, a.resource, a.path, a.content, a.node));
        }
    }, 600_000);

    afterAll(() => world?.cleanup());

    test("the graph has secrets to look for, and the scripts ran far enough to use them", () => {
        expect(secrets.length).toBeGreaterThan(5);
        // Tokens with a known secret reached Consul (agent, DNS, web registration).
        expect(world.consulTokenRequests().length).toBeGreaterThanOrEqual(3);
        for (const body of world.consulTokenRequests()) expect(secrets.some((s) => body.includes(s))).toBe(true);
        // Every joining node sent its join token to its engine.
        const joins = world.swarmJoinRequests();
        const joinScripts = run.resources.filter(
            (r) => /-join$/.test(r.name) && (r.type === "command:local:Command" || r.type === "aws:ssm/association:Association"),
        );
        expect(joinScripts.length).toBeGreaterThanOrEqual(4);
        // At least one per join script (a replaced first manager joins too, when a manager answers).
        expect(joins.length).toBeGreaterThanOrEqual(joinScripts.length);
        for (const body of joins) expect(HANDED_OUT_SECRETS.some((s) => body.includes(s))).toBe(true);
        // The web service's Consul token became a Swarm secret.
        const deploy = runs.filter((r) => /web-deploy (create|commands)$/.test(r.label));
        expect(deploy.map((r) => [r.label, r.status, r.status === 0 ? "" : r.stderr.slice(-600)])).toEqual([
            [stack === "dev" ? "dev web-deploy create" : "prod web-deploy commands", 0, ""],
        ]);
        expect(world.secretsAfterCreates.some((v) => secrets.includes(v))).toBe(true);
        expect(runs.flatMap((r) => r.execs).length).toBeGreaterThan(100);
    });

    test("no secret appears in the argv of any process, the script runners included", () => {
        expect(leaks(runs, secrets)).toEqual([]);
    });
});
