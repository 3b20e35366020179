/**
 * render/haproxy.ts, fast set: the rules each line of the rendered configs implements, read off the
 * text in-process. The real HAProxy 2.6 on the same text (`haproxy -c`, and the rendered configs run
 * against a fake Consul DNS and local backends) is in haproxy.live.test.ts.
 */

import {
    DEFAULT_HAPROXY_DNS_TIMINGS,
    LB_MONITOR_URI,
    consulSrvName,
    haproxyBackendName,
    haproxyDeregistrationLagMs,
    haproxyServerNames,
    haproxyWord,
    EDGE_TLS_GLOBALS,
    renderEdgeConfig,
    renderHaproxyConfig,
    type EdgeConfigInput,
    type HaproxyConfigInput,
} from "../../render/haproxy";

const baseInput: HaproxyConfigInput = {
    nodeName: "lb-0",
    webPort: 80,
    statsPort: 8404,
    statsUser: "admin",
    statsPassword: "s3cret-Pw",
    service: { name: "web", domain: "consul", maxServers: 10, healthPath: "/health" },
    dns: { address: "127.0.0.1", port: 8600 },
    runtimeSocket: "/run/haproxy/admin.sock",
};

/** The lines of one section (`global`, `backend web`, …), indentation stripped, comments dropped. */
function section(cfg: string, header: string): string[] {
    const all = cfg.split("\n");
    const start = all.indexOf(header);
    if (start < 0) throw new Error(`section ${JSON.stringify(header)} not found`);
    const body: string[] = [];
    for (const line of all.slice(start + 1)) {
        if (line === "" || !line.startsWith(" ")) break;
        const t = line.trim();
        if (!t.startsWith("#")) body.push(t);
    }
    return body;
}

describe("renderHaproxyConfig: Consul DNS discovery", () => {
    let cfg: string;
    beforeEach(() => {
        cfg = renderHaproxyConfig(baseInput);
    });
    let resolvers: string[];
    beforeEach(() => {
        resolvers = section(cfg, "resolvers consul");
    });

    test("queries only the node-local Consul agent, never resolv.conf", () => {
        expect(resolvers).toContain("nameserver consul 127.0.0.1:8600");
        expect(resolvers.filter((l) => l.startsWith("nameserver"))).toHaveLength(1);
        expect(cfg).not.toContain("parse-resolv-conf");
    });

    test("announces an 8192-byte EDNS payload so large SRV answers are not truncated", () => {
        expect(resolvers).toContain("accepted_payload_size 8192");
    });

    test("the query period (timeout resolve) is at most 1 s", () => {
        expect(resolvers).toContain(`timeout resolve ${DEFAULT_HAPROXY_DNS_TIMINGS.resolvePeriodMs}ms`);
        expect(DEFAULT_HAPROXY_DNS_TIMINGS.resolvePeriodMs).toBeLessThanOrEqual(1000);
    });

    test("hold obsolete is explicit and a deregistered server leaves within ~1.5 s (haproxy/haproxy#1160)", () => {
        expect(resolvers).toContain(`hold obsolete ${DEFAULT_HAPROXY_DNS_TIMINGS.holdObsoleteMs}ms`);
        // > 0: one answer missing a record must not flap the server; small: the lag bounds the web task's drain wait.
        expect(DEFAULT_HAPROXY_DNS_TIMINGS.holdObsoleteMs).toBeGreaterThan(0);
        expect(haproxyDeregistrationLagMs()).toBeLessThanOrEqual(2000);
    });

    test("losing the DNS source keeps the last servers for an hour (hold timeout/refused/nx/other 1h)", () => {
        for (const status of ["timeout", "refused", "nx", "other"]) expect(resolvers).toContain(`hold ${status} 1h`);
        expect(resolvers).toContain("hold valid 10s");
    });

    test("servers come from a server-template on the service's SRV name, resolved to IPv4, with checks", () => {
        expect(consulSrvName(baseInput.service)).toBe("_web._tcp.service.consul");
        expect(section(cfg, "backend web")).toContain(
            "server-template web 1-10 _web._tcp.service.consul resolvers consul resolve-prefer ipv4 init-addr none check",
        );
        expect(haproxyServerNames({ name: "web", maxServers: 3 })).toEqual(["web1", "web2", "web3"]);
    });
});

