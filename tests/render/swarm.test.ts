/**
 * render/swarm.ts, fast set (in-process, run per mutant): input validation, parseSwarmInitOutput,
 * daemon.json and the shared prelude. The rendered scripts' text is asserted in
 * swarmScripts.test.ts; the scripts are RUN against a fake `docker` in swarmRun.live.test.ts, and
 * shellcheck plus the runs that wait out a time bound are in swarm.live.test.ts.
 */
import { execFileSync } from "child_process";
import {
    parseSwarmInitOutput,
    renderDockerDaemonConfig,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
    SWARM_MANAGER_PORT,
    SWARM_PORTS,
    SwarmJoinScriptInput,
} from "../../render/swarm";
import { renderShellPrelude, shellQuote } from "../../render/shell";
import { MANAGER_TOKEN, WORKER_JOIN_INPUT, WORKER_TOKEN } from "./swarmFakes";

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
    const input = WORKER_JOIN_INPUT;
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

describe("the scripts' inputs: every rule, at its bounds", () => {
    const join = { role: "worker" as const, nodeName: "wrk-0", advertiseAddr: "10.213.0.20", managerAddrs: ["10.213.0.10"], tokenEnv: "T" };

    it("the init script accepts each bound and refuses what is past it, naming every problem", () => {
        expect(() =>
            renderSwarmInitScript({
                advertiseAddr: "10.213.0.10",
                nodeName: `n${"x".repeat(61)}0`,
                readyTimeoutSeconds: 1,
                joinTimeoutSeconds: 3600,
                healthTimeoutSeconds: 1,
                joinExisting: { managerAddrs: ["10.213.0.11:1", "10.213.0.12:65535"], tokenEnv: "SWARM_JOIN_TOKEN" },
            }),
        ).not.toThrow();
        expect(() =>
            renderSwarmInitScript({
                advertiseAddr: "10.213.0.10",
                nodeName: "n",
                readyTimeoutSeconds: 3600,
                joinTimeoutSeconds: 1,
                healthTimeoutSeconds: 3600,
            }),
        ).not.toThrow();
        expect(() =>
            renderSwarmInitScript({
                advertiseAddr: "10.213.0.010",
                nodeName: `n${"x".repeat(62)}0`,
                defaultAddrPool: { cidrs: [] },
                readyTimeoutSeconds: 0,
                joinTimeoutSeconds: 3601,
                healthTimeoutSeconds: 1.5,
                joinExisting: { managerAddrs: [], tokenEnv: "IFS" },
            }),
        ).toThrow(
            [
                "renderSwarmInitScript: invalid input:",
                '  - advertiseAddr "10.213.0.010" is not an IPv4 address',
                `  - nodeName "n${"x".repeat(62)}0" is not a valid hostname label (letters, digits, '-', 1-63 chars)`,
                "  - defaultAddrPool must name at least one CIDR",
                "  - readyTimeoutSeconds 0 must be an integer from 1 to 3600",
                "  - joinTimeoutSeconds 3601 must be an integer from 1 to 3600",
                "  - healthTimeoutSeconds 1.5 must be an integer from 1 to 3600",
                "  - joinExisting.managerAddrs must list at least one manager",
                '  - tokenEnv "IFS" must be a shell variable name not used by the script',
            ].join("\n"),
        );
    });

    it("manager addresses: an optional port from 1 to 65535 on a dotted quad", () => {
        for (const addr of ["10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:", "10.0.0.256", "x10.0.0.1", "10.0.0.1:80x"]) {
            expect(() => renderSwarmJoinScript({ ...join, managerAddrs: [addr] })).toThrow(
                `renderSwarmJoinScript: invalid input:\n  - managerAddrs entry ${JSON.stringify(addr)} must be an IPv4 address with an optional :port`,
            );
        }
    });

    it.each([
        "NODE_NAME",
        "ROLE",
        "ADVERTISE_ADDR",
        "MANAGERS",
        "JOIN_TOKEN",
        "JOIN_TIMEOUT",
        "LOG_TAG",
        "PATH",
        "HOME",
        "IFS",
        "state",
        "err_file",
        "deadline",
        "attempt",
        "manager",
        "remaining",
        "wfd_deadline",
        "engine_name",
        "wm_deadline",
    ])("tokenEnv %s is a variable the script uses itself: refused", (name) => {
        expect(() => renderSwarmJoinScript({ ...join, tokenEnv: name })).toThrow(
            `tokenEnv "${name}" must be a shell variable name not used by the script`,
        );
    });

    it("tokenEnv: a shell name, letters first", () => {
        expect(() => renderSwarmJoinScript({ ...join, tokenEnv: "_t9" })).not.toThrow();
        for (const bad of ["9T", "T-", "T X"]) expect(() => renderSwarmJoinScript({ ...join, tokenEnv: bad })).toThrow(/tokenEnv/);
    });

    it("the join script names every problem", () => {
        expect(() =>
            renderSwarmJoinScript({
                ...join,
                role: "boss" as "worker",
                nodeName: "-x",
                advertiseAddr: "10.0.0",
                readyTimeoutSeconds: 3601,
                joinTimeoutSeconds: 0,
                healthTimeoutSeconds: 3601,
            }),
        ).toThrow(
            [
                "renderSwarmJoinScript: invalid input:",
                '  - role "boss" must be "manager" or "worker"',
                `  - nodeName "-x" is not a valid hostname label (letters, digits, '-', 1-63 chars)`,
                '  - advertiseAddr "10.0.0" is not an IPv4 address',
                "  - readyTimeoutSeconds 3601 must be an integer from 1 to 3600",
                "  - joinTimeoutSeconds 0 must be an integer from 1 to 3600",
                "  - healthTimeoutSeconds 3601 must be an integer from 1 to 3600",
            ].join("\n"),
        );
        expect(() =>
            renderSwarmJoinScript({ ...join, role: "manager", readyTimeoutSeconds: 1, joinTimeoutSeconds: 3600, healthTimeoutSeconds: 1 }),
        ).not.toThrow();
    });

    it("the leave script: role, name and both bounds", () => {
        expect(() =>
            renderSwarmLeaveScript({ role: "worker", nodeName: "n", readyTimeoutSeconds: 1, demoteTimeoutSeconds: 3600 }),
        ).not.toThrow();
        expect(() =>
            renderSwarmLeaveScript({ role: "manager", nodeName: "n", readyTimeoutSeconds: 3600, demoteTimeoutSeconds: 1 }),
        ).not.toThrow();
        expect(() =>
            renderSwarmLeaveScript({ role: "x" as "worker", nodeName: "n-", readyTimeoutSeconds: 0, demoteTimeoutSeconds: 3601 }),
        ).toThrow(
            [
                "renderSwarmLeaveScript: invalid input:",
                '  - role "x" must be "manager" or "worker"',
                `  - nodeName "n-" is not a valid hostname label (letters, digits, '-', 1-63 chars)`,
                "  - readyTimeoutSeconds 0 must be an integer from 1 to 3600",
                "  - demoteTimeoutSeconds 3601 must be an integer from 1 to 3600",
            ].join("\n"),
        );
    });

    it("the node remove and drain scripts: name and bounds", () => {
        expect(() => renderSwarmNodeRemoveScript({ nodeName: "n", readyTimeoutSeconds: 3600, downTimeoutSeconds: 3600 })).not.toThrow();
        expect(() => renderSwarmNodeRemoveScript({ nodeName: "n_1", readyTimeoutSeconds: 0, downTimeoutSeconds: -1 })).toThrow(
            [
                "renderSwarmNodeRemoveScript: invalid input:",
                `  - nodeName "n_1" is not a valid hostname label (letters, digits, '-', 1-63 chars)`,
                "  - readyTimeoutSeconds 0 must be an integer from 1 to 3600",
                "  - downTimeoutSeconds -1 must be an integer from 0 to 3600",
            ].join("\n"),
        );
        expect(() => renderSwarmNodeRemoveScript({ nodeName: "n", downTimeoutSeconds: 3601 })).toThrow(/downTimeoutSeconds 3601/);
        expect(() => renderSwarmNodeDrainScript({ nodeName: "n", drainTimeoutSeconds: 1 })).not.toThrow();
        expect(() => renderSwarmNodeDrainScript({ nodeName: "n", drainTimeoutSeconds: 3600 })).not.toThrow();
        expect(() => renderSwarmNodeDrainScript({ nodeName: "", drainTimeoutSeconds: 0 })).toThrow(
            [
                "renderSwarmNodeDrainScript: invalid input:",
                `  - nodeName "" is not a valid hostname label (letters, digits, '-', 1-63 chars)`,
                "  - drainTimeoutSeconds 0 must be an integer from 1 to 3600",
            ].join("\n"),
        );
        expect(() => renderSwarmNodeDrainScript({ nodeName: "n", drainTimeoutSeconds: 3601 })).toThrow(/drainTimeoutSeconds 3601/);
    });

    it("address pools: CIDRs without host bits, a mask from the prefix to /29, no overlap", () => {
        const init = (defaultAddrPool: { cidrs: string[]; maskLength?: number }, avoidSubnets: string[] = []) =>
            renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "n", defaultAddrPool, avoidSubnets });
        expect(() => init({ cidrs: ["10.214.0.0/16"], maskLength: 16 }, ["10.215.0.0/16", "10.213.0.0/24"])).not.toThrow();
        expect(() => init({ cidrs: ["10.214.0.0/16"], maskLength: 29 })).not.toThrow();
        expect(() => init({ cidrs: ["10.214.0.0/16"], maskLength: 15 }, ["10.214.0.0/33", "10.214.0.1/24", "10.214.0.0"])).toThrow(
            [
                "renderSwarmInitScript: invalid input:",
                '  - avoidSubnets entry "10.214.0.0/33" is not an IPv4 CIDR (a.b.c.d/n, no host bits)',
                '  - avoidSubnets entry "10.214.0.1/24" is not an IPv4 CIDR (a.b.c.d/n, no host bits)',
                '  - avoidSubnets entry "10.214.0.0" is not an IPv4 CIDR (a.b.c.d/n, no host bits)',
                "  - defaultAddrPool entry 10.214.0.0/16: subnet size /15 must be from /16 to /29",
            ].join("\n"),
        );
        expect(() =>
            init({ cidrs: ["10.214.0.0/16", "x10.0.0.0/8", "10.0.0.0/8x", "10.214.0.0/16"], maskLength: 30 }, ["10.214.128.0/17"]),
        ).toThrow(
            [
                "renderSwarmInitScript: invalid input:",
                "  - defaultAddrPool entry 10.214.0.0/16: subnet size /30 must be from /16 to /29",
                "  - defaultAddrPool entry 10.214.0.0/16 overlaps 10.214.128.0/17",
                '  - defaultAddrPool entry "x10.0.0.0/8" is not an IPv4 CIDR (a.b.c.d/n, no host bits)',
                '  - defaultAddrPool entry "10.0.0.0/8x" is not an IPv4 CIDR (a.b.c.d/n, no host bits)',
                "  - defaultAddrPool entry 10.214.0.0/16: subnet size /30 must be from /16 to /29",
                "  - defaultAddrPool entry 10.214.0.0/16 overlaps 10.214.128.0/17",
            ].join("\n"),
        );
        expect(() => init({ cidrs: ["10.214.0.0/16"], maskLength: 24.5 })).toThrow(/subnet size \/24.5 must be from \/16 to \/29/);
        expect(() => renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "n", outerSubnet: "10.0.0.0/8" })).toThrow(
            "renderSwarmInitScript: invalid input:\n  - defaultAddrPool entry 10.214.0.0/16 overlaps 10.0.0.0/8",
        );
    });
});

