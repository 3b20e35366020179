/**
 * render/swarm.ts, fast set: the swarm bootstrap scripts are RUN by dash against a fake `docker`
 * on PATH (records every argv; tests/render/swarmFakes.ts), so their behaviour — idempotency,
 * retries, secrets kept out of output — is tested without a Docker engine (the fake hands out
 * real-looking join tokens, so "no SWMTKN in any output" is a real check). Each run takes well
 * under a second in its own temp dir. Runs that wait out a time bound and shellcheck are in
 * swarm.live.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import * as os from "os";
import {
    parseSwarmInitOutput,
    renderDockerDaemonConfig,
    renderRegistryAuthRefreshScript,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
    SwarmJoinScriptInput,
} from "../../render/swarm";
import { renderShellPrelude, shellQuote } from "../../render/shell";
import { callsOf, cleanupWorlds, MANAGER_TOKEN, world, worldWithState, WORKER_TOKEN } from "./swarmFakes";

afterAll(cleanupWorlds);

// ---------------------------------------------------------------------------

describe("shellQuote", () => {
    const nasty = [
        "",
        "plain",
        "a b",
        "it's",
        'say "hi"',
        "$HOME",
        "${x:-y}",
        "`id`",
        "$(id)",
        "back\\slash",
        "new\nline",
        "tab\tx",
        "*",
        "~root",
        "-n",
        "a'b''c'''",
        "é ✓",
        "{{.Task.Name}}",
        "!bang",
    ];

    it.each(nasty.map((v) => [JSON.stringify(v), v]))("round-trips %s through sh and bash as one word", (_label, value) => {
        for (const shell of ["sh", "bash"]) {
            const out = execFileSync(shell, ["-c", `set -- ${shellQuote(value)}; printf '%s|%s' "$#" "$1"`], { encoding: "utf8" });
            expect(out).toBe(`1|${value}`);
        }
    });

    it("leaves plain words unquoted and refuses NUL", () => {
        expect(shellQuote("10.213.0.10:2377")).toBe("10.213.0.10:2377");
        expect(() => shellQuote("a\0b")).toThrow(/NUL/);
    });
});

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

    it("rejects an address pool that overlaps the outer network, naming every bad field", () => {
        expect(() =>
            renderSwarmInitScript({
                advertiseAddr: "10.213.0.300",
                nodeName: "bad_name",
                defaultAddrPool: { cidrs: ["10.213.0.0/16"] },
                avoidSubnets: ["10.213.0.0/24"],
            }),
        ).toThrow(/advertiseAddr "10.213.0.300"[\s\S]*nodeName "bad_name"[\s\S]*10.213.0.0\/16 overlaps 10.213.0.0\/24/);
    });
});

describe("parseSwarmInitOutput", () => {
    function errorOf(text: string): string {
        try {
            parseSwarmInitOutput(text);
        } catch (e) {
            return (e as Error).message;
        }
        throw new Error("expected parseSwarmInitOutput to throw");
    }

    it("accepts exactly managerAddr, nodeId and clusterId", () => {
        expect(parseSwarmInitOutput('\n{"managerAddr":"10.0.0.1:2377","nodeId":"abc123","clusterId":"c1"}\n')).toEqual({
            managerAddr: "10.0.0.1:2377",
            nodeId: "abc123",
            clusterId: "c1",
        });
        expect(() => parseSwarmInitOutput('{"managerAddr":"10.0.0.1:2377","nodeId":"abc123"}')).toThrow(/clusterId/);
    });

    it("rejects output that carries tokens (the old format) without echoing them", () => {
        const old = `{"workerToken":"${WORKER_TOKEN}","managerToken":"${MANAGER_TOKEN}","managerAddr":"10.0.0.1:2377","nodeId":"abc123"}`;
        const message = errorOf(old);
        expect(message).toMatch(/2 unexpected key\(s\)/);
        expect(message).not.toContain("SWMTKN");
        expect(message).not.toContain("workerToken");
    });

    it("names the bad field and never echoes the text it rejects", () => {
        expect(errorOf('{"managerAddr":"10.0.0.1:2377","nodeId":"a b"}')).toMatch(/nodeId missing or malformed/);
        expect(errorOf('{"nodeId":"abc"}')).toMatch(/managerAddr missing or malformed/);
        expect(errorOf('{"managerAddr":"10.0.0.1:2377","nodeId":"a"}\n{}')).toMatch(/expected 1 non-empty line, got 2/);
        expect(errorOf("[]")).toMatch(/not an object/);
        const message = errorOf(`secret-${WORKER_TOKEN}`);
        expect(message).toMatch(/not JSON/);
        expect(message).not.toContain("SWMTKN");
    });
});

describe("renderSwarmJoinScript", () => {
    const input = {
        role: "worker" as const,
        nodeName: "node-0",
        advertiseAddr: "10.213.0.20",
        managerAddrs: ["10.213.0.10", "10.213.0.11:2377"],
        tokenEnv: "SWARM_JOIN_TOKEN",
        joinTimeoutSeconds: 3,
    };
    let script: string;
    beforeEach(() => {
        script = renderSwarmJoinScript(input);
    });
    const withToken = (token: string) => ({ SWARM_JOIN_TOKEN: token });

    it("joins with the token from the environment, this node's addresses and the first manager", () => {
        const r = world()(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "join")).toEqual([
            [
                "swarm",
                "join",
                "--token",
                WORKER_TOKEN,
                "--advertise-addr",
                "10.213.0.20",
                "--listen-addr",
                "10.213.0.20:2377",
                "--data-path-addr",
                "10.213.0.20",
                "10.213.0.10:2377",
            ],
        ]);
        expect(r.stderr).toMatch(/joined the swarm as a worker via 10.213.0.10:2377/);
    });

    it("never has a token in its text, and docker children do not inherit the variable", () => {
        expect(script).not.toContain("SWMTKN-1-3pu6");
        expect(script).toContain("JOIN_TOKEN=${SWARM_JOIN_TOKEN:-}\nunset SWARM_JOIN_TOKEN\n");
        const w = worldWithState();
        const r = w.run(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "join").map((c) => c[3])).toEqual([WORKER_TOKEN]);
        expect(fs.existsSync(path.join(w.state, "env-leak"))).toBe(false);
    });

    it("fails clearly when the environment variable is missing or holds no join token", () => {
        for (const env of [{}, withToken(""), withToken("not-a-token")]) {
            const r = world()(script, "-s", env);
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/environment variable SWARM_JOIN_TOKEN does not hold a Swarm join token/);
            expect(callsOf(r, "swarm", "join")).toHaveLength(0);
        }
    });

    it("is a no-op on a node that is already an active member", () => {
        const r = world({ state: "active\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "join")).toHaveLength(0);
    });

    it("moves on to the next manager when one fails", () => {
        const r = world({ "bad-managers": "10.213.0.10:2377\n" })(script, "-s", withToken(WORKER_TOKEN));
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "join").map((c) => c[c.length - 1])).toEqual(["10.213.0.10:2377", "10.213.0.11:2377"]);
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

    it("validates its input, refuses a token in the input and never echoes it", () => {
        let message = "";
        try {
            // An untyped caller trying to embed a token in the script text.
            renderSwarmJoinScript({ ...input, managerAddrs: [], token: "SWMTKN-1-but not really" } as unknown as SwarmJoinScriptInput);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/managerAddrs must list at least one manager/);
        expect(message).toMatch(/token is not accepted: pass the join token in the environment variable named by tokenEnv/);
        expect(message).not.toContain("not really");
        for (const tokenEnv of ["JOIN_TOKEN", "PATH", "1X", "A-B", ""]) {
            expect(() => renderSwarmJoinScript({ ...input, tokenEnv })).toThrow(
                /tokenEnv .* must be a shell variable name not used by the script/,
            );
        }
        expect(() => renderSwarmJoinScript({ ...input, tokenEnv: undefined } as unknown as SwarmJoinScriptInput)).toThrow(
            /tokenEnv undefined must be/,
        );
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
        const [join] = callsOf(r, "swarm", "join");
        expect(join[join.length - 1]).toBe("10.213.0.11:2377");
        expect(r.stderr).toMatch(/joining it instead of initialising/);
        expect(r.stderr).toMatch(/healthy swarm manager/);
        expect(`${r.stdout}${r.stderr}`).not.toContain("SWMTKN");
        expect(parseSwarmInitOutput(r.stdout).clusterId).toBe("cluster-1");
    });

    it("initialises the swarm when no manager answered (the first `pulumi up`: the variable is empty)", () => {
        const r = world({ "remote-addr": "10.213.0.10:2377" })(script, "-s", { SWARM_JOIN_TOKEN: "" });
        expect(r.status).toBe(0);
        expect(callsOf(r, "swarm", "init")).toHaveLength(1);
        expect(callsOf(r, "swarm", "join")).toHaveLength(0);
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

describe("renderDockerDaemonConfig", () => {
    it("has a fixed key order, rotation, no live-restore and no metrics endpoint", () => {
        const text = renderDockerDaemonConfig({ avoidSubnets: ["10.213.0.0/24"] });
        const config = JSON.parse(text) as Record<string, unknown>;
        expect(Object.keys(config)).toEqual([
            "storage-driver",
            "log-driver",
            "log-opts",
            "live-restore",
            "shutdown-timeout",
            "default-address-pools",
        ]);
        expect(config["storage-driver"]).toBe("overlay2");
        expect(config["log-opts"]).toEqual({ "max-size": "10m", "max-file": "3" });
        expect(config["live-restore"]).toBe(false);
        expect(config).not.toHaveProperty("metrics-addr");
        expect(config).not.toHaveProperty("insecure-registries");
        expect(text).toBe(renderDockerDaemonConfig({ avoidSubnets: ["10.213.0.0/24"] }));
        expect(text.endsWith("}\n")).toBe(true);
    });

    it("lists insecure registries only when asked", () => {
        const config = JSON.parse(renderDockerDaemonConfig({ insecureRegistries: ["registry.local:5000"] })) as Record<string, unknown>;
        expect(config["insecure-registries"]).toEqual(["registry.local:5000"]);
    });

    it("refuses address pools that overlap the outer network", () => {
        expect(() =>
            renderDockerDaemonConfig({ defaultAddressPools: [{ base: "10.213.0.0/16", size: 24 }], avoidSubnets: ["10.213.0.0/24"] }),
        ).toThrow(/10.213.0.0\/16 overlaps 10.213.0.0\/24/);
        expect(() => renderDockerDaemonConfig({ outerSubnet: "10.215.7.0/24" })).toThrow(/10.215.0.0\/16 overlaps 10.215.7.0\/24/);
        expect(() => renderSwarmInitScript({ advertiseAddr: "10.214.0.5", nodeName: "n", outerSubnet: "10.214.0.0/24" })).toThrow(
            /overlaps/,
        );
    });
});

describe("every rendered script starts with the shared prelude and never enables tracing", () => {
    test.each<[string, () => string]>([
        ["init", () => renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "mgr-0" })],
        [
            "join",
            () =>
                renderSwarmJoinScript({
                    role: "worker",
                    nodeName: "wrk-0",
                    advertiseAddr: "10.213.0.20",
                    managerAddrs: ["10.213.0.10"],
                    tokenEnv: "T",
                }),
        ],
        ["leave", () => renderSwarmLeaveScript({ role: "manager", nodeName: "mgr-2" })],
        ["nodeRemove", () => renderSwarmNodeRemoveScript({ nodeName: "mgr-2" })],
        ["drain", () => renderSwarmNodeDrainScript({ nodeName: "mgr-2" })],
    ])("%s", (_name, render) => {
        const text = render();
        expect(text.startsWith("#!/bin/sh\n")).toBe(true);
        expect(text).toContain("\nset +xv\nset -eu\numask 077\n");
        expect(text).not.toMatch(/set -[a-wyz]*x/);
    });

    test("the prelude refuses a multi-line title", () => {
        expect(() => renderShellPrelude({ title: "a\nb", logTag: "t" })).toThrow(/title must be a single line/);
        expect(() => renderShellPrelude({ title: "a\rb", logTag: "t" })).toThrow(/single line/);
        expect(renderShellPrelude({ title: "T", logTag: "x y" })).toContain("\n# T\n");
        expect(renderShellPrelude({ title: "T", logTag: "x y" })).toContain("\nLOG_TAG='x y'\n");
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

describe("renderDockerDaemonConfig: input bounds", () => {
    test.each<[string, Parameters<typeof renderDockerDaemonConfig>[0], RegExp | null]>([
        ["no pools", { defaultAddressPools: [] }, /defaultAddressPools must list at least one pool/],
        ["a pool with host bits", { defaultAddressPools: [{ base: "10.215.0.1/16", size: 24 }] }, /is not an IPv4 CIDR/],
        [
            "a pool size over /29",
            { defaultAddressPools: [{ base: "10.215.0.0/16", size: 30 }] },
            /subnet size \/30 must be from \/16 to \/29/,
        ],
        ["a pool size under the prefix", { defaultAddressPools: [{ base: "10.215.0.0/16", size: 15 }] }, /must be from \/16 to \/29/],
        ["pool size /29", { defaultAddressPools: [{ base: "10.215.0.0/16", size: 29 }] }, null],
        ["pool size equal to the prefix", { defaultAddressPools: [{ base: "10.215.0.0/16", size: 16 }] }, null],
        ["a bad avoid subnet", { avoidSubnets: ["10.0.0.0/33"] }, /avoidSubnets entry "10.0.0.0\/33" is not an IPv4 CIDR/],
        ["a /0 avoid subnet overlaps everything", { avoidSubnets: ["0.0.0.0/0"] }, /overlaps 0.0.0.0\/0/],
        ["a neighbouring subnet", { avoidSubnets: ["10.216.0.0/16", "10.214.0.0/16"] }, null],
        ["log size 0", { logMaxSizeMiB: 0 }, /logMaxSizeMiB 0 must be an integer from 1 to 1024/],
        ["log size 1025", { logMaxSizeMiB: 1025 }, /logMaxSizeMiB/],
        ["log size 1024", { logMaxSizeMiB: 1024 }, null],
        ["log files 0", { logMaxFiles: 0 }, /logMaxFiles 0 must be an integer from 1 to 100/],
        ["log files 101", { logMaxFiles: 101 }, /logMaxFiles/],
        ["log files 100", { logMaxFiles: 100 }, null],
        ["shutdown timeout 0", { shutdownTimeoutSeconds: 0 }, /shutdownTimeoutSeconds 0 must be an integer from 1 to 3600/],
        ["shutdown timeout 3601", { shutdownTimeoutSeconds: 3601 }, /shutdownTimeoutSeconds/],
        [
            "an insecure registry with a path",
            { insecureRegistries: ["registry:5000/x"] },
            /insecureRegistries entry "registry:5000\/x" must be host or host:port/,
        ],
    ])("%s", (_name, input, message) => {
        const render = () => renderDockerDaemonConfig(input);
        if (message === null) expect(render).not.toThrow();
        else expect(render).toThrow(message);
    });

    test("the whole daemon.json is the contract: settings as given, insecure registries only when non-empty", () => {
        // Golden on purpose: dockerd reads every key of this small file.
        expect(
            renderDockerDaemonConfig({
                defaultAddressPools: [{ base: "10.215.0.0/16", size: 24 }],
                logMaxSizeMiB: 5,
                logMaxFiles: 2,
                shutdownTimeoutSeconds: 20,
                insecureRegistries: ["registry:5000"],
            }),
        ).toBe(
            [
                "{",
                '  "storage-driver": "overlay2",',
                '  "log-driver": "json-file",',
                '  "log-opts": {',
                '    "max-size": "5m",',
                '    "max-file": "2"',
                "  },",
                '  "live-restore": false,',
                '  "shutdown-timeout": 20,',
                '  "default-address-pools": [',
                "    {",
                '      "base": "10.215.0.0/16",',
                '      "size": 24',
                "    }",
                "  ],",
                '  "insecure-registries": [',
                '    "registry:5000"',
                "  ]",
                "}",
                "",
            ].join("\n"),
        );
        expect(JSON.parse(renderDockerDaemonConfig({ insecureRegistries: [] }))).not.toHaveProperty("insecure-registries");
        expect(JSON.parse(renderDockerDaemonConfig())["shutdown-timeout"]).toBe(10);
    });
});
