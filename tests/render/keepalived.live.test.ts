/**
 * render/keepalived.ts, slow set (`npm test` only, not run per mutant): the real keepalived 2.2.7
 * on the rendered text (content rules are in keepalived.test.ts).
 *
 * `keepalived -t -f FILE` needs the configured interface in the current network
 * namespace, so the checker runs inside a namespace this suite creates (with an
 * "eth0"), and it exits 0 on a missing file, so the file's existence is asserted.
 * A second suite runs two keepalived daemons on the rendered configs across a
 * veth pair to prove the failover rules (FAULT releases the VIP at once,
 * nopreempt, graceful handover). Needs root (network namespaces).
 * Missing binaries fail the suite (no skipping): `apt-get install haproxy keepalived`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
    LB_CHECK_SCRIPT_PATH,
    checkHaproxyCommand,
    masterDownIntervalSeconds,
    renderKeepalivedConfig,
    type KeepalivedConfigInput,
} from "../../render/keepalived";

const INSTALL_HINT = "run `apt-get install -y haproxy keepalived iproute2` (Debian 12: HAProxy 2.6, keepalived 2.2.7)";
const REPO_CHECK_SCRIPT = path.join(__dirname, "..", "..", "images", "lb", "check_haproxy.sh");

function run(cmd: string, args: readonly string[]): { status: number | null; output: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error !== undefined) {
        throw new Error(`${cmd} could not be run (${r.error.message}): ${INSTALL_HINT}`);
    }
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function must(cmd: string, args: readonly string[]): string {
    const r = run(cmd, args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.output}`);
    return r.output;
}

function requireTools(): void {
    for (const [cmd, arg] of [
        ["keepalived", "-v"],
        ["ip", "-V"],
    ] as const) {
        const r = run(cmd, [arg]);
        if (r.status !== 0) throw new Error(`${cmd} ${arg} exited ${r.status}: ${INSTALL_HINT}\n${r.output}`);
    }
    if (process.getuid?.() !== 0) {
        throw new Error("keepalived -t needs the configured interface in a network namespace: run these tests as root (ip netns)");
    }
}

/** Adds an interface named `name` in `ns`: a dummy if the kernel has them, else one end of a veth pair. */
function addInterface(ns: string, name: string, address: string): void {
    if (run("ip", ["-n", ns, "link", "add", name, "type", "dummy"]).status !== 0) {
        must("ip", ["-n", ns, "link", "add", name, "type", "veth", "peer", "name", `${name}-peer`]);
    }
    must("ip", ["-n", ns, "link", "set", name, "up"]);
    must("ip", ["-n", ns, "addr", "add", address, "dev", name]);
}

const NS = `swp-kt-${process.pid}`;
// Created at load time: configs rendered while jest collects tests already name the script's path.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "render-keepalived-"));
// enable_script_security: the script must be root-owned and not writable by others (so is mkdtemp's 0700 dir).
const checkScript = path.join(tmp, "check_haproxy.sh");

beforeAll(() => {
    requireTools();
    fs.copyFileSync(REPO_CHECK_SCRIPT, checkScript);
    fs.chmodSync(checkScript, 0o755);
    run("ip", ["netns", "del", NS]);
    must("ip", ["netns", "add", NS]);
    addInterface(NS, "eth0", "172.28.0.11/24");
});

afterAll(() => {
    run("ip", ["netns", "del", NS]);
    fs.rmSync(tmp, { recursive: true, force: true });
});