describe("parseSwarmInitOutput: exact messages", () => {
    const message = (text: string) => {
        try {
            parseSwarmInitOutput(text);
        } catch (e) {
            return (e as Error).message;
        }
        return "no error";
    };

    it.each([
        ["", "expected 1 non-empty line, got 0"],
        [" \n\t\n", "expected 1 non-empty line, got 0"],
        ["null", "not an object"],
        ['"text"', "not an object"],
        [
            '{"managerAddr":"10.0.0.1:2377","nodeId":"n","clusterId":"c","x":1}',
            "1 unexpected key(s); only managerAddr, nodeId and clusterId are allowed",
        ],
        ['{"managerAddr":"10.0.0.1","nodeId":"n","clusterId":"c"}', "managerAddr missing or malformed"],
        ['{"managerAddr":"x10.0.0.1:2377","nodeId":"n","clusterId":"c"}', "managerAddr missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377x","nodeId":"n","clusterId":"c"}', "managerAddr missing or malformed"],
        ['{"managerAddr":7,"nodeId":"n","clusterId":"c"}', "managerAddr missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"","clusterId":"c"}', "nodeId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"n!","clusterId":"c"}', "nodeId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"!n","clusterId":"c"}', "nodeId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":1,"clusterId":"c"}', "nodeId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"n","clusterId":"c!"}', "clusterId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"n","clusterId":"!c"}', "clusterId missing or malformed"],
        ['{"managerAddr":"10.0.0.1:2377","nodeId":"n","clusterId":1}', "clusterId missing or malformed"],
    ])("%j: %s", (text, why) => {
        expect(message(text)).toBe(`swarm init output is not the expected JSON line: ${why}`);
    });

    it("accepts ids with _ and -", () => {
        expect(parseSwarmInitOutput('{"managerAddr":"10.0.0.1:2377","nodeId":"a_b-c","clusterId":"C_1-x"}')).toEqual({
            managerAddr: "10.0.0.1:2377",
            nodeId: "a_b-c",
            clusterId: "C_1-x",
        });
    });
});

