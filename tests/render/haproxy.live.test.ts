/**
 * render/haproxy.ts, slow set (`npm test` only, not run per mutant): the real HAProxy 2.6 on the
 * rendered text (content rules are in haproxy.test.ts).
 *
 * Every rendered config goes through `haproxy -c -f FILE` (exit 0, no warnings).
 * One functional suite runs the rendered haproxy.cfg for real against a fake
 * Consul DNS server (SRV + A in the additional section, Consul's shape) and two
 * local HTTP backends, to prove discovery, retries (GET replayed, POST not),
 * drain through the runtime socket and the deregistration lag. Another runs the
 * rendered edge config against an upstream that resets connections the way a new
 * VIP holder does (an answer is still delivered, a GET is replayed, a POST is not).
 * Missing binaries fail the suite (no skipping): `apt-get install haproxy keepalived`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";

import {
    DEFAULT_HAPROXY_DNS_TIMINGS,
    LB_MONITOR_URI,
    haproxyDeregistrationLagMs,
    renderEdgeConfig,
    renderHaproxyConfig,
    type EdgeConfigInput,
    type HaproxyConfigInput,
} from "../../render/haproxy";
import * as tlsMock from "../harness/tls";
import { freePort } from "../harness/net";

const INSTALL_HINT = "run `apt-get install -y haproxy keepalived` (Debian 12: HAProxy 2.6, keepalived 2.2.7)";

function requireHaproxy(): void {
    const r = spawnSync("haproxy", ["-v"], { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) {
        throw new Error(`haproxy binary not found or not runnable (${r.error?.message ?? `exit ${r.status}`}): ${INSTALL_HINT}`);
    }
}

let tmpRoot = "";
beforeAll(() => {
    requireHaproxy();
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "render-haproxy-"));
});
afterAll(() => {
    if (tmpRoot !== "") fs.rmSync(tmpRoot, { recursive: true, force: true });
});

let fileCounter = 0;
function writeConfig(text: string, name = "haproxy.cfg"): string {
    // Jest still runs the suites' hooks when the top-level beforeAll failed (no haproxy): never write into the cwd then.
    if (tmpRoot === "") throw new Error("no temp dir for configs (see the first error: is haproxy installed?)");
    const file = path.join(tmpRoot, `${fileCounter++}-${name}`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
}

/** `haproxy -c -f FILE` on the text; returns the checker's combined output. Fails the test unless exit 0. */
function haproxyCheck(text: string): string {
    const file = writeConfig(text);
    expect(fs.existsSync(file)).toBe(true);
    const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    const output = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`haproxy -c -f ${file} exited ${r.status}:\n${output}\n--- config ---\n${text}`);
    return output;
}

function expectCleanCheck(text: string): void {
    const output = haproxyCheck(text);
    expect(output).toContain("Configuration file is valid");
    expect(output).not.toMatch(/\[(WARNING|ALERT)\]/);
}

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

