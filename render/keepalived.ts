/**
 * keepalived configuration renderer (pure: no Pulumi, no I/O, deterministic).
 *
 * One VRRP instance per LB node holding the ingress VIP, health-tracking the
 * node's HAProxy. The output passes `keepalived -t -f FILE` on keepalived 2.2.7
 * (Debian 12); tests/render/keepalived.live.test.ts runs the real checker on it.
 *
 * What keepalived 2.2.7 accepts (measured with `keepalived -t`, see
 * tests/render/keepalived.live.test.ts):
 * - `advert_int`: VRRPv2 only whole seconds 1–255 (0.2 → "must be an integer.
 *   rounding", exit 5); VRRPv3 in 10 ms steps from 0.01 to 40.95 s.
 * - `vrrp_script` `interval` and `timeout`: whole seconds ≥ 1 only ("invalid
 *   number '0.5'", exit 5). Sub-second HAProxy tracking is therefore not
 *   possible with a script; detection time is interval × fall.
 * - `check_unicast_src` exists (a misspelt keyword fails the test, this does not).
 * - `authentication` with VRRPv3 is refused ("does not support authentication");
 *   `auth_pass` longer than 8 characters is truncated (exit 5).
 * - `nopreempt` with `state MASTER` is cleared with a warning (exit 5).
 * - A non-root `script_user` makes `keepalived -t` kill itself with SIGTERM
 *   (exit 143, acassen/keepalived#2617), although the daemon would run;
 *   `script_user root` is used (the container is the isolation boundary).
 * - The tracked script must exist (else "Disabling track script", exit 5);
 *   a missing notify script is not detected by `-t`.
 */
import { isIP } from "node:net";
import { LB_MONITOR_URI } from "./haproxy";
import { LB_NODE_PATHS } from "./lbNode";

/** Path of the HAProxy check script on an LB node (render/lbNode.ts). */
export const LB_CHECK_SCRIPT_PATH = LB_NODE_PATHS.checkScript;

/** Name of the tracked `vrrp_script` and of the VRRP instance in the rendered config. */
export const KEEPALIVED_SCRIPT_NAME = "chk_haproxy";
export const KEEPALIVED_INSTANCE_NAME = "VI_LB";

/** The tracked health check. No `weight`: a failing check puts the node in FAULT and releases the VIP at once. */
export interface KeepalivedHealthCheck {
    /**
     * Command keepalived runs (path plus optional space-separated arguments, no
     * quotes), e.g. `checkHaproxyCommand(80)`. The path must be root-owned and not
     * writable by others (enable_script_security).
     */
    readonly script: string;
    /** Seconds between runs; keepalived 2.2.7 only takes whole seconds ≥ 1. Also the script's timeout. */
    readonly intervalSeconds: number;
    /** Consecutive failures before FAULT. */
    readonly fall: number;
    /** Consecutive successes before the node may hold the VIP again (also needed at start: init_fail). */
    readonly rise: number;
}

