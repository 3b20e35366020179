/**
 * render/keepalived.ts, fast set: the failover rules each line of the rendered keepalived.conf
 * implements, read off the text in-process, and the inputs the renderer refuses. The real
 * keepalived 2.2.7 on the same text (`keepalived -t` in a network namespace, and two daemons
 * failing over across a veth pair) is in keepalived.live.test.ts.
 */
import {
    KEEPALIVED_INSTANCE_NAME,
    KEEPALIVED_SCRIPT_NAME,
    checkHaproxyCommand,
    masterDownIntervalSeconds,
    renderKeepalivedConfig,
    renderLbReadyScript,
    type KeepalivedConfigInput,
} from "../../render/keepalived";

/** Any absolute path: nothing here runs the script. */
const CHECK_SCRIPT = "/opt/test/check_haproxy.sh";

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
    healthCheck: { script: `${CHECK_SCRIPT} 80 /lb-health`, intervalSeconds: 1, fall: 2, rise: 2 },
});

const v2Input = (): KeepalivedConfigInput => ({
    ...v3Input(),
    advertIntervalSeconds: 1,
    vrrpVersion: 2,
    authPassword: "Xy7zQ2ab",
});

/** The config without comment lines. */
function directives(cfg: string): string {
    return cfg
        .split("\n")
        .filter((l) => !l.trim().startsWith("#"))
        .join("\n");
}

/** The lines of one block (`global_defs`, `vrrp_instance VI_LB`, …), trimmed, comments dropped. */
function block(cfg: string, header: string): string[] {
    const all = cfg.split("\n");
    const start = all.indexOf(`${header} {`);
    if (start < 0) throw new Error(`block ${header} not found`);
    const body: string[] = [];
    for (const line of all.slice(start + 1)) {
        if (line === "}") break;
        const t = line.trim();
        if (!t.startsWith("#")) body.push(t);
    }
    return body;
}

describe("renderKeepalivedConfig: failover rules", () => {
    let cfg: string;
    beforeEach(() => {
        cfg = renderKeepalivedConfig(v3Input());
    });
    let instance: string[];
    beforeEach(() => {
        instance = block(cfg, `vrrp_instance ${KEEPALIVED_INSTANCE_NAME}`);
    });
    let script: string[];
    beforeEach(() => {
        script = block(cfg, `vrrp_script ${KEEPALIVED_SCRIPT_NAME}`);
    });

    test("every node starts as BACKUP with nopreempt", () => {
        expect(instance).toContain("state BACKUP");
        expect(instance).toContain("nopreempt");
        expect(directives(cfg)).not.toContain("state MASTER");
    });

    test("adverts are unicast to the peers and only accepted from them", () => {
        expect(instance).toContain("unicast_src_ip 172.28.0.11");
        expect(instance).toContain("check_unicast_src");
        expect(cfg).toContain("    unicast_peer {\n        172.28.0.12\n    }");
    });

    test("the VRRP version is global and VRRPv3 carries no authentication block", () => {
        expect(block(cfg, "global_defs")).toContain("vrrp_version 3");
        expect(directives(cfg)).not.toContain("authentication");
        expect(directives(cfg)).not.toContain("auth_pass");
    });

    test("VRRPv2 renders PASS authentication", () => {
        const v2 = renderKeepalivedConfig(v2Input());
        expect(block(v2, "global_defs")).toContain("vrrp_version 2");
        expect(v2).toContain(`        auth_type PASS\n        auth_pass ${v2Input().authPassword}\n`);
        expect(v2).toContain("advert_int 1\n");
    });

    test("the tracked script has no weight (a failed check means FAULT) and starts failed", () => {
        expect(directives(cfg)).not.toMatch(/\bweight\b/);
        expect(script).toEqual([`script "${CHECK_SCRIPT} 80 /lb-health"`, "interval 1", "timeout 1", "fall 2", "rise 2", "init_fail"]);
        expect(instance.slice(instance.indexOf("track_script {"))).toEqual(["track_script {", KEEPALIVED_SCRIPT_NAME, "}"]);
    });

    test("scripts run with script security as root", () => {
        expect(block(cfg, "global_defs")).toEqual(expect.arrayContaining(["enable_script_security", "script_user root"]));
    });

    test("the VIP sits on the configured interface with its prefix, and adverts every 0.2 s", () => {
        expect(cfg).toContain("    virtual_ipaddress {\n        172.28.0.100/24 dev eth0\n    }");
        expect(instance).toContain("advert_int 0.2");
        expect(instance).toContain("virtual_router_id 51");
        expect(instance).toContain("priority 150");
    });

    test("interface tracking stays on (no dont_track_primary)", () => {
        expect(directives(cfg)).not.toContain("dont_track_primary");
    });

    test("master-down interval at 0.2 s adverts is about 0.72 s (3 adverts + skew)", () => {
        // 3 × 0.2 + (256 − 100) × 0.2 / 256 = 0.6 + 0.121875
        expect(masterDownIntervalSeconds(0.2, 100)).toBeCloseTo(0.721875, 9);
        expect(masterDownIntervalSeconds(0.2, 100)).toBeLessThan(0.75);
    });

    test("same input gives byte-identical output", () => {
        expect(renderKeepalivedConfig(v3Input())).toBe(cfg);
    });
});