describe("renderHaproxyConfig: web backend", () => {
    let cfg: string;
    beforeEach(() => {
        cfg = renderHaproxyConfig(baseInput);
    });
    let backend: string[];
    beforeEach(() => {
        backend = section(cfg, `backend ${haproxyBackendName(baseInput.service)}`);
    });

    test("balances round-robin (2.6 only skips the retry turn-around pause for round-robin kinds)", () => {
        expect(backend).toContain("balance roundrobin");
    });

    test("retries 3 times, each on another server", () => {
        expect(backend).toContain("retries 3");
        expect(backend).toContain("option redispatch 1");
        expect(backend).toContain("retry-on conn-failure empty-response response-timeout 502 503 504");
    });

    test("L7 retries are disabled for everything but GET, HEAD and OPTIONS", () => {
        expect(backend).toContain("http-request disable-l7-retry unless METH_GET || METH_OPTIONS");
    });

    test("health-checks the service's health path and expects 200", () => {
        expect(backend).toContain("option httpchk");
        expect(backend).toContain("http-check send meth GET uri /health ver HTTP/1.1 hdr Host web.service.consul");
        expect(backend).toContain("http-check expect status 200");
    });

    test("checks are fast enough to mark a crashed server down within 1 s", () => {
        const ds = backend.find((l) => l.startsWith("default-server")) ?? "";
        const ms = (key: string): number => {
            const m = new RegExp(`\\b${key} (\\d+)(ms|s)\\b`).exec(ds);
            if (m === null) throw new Error(`${key} missing in ${ds}`);
            return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
        };
        const fall = Number(/\bfall (\d+)\b/.exec(ds)?.[1]);
        // Crash right after a good check: next check after inter, then (fall - 1) more after fastinter each.
        expect(ms("inter") + (fall - 1) * ms("fastinter")).toBeLessThanOrEqual(1000);
        expect(ds).toContain("rise 2");
    });

    test("a dead server is retried elsewhere well within a 1 s client timeout (timeout connect 500ms)", () => {
        expect(section(cfg, "defaults")).toContain("timeout connect 500ms");
    });
});

describe("renderHaproxyConfig: process, frontend and stats", () => {
    let cfg: string;
    beforeEach(() => {
        cfg = renderHaproxyConfig(baseInput);
    });
    let global: string[];
    beforeEach(() => {
        global = section(cfg, "global");
    });

    test("runs in the foreground and logs to stdout", () => {
        expect(global).toContain("log stdout format raw local0 info");
        expect(global).not.toContain("daemon");
        expect(global).not.toContain("master-worker");
    });

    test("the runtime socket is mode 600 with admin level", () => {
        expect(global).toContain("stats socket /run/haproxy/admin.sock mode 600 level admin");
    });

    test("the web frontend answers the monitor URI, forwards the client address and names the LB node", () => {
        const fe = section(cfg, "frontend web");
        expect(fe).toContain("bind :80");
        expect(fe).toContain(`monitor-uri ${LB_MONITOR_URI}`);
        expect(fe).toContain("option forwardfor");
        expect(fe).toContain("http-after-response set-header X-LB-Node lb-0");
    });

    test("the stats page is read-only, authenticated and refreshes every 5 s", () => {
        const stats = section(cfg, "listen stats");
        expect(stats).toEqual(
            expect.arrayContaining([
                "bind :8404",
                "stats enable",
                "stats uri /",
                "stats refresh 5s",
                "stats auth 'admin:s3cret-Pw'",
                "stats admin if FALSE",
            ]),
        );
    });

    test("maxConn defaults to 4096 and can be set", () => {
        expect(global).toContain("maxconn 4096");
        expect(section(renderHaproxyConfig({ ...baseInput, maxConn: 123 }), "global")).toContain("maxconn 123");
    });

    test("haproxyWord strong-quotes single quotes, '#' and '$'", () => {
        expect(haproxyWord("a'b#c$d")).toBe(`'a'\\''b#c$d'`);
    });
});

describe("renderHaproxyConfig: purity", () => {
    test("same input gives byte-identical output, whatever the key order", () => {
        const reordered: HaproxyConfigInput = {
            runtimeSocket: baseInput.runtimeSocket,
            dns: { port: 8600, address: "127.0.0.1" },
            service: { healthPath: "/health", maxServers: 10, domain: "consul", name: "web" },
            statsPassword: baseInput.statsPassword,
            statsUser: baseInput.statsUser,
            statsPort: baseInput.statsPort,
            webPort: baseInput.webPort,
            nodeName: baseInput.nodeName,
        };
        expect(renderHaproxyConfig(reordered)).toBe(renderHaproxyConfig(baseInput));
    });

    test("refuses inputs that cannot be expressed or would break the file", () => {
        expect(() => renderHaproxyConfig({ ...baseInput, dns: { address: "consul.local", port: 8600 } })).toThrow(/IP literal/);
        expect(() => renderHaproxyConfig({ ...baseInput, statsUser: "ad:min" })).toThrow(/statsUser/);
        expect(() => renderHaproxyConfig({ ...baseInput, statsPassword: "a\nb" })).toThrow(/control characters/);
        expect(() => renderHaproxyConfig({ ...baseInput, nodeName: "lb 0" })).toThrow(/nodeName/);
        expect(() => renderHaproxyConfig({ ...baseInput, statsPort: 80 })).toThrow(/both 80/);
        expect(() => renderHaproxyConfig({ ...baseInput, service: { ...baseInput.service, name: "Web_1" } })).toThrow(/service.name/);
        expect(() => renderHaproxyConfig({ ...baseInput, service: { ...baseInput.service, healthPath: "/h #x" } })).toThrow(/healthPath/);
    });
});

