/**
 * HAProxy configuration renderers (pure: no Pulumi, no I/O, deterministic).
 *
 * - {@link renderHaproxyConfig}: haproxy.cfg of one LB node. Backends are discovered
 *   from Consul DNS SRV records (`resolvers` + `server-template`), so membership
 *   changes never need a reload.
 * - {@link renderEdgeConfig}: the dev stack's "edge", an HTTP proxy (`mode http`, see
 *   there why not TCP) published on the host's 127.0.0.1 that stands in for the cloud
 *   load balancer.
 *
 * Both outputs pass `haproxy -c -f FILE` on HAProxy 2.6 (Debian 12);
 * tests/render/haproxy.live.test.ts runs the real checker on them.
 */
import { isIP } from "node:net";

/** URI answered by HAProxy itself (never forwarded, never logged) on the web frontend. */
export const LB_MONITOR_URI = "/lb-health";

/** Response header naming the LB node that answered (also on HAProxy's own error pages). */
export const LB_NODE_HEADER = "X-LB-Node";

/** Name of the `resolvers` section that points at the node-local Consul agent. */
export const HAPROXY_RESOLVERS_NAME = "consul";

/**
 * Consul DNS timings of the `resolvers` section.
 *
 * - `resolvePeriodMs` (`timeout resolve`) is the query period: how often HAProxy
 *   asks Consul for the SRV record. A new healthy instance takes traffic within
 *   about one period (measured: ~0.6–1.0 s at 1 s, ~0.4 s at 200 ms).
 * - `holdObsoleteMs` (`hold obsolete`, haproxy/haproxy#1160) is how long a server
 *   whose record vanished from the answers stays in the backend. 0 would remove a
 *   server the first time one answer misses it (a truncated or transiently
 *   inconsistent answer would flap it to MAINT, and a rolling update that replaces
 *   every record at once — haproxy/haproxy#3400 — would empty the backend for a
 *   period); too long keeps sending new requests to a task that has deregistered
 *   and is about to stop. The default (1 s with a 500 ms period) means "missing
 *   from two consecutive answers", so a deregistered server leaves within ~1–1.5 s.
 */
export interface HaproxyDnsTimings {
    readonly resolvePeriodMs: number;
    readonly holdObsoleteMs: number;
}

/** Defaults for {@link HaproxyDnsTimings}. */
export const DEFAULT_HAPROXY_DNS_TIMINGS: HaproxyDnsTimings = {
    resolvePeriodMs: 500,
    holdObsoleteMs: 1000,
};

/**
 * Upper bound (ms) between a task's deregistration from Consul and HAProxy no
 * longer sending it new requests: the answer that still listed it can be up to
 * one period old, then `hold obsolete` must expire, then the next answer applies
 * it. A web task must keep serving at least this long (plus margin) after it
 * deregisters (its stop grace period / pre-stop sleep).
 */
export function haproxyDeregistrationLagMs(timings: HaproxyDnsTimings = DEFAULT_HAPROXY_DNS_TIMINGS): number {
    return 2 * timings.resolvePeriodMs + timings.holdObsoleteMs;
}

/** The Consul service whose healthy instances become the web backend's servers. */
export interface HaproxyServiceDiscovery {
    /** Consul service name, e.g. "web" → SRV `_web._tcp.service.consul`. Also the backend name and server-name prefix. */
    readonly name: string;
    /** Consul DNS domain, e.g. "consul". */
    readonly domain: string;
    /**
     * `server-template` slots. Must cover every record HAProxy may hold at once:
     * replicas + update surge + records kept for `hold obsolete` while their
     * replacements already resolve. Extra slots cost almost nothing (they sit in MAINT).
     */
    readonly maxServers: number;
    /** Path of the service's HTTP health endpoint, e.g. "/health" (must answer 200). */
    readonly healthPath: string;
}

/** A DNS server given as an IP literal (a hostname here is fatal for HAProxy at start-up). */
export interface DnsServerAddress {
    readonly address: string;
    readonly port: number;
}

