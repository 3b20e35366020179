"use strict";
/**
 * swarm-platform web service: a tiny HTTP server.
 *
 * It runs as a Docker Swarm task with host networking, so it picks its own
 * port, registers itself in Consul through the node-local agent (HAProxy finds
 * it there), serves Prometheus metrics on the same port and drains before it
 * exits. Runs on Node 18.20 (Debian bookworm) and Node 20; uses the http, os,
 * fs and net modules and one npm package, prom-client (app/package.json, pinned
 * exactly, installed into the image by images/web/Dockerfile).
 *
 * Environment (empty counts as unset):
 *   APP_VERSION                version shown on / and tagged in Consul  (default "dev")
 *   TASK_NAME                  Swarm task name, via {{.Task.Name}}       (default: hostname)
 *   BIND_ADDR                  address to listen on                      (default 0.0.0.0)
 *   PORT                       bind exactly this port (0 = any free one; for tests)
 *   PORT_MIN, PORT_MAX         otherwise: first free port in this range  (default 20000..20099)
 *   PORT_FILE                  chosen port is written here for healthcheck.sh (default /tmp/web.port)
 *   CONSUL_HTTP_ADDR           e.g. http://127.0.0.1:8500; unset = do not register in Consul
 *   CONSUL_HTTP_TOKEN_FILE     file holding the ACL token (a Swarm secret); wins over...
 *   CONSUL_HTTP_TOKEN          ...the token itself
 *   SERVICE_NAME               Consul service name                       (default "web")
 *   SERVICE_ADDRESS            address to register (default: the agent's .Member.Addr)
 *   DRAIN_SECONDS              wait after deregistering, before closing  (default 3)
 *   SHUTDOWN_TIMEOUT_SECONDS   hard exit (code 1) if shutdown takes longer (default 10)
 */

const http = require("http");
const fs = require("fs");
const os = require("os");
const net = require("net");
const promClient = require("prom-client");

// How long an idle keep-alive connection stays open (this is also Node's own
// default; set explicitly so the choice is visible). The 65 s seen in many
// guides is for AWS ALB, whose idle timeout is 60 s: the backend must outlive
// the balancer's idle timer. HAProxy purges its idle server-side connections
// on its own short timer (pool-purge-delay) and by default (http-reuse safe)
// never sends a client's first request over a reused connection, so a short
// timeout costs at most one extra TCP handshake on the LAN. A long one pins
// idle sockets to a task that may be draining. If HAProxy is configured to
// keep idle server connections longer than this, give it `retry-on
// conn-failure empty-response` so the rare close/reuse race is retried.
const KEEP_ALIVE_TIMEOUT_MS = 5000;

// The health check the node's Consul agent runs for each task. It starts critical,
// so no traffic is routed before the first pass. A task goes critical only after 3
// failures in a row: one slow answer while the node is busy must not take every
// task out of DNS at once, which would empty HAProxy's backend (measured in the
// swarm system test: while the next version's image loads into the nodes, /health
// answers take up to 0.7 s against this 1 s timeout). HAProxy's own checks (fall 2
// at 250 ms) still take a dead task out within a second, and a stopping task
// deregisters itself first. A task that dies without deregistering is removed by
// Consul after a minute of failures.
const CONSUL_CHECK = Object.freeze({
    Interval: "1s",
    Timeout: "1s",
    FailuresBeforeCritical: 3,
    DeregisterCriticalServiceAfter: "1m",
});

// Consul calls: per-request timeout and the retry backoff for registration.
const CONSUL_TIMEOUT_MS = 2000;
const DEREGISTER_TIMEOUT_MS = 2000;
const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 5000;

// Where Prometheus scrapes, on the app's own port. Also registered in the
// Consul service's Meta as metrics_path: Prometheus' consul_sd exposes it as
// __meta_consul_service_metadata_metrics_path, so the scrape config reads the
// path from the catalog instead of repeating it.
const METRICS_PATH = "/metrics";

// The route label: the paths the app serves, and "other" for every 404. Never
// the raw URL: anyone can send any path, and every distinct label value is a
// new time series in Prometheus, kept for the retention period.
const ROUTES = Object.freeze(["/", "/health", METRICS_PATH]);
const OTHER_ROUTE = "other";

