// Tests for app/server.js and app/healthcheck.sh, over real loopback sockets (127.0.0.1 only).
// Consul is a tiny fake agent started by the tests; nothing external is needed.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { shellcheck } from "../harness/shellcheck";
import { EventEmitter } from "events";
import { createApp, installSignalHandlers, loadConfig, KEEP_ALIVE_TIMEOUT_MS, LATENCY_BUCKETS, METRICS_PATH, App } from "../../app/server";

jest.setTimeout(15000);

const APP_DIR = path.resolve(__dirname, "../../app");
const SERVER_JS = path.join(APP_DIR, "server.js");
const HEALTHCHECK_SH = path.resolve(__dirname, "../../app/healthcheck.sh");
const HOST = os.hostname();

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

let tmp = "";
let fileCounter = 0;
const cleanups: Array<() => unknown> = [];

beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "web-app-test-"));
});
afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        BIND_ADDR: "127.0.0.1",
        PORT: "0",
        PORT_FILE: path.join(tmp, `port-${++fileCounter}`),
        APP_VERSION: "1.2.3",
        TASK_NAME: "web.1.abc",
        DRAIN_SECONDS: "0",
        ...extra,
    };
}

async function startApp(env: Record<string, string | undefined>): Promise<{ app: App; logs: string[]; port: number }> {
    const logs: string[] = [];
    const app = createApp({ env, log: (line) => logs.push(line) });
    cleanups.push(() => app.shutdown("test cleanup"));
    const { port } = await app.start();
    return { app, logs, port };
}

interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
    reusedSocket: boolean;
}

function request(
    port: number,
    urlPath = "/",
    opts: { method?: string; headers?: http.OutgoingHttpHeaders; agent?: http.Agent } = {},
): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host: "127.0.0.1", port, path: urlPath, method: opts.method ?? "GET", headers: opts.headers, agent: opts.agent ?? false },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (chunk) => (body += chunk));
                res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, reusedSocket: req.reusedSocket }));
            },
        );
        req.on("error", reject);
        req.end();
    });
}

/** A listening socket on a free loopback port, closed after the test. */
async function occupyPort(port = 0): Promise<{ port: number; server: net.Server }> {
    const server = net.createServer((sock) => sock.destroy());
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return { port: (server.address() as net.AddressInfo).port, server };
}

/** A port that was free a moment ago and has nothing listening on it. */
async function unusedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

async function waitUntil<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(10);
    }
}

interface Recorded {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    at: number;
    note?: unknown;
}
type FakeReply = { status: number; body?: string } | undefined;
type Responder = (req: Recorded) => FakeReply | Promise<FakeReply>;

/** A fake node-local Consul agent that records every call (default answers unless the responder overrides). */
async function fakeConsul(responder: Responder = () => undefined, port = 0) {
    const requests: Recorded[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk) => (body += chunk));
        req.on("end", async () => {
            const rec: Recorded = { method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() };
            let reply = await responder(rec);
            requests.push(rec); // only now, so the test sees what the responder noted
            if (!reply) {
                if (req.method === "GET" && req.url === "/v1/agent/self")
                    reply = { status: 200, body: JSON.stringify({ Member: { Addr: "10.1.2.3" } }) };
                else if (req.method === "PUT" && req.url!.startsWith("/v1/agent/service/")) reply = { status: 200, body: "" };
                else reply = { status: 404, body: "no such endpoint" };
            }
            res.writeHead(reply.status, { "Content-Type": "application/json" });
            res.end(reply.body ?? "");
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
    });
    cleanups.push(
        () =>
            new Promise((resolve) => {
                server.close(resolve);
                server.closeAllConnections();
            }),
    );
    const actualPort = (server.address() as net.AddressInfo).port;
    return {
        addr: `http://127.0.0.1:${actualPort}`,
        port: actualPort,
        requests,
        find: (method: string, prefix: string) => requests.filter((r) => r.method === method && r.url.startsWith(prefix)),
        waitFor: (method: string, prefix: string, count = 1) =>
            waitUntil(`${count}x ${method} ${prefix}`, () => {
                const found = requests.filter((r) => r.method === method && r.url.startsWith(prefix));
                return found.length >= count ? found : undefined;
            }),
    };
}

function runNode(
    script: string,
    env: Record<string, string | undefined>,
    opts: { onStart?: (child: ReturnType<typeof spawn>) => void; interpreter?: string } = {},
) {
    return new Promise<{ code: number | null; stdout: string; ms: number }>((resolve, reject) => {
        const started = Date.now();
        const child = spawn(opts.interpreter ?? process.execPath, [script], {
            env: { PATH: process.env.PATH, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        child.stdout!.on("data", (chunk) => (stdout += chunk));
        child.stderr!.on("data", (chunk) => (stdout += chunk));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, ms: Date.now() - started }));
        cleanups.push(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        });
        opts.onStart?.(child);
    });
}

/** One sample line of the Prometheus text format: name, labels, value. */
interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)$/;