/** Input of {@link renderHaproxyConfig}. */
export interface HaproxyConfigInput {
    /** LB node name, e.g. "lb-0": comments, log tag and the {@link LB_NODE_HEADER} response header. */
    readonly nodeName: string;
    /** Web frontend bind port (all addresses, so the keepalived VIP works without nonlocal bind), e.g. 80. */
    readonly webPort: number;
    /** Stats page bind port, e.g. 8404. */
    readonly statsPort: number;
    /** Stats page user, e.g. "admin" (no ':' and no whitespace). */
    readonly statsUser: string;
    /** Stats page password (secret). Any printable characters; quoted safely in the output. */
    readonly statsPassword: string;
    /** The Consul service to discover. */
    readonly service: HaproxyServiceDiscovery;
    /** The node-local Consul agent's DNS endpoint, e.g. 127.0.0.1:8600. */
    readonly dns: DnsServerAddress;
    /** Runtime API socket (mode 600, level admin), e.g. "/run/haproxy/admin.sock": drain with `set server web/web1 state drain`. */
    readonly runtimeSocket: string;
    /** Global (process-wide) connection limit. Default 4096 (HAProxy would otherwise size it from the container's huge nofile limit). */
    readonly maxConn?: number;
    /** DNS discovery timings; defaults to {@link DEFAULT_HAPROXY_DNS_TIMINGS}. */
    readonly dnsTimings?: HaproxyDnsTimings;
    /** The metrics frontend Prometheus scrapes; absent: none. */
    readonly metrics?: HaproxyMetricsInput;
}

/**
 * The `metrics` frontend: HAProxy's own Prometheus exporter at `/metrics` (per frontend, backend and
 * server: sessions, errors, retries, check status, queue; Debian's HAProxy 2.6 is built with it,
 * `haproxy -vv`: "Built with the Prometheus exporter as a service") and keepalived's state at
 * `/keepalived/metrics`, served by a Lua service from the file keepalived's state hook writes
 * (images/lb/keepalived_metrics.lua, .sh).
 */
export interface HaproxyMetricsInput {
    /** Bind port (all addresses: Prometheus scrapes the node's address), e.g. 8405. */
    readonly port: number;
    /** The Lua file that registers the `keepalived_metrics` service (lua-load). */
    readonly keepalivedLuaPath: string;
}

/** Paths the metrics frontend answers (the node's metrics-* services in Consul name them). */
export const HAPROXY_METRICS_PATHS = { haproxy: "/metrics", keepalived: "/keepalived/metrics" } as const;

/** The backend name the web service's servers live in (runtime API: `set server <backend>/<server> state drain`). */
export function haproxyBackendName(service: Pick<HaproxyServiceDiscovery, "name">): string {
    return service.name;
}

/** Names of the `server-template` slots, in order: `web1`, `web2`, … */
export function haproxyServerNames(service: Pick<HaproxyServiceDiscovery, "name" | "maxServers">): string[] {
    return Array.from({ length: service.maxServers }, (_, i) => `${service.name}${i + 1}`);
}

/** The SRV name HAProxy queries, e.g. `_web._tcp.service.consul`. */
export function consulSrvName(service: Pick<HaproxyServiceDiscovery, "name" | "domain">): string {
    return `_${service.name}._tcp.service.${service.domain}`;
}

const DEFAULT_MAX_CONN = 4096;
/** Long enough that losing the DNS source (Consul agent down/restarting) never empties the backend. */
const HOLD_ON_DNS_FAILURE = "1h";

/**
 * L7 retries replay a buffered request, and HAProxy 2.6 does so for any method: keep them to
 * safe methods (METH_GET matches GET and HEAD). Connection failures (request never sent) are
 * retried for every method.
 */
const L7_RETRY_SAFE_METHODS_ONLY = "http-request disable-l7-retry unless METH_GET || METH_OPTIONS";

