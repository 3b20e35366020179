"use strict";
// Stand-in for a Consul client agent's HTTP API (tests/system, the swarm suite): what a web task
// running under Swarm on a swarm node talks to at 127.0.0.1:8500 (app/server.js). Consul cannot be
// installed here; this answers the calls the app makes, the way the agent does, including its ACLs:
//
//   GET  /v1/agent/self                      agent:read on this node     → Config + Member (.Addr)
//   PUT  /v1/agent/service/register          service:write on the name   → stores the registration
//   PUT  /v1/agent/service/deregister/<id>   service:write on its name   → drops it
//   GET  /v1/catalog/services, /v1/catalog/service/<name>   (with CATALOG_FILE: the Prometheus
//        node's agent, read by its discovery bridge) → the harness's catalog, filtered by the token
//
// A request whose token (X-Consul-Token) the ACL policies do not allow gets 403 "Permission
// denied", as from Consul with `default_policy = "deny"`. The policies and tokens are the ones the
// program's ACL bootstrap script creates (the harness parses them from the graph and passes them in
// ACL_FILE); rules are matched like Consul's: an exact rule beats a prefix rule, the longest prefix
// wins, no rule = deny.
//
// For the harness only (not a Consul endpoint): GET /_standin/registrations?index=N&boot=B&wait=S
// answers when the registrations differ from index N of this run B of the stand-in (a blocking
// query, at most S seconds), with {index, boot, registrations: [...], calls: [...]} — so the harness
// feeds its catalog without polling, and sees a restarted stand-in (new boot) at once.
//
// Runs in the swarm node's network namespace (`docker run --network container:<node>`), on
// 0.0.0.0:8500: the app reaches it on 127.0.0.1 like the agent, the harness on the node's address.
// Environment: NODE_NAME, NODE_ADDR, DATACENTER, ACL_FILE (JSON {policies: {name: rules}, tokens:
// {secret: [policy names]}}), PORT (default 8500), CATALOG_FILE (a JSON array of catalog entries in
// the shape of GET /v1/catalog/service/<name>; tests/system/catalog.ts writes it).
//
// As a Consul SERVER's API (tests/system/consulTls.test.ts), with CONSUL_CONFIG = the server's
// rendered config (server.json from the graph): its TLS listener is the server's — `ports.https`,
// the CA, certificate and key the config names (the files the graph gives the server), and the
// config's `tls.defaults.verify_incoming` as Node's requestCert + rejectUnauthorized, so a client
// without a certificate of the CA fails the handshake as it does against Consul; plain HTTP on the
// config's `addresses.http` (127.0.0.1 in enforce). It also answers what the program's server
// scripts ask (through tests/system/consul/consul-https, a `consul` CLI that speaks this API with
// curl): GET /v1/status/leader, /v1/acl/policy/name/<n>, /v1/acl/token/<accessor>, PUT
// /v1/acl/policy and /v1/acl/token — the ACL ones only with the config's initial management token
// (else 403, as Consul). For the harness: GET /_standin/acl lists what was created.
const http = require("http");
const https = require("https");
const fs = require("fs");

const SERVER = process.env.CONSUL_CONFIG ? JSON.parse(fs.readFileSync(process.env.CONSUL_CONFIG, "utf8")) : undefined;
const NODE_NAME = SERVER ? SERVER.node_name : required("NODE_NAME");
const NODE_ADDR = SERVER ? SERVER.advertise_addr : required("NODE_ADDR");
const DATACENTER = SERVER ? SERVER.datacenter : process.env.DATACENTER || "dc1";
const PORT = Number(process.env.PORT || (SERVER && SERVER.ports && SERVER.ports.http) || 8500);
const acl = SERVER ? { policies: {}, tokens: {} } : JSON.parse(fs.readFileSync(required("ACL_FILE"), "utf8"));
/** The catalog as Consul's catalog API lists it (the harness writes it; the Prometheus node's agent serves it). */
const CATALOG_FILE = process.env.CATALOG_FILE || undefined;
/** What the program's ACL bootstrap created on this server (server role). */
const created = { policies: {}, tokens: {} };

function required(name) {
    const v = process.env[name];
    if (!v) {
        console.error(`agent-api: ${name} is required`);
        process.exit(64);
    }
    return v;
}

/** HCL rules of the shape the program renders: `<kind> "<name>" { policy = "<level>" }`. */
function parseRules(text) {
    const rules = [];
    const re = /([a-z_]+)\s+"([^"]*)"\s*\{\s*policy\s*=\s*"(\w+)"\s*\}/g;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) rules.push({ kind: m[1], name: m[2], level: m[3] });
    return rules;
}
const policies = Object.fromEntries(Object.entries(acl.policies).map(([name, text]) => [name, parseRules(text)]));

const LEVELS = { deny: 0, read: 1, write: 2 };