/** Input of {@link renderKeepalivedConfig}. */
export interface KeepalivedConfigInput {
    /** Node name, e.g. "lb-0" (global_defs router_id). */
    readonly routerId: string;
    /** Interface carrying VRRP and the VIP, e.g. "eth0" (must exist when keepalived starts). */
    readonly interface: string;
    /** VRRP virtual router id, 1–255, same on both nodes, unique on the segment. */
    readonly virtualRouterId: number;
    /** 1–254, distinct per node (e.g. 150 / 100): decides who wins when both start together. */
    readonly priority: number;
    /** This node's address (source of its adverts). */
    readonly unicastSrcIp: string;
    /** The other LB node(s); only adverts from these sources are accepted (check_unicast_src). */
    readonly unicastPeers: readonly string[];
    /** The virtual IP, e.g. "172.28.0.100". */
    readonly virtualIp: string;
    /** Prefix length of the VIP's subnet, e.g. 24. */
    readonly virtualIpPrefix: number;
    /** VRRPv2: whole seconds 1–255. VRRPv3: 0.01–40.95 in 10 ms steps (0.2 measured stable here). */
    readonly advertIntervalSeconds: number;
    readonly vrrpVersion: 2 | 3;
    /** VRRPv2 PASS authentication, 1–8 characters (secret). Must be absent with VRRPv3, which has no authentication. */
    readonly authPassword?: string;
    readonly healthCheck: KeepalivedHealthCheck;
    /**
     * Optional file keepalived watches with inotify (`track_file`, weight 0): a non-zero value puts
     * the node in FAULT at once. The LB image writes 1 there the moment HAProxy exits, so a dead
     * HAProxy releases the VIP without waiting for healthCheck's interval × fall.
     */
    readonly trackFile?: { readonly name: string; readonly path: string };
    /**
     * Optional command run on every state change with keepalived's arguments
     * `INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>` (on AWS it moves the
     * VIP with an API call). Path plus optional arguments, like healthCheck.script.
     */
    readonly notifyScript?: string;
    /**
     * Optional hook run on entering each state as `<hook> <STATE> <instance>` (notify_master,
     * notify_backup, notify_fault, notify_stop): the LB nodes record their state for Prometheus
     * (images/lb/keepalived_metrics.sh). keepalived runs these as well as `notifyScript`. A path.
     */
    readonly stateHook?: string;
}

/** The states keepalived runs a hook for, with the option that names each hook. */
const STATE_HOOKS = [
    ["notify_backup", "BACKUP"],
    ["notify_master", "MASTER"],
    ["notify_fault", "FAULT"],
    ["notify_stop", "STOP"],
] as const;

/** The check command for the LB image: `/usr/local/bin/check_haproxy.sh <port> <monitor uri>`. */
export function checkHaproxyCommand(webPort: number, monitorUri = LB_MONITOR_URI): string {
    if (!Number.isInteger(webPort) || webPort < 1 || webPort > 65535) {
        throw new Error(`checkHaproxyCommand: webPort must be an integer port 1-65535 (got ${webPort})`);
    }
    if (!/^\/[A-Za-z0-9._~/-]*$/.test(monitorUri)) {
        throw new Error(`checkHaproxyCommand: monitorUri must be a simple absolute path (got ${JSON.stringify(monitorUri)})`);
    }
    return `${LB_CHECK_SCRIPT_PATH} ${webPort} ${monitorUri}`;
}

/**
 * Worst-case seconds from the VRRP master vanishing (SIGKILL, host down) to the
 * backup taking the VIP: Master_Down_Interval = 3 × advert + skew, with
 * skew = (256 − priority) × advert / 256 (RFC 5798). A graceful stop or a FAULT
 * (failed check) hands over at once instead: the master sends a priority-0 advert.
 */
export function masterDownIntervalSeconds(advertIntervalSeconds: number, backupPriority: number): number {
    return 3 * advertIntervalSeconds + ((256 - backupPriority) * advertIntervalSeconds) / 256;
}

/**
 * Renders keepalived.conf for one LB node.
 *
 * - Both nodes `state BACKUP` + `nopreempt`: whoever holds the VIP keeps it when
 *   the other returns (one VIP move per failure, not two). With `state MASTER`
 *   keepalived silently drops nopreempt.
 * - Unicast peers (no multicast in a VPC) and `check_unicast_src`.
 * - `vrrp_version` in global_defs; VRRPv2 adds PASS authentication, VRRPv3 has
 *   none (RFC 5798 removed it) — there, unicast + check_unicast_src are what
 *   reject foreign adverts.
 * - The tracked `vrrp_script` has no `weight`, and `init_fail`: a node only
 *   becomes eligible after `rise` good checks, so it never takes the VIP before
 *   its HAProxy answers.
 * - Interface tracking stays on (no `dont_track_primary`): a node whose
 *   interface goes down goes to FAULT and gives up the VIP instead of keeping
 *   an address it cannot serve.
 * - GARP: a second burst 1 s after becoming MASTER (default 5 s) and a refresh
 *   every 60 s so neighbours that missed the move catch up.
 *
 * Throws on combinations keepalived 2.2.7 would silently alter (see module doc).
 */