/**
 * Renders haproxy.cfg for one LB node.
 *
 * Design (see tests/render/haproxy.test.ts for what is asserted):
 * - Servers come from Consul DNS SRV via `server-template … resolvers consul
 *   resolve-prefer ipv4 init-addr none check`: no reload on membership change.
 *   Consul only answers passing instances; HAProxy's own fast HTTP checks are the
 *   second line (a crashed server is marked down within ~0.75 s: inter 500 ms,
 *   then fastinter 250 ms, fall 2; real-traffic connection errors count as failed
 *   checks via `observe layer4`).
 * - `hold nx/refused/timeout/other 1h`: if the agent stops answering (or answers
 *   NXDOMAIN) the last known servers are kept; their health checks still apply.
 * - `balance roundrobin`: in HAProxy 2.6 a connection retry is only immediate
 *   (no min(timeout connect, 1 s) turn-around pause) when it goes to another
 *   server under a round-robin-kind algorithm; leastconn would pause 500 ms.
 * - `retries 3` + `option redispatch 1`: every retry goes to another server.
 *   L7 retries (`retry-on empty-response response-timeout 502 503 504`) replay
 *   the buffered request, and HAProxy 2.6 does so for any method (measured: without
 *   the rule, 12 POSTs to a backend that drops half of them were delivered 23
 *   times), so they are disabled for everything but
 *   GET/HEAD/OPTIONS; connection failures (request never sent) are retried for
 *   every method.
 * - `timeout connect 500ms`: a dead server is retried elsewhere well within a
 *   client's 1 s timeout.
 * - Foreground process (no `daemon`, no master-worker: nothing is ever reloaded);
 *   the image entrypoint supervises it and soft-stops it with SIGUSR1.
 */
export function renderHaproxyConfig(input: HaproxyConfigInput): string {
    const { service } = input;
    const timings = input.dnsTimings ?? DEFAULT_HAPROXY_DNS_TIMINGS;
    const maxConn = input.maxConn ?? DEFAULT_MAX_CONN;

    assertToken("nodeName", input.nodeName);
    assertPort("webPort", input.webPort);
    assertPort("statsPort", input.statsPort);
    if (input.webPort === input.statsPort) {
        throw new Error(`renderHaproxyConfig: webPort and statsPort are both ${input.webPort}`);
    }
    assertToken("statsUser", input.statsUser);
    if (input.statsUser.includes(":")) {
        throw new Error(`renderHaproxyConfig: statsUser must not contain ':' (got ${JSON.stringify(input.statsUser)})`);
    }
    if (input.statsPassword.length === 0) throw new Error("renderHaproxyConfig: statsPassword is empty");
    assertPrintable("statsPassword", input.statsPassword);
    assertDnsLabel("service.name", service.name);
    for (const label of service.domain.split(".")) assertDnsLabel("service.domain", label);
    assertPositiveInt("service.maxServers", service.maxServers);
    assertPath("service.healthPath", service.healthPath);
    assertPort("dns.port", input.dns.port);
    if (isIP(input.dns.address) === 0) {
        throw new Error(`renderHaproxyConfig: dns.address must be an IP literal (got ${JSON.stringify(input.dns.address)})`);
    }
    assertAbsolutePath("runtimeSocket", input.runtimeSocket);
    assertPositiveInt("maxConn", maxConn);
    assertPositiveInt("dnsTimings.resolvePeriodMs", timings.resolvePeriodMs);
    assertNonNegativeInt("dnsTimings.holdObsoleteMs", timings.holdObsoleteMs);

    const metrics = input.metrics;
    if (metrics !== undefined) {
        assertPort("metrics.port", metrics.port);
        if ([input.webPort, input.statsPort].includes(metrics.port)) {
            throw new Error(`renderHaproxyConfig: metrics.port ${metrics.port} is already the web or stats port`);
        }
        assertAbsolutePath("metrics.keepalivedLuaPath", metrics.keepalivedLuaPath);
    }

    const backend = haproxyBackendName(service);
    const node = input.nodeName;

    return lines([
        `# haproxy.cfg for LB node ${node}.`,
        "# Rendered by swarm-platform (render/haproxy.ts); uploaded by the program. Do not edit by hand.",
        "",
        "global",
        `    log stdout format raw local0 info`,
        `    log-tag haproxy-${node}`,
        `    maxconn ${maxConn}`,
        "    user haproxy",
        "    group haproxy",
        "    # Runtime API (drain before a server leaves: set server <backend>/<server> state drain).",
        `    stats socket ${input.runtimeSocket} mode 600 level admin`,
        "    stats timeout 30s",
        "    # Bound the soft stop (SIGUSR1) the entrypoint sends on container stop.",
        "    hard-stop-after 5s",
        "    # No 'daemon' and no master-worker: one foreground process, supervised by the image entrypoint.",
        ...(metrics === undefined ? [] : [`    lua-load ${metrics.keepalivedLuaPath}`]),
        "",
        `resolvers ${HAPROXY_RESOLVERS_NAME}`,
        "    # Only the node-local Consul agent (never /etc/resolv.conf: only Consul answers for the service domain).",
        `    nameserver consul ${hostPort(input.dns.address, input.dns.port)}`,
        "    accepted_payload_size 8192",
        "    resolve_retries 3",
        "    # Query period: how fast membership changes reach the backend.",
        `    timeout resolve ${timings.resolvePeriodMs}ms`,
        "    timeout retry 1s",
        "    hold valid 10s",
        "    # A record missing from the answers leaves after this (haproxy/haproxy#1160).",
        `    hold obsolete ${timings.holdObsoleteMs}ms`,
        "    # DNS source lost or answering errors: keep the last servers (their checks still apply).",
        `    hold nx ${HOLD_ON_DNS_FAILURE}`,
        `    hold refused ${HOLD_ON_DNS_FAILURE}`,
        `    hold timeout ${HOLD_ON_DNS_FAILURE}`,
        `    hold other ${HOLD_ON_DNS_FAILURE}`,
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
        `    bind :${input.webPort}`,
        "    # Answered by HAProxy itself: the keepalived check and cloud LB health checks probe it.",
        `    monitor-uri ${LB_MONITOR_URI}`,
        "    # A node without a usable server must not hold the VIP (e.g. its Consul agent is not answering).",
        `    monitor fail if { nbsrv(${backend}) lt 1 }`,
        "    option forwardfor",
        `    http-after-response set-header ${LB_NODE_HEADER} ${node}`,
        `    default_backend ${backend}`,
        "",
        `backend ${backend}`,
        "    balance roundrobin",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response response-timeout 502 503 504",
        `    ${L7_RETRY_SAFE_METHODS_ONLY}`,
        "    option httpchk",
        `    http-check send meth GET uri ${service.healthPath} ver HTTP/1.1 hdr Host ${service.name}.service.${service.domain}`,
        "    http-check expect status 200",
        "    default-server inter 500ms fastinter 250ms downinter 1s fall 2 rise 2 observe layer4 error-limit 1 on-error fail-check",
        `    server-template ${service.name} 1-${service.maxServers} ${consulSrvName(service)} resolvers ${HAPROXY_RESOLVERS_NAME} resolve-prefer ipv4 init-addr none check`,
        "",
        "listen stats",
        `    bind :${input.statsPort}`,
        "    stats enable",
        "    stats uri /",
        "    stats refresh 5s",
        "    stats hide-version",
        `    stats realm ${haproxyWord(`HAProxy ${node}`)}`,
        `    stats auth ${haproxyWord(`${input.statsUser}:${input.statsPassword}`)}`,
        "    # Read-only page: state changes go through the runtime socket only.",
        "    stats admin if FALSE",
        ...(metrics === undefined
            ? []
            : [
                  "",
                  "frontend metrics",
                  `    bind :${metrics.port}`,
                  "    # Scraped every few seconds: not worth a log line each.",
                  "    http-request set-log-level silent",
                  `    http-request use-service prometheus-exporter if { path ${HAPROXY_METRICS_PATHS.haproxy} }`,
                  `    http-request use-service lua.keepalived_metrics if { path ${HAPROXY_METRICS_PATHS.keepalived} }`,
                  "    http-request return status 404",
              ]),
    ]);
}