let fileCounter = 0;
/** Runs `keepalived -t -f FILE` on the text inside the test namespace. */
function keepalivedCheck(text: string): { status: number | null; output: string } {
    const file = path.join(tmp, `${fileCounter++}-keepalived.conf`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    // keepalived -t exits 0 on a missing file: make sure it is really there.
    expect(fs.existsSync(file)).toBe(true);
    return run("ip", ["netns", "exec", NS, "keepalived", "-t", "-f", file]);
}

function expectAccepted(text: string): void {
    const r = keepalivedCheck(text);
    if (r.status !== 0 || r.output.trim() !== "") {
        throw new Error(`keepalived -t exited ${r.status}:\n${r.output}\n--- config ---\n${text}`);
    }
}

function expectRejected(text: string, message: RegExp): void {
    const r = keepalivedCheck(text);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(message);
}

const v3Input = (): KeepalivedConfigInput => ({
    routerId: "lb-0",
    interface: "eth0",
    virtualRouterId: 51,
    priority: 150,
    unicastSrcIp: "172.28.0.11",
    unicastPeers: ["172.28.0.12"],
    virtualIp: "172.28.0.100",
    virtualIpPrefix: 24,
    advertIntervalSeconds: 0.2,
    vrrpVersion: 3,
    healthCheck: { script: `${checkScript} 80 /lb-health`, intervalSeconds: 1, fall: 2, rise: 2 },
});

const v2Input = (): KeepalivedConfigInput => ({
    ...v3Input(),
    advertIntervalSeconds: 1,
    vrrpVersion: 2,
    authPassword: "Xy7zQ2ab",
});

describe("renderKeepalivedConfig: the real checker", () => {
    test("a VRRPv3 config with 0.2 s adverts passes keepalived -t with no output", () => {
        expectAccepted(renderKeepalivedConfig(v3Input()));
    });

    test("a VRRPv2 config with authentication and a notify script passes keepalived -t", () => {
        expectAccepted(renderKeepalivedConfig({ ...v2Input(), notifyScript: `${checkScript} notify` }));
    });

    test("the LB image's check command shape (path plus port and URI) is accepted", () => {
        expect(checkHaproxyCommand(80)).toBe(`${LB_CHECK_SCRIPT_PATH} 80 /lb-health`);
        expectAccepted(
            renderKeepalivedConfig({
                ...v3Input(),
                healthCheck: { ...v3Input().healthCheck, script: checkHaproxyCommand(80).replace(LB_CHECK_SCRIPT_PATH, checkScript) },
            }),
        );
    });
});

describe("keepalived 2.2.7 itself (why the renderer refuses those)", () => {
    const v2Text = renderKeepalivedConfig(v2Input());
    const v3Text = renderKeepalivedConfig(v3Input());

    test("VRRPv2 adverts must be whole seconds", () => {
        expectRejected(v2Text.replace("advert_int 1\n", "advert_int 0.2\n"), /must be an integer/);
    });

    test("VRRPv3 adverts go down to 10 ms steps, and not finer", () => {
        expectAccepted(v3Text.replace("advert_int 0.2\n", "advert_int 0.05\n"));
        expectRejected(v3Text.replace("advert_int 0.2\n", "advert_int 0.015\n"), /units of 10ms/);
    });

    test("vrrp_script interval and timeout take whole seconds only (no sub-second tracking)", () => {
        expectRejected(v3Text.replace("    interval 1\n", "    interval 0.5\n"), /invalid number '0.5'/);
        expectRejected(v3Text.replace("    timeout 1\n", "    timeout 0.5\n"), /invalid number '0.5'/);
    });

    test("check_unicast_src is a known keyword (a misspelt one is not)", () => {
        expectRejected(v3Text.replace("check_unicast_src\n", "check_unicast_srcx\n"), /Unknown keyword 'check_unicast_srcx'/);
    });

    test("VRRPv3 refuses authentication, VRRPv2 truncates passwords over 8 characters", () => {
        const auth = (pw: string): string => `    authentication {\n        auth_type PASS\n        auth_pass ${pw}\n    }\n`;
        expectRejected(
            v3Text.replace("    virtual_ipaddress {", `${auth("abc")}    virtual_ipaddress {`),
            /does not support authentication/,
        );
        expectRejected(v2Text.replace(/ {8}auth_pass \S+\n/, "        auth_pass 123456789\n"), /Truncating auth_pass/);
    });

    test("nopreempt is dropped with state MASTER", () => {
        expectRejected(v3Text.replace("state BACKUP", "state MASTER"), /nopreempt will not work/);
    });

    test("a weight on the tracked script is accepted by the checker (so the no-weight rule is enforced here, not there)", () => {
        expectAccepted(v3Text.replace("    init_fail\n", "    init_fail\n    weight -60\n"));
    });

    test("a missing tracked script is fatal for the checker", () => {
        expectRejected(v3Text.split(checkScript).join(path.join(tmp, "missing.sh")), /Disabling track script/);
    });

    test("a missing config file passes the checker (exit 0): file existence must be checked separately", () => {
        const r = run("ip", ["netns", "exec", NS, "keepalived", "-t", "-f", path.join(tmp, "does-not-exist.conf")]);
        expect(r.status).toBe(0);
    });

    test("a non-root script_user kills the checker itself (acassen/keepalived#2617), hence script_user root", () => {
        const r = keepalivedCheck(v3Text.replace("script_user root", "script_user nobody"));
        expect(r.status).not.toBe(0);
    });
});

// ---------------------------------------------------------------------------------------------
// Functional: two keepalived daemons on the rendered configs, across a veth pair.
// ---------------------------------------------------------------------------------------------

describe("two LB nodes on the rendered configs", () => {
    const VIP = "10.77.1.100";
    const nodes = {
        a: { ns: `swp-ka-${process.pid}`, ip: "10.77.1.11", priority: 150, proc: undefined as ChildProcess | undefined, log: "" },
        b: { ns: `swp-kb-${process.pid}`, ip: "10.77.1.12", priority: 100, proc: undefined as ChildProcess | undefined, log: "" },
    };
    type Node = (typeof nodes)["a"];
    let flagScript = "";
    const okFlag = (n: Node): string => path.join(tmp, `ok-${n.ns}`);

    const holdsVip = (n: Node): boolean => must("ip", ["-n", n.ns, "-4", "-o", "addr", "show", "dev", "eth0"]).includes(` ${VIP}/`);

    const start = (n: Node, other: Node): void => {
        const conf = path.join(tmp, `${n.ns}.conf`);
        fs.writeFileSync(
            conf,
            renderKeepalivedConfig({
                routerId: n.ns,
                interface: "eth0",
                virtualRouterId: 77,
                priority: n.priority,
                unicastSrcIp: n.ip,
                unicastPeers: [other.ip],
                virtualIp: VIP,
                virtualIpPrefix: 24,
                advertIntervalSeconds: 0.2,
                vrrpVersion: 3,
                healthCheck: { script: `${flagScript} ${okFlag(n)}`, intervalSeconds: 1, fall: 2, rise: 2 },
            }),
        );
        const proc = spawn(
            "ip",
            [
                "netns",
                "exec",
                n.ns,
                "keepalived",
                "--dont-fork",
                "--vrrp",
                "--log-console",
                "--no-syslog",
                "--pid",
                path.join(tmp, `${n.ns}.pid`),
                "--vrrp_pid",
                path.join(tmp, `${n.ns}-vrrp.pid`),
                "-f",
                conf,
            ],
            { stdio: ["ignore", "pipe", "pipe"] },
        );
        proc.stdout?.on("data", (d: Buffer) => (n.log += d.toString()));
        proc.stderr?.on("data", (d: Buffer) => (n.log += d.toString()));
        n.proc = proc;
    };

    const stop = async (n: Node): Promise<void> => {
        const proc = n.proc;
        if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
    };

    /** Polls every 50 ms; fails if the VIP is ever on both nodes. Returns ms until `done`. */
    const until = async (what: string, timeoutMs: number, done: () => boolean): Promise<number> => {
        const t0 = Date.now();
        for (;;) {
            const both = holdsVip(nodes.a) && holdsVip(nodes.b);
            if (both) throw new Error(`split brain: the VIP is on both nodes while waiting for ${what}`);
            if (done()) return Date.now() - t0;
            if (Date.now() - t0 > timeoutMs) {
                throw new Error(
                    `timed out after ${timeoutMs} ms waiting for ${what}\n--- a ---\n${nodes.a.log}\n--- b ---\n${nodes.b.log}`,
                );
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    };

    beforeAll(() => {
        flagScript = path.join(tmp, "flag_check.sh");
        fs.writeFileSync(flagScript, '#!/bin/sh\n[ -e "$1" ]\n', { mode: 0o755 });
        for (const n of [nodes.a, nodes.b]) {
            run("ip", ["netns", "del", n.ns]);
            must("ip", ["netns", "add", n.ns]);
            must("ip", ["-n", n.ns, "link", "set", "lo", "up"]);
        }
        must("ip", ["link", "add", "swp-veth-a", "netns", nodes.a.ns, "type", "veth", "peer", "name", "swp-veth-b", "netns", nodes.b.ns]);
        for (const [n, dev] of [
            [nodes.a, "swp-veth-a"],
            [nodes.b, "swp-veth-b"],
        ] as const) {
            must("ip", ["-n", n.ns, "link", "set", dev, "name", "eth0"]);
            must("ip", ["-n", n.ns, "link", "set", "eth0", "up"]);
            must("ip", ["-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", "eth0"]);
            fs.writeFileSync(okFlag(n), "");
        }
    });

    afterAll(async () => {
        await stop(nodes.a);
        await stop(nodes.b);
        for (const n of [nodes.a, nodes.b]) run("ip", ["netns", "del", n.ns]);
    });

    test("failover: FAULT hands the VIP over at once, nopreempt keeps it there, a graceful stop hands it back", async () => {
        // 1. A alone: becomes MASTER only after its check rose (init_fail), then holds the VIP.
        start(nodes.a, nodes.b);
        await until("A to take the VIP", 8000, () => holdsVip(nodes.a));
        start(nodes.b, nodes.a);
        await until("B to become an eligible BACKUP", 8000, () => /Entering BACKUP STATE/.test(nodes.b.log));
        expect(holdsVip(nodes.b)).toBe(false);

        // 2. A's check fails: after fall × interval A enters FAULT and B has the VIP right away.
        fs.rmSync(okFlag(nodes.a));
        const handover = await until("B to take the VIP after A's check failed", 6000, () => holdsVip(nodes.b));
        expect(holdsVip(nodes.a)).toBe(false);
        expect(nodes.a.log).toMatch(/Entering FAULT STATE/);
        expect(handover).toBeLessThan(2 * 1000 + 1500);

        // 3. A recovers (higher priority) but nopreempt keeps the VIP on B.
        const faults = nodes.a.log.split("Entering BACKUP STATE").length;
        fs.writeFileSync(okFlag(nodes.a), "");
        await until("A to return to BACKUP", 6000, () => nodes.a.log.split("Entering BACKUP STATE").length > faults);
        await new Promise((r) => setTimeout(r, 1500));
        expect(holdsVip(nodes.b)).toBe(true);
        expect(holdsVip(nodes.a)).toBe(false);

        // 4. Graceful stop of B (priority-0 advert): A takes over at once, not after a master-down interval.
        const stopped = stop(nodes.b);
        const graceful = await until("A to take the VIP after B was told to stop", 3000, () => holdsVip(nodes.a));
        await stopped;
        expect(graceful).toBeLessThan(masterDownIntervalSeconds(0.2, nodes.a.priority) * 1000);
    }, 40000);
});
