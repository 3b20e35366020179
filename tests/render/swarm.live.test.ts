/**
 * render/swarm.ts, slow set (`npm test` only, not run per mutant): shellcheck over every rendered
 * script, and the fake-docker runs that wait out a time bound (an engine that never answers, a
 * join that never succeeds, a drain past its deadline) and so take seconds each.
 */
import * as fs from "fs";
import * as path from "path";
import {
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
} from "../../render/swarm";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";
import { callsOf, cleanupWorlds, MANAGER_TOKEN, REPO, world, WORKER_JOIN_INPUT, WORKER_TOKEN } from "./swarmFakes";

beforeAll(requireShellcheck);
afterAll(cleanupWorlds);

describe("every rendered script passes shellcheck and never enables tracing", () => {
    const scripts: Record<string, string> = {
        init: renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "mgr-0" }),
        join: renderSwarmJoinScript({
            role: "worker",
            nodeName: "wrk-0",
            advertiseAddr: "10.213.0.20",
            managerAddrs: ["10.213.0.10", "10.213.0.11:2377"],
            tokenEnv: "SWARM_JOIN_TOKEN",
        }),
        leave: renderSwarmLeaveScript({ role: "manager", nodeName: "mgr-2" }),
        nodeRemove: renderSwarmNodeRemoveScript({ nodeName: "mgr-2" }),
    };
    it.each(Object.keys(scripts))("%s", (name) => {
        const text = scripts[name];
        expect(shellcheck(text)).toBe("");
        expect(text.startsWith("#!/bin/sh\n")).toBe(true);
        expect(text).not.toMatch(/set -[a-wyz]*x/);
    });

    it("images/swarm-node/entrypoint.sh passes shellcheck as bash", () => {
        const text = fs.readFileSync(path.join(REPO, "images/swarm-node/entrypoint.sh"), "utf8");
        expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
        expect(shellcheck(text, "bash")).toBe("");
    });

    it("the swarm-node Dockerfile copies the entrypoint from the repository root", () => {
        const dockerfile = fs.readFileSync(path.join(REPO, "images/swarm-node/Dockerfile"), "utf8");
        expect(dockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
        expect(dockerfile).toMatch(/COPY images\/swarm-node\/entrypoint\.sh /);
        expect(dockerfile).toMatch(/^VOLUME \/var\/lib\/docker$/m);
    });
});

describe("renderSwarmInitScript", () => {
    it("gives up waiting for an engine that never answers, within the bound", () => {
        const r = world({ "engine-down": "" })(
            renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "node-0", readyTimeoutSeconds: 2 }),
        );
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/did not answer within 2 s/);
        expect(r.ms).toBeLessThan(6000);
    });
});

describe("renderSwarmJoinScript", () => {
    const script = renderSwarmJoinScript(WORKER_JOIN_INPUT);
    const withToken = (token: string) => ({ SWARM_JOIN_TOKEN: token });

    it("fails with a clear message, within its time bound, when no manager works", () => {
        const r = world({ "bad-managers": "10.213.0.10:2377\n10.213.0.11:2377\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/could not join the swarm as a worker via any of: 10.213.0.10:2377 10.213.0.11:2377/);
        expect(r.ms).toBeLessThan(8000);
    });
});

describe("renderSwarmInitScript on a replaced first manager (joinExisting)", () => {
    const script = renderSwarmInitScript({
        advertiseAddr: "10.213.0.10",
        nodeName: "node-0",
        joinExisting: { managerAddrs: ["10.213.0.11", "10.213.0.12"], tokenEnv: "SWARM_JOIN_TOKEN" },
        healthTimeoutSeconds: 2,
    });

    it("passes shellcheck", () => expect(shellcheck(script)).toBe(""));

    it("fails, and says so, when it joined but the swarm does not report it reachable in time", () => {
        const r = world({ "join-control": "true", "self-health": "ready unreachable" })(script, "-s", { SWARM_JOIN_TOKEN: MANAGER_TOKEN });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/did not report this manager healthy within 2 s/);
    });
});

describe("renderSwarmJoinScript waits until the swarm counts the node", () => {
    it("a manager is done only once `docker node inspect self` says ready and reachable", () => {
        const script = renderSwarmJoinScript({
            role: "manager",
            nodeName: "node-0",
            advertiseAddr: "10.213.0.11",
            managerAddrs: ["10.213.0.10"],
            tokenEnv: "SWARM_JOIN_TOKEN",
            healthTimeoutSeconds: 2,
        });
        const ok = world({ "join-control": "true" })(script, "-s", { SWARM_JOIN_TOKEN: MANAGER_TOKEN });
        expect(ok.status).toBe(0);
        expect(callsOf(ok, "node", "inspect").length).toBeGreaterThan(0);
        const late = world({ "join-control": "true", "self-health": "ready unreachable" })(script, "-s", {
            SWARM_JOIN_TOKEN: MANAGER_TOKEN,
        });
        expect(late.status).not.toBe(0);
    });
});

describe("renderSwarmNodeDrainScript", () => {
    const script = renderSwarmNodeDrainScript({ nodeName: "wrk-1", drainTimeoutSeconds: 2 });

    it("passes shellcheck", () => expect(shellcheck(script)).toBe(""));

    it("drains anyway when the forced update does not finish by the deadline", () => {
        const r = world({
            control: "true",
            "node-lines": "id1 wrk-1 Ready\n",
            "node-ps-names-id1": "web.1\n",
            "service-mode-web": "replicated\n",
            "update-hangs": "",
        })(script);
        expect(r.status).toBe(0);
        expect(r.stderr).toMatch(/forced update of web did not finish in time/);
        expect(callsOf(r, "node", "update").map((c) => c[3])).toEqual(["pause", "drain"]);
        expect(r.ms).toBeLessThan(8000);
    });

    it("fails when a task is still running at the deadline", () => {
        const r = world({ control: "true", "node-lines": "id1 wrk-1 Ready\n", "node-ps-id1": "Running 3 minutes ago\n" })(script);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/1 task\(s\) still running on wrk-1/);
    });
});

describe("renderSwarmLeaveScript", () => {
    it("does not block a deletion when the engine is already gone", () => {
        const r = world({ "engine-down": "" })(renderSwarmLeaveScript({ role: "worker", nodeName: "node-0", readyTimeoutSeconds: 1 }));
        expect(r.status).toBe(0);
        expect(r.stderr).toMatch(/does not answer/);
    });
});