/** One upstream of an edge listener. */
export interface EdgeUpstream {
    /** Server name in HAProxy (logs/stats), e.g. "consul-0". */
    readonly name: string;
    /** IP literal or hostname (resolved at start; unresolvable names start in MAINT instead of failing). */
    readonly address: string;
    readonly port: number;
    /**
     * `address` is a name the container's resolver answers with every member of a group (a Docker
     * network alias): one server per address, up to this many, re-resolved every second — members
     * come and go without the config (and the edge container) changing. Defaults to one fixed server.
     */
    readonly maxServers?: number;
}

/** Name of the edge's `resolvers` section (the container's own resolv.conf: Docker's embedded DNS). */
const EDGE_RESOLVERS_NAME = "platform";

/** One HTTP listener of the edge. */
export interface EdgeListener {
    /** Section name, e.g. "web", "consul-ui", "stats". */
    readonly name: string;
    /** Port the edge binds inside its container (published on the host's 127.0.0.1 by the platform). */
    readonly bindPort: number;
    /** Where connections go (round-robin when several). */
    readonly upstreams: readonly EdgeUpstream[];
    /** TCP-connect health checks (1 s interval): use with several upstreams so a dead one is skipped. */
    readonly check: boolean;
    /** Terminate TLS on `bindPort` (and redirect plain HTTP to it); absent: plain HTTP. */
    readonly tls?: EdgeTls;
    /** The upstreams speak HTTPS and require a client certificate (Consul's API with verify_incoming); absent: plain HTTP. */
    readonly upstreamTls?: EdgeUpstreamTls;
}