describe("renderKeepalivedConfig refuses what keepalived 2.2.7 would silently alter", () => {
    const v2 = v2Input();
    const v3 = v3Input();
    test.each<[string, KeepalivedConfigInput, RegExp]>([
        ["sub-second adverts with VRRPv2", { ...v2, advertIntervalSeconds: 0.2 }, /VRRPv2 advertises whole seconds/],
        ["fractional adverts with VRRPv2", { ...v2, advertIntervalSeconds: 1.5 }, /VRRPv2 advertises whole seconds/],
        ["VRRPv3 adverts off the 10 ms grid", { ...v3, advertIntervalSeconds: 0.015 }, /10 ms steps/],
        ["VRRPv3 adverts above 40.95 s", { ...v3, advertIntervalSeconds: 41 }, /10 ms steps/],
        ["authentication with VRRPv3", { ...v3, authPassword: "abc" }, /VRRPv3 has no authentication/],
        ["an auth password longer than 8 characters", { ...v2, authPassword: "123456789" }, /1-8 printable/],
        ["a sub-second check interval", { ...v3, healthCheck: { ...v3.healthCheck, intervalSeconds: 0.5 } }, /whole number of seconds/],
        ["a peer equal to this node", { ...v3, unicastPeers: ["172.28.0.11"] }, /own address/],
        ["no peers", { ...v3, unicastPeers: [] }, /unicastPeers is empty/],
        ["an IPv6 VIP with IPv4 peers", { ...v3, virtualIp: "fd00::100", virtualIpPrefix: 64 }, /IPv6/],
        ["priority 255", { ...v3, priority: 255 }, /priority must be an integer 1-254/],
        ["a quoted script", { ...v3, healthCheck: { ...v3.healthCheck, script: `${CHECK_SCRIPT} "x"` } }, /absolute path/],
    ])("refuses %s", (_name, input, message) => {
        expect(() => renderKeepalivedConfig(input)).toThrow(message);
    });
});