describe("renderEdgeConfig", () => {
    const edgeInput: EdgeConfigInput = {
        listeners: [
            { name: "web", bindPort: 8080, upstreams: [{ name: "vip", address: "172.28.0.100", port: 80 }], check: false },
            {
                name: "consul-ui",
                bindPort: 8500,
                upstreams: [
                    { name: "consul-0", address: "172.28.0.10", port: 8500 },
                    { name: "consul-1", address: "172.28.0.11", port: 8500 },
                    { name: "consul-2", address: "172.28.0.12", port: 8500 },
                ],
                check: true,
            },
            { name: "stats", bindPort: 8404, upstreams: [{ name: "vip", address: "172.28.0.100", port: 8404 }], check: false },
        ],
    };
    let cfg: string;
    beforeEach(() => {
        cfg = renderEdgeConfig(edgeInput);
    });

    test("speaks HTTP: one upstream connection per request, unanswered requests replayed, lean logging", () => {
        const defaults = section(cfg, "defaults");
        expect(defaults).toContain("mode http");
        expect(cfg).not.toContain("mode tcp");
        expect(defaults).toContain("option http-server-close");
        expect(defaults).not.toContainEqual(expect.stringMatching(/^http-reuse/));
        expect(defaults).toContain("retry-on conn-failure empty-response");
        expect(defaults).toContain("option forwardfor");
        expect(defaults).toContain("option dontlog-normal");
    });

    const safeOnly = "http-request disable-l7-retry unless METH_GET || METH_OPTIONS";
    test("one listen section per listener with its upstreams; checks only where asked; L7 retries for safe methods only", () => {
        expect(section(cfg, "listen web")).toEqual(["bind :8080", safeOnly, "server vip 172.28.0.100:80"]);
        expect(section(cfg, "listen consul-ui")).toEqual([
            "bind :8500",
            safeOnly,
            "balance roundrobin",
            "server consul-0 172.28.0.10:8500 check",
            "server consul-1 172.28.0.11:8500 check",
            "server consul-2 172.28.0.12:8500 check",
        ]);
        expect(section(cfg, "listen stats")).toEqual(["bind :8404", safeOnly, "server vip 172.28.0.100:8404"]);
    });

    test("is deterministic and refuses duplicate ports and names", () => {
        expect(renderEdgeConfig(edgeInput)).toBe(cfg);
        const [web, ui] = edgeInput.listeners;
        expect(() => renderEdgeConfig({ listeners: [web, { ...ui, bindPort: web.bindPort }] })).toThrow(/duplicate bindPort/);
        expect(() => renderEdgeConfig({ listeners: [web, { ...ui, name: "web" }] })).toThrow(/duplicate listener name/);
        expect(() => renderEdgeConfig({ listeners: [{ ...web, upstreams: [] }] })).toThrow(/no upstreams/);
    });
});

describe("renderHaproxyConfig: DNS timings given explicitly", () => {
    test("the query period and hold obsolete are rendered as given, and the deregistration lag is 2 periods + hold", () => {
        const timings = { resolvePeriodMs: 200, holdObsoleteMs: 300 };
        const resolvers = section(renderHaproxyConfig({ ...baseInput, dnsTimings: timings }), "resolvers consul");
        expect(resolvers).toContain("timeout resolve 200ms");
        expect(resolvers).toContain("hold obsolete 300ms");
        expect(haproxyDeregistrationLagMs(timings)).toBe(700);
        expect(haproxyDeregistrationLagMs({ resolvePeriodMs: 1000, holdObsoleteMs: 0 })).toBe(2000);
    });

    test("a zero hold is allowed, a zero period or a negative hold is not", () => {
        expect(() => renderHaproxyConfig({ ...baseInput, dnsTimings: { resolvePeriodMs: 1, holdObsoleteMs: 0 } })).not.toThrow();
        expect(() => renderHaproxyConfig({ ...baseInput, dnsTimings: { resolvePeriodMs: 0, holdObsoleteMs: 0 } })).toThrow(
            /dnsTimings.resolvePeriodMs must be a positive integer \(got 0\)/,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, dnsTimings: { resolvePeriodMs: 500, holdObsoleteMs: -1 } })).toThrow(
            /dnsTimings.holdObsoleteMs must be a non-negative integer \(got -1\)/,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, dnsTimings: { resolvePeriodMs: 500, holdObsoleteMs: 0.5 } })).toThrow(
            /holdObsoleteMs/,
        );
    });
});