/**
 * HTTPS to the upstreams, mutually authenticated: `ssl verify required ca-file` checks their chain,
 * `verifyhost` the name in their certificate, `crt` is the client certificate HAProxy presents
 * (HAProxy 2.6 configuration manual, server options `ssl`, `verify`, `ca-file`, `verifyhost`, `crt`;
 * health checks of an `ssl` server are made over TLS too, `check-ssl`).
 */
export interface EdgeUpstreamTls {
    /** Absolute path of the CA's PEM. */
    readonly caFile: string;
    /** Absolute path of the PEM holding the client certificate and its key. */
    readonly crtFile: string;
    /** The name every upstream's certificate carries (Consul: `server.<dc>.consul`). */
    readonly verifyHost: string;
}

/** TLS on an edge listener. */
export interface EdgeTls {
    /** Absolute path of the PEM holding the certificate (chain) and its private key, as HAProxy's `crt` reads it. */
    readonly crtPath: string;
    /** A plain-HTTP port inside the container that answers every request with a 301 to `https://<host>:<httpsPort>`. */
    readonly redirect?: {
        readonly bindPort: number;
        /** The HTTPS port clients reach (the host port the listener is published on). */
        readonly httpsPort: number;
    };
}

/**
 * Mozilla's "intermediate" server-side TLS profile for HAProxy (TLS 1.2 and 1.3; ECDHE key
 * exchange, AEAD ciphers only; https://ssl-config.mozilla.org/#server=haproxy&config=intermediate,
 * https://wiki.mozilla.org/Security/Server_Side_TLS#Intermediate_compatibility_.28recommended.29),
 * without its DHE suites: they need a DH parameter file and a client that cannot do ECDHE does not
 * exist among the ones this serves. `ssl-min-ver TLSv1.2` rather than a list of `no-tlsv1x`
 * (HAProxy 2.6 configuration manual, bind options `ssl-min-ver`; `ssl-default-bind-options` applies
 * them to every `ssl` bind). No session tickets: their key never rotates in a long-lived process.
 */
export const EDGE_TLS_GLOBALS = [
    "ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    "ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets",
] as const;

/** Input of {@link renderEdgeConfig}. */
export interface EdgeConfigInput {
    readonly listeners: readonly EdgeListener[];
    /** Global connection limit, default 4096. */
    readonly maxConn?: number;
}

/**
 * Renders the dev stack's edge (the local stand-in for the cloud load balancer): one
 * `listen` section per listener, in `mode http` (every listener is HTTP: web, stats,
 * Consul UI).
 *
 * Why HTTP and not a plain TCP forwarder: when the VIP moves, a connection still open
 * on the old holder gets a RST from the new holder at its next packet (the new holder
 * has no socket for it; captured with tcpdump during graceful stops: the edge's ACK of
 * a complete answer went to the new holder's MAC right after its gratuitous ARP). In
 * `mode tcp` the edge passed that abort on to its client, sometimes before the answer
 * it already held (the client saw ECONNRESET). In `mode http` the edge knows when an
 * answer is complete, so it delivers it, and a request that got no answer at all is
 * replayed (`retry-on conn-failure empty-response`) for GET/HEAD/OPTIONS only.
 * - `option http-server-close`: one upstream connection per request, so no idle
 *   connection stays pinned to a VIP holder that has gone (measured: `http-reuse always`
 *   lost hundreds of requests in a rollout).
 * - `timeout connect 250ms` + `retries 4` re-dial quickly, which also hides most of a
 *   VIP move from new connections.
 * - `option forwardfor`: the LB nodes and the app see the client's address.
 */