// Request latency buckets, in seconds. The app answers from memory on a LAN, so
// a healthy request takes well under 1 ms (the lowest bucket); a task throttled
// by its CPU limit (0.25 CPU: 25 ms of CPU per 100 ms CFS period) can stall for
// up to ~75 ms (the 0.05 and 0.1 buckets); 1 s is the Consul check's timeout and
// the clients'; 2.5 s and +Inf are for "something is badly wrong".
const LATENCY_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

// prom-client's event loop lag sampler (perf_hooks.monitorEventLoopDelay) wakes
// the loop this often. With its 10 ms default the idle server used ~5 ms of CPU
// per second more than without prom-client (2% of a task's 0.25 CPU); with 50 ms,
// ~2 ms (Node 18.20 and 20, 30 s idle side by side on a 2-core machine). 50 ms
// still gives 300 samples per 15 s scrape (prom-client resets them at each
// scrape), plenty for the p50/p90/p99 it reports.
const EVENT_LOOP_SAMPLE_MS = 50;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/** Reads and validates the environment; throws with a readable message. */
function loadConfig(env = process.env) {
    const get = (name) => {
        const value = env[name];
        return value === undefined || value.trim() === "" ? undefined : value.trim();
    };
    const int = (name, fallback, min, max) => {
        const raw = get(name);
        if (raw === undefined) return fallback;
        const n = Number(raw);
        if (!Number.isInteger(n) || n < min || n > max) {
            throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
        }
        return n;
    };
    const seconds = (name, fallback, min) => {
        const raw = get(name);
        if (raw === undefined) return fallback * 1000;
        const n = Number(raw);
        if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
        return Math.round(n * 1000);
    };

    const config = {
        version: get("APP_VERSION") || "dev",
        hostname: os.hostname(),
        taskName: get("TASK_NAME") || os.hostname(),
        bindAddr: get("BIND_ADDR") || "0.0.0.0",
        port: int("PORT", undefined, 0, 65535),
        portMin: int("PORT_MIN", 20000, 1, 65535),
        portMax: int("PORT_MAX", 20099, 1, 65535),
        // Setting PORT_FILE to an empty value is the one way to switch it off.
        portFile: env.PORT_FILE === undefined ? "/tmp/web.port" : env.PORT_FILE.trim(),
        consulAddr: parseConsulAddr(get("CONSUL_HTTP_ADDR")),
        consulTokenFile: get("CONSUL_HTTP_TOKEN_FILE"),
        consulToken: get("CONSUL_HTTP_TOKEN"),
        serviceName: get("SERVICE_NAME") || "web",
        serviceAddress: get("SERVICE_ADDRESS"),
        drainMs: seconds("DRAIN_SECONDS", 3, 0),
        shutdownTimeoutMs: seconds("SHUTDOWN_TIMEOUT_SECONDS", 10, 0.001),
    };
    if (config.portMin > config.portMax) {
        throw new Error(`PORT_MIN (${config.portMin}) is greater than PORT_MAX (${config.portMax})`);
    }
    return config;
}