describe("renderHaproxyConfig: input bounds", () => {
    test.each<[string, Partial<HaproxyConfigInput>, RegExp | null]>([
        ["webPort 0", { webPort: 0 }, /webPort must be an integer port 1-65535 \(got 0\)/],
        ["webPort 65536", { webPort: 65536 }, /webPort must be an integer port/],
        ["webPort 65535", { webPort: 65535 }, null],
        ["webPort 1", { webPort: 1 }, null],
        ["webPort 80.5", { webPort: 80.5 }, /webPort/],
        ["statsPort equal to webPort", { statsPort: 80 }, /webPort and statsPort are both 80/],
        ["a node name with a space", { nodeName: "lb 0" }, /nodeName must match/],
        ["a stats user with ':'", { statsUser: "ad:min" }, /statsUser must not contain ':'/],
        ["an empty stats password", { statsPassword: "" }, /statsPassword is empty/],
        ["a stats password with a newline", { statsPassword: "a\nb" }, /statsPassword contains control characters/],
        ["a stats password with DEL", { statsPassword: "a\x7fb" }, /control characters/],
        ["a DNS name as the DNS server", { dns: { address: "localhost", port: 8600 } }, /dns.address must be an IP literal/],
        ["DNS port 0", { dns: { address: "127.0.0.1", port: 0 } }, /dns.port/],
        ["a relative runtime socket", { runtimeSocket: "run/haproxy.sock" }, /runtimeSocket must be an absolute file path/],
        ["maxConn 0", { maxConn: 0 }, /maxConn must be a positive integer/],
        ["maxServers 0", { service: { ...baseInput.service, maxServers: 0 } }, /service.maxServers must be a positive integer/],
        ["an upper-case domain", { service: { ...baseInput.service, domain: "Consul" } }, /service.domain must be lower-case DNS label/],
        ["a domain with an empty label", { service: { ...baseInput.service, domain: "consul." } }, /service.domain/],
        ["a two-label domain", { service: { ...baseInput.service, domain: "dc1.consul" } }, null],
        [
            "a relative health path",
            { service: { ...baseInput.service, healthPath: "health" } },
            /service.healthPath must be an absolute URL path/,
        ],
    ])("%s", (_name, change, message) => {
        const render = () => renderHaproxyConfig({ ...baseInput, ...change });
        if (message === null) expect(render).not.toThrow();
        else expect(render).toThrow(message);
    });

    test("an IPv6 DNS server is written in brackets", () => {
        expect(section(renderHaproxyConfig({ ...baseInput, dns: { address: "fd00::53", port: 8600 } }), "resolvers consul")).toContain(
            "nameserver consul [fd00::53]:8600",
        );
    });

    test("haproxyWord refuses control characters", () => {
        expect(() => haproxyWord("a\tb")).toThrow(/value contains control characters/);
        expect(haproxyWord("it's")).toBe("'it'\\''s'");
    });
});

describe("renderEdgeConfig: group names discovered through Docker's DNS", () => {
    const listener = (upstreams: EdgeConfigInput["listeners"][number]["upstreams"], check: boolean) => ({
        name: "consul-ui",
        bindPort: 8500,
        upstreams,
        check,
    });

    test("an upstream with maxServers becomes a server-template re-resolved every second through a resolvers section", () => {
        const cfg = renderEdgeConfig({
            listeners: [listener([{ name: "consul", address: "consul-servers", port: 8500, maxServers: 5 }], true)],
        });
        expect(section(cfg, "resolvers platform")).toEqual([
            "parse-resolv-conf",
            "accepted_payload_size 8192",
            "timeout resolve 1s",
            "timeout retry 1s",
            "hold valid 10s",
            "hold obsolete 5s",
            "hold nx 5s",
        ]);
        expect(section(cfg, "listen consul-ui")).toEqual([
            "bind :8500",
            "http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "balance roundrobin",
            "server-template consul- 5 consul-servers:8500 check resolvers platform resolve-prefer ipv4 init-addr none",
        ]);
        const unchecked = renderEdgeConfig({
            listeners: [listener([{ name: "consul", address: "consul-servers", port: 8500, maxServers: 5 }], false)],
        });
        expect(unchecked).toContain("    server-template consul- 5 consul-servers:8500 resolvers platform");
    });

    test("without discovery there is no resolvers section; a single fixed upstream needs no balance; a name resolves at start", () => {
        const cfg = renderEdgeConfig({ listeners: [listener([{ name: "one", address: "consul-0", port: 8500 }], false)] });
        expect(cfg).not.toContain("resolvers");
        expect(section(cfg, "listen consul-ui")).toEqual([
            "bind :8500",
            "http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "server one consul-0:8500 init-addr libc,none",
        ]);
        expect(
            section(
                renderEdgeConfig({ listeners: [listener([{ name: "one", address: "10.0.0.1", port: 80 }], false)] }),
                "listen consul-ui",
            ),
        ).toContain("server one 10.0.0.1:80");
    });

    test("the edge's global and defaults sections", () => {
        const cfg = renderEdgeConfig({ listeners: [listener([{ name: "one", address: "10.0.0.1", port: 80 }], false)], maxConn: 100 });
        expect(section(cfg, "global")).toEqual([
            "log stdout format raw local0 info",
            "log-tag haproxy-edge",
            "maxconn 100",
            "user haproxy",
            "group haproxy",
            "hard-stop-after 5s",
        ]);
        expect(
            section(renderEdgeConfig({ listeners: [listener([{ name: "one", address: "10.0.0.1", port: 80 }], false)] }), "global"),
        ).toContain("maxconn 4096");
        expect(cfg.endsWith("\n")).toBe(true);
    });

    test.each<[string, EdgeConfigInput, RegExp]>([
        ["no listeners", { listeners: [] }, /renderEdgeConfig: no listeners/],
        ["maxConn 0", { listeners: [listener([{ name: "a", address: "10.0.0.1", port: 80 }], false)], maxConn: 0 }, /maxConn/],
        [
            "a bad listener name",
            { listeners: [{ ...listener([{ name: "a", address: "10.0.0.1", port: 80 }], false), name: "a b" }] },
            /listener.name must match/,
        ],
        [
            "a bad bind port",
            { listeners: [{ ...listener([{ name: "a", address: "10.0.0.1", port: 80 }], false), bindPort: 0 }] },
            /bindPort/,
        ],
        [
            "a duplicate upstream name",
            {
                listeners: [
                    listener(
                        [
                            { name: "a", address: "10.0.0.1", port: 80 },
                            { name: "a", address: "10.0.0.2", port: 80 },
                        ],
                        false,
                    ),
                ],
            },
            /duplicate upstream name "a"/,
        ],
        [
            "a bad upstream name",
            { listeners: [listener([{ name: "a b", address: "10.0.0.1", port: 80 }], false)] },
            /upstream name must match/,
        ],
        [
            "a bad upstream address",
            { listeners: [listener([{ name: "a", address: "bad_host", port: 80 }], false)] },
            /must be an IP literal or a hostname/,
        ],
        ["a bad upstream port", { listeners: [listener([{ name: "a", address: "10.0.0.1", port: 70000 }], false)] }, /upstream a port/],
        [
            "maxServers 0",
            { listeners: [listener([{ name: "a", address: "group", port: 80, maxServers: 0 }], false)] },
            /maxServers must be a positive integer/,
        ],
        [
            "maxServers on an IP",
            { listeners: [listener([{ name: "a", address: "10.0.0.1", port: 80, maxServers: 2 }], false)] },
            /has maxServers but its address is not a name/,
        ],
    ])("refuses %s", (_name, input, message) => {
        expect(() => renderEdgeConfig(input)).toThrow(message);
    });
});

