/**
 * render/keepalived.ts, fast set: the failover rules each line of the rendered keepalived.conf
 * implements, read off the text in-process, and the inputs the renderer refuses. The real
 * keepalived 2.2.7 on the same text (`keepalived -t` in a network namespace, and two daemons
 * failing over across a veth pair) is in keepalived.live.test.ts.
 */
import {
    KEEPALIVED_INSTANCE_NAME,
    KEEPALIVED_SCRIPT_NAME,
    masterDownIntervalSeconds,
    renderKeepalivedConfig,
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
    const cfg = renderKeepalivedConfig(v3Input());
    const instance = block(cfg, `vrrp_instance ${KEEPALIVED_INSTANCE_NAME}`);
    const script = block(cfg, `vrrp_script ${KEEPALIVED_SCRIPT_NAME}`);

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