/** "127.0.0.1:8500" or "http://127.0.0.1:8500" -> {host, port}; undefined stays undefined. */
function parseConsulAddr(raw) {
    if (raw === undefined) return undefined;
    // Like the consul CLI, accept a bare host:port and assume http.
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
    let url;
    try {
        url = new URL(withScheme);
    } catch {
        throw new Error(`CONSUL_HTTP_ADDR is not a valid address: "${raw}"`);
    }
    // The agent is node-local, so plain http is enough, and it keeps us on the http module.
    if (url.protocol !== "http:") throw new Error(`CONSUL_HTTP_ADDR must use http://, got "${raw}"`);
    return {
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"), // URL keeps IPv6 brackets; http.request wants none
        port: Number(url.port || 80),
    };
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function defaultLog(message) {
    console.log(`${new Date().toISOString()} web: ${message}`);
}

/** host:port for URLs, with brackets around IPv6 addresses. */
function hostPort(host, port) {
    return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves with the bound port, rejects with the listen error (e.g. EADDRINUSE). */
function listenOnce(server, port, host) {
    return new Promise((resolve, reject) => {
        const onError = (err) => {
            server.removeListener("listening", onListening);
            reject(err);
        };
        const onListening = () => {
            server.removeListener("error", onError);
            resolve(server.address().port);
        };
        server.once("error", onError);
        server.once("listening", onListening);
        // Node allows calling listen() again after a failed listen().
        server.listen(port, host);
    });
}

/**
 * Host networking means tasks on one node share the port space, so take the
 * first free port of the range. Only "in use" moves on; any other error (bad
 * address, privileged port) would repeat for every port, so it is reported.
 */
async function listenInRange(server, host, min, max) {
    for (let port = min; port <= max; port++) {
        try {
            return await listenOnce(server, port, host);
        } catch (err) {
            if (err.code !== "EADDRINUSE") throw err;
        }
    }
    throw new Error(`no free port in ${min}..${max} on ${host}`);
}

/** Write-then-rename, so healthcheck.sh never reads a half-written file. */
function writePortFile(file, port) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------
// Prometheus metrics
// ---------------------------------------------------------------------------

let processRegistry = null;

/**
 * prom-client's default metrics (CPU, memory, heap, GC, event loop lag, open
 * file descriptors) describe the process, not one app, so they are collected
 * once per process into one registry that every app's /metrics includes. Each
 * collectDefaultMetrics call starts an event loop sampler and a GC observer that
 * are never stopped, and the tests create dozens of apps in one process.
 */
function processMetrics() {
    if (!processRegistry) {
        processRegistry = new promClient.Registry();
        promClient.collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    }
    return processRegistry;
}

/**
 * One app's metrics, in its own registry (not prom-client's global one, which
 * would mix the apps of one process), and the registry /metrics renders: the
 * app's metrics and the process's.
 */
function createMetrics(config) {
    const registers = [new promClient.Registry()];
    const requests = new promClient.Counter({
        name: "http_requests_total",
        help: 'HTTP requests answered, by route (a served path, or "other"), method (GET, HEAD or "other") and status code.',
        labelNames: ["route", "method", "status"],
        registers,
    });
    const duration = new promClient.Histogram({
        name: "http_request_duration_seconds",
        help: "Time from a request's headers being read to its response being handed to the kernel, by route.",
        labelNames: ["route"],
        buckets: [...LATENCY_BUCKETS],
        registers,
    });
    const inFlight = new promClient.Gauge({
        name: "http_requests_in_flight",
        help: "Requests being answered now, by route; a scrape counts itself under /metrics.",
        labelNames: ["route"],
        registers,
    });
    const draining = new promClient.Gauge({
        name: "web_draining",
        help: "1 once the app has begun to drain (SIGTERM/SIGINT: /health answers 503, it leaves Consul), else 0.",
        registers,
    });
    const buildInfo = new promClient.Gauge({
        name: "web_build_info",
        help: "Always 1; the version label is the app's APP_VERSION.",
        labelNames: ["version"],
        registers,
    });
    buildInfo.set({ version: config.version }, 1);
    draining.set(0);
    // Series that exist from the start, so rate() and increase() see their first
    // event (a series that appears with value 1 shows no increase): the latency of
    // every route, and the answers a task gives in normal life and while draining.
    for (const route of [...ROUTES, OTHER_ROUTE]) {
        duration.zero({ route });
        inFlight.set({ route }, 0);
    }
    for (const [route, status] of [
        ["/", "200"],
        ["/health", "200"],
        ["/health", "503"],
    ]) {
        requests.inc({ route, method: "GET", status }, 0);
    }
    return { registry: promClient.Registry.merge([processMetrics(), ...registers]), requests, duration, inFlight, draining };
}

// ---------------------------------------------------------------------------
// Consul agent client and self-registration
// ---------------------------------------------------------------------------

/** The token is re-read on every call, so a rotated secret file is picked up. */
function readToken(config) {
    if (config.consulTokenFile) return fs.readFileSync(config.consulTokenFile, "utf8").trim();
    return config.consulToken || "";
}

/** One request to the local agent; resolves with parsed JSON (or null), rejects on non-2xx. */
function consulRequest(config, token, method, path, body, timeoutMs) {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const headers = {};
        if (token) headers["X-Consul-Token"] = token;
        if (payload !== undefined) {
            headers["Content-Type"] = "application/json";
            headers["Content-Length"] = Buffer.byteLength(payload);
        }
        // agent:false = a fresh connection per call; nothing pooled keeps the process alive.
        const req = http.request(
            { host: config.consulAddr.host, port: config.consulAddr.port, method, path, headers, agent: false },
            (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (chunk) => (text += chunk));
                res.on("end", () => {
                    clearTimeout(timer);
                    if (res.statusCode < 200 || res.statusCode > 299) {
                        reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.trim().slice(0, 200)}`));
                        return;
                    }
                    try {
                        resolve(text.trim() === "" ? null : JSON.parse(text));
                    } catch {
                        reject(new Error(`${method} ${path}: response is not JSON`));
                    }
                });
                res.on("error", reject);
            },
        );
        // One deadline for connect + response, not just socket inactivity.
        const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs}ms`)), timeoutMs);
        req.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        req.end(payload);
    });
}

