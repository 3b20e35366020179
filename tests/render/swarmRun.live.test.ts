/**
 * render/swarm.ts, the scripts RUN: dash against a fake `docker` on PATH (records every argv;
 * tests/render/swarmFakes.ts), so their behaviour — idempotency, retries, secrets kept out of output
 * — is tested without a Docker engine (the fake hands out real-looking join tokens, so "no SWMTKN in
 * any output" is a real check). Each run takes a fraction of a second, but every mutant of the
 * script text would re-run them all, so they are in `npm test` only: the mutation suite
 * (swarm.test.ts, swarmScripts.test.ts) asserts the rendered text these runs execute.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import {
    parseSwarmInitOutput,
    renderRegistryAuthRefreshScript,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
} from "../../render/swarm";
import { callsOf, cleanupWorlds, joinRequests, MANAGER_TOKEN, world, worldWithState, WORKER_JOIN_INPUT, WORKER_TOKEN } from "./swarmFakes";

afterAll(cleanupWorlds);

describe("renderSwarmInitScript", () => {
    let script: string;
    beforeEach(() => {
        script = renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "node-0", avoidSubnets: ["10.213.0.0/24"] });
    });

    it("initialises an inactive engine with explicit addresses, a non-overlapping pool and no autolock", () => {
        const run = world({ "remote-addr": "10.213.0.10:2377" });
        const r = run(script);
        expect(r.status).toBe(0);
        const [init] = callsOf(r, "swarm", "init");
        expect(init).toEqual([
            "swarm",
            "init",
            "--advertise-addr",
            "10.213.0.10",
            "--listen-addr",
            "10.213.0.10:2377",
            "--data-path-addr",
            "10.213.0.10",
            "--default-addr-pool",
            "10.214.0.0/16",
            "--default-addr-pool-mask-length",
            "24",
            "--autolock=false",
        ]);
    });

    it("prints exactly one JSON line on stdout: the manager address, node ID and cluster ID, nothing else", () => {
        const r = world({ "remote-addr": "10.213.0.10:2377", "node-id": "x3mz8ygc4k1q2w5e7r9t0y6u8\n" })(script);
        expect(r.status).toBe(0);
        expect(r.stdout.endsWith("\n")).toBe(true);
        expect(r.stdout.trim().split("\n")).toHaveLength(1);
        const expected = { managerAddr: "10.213.0.10:2377", nodeId: "x3mz8ygc4k1q2w5e7r9t0y6u8", clusterId: "cluster-1" };
        expect(JSON.parse(r.stdout)).toEqual(expected);
        expect(parseSwarmInitOutput(r.stdout)).toEqual(expected);
    });

    it("checks both join tokens but prints no token on stdout or stderr, even under sh -xv", () => {
        const inactiveAndActive: Array<Record<string, string>> = [{}, { state: "active\n", control: "true\n" }];
        for (const files of inactiveAndActive) {
            for (const flags of ["-s", "-xvs"]) {
                const r = world(files)(script, flags);
                expect(r.status).toBe(0);
                // The fake docker did hand out tokens (swarm init even prints a join command) ...
                expect(callsOf(r, "swarm", "join-token")).toEqual([
                    ["swarm", "join-token", "-q", "worker"],
                    ["swarm", "join-token", "-q", "manager"],
                ]);
                // ... and none of them reached any output.
                expect(r.stdout).not.toContain("SWMTKN");
                expect(r.stderr).not.toContain("SWMTKN");
                expect(`${r.stdout}${r.stderr}`).not.toContain("1awxwuwd3z9j1z3puu7rcgdbx");
                expect(`${r.stdout}${r.stderr}`).not.toContain("7p8nmwb4b0rqm0x6dqj2quzq1");
                expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual(["clusterId", "managerAddr", "nodeId"]);
            }
        }
    });

    it.each([
        [
            "a malformed manager token",
            { "manager-token": "SWMTKN-1-oops-not-a-token-0\n" },
            /join-token -q manager returned something that is not a join token/,
        ],
        [
            "a worker token with stray text",
            { "worker-token": `${WORKER_TOKEN} extra\n` },
            /join-token -q worker returned something that is not a join token/,
        ],
        ["an empty answer", { "worker-token": "" }, /join-token -q worker returned something that is not a join token/],
        [
            "a failing join-token, its error redacted",
            { "join-token-error": `Error response from daemon: rotate failed for ${WORKER_TOKEN}\n` },
            /join-token -q worker failed: Error response from daemon: rotate failed for <redacted>/,
        ],
    ])("fails on %s without printing it", (_label, files, message) => {
        const r = world(files)(script);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe("");
        expect(r.stderr).not.toContain("SWMTKN");
    });

    it("fails rather than print a node ID or manager address that is not a plain word", () => {
        const badId = world({ "node-id": 'a"b\n' })(script);
        expect(badId.status).not.toBe(0);
        expect(badId.stderr).toMatch(/no usable swarm node ID/);
        expect(badId.stdout).toBe("");
        const badAddr = world({ "remote-addr": "[fd00::1]:2377\n" })(script);
        expect(badAddr.status).not.toBe(0);
        expect(badAddr.stderr).toMatch(/unexpected manager address/);
        expect(badAddr.stdout).toBe("");
    });

    it("does not initialise again on an active manager but still reports its address and node ID", () => {
        const r = world({ state: "active\n", control: "true\n" })(script);
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "init")).toHaveLength(0);
        expect(parseSwarmInitOutput(r.stdout)).toEqual({ managerAddr: "10.213.0.10:2377", nodeId: "self-id", clusterId: "cluster-1" });
    });

    it("refuses to turn a worker of another swarm into a new swarm", () => {
        const r = world({ state: "active\n", control: "false\n" })(script);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/worker of an existing swarm/);
        expect(r.stdout).toBe("");
    });

    it("refuses an engine whose hostname is not the node name", () => {
        const r = world({ name: "ip-10-0-0-1\n" })(script);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/hostname is 'ip-10-0-0-1', expected 'node-0'/);
    });
});

describe("renderSwarmJoinScript", () => {
    const input = WORKER_JOIN_INPUT;
    let script: string;
    beforeEach(() => {
        script = renderSwarmJoinScript(input);
    });
    const withToken = (token: string) => ({ SWARM_JOIN_TOKEN: token });

    it("joins with the token from the environment, this node's addresses and the first manager", () => {
        const r = world()(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(joinRequests(r)).toEqual([
            {
                JoinToken: WORKER_TOKEN,
                RemoteAddrs: ["10.213.0.10:2377"],
                ListenAddr: "10.213.0.20:2377",
                AdvertiseAddr: "10.213.0.20",
                DataPathAddr: "10.213.0.20",
            },
        ]);
        // The engine API over its socket, the body (token included) on stdin: no argv holds the token.
        expect(callsOf(r, "curl")).toEqual([
            [
                "curl",
                "-s",
                "-o",
                expect.any(String),
                "-w",
                "%{http_code}",
                "--unix-socket",
                "/var/run/docker.sock",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
                "http://localhost/swarm/join",
            ],
        ]);
        expect(r.calls.flat().join(" ")).not.toContain("SWMTKN");
        expect(r.stderr).toMatch(/joined the swarm as a worker via 10.213.0.10:2377/);
    });

    it("never has a token in its text, and docker children do not inherit the variable", () => {
        expect(script).not.toContain("SWMTKN-1-3pu6");
        expect(script).toContain("JOIN_TOKEN=${SWARM_JOIN_TOKEN:-}\nunset SWARM_JOIN_TOKEN\n");
        const w = worldWithState();
        const r = w.run(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(joinRequests(r).map((j) => j.JoinToken)).toEqual([WORKER_TOKEN]);
        expect(fs.existsSync(path.join(w.state, "env-leak"))).toBe(false);
    });

    it("fails clearly when the environment variable is missing or holds no join token", () => {
        for (const env of [{}, withToken(""), withToken("not-a-token")]) {
            const r = world()(script, "-s", env);
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/environment variable SWARM_JOIN_TOKEN does not hold a Swarm join token/);
            expect(joinRequests(r)).toHaveLength(0);
        }
    });

    it("is a no-op on a node that is already an active member", () => {
        const r = world({ state: "active\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(joinRequests(r)).toHaveLength(0);
    });

    it("moves on to the next manager when one fails", () => {
        const r = world({ "bad-managers": "10.213.0.10:2377\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(joinRequests(r).map((j) => j.RemoteAddrs)).toEqual([["10.213.0.10:2377"], ["10.213.0.11:2377"]]);
    });

    it("keeps the token out of stdout and stderr, even under sh -xv and when docker echoes it", () => {
        const r = world({ "bad-managers": "10.213.0.10:2377\n" })(script, "-xvs", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(r.stderr).toContain("<redacted>");
        expect(`${r.stdout}${r.stderr}`).not.toContain(WORKER_TOKEN);
        expect(`${r.stdout}${r.stderr}`).not.toContain("1awxwuwd3z9j1z3puu7rcgdbx");
    });

    it("fails when the token's role is not the requested role", () => {
        const r = world({ "join-control": "false\n" })(
            renderSwarmJoinScript({ ...input, role: "manager" }),
            "-s",
            withToken(MANAGER_TOKEN),
        );
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/not as a manager/);
    });

    it("resets a half-finished join before trying again", () => {
        const r = world({ state: "pending\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "leave")).toEqual([["swarm", "leave", "--force"]]);
    });
});

describe("renderSwarmInitScript on a replaced first manager (joinExisting)", () => {
    let script: string;
    beforeEach(() => {
        script = renderSwarmInitScript({
            advertiseAddr: "10.213.0.10",
            nodeName: "node-0",
            joinExisting: { managerAddrs: ["10.213.0.11", "10.213.0.12"], tokenEnv: "SWARM_JOIN_TOKEN" },
            healthTimeoutSeconds: 2,
        });
    });

    it("joins the existing swarm as a manager when a live manager handed out a token, and never initialises a second one", () => {
        const r = world({ "join-control": "true", "remote-addr": "10.213.0.10:2377" })(script, "-s", { SWARM_JOIN_TOKEN: MANAGER_TOKEN });
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "init")).toHaveLength(0);
        const [join] = joinRequests(r);
        expect(join.RemoteAddrs).toEqual(["10.213.0.11:2377"]);
        expect(r.stderr).toMatch(/joining it instead of initialising/);
        expect(r.stderr).toMatch(/healthy swarm manager/);
        expect(`${r.stdout}${r.stderr}`).not.toContain("SWMTKN");
        expect(parseSwarmInitOutput(r.stdout).clusterId).toBe("cluster-1");
    });

    it("initialises the swarm when no manager answered (the first `pulumi up`: the variable is empty)", () => {
        const r = world({ "remote-addr": "10.213.0.10:2377" })(script, "-s", { SWARM_JOIN_TOKEN: "" });
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "init")).toHaveLength(1);
        expect(joinRequests(r)).toHaveLength(0);
    });
});

describe("renderSwarmNodeDrainScript", () => {
    let script: string;
    beforeEach(() => {
        script = renderSwarmNodeDrainScript({ nodeName: "wrk-1", drainTimeoutSeconds: 2 });
    });

    it("pauses the live node of that name, drains it and waits until none of its tasks runs", () => {
        const r = world({
            control: "true",
            "node-lines": "id1 wrk-1 Ready\nid2 wrk-0 Ready\nid3 wrk-1 Down\n",
            "node-ps-id1": "Shutdown 1 second ago\n",
        })(script);
        expect(r.status).toBe(0);
        expect(callsOf(r, "node", "update")).toEqual([
            ["node", "update", "--availability", "pause", "id1"],
            ["node", "update", "--availability", "drain", "id1"],
        ]);
        expect(callsOf(r, "service", "update")).toEqual([]);
        expect(r.stderr).toMatch(/drained/);
    });

    it("moves each replicated service's tasks off it by a forced rolling update, after the pause and before the drain", () => {
        const r = world({
            control: "true",
            "node-lines": "id1 wrk-1 Ready\n",
            "node-ps-names-id1": "web.1\nweb.3\nagent.x7k2\nweb.12\n",
            "service-mode-web": "replicated\n",
            "service-mode-agent": "\n",
        })(script);
        expect(r.status).toBe(0);
        const significant = r.calls.filter((c) => (c[0] === "node" && c[1] === "update") || (c[0] === "service" && c[1] === "update"));
        expect(significant).toEqual([
            ["node", "update", "--availability", "pause", "id1"],
            ["service", "update", "--force", "--detach=false", "--quiet", "web"],
            ["node", "update", "--availability", "drain", "id1"],
        ]);
    });

    it("does nothing for a node that is not in the swarm", () => {
        const r = world({ control: "true", "node-lines": "id2 wrk-0 Ready\n" })(script);
        expect(r.status).toBe(0);
        expect(callsOf(r, "node", "update")).toEqual([]);
    });
});

describe("renderSwarmLeaveScript", () => {
    it("demotes a manager before it leaves, so the raft membership shrinks", () => {
        const run = world({ state: "active\n", control: "true\n", "managers-q": "a\nb\nself-id\n" });
        const r = run(renderSwarmLeaveScript({ role: "manager", nodeName: "node-0" }));
        expect(r.status).toBe(0);
        const significant = r.calls.filter((c) => c[0] === "node" && c[1] !== "ls").concat(callsOf(r, "swarm", "leave"));
        expect(significant).toEqual([
            ["node", "demote", "self-id"],
            ["swarm", "leave"],
        ]);
    });

    it("lets the last manager leave with --force", () => {
        const r = world({ state: "active\n", control: "true\n", "managers-q": "self-id\n" })(
            renderSwarmLeaveScript({ role: "manager", nodeName: "node-0" }),
        );
        expect(r.status).toBe(0);
        expect(callsOf(r, "node", "demote")).toHaveLength(0);
        expect(callsOf(r, "swarm", "leave")).toEqual([["swarm", "leave", "--force"]]);
    });

    it("has a worker simply leave, and does nothing outside a swarm", () => {
        const script = renderSwarmLeaveScript({ role: "worker", nodeName: "node-0" });
        const worker = world({ state: "active\n" })(script);
        expect(worker.status).toBe(0);
        expect(callsOf(worker, "swarm", "leave")).toEqual([["swarm", "leave"]]);
        const outside = world()(script);
        expect(outside.status).toBe(0);
        expect(callsOf(outside, "swarm", "leave")).toHaveLength(0);
    });
});

describe("renderSwarmNodeRemoveScript", () => {
    const details = "id-old down manager\nid-gone down worker\nid-live ready worker\nid-other down worker\n";
    const lines = "id-old node-1\nid-gone node-1\nid-live node-1\nid-other node-10\n";

    it("demotes and force-removes every down entry with exactly that hostname, tolerating 'not found'", () => {
        const r = world({ control: "true\n", "node-lines": lines, "node-details": details, "not-found": "id-gone\n" })(
            renderSwarmNodeRemoveScript({ nodeName: "node-1", downTimeoutSeconds: 0 }),
        );
        expect(r.status).toBe(0);
        expect(r.calls.filter((c) => c[0] === "node" && (c[1] === "rm" || c[1] === "demote"))).toEqual([
            ["node", "demote", "id-old"],
            ["node", "rm", "--force", "id-old"],
            ["node", "rm", "--force", "id-gone"],
        ]);
        expect(r.stderr).toMatch(/still up .* leaving them/);
    });

    it("must run on a manager", () => {
        const r = world({ "node-lines": lines, "node-details": details })(renderSwarmNodeRemoveScript({ nodeName: "node-1" }));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/not a swarm manager/);
    });
});

describe("renderRegistryAuthRefreshScript", () => {
    function runRefresh(leader: string): string[] {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-auth-"));
        try {
            fs.writeFileSync(
                path.join(dir, "docker"),
                `#!/bin/sh\necho "$*" >>${dir}/calls\ncase "$1 $2" in\n  "node inspect") echo ${leader} ;;\n  "service ls") printf '%s\\n' 'web 1234.dkr.ecr.eu-west-1.amazonaws.com/web:1' 'cache redis:7' ;;\nesac\n`,
                { mode: 0o755 },
            );
            const r = spawnSync("sh", ["-s"], {
                input: renderRegistryAuthRefreshScript(),
                encoding: "utf8",
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
            });
            expect(r.status).toBe(0);
            return fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    test("the leader re-sends credentials for services whose image is in ECR only; other managers do nothing", () => {
        expect(runRefresh("true")).toEqual([
            "node inspect self --format {{.ManagerStatus.Leader}}",
            "service ls --format {{.Name}} {{.Image}}",
            "service update --with-registry-auth --detach=true --quiet web",
        ]);
        expect(runRefresh("false")).toEqual(["node inspect self --format {{.ManagerStatus.Leader}}"]);
    });
});
