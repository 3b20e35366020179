/**
 * render/swarm.ts: the join-token rotation script (rotation.swarmJoinTokens), run against the fake
 * `docker` (tests/render/swarmFakes.ts) and shellcheck. What it must do: rotate the worker and the
 * manager token exactly once per generation — however often a platform runs it (aws runs a cluster
 * script on every manager in turn) — never print a token, and touch nothing but the tokens (no node,
 * no service: Docker's docs say joined nodes do not use the token again).
 */
import * as fs from "fs";
import * as path from "path";
import { joinTokenRotationMarker, renderSwarmJoinScript, renderSwarmJoinTokenRotateScript } from "../../render/swarm";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";
import { callsOf, cleanupWorlds, joinRequests, MANAGER_TOKEN, WORKER_JOIN_INPUT, WORKER_TOKEN, worldWithState } from "./swarmFakes";

beforeAll(requireShellcheck);
afterAll(cleanupWorlds);

const MANAGER = { control: "true", state: "active" };

describe("renderSwarmJoinTokenRotateScript", () => {
    const script = renderSwarmJoinTokenRotateScript({ generation: 2 });

    it("passes shellcheck, starts with the shared prelude and never enables tracing", () => {
        expect(shellcheck(script)).toBe("");
        expect(script).toContain("\nset +xv\nset -eu\numask 077\n");
        expect(script).not.toMatch(/set -[a-wyz]*x/);
    });

    it("on a manager: rotates the worker, then the manager token, records the generation, and prints no token", () => {
        const w = worldWithState(MANAGER);
        const r = w.run(script);
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "join-token")).toEqual([
            ["swarm", "join-token", "--rotate", "-q", "worker"],
            ["swarm", "join-token", "--rotate", "-q", "manager"],
        ]);
        // Nothing else changes in the swarm: no node, service or membership command runs.
        const mutating = r.calls.filter((c) => ["node", "service", "swarm"].includes(c[0]) && c[1] !== "join-token");
        expect(mutating).toEqual([]);
        expect(fs.readFileSync(path.join(w.state, `config-${joinTokenRotationMarker(2)}`), "utf8")).toBe("2\n");
        // The new tokens: different from the old ones, and in neither output (the runner logs both).
        const now = ["worker", "manager"].map((role) => fs.readFileSync(path.join(w.state, `${role}-token`), "utf8").trim());
        expect(now).not.toContain(WORKER_TOKEN);
        expect(now).not.toContain(MANAGER_TOKEN);
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/SWMTKN/);
        expect(r.stderr).toMatch(/rotated the worker join token/);
    });

    it("rotates once per generation: a second run (another manager, a replaced one) changes nothing", () => {
        const w = worldWithState(MANAGER);
        const first = w.run(script);
        expect(first.status).toBe(0);
        // A world's call log spans its runs: each run's own calls come after the previous run's.
        const again = w.run(script);
        expect(again.status).toBe(0);
        const againCalls = again.calls.slice(first.calls.length);
        expect(againCalls.filter((c) => c[1] === "join-token")).toEqual([]);
        expect(again.stderr).toMatch(/already rotated for generation 2; nothing to do/);
        // The next generation rotates again.
        const next = w.run(renderSwarmJoinTokenRotateScript({ generation: 3 }));
        expect(
            next.calls
                .slice(again.calls.length)
                .filter((c) => c[1] === "join-token")
                .map((c) => c[4]),
        ).toEqual(["worker", "manager"]);
    });

    it("a node that joins afterwards is handed the new token, read from the manager at join time", () => {
        const w = worldWithState(MANAGER);
        expect(w.run(script).status).toBe(0);
        // What the platform runs for a joining node (SwarmCluster's secretEnv): read on a live manager…
        const read = w.run("docker swarm join-token -q worker");
        const token = read.stdout.trim();
        expect(token).toMatch(/^SWMTKN-1-.*rotated1worker$/);
        // …and handed to the node's join script in its environment.
        const joining = worldWithState({}).run(renderSwarmJoinScript(WORKER_JOIN_INPUT), "-s", { SWARM_JOIN_TOKEN: token });
        expect(joining.status).toBe(0);
        // The join goes through the engine API with the token in the body (render/swarm.ts joinRequestLines).
        expect(joinRequests(joining).map((r) => r.JoinToken)).toEqual([token]);
    });

    it("refuses to run on an engine that is not a manager, rotating nothing", () => {
        const r = worldWithState({ state: "active", control: "false" }).run(script);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/not a swarm manager/);
        expect(callsOf(r, "swarm", "join-token")).toEqual([]);
    });

    it("fails on a refused rotation without echoing any token, and records no generation (the next run retries)", () => {
        const w = worldWithState({ ...MANAGER, "join-token-error": `Error: cannot rotate ${WORKER_TOKEN}\n` });
        const r = w.run(script);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/docker swarm join-token --rotate worker failed: Error: cannot rotate <redacted>/);
        expect(r.stderr).not.toMatch(/SWMTKN/);
        expect(fs.existsSync(path.join(w.state, `config-${joinTokenRotationMarker(2)}`))).toBe(false);
    });

    it("takes a whole generation ≥ 1", () => {
        expect(() => renderSwarmJoinTokenRotateScript({ generation: 0 })).toThrow(
            "renderSwarmJoinTokenRotateScript: invalid input:\n  - generation 0 must be a whole number ≥ 1 (0 means: never rotated, no script)",
        );
        expect(() => renderSwarmJoinTokenRotateScript({ generation: 1.5 })).toThrow(/generation 1.5 must be a whole number ≥ 1/);
        expect(() => renderSwarmJoinTokenRotateScript({ generation: 1, readyTimeoutSeconds: 0 })).toThrow(
            /readyTimeoutSeconds 0 must be an integer from 1 to 3600/,
        );
    });
});