export function renderEdgeConfig(input: EdgeConfigInput): string {
    const maxConn = input.maxConn ?? DEFAULT_MAX_CONN;
    assertPositiveInt("maxConn", maxConn);
    if (input.listeners.length === 0) throw new Error("renderEdgeConfig: no listeners");
    const names = new Set<string>();
    const ports = new Set<number>();
    for (const l of input.listeners) {
        assertSectionName("listener.name", l.name);
        assertPort(`listener ${l.name} bindPort`, l.bindPort);
        if (names.has(l.name)) throw new Error(`renderEdgeConfig: duplicate listener name ${JSON.stringify(l.name)}`);
        if (ports.has(l.bindPort)) throw new Error(`renderEdgeConfig: duplicate bindPort ${l.bindPort}`);
        names.add(l.name);
        ports.add(l.bindPort);
        if (l.tls !== undefined) {
            assertAbsolutePath(`listener ${l.name} tls.crtPath`, l.tls.crtPath);
            const redirect = l.tls.redirect;
            if (redirect !== undefined) {
                assertPort(`listener ${l.name} tls.redirect.bindPort`, redirect.bindPort);
                assertPort(`listener ${l.name} tls.redirect.httpsPort`, redirect.httpsPort);
                if (ports.has(redirect.bindPort)) throw new Error(`renderEdgeConfig: duplicate bindPort ${redirect.bindPort}`);
                ports.add(redirect.bindPort);
            }
        }
        if (l.upstreamTls !== undefined) {
            assertAbsolutePath(`listener ${l.name} upstreamTls.caFile`, l.upstreamTls.caFile);
            assertAbsolutePath(`listener ${l.name} upstreamTls.crtFile`, l.upstreamTls.crtFile);
            assertHost(`listener ${l.name} upstreamTls.verifyHost`, l.upstreamTls.verifyHost);
        }
        if (l.upstreams.length === 0) throw new Error(`renderEdgeConfig: listener ${l.name} has no upstreams`);
        const servers = new Set<string>();
        for (const u of l.upstreams) {
            assertSectionName(`listener ${l.name} upstream name`, u.name);
            if (servers.has(u.name)) {
                throw new Error(`renderEdgeConfig: listener ${l.name} has duplicate upstream name ${JSON.stringify(u.name)}`);
            }
            servers.add(u.name);
            assertHost(`listener ${l.name} upstream ${u.name} address`, u.address);
            assertPort(`listener ${l.name} upstream ${u.name} port`, u.port);
            if (u.maxServers !== undefined) {
                assertPositiveInt(`listener ${l.name} upstream ${u.name} maxServers`, u.maxServers);
                if (isIP(u.address) !== 0)
                    throw new Error(`renderEdgeConfig: upstream ${u.name} has maxServers but its address is not a name`);
            }
        }
    }
    const discovers = input.listeners.some((l) => l.upstreams.some((u) => u.maxServers !== undefined));

    const out: string[] = [
        "# Edge (dev stack): HTTP forwarder standing in for the cloud load balancer.",
        "# Rendered by swarm-platform (render/haproxy.ts). Do not edit by hand.",
        "",
        "global",
        "    log stdout format raw local0 info",
        "    log-tag haproxy-edge",
        `    maxconn ${maxConn}`,
        "    user haproxy",
        "    group haproxy",
        "    hard-stop-after 5s",
        ...(input.listeners.some((l) => l.tls !== undefined)
            ? [
                  "    # TLS: Mozilla's intermediate profile (render/haproxy.ts, EDGE_TLS_GLOBALS).",
                  ...EDGE_TLS_GLOBALS.map((g) => `    ${g}`),
              ]
            : []),
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
    ];
    if (discovers) {
        out.push(
            "",
            "# Group names (a Docker network alias shared by every member) re-resolved every second.",
            `resolvers ${EDGE_RESOLVERS_NAME}`,
            "    parse-resolv-conf",
            "    accepted_payload_size 8192",
            "    timeout resolve 1s",
            "    timeout retry 1s",
            "    hold valid 10s",
            "    hold obsolete 5s",
            "    hold nx 5s",
        );
    }
    for (const l of input.listeners) {
        const redirect = l.tls?.redirect;
        if (redirect !== undefined) {
            // Plain HTTP gets nothing but a redirect to the HTTPS port, host and path kept (the Host
            // header's port is the plain one, so the host part is cut at ':').
            out.push(
                "",
                `frontend ${l.name}-http`,
                `    bind :${redirect.bindPort}`,
                `    http-request redirect location https://%[req.hdr(host),field(1,:)]:${redirect.httpsPort}%[capture.req.uri] code 301`,
            );
        }
        const bind = l.tls === undefined ? `    bind :${l.bindPort}` : `    bind :${l.bindPort} ssl crt ${l.tls.crtPath} alpn h2,http/1.1`;
        out.push("", `listen ${l.name}`, bind);
        // Behind a TLS listener the upstreams learn the client's scheme from this header.
        if (l.tls !== undefined) out.push("    http-request set-header X-Forwarded-Proto https");
        out.push(`    ${L7_RETRY_SAFE_METHODS_ONLY}`);
        if (l.upstreams.length > 1 || l.upstreams.some((u) => u.maxServers !== undefined)) out.push("    balance roundrobin");
        const upstreamTls =
            l.upstreamTls === undefined
                ? ""
                : ` ssl verify required ca-file ${l.upstreamTls.caFile} crt ${l.upstreamTls.crtFile} verifyhost ${l.upstreamTls.verifyHost} check-ssl`;
        for (const u of l.upstreams) {
            if (u.maxServers !== undefined) {
                const check = l.check ? " check" : "";
                out.push(
                    `    server-template ${u.name}- ${u.maxServers} ${hostPort(u.address, u.port)}${check}${upstreamTls} resolvers ${EDGE_RESOLVERS_NAME} resolve-prefer ipv4 init-addr none`,
                );
                continue;
            }
            const params: string[] = [];
            if (isIP(u.address) === 0) params.push("init-addr libc,none");
            if (l.check) params.push("check");
            if (upstreamTls !== "") params.push(upstreamTls.trim());
            out.push(`    server ${u.name} ${hostPort(u.address, u.port)}${params.length > 0 ? ` ${params.join(" ")}` : ""}`);
        }
    }
    return lines(out);
}