describe("the whole rendered files (each line is a setting HAProxy reads, or a note for whoever reads the file)", () => {
    test("haproxy.cfg of an LB node", () => {
        expect(renderHaproxyConfig(baseInput).split("\n")).toEqual([
            "# haproxy.cfg for LB node lb-0.",
            "# Rendered by swarm-platform (render/haproxy.ts); uploaded by the program. Do not edit by hand.",
            "",
            "global",
            "    log stdout format raw local0 info",
            "    log-tag haproxy-lb-0",
            "    maxconn 4096",
            "    user haproxy",
            "    group haproxy",
            "    # Runtime API (drain before a server leaves: set server <backend>/<server> state drain).",
            "    stats socket /run/haproxy/admin.sock mode 600 level admin",
            "    stats timeout 30s",
            "    # Bound the soft stop (SIGUSR1) the entrypoint sends on container stop.",
            "    hard-stop-after 5s",
            "    # No 'daemon' and no master-worker: one foreground process, supervised by the image entrypoint.",
            "",
            "resolvers consul",
            "    # Only the node-local Consul agent (never /etc/resolv.conf: only Consul answers for the service domain).",
            "    nameserver consul 127.0.0.1:8600",
            "    accepted_payload_size 8192",
            "    resolve_retries 3",
            "    # Query period: how fast membership changes reach the backend.",
            "    timeout resolve 500ms",
            "    timeout retry 1s",
            "    hold valid 10s",
            "    # A record missing from the answers leaves after this (haproxy/haproxy#1160).",
            "    hold obsolete 1000ms",
            "    # DNS source lost or answering errors: keep the last servers (their checks still apply).",
            "    hold nx 1h",
            "    hold refused 1h",
            "    hold timeout 1h",
            "    hold other 1h",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    option dontlognull",
            "    timeout connect 500ms",
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout http-request 10s",
            "    timeout http-keep-alive 10s",
            "    timeout client-fin 5s",
            "    timeout server-fin 5s",
            "",
            "frontend web",
            "    bind :80",
            "    # Answered by HAProxy itself: the keepalived check and cloud LB health checks probe it.",
            "    monitor-uri /lb-health",
            "    # A node without a usable server must not hold the VIP (e.g. its Consul agent is not answering).",
            "    monitor fail if { nbsrv(web) lt 1 }",
            "    option forwardfor",
            "    http-after-response set-header X-LB-Node lb-0",
            "    default_backend web",
            "",
            "backend web",
            "    balance roundrobin",
            "    retries 3",
            "    option redispatch 1",
            "    retry-on conn-failure empty-response response-timeout 502 503 504",
            "    http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "    option httpchk",
            "    http-check send meth GET uri /health ver HTTP/1.1 hdr Host web.service.consul",
            "    http-check expect status 200",
            "    default-server inter 500ms fastinter 250ms downinter 1s fall 2 rise 2 observe layer4 error-limit 1 on-error fail-check",
            "    server-template web 1-10 _web._tcp.service.consul resolvers consul resolve-prefer ipv4 init-addr none check",
            "",
            "listen stats",
            "    bind :8404",
            "    stats enable",
            "    stats uri /",
            "    stats refresh 5s",
            "    stats hide-version",
            "    stats realm 'HAProxy lb-0'",
            "    stats auth 'admin:s3cret-Pw'",
            "    # Read-only page: state changes go through the runtime socket only.",
            "    stats admin if FALSE",
            "",
        ]);
    });

    test("the edge, with a fixed upstream, a discovered group and a checked pair (a name and an IPv6 address)", () => {
        const cfg = renderEdgeConfig({
            listeners: [
                { name: "web", bindPort: 8080, upstreams: [{ name: "vip", address: "172.28.0.100", port: 80 }], check: false },
                {
                    name: "consul-ui",
                    bindPort: 8500,
                    upstreams: [{ name: "consul", address: "consul-servers", port: 8500, maxServers: 3 }],
                    check: true,
                },
                {
                    name: "stats",
                    bindPort: 8404,
                    upstreams: [
                        { name: "lb-0", address: "lb-0", port: 8404 },
                        { name: "lb-1", address: "fd00::2", port: 8404 },
                    ],
                    check: true,
                },
            ],
        });
        expect(cfg.split("\n")).toEqual([
            "# Edge (dev stack): HTTP forwarder standing in for the cloud load balancer.",
            "# Rendered by swarm-platform (render/haproxy.ts). Do not edit by hand.",
            "",
            "global",
            "    log stdout format raw local0 info",
            "    log-tag haproxy-edge",
            "    maxconn 4096",
            "    user haproxy",
            "    group haproxy",
            "    hard-stop-after 5s",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    # Log only failed/abnormal requests: keep the data path lean.",
            "    option dontlog-normal",
            "    option dontlognull",
            "    option forwardfor",
            "    # A new upstream connection per request: none stays pinned to a VIP holder that has gone.",
            "    option http-server-close",
            "    timeout connect 250ms",
            "    retries 4",
            "    option redispatch 1",
            "    # A request that got no answer at all (reset by a new VIP holder) is replayed; see disable-l7-retry.",
            "    retry-on conn-failure empty-response",
            "    timeout http-request 10s",
            "    # Long idle timeouts: clients keep connections alive, the Consul UI long-polls.",
            "    timeout client 5m",
            "    timeout server 5m",
            "    timeout client-fin 5s",
            "    timeout server-fin 5s",
            "    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2",
            "",
            "# Group names (a Docker network alias shared by every member) re-resolved every second.",
            "resolvers platform",
            "    parse-resolv-conf",
            "    accepted_payload_size 8192",
            "    timeout resolve 1s",
            "    timeout retry 1s",
            "    hold valid 10s",
            "    hold obsolete 5s",
            "    hold nx 5s",
            "",
            "listen web",
            "    bind :8080",
            "    http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "    server vip 172.28.0.100:80",
            "",
            "listen consul-ui",
            "    bind :8500",
            "    http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "    balance roundrobin",
            "    server-template consul- 3 consul-servers:8500 check resolvers platform resolve-prefer ipv4 init-addr none",
            "",
            "listen stats",
            "    bind :8404",
            "    http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "    balance roundrobin",
            "    server lb-0 lb-0:8404 init-addr libc,none check",
            "    server lb-1 [fd00::2]:8404 check",
            "",
        ]);
    });
});