describe("renderHaproxyConfig: the real checker", () => {
    test("the default node config passes haproxy -c without warnings", () => {
        expectCleanCheck(renderHaproxyConfig(baseInput));
    });

    test("an IPv6 Consul DNS address and a password full of config metacharacters pass haproxy -c", () => {
        expectCleanCheck(
            renderHaproxyConfig({
                ...baseInput,
                statsPassword: `a b#c$HOME'd"e\\f:g`,
                dns: { address: "::1", port: 8600 },
                maxConn: 20000,
                dnsTimings: { resolvePeriodMs: 200, holdObsoleteMs: 0 },
            }),
        );
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
    const cfg = renderEdgeConfig(edgeInput);

    test("passes haproxy -c without warnings", () => {
        expectCleanCheck(cfg);
    });

    test("hostname upstreams that do not resolve yet still pass haproxy -c (server starts in MAINT)", () => {
        const out = haproxyCheck(
            renderEdgeConfig({
                listeners: [
                    {
                        name: "consul-ui",
                        bindPort: 8500,
                        upstreams: [{ name: "consul-0", address: "no-such-host.invalid", port: 8500 }],
                        check: true,
                    },
                ],
            }),
        );
        expect(out).toContain("Configuration file is valid");
    });
});

// ---------------------------------------------------------------------------------------------
// Functional: the rendered haproxy.cfg, run for real against a fake Consul DNS and two backends.
// ---------------------------------------------------------------------------------------------

interface SrvTarget {
    readonly host: string; // e.g. "good.node.dc1.consul"
    readonly ip: string;
    readonly port: number;
}

/** Minimal DNS server with Consul's SRV answer shape: SRV answers + A records in the additional section. */
class FakeConsulDns {
    private targets: SrvTarget[] = [];
    private readonly socket = dgram.createSocket("udp4");
    constructor(private readonly srvName: string) {
        this.socket.on("message", (msg, rinfo) => {
            const reply = this.answer(msg);
            if (reply !== undefined) this.socket.send(reply, rinfo.port, rinfo.address);
        });
    }
    async listen(): Promise<number> {
        await new Promise<void>((resolve) => this.socket.bind(0, "127.0.0.1", resolve));
        return this.socket.address().port;
    }
    setTargets(targets: readonly SrvTarget[]): void {
        this.targets = [...targets];
    }
    close(): void {
        this.socket.close();
    }
    private answer(q: Buffer): Buffer | undefined {
        if (q.length < 17) return undefined;
        let off = 12;
        const labels: string[] = [];
        while (off < q.length && q[off] !== 0) {
            labels.push(q.subarray(off + 1, off + 1 + q[off]).toString("ascii"));
            off += q[off] + 1;
        }
        const qEnd = off + 5; // zero label + qtype + qclass
        const qtype = q.readUInt16BE(off + 1);
        const name = labels.join(".").toLowerCase();
        const header = Buffer.alloc(12);
        q.copy(header, 0, 0, 2); // id
        const question = q.subarray(12, qEnd);
        const answers: Buffer[] = [];
        const additional: Buffer[] = [];
        if (qtype === 33 && name === this.srvName) {
            for (const t of this.targets) {
                const target = encodeName(t.host);
                const rdata = Buffer.concat([u16(1), u16(1), u16(t.port), target]);
                answers.push(Buffer.concat([u16(0xc00c), u16(33), u16(1), u32(0), u16(rdata.length), rdata]));
                additional.push(Buffer.concat([target, u16(1), u16(1), u32(0), u16(4), Buffer.from(t.ip.split(".").map(Number))]));
            }
        } else if (qtype === 1) {
            for (const t of this.targets.filter((x) => x.host === name)) {
                answers.push(Buffer.concat([u16(0xc00c), u16(1), u16(1), u32(0), u16(4), Buffer.from(t.ip.split(".").map(Number))]));
            }
        }
        const nx = answers.length === 0;
        header.writeUInt16BE(0x8400 | (nx ? 3 : 0), 2); // QR + AA (+ NXDOMAIN)
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(answers.length, 6);
        header.writeUInt16BE(0, 8);
        header.writeUInt16BE(additional.length, 10);
        return Buffer.concat([header, question, ...answers, ...additional]);
    }
}

function u16(n: number): Buffer {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
}
function u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
}
function encodeName(host: string): Buffer {
    return Buffer.concat([
        ...host.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
        Buffer.from([0]),
    ]);
}

interface Reply {
    readonly status: number;
    readonly body: string;
    readonly headers: http.IncomingHttpHeaders;
}

/** One request on a new connection; with `tlsOptions` it is HTTPS (verified against their `ca`). */
function request(port: number, method: string, urlPath: string, auth?: string, tlsOptions?: https.RequestOptions): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const options = { host: "127.0.0.1", port, method, path: urlPath, agent: false, timeout: 2000, auth, ...tlsOptions };
        const onResponse = (res: http.IncomingMessage) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        };
        const req = tlsOptions === undefined ? http.request(options, onResponse) : https.request(options, onResponse);
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(method === "POST" ? "payload" : undefined);
    });
}

function runtimeCommand(socketPath: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const c = net.createConnection(socketPath);
        let out = "";
        c.setEncoding("utf8");
        c.on("connect", () => c.end(`${command}\n`));
        c.on("data", (d: string) => (out += d));
        c.on("end", () => resolve(out));
        c.on("error", reject);
    });
}