/** Does `token` grant `level` on `resource` ("agent", "service", "node") named `name`? */
function allowed(token, resource, name, level) {
    const names = acl.tokens[token];
    if (names === undefined) return false;
    const rules = names.flatMap((p) => policies[p] || []);
    const exact = rules.filter((r) => r.kind === resource && r.name === name);
    let chosen;
    if (exact.length > 0) chosen = exact;
    else {
        const prefixes = rules.filter((r) => r.kind === `${resource}_prefix` && name.startsWith(r.name));
        const longest = Math.max(-1, ...prefixes.map((r) => r.name.length));
        chosen = prefixes.filter((r) => r.name.length === longest);
    }
    if (chosen.length === 0) return false;
    // Several matching rules of one specificity: the most permissive wins, except that deny wins outright.
    if (chosen.some((r) => r.level === "deny")) return false;
    return Math.max(...chosen.map((r) => LEVELS[r.level] || 0)) >= LEVELS[level];
}

const registrations = new Map();
let index = 1;
const BOOT = `${process.pid}-${Date.now()}`;
const waiters = [];
/** Every call the app made: what, with which outcome (the harness reports these). */
const calls = [];

function changed() {
    index++;
    while (waiters.length > 0) waiters.shift()();
}

function log(msg) {
    console.log(`${new Date().toISOString()} agent-api[${NODE_NAME}]: ${msg}`);
}

function send(res, status, body) {
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
        "Content-Type": typeof body === "string" ? "text/plain" : "application/json",
        "X-Consul-Index": String(index),
    });
    res.end(text);
}

function denied(res, call, permission, on) {
    call.status = 403;
    call.denied = `${permission} on "${on}"`;
    log(`${call.method} ${call.path}: 403 (token lacks ${permission} on "${on}")`);
    send(res, 403, `Permission denied: token lacks permission '${permission}' on "${on}"`);
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (c) => (text += c));
        req.on("end", () => resolve(text));
        req.on("error", reject);
    });
}

/** The server role's endpoints; false when the request is not one of them. */
async function handleServer(req, res, url) {
    const token = req.headers["x-consul-token"] || "";
    const management = SERVER.acl && SERVER.acl.tokens && SERVER.acl.tokens.initial_management;
    const call = { at: new Date().toISOString(), method: req.method, path: url.pathname, status: 200, tls: req.socket.encrypted === true };
    if (req.method === "GET" && url.pathname === "/_standin/acl") {
        send(res, 200, { ...created, calls });
        return true;
    }
    if (req.method === "GET" && url.pathname === "/v1/status/leader") {
        calls.push(call);
        send(res, 200, `${NODE_ADDR}:8300`);
        return true;
    }
    const acls = /^\/v1\/acl\/(policy|token)(?:\/name)?(?:\/(.+))?$/.exec(url.pathname);
    if (acls === null) return false;
    calls.push(call);
    if (management === undefined || token !== management) {
        call.status = 403;
        send(res, 403, "ACL not found");
        return true;
    }
    const [, kind, key] = acls;
    const store = kind === "policy" ? created.policies : created.tokens;
    if (req.method === "GET" && key !== undefined) {
        const found = store[decodeURIComponent(key)];
        call.status = found === undefined ? 404 : 200;
        send(res, call.status, found === undefined ? `${kind} not found` : found);
        return true;
    }
    if (req.method === "PUT" && key === undefined) {
        const body = JSON.parse(await readBody(req));
        const id = kind === "policy" ? body.Name : body.AccessorID;
        if (!id || (kind === "token" && !body.SecretID)) {
            call.status = 400;
            send(res, 400, "Bad request");
            return true;
        }
        // The harness sees what was created, never the secret itself.
        store[id] = kind === "policy" ? { Name: body.Name, Rules: body.Rules } : { AccessorID: id, Policies: body.Policies };
        log(`created ${kind} ${id}`);
        send(res, 200, store[id]);
        return true;
    }
    return false;
}

