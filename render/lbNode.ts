// The LB node's layout: where HAProxy and keepalived read the configs rendered for them, HAProxy's
// runtime socket, the file that says HAProxy is down, and the check script keepalived tracks. Both
// platforms build LB nodes to it — the local one from images/lb (its Dockerfile and entrypoint use
// these paths; tests/render/lbNode.test.ts reads them), the aws one from Debian's haproxy and
// keepalived packages (the same config paths) plus the check script installed at its path — so the
// LB pair, the renderers and the platforms all take the paths from here.

export const LB_NODE_PATHS = {
    haproxyConfig: "/etc/haproxy/haproxy.cfg",
    keepalivedConfig: "/etc/keepalived/keepalived.conf",
    runtimeSocket: "/run/haproxy/admin.sock",
    /** 1 while HAProxy is not running (written by the image's entrypoint, watched by keepalived). */
    haproxyDownFile: "/run/keepalived/haproxy.down",
    /** The HAProxy check keepalived tracks: `check_haproxy.sh <port> <monitor uri>`. */
    checkScript: "/usr/local/bin/check_haproxy.sh",
    /** keepalived's state hook: `keepalived_metrics.sh <STATE> <instance>` writes the state file HAProxy serves. */
    keepalivedStateHook: "/usr/local/bin/keepalived_metrics.sh",
    /** The Lua service HAProxy serves that file with (lua-load). */
    keepalivedMetricsLua: "/etc/haproxy/keepalived_metrics.lua",
} as const;

/** The check script's source in this repository (images/lb copies it; aws LB nodes get it as a file). */
export const LB_CHECK_SCRIPT_SOURCE = "images/lb/check_haproxy.sh";

/** Sources of the keepalived metrics pieces, shipped like the check script. */
export const LB_KEEPALIVED_METRICS_SOURCES = {
    stateHook: "images/lb/keepalived_metrics.sh",
    lua: "images/lb/keepalived_metrics.lua",
} as const;