/** `show servers state` rows of the backend: server name → address ("-" when the slot is empty). */
async function serverAddresses(socketPath: string, backend: string): Promise<Map<string, string>> {
    const out = await runtimeCommand(socketPath, `show servers state ${backend}`);
    const map = new Map<string, string>();
    for (const line of out.split("\n")) {
        const f = line.split(" ");
        if (f.length > 5 && f[1] === backend) map.set(f[3], f[4]);
    }
    return map;
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
    const start = Date.now();
    for (;;) {
        if (await probe().catch(() => false)) return Date.now() - start;
        if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** A rendered config running in a real HAProxy (foreground), with its output kept for failure messages. */
class RunningHaproxy {
    private output = "";
    private readonly child: ChildProcess;
    constructor(text: string, name: string) {
        // Dropping privileges needs root; the functional checks do not depend on it.
        const config = process.getuid?.() !== 0 ? text.replace(/^ {4}(user|group) haproxy\n/gm, "") : text;
        this.child = spawn("haproxy", ["-db", "-f", writeConfig(config, name)], { stdio: ["ignore", "pipe", "pipe"] });
        this.child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
        this.child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    }
    log(): string {
        return this.output;
    }
    async stop(): Promise<void> {
        if (this.child.exitCode !== null) return;
        const exited = new Promise((r) => this.child.once("exit", r));
        this.child.kill("SIGTERM");
        await exited;
    }
}

describe("renderHaproxyConfig: the rendered config, run for real", () => {
    const hits = { good: { GET: 0, POST: 0 }, crashy: { GET: 0, POST: 0 } };
    let good: http.Server;
    let crashy: http.Server;
    let dns: FakeConsulDns;
    let haproxy: RunningHaproxy | undefined;
    let webPort = 0;
    let statsPort = 0;
    let socketPath = "";
    let goodTarget: SrvTarget;
    let crashyTarget: SrvTarget;
    const password = `p'w #$x`;

    const startBackend = async (name: "good" | "crashy"): Promise<http.Server> => {
        const srv = http.createServer((req, res) => {
            if (req.url === "/health") {
                res.end("ok");
                return;
            }
            const method = req.method === "POST" ? "POST" : "GET";
            hits[name][method] += 1;
            req.resume();
            // crashy: health is fine, but every real request dies without a response (an empty response).
            if (name === "crashy") req.socket.destroy();
            else req.on("end", () => res.end(name));
        });
        await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
        return srv;
    };

    beforeAll(async () => {
        good = await startBackend("good");
        crashy = await startBackend("crashy");
        goodTarget = { host: "good.node.dc1.consul", ip: "127.0.0.1", port: (good.address() as net.AddressInfo).port };
        crashyTarget = { host: "crashy.node.dc1.consul", ip: "127.0.0.1", port: (crashy.address() as net.AddressInfo).port };
        dns = new FakeConsulDns("_web._tcp.service.consul");
        dns.setTargets([goodTarget, crashyTarget]);
        const dnsPort = await dns.listen();
        webPort = await freePort();
        statsPort = await freePort();
        const runDir = fs.mkdtempSync(path.join(tmpRoot, "run-"));
        socketPath = path.join(runDir, "admin.sock");
        const text = renderHaproxyConfig({
            ...baseInput,
            nodeName: "lb-test",
            webPort,
            statsPort,
            statsPassword: password,
            service: { ...baseInput.service, maxServers: 4 },
            dns: { address: "127.0.0.1", port: dnsPort },
            runtimeSocket: socketPath,
        });
        haproxy = new RunningHaproxy(text, "functional.cfg");
        await waitFor(
            "haproxy to answer its monitor URI",
            5000,
            async () => (await request(webPort, "GET", LB_MONITOR_URI)).status === 200,
        );
        await waitFor("both SRV targets in the backend", 5000, async () => {
            const addrs = [...(await serverAddresses(socketPath, "web")).values()];
            return addrs.filter((a) => a === "127.0.0.1").length === 2;
        });
    }, 20000);

    afterAll(async () => {
        await haproxy?.stop();
        dns?.close();
        await Promise.all([good, crashy].filter((s) => s !== undefined).map((s) => new Promise((r) => s.close(r))));
    });

    const dump = (): string => `\n--- haproxy output ---\n${haproxy?.log() ?? ""}`;

    test("the monitor URI answers 200 from HAProxy itself, naming the LB node", async () => {
        const r = await request(webPort, "GET", LB_MONITOR_URI);
        expect(r.status).toBe(200);
        expect(r.headers["x-lb-node"]).toBe("lb-test");
    });

    test("GETs are replayed on another server after an empty response: every GET succeeds", async () => {
        const before = hits.crashy.GET;
        for (let i = 0; i < 12; i++) {
            const r = await request(webPort, "GET", `/item/${i}`);
            expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: "good" });
            expect(r.headers["x-lb-node"]).toBe("lb-test");
        }
        // Round-robin sent some of them to crashy first: those were retried, not failed.
        expect(hits.crashy.GET - before).toBeGreaterThan(0);
    });

    test("POSTs are never replayed: each reaches one server once; the ones crashy swallowed fail", async () => {
        const before = { good: hits.good.POST, crashy: hits.crashy.POST };
        let failed = 0;
        const n = 12;
        for (let i = 0; i < n; i++) {
            const r = await request(webPort, "POST", `/order/${i}`);
            if (r.status !== 200) failed += 1;
        }
        const toCrashy = hits.crashy.POST - before.crashy;
        const toGood = hits.good.POST - before.good;
        expect(toCrashy + toGood).toBe(n);
        expect(toCrashy).toBeGreaterThan(0);
        expect(failed).toBe(toCrashy);
    });

    test("the runtime socket is mode 600 and drains a server: drained servers get no new requests", async () => {
        expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
        const addrs = await serverAddresses(socketPath, "web");
        expect([...addrs.keys()]).toEqual(["web1", "web2", "web3", "web4"]);
        const state = await runtimeCommand(socketPath, `show servers state web`);
        const crashySlot = state
            .split("\n")
            .map((l) => l.split(" "))
            .find((f) => f[1] === "web" && f[18] === String(crashyTarget.port))?.[3];
        expect(crashySlot).toBeDefined();
        expect((await runtimeCommand(socketPath, `set server web/${crashySlot} state drain`)).trim()).toBe("");
        try {
            const before = hits.crashy.POST;
            for (let i = 0; i < 6; i++) expect((await request(webPort, "POST", `/drained/${i}`)).status).toBe(200);
            expect(hits.crashy.POST).toBe(before);
        } finally {
            await runtimeCommand(socketPath, `set server web/${crashySlot} state ready`);
        }
    });

    test("the stats page needs the password (quoted metacharacters work) and is served", async () => {
        expect((await request(statsPort, "GET", "/")).status).toBe(401);
        expect((await request(statsPort, "GET", "/", "admin:wrong")).status).toBe(401);
        const ok = await request(statsPort, "GET", "/;csv", `admin:${password}`);
        expect(ok.status).toBe(200);
        expect(ok.body).toContain("web,web1,");
    });

    test("a server that leaves Consul DNS leaves the backend within the documented lag", async () => {
        const slotsOf = async (): Promise<number> =>
            [...(await serverAddresses(socketPath, "web")).values()].filter((a) => a === "127.0.0.1").length;
        expect(await slotsOf()).toBe(2);
        dns.setTargets([goodTarget]);
        const took = await waitFor("the deregistered server to leave", 5000, async () => (await slotsOf()) === 1);
        expect(took).toBeLessThanOrEqual(haproxyDeregistrationLagMs() + 500);
        // hold obsolete > 0: it does not vanish with the first answer that lacks it (that answer can
        // come at most one period after the last one that listed it).
        expect(took).toBeGreaterThanOrEqual(DEFAULT_HAPROXY_DNS_TIMINGS.holdObsoleteMs - DEFAULT_HAPROXY_DNS_TIMINGS.resolvePeriodMs);
        for (let i = 0; i < 4; i++) expect((await request(webPort, "POST", `/after/${i}`)).status).toBe(200);
    }, 10000);

    afterAll(() => {
        if (process.env.SHOW_HAPROXY_LOG === "1") process.stdout.write(dump());
    });
});