describe("renderKeepalivedConfig: optional parts", () => {
    test("VRRPv2 without a password renders no authentication block", () => {
        const cfg = renderKeepalivedConfig({ ...v2Input(), authPassword: undefined });
        expect(directives(cfg)).not.toContain("authentication");
        expect(cfg).toContain("vrrp_version 2\n");
    });

    test("a track file puts the node in FAULT when non-zero (weight 0) and is tracked by the instance", () => {
        const cfg = renderKeepalivedConfig({ ...v3Input(), trackFile: { name: "haproxy_down", path: "/run/lb/haproxy-down" } });
        expect(block(cfg, "track_file haproxy_down")).toEqual(["file /run/lb/haproxy-down", "weight 0", "init_file 0"]);
        expect(cfg).toContain("    track_file {\n        haproxy_down\n    }\n");
        expect(renderKeepalivedConfig(v3Input())).not.toContain("track_file");
    });

    test("the notify script runs on every state change, quoted", () => {
        expect(renderKeepalivedConfig({ ...v3Input(), notifyScript: "/usr/local/bin/vip-notify --x=1" })).toContain(
            '    notify "/usr/local/bin/vip-notify --x=1"\n}\n',
        );
        expect(renderKeepalivedConfig(v3Input())).not.toMatch(/\bnotify\b/);
    });

    test("the file names the node, ends with a newline and sends a GARP burst 1 s after MASTER and every 60 s", () => {
        const cfg = renderKeepalivedConfig(v3Input());
        expect(cfg.startsWith("# keepalived.conf for LB node lb-0.\n")).toBe(true);
        expect(cfg.endsWith("}\n")).toBe(true);
        expect(block(cfg, "global_defs")).toEqual([
            "router_id lb-0",
            "vrrp_version 3",
            "enable_script_security",
            "script_user root",
            "vrrp_garp_master_delay 1",
            "vrrp_garp_master_refresh 60",
        ]);
    });

    test("adverts: whole seconds as integers, fractions in 10 ms steps", () => {
        const advert = (vrrpVersion: 2 | 3, advertIntervalSeconds: number) =>
            block(renderKeepalivedConfig({ ...v3Input(), vrrpVersion, advertIntervalSeconds }), "vrrp_instance VI_LB").find((l) =>
                l.startsWith("advert_int"),
            );
        expect(advert(3, 0.01)).toBe("advert_int 0.01");
        expect(advert(3, 40.95)).toBe("advert_int 40.95");
        expect(advert(3, 0.3)).toBe("advert_int 0.3");
        expect(advert(3, 2)).toBe("advert_int 2");
        expect(advert(2, 255)).toBe("advert_int 255");
        expect(advert(2, 1)).toBe("advert_int 1");
    });
});