/**
 * Quotes a value as ONE HAProxy config word: strong (single) quotes, so nothing
 * inside is interpreted (no '#' comments, no `$VAR` expansion, no escapes), with
 * embedded single quotes written as `'\''` (adjacent quoted parts join into one word).
 */
export function haproxyWord(value: string): string {
    assertPrintable("value", value);
    return `'${value.split("'").join(`'\\''`)}'`;
}

function lines(ls: readonly string[]): string {
    return `${ls.join("\n")}\n`;
}

function hostPort(address: string, port: number): string {
    return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function assertPort(what: string, port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`haproxy render: ${what} must be an integer port 1-65535 (got ${port})`);
    }
}

function assertPositiveInt(what: string, n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`haproxy render: ${what} must be a positive integer (got ${n})`);
}

function assertNonNegativeInt(what: string, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`haproxy render: ${what} must be a non-negative integer (got ${n})`);
}

/** A word that needs no quoting: printable, no whitespace, no quote/backslash/comment characters. */
function assertToken(what: string, s: string): void {
    if (!/^[A-Za-z0-9._:@+-]+$/.test(s)) {
        throw new Error(`haproxy render: ${what} must match [A-Za-z0-9._:@+-]+ (got ${JSON.stringify(s)})`);
    }
}

function assertSectionName(what: string, s: string): void {
    if (!/^[A-Za-z0-9._-]+$/.test(s)) {
        throw new Error(`haproxy render: ${what} must match [A-Za-z0-9._-]+ (got ${JSON.stringify(s)})`);
    }
}

function assertDnsLabel(what: string, s: string): void {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s)) {
        throw new Error(`haproxy render: ${what} must be lower-case DNS label(s) (got ${JSON.stringify(s)})`);
    }
}

function assertHost(what: string, s: string): void {
    if (isIP(s) !== 0) return;
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(s)) {
        throw new Error(`haproxy render: ${what} must be an IP literal or a hostname (got ${JSON.stringify(s)})`);
    }
}

function assertPath(what: string, s: string): void {
    if (!/^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/.test(s)) {
        throw new Error(`haproxy render: ${what} must be an absolute URL path without spaces, quotes or '#' (got ${JSON.stringify(s)})`);
    }
}

function assertAbsolutePath(what: string, s: string): void {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(s)) {
        throw new Error(`haproxy render: ${what} must be an absolute file path of [A-Za-z0-9._/-] (got ${JSON.stringify(s)})`);
    }
}

function assertPrintable(what: string, s: string): void {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(s)) throw new Error(`haproxy render: ${what} contains control characters`);
}