/** Parses a text exposition; throws on a line that is neither a sample, a # comment nor blank. */
function parseExposition(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const m = SAMPLE_LINE.exec(line);
        if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
        const labels: Record<string, string> = {};
        for (const [, name, value] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[name] = value;
        samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return samples;
}

/** A scrape of GET /metrics: the reply, and the value of the series with exactly these labels (undefined if absent). */
async function scrape(port: number, agent?: http.Agent) {
    const reply = await request(port, METRICS_PATH, { agent });
    const samples = parseExposition(reply.body);
    const value = (name: string, labels: Record<string, string> = {}) => {
        const key = JSON.stringify(Object.entries(labels).sort());
        return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key)?.value;
    };
    return { reply, samples, value };
}

// ---------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------

describe("loadConfig", () => {
    test("defaults", () => {
        expect(loadConfig({})).toEqual({
            version: "dev",
            hostname: HOST,
            taskName: HOST,
            bindAddr: "0.0.0.0",
            port: undefined,
            portMin: 20000,
            portMax: 20099,
            portFile: "/tmp/web.port",
            consulAddr: undefined,
            consulTokenFile: undefined,
            consulToken: undefined,
            serviceName: "web",
            serviceAddress: undefined,
            drainMs: 3000,
            shutdownTimeoutMs: 10000,
        });
    });

    test("parses values and accepts a bare host:port for CONSUL_HTTP_ADDR", () => {
        const c = loadConfig({ PORT: "8080", DRAIN_SECONDS: "0.2", CONSUL_HTTP_ADDR: "127.0.0.1:8500", APP_VERSION: " ", TASK_NAME: "" });
        expect(c.port).toBe(8080);
        expect(c.drainMs).toBe(200);
        expect(c.consulAddr).toEqual({ host: "127.0.0.1", port: 8500 });
        expect(c.version).toBe("dev"); // blank counts as unset
        expect(c.taskName).toBe(HOST);
    });

    test.each([
        [{ PORT: "abc" }, /PORT must be an integer/],
        [{ PORT: "70000" }, /PORT must be an integer/],
        [{ PORT_MIN: "200", PORT_MAX: "100" }, /PORT_MIN \(200\) is greater than PORT_MAX \(100\)/],
        [{ DRAIN_SECONDS: "-1" }, /DRAIN_SECONDS must be a number/],
        [{ CONSUL_HTTP_ADDR: "https://127.0.0.1:8501" }, /must use http/],
    ])("rejects %p", (env, message) => {
        expect(() => loadConfig(env)).toThrow(message);
    });
});

// ---------------------------------------------------------------------------
// HTTP behaviour
// ---------------------------------------------------------------------------