async function handle(req, res) {
    const url = new URL(req.url, "http://agent");
    if (SERVER !== undefined && (await handleServer(req, res, url))) return;
    if (url.pathname === "/_standin/registrations") {
        const since = Number(url.searchParams.get("index") || 0);
        const waitMs = Math.min(Number(url.searchParams.get("wait") || 0), 30) * 1000;
        if (since === index && url.searchParams.get("boot") === BOOT && waitMs > 0) {
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, waitMs);
                waiters.push(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
        send(res, 200, { index, boot: BOOT, registrations: [...registrations.values()], calls });
        return;
    }
    const token = req.headers["x-consul-token"] || "";
    if (CATALOG_FILE !== undefined && req.method === "GET" && url.pathname.startsWith("/v1/catalog/")) return catalogRead(res, url, token);
    const call = { at: new Date().toISOString(), method: req.method, path: url.pathname, status: 200 };
    calls.push(call);
    if (req.method === "GET" && url.pathname === "/v1/agent/self") {
        if (!allowed(token, "agent", NODE_NAME, "read")) return denied(res, call, "agent:read", NODE_NAME);
        send(res, 200, {
            Config: { Datacenter: DATACENTER, NodeName: NODE_NAME, Server: false },
            Member: { Name: NODE_NAME, Addr: NODE_ADDR, Port: 8301, Status: 1 },
        });
        return;
    }
    if (req.method === "PUT" && url.pathname === "/v1/agent/service/register") {
        let def;
        try {
            def = JSON.parse(await readBody(req));
        } catch {
            call.status = 400;
            send(res, 400, "Request decode failed");
            return;
        }
        const name = def.Name || "";
        if (!allowed(token, "service", name, "write")) return denied(res, call, "service:write", name);
        const id = def.ID || name;
        call.service = id;
        registrations.set(id, { id, name, address: def.Address || NODE_ADDR, port: def.Port, meta: def.Meta || {}, check: def.Check });
        log(`registered ${id} at ${def.Address || NODE_ADDR}:${def.Port}`);
        changed();
        send(res, 200);
        return;
    }
    const dereg = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(url.pathname);
    if (req.method === "PUT" && dereg) {
        const id = decodeURIComponent(dereg[1]);
        call.service = id;
        const existing = registrations.get(id);
        if (existing === undefined) {
            call.status = 404;
            send(res, 404, `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
            return;
        }
        if (!allowed(token, "service", existing.name, "write")) return denied(res, call, "service:write", existing.name);
        registrations.delete(id);
        log(`deregistered ${id}`);
        changed();
        send(res, 200);
        return;
    }
    call.status = 404;
    send(res, 404, "not stood in for\n");
}

/**
 * The catalog reads Prometheus's discovery bridge makes (images/prometheus/consul-http-sd.js), from
 * CATALOG_FILE (the harness's catalog, reread on every request), filtered by the token as Consul's
 * ACLs filter them: a service needs service:read on its name, an instance also node:read on its node;
 * a token Consul does not know is 403 "ACL not found". Not recorded in `calls` (Prometheus polls).
 */
function catalogRead(res, url, token) {
    if (acl.tokens[token] === undefined) {
        log(`GET ${url.pathname}: 403 (ACL not found)`);
        return send(res, 403, "ACL not found");
    }
    const visible = JSON.parse(fs.readFileSync(CATALOG_FILE, "utf8")).filter(
        (e) => allowed(token, "service", e.ServiceName, "read") && allowed(token, "node", e.Node, "read"),
    );
    if (url.pathname === "/v1/catalog/services") {
        const services = {};
        for (const e of visible) services[e.ServiceName] = [...new Set([...(services[e.ServiceName] || []), ...e.ServiceTags])].sort();
        return send(res, 200, services);
    }
    const one = /^\/v1\/catalog\/service\/([^/]+)$/.exec(url.pathname);
    if (one !== null) {
        const name = decodeURIComponent(one[1]);
        return send(
            res,
            200,
            visible.filter((e) => e.ServiceName === name),
        );
    }
    return send(res, 404, "not stood in for\n");
}

const serve = (req, res) => {
    handle(req, res).catch((err) => {
        log(`error: ${err.message}`);
        if (!res.headersSent) send(res, 500, err.message);
    });
};
// A server's plain HTTP binds where its config says (addresses.http, else client_addr); the client
// agents' stand-in keeps 0.0.0.0 (the harness reaches it on the node's address).
const httpHost = SERVER ? (SERVER.addresses && SERVER.addresses.http) || SERVER.client_addr || "127.0.0.1" : "0.0.0.0";
http.createServer(serve).listen(PORT, httpHost, () => log(`listening on ${httpHost}:${PORT} (node ${NODE_NAME}, address ${NODE_ADDR})`));

const tlsDefaults = SERVER && SERVER.tls && SERVER.tls.defaults;
if (tlsDefaults !== undefined && SERVER.ports && SERVER.ports.https > 0) {
    const verifyIncoming = tlsDefaults.verify_incoming === true;
    const httpsHost = (SERVER.addresses && SERVER.addresses.https) || SERVER.client_addr || "127.0.0.1";
    https
        .createServer(
            {
                ca: fs.readFileSync(tlsDefaults.ca_file),
                cert: fs.readFileSync(tlsDefaults.cert_file),
                key: fs.readFileSync(tlsDefaults.key_file),
                // verify_incoming: a client certificate of the CA, or no connection (Consul: tls.defaults.verify_incoming).
                requestCert: verifyIncoming,
                rejectUnauthorized: verifyIncoming,
                minVersion: "TLSv1.2",
            },
            serve,
        )
        .on("tlsClientError", (err) => log(`TLS handshake refused: ${err.message}`))
        .listen(SERVER.ports.https, httpsHost, () =>
            log(`HTTPS on ${httpsHost}:${SERVER.ports.https}, client certificates ${verifyIncoming ? "required" : "not asked for"}`),
        );
}
process.on("SIGTERM", () => process.exit(0));