/**
 * What a task registers with its node's Consul agent (PUT /v1/agent/service/register): its id, name,
 * address and port, the version as a tag and in Meta, where its metrics are (Meta metrics_path, read
 * by Prometheus's discovery) and its health check. Exported so that the system tests' catalog
 * stand-in lists exactly what the app registers.
 */
function serviceDefinition(config, address, port) {
    return {
        ID: `${config.serviceName}-${config.taskName}-${port}`,
        Name: config.serviceName,
        Address: address,
        Port: port,
        Tags: [`version-${config.version}`],
        Meta: { version: config.version, task: config.taskName, metrics_path: METRICS_PATH },
        Check: { HTTP: `http://${hostPort(address, port)}/health`, ...CONSUL_CHECK },
    };
}

/**
 * Registers the service in the background, retrying forever with backoff
 * (the agent may start after us, or restart), until stop() is called.
 */
function createRegistrar({ config, port, log }) {
    const serviceId = serviceDefinition(config, "", port).ID;
    let stopped = false;
    let attempt = null; // promise of the attempt in flight
    let sentRegister = false; // a register PUT went out, so we may be registered
    let wake = null; // cuts the backoff sleep short on stop()
    let sleepTimer = null;

    async function registerOnce() {
        const token = readToken(config); // throws if the secret file is missing: retried like any failure
        const address = config.serviceAddress || (await agentAddress(token));
        if (stopped) return null; // shutdown began while we asked the agent: don't register now
        const definition = serviceDefinition(config, address, port);
        sentRegister = true;
        await consulRequest(config, token, "PUT", "/v1/agent/service/register", definition, CONSUL_TIMEOUT_MS);
        return address;
    }

    async function agentAddress(token) {
        const self = await consulRequest(config, token, "GET", "/v1/agent/self", undefined, CONSUL_TIMEOUT_MS);
        const addr = self && self.Member && self.Member.Addr;
        if (typeof addr !== "string" || addr === "") throw new Error("GET /v1/agent/self: no .Member.Addr");
        return addr;
    }

    function sleep(ms) {
        return new Promise((resolve) => {
            wake = resolve;
            sleepTimer = setTimeout(resolve, ms);
        });
    }

    async function run() {
        let delay = RETRY_INITIAL_MS;
        while (!stopped) {
            attempt = registerOnce();
            try {
                const address = await attempt;
                if (address !== null) {
                    log(`consul: registered ${config.serviceName} id=${serviceId} at ${hostPort(address, port)}`);
                }
                return;
            } catch (err) {
                if (stopped) return;
                log(`consul: registration failed (${err.message}); retrying in ${delay / 1000}s`);
            } finally {
                attempt = null;
            }
            await sleep(delay);
            delay = Math.min(delay * 2, RETRY_MAX_MS);
        }
    }

    return {
        serviceId,
        start() {
            run();
        },
        /** Stops retrying and deregisters (best effort). Never rejects. */
        async stop() {
            stopped = true;
            clearTimeout(sleepTimer);
            if (wake) wake();
            // Let a register call in flight finish first, or the agent could
            // process it after our deregister and leave a stale entry behind.
            if (attempt) await attempt.catch(() => {});
            if (!sentRegister) return;
            try {
                const path = `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`;
                await consulRequest(config, readToken(config), "PUT", path, undefined, DEREGISTER_TIMEOUT_MS);
                log(`consul: deregistered id=${serviceId}`);
            } catch (err) {
                log(`consul: deregistration failed (${err.message}); Consul will drop it after the check fails for 1m`);
            }
        },
    };
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

/**
 * options.env:    environment to read (default process.env)
 * options.config: an already-loaded config (instead of env)
 * options.log:    function(line) for log output (default: stdout with timestamp)
 *
 * Returns { start, shutdown, stop, server, port, draining, serviceId, config }.
 */
function createApp(options = {}) {
    const config = options.config || loadConfig(options.env || process.env);
    const log = options.log || defaultLog;

    let started = false;
    let port = null;
    let draining = false;
    let shutdownPromise = null;
    let registrar = null;

    const metrics = createMetrics(config);
    const server = http.createServer(handle);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

    function send(req, res, status, contentType, body) {
        res.statusCode = status;
        res.setHeader("Content-Type", contentType);
        res.setHeader("Content-Length", Buffer.byteLength(body));
        res.setHeader("Cache-Control", "no-store");
        // While draining, make every client (HAProxy included) open its next
        // connection anew, which sends it to a task that is not going away.
        if (draining) res.setHeader("Connection", "close");
        res.end(req.method === "HEAD" ? undefined : body);
    }

    /**
     * Counts the request and times it until its response is done ("close" also
     * comes when the client went away first). /health and /metrics are counted
     * under their own route rather than left out: the health checks (HAProxy's
     * from each balancer every 0.5 s, Consul's every 1 s, Docker's every 2 s)
     * can outnumber real traffic, so unlabelled they would swamp "/"'s rate and
     * latency, and left out, a slow or failing /health (503 while draining) would
     * not show. The method label is GET, HEAD or "other", to keep it bounded too.
     */
    function observe(req, res, route) {
        const method = req.method === "GET" || req.method === "HEAD" ? req.method : "other";
        const stopTimer = metrics.duration.startTimer({ route });
        metrics.inFlight.inc({ route });
        res.once("close", () => {
            metrics.inFlight.dec({ route });
            stopTimer();
            metrics.requests.inc({ route, method, status: String(res.statusCode) });
        });
    }

    function handle(req, res) {
        const path = (req.url || "/").split("?")[0];
        const route = ROUTES.includes(path) ? path : OTHER_ROUTE;
        observe(req, res, route);
        if (route === OTHER_ROUTE) {
            send(req, res, 404, "text/plain; charset=utf-8", "not found\n");
            return;
        }
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.setHeader("Allow", "GET, HEAD");
            send(req, res, 405, "text/plain; charset=utf-8", "method not allowed\n");
            return;
        }
        if (path === METRICS_PATH) {
            // Answered while draining too, so Prometheus can see the drain
            // (web_draining 1, /health's 503s) until the server closes.
            metrics.registry.metrics().then(
                (text) => send(req, res, 200, metrics.registry.contentType, text),
                (err) => {
                    log(`metrics: collection failed: ${err.message}`);
                    send(req, res, 500, "text/plain; charset=utf-8", "metrics collection failed\n");
                },
            );
            return;
        }
        if (path === "/health") {
            if (draining) send(req, res, 503, "text/plain; charset=utf-8", "draining\n");
            else send(req, res, 200, "text/plain; charset=utf-8", "ok\n");
            return;
        }
        // GET /: who answered, so a load-balancing test can see the spread.
        res.setHeader("Vary", "Accept");
        const info = { version: config.version, task: config.taskName, host: config.hostname, port };
        if (/application\/json/i.test(req.headers.accept || "")) {
            send(req, res, 200, "application/json", `${JSON.stringify(info)}\n`);
        } else {
            send(
                req,
                res,
                200,
                "text/plain; charset=utf-8",
                `swarm-platform web ${info.version} task=${info.task} host=${info.host} port=${info.port}\n`,
            );
        }
    }

    /** Binds, writes PORT_FILE, starts Consul registration in the background. Resolves with {port}. */
    async function start() {
        if (started || shutdownPromise) throw new Error("start() called twice or after shutdown");
        started = true;
        const bound =
            config.port !== undefined
                ? await listenOnce(server, config.port, config.bindAddr)
                : await listenInRange(server, config.bindAddr, config.portMin, config.portMax);
        port = bound;
        if (shutdownPromise) {
            // A signal arrived while we were binding; shutdown() found nothing to close.
            server.close();
            return { port };
        }
        if (config.portFile) {
            try {
                writePortFile(config.portFile, port);
            } catch (err) {
                // Without the file the Docker healthcheck can never pass: fail loudly instead.
                server.close();
                throw new Error(`cannot write PORT_FILE ${config.portFile}: ${err.message}`);
            }
        }
        log(`version ${config.version} task ${config.taskName} listening on ${hostPort(config.bindAddr, port)}`);
        if (config.consulAddr) {
            const tokenSource = config.consulTokenFile
                ? `token file ${config.consulTokenFile}`
                : config.consulToken
                  ? "token from CONSUL_HTTP_TOKEN"
                  : "no token";
            log(`consul: registering with agent ${hostPort(config.consulAddr.host, config.consulAddr.port)} (${tokenSource})`);
            registrar = createRegistrar({ config, port, log });
            registrar.start();
        } else {
            log("consul: CONSUL_HTTP_ADDR not set, not registering");
        }
        return { port };
    }

    /**
     * Graceful shutdown; calling it again returns the same promise, so a second
     * signal does not restart the sequence.
     */
    function shutdown(reason = "shutdown") {
        if (!shutdownPromise) shutdownPromise = runShutdown(reason);
        return shutdownPromise;
    }

    async function runShutdown(reason) {
        // 1. Fail health checks at once: HAProxy's own checks and Consul's start
        //    marking us down even before the deregistration lands.
        draining = true;
        metrics.draining.set(1);
        log(`${reason}: draining, /health now answers 503`);
        // 2. Leave the catalog, so DNS/catalog-based discovery drops us.
        if (registrar) await registrar.stop();
        // 3. Keep serving while the load balancer catches up with steps 1 and 2.
        if (config.drainMs > 0) {
            log(`waiting ${config.drainMs / 1000}s for load balancers to stop sending requests`);
            await new Promise((resolve) => setTimeout(resolve, config.drainMs));
        }
        // 4. Stop accepting; in-flight requests finish (their responses carry
        //    Connection: close); idle keep-alive sockets are closed now instead of
        //    after keepAliveTimeout (Node 18 does not do that in close()).
        await new Promise((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
            server.closeIdleConnections();
        });
        log("stopped");
    }

    return {
        start,
        shutdown,
        stop: shutdown,
        server,
        config,
        get port() {
            return port;
        },
        get draining() {
            return draining;
        },
        get serviceId() {
            return registrar ? registrar.serviceId : null;
        },
    };
}