// ---------------------------------------------------------------------------------------------
// Functional: the rendered edge config, run for real against an upstream that behaves like a VIP
// holder during a handover (its connections are reset by the new holder).
// ---------------------------------------------------------------------------------------------

describe("renderEdgeConfig: the rendered config, run for real", () => {
    /** How the upstream treats the next connection. */
    type Behaviour = "answer" | "answer-then-reset" | "reset-before-answer";
    let next: () => Behaviour = () => "answer";
    const seen = { GET: 0, POST: 0 };
    let upstream: net.Server;
    let haproxy: RunningHaproxy | undefined;
    let edgePort = 0;

    beforeAll(async () => {
        // Raw TCP, so the test controls exactly when the RST goes out: after a complete answer
        // (the new VIP holder resetting the edge's ACK), or instead of any answer.
        upstream = net.createServer((socket) => {
            let head = "";
            socket.on("data", (d) => {
                head += d.toString("latin1");
                if (!head.includes("\r\n\r\n")) return;
                const method = head.startsWith("POST") ? "POST" : "GET";
                seen[method] += 1;
                const behaviour = next();
                if (behaviour === "reset-before-answer") {
                    socket.resetAndDestroy();
                    return;
                }
                const body = "ok";
                const answer = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
                if (behaviour === "answer") socket.end(answer);
                else {
                    socket.write(answer);
                    socket.resetAndDestroy();
                }
            });
            socket.on("error", () => undefined);
        });
        await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
        edgePort = await freePort();
        const text = renderEdgeConfig({
            listeners: [
                {
                    name: "web",
                    bindPort: edgePort,
                    upstreams: [{ name: "vip", address: "127.0.0.1", port: (upstream.address() as net.AddressInfo).port }],
                    check: false,
                },
            ],
        });
        haproxy = new RunningHaproxy(text, "edge.cfg");
        await waitFor("the edge to forward", 5000, async () => (await request(edgePort, "GET", "/")).status === 200);
    }, 20000);

    afterAll(async () => {
        await haproxy?.stop();
        await new Promise((r) => upstream?.close(r));
    });

    const dump = (): string => `\n--- edge output ---\n${haproxy?.log() ?? ""}`;

    test("an answer that arrived complete is delivered even when the upstream resets right after it", async () => {
        next = () => "answer-then-reset";
        const outcomes: string[] = [];
        for (let i = 0; i < 100; i++) {
            const r = await request(edgePort, "GET", `/item/${i}`).then(
                (x) => `${x.status} ${x.body}`,
                (e: Error) => e.message,
            );
            outcomes.push(r);
        }
        const bad = outcomes.filter((o) => o !== "200 ok");
        expect({ bad: bad.slice(0, 5), count: bad.length, log: bad.length > 0 ? dump() : "" }).toEqual({ bad: [], count: 0, log: "" });
    });

    test("a GET reset before any answer is replayed; a POST is not (it reached the upstream once and fails)", async () => {
        let n = 0;
        next = () => (n++ % 2 === 0 ? "reset-before-answer" : "answer");
        const before = { ...seen };
        const get = await request(edgePort, "GET", "/again");
        expect({ status: get.status, body: get.body }).toEqual({ status: 200, body: "ok" });
        expect(seen.GET - before.GET).toBe(2);

        n = 0;
        const post = await request(edgePort, "POST", "/order");
        expect(post.status).toBe(502);
        expect(seen.POST - before.POST).toBe(1);
    });
});