describe("HTTP", () => {
    test("GET / shows version, task, host and port as text", async () => {
        const { port } = await startApp(baseEnv());
        const r = await request(port, "/");
        expect(r.status).toBe(200);
        expect(r.headers["content-type"]).toMatch(/^text\/plain/);
        expect(r.body).toBe(`swarm-platform web 1.2.3 task=web.1.abc host=${HOST} port=${port}\n`);
    });

    test("GET / with Accept: application/json returns JSON", async () => {
        const { port } = await startApp(baseEnv());
        const r = await request(port, "/?x=1", { headers: { Accept: "application/json" } });
        expect(r.status).toBe(200);
        expect(r.headers["content-type"]).toBe("application/json");
        expect(JSON.parse(r.body)).toEqual({ version: "1.2.3", task: "web.1.abc", host: HOST, port });
    });

    test("/health is 200 ok; keep-alive timeout is short", async () => {
        const { app, port } = await startApp(baseEnv());
        const r = await request(port, "/health");
        expect(r.status).toBe(200);
        expect(r.body).toBe("ok\n");
        expect(KEEP_ALIVE_TIMEOUT_MS).toBe(5000);
        expect(app.server.keepAliveTimeout).toBe(5000);
    });

    test("HEAD works without a body; unknown paths 404; other methods 405", async () => {
        const { port } = await startApp(baseEnv());
        const head = await request(port, "/", { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(head.body).toBe("");
        expect(Number(head.headers["content-length"])).toBeGreaterThan(0);

        expect((await request(port, "/nope")).status).toBe(404);
        expect((await request(port, "/health/x")).status).toBe(404);
        expect((await request(port, "/nope", { method: "POST" })).status).toBe(404);

        const post = await request(port, "/", { method: "POST" });
        expect(post.status).toBe(405);
        expect(post.headers.allow).toBe("GET, HEAD");
        expect((await request(port, "/health", { method: "DELETE" })).status).toBe(405);
    });
});

// ---------------------------------------------------------------------------
// port selection
// ---------------------------------------------------------------------------

describe("port selection", () => {
    test("takes the next port when the first of the range is in use, and writes PORT_FILE", async () => {
        const blocker = await occupyPort();
        const env = baseEnv({ PORT: undefined, PORT_MIN: String(blocker.port), PORT_MAX: String(blocker.port + 20) });
        const { port, logs } = await startApp(env);
        expect(port).toBeGreaterThan(blocker.port);
        expect(port).toBeLessThanOrEqual(blocker.port + 20);
        expect(fs.readFileSync(env.PORT_FILE!, "utf8")).toBe(`${port}\n`);
        expect((await request(port, "/health")).status).toBe(200);
        expect(logs.join("\n")).toContain(`listening on 127.0.0.1:${port}`);
    });

    test("fails when the whole range is in use", async () => {
        const blocker = await occupyPort();
        const app = createApp({
            env: baseEnv({ PORT: undefined, PORT_MIN: String(blocker.port), PORT_MAX: String(blocker.port) }),
            log: () => {},
        });
        await expect(app.start()).rejects.toThrow(`no free port in ${blocker.port}..${blocker.port} on 127.0.0.1`);
    });

    test("PORT binds exactly that port, with no fallback", async () => {
        const free = await unusedPort();
        const { port } = await startApp(baseEnv({ PORT: String(free) }));
        expect(port).toBe(free);

        const blocker = await occupyPort();
        const app = createApp({ env: baseEnv({ PORT: String(blocker.port) }), log: () => {} });
        await expect(app.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
    });

    test("an unwritable PORT_FILE fails the start and leaves nothing listening", async () => {
        const app = createApp({ env: baseEnv({ PORT_FILE: path.join(tmp, "missing-dir", "web.port") }), log: () => {} });
        await expect(app.start()).rejects.toThrow(/cannot write PORT_FILE/);
        expect(app.server.listening).toBe(false);
    });
});

// ---------------------------------------------------------------------------
// Consul registration
// ---------------------------------------------------------------------------

describe("Consul registration", () => {
    test("registers through the agent with the token from the token file", async () => {
        const consul = await fakeConsul();
        const tokenFile = path.join(tmp, "consul-web-token");
        fs.writeFileSync(tokenFile, "s3cret-token\n");
        const { app, port, logs } = await startApp(
            baseEnv({ CONSUL_HTTP_ADDR: consul.addr, CONSUL_HTTP_TOKEN_FILE: tokenFile, CONSUL_HTTP_TOKEN: "env-token" }),
        );

        const [register] = await consul.waitFor("PUT", "/v1/agent/service/register");
        const [self] = consul.find("GET", "/v1/agent/self");
        expect(self.headers["x-consul-token"]).toBe("s3cret-token"); // the file wins over the variable
        expect(register.headers["x-consul-token"]).toBe("s3cret-token");
        expect(register.headers["content-type"]).toBe("application/json");
        expect(JSON.parse(register.body)).toEqual({
            ID: `web-web.1.abc-${port}`,
            Name: "web",
            Address: "10.1.2.3",
            Port: port,
            Tags: ["version-1.2.3"],
            // metrics_path: Prometheus' consul_sd exposes it as __meta_consul_service_metadata_metrics_path.
            Meta: { version: "1.2.3", task: "web.1.abc", metrics_path: "/metrics" },
            Check: {
                HTTP: `http://10.1.2.3:${port}/health`,
                Interval: "1s",
                Timeout: "1s",
                FailuresBeforeCritical: 3,
                DeregisterCriticalServiceAfter: "1m",
            },
        });
        expect(app.serviceId).toBe(`web-web.1.abc-${port}`);
        await waitUntil("registered log line", () => logs.find((l) => /consul: registered web id=/.test(l)));
        expect(logs.join("\n")).not.toContain("s3cret-token");
    });

    test("SERVICE_ADDRESS skips the agent lookup; CONSUL_HTTP_TOKEN and SERVICE_NAME are used", async () => {
        const consul = await fakeConsul();
        const { port, logs } = await startApp(
            baseEnv({
                CONSUL_HTTP_ADDR: `127.0.0.1:${consul.port}`,
                CONSUL_HTTP_TOKEN: "env-token",
                SERVICE_ADDRESS: "192.0.2.7",
                SERVICE_NAME: "api",
            }),
        );
        const [register] = await consul.waitFor("PUT", "/v1/agent/service/register");
        expect(consul.find("GET", "/v1/agent/self")).toHaveLength(0);
        expect(register.headers["x-consul-token"]).toBe("env-token");
        const body = JSON.parse(register.body);
        expect(body).toMatchObject({ ID: `api-web.1.abc-${port}`, Name: "api", Address: "192.0.2.7" });
        expect(body.Check.HTTP).toBe(`http://192.0.2.7:${port}/health`);
        expect(logs.join("\n")).not.toContain("env-token");
    });

    test("without a token no X-Consul-Token header is sent", async () => {
        const consul = await fakeConsul();
        await startApp(baseEnv({ CONSUL_HTTP_ADDR: consul.addr }));
        const [register] = await consul.waitFor("PUT", "/v1/agent/service/register");
        expect(register.headers).not.toHaveProperty("x-consul-token");
    });

    test("without CONSUL_HTTP_ADDR it just serves", async () => {
        const { app, port, logs } = await startApp(baseEnv());
        expect((await request(port, "/")).status).toBe(200);
        expect(app.serviceId).toBeNull();
        expect(logs.join("\n")).toContain("CONSUL_HTTP_ADDR not set");
    });

    test("keeps serving while the agent is unreachable, and registers once it appears", async () => {
        const agentPort = await unusedPort();
        const { port, logs } = await startApp(baseEnv({ CONSUL_HTTP_ADDR: `http://127.0.0.1:${agentPort}` }));
        await waitUntil("a failure log line", () =>
            logs.find((l) => /consul: registration failed \(.*ECONNREFUSED.*\); retrying in/.test(l)),
        );
        expect((await request(port, "/health")).status).toBe(200);

        const consul = await fakeConsul(undefined, agentPort);
        const [register] = await consul.waitFor("PUT", "/v1/agent/service/register");
        expect(JSON.parse(register.body).Port).toBe(port);
        await waitUntil("registered log line", () => logs.find((l) => l.includes("consul: registered")));
    });

    test("retries after an HTTP error from the agent (e.g. a bad token)", async () => {
        let registerCalls = 0;
        const consul = await fakeConsul((req) => {
            if (req.url === "/v1/agent/service/register" && ++registerCalls === 1) return { status: 403, body: "ACL not found" };
            return undefined;
        });
        const { logs } = await startApp(baseEnv({ CONSUL_HTTP_ADDR: consul.addr }));
        await consul.waitFor("PUT", "/v1/agent/service/register", 2);
        await waitUntil("registered log line", () => logs.find((l) => l.includes("consul: registered")));
        expect(logs.filter((l) => /registration failed \(.*HTTP 403 ACL not found\)/.test(l))).toHaveLength(1);
    });

    test("shutdown sends no deregister call when no register call was ever sent", async () => {
        const consul = await fakeConsul((req) => (req.url === "/v1/agent/self" ? { status: 500, body: "agent sick" } : undefined));
        const { app, logs } = await startApp(baseEnv({ CONSUL_HTTP_ADDR: consul.addr }));
        await waitUntil("two failures", () => logs.filter((l) => /registration failed \(.*HTTP 500 agent sick/.test(l)).length >= 2);
        await app.shutdown("test");
        expect(consul.find("PUT", "/v1/agent/service/")).toHaveLength(0);
    });

    test("a missing token file is retried too, and shutdown is not held up by the retry loop", async () => {
        const consul = await fakeConsul();
        const { app, logs } = await startApp(
            baseEnv({ CONSUL_HTTP_ADDR: consul.addr, CONSUL_HTTP_TOKEN_FILE: path.join(tmp, "no-such-token") }),
        );
        await waitUntil("two failures", () => logs.filter((l) => /registration failed \(.*ENOENT/.test(l)).length >= 2);
        const t0 = Date.now();
        await app.shutdown("test");
        expect(Date.now() - t0).toBeLessThan(500);
        expect(consul.requests).toHaveLength(0); // nothing was ever sent, so nothing to deregister
    });
});

// ---------------------------------------------------------------------------
// Prometheus metrics
// ---------------------------------------------------------------------------

describe("metrics", () => {
    test("GET /metrics answers in the Prometheus text format: the app's metrics and the process's", async () => {
        const { port } = await startApp(baseEnv());
        const { reply, samples, value } = await scrape(port);
        expect(reply.status).toBe(200);
        expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
        for (const [name, type] of [
            ["http_requests_total", "counter"],
            ["http_request_duration_seconds", "histogram"],
            ["http_requests_in_flight", "gauge"],
            ["web_draining", "gauge"],
            ["web_build_info", "gauge"],
        ]) {
            expect(reply.body).toMatch(new RegExp(`^# HELP ${name} \\S`, "m"));
            expect(reply.body).toContain(`\n# TYPE ${name} ${type}\n`);
        }
        expect(value("web_build_info", { version: "1.2.3" })).toBe(1);
        expect(samples.filter((s) => s.name === "web_build_info")).toHaveLength(1);
        expect(value("web_draining")).toBe(0);
        // prom-client's default metrics, collected once per process.
        for (const name of [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "nodejs_heap_size_used_bytes",
            "nodejs_eventloop_lag_p99_seconds",
        ]) {
            expect({ name, present: samples.some((s) => s.name === name) }).toEqual({ name, present: true });
        }
        // Buckets for a LAN service: 1 ms .. 2.5 s, then +Inf.
        expect(LATENCY_BUCKETS).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
        const les = samples
            .filter((s) => s.name === "http_request_duration_seconds_bucket" && s.labels.route === "/")
            .map((s) => s.labels.le);
        expect(les).toEqual([...LATENCY_BUCKETS.map(String), "+Inf"]);

        const head = await request(port, METRICS_PATH, { method: "HEAD" });
        expect([head.status, head.body]).toEqual([200, ""]);
        const post = await request(port, METRICS_PATH, { method: "POST" });
        expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
    });

    test("http_requests_total counts answers by route, method and status; any unknown path is route other", async () => {
        const { port } = await startApp(baseEnv());
        const before = await scrape(port);
        const count = (s: typeof before, route: string, method: string, status: string) =>
            s.value("http_requests_total", { route, method, status }) ?? 0;

        expect((await request(port, "/")).status).toBe(200);
        expect((await request(port, "/", { method: "HEAD" })).status).toBe(200);
        expect((await request(port, "/health")).status).toBe(200);
        expect((await request(port, "/nope?x=1")).status).toBe(404);
        expect((await request(port, "/secret/path")).status).toBe(404);
        expect((await request(port, "/", { method: "POST" })).status).toBe(405);
        expect((await request(port, "/health", { method: "DELETE" })).status).toBe(405);
        const after = await scrape(port);

        const delta = (route: string, method: string, status: string) =>
            count(after, route, method, status) - count(before, route, method, status);
        expect({
            "GET / 200": delta("/", "GET", "200"),
            "HEAD / 200": delta("/", "HEAD", "200"),
            "GET /health 200": delta("/health", "GET", "200"),
            "GET other 404": delta("other", "GET", "404"),
            "other / 405": delta("/", "other", "405"),
            "other /health 405": delta("/health", "other", "405"),
            "GET /metrics 200": delta("/metrics", "GET", "200"), // the first scrape, counted once it was answered
            "GET /health 503": delta("/health", "GET", "503"),
        }).toEqual({
            "GET / 200": 1,
            "HEAD / 200": 1,
            "GET /health 200": 1,
            "GET other 404": 2,
            "other / 405": 1,
            "other /health 405": 1,
            "GET /metrics 200": 1,
            "GET /health 503": 0,
        });
        // Bounded labels: the raw paths and methods never become label values.
        const series = after.samples.filter((s) => s.name === "http_requests_total");
        expect(new Set(series.map((s) => s.labels.route))).toEqual(new Set(["/", "/health", "/metrics", "other"]));
        expect(new Set(series.map((s) => s.labels.method))).toEqual(new Set(["GET", "HEAD", "other"]));
        expect(after.reply.body).not.toMatch(/nope|secret|POST|DELETE/);
    });

    test("the /health 503 series exists at 0 before the first drain, so increase() sees the first 503", async () => {
        const { port } = await startApp(baseEnv());
        const { value } = await scrape(port);
        expect(value("http_requests_total", { route: "/health", method: "GET", status: "503" })).toBe(0);
        expect(value("http_request_duration_seconds_count", { route: "/" })).toBe(0);
    });

    test("http_request_duration_seconds observes each request once, by route, in cumulative buckets", async () => {
        const { port } = await startApp(baseEnv());
        const before = await scrape(port);
        for (let i = 0; i < 3; i++) expect((await request(port, "/")).status).toBe(200);
        expect((await request(port, "/nope")).status).toBe(404);
        const after = await scrape(port);

        const observed = (route: string) =>
            after.value("http_request_duration_seconds_count", { route })! -
            before.value("http_request_duration_seconds_count", { route })!;
        expect({ "/": observed("/"), other: observed("other"), "/health": observed("/health") }).toEqual({
            "/": 3,
            other: 1,
            "/health": 0,
        });
        const took =
            after.value("http_request_duration_seconds_sum", { route: "/" })! -
            before.value("http_request_duration_seconds_sum", { route: "/" })!;
        expect(took).toBeGreaterThan(0);
        expect(took).toBeLessThan(3); // seconds, not milliseconds
        const buckets = after.samples
            .filter((s) => s.name === "http_request_duration_seconds_bucket" && s.labels.route === "/")
            .map((s) => s.value);
        expect(buckets[buckets.length - 1]).toBe(after.value("http_request_duration_seconds_count", { route: "/" }));
        expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    });

    test("http_requests_in_flight: a scrape counts itself while it is answered, and answered requests leave the gauge", async () => {
        // Keep-alive, so a request only leaves the gauge because its response is done, not because its socket closed.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        cleanups.push(() => agent.destroy());
        const { port } = await startApp(baseEnv());
        for (let i = 0; i < 3; i++) expect((await request(port, "/", { agent })).status).toBe(200);
        expect((await request(port, "/nope", { agent })).status).toBe(404);

        const first = await scrape(port, agent);
        expect(first.reply.reusedSocket).toBe(true);
        expect(first.value("http_requests_in_flight", { route: "/metrics" })).toBe(1);
        expect(first.value("http_requests_in_flight", { route: "/" })).toBe(0);
        expect(first.value("http_requests_in_flight", { route: "other" })).toBe(0);
        // The first scrape is done, so the second sees only itself.
        const second = await scrape(port, agent);
        expect(second.value("http_requests_in_flight", { route: "/metrics" })).toBe(1);
    });

    test("while draining, /metrics still answers: web_draining is 1 and /health's 503s are counted", async () => {
        const { app, port } = await startApp(baseEnv({ DRAIN_SECONDS: "0.5" }));
        expect((await scrape(port)).value("web_draining")).toBe(0);

        const done = app.shutdown("SIGTERM");
        expect((await request(port, "/health")).status).toBe(503);
        const during = await scrape(port);
        expect(during.reply.status).toBe(200);
        expect(during.reply.headers.connection).toBe("close");
        expect(during.value("web_draining")).toBe(1);
        expect(during.value("http_requests_total", { route: "/health", method: "GET", status: "503" })).toBe(1);
        expect(app.server.listening).toBe(true);
        await done;
    });

    test("app/package.json pins prom-client exactly, and the tests run the versions the image installs", () => {
        const appPackage = JSON.parse(fs.readFileSync(path.join(APP_DIR, "package.json"), "utf8"));
        const rootPackage = JSON.parse(fs.readFileSync(path.join(APP_DIR, "..", "package.json"), "utf8"));
        expect(appPackage.dependencies).toEqual({ "prom-client": "15.1.3" });
        expect(appPackage.devDependencies).toBeUndefined();
        expect(rootPackage.devDependencies["prom-client"]).toBe(appPackage.dependencies["prom-client"]);

        // Every package the image installs from app/package-lock.json is the one the root lock file gives the tests.
        const appLock = JSON.parse(fs.readFileSync(path.join(APP_DIR, "package-lock.json"), "utf8")).packages;
        const rootLock = JSON.parse(fs.readFileSync(path.join(APP_DIR, "..", "package-lock.json"), "utf8")).packages;
        const installed = Object.keys(appLock).filter((key) => key !== "");
        expect(installed.sort()).toEqual([
            "node_modules/@opentelemetry/api",
            "node_modules/bintrees",
            "node_modules/prom-client",
            "node_modules/tdigest",
        ]);
        for (const key of installed) {
            expect({ key, version: rootLock[key]?.version, integrity: rootLock[key]?.integrity }).toEqual({
                key,
                version: appLock[key].version,
                integrity: appLock[key].integrity,
            });
        }
        // ...and the copy server.js loads here is that version (not a stale install).
        const resolved = require.resolve("prom-client/package.json", { paths: [APP_DIR] });
        expect(JSON.parse(fs.readFileSync(resolved, "utf8")).version).toBe("15.1.3");

        // `npm ci` at the root installs exactly that lock file into app/node_modules, without dev
        // dependencies or install scripts (package.json "prepare"), and the image copies that tree.
        expect(rootPackage.scripts.prepare).toBe("npm ci --prefix app --omit=dev --ignore-scripts --no-audit --no-fund");
        const dockerfile = fs.readFileSync(path.join(APP_DIR, "..", "images/web/Dockerfile"), "utf8");
        expect(dockerfile).toMatch(/^COPY app\/node_modules \/app\/node_modules$/m);
        expect(dockerfile).not.toMatch(/^RUN .*npm/m);
        const installedHere = fs
            .readdirSync(path.join(APP_DIR, "node_modules"))
            .filter((f) => f !== ".package-lock.json")
            .sort();
        expect(installedHere).toEqual(["@opentelemetry", "bintrees", "prom-client", "tdigest"]);
    });
});

// ---------------------------------------------------------------------------
// graceful shutdown
// ---------------------------------------------------------------------------

describe("graceful shutdown", () => {
    test("health goes 503 before deregistering, then drains, then closes", async () => {
        let appPort = 0;
        const consul = await fakeConsul(async (req) => {
            // While the app waits for this deregister call, ask it how healthy it is.
            if (req.url.startsWith("/v1/agent/service/deregister/")) req.note = await request(appPort, "/health");
            return undefined;
        });
        const { app, port, logs } = await startApp(
            baseEnv({ CONSUL_HTTP_ADDR: consul.addr, CONSUL_HTTP_TOKEN: "tok", DRAIN_SECONDS: "0.3" }),
        );
        appPort = port;
        await consul.waitFor("PUT", "/v1/agent/service/register");

        const done = app.shutdown("SIGTERM");
        const [dereg] = await consul.waitFor("PUT", "/v1/agent/service/deregister/");
        expect(dereg.url).toBe(`/v1/agent/service/deregister/web-web.1.abc-${port}`);
        expect(dereg.headers["x-consul-token"]).toBe("tok");
        expect(dereg.note).toMatchObject({ status: 503, body: "draining\n" });

        // Draining: still serving, but telling every client to reconnect elsewhere.
        const during = await request(port, "/");
        expect(during.status).toBe(200);
        expect(during.headers.connection).toBe("close");
        expect((await request(port, "/health")).status).toBe(503);
        expect(app.server.listening).toBe(true);

        await done;
        expect(Date.now() - dereg.at).toBeGreaterThanOrEqual(280);
        expect(app.server.listening).toBe(false);
        await expect(request(port, "/")).rejects.toMatchObject({ code: "ECONNREFUSED" });
        expect(logs.join("\n")).toMatch(/SIGTERM: draining[\s\S]*consul: deregistered id=web-web\.1\.abc-\d+[\s\S]*stopped/);
    });

    test("a second shutdown call does not restart the sequence", async () => {
        const consul = await fakeConsul();
        const { app } = await startApp(baseEnv({ CONSUL_HTTP_ADDR: consul.addr, DRAIN_SECONDS: "0.1" }));
        await consul.waitFor("PUT", "/v1/agent/service/register");
        const first = app.shutdown("SIGTERM");
        const second = app.shutdown("SIGINT");
        expect(second).toBe(first);
        await first;
        expect(consul.find("PUT", "/v1/agent/service/deregister/")).toHaveLength(1);
    });

    test("a keep-alive connection gets Connection: close while draining, and idle ones are closed at stop", async () => {
        const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const busyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        cleanups.push(
            () => idleAgent.destroy(),
            () => busyAgent.destroy(),
        );
        const { app, port } = await startApp(baseEnv({ DRAIN_SECONDS: "0.3" }));

        // Two keep-alive connections; the first then just sits idle until the stop.
        expect((await request(port, "/", { agent: idleAgent })).headers.connection).toBe("keep-alive");
        expect((await request(port, "/", { agent: busyAgent })).headers.connection).toBe("keep-alive");
        const idleSocketClosed = new Promise((resolve) => Object.values(idleAgent.freeSockets)[0]![0].once("close", resolve));

        const spy = jest.spyOn(app.server, "closeIdleConnections");
        const done = app.shutdown("SIGTERM");
        const during = await request(port, "/", { agent: busyAgent });
        expect(during.reusedSocket).toBe(true);
        expect(during.headers.connection).toBe("close");

        // The idle socket must not hold the stop up until keepAliveTimeout (5 s) expires.
        const t0 = Date.now();
        await done;
        await idleSocketClosed;
        expect(Date.now() - t0).toBeLessThan(1500);
        // Node 20's close() calls this itself; Node 18's does not, and there the timing check above fails without it.
        expect(spy).toHaveBeenCalled();
    });

    test("a request in flight when the server closes is still answered", async () => {
        const { app, port } = await startApp(baseEnv({ DRAIN_SECONDS: "0.1" }));
        const sock = net.connect(port, "127.0.0.1");
        cleanups.push(() => sock.destroy());
        await new Promise((resolve) => sock.once("connect", resolve));
        let response = "";
        sock.on("data", (chunk) => (response += chunk));
        const ended = new Promise((resolve) => sock.once("end", resolve));
        sock.write("GET / HTTP/1.1\r\nHost: test\r\n"); // headers not finished yet
        await sleep(50);

        let stopped = false;
        const done = app.shutdown("SIGTERM").then(() => (stopped = true));
        await waitUntil("server to stop listening", () => !app.server.listening);
        await sleep(100);
        expect(stopped).toBe(false); // waiting for our request

        sock.write("\r\n");
        await ended;
        expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
        expect(response).toMatch(/connection: close/i);
        expect(response).toContain("task=web.1.abc");
        await done;
        expect(stopped).toBe(true);
    });
});

// ---------------------------------------------------------------------------
// signals and the process as a whole
// ---------------------------------------------------------------------------

describe("signal handling", () => {
    test("SIGTERM starts shutdown once and exits 0 when it completes", async () => {
        const proc = new EventEmitter();
        const exit = jest.fn();
        const logs: string[] = [];
        let finish: () => void = () => {};
        const fakeApp = { shutdown: jest.fn(() => new Promise<void>((resolve) => (finish = resolve))) };
        const uninstall = installSignalHandlers(fakeApp, { timeoutMs: 5000, log: (l) => logs.push(l), proc, exit });
        cleanups.push(uninstall);

        proc.emit("SIGTERM", "SIGTERM");
        proc.emit("SIGINT", "SIGINT");
        expect(fakeApp.shutdown).toHaveBeenCalledTimes(1);
        expect(fakeApp.shutdown).toHaveBeenCalledWith("SIGTERM");
        expect(logs.join("\n")).toContain("SIGINT received again");
        await sleep(20);
        expect(exit).not.toHaveBeenCalled();

        finish();
        await waitUntil("exit", () => exit.mock.calls.length > 0);
        expect(exit.mock.calls).toEqual([[0]]);
    });

    test("hard exit 1 when shutdown hangs past the timeout", async () => {
        const proc = new EventEmitter();
        const exit = jest.fn();
        const fakeApp = { shutdown: jest.fn(() => new Promise<void>(() => {})) };
        cleanups.push(installSignalHandlers(fakeApp, { timeoutMs: 100, log: () => {}, proc, exit }));
        proc.emit("SIGTERM", "SIGTERM");
        await sleep(50);
        expect(exit).not.toHaveBeenCalled();
        await waitUntil("exit", () => exit.mock.calls.length > 0);
        expect(exit.mock.calls).toEqual([[1]]);
    });

    test("node server.js: serves, and a real SIGTERM drains and exits 0", async () => {
        const portFile = path.join(tmp, "main.port");
        const result = await runNode(
            SERVER_JS,
            { BIND_ADDR: "127.0.0.1", PORT: "0", PORT_FILE: portFile, APP_VERSION: "9.9.9", TASK_NAME: "web.2.xyz", DRAIN_SECONDS: "0.1" },
            {
                onStart: (child) => {
                    void (async () => {
                        const port = Number(
                            await waitUntil("port file", () => fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8")),
                        );
                        const r = await request(port, "/");
                        expect(r.body).toContain("swarm-platform web 9.9.9 task=web.2.xyz");
                        child.kill("SIGTERM");
                    })().catch(() => child.kill("SIGKILL"));
                },
            },
        );
        expect(result.stdout).toMatch(/listening on 127\.0\.0\.1:\d+[\s\S]*SIGTERM: draining[\s\S]*stopped/);
        expect(result.code).toBe(0);
    });

    test("node server.js: after a real SIGTERM, /metrics still answers and shows web_draining 1", async () => {
        const portFile = path.join(tmp, "main-metrics.port");
        const seen: { before?: number; during?: number; status?: number } = {};
        const result = await runNode(
            SERVER_JS,
            { BIND_ADDR: "127.0.0.1", PORT: "0", PORT_FILE: portFile, APP_VERSION: "9.9.9", DRAIN_SECONDS: "1" },
            {
                onStart: (child) => {
                    let out = "";
                    child.stdout!.on("data", (chunk) => (out += chunk));
                    void (async () => {
                        const port = Number(
                            await waitUntil("port file", () => fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8")),
                        );
                        seen.before = (await scrape(port)).value("web_draining");
                        child.kill("SIGTERM");
                        await waitUntil("draining log line", () => out.includes("SIGTERM: draining"));
                        const during = await scrape(port);
                        seen.status = during.reply.status;
                        seen.during = during.value("web_draining");
                    })().catch(() => child.kill("SIGKILL"));
                },
            },
        );
        expect(seen).toEqual({ before: 0, status: 200, during: 1 });
        expect(result.code).toBe(0);
    });

    test("node server.js: a configuration error exits 1 with a message", async () => {
        const result = await runNode(SERVER_JS, { PORT_MIN: "300", PORT_MAX: "200" });
        expect(result.code).toBe(1);
        expect(result.stdout).toContain("configuration error: PORT_MIN (300) is greater than PORT_MAX (200)");
    });
});

// ---------------------------------------------------------------------------
// healthcheck.sh (the Docker HEALTHCHECK command)
// ---------------------------------------------------------------------------

/** app/healthcheck.sh as Docker runs it in the image: `bash /app/healthcheck.sh`. */
function runHealthcheck(env: Record<string, string | undefined>) {
    return runNode(HEALTHCHECK_SH, env, { interpreter: "bash" });
}

describe("healthcheck.sh", () => {
    test("passes shellcheck", () => {
        expect(shellcheck(fs.readFileSync(HEALTHCHECK_SH, "utf8"), "bash")).toBe("");
    });

    test("exits 0 when /health answers 200", async () => {
        const env = baseEnv();
        await startApp(env);
        const r = await runHealthcheck({ PORT_FILE: env.PORT_FILE, BIND_ADDR: "0.0.0.0" });
        expect(r.stdout.trim()).toBe("ok");
        expect(r.code).toBe(0);
    });

    test("exits 1 while the app is draining (503)", async () => {
        const env = baseEnv({ DRAIN_SECONDS: "1" });
        const { app } = await startApp(env);
        const done = app.shutdown("test");
        const r = await runHealthcheck({ PORT_FILE: env.PORT_FILE });
        expect(r.stdout.trim()).toBe("/health answered 503");
        expect(r.code).toBe(1);
        await done;
    });

    test("exits 1 without a port file, or when nothing listens on the port", async () => {
        const missing = await runHealthcheck({ PORT_FILE: path.join(tmp, "nope.port") });
        expect(missing.code).toBe(1);
        expect(missing.stdout).toMatch(/^cannot read .*nope\.port: .*No such file or directory$/m);

        const portFile = path.join(tmp, "dead.port");
        fs.writeFileSync(portFile, `${await unusedPort()}\n`);
        const dead = await runHealthcheck({ PORT_FILE: portFile });
        expect(dead.code).toBe(1);
        expect(dead.stdout.trim()).toMatch(/^request failed: cannot connect to 127\.0\.0\.1:\d+$/);

        for (const bad of ["garbage", "0", "65536", "80 80"]) {
            fs.writeFileSync(portFile, `${bad}\n`);
            const r = await runHealthcheck({ PORT_FILE: portFile });
            expect({ bad, code: r.code, out: r.stdout.trim() }).toEqual({ bad, code: 1, out: `${portFile} does not hold a port number` });
        }
    });

    test("exits 1 when the connection closes without an answer", async () => {
        const closing = net.createServer((sock) => sock.destroy()); // accepts, closes at once
        await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", () => resolve()));
        cleanups.push(() => new Promise((resolve) => closing.close(resolve)));
        const portFile = path.join(tmp, "closing.port");
        fs.writeFileSync(portFile, `${(closing.address() as net.AddressInfo).port}\n`);
        const r = await runHealthcheck({ PORT_FILE: portFile });
        // Whether the reset comes before or after the request is written is the kernel's race.
        expect(r.code).toBe(1);
        expect(r.stdout.trim()).toMatch(/^request failed: connection closed (before the request was sent|without an answer)$/);
    });

    test("exits 1 after the timeout when the app does not answer", async () => {
        const sockets: net.Socket[] = [];
        const silent = net.createServer((sock) => sockets.push(sock)); // accepts, never answers
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
        cleanups.push(() => {
            sockets.forEach((s) => s.destroy());
            return new Promise((resolve) => silent.close(resolve));
        });
        const portFile = path.join(tmp, "silent.port");
        fs.writeFileSync(portFile, `${(silent.address() as net.AddressInfo).port}\n`);

        const r = await runHealthcheck({ PORT_FILE: portFile, HEALTHCHECK_TIMEOUT_SECONDS: "0.3" });
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("no answer within 0.3s");
        expect(r.ms).toBeLessThan(2000);
    });
});
