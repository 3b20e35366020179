// render/lbNode.ts is the one owner of the LB node's paths; the LB image (images/lb) is built to the
// same layout outside TypeScript, so its Dockerfile and entrypoint are read here and must agree.
import * as fs from "fs";
import * as path from "path";
import { LB_CHECK_SCRIPT_SOURCE, LB_KEEPALIVED_METRICS_SOURCES, LB_NODE_PATHS } from "../../render/lbNode";

const IMAGE = path.join(__dirname, "..", "..", "images", "lb");
const read = (file: string) => fs.readFileSync(path.join(IMAGE, file), "utf8");
/** The default of `NAME=${NAME:-default}` in the entrypoint. */
const entrypointDefault = (name: string): string | undefined =>
    new RegExp(`^${name}=\\$\\{${name}:-([^}]*)\\}$`, "m").exec(read("entrypoint.sh"))?.[1];

test("the layout is the one the program and both platforms use", () => {
    expect(LB_NODE_PATHS).toEqual({
        haproxyConfig: "/etc/haproxy/haproxy.cfg",
        keepalivedConfig: "/etc/keepalived/keepalived.conf",
        runtimeSocket: "/run/haproxy/admin.sock",
        haproxyDownFile: "/run/keepalived/haproxy.down",
        checkScript: "/usr/local/bin/check_haproxy.sh",
        keepalivedStateHook: "/usr/local/bin/keepalived_metrics.sh",
        keepalivedMetricsLua: "/etc/haproxy/keepalived_metrics.lua",
    });
    expect(LB_CHECK_SCRIPT_SOURCE).toBe("images/lb/check_haproxy.sh");
});

test("the LB image copies the check script and the keepalived metrics pieces from their sources to their paths", () => {
    expect(read("Dockerfile")).toContain(`COPY ${LB_CHECK_SCRIPT_SOURCE} ${LB_NODE_PATHS.checkScript}\n`);
    expect(read("Dockerfile")).toContain(`COPY ${LB_KEEPALIVED_METRICS_SOURCES.stateHook} ${LB_NODE_PATHS.keepalivedStateHook}\n`);
    expect(read("Dockerfile")).toContain(`COPY ${LB_KEEPALIVED_METRICS_SOURCES.lua} ${LB_NODE_PATHS.keepalivedMetricsLua}\n`);
    for (const source of [LB_CHECK_SCRIPT_SOURCE, ...Object.values(LB_KEEPALIVED_METRICS_SOURCES)]) {
        expect(fs.existsSync(path.join(__dirname, "..", "..", source))).toBe(true);
    }
});

test("the LB image's entrypoint reads the configs and writes the down file where the program puts and watches them", () => {
    expect(entrypointDefault("HAPROXY_CFG")).toBe(LB_NODE_PATHS.haproxyConfig);
    expect(entrypointDefault("KEEPALIVED_CONF")).toBe(LB_NODE_PATHS.keepalivedConfig);
    expect(entrypointDefault("CHECK_SCRIPT")).toBe(LB_NODE_PATHS.checkScript);
    expect(entrypointDefault("HAPROXY_DOWN_FILE")?.replace("$KEEPALIVED_RUN_DIR", "/run/keepalived")).toBe(LB_NODE_PATHS.haproxyDownFile);
    // HAProxy creates the socket; the directory must exist first.
    expect(read("entrypoint.sh")).toContain(`install -d -m 700 ${path.posix.dirname(LB_NODE_PATHS.runtimeSocket)}\n`);
});