describe("renderHaproxyConfig: the edges of each input rule", () => {
    const withService = (change: Partial<HaproxyConfigInput["service"]>) => ({
        ...baseInput,
        service: { ...baseInput.service, ...change },
    });
    test.each<[string, HaproxyConfigInput, RegExp | null]>([
        ["maxConn 1.5", { ...baseInput, maxConn: 1.5 }, /maxConn must be a positive integer \(got 1.5\)/],
        ["maxConn 1", { ...baseInput, maxConn: 1 }, null],
        ["statsPort 0", { ...baseInput, statsPort: 0 }, /statsPort must be an integer port 1-65535 \(got 0\)/],
        ["a 2-character service name", withService({ name: "ab" }), null],
        ["a 1-character service name", withService({ name: "a" }), null],
        ["a 63-character service name", withService({ name: "a".repeat(63) }), null],
        [
            "a 64-character service name",
            withService({ name: "a".repeat(64) }),
            /service.name must be lower-case DNS label\(s\) \(got "a{64}"\)/,
        ],
        ["a service name with an inner hyphen", withService({ name: "web-1" }), null],
        ["a service name ending in a hyphen", withService({ name: "web-" }), /service.name/],
        ["a service name starting with a hyphen", withService({ name: "-web" }), /service.name/],
        ["a health path of just /", withService({ healthPath: "/" }), null],
        ["a health path with a query", withService({ healthPath: "/health?full=1" }), /healthPath/],
        ["a health path not at the start", withService({ healthPath: "x/health" }), /healthPath/],
        ["a runtime socket of just /", { ...baseInput, runtimeSocket: "/" }, /runtimeSocket must be an absolute file path/],
        ["a runtime socket with a space", { ...baseInput, runtimeSocket: "/run/a b.sock" }, /runtimeSocket/],
        ["a stats user with a space", { ...baseInput, statsUser: "ad min" }, /statsUser must match/],
        ["a stats user with every token character", { ...baseInput, statsUser: "Az09._@+-" }, null],
        [
            "a node name ending in an unsafe character",
            { ...baseInput, nodeName: "lb-0;" },
            /nodeName must match \[A-Za-z0-9._:@\+-\]\+ \(got "lb-0;"\)/,
        ],
    ])("%s", (_name, input, message) => {
        const render = () => renderHaproxyConfig(input);
        if (message === null) expect(render).not.toThrow();
        else expect(render).toThrow(message);
    });

    test("a stats password with a control character anywhere is refused; printable ones are quoted as one word", () => {
        for (const pw of ["\x00x", "x\x1f", "\x7f"])
            expect(() => renderHaproxyConfig({ ...baseInput, statsPassword: pw })).toThrow(/control characters/);
        expect(renderHaproxyConfig({ ...baseInput, statsPassword: "p w#'$" })).toContain("\n    stats auth 'admin:p w#'\\''$'\n");
    });

    test("the error names the rule and the value", () => {
        expect(() => renderHaproxyConfig({ ...baseInput, webPort: 70000 })).toThrow(
            "haproxy render: webPort must be an integer port 1-65535 (got 70000)",
        );
        expect(() => renderHaproxyConfig({ ...baseInput, statsUser: "a:b" })).toThrow(
            `renderHaproxyConfig: statsUser must not contain ':' (got "a:b")`,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, statsPassword: "" })).toThrow("renderHaproxyConfig: statsPassword is empty");
        expect(() => renderHaproxyConfig({ ...baseInput, dns: { address: "dns", port: 53 } })).toThrow(
            `renderHaproxyConfig: dns.address must be an IP literal (got "dns")`,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, runtimeSocket: "x" })).toThrow(
            `haproxy render: runtimeSocket must be an absolute file path of [A-Za-z0-9._/-] (got "x")`,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, service: { ...baseInput.service, healthPath: "h" } })).toThrow(
            `haproxy render: service.healthPath must be an absolute URL path without spaces, quotes or '#' (got "h")`,
        );
        expect(() => renderHaproxyConfig({ ...baseInput, dnsTimings: { resolvePeriodMs: 500, holdObsoleteMs: -2 } })).toThrow(
            "haproxy render: dnsTimings.holdObsoleteMs must be a non-negative integer (got -2)",
        );
        expect(() => haproxyWord("\n")).toThrow("haproxy render: value contains control characters");
    });
});