// ---------------------------------------------------------------------------------------------
// The edge terminating TLS: the rendered config with a real certificate (from the shared tls mock)
// passes haproxy -c, serves HTTPS a client verifies against the CA, redirects plain HTTP, and refuses
// what Mozilla's intermediate profile leaves out (TLS 1.1, CBC suites).
// ---------------------------------------------------------------------------------------------

describe("renderEdgeConfig with TLS: run for real with a generated certificate", () => {
    let upstream: http.Server;
    let haproxy: RunningHaproxy | undefined;
    let httpsPort = 0;
    let httpPort = 0;
    let caPem = "";
    let text = "";
    const seenProto: (string | undefined)[] = [];

    beforeAll(async () => {
        const caKey = tlsMock.privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        caPem = tlsMock.selfSignedCert({
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: "edge test CA" },
            isCaCertificate: true,
            validityPeriodHours: 24,
            allowedUses: ["cert_signing"],
        }).certPem;
        const key = tlsMock.privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const csr = tlsMock.certRequest({
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "localhost" },
            dnsNames: ["localhost"],
            ipAddresses: ["127.0.0.1"],
        });
        const leaf = tlsMock.locallySignedCert({
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: caPem,
            validityPeriodHours: 24,
            allowedUses: ["digital_signature", "server_auth"],
        }).certPem;
        const crtPath = writeConfig(`${leaf}${key.privateKeyPem}`, "edge.pem");
        upstream = http.createServer((req, res) => {
            seenProto.push(req.headers["x-forwarded-proto"] as string | undefined);
            res.end("ok");
        });
        await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
        httpsPort = await freePort();
        httpPort = await freePort();
        text = renderEdgeConfig({
            listeners: [
                {
                    name: "web",
                    bindPort: httpsPort,
                    upstreams: [{ name: "vip", address: "127.0.0.1", port: (upstream.address() as net.AddressInfo).port }],
                    check: false,
                    tls: { crtPath, redirect: { bindPort: httpPort, httpsPort } },
                },
            ],
        });
        haproxy = new RunningHaproxy(text, "edge-tls.cfg");
        await waitFor(
            "the edge to serve HTTPS",
            5000,
            async () => (await request(httpsPort, "GET", "/", undefined, { ca: caPem })).status === 200,
        );
    }, 20000);

    afterAll(async () => {
        await haproxy?.stop();
        await new Promise((r) => upstream?.close(r));
    });

    test("passes haproxy -c without warnings, with the certificate present", () => {
        expectCleanCheck(text);
    });

    test("serves HTTPS that verifies against the CA (for 127.0.0.1 and localhost), telling the upstream the scheme", async () => {
        const r = await request(httpsPort, "GET", "/a", undefined, { ca: caPem });
        expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: "ok" });
        expect((await request(httpsPort, "GET", "/b", undefined, { ca: caPem, servername: "localhost" })).status).toBe(200);
        expect(seenProto.at(-1)).toBe("https");
        // Without the CA the chain does not verify: the certificate is the generated one, not a public CA's.
        await expect(request(httpsPort, "GET", "/c", undefined, {})).rejects.toThrow(/self[- ]signed|unable to verify/i);
    });

    test("plain HTTP gets a 301 to the HTTPS port, host, path and query kept, and never reaches the upstream", async () => {
        const before = seenProto.length;
        const r = await request(httpPort, "GET", "/path/x?q=1");
        expect(r.status).toBe(301);
        expect(r.headers.location).toBe(`https://127.0.0.1:${httpsPort}/path/x?q=1`);
        expect(seenProto.length).toBe(before);
    });

    test("TLS 1.2 with an AEAD suite and TLS 1.3 are accepted; TLS 1.1 and a CBC suite are refused by the server", async () => {
        const handshake = (opts: tls.ConnectionOptions) =>
            new Promise<string>((resolve, reject) => {
                const c = tls.connect({ host: "127.0.0.1", port: httpsPort, ca: caPem, ...opts }, () => {
                    const v = c.getProtocol() ?? "";
                    c.end();
                    resolve(v);
                });
                c.on("error", reject);
            });
        expect(await handshake({ maxVersion: "TLSv1.3", minVersion: "TLSv1.3" })).toBe("TLSv1.3");
        expect(await handshake({ maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" })).toBe("TLSv1.2");
        // The client allows them (security level 0); the server's alert refuses them.
        await expect(handshake({ maxVersion: "TLSv1.1", minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" })).rejects.toThrow(
            /alert protocol version/i,
        );
        await expect(handshake({ maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-SHA256" })).rejects.toThrow(/handshake failure/i);
    });
});