describe("renderKeepalivedConfig: input bounds", () => {
    const v3 = v3Input();
    test.each<[string, Partial<KeepalivedConfigInput>, RegExp | null]>([
        ["routerId with a space", { routerId: "lb 0" }, /routerId must match/],
        ["a 16-character interface", { interface: "a".repeat(16) }, /interface must be a Linux interface name/],
        ["a 15-character interface", { interface: "a".repeat(15) }, null],
        ["virtualRouterId 0", { virtualRouterId: 0 }, /virtualRouterId must be an integer 1-255/],
        ["virtualRouterId 256", { virtualRouterId: 256 }, /virtualRouterId/],
        ["virtualRouterId 1", { virtualRouterId: 1 }, null],
        ["virtualRouterId 255", { virtualRouterId: 255 }, null],
        ["virtualRouterId 1.5", { virtualRouterId: 1.5 }, /virtualRouterId/],
        ["priority 0", { priority: 0 }, /priority must be an integer 1-254/],
        ["priority 1", { priority: 1 }, null],
        ["priority 254", { priority: 254 }, null],
        ["priority 100.5", { priority: 100.5 }, /priority/],
        ["a VIP that is no address", { virtualIp: "vip" }, /virtualIp must be an IP address/],
        ["prefix 0", { virtualIpPrefix: 0 }, /virtualIpPrefix must be an integer 1-32/],
        ["prefix 33 on IPv4", { virtualIpPrefix: 33 }, /1-32/],
        ["prefix 32 on IPv4", { virtualIpPrefix: 32 }, null],
        ["prefix 24.5", { virtualIpPrefix: 24.5 }, /virtualIpPrefix/],
        ["an IPv6 source with an IPv4 VIP", { unicastSrcIp: "fd00::11" }, /unicastSrcIp must be an IPv4 address/],
        ["a peer listed twice", { unicastPeers: ["172.28.0.12", "172.28.0.12"] }, /contains 172.28.0.12 twice/],
        ["a VIP equal to a peer", { virtualIp: "172.28.0.12" }, /must differ from the nodes' own addresses/],
        ["a VIP equal to this node", { virtualIp: "172.28.0.11" }, /must differ/],
        ["VRRPv3 adverts of 0", { advertIntervalSeconds: 0 }, /10 ms steps/],
        ["VRRPv3 adverts of 40.96", { advertIntervalSeconds: 40.96 }, /10 ms steps/],
        ["VRRPv3 adverts of Infinity", { advertIntervalSeconds: Infinity }, /10 ms steps/],
        ["VRRP version 4", { vrrpVersion: 4 as 3 }, /vrrpVersion must be 2 or 3 \(got 4\)/],
        ["VRRPv2 adverts of 256", { vrrpVersion: 2, advertIntervalSeconds: 256 }, /VRRPv2 advertises whole seconds 1-255/],
        ["VRRPv2 adverts of 0", { vrrpVersion: 2, advertIntervalSeconds: 0 }, /VRRPv2/],
        ["an auth password with '#'", { vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "ab#c" }, /1-8 printable/],
        ["an auth password with a space", { vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "ab c" }, /1-8 printable/],
        ["an empty auth password", { vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "" }, /1-8 printable/],
        ["an 8-character auth password", { vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "12345678" }, null],
        ["check fall 0", { healthCheck: { ...v3.healthCheck, fall: 0 } }, /healthCheck.fall must be an integer >= 1/],
        ["check rise 0", { healthCheck: { ...v3.healthCheck, rise: 0 } }, /healthCheck.rise must be an integer >= 1/],
        ["check interval 0", { healthCheck: { ...v3.healthCheck, intervalSeconds: 0 } }, /whole number of seconds >= 1/],
        ["a relative notify script", { notifyScript: "notify.sh" }, /notifyScript must be an absolute path/],
        ["a track file name with a space", { trackFile: { name: "a b", path: "/run/x" } }, /trackFile.name must match/],
        ["a relative track file path", { trackFile: { name: "f", path: "run/x" } }, /trackFile.path must be an absolute path/],
    ])("%s", (_name, change, message) => {
        const render = () => renderKeepalivedConfig({ ...v3, ...change });
        if (message === null) expect(render).not.toThrow();
        else expect(render).toThrow(message);
    });
});

describe("checkHaproxyCommand", () => {
    test("is the LB image's script with the web port and monitor URI", () => {
        expect(checkHaproxyCommand(80)).toBe("/usr/local/bin/check_haproxy.sh 80 /lb-health");
        expect(checkHaproxyCommand(65535, "/up")).toBe("/usr/local/bin/check_haproxy.sh 65535 /up");
        expect(checkHaproxyCommand(1)).toBe("/usr/local/bin/check_haproxy.sh 1 /lb-health");
    });

    test("refuses a port outside 1-65535 or a URI that is not a simple absolute path", () => {
        for (const port of [0, 65536, 80.5]) expect(() => checkHaproxyCommand(port)).toThrow(/webPort must be an integer port 1-65535/);
        for (const uri of ["lb-health", "/a b", "/a?b"])
            expect(() => checkHaproxyCommand(80, uri)).toThrow(/monitorUri must be a simple absolute path/);
    });
});

describe("renderLbReadyScript (rolling-replacement gate of the LB pair)", () => {
    const input = { nodeName: "lb-1", peerAddress: "10.0.0.11", webPort: 80 };

    test("done when keepalived runs and this node's HAProxy serves, or when the peer serves nothing either; else waits to the bound", () => {
        const script = renderLbReadyScript(input);
        expect(script.startsWith("#!/bin/sh\n")).toBe(true);
        expect(script).toContain("\nset -eu\ndeadline=$(( $(date +%s) + 120 ))\n");
        expect(script).toContain("  if pgrep -x keepalived >/dev/null; then\n    if /usr/local/bin/check_haproxy.sh 80 /lb-health; then\n");
        expect(script).toContain(
            "    if pgrep -x haproxy >/dev/null && ! CHECK_HAPROXY_HOST=10.0.0.11 /usr/local/bin/check_haproxy.sh 80 /lb-health; then\n",
        );
        expect(script).toContain('    echo "lb-ready[lb-1]: not serving after 120 s" >&2\n    exit 1\n');
        expect(renderLbReadyScript({ ...input, timeoutSeconds: 9 })).toContain("deadline=$(( $(date +%s) + 9 ))");
    });

    test("refuses a peer that is not an address and a timeout under 1 s", () => {
        expect(() => renderLbReadyScript({ ...input, peerAddress: "lb-0" })).toThrow(/peerAddress must be an IPv4 address/);
        expect(() => renderLbReadyScript({ ...input, timeoutSeconds: 0 })).toThrow(/timeoutSeconds must be a whole number/);
        expect(() => renderLbReadyScript({ ...input, timeoutSeconds: 1.5 })).toThrow(/timeoutSeconds/);
        expect(() => renderLbReadyScript({ ...input, timeoutSeconds: 1 })).not.toThrow();
        expect(() => renderLbReadyScript({ ...input, webPort: 0 })).toThrow(/webPort/);
    });
});

test("masterDownIntervalSeconds: 1 s adverts seen by a priority-150 backup", () => {
    // 3 × 1 + (256 − 150) × 1 / 256 = 3 + 0.4140625
    expect(masterDownIntervalSeconds(1, 150)).toBe(3.4140625);
});

describe("the whole rendered files (each line is a setting keepalived reads, a command, or a note for whoever reads the file)", () => {
    const head = (routerId: string, version: 2 | 3) => [
        `# keepalived.conf for LB node ${routerId}.`,
        "# Rendered by swarm-platform (render/keepalived.ts); uploaded by the program. Do not edit by hand.",
        "",
        "global_defs {",
        `    router_id ${routerId}`,
        `    vrrp_version ${version}`,
        "    # Scripts run as root: root-owned, not writable by others (a non-root script_user",
        "    # breaks 'keepalived -t' in 2.2.7, acassen/keepalived#2617).",
        "    enable_script_security",
        "    script_user root",
        "    vrrp_garp_master_delay 1",
        "    vrrp_garp_master_refresh 60",
        "}",
        "",
    ];
    const vrrpScript = (script: string, interval: number, fall: number, rise: number) => [
        "vrrp_script chk_haproxy {",
        `    script "${script}"`,
        `    interval ${interval}`,
        `    timeout ${interval}`,
        `    fall ${fall}`,
        `    rise ${rise}`,
        "    # Failed until proven good: never take the VIP before HAProxy answers.",
        "    init_fail",
        "    # No weight: a failing check means FAULT, which releases the VIP at once.",
        "}",
        "",
    ];
    const VIP_AND_TRACKED_SCRIPT = [
        "    virtual_ipaddress {",
        "        172.28.0.100/24 dev eth0",
        "    }",
        "    track_script {",
        "        chk_haproxy",
        "    }",
    ];
    const instanceHead = (advert: string) => [
        "vrrp_instance VI_LB {",
        "    # BACKUP on every node: nopreempt is ignored with state MASTER.",
        "    state BACKUP",
        "    nopreempt",
        "    interface eth0",
        "    virtual_router_id 51",
        "    priority 150",
        `    advert_int ${advert}`,
        "    unicast_src_ip 172.28.0.11",
        "    # Accept adverts only from the listed peers.",
        "    check_unicast_src",
        "    unicast_peer {",
    ];

    test("VRRPv3, sub-second adverts, one peer, nothing optional", () => {
        expect(renderKeepalivedConfig(v3Input()).split("\n")).toEqual([
            ...head("lb-0", 3),
            ...vrrpScript("/opt/test/check_haproxy.sh 80 /lb-health", 1, 2, 2),
            ...instanceHead("0.2"),
            "        172.28.0.12",
            "    }",
            "    # VRRPv3 has no authentication (RFC 5798); unicast peers + check_unicast_src filter adverts.",
            ...VIP_AND_TRACKED_SCRIPT,
            "}",
            "",
        ]);
    });

    test("VRRPv2 with a password, two peers, a track file and a notify script", () => {
        const cfg = renderKeepalivedConfig({
            ...v2Input(),
            advertIntervalSeconds: 3,
            unicastPeers: ["172.28.0.12", "172.28.0.13"],
            healthCheck: { script: "/c 81 /x", intervalSeconds: 2, fall: 3, rise: 4 },
            trackFile: { name: "haproxy_down", path: "/run/keepalived/haproxy.down" },
            notifyScript: "/usr/local/bin/vip-notify",
        });
        expect(cfg.split("\n")).toEqual([
            ...head("lb-0", 2),
            ...vrrpScript("/c 81 /x", 2, 3, 4),
            "track_file haproxy_down {",
            "    file /run/keepalived/haproxy.down",
            "    # Non-zero means FAULT at once (inotify, no polling).",
            "    weight 0",
            "    init_file 0",
            "}",
            "",
            ...instanceHead("3"),
            "        172.28.0.12",
            "        172.28.0.13",
            "    }",
            "    authentication {",
            "        auth_type PASS",
            "        auth_pass Xy7zQ2ab",
            "    }",
            ...VIP_AND_TRACKED_SCRIPT,
            "    track_file {",
            "        haproxy_down",
            "    }",
            '    notify "/usr/local/bin/vip-notify"',
            "}",
            "",
        ]);
    });

    test("VRRPv2 without a password says so where the authentication block would be", () => {
        const instance = renderKeepalivedConfig({ ...v2Input(), authPassword: undefined }).split("\n");
        expect(instance.slice(instance.indexOf("    unicast_peer {"))).toEqual([
            "    unicast_peer {",
            "        172.28.0.12",
            "    }",
            "    # No authentication configured.",
            ...VIP_AND_TRACKED_SCRIPT,
            "}",
            "",
        ]);
    });

    test("the LB ready script", () => {
        expect(renderLbReadyScript({ nodeName: "lb-1", peerAddress: "10.0.0.11", webPort: 80 }).split("\n")).toEqual([
            "#!/bin/sh",
            "# Waits until lb-1 serves (rolling-replacement gate of the LB pair).",
            "set -eu",
            "deadline=$(( $(date +%s) + 120 ))",
            "while :; do",
            "  if pgrep -x keepalived >/dev/null; then",
            "    if /usr/local/bin/check_haproxy.sh 80 /lb-health; then",
            '      echo "lb-ready[lb-1]: HAProxy serves and keepalived runs" >&2',
            "      exit 0",
            "    fi",
            "    if pgrep -x haproxy >/dev/null && ! CHECK_HAPROXY_HOST=10.0.0.11 /usr/local/bin/check_haproxy.sh 80 /lb-health; then",
            '      echo "lb-ready[lb-1]: HAProxy and keepalived run; the peer serves nothing either (no backend yet)" >&2',
            "      exit 0",
            "    fi",
            "  fi",
            '  if [ "$(date +%s)" -ge "$deadline" ]; then',
            '    echo "lb-ready[lb-1]: not serving after 120 s" >&2',
            "    exit 1",
            "  fi",
            "  sleep 0.5",
            "done",
            "",
        ]);
    });
});

describe("renderKeepalivedConfig: the edges of each input rule", () => {
    const v3 = v3Input();
    const v6 = { ...v3, unicastSrcIp: "fd00::11", unicastPeers: ["fd00::12"], virtualIp: "fd00::100" };
    test.each<[string, KeepalivedConfigInput, RegExp | null]>([
        ["a 1-character interface", { ...v3, interface: "e" }, null],
        ["an IPv4 VIP with prefix 1", { ...v3, virtualIpPrefix: 1 }, null],
        ["an IPv6 VIP with prefix 64", { ...v6, virtualIpPrefix: 64 }, null],
        ["an IPv6 VIP with prefix 128", { ...v6, virtualIpPrefix: 128 }, null],
        ["an IPv6 VIP with prefix 129", { ...v6, virtualIpPrefix: 129 }, /virtualIpPrefix must be an integer 1-128 \(got 129\)/],
        [
            "an IPv6 peer with an IPv4 VIP",
            { ...v3, unicastPeers: ["fd00::12"] },
            /unicast peer must be an IPv4 address like the VIP \(got "fd00::12"\)/,
        ],
        [
            "VRRPv3 adverts of NaN",
            { ...v3, advertIntervalSeconds: NaN },
            /VRRPv3 advertises 0.01-40.95 s in 10 ms steps \(got advertIntervalSeconds NaN\)/,
        ],
        ["VRRPv3 adverts of 0.014 (off the grid, below the nearest step)", { ...v3, advertIntervalSeconds: 0.014 }, /10 ms steps/],
        ["VRRPv3 adverts of 0.016 (off the grid, above the nearest step)", { ...v3, advertIntervalSeconds: 0.016 }, /10 ms steps/],
        ["a 1-character auth password", { ...v3, vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "a" }, null],
        ["check fall 1 and rise 1", { ...v3, healthCheck: { ...v3.healthCheck, fall: 1, rise: 1 } }, null],
        [
            "check fall 1.5",
            { ...v3, healthCheck: { ...v3.healthCheck, fall: 1.5 } },
            /healthCheck.fall must be an integer >= 1 \(got 1.5\)/,
        ],
        [
            "check rise 1.5",
            { ...v3, healthCheck: { ...v3.healthCheck, rise: 1.5 } },
            /healthCheck.rise must be an integer >= 1 \(got 1.5\)/,
        ],
        ["check interval 1.5", { ...v3, healthCheck: { ...v3.healthCheck, intervalSeconds: 1.5 } }, /got 1.5\)/],
        ["a notify script not starting at /", { ...v3, notifyScript: "bin/notify.sh" }, /notifyScript must be an absolute path/],
        [
            "a track file path with a space",
            { ...v3, trackFile: { name: "f", path: "/run/x y" } },
            /trackFile.path must be an absolute path \(got "\/run\/x y"\)/,
        ],
    ])("%s", (_name, input, message) => {
        const render = () => renderKeepalivedConfig(input);
        if (message === null) expect(render).not.toThrow();
        else expect(render).toThrow(message);
    });

    test("a VRRPv3 advert computed in floating point is written in 10 ms steps", () => {
        const cfg = renderKeepalivedConfig({ ...v3, advertIntervalSeconds: 0.1 + 0.2 });
        expect(cfg).toContain("\n    advert_int 0.3\n");
    });

    test("the errors say which rule and which value", () => {
        expect(() => renderKeepalivedConfig({ ...v3, routerId: "lb/0" })).toThrow(
            `renderKeepalivedConfig: routerId must match [A-Za-z0-9._@-]+ (got "lb/0")`,
        );
        expect(() => renderKeepalivedConfig({ ...v3, interface: "eth 0" })).toThrow(
            `renderKeepalivedConfig: interface must be a Linux interface name (got "eth 0")`,
        );
        expect(() => renderKeepalivedConfig({ ...v3, healthCheck: { ...v3.healthCheck, script: "x" } })).toThrow(
            `renderKeepalivedConfig: healthCheck.script must be an absolute path with optional plain arguments (got "x")`,
        );
        expect(() => renderKeepalivedConfig({ ...v3, virtualRouterId: 0 })).toThrow(
            "renderKeepalivedConfig: virtualRouterId must be an integer 1-255 (got 0)",
        );
        expect(() => renderKeepalivedConfig({ ...v3, priority: 0 })).toThrow(
            "renderKeepalivedConfig: priority must be an integer 1-254 (255 is reserved for the address owner; got 0)",
        );
        expect(() => renderKeepalivedConfig({ ...v3, virtualIp: "x" })).toThrow(
            `renderKeepalivedConfig: virtualIp must be an IP address (got "x")`,
        );
        expect(() => renderKeepalivedConfig({ ...v3, unicastSrcIp: "x" })).toThrow(
            `renderKeepalivedConfig: unicastSrcIp must be an IPv4 address like the VIP (got "x")`,
        );
        expect(() => renderKeepalivedConfig({ ...v3, unicastPeers: ["172.28.0.11"] })).toThrow(
            "renderKeepalivedConfig: unicastPeers contains this node's own address 172.28.0.11",
        );
        expect(() => renderKeepalivedConfig({ ...v3, virtualIp: "172.28.0.12" })).toThrow(
            "renderKeepalivedConfig: virtualIp 172.28.0.12 must differ from the nodes' own addresses",
        );
        expect(() => renderKeepalivedConfig({ ...v3, vrrpVersion: 2, advertIntervalSeconds: 0.5 })).toThrow(
            "renderKeepalivedConfig: VRRPv2 advertises whole seconds 1-255 only (got advertIntervalSeconds 0.5); use vrrpVersion 3 for sub-second adverts",
        );
        expect(() => renderKeepalivedConfig({ ...v3, authPassword: "x" })).toThrow(
            "renderKeepalivedConfig: VRRPv3 has no authentication: authPassword must be absent",
        );
        expect(() => renderKeepalivedConfig({ ...v3, vrrpVersion: 2, advertIntervalSeconds: 1, authPassword: "a!" })).toThrow(
            "renderKeepalivedConfig: authPassword must be 1-8 printable characters without whitespace, quotes, backslash, '#' or '!' " +
                "(VRRPv2 carries 8 bytes; keepalived truncates longer ones and treats '#'/'!' as comments)",
        );
        expect(() => renderKeepalivedConfig({ ...v3, healthCheck: { ...v3.healthCheck, intervalSeconds: 0 } })).toThrow(
            "renderKeepalivedConfig: healthCheck.intervalSeconds must be a whole number of seconds >= 1 in keepalived 2.2.7 (got 0)",
        );
    });
});

describe("checkHaproxyCommand and renderLbReadyScript: the edges of their input rules", () => {
    test("the monitor URI must start with /", () => {
        expect(() => checkHaproxyCommand(80, "x/up")).toThrow(
            `checkHaproxyCommand: monitorUri must be a simple absolute path (got "x/up")`,
        );
        expect(() => checkHaproxyCommand(0)).toThrow("checkHaproxyCommand: webPort must be an integer port 1-65535 (got 0)");
    });

    test("the peer address must be only an address", () => {
        const input = { nodeName: "lb-1", peerAddress: "10.0.0.11; reboot", webPort: 80 };
        expect(() => renderLbReadyScript(input)).toThrow("renderLbReadyScript: peerAddress must be an IPv4 address");
        expect(() => renderLbReadyScript({ ...input, peerAddress: "10.0.0.11", timeoutSeconds: -1 })).toThrow(
            "renderLbReadyScript: timeoutSeconds must be a whole number ≥ 1",
        );
    });
});