describe("the remaining messages and bounds", () => {
    it("a bad joinExisting manager address names its field", () => {
        expect(() =>
            renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "n", joinExisting: { managerAddrs: ["m"], tokenEnv: "T" } }),
        ).toThrow(
            'renderSwarmInitScript: invalid input:\n  - joinExisting.managerAddrs entry "m" must be an IPv4 address with an optional :port',
        );
    });

    it("a managerAddr that is not a string is malformed", () => {
        expect(() => parseSwarmInitOutput('{"managerAddr":["10.0.0.1:2377"],"nodeId":"n","clusterId":"c"}')).toThrow(
            "swarm init output is not the expected JSON line: managerAddr missing or malformed",
        );
    });

    it("daemon.json: exact messages, log rotation from 1, a registry without a port", () => {
        expect(() =>
            renderDockerDaemonConfig({ defaultAddressPools: [{ base: "10.215.0.0/16", size: 24 }], avoidSubnets: ["10.215.1.0/24"] }),
        ).toThrow("renderDockerDaemonConfig: invalid input:\n  - defaultAddressPools entry 10.215.0.0/16 overlaps 10.215.1.0/24");
        expect(
            JSON.parse(renderDockerDaemonConfig({ logMaxSizeMiB: 1, logMaxFiles: 1, insecureRegistries: ["registry.local"] })),
        ).toMatchObject({
            "log-opts": { "max-size": "1m", "max-file": "1" },
            "insecure-registries": ["registry.local"],
        });
    });
});

describe("constants other layers use", () => {
    it("every port a swarm node listens on (Docker's overlay network page)", () => {
        expect(SWARM_MANAGER_PORT).toBe(2377);
        expect(SWARM_PORTS).toEqual({ management: 2377, gossip: 7946, overlay: 4789 });
    });

    it("a /32 is a CIDR too", () => {
        expect(() => renderDockerDaemonConfig({ avoidSubnets: ["10.213.0.5/32"] })).not.toThrow();
    });
});