describe("renderEdgeConfig: upstream addresses", () => {
    const edge = (address: string) =>
        renderEdgeConfig({ listeners: [{ name: "l", bindPort: 80, upstreams: [{ name: "u", address, port: 81 }], check: false }] });
    test.each(["a", "x.y", "consul-servers", "web.service.consul", "a1-b2.c3", "10.0.0.1", "fd00::1"])("accepts %s", (address) => {
        expect(() => edge(address)).not.toThrow();
    });
    test.each(["-a", "a-", "a..b", ".a", "a.", "a_b", "a.b-", "a b"])("refuses %s", (address) => {
        expect(() => edge(address)).toThrow(
            `haproxy render: listener l upstream u address must be an IP literal or a hostname (got ${JSON.stringify(address)})`,
        );
    });

    test("the errors name the listener and the upstream", () => {
        const one = { name: "a", address: "10.0.0.1", port: 80 };
        expect(() => renderEdgeConfig({ listeners: [{ name: "l", bindPort: 80, upstreams: [], check: false }] })).toThrow(
            "renderEdgeConfig: listener l has no upstreams",
        );
        expect(() =>
            renderEdgeConfig({
                listeners: [
                    { name: "l", bindPort: 80, upstreams: [one], check: false },
                    { name: "l", bindPort: 81, upstreams: [one], check: false },
                ],
            }),
        ).toThrow(`renderEdgeConfig: duplicate listener name "l"`);
        expect(() =>
            renderEdgeConfig({
                listeners: [
                    { name: "l", bindPort: 80, upstreams: [one], check: false },
                    { name: "m", bindPort: 80, upstreams: [one], check: false },
                ],
            }),
        ).toThrow("renderEdgeConfig: duplicate bindPort 80");
        expect(() =>
            renderEdgeConfig({ listeners: [{ name: "l", bindPort: 80, upstreams: [{ ...one, maxServers: 2 }], check: false }] }),
        ).toThrow("renderEdgeConfig: upstream a has maxServers but its address is not a name");
        expect(() =>
            renderEdgeConfig({ listeners: [{ name: "l", bindPort: 80, upstreams: [{ ...one, name: "a:b" }], check: false }] }),
        ).toThrow(`haproxy render: listener l upstream name must match [A-Za-z0-9._-]+ (got "a:b")`);
        expect(() =>
            renderEdgeConfig({
                listeners: [{ name: "l", bindPort: 80, upstreams: [{ ...one, address: "g", maxServers: 0.5 }], check: false }],
            }),
        ).toThrow("haproxy render: listener l upstream a maxServers must be a positive integer (got 0.5)");
    });

    test("one discovered upstream among fixed ones is enough for the resolvers section and round-robin", () => {
        const cfg = renderEdgeConfig({
            listeners: [
                {
                    name: "l",
                    bindPort: 80,
                    upstreams: [
                        { name: "fixed", address: "10.0.0.1", port: 80 },
                        { name: "group", address: "members", port: 80, maxServers: 2 },
                    ],
                    check: false,
                },
            ],
        });
        expect(section(cfg, "resolvers platform")).toContain("parse-resolv-conf");
        expect(section(cfg, "listen l")).toEqual([
            "bind :80",
            "http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "balance roundrobin",
            "server fixed 10.0.0.1:80",
            "server-template group- 2 members:80 resolvers platform resolve-prefer ipv4 init-addr none",
        ]);
    });

    test("two listeners may share upstream names (names are per listener); a checked single fixed upstream needs no balance", () => {
        const one = { name: "a", address: "10.0.0.1", port: 80 };
        const cfg = renderEdgeConfig({
            listeners: [
                { name: "l", bindPort: 80, upstreams: [one], check: true },
                { name: "m", bindPort: 81, upstreams: [one], check: false },
            ],
        });
        expect(section(cfg, "listen l")).toEqual([
            "bind :80",
            "http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "server a 10.0.0.1:80 check",
        ]);
        expect(section(cfg, "listen m")).toEqual([
            "bind :81",
            "http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
            "server a 10.0.0.1:80",
        ]);
    });
});