export function renderKeepalivedConfig(input: KeepalivedConfigInput): string {
    const fail = (msg: string): never => {
        throw new Error(`renderKeepalivedConfig: ${msg}`);
    };
    assertWord("routerId", input.routerId);
    if (!/^[A-Za-z0-9._@-]{1,15}$/.test(input.interface)) {
        fail(`interface must be a Linux interface name (got ${JSON.stringify(input.interface)})`);
    }
    if (!Number.isInteger(input.virtualRouterId) || input.virtualRouterId < 1 || input.virtualRouterId > 255) {
        fail(`virtualRouterId must be an integer 1-255 (got ${input.virtualRouterId})`);
    }
    if (!Number.isInteger(input.priority) || input.priority < 1 || input.priority > 254) {
        fail(`priority must be an integer 1-254 (255 is reserved for the address owner; got ${input.priority})`);
    }

    const family = ipFamily(input.virtualIp);
    if (family === 0) fail(`virtualIp must be an IP address (got ${JSON.stringify(input.virtualIp)})`);
    const maxPrefix = family === 4 ? 32 : 128;
    if (!Number.isInteger(input.virtualIpPrefix) || input.virtualIpPrefix < 1 || input.virtualIpPrefix > maxPrefix) {
        fail(`virtualIpPrefix must be an integer 1-${maxPrefix} (got ${input.virtualIpPrefix})`);
    }
    if (ipFamily(input.unicastSrcIp) !== family) {
        fail(`unicastSrcIp must be an IPv${family} address like the VIP (got ${JSON.stringify(input.unicastSrcIp)})`);
    }
    if (input.unicastPeers.length === 0) fail("unicastPeers is empty");
    const peers = new Set<string>();
    for (const peer of input.unicastPeers) {
        if (ipFamily(peer) !== family) fail(`unicast peer must be an IPv${family} address like the VIP (got ${JSON.stringify(peer)})`);
        if (peer === input.unicastSrcIp) fail(`unicastPeers contains this node's own address ${peer}`);
        if (peers.has(peer)) fail(`unicastPeers contains ${peer} twice`);
        peers.add(peer);
    }
    if (peers.has(input.virtualIp) || input.virtualIp === input.unicastSrcIp) {
        fail(`virtualIp ${input.virtualIp} must differ from the nodes' own addresses`);
    }

    const advert = input.advertIntervalSeconds;
    if (input.vrrpVersion === 2) {
        if (!Number.isInteger(advert) || advert < 1 || advert > 255) {
            fail(
                `VRRPv2 advertises whole seconds 1-255 only (got advertIntervalSeconds ${advert}); ` +
                    "use vrrpVersion 3 for sub-second adverts",
            );
        }
    } else if (input.vrrpVersion === 3) {
        const centis = Math.round(advert * 100);
        if (!Number.isFinite(advert) || Math.abs(centis - advert * 100) > 1e-6 || centis < 1 || centis > 4095) {
            fail(`VRRPv3 advertises 0.01-40.95 s in 10 ms steps (got advertIntervalSeconds ${advert})`);
        }
    } else {
        fail(`vrrpVersion must be 2 or 3 (got ${String(input.vrrpVersion)})`);
    }

    if (input.authPassword !== undefined) {
        if (input.vrrpVersion === 3) fail("VRRPv3 has no authentication: authPassword must be absent");
        if (!/^[\x21-\x7e]{1,8}$/.test(input.authPassword) || /[#!"'\\]/.test(input.authPassword)) {
            fail(
                "authPassword must be 1-8 printable characters without whitespace, quotes, backslash, '#' or '!' " +
                    "(VRRPv2 carries 8 bytes; keepalived truncates longer ones and treats '#'/'!' as comments)",
            );
        }
    }

    const hc = input.healthCheck;
    assertCommand("healthCheck.script", hc.script);
    if (!Number.isInteger(hc.intervalSeconds) || hc.intervalSeconds < 1) {
        fail(`healthCheck.intervalSeconds must be a whole number of seconds >= 1 in keepalived 2.2.7 (got ${hc.intervalSeconds})`);
    }
    if (!Number.isInteger(hc.fall) || hc.fall < 1) fail(`healthCheck.fall must be an integer >= 1 (got ${hc.fall})`);
    if (!Number.isInteger(hc.rise) || hc.rise < 1) fail(`healthCheck.rise must be an integer >= 1 (got ${hc.rise})`);
    if (input.notifyScript !== undefined) assertCommand("notifyScript", input.notifyScript);
    if (input.stateHook !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(input.stateHook)) {
        fail(`stateHook must be an absolute path (got ${JSON.stringify(input.stateHook)})`);
    }
    if (input.trackFile !== undefined) {
        assertWord("trackFile.name", input.trackFile.name);
        if (!/^\/[A-Za-z0-9._/-]+$/.test(input.trackFile.path))
            fail(`trackFile.path must be an absolute path (got ${JSON.stringify(input.trackFile.path)})`);
    }

    const out: string[] = [
        `# keepalived.conf for LB node ${input.routerId}.`,
        "# Rendered by swarm-platform (render/keepalived.ts); uploaded by the program. Do not edit by hand.",
        "",
        "global_defs {",
        `    router_id ${input.routerId}`,
        `    vrrp_version ${input.vrrpVersion}`,
        "    # Scripts run as root: root-owned, not writable by others (a non-root script_user",
        "    # breaks 'keepalived -t' in 2.2.7, acassen/keepalived#2617).",
        "    enable_script_security",
        "    script_user root",
        "    vrrp_garp_master_delay 1",
        "    vrrp_garp_master_refresh 60",
        "}",
        "",
        `vrrp_script ${KEEPALIVED_SCRIPT_NAME} {`,
        `    script "${hc.script}"`,
        `    interval ${hc.intervalSeconds}`,
        `    timeout ${hc.intervalSeconds}`,
        `    fall ${hc.fall}`,
        `    rise ${hc.rise}`,
        "    # Failed until proven good: never take the VIP before HAProxy answers.",
        "    init_fail",
        "    # No weight: a failing check means FAULT, which releases the VIP at once.",
        "}",
        "",
        ...(input.trackFile === undefined
            ? []
            : [
                  `track_file ${input.trackFile.name} {`,
                  `    file ${input.trackFile.path}`,
                  "    # Non-zero means FAULT at once (inotify, no polling).",
                  "    weight 0",
                  "    init_file 0",
                  "}",
                  "",
              ]),
        `vrrp_instance ${KEEPALIVED_INSTANCE_NAME} {`,
        "    # BACKUP on every node: nopreempt is ignored with state MASTER.",
        "    state BACKUP",
        "    nopreempt",
        `    interface ${input.interface}`,
        `    virtual_router_id ${input.virtualRouterId}`,
        `    priority ${input.priority}`,
        `    advert_int ${formatSeconds(advert)}`,
        `    unicast_src_ip ${input.unicastSrcIp}`,
        "    # Accept adverts only from the listed peers.",
        "    check_unicast_src",
        "    unicast_peer {",
        ...input.unicastPeers.map((p) => `        ${p}`),
        "    }",
    ];
    if (input.vrrpVersion === 2) {
        if (input.authPassword !== undefined) {
            out.push("    authentication {", "        auth_type PASS", `        auth_pass ${input.authPassword}`, "    }");
        } else {
            out.push("    # No authentication configured.");
        }
    } else {
        out.push("    # VRRPv3 has no authentication (RFC 5798); unicast peers + check_unicast_src filter adverts.");
    }
    out.push(
        "    virtual_ipaddress {",
        `        ${input.virtualIp}/${input.virtualIpPrefix} dev ${input.interface}`,
        "    }",
        "    track_script {",
        `        ${KEEPALIVED_SCRIPT_NAME}`,
        "    }",
    );
    if (input.trackFile !== undefined) out.push("    track_file {", `        ${input.trackFile.name}`, "    }");
    if (input.notifyScript !== undefined) out.push(`    notify "${input.notifyScript}"`);
    const hook = input.stateHook;
    if (hook !== undefined) {
        out.push(...STATE_HOOKS.map(([option, state]) => `    ${option} "${hook} ${state} ${KEEPALIVED_INSTANCE_NAME}"`));
    }
    out.push("}");
    return `${out.join("\n")}\n`;
}

function ipFamily(s: string): 0 | 4 | 6 {
    const f = isIP(s);
    return f === 4 || f === 6 ? f : 0;
}

function formatSeconds(s: number): string {
    // Whole seconds as integers, fractions with at most two decimals (10 ms steps): 1, 0.2, 0.05.
    return Number.isInteger(s) ? String(s) : String(Math.round(s * 100) / 100);
}

function assertWord(what: string, s: string): void {
    if (!/^[A-Za-z0-9._@-]+$/.test(s)) {
        throw new Error(`renderKeepalivedConfig: ${what} must match [A-Za-z0-9._@-]+ (got ${JSON.stringify(s)})`);
    }
}

function assertCommand(what: string, s: string): void {
    // Absolute path plus plain arguments: rendered inside double quotes, so no quotes, backslashes or comment characters.
    if (!/^\/[A-Za-z0-9._/-]+( [A-Za-z0-9._/:=@%+,-]+)*$/.test(s)) {
        throw new Error(
            `renderKeepalivedConfig: ${what} must be an absolute path with optional plain arguments (got ${JSON.stringify(s)})`,
        );
    }
}

export interface LbReadyInput {
    readonly nodeName: string;
    /** The peer LB node's address (its HAProxy answers the monitor URI on `webPort`). */
    readonly peerAddress: string;
    readonly webPort: number;
    /** Seconds to wait. Defaults to 120. */
    readonly timeoutSeconds?: number;
}

/**
 * The gate of the LB pair's rolling replacement, run on a node once its container is up: waits until
 * keepalived runs and HAProxy answers 200 on the monitor URI (it answers 503 while the web backend has
 * no server UP), so the peer — replaced next — can hand the VIP to a node that serves. While the peer
 * does not serve either (the first `pulumi up`, before the web service exists) HAProxy and keepalived
 * running is all there is to wait for.
 */
export function renderLbReadyScript(input: LbReadyInput): string {
    const timeout = input.timeoutSeconds ?? 120;
    const self = checkHaproxyCommand(input.webPort);
    if (!/^[0-9.]+$/.test(input.peerAddress)) throw new Error(`renderLbReadyScript: peerAddress must be an IPv4 address`);
    if (!Number.isInteger(timeout) || timeout < 1) throw new Error("renderLbReadyScript: timeoutSeconds must be a whole number ≥ 1");
    return [
        "#!/bin/sh",
        `# Waits until ${input.nodeName} serves (rolling-replacement gate of the LB pair).`,
        "set -eu",
        `deadline=$(( $(date +%s) + ${timeout} ))`,
        "while :; do",
        "  if pgrep -x keepalived >/dev/null; then",
        `    if ${self}; then`,
        `      echo "lb-ready[${input.nodeName}]: HAProxy serves and keepalived runs" >&2`,
        "      exit 0",
        "    fi",
        `    if pgrep -x haproxy >/dev/null && ! CHECK_HAPROXY_HOST=${input.peerAddress} ${self}; then`,
        `      echo "lb-ready[${input.nodeName}]: HAProxy and keepalived run; the peer serves nothing either (no backend yet)" >&2`,
        "      exit 0",
        "    fi",
        "  fi",
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        `    echo "lb-ready[${input.nodeName}]: not serving after ${timeout} s" >&2`,
        "    exit 1",
        "  fi",
        "  sleep 0.5",
        "done",
        "",
    ].join("\n");
}