/**
 * SIGTERM (docker stop / Swarm) and SIGINT (Ctrl-C) start the graceful
 * shutdown once; exit 0 when it completes, exit 1 if it takes longer than
 * timeoutMs. proc and exit are parameters so tests can drive this.
 */
function installSignalHandlers(app, { timeoutMs, log = defaultLog, proc = process, exit = (code) => process.exit(code) }) {
    let hardTimer = null;
    const onSignal = (signal) => {
        if (hardTimer) {
            log(`${signal} received again; shutdown already in progress`);
            return;
        }
        hardTimer = setTimeout(() => {
            log(`shutdown did not finish within ${timeoutMs / 1000}s; exiting`);
            exit(1);
        }, timeoutMs);
        app.shutdown(signal).then(
            () => {
                clearTimeout(hardTimer);
                exit(0);
            },
            (err) => {
                clearTimeout(hardTimer);
                log(`shutdown failed: ${err.message}`);
                exit(1);
            },
        );
    };
    proc.on("SIGTERM", onSignal);
    proc.on("SIGINT", onSignal);
    return () => {
        proc.removeListener("SIGTERM", onSignal);
        proc.removeListener("SIGINT", onSignal);
        clearTimeout(hardTimer);
    };
}

function main() {
    let app;
    try {
        app = createApp();
    } catch (err) {
        defaultLog(`configuration error: ${err.message}`);
        process.exit(1);
    }
    installSignalHandlers(app, { timeoutMs: app.config.shutdownTimeoutMs });
    app.start().catch((err) => {
        defaultLog(`failed to start: ${err.message}`);
        process.exit(1);
    });
}

module.exports = {
    createApp,
    loadConfig,
    installSignalHandlers,
    listenInRange,
    main,
    KEEP_ALIVE_TIMEOUT_MS,
    CONSUL_CHECK,
    METRICS_PATH,
    LATENCY_BUCKETS,
    serviceDefinition,
};

if (require.main === module) main();