describe("renderEdgeConfig: TLS on a listener", () => {
    const web = { name: "web", bindPort: 443, upstreams: [{ name: "vip", address: "10.0.0.10", port: 80 }], check: false };
    const stats = { name: "stats", bindPort: 8404, upstreams: [{ name: "vip", address: "10.0.0.10", port: 8404 }], check: false };
    const tls = { crtPath: "/etc/haproxy/edge.pem", redirect: { bindPort: 80, httpsPort: 8443 } };

    test("the TLS listener binds with its certificate; plain HTTP only redirects to the HTTPS port; Mozilla's intermediate globals", () => {
        const cfg = renderEdgeConfig({ listeners: [{ ...web, tls }, stats] });
        expect(cfg).toContain(
            [
                "frontend web-http",
                "    bind :80",
                "    http-request redirect location https://%[req.hdr(host),field(1,:)]:8443%[capture.req.uri] code 301",
                "",
                "listen web",
                "    bind :443 ssl crt /etc/haproxy/edge.pem alpn h2,http/1.1",
                "    http-request set-header X-Forwarded-Proto https",
            ].join("\n"),
        );
        expect(cfg).toContain("\nlisten stats\n    bind :8404\n");
        for (const line of EDGE_TLS_GLOBALS) expect(cfg).toContain(`\n    ${line}\n`);
        expect(cfg).toContain("ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets");
        expect(EDGE_TLS_GLOBALS[0]).not.toMatch(/CBC|SHA:|RC4|3DES|-SHA$/);
    });

    test("without TLS nothing TLS is rendered", () => {
        const cfg = renderEdgeConfig({ listeners: [web, stats] });
        expect(cfg).not.toMatch(/ssl|redirect|X-Forwarded-Proto/);
    });

    test("a redirect port that another listener binds, a bad port or a relative certificate path is refused", () => {
        expect(() =>
            renderEdgeConfig({ listeners: [{ ...web, tls: { ...tls, redirect: { bindPort: 8404, httpsPort: 8443 } } }, stats] }),
        ).toThrow("renderEdgeConfig: duplicate bindPort 8404");
        expect(() => renderEdgeConfig({ listeners: [{ ...web, tls: { ...tls, redirect: { bindPort: 443, httpsPort: 8443 } } }] })).toThrow(
            "renderEdgeConfig: duplicate bindPort 443",
        );
        expect(() => renderEdgeConfig({ listeners: [{ ...web, tls: { ...tls, redirect: { bindPort: 80, httpsPort: 0 } } }] })).toThrow(
            "haproxy render: listener web tls.redirect.httpsPort must be an integer port 1-65535 (got 0)",
        );
        expect(() => renderEdgeConfig({ listeners: [{ ...web, tls: { crtPath: "edge.pem" } }] })).toThrow(
            'haproxy render: listener web tls.crtPath must be an absolute file path of [A-Za-z0-9._/-] (got "edge.pem")',
        );
    });
});
