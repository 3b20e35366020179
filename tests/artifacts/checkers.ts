// The real checkers, one per artifact kind. Each returns what it found instead of throwing, so the
// suite can report every failing artifact at once and the negative tests can assert a rejection.
// A missing tool fails (never skips), with the apt-get line that installs it (.ci/run does).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import * as yaml from "js-yaml";
import { Artifact } from "../harness/artifacts";
import { RecordedResource } from "../harness/program";
import { clusterTlsProblems, tlsPosture } from "../harness/consulTls";
import { shellcheck } from "../harness/shellcheck";

export interface CheckResult {
    readonly ok: boolean;
    /** The checker's own output (or the structural problems found). */
    readonly output: string;
}

const pass = (output = ""): CheckResult => ({ ok: true, output });
const problems = (found: string[]): CheckResult => ({ ok: found.length === 0, output: found.join("\n") });

/** Fails (never skips) when a checker is missing, with the apt-get line that installs it. */
export function requireTool(command: string, versionArgs: readonly string[], aptPackage: string): void {
    const r = spawnSync(command, versionArgs, { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) {
        throw new Error(
            `${command} is needed to check the generated artifacts but is not runnable (${r.error?.message ?? `exit ${r.status}`}): ` +
                `apt-get install -y --no-install-recommends ${aptPackage}`,
        );
    }
}

function run(command: string, args: readonly string[]): { status: number | null; output: string } {
    const r = spawnSync(command, args, { encoding: "utf8" });
    if (r.error !== undefined) throw new Error(`${command} could not be run: ${r.error.message}`);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function must(command: string, args: readonly string[]): void {
    const r = run(command, args);
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}:\n${r.output}`);
}

// One temp dir per jest worker: mkdtemp's 0700 root-owned dir also satisfies keepalived's script security.
let tmpDir = "";
let fileCounter = 0;
/** Writes `text` to a fresh temp file and makes sure it is there (keepalived -t passes a missing file). */
function tempFile(name: string, text: string, mode = 0o600): string {
    if (tmpDir === "") tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "artifacts-"));
    const file = path.join(tmpDir, `${fileCounter++}-${name}`);
    fs.writeFileSync(file, text, { mode });
    if (!fs.existsSync(file)) throw new Error(`${file} was not written`);
    return file;
}

/** Removes the temp files and the keepalived namespace (call from afterAll). */
export function disposeCheckers(): void {
    keepalivedNamespace.dispose();
    if (tmpDir !== "") fs.rmSync(tmpDir, { recursive: true, force: true });
    tmpDir = "";
}

// ---------------------------------------------------------------------------------------------
// haproxy -c (LB configs and the edge)
// ---------------------------------------------------------------------------------------------

/**
 * `haproxy -c -f FILE`: exit 0 and no warning. Checked as shipped: `haproxy -c` neither binds nor
 * creates the runtime socket (/run/haproxy/admin.sock), so no path needs substituting.
 */
export function haproxyCheck(text: string, files: ReadonlyMap<string, string> = new Map()): CheckResult {
    requireTool("haproxy", ["-v"], "haproxy");
    // A `crt` file the node holds (the edge's certificate) or a `lua-load`ed one (the LB node's
    // keepalived metrics) is loaded by haproxy -c: point the config at a copy of the node's file, so
    // the check runs with it present. A path the node does not hold stays as it is, and haproxy -c
    // fails on it.
    const checked = text.replace(/ (crt|ca-file|lua-load) (\S+)/g, (whole, option: string, p: string) => {
        const content = files.get(p);
        return content === undefined ? whole : ` ${option} ${tempFile(path.basename(p), content)}`;
    });
    const r = run("haproxy", ["-c", "-f", tempFile("haproxy.cfg", checked)]);
    return {
        ok: r.status === 0 && r.output.includes("Configuration file is valid") && !/\[(WARNING|ALERT)\]/.test(r.output),
        output: r.output,
    };
}

/**
 * A Consul agent file that defines services (a node's metrics-* endpoints, render/prometheus.ts):
 * each has a `metrics-` name (the one prefix its ACL token may write) and the same id, a port, an
 * absolute `metrics_path` in its meta (what Prometheus scrapes), and a token to register with.
 */
export function consulServicesCheck(text: string): CheckResult {
    let doc: { services?: Record<string, any>[] };
    try {
        doc = JSON.parse(text);
    } catch (e) {
        return { ok: false, output: `not JSON (${(e as Error).message})` };
    }
    const found: string[] = [];
    if (!Array.isArray(doc.services) || doc.services.length === 0) found.push("no services list");
    for (const s of doc.services ?? []) {
        const name = String(s.name);
        if (!/^metrics-[a-z][a-z0-9-]*$/.test(name)) found.push(`service name ${JSON.stringify(s.name)} is not metrics-<job>`);
        if (s.id !== s.name) found.push(`${name}: id ${JSON.stringify(s.id)} differs from its name`);
        if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) found.push(`${name}: port ${JSON.stringify(s.port)}`);
        if (typeof s.meta?.metrics_path !== "string" || !s.meta.metrics_path.startsWith("/"))
            found.push(`${name}: meta.metrics_path missing or not absolute`);
        if (typeof s.token !== "string" || s.token === "") found.push(`${name}: no token to register with`);
    }
    return problems(found);
}

/**
 * A Lua file HAProxy loads (`lua-load`): the real HAProxy parses and runs it in a config that loads it
 * (`haproxy -c`), so a syntax error or a failing `core.register_service` is caught.
 */
export function haproxyLuaCheck(text: string): CheckResult {
    requireTool("haproxy", ["-v"], "haproxy");
    const lua = tempFile("service.lua", text, 0o644);
    const cfg = tempFile(
        "lua-check.cfg",
        // A listener, or haproxy -c reports "will not start (no listener)"; -c binds nothing.
        `global\n    lua-load ${lua}\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend check\n    bind 127.0.0.1:9\n`,
    );
    const r = run("haproxy", ["-c", "-f", cfg]);
    return {
        ok: r.status === 0 && r.output.includes("Configuration file is valid") && !/\[(WARNING|ALERT)\]/.test(r.output),
        output: r.output,
    };
}

/** A JavaScript file a node runs with its Node.js: `node --check` parses it. */
export function javascriptCheck(text: string): CheckResult {
    const r = run(process.execPath, ["--check", tempFile("file.js", text)]);
    return { ok: r.status === 0, output: r.output };
}

/**
 * Debian's /etc/default/prometheus (its unit runs `prometheus $ARGS`): it sets ARGS and nothing else,
 * and the real prometheus knows every flag in it (`prometheus $ARGS --version` fails on an unknown
 * flag before it prints the version; values are read later, and are the renderer's tests' concern).
 */
export function prometheusDefaultsCheck(text: string): CheckResult {
    requireTool("prometheus", ["--version"], "prometheus");
    const m = /^ARGS="([^"$`\\]*)"\n$/.exec(text);
    if (m === null) return { ok: false, output: `not one line ARGS="…" without expansions: ${JSON.stringify(text)}` };
    const r = run("prometheus", [...m[1].split(/\s+/).filter((a) => a !== ""), "--version"]);
    return { ok: r.status === 0 && r.output.includes("prometheus, version"), output: r.output };
}

/**
 * A PEM holding a certificate and its private key (HAProxy's `crt`): openssl parses both, and the
 * key is the certificate's (the same public key).
 */
export function pemCheck(text: string): CheckResult {
    requireTool("openssl", ["version"], "openssl");
    const file = tempFile("cert.pem", text);
    const cert = run("openssl", ["x509", "-in", file, "-noout", "-pubkey"]);
    const key = run("openssl", ["pkey", "-in", file, "-pubout"]);
    const found: string[] = [];
    if (cert.status !== 0) found.push(`no certificate: ${cert.output}`);
    if (key.status !== 0) found.push(`no private key: ${key.output}`);
    if (found.length === 0 && cert.output.trim() !== key.output.trim()) found.push("the private key is not the certificate's");
    return problems(found);
}

/** A CA certificate alone (a `ca-file`): openssl parses it and its basic constraints say CA:TRUE. */
export function caCertCheck(text: string): CheckResult {
    requireTool("openssl", ["version"], "openssl");
    const r = run("openssl", ["x509", "-in", tempFile("ca.pem", text), "-noout", "-ext", "basicConstraints"]);
    if (r.status !== 0) return problems([`no certificate: ${r.output}`]);
    return problems(/CA:TRUE/.test(r.output) ? [] : [`not a CA certificate: ${r.output.trim()}`]);
}

/** One node's Consul TLS files, by role: the CA, and (servers) the certificate and its key. */
export interface ConsulTlsFiles {
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
}

/**
 * A node's Consul TLS files as an agent loads them: the CA is a CA; a server's certificate chains to
 * it (`openssl verify`), serves and dials (serverAuth and clientAuth), names every one of `names`
 * (`openssl x509 -checkhost/-checkip`), and the key is the certificate's own.
 */
export function consulTlsCheck(files: ConsulTlsFiles, names: readonly string[]): CheckResult {
    requireTool("openssl", ["version"], "openssl");
    if (files.ca === undefined) return problems(["no CA file"]);
    const found: string[] = [];
    const ca = caCertCheck(files.ca);
    if (!ca.ok) found.push(`CA: ${ca.output}`);
    if (files.cert === undefined && files.key === undefined) return problems(found);
    if (files.cert === undefined || files.key === undefined)
        return problems([...found, "a certificate without its key, or a key without its certificate"]);
    const caFile = tempFile("ca.pem", files.ca);
    const certFile = tempFile("cert.pem", files.cert);
    const verify = run("openssl", ["verify", "-purpose", "sslserver", "-CAfile", caFile, certFile]);
    if (verify.status !== 0) found.push(`does not chain to the CA as a server: ${verify.output.trim()}`);
    const asClient = run("openssl", ["verify", "-purpose", "sslclient", "-CAfile", caFile, certFile]);
    if (asClient.status !== 0) found.push(`does not chain to the CA as a client: ${asClient.output.trim()}`);
    for (const name of names) {
        const flag = /^\d{1,3}(\.\d{1,3}){3}$/.test(name) ? "-checkip" : "-checkhost";
        const r = run("openssl", ["x509", "-in", certFile, "-noout", flag, name]);
        if (r.status !== 0 || !/ does match certificate/.test(r.output)) found.push(`does not name ${name}: ${r.output.trim()}`);
    }
    const pub = run("openssl", ["x509", "-in", certFile, "-noout", "-pubkey"]);
    const keyPub = run("openssl", ["pkey", "-in", tempFile("key.pem", files.key), "-pubout"]);
    if (keyPub.status !== 0) found.push(`no private key: ${keyPub.output}`);
    else if (pub.output.trim() !== keyPub.output.trim()) found.push("the private key is not the certificate's");
    return problems(found);
}

/** systemd-analyze verify: the unit parses, every directive is known and its commands exist on this machine. */
export function systemdUnitCheck(filePath: string, text: string): CheckResult {
    requireTool("systemd-analyze", ["--version"], "systemd");
    if (tmpDir === "") tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "artifacts-"));
    // verify takes the unit's type from its file name: same name, in a directory of its own.
    const dir = fs.mkdtempSync(path.join(tmpDir, "unit-"));
    const file = path.join(dir, path.basename(filePath));
    fs.writeFileSync(file, text, { mode: 0o644 });
    const r = run("systemd-analyze", ["verify", file]);
    return { ok: r.status === 0 && r.output.trim() === "", output: r.output };
}

// ---------------------------------------------------------------------------------------------
// keepalived -t, in a network namespace that has the configured interfaces
// ---------------------------------------------------------------------------------------------

const keepalivedNamespace = {
    name: `swp-art-${process.pid}`,
    created: false,
    links: new Set<string>(),
    addresses: new Set<string>(),
    /** Makes sure the namespace has interface `dev` (one end of a veth pair: no dummy interfaces here) with `address`. */
    ensure(dev: string, address?: string): void {
        if (!this.created) {
            run("ip", ["netns", "del", this.name]);
            must("ip", ["netns", "add", this.name]);
            this.created = true;
        }
        if (!this.links.has(dev)) {
            must("ip", ["-n", this.name, "link", "add", dev, "type", "veth", "peer", "name", `swp-peer-${this.links.size}`]);
            must("ip", ["-n", this.name, "link", "set", dev, "up"]);
            this.links.add(dev);
        }
        if (address !== undefined && !this.addresses.has(address)) {
            must("ip", ["-n", this.name, "addr", "add", address, "dev", dev]);
            this.addresses.add(address);
        }
    },
    dispose(): void {
        if (this.created) run("ip", ["netns", "del", this.name]);
        this.created = false;
        this.links.clear();
        this.addresses.clear();
    },
};

/** Absolute paths keepalived would execute (vrrp_script `script`, `notify*`). */
export function keepalivedScriptPaths(text: string): string[] {
    return [...new Set([...text.matchAll(/^\s*(?:script|notify\w*)\s+"?(\/[^\s"]+)/gm)].map((m) => m[1]))];
}

/**
 * `keepalived -t -f FILE` inside a network namespace holding the interfaces the config names
 * (with the node's own address): exit 0 and no output. keepalived -t also fails when a tracked
 * script does not exist, and the script lives in the LB image (or another artifact), not on this
 * machine: `shipped` maps node paths to the content that gets there. The ONE substitution: in the
 * copy checked, each script path is replaced by a root-owned 0755 temp copy of what is shipped at
 * that path; a script nothing ships is reported as a failure.
 */
export function keepalivedCheck(text: string, shipped: ReadonlyMap<string, string>): CheckResult {
    requireTool("keepalived", ["-v"], "keepalived");
    requireTool("ip", ["-V"], "iproute2");
    if (process.getuid?.() !== 0) throw new Error("keepalived -t runs in a network namespace (ip netns): run the tests as root");

    const prefix = /^\s*\S+\/(\d+)\s+dev\s/m.exec(text)?.[1] ?? "32";
    const source = /^\s*unicast_src_ip\s+(\S+)/m.exec(text)?.[1];
    const devices = new Set([...text.matchAll(/^\s*interface\s+(\S+)/gm), ...text.matchAll(/\sdev\s+(\S+)/g)].map((m) => m[1]));
    devices.forEach((dev) => keepalivedNamespace.ensure(dev));
    const primary = /^\s*interface\s+(\S+)/m.exec(text)?.[1];
    if (primary !== undefined && source !== undefined) keepalivedNamespace.ensure(primary, `${source}/${prefix}`);

    let checked = text;
    for (const scriptPath of keepalivedScriptPaths(text)) {
        const content = shipped.get(scriptPath);
        if (content === undefined) return { ok: false, output: `keepalived runs ${scriptPath}, but no image or artifact ships that file` };
        checked = checked.split(scriptPath).join(tempFile(path.basename(scriptPath), content, 0o755));
    }
    const r = run("ip", ["netns", "exec", keepalivedNamespace.name, "keepalived", "-t", "-f", tempFile("keepalived.conf", checked)]);
    return { ok: r.status === 0 && r.output.trim() === "", output: r.output };
}

// ---------------------------------------------------------------------------------------------
// shellcheck
// ---------------------------------------------------------------------------------------------

/** Results by dialect + text: the config variants ship many identical scripts, each is checked once per worker. */
const shellChecked = new Map<string, CheckResult>();

export function shellCheck(text: string, dialect: "sh" | "bash"): CheckResult {
    const key = `${dialect}\0${text}`;
    let result = shellChecked.get(key);
    if (result === undefined) {
        const report = shellcheck(text, dialect);
        result = { ok: report === "", output: report };
        shellChecked.set(key, result);
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Consul agent configs: structure across the whole cluster
// ---------------------------------------------------------------------------------------------

const isIp = (s: unknown): boolean => typeof s === "string" && ipaddr.isValid(s);
const isPort = (n: unknown): boolean => n === -1 || (Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535);
const sorted = (xs: readonly unknown[]): string => JSON.stringify([...xs].map(String).sort());
/** Values that are placeholders under mocks (tests/harness/program.ts), real values otherwise. */
const isMockSecret = (s: string): boolean => s.startsWith("MOCKSECRET-");

/**
 * The keys that make a cluster: every agent of the stack, together. `where` names each config in
 * the report. Gossip key present (32 bytes base64 unless a mock placeholder), the same everywhere and
 * enforced both ways; ACLs on and default deny with an agent token; servers: bootstrap_expect = the
 * server count and one management token; retry_join = exactly the servers (names or addresses), a
 * name every server answers to (`serverGroupNames`: what the caller found all servers carry, e.g. a
 * shared Docker network alias) or cloud auto-join, the same everywhere; ports valid and the same everywhere; clients bound to loopback.
 */
export function consulCheck(configs: readonly { where: string; text: string }[], serverGroupNames: readonly string[] = []): CheckResult {
    const found: string[] = [];
    const agents: { where: string; c: Record<string, any> }[] = [];
    for (const { where, text } of configs) {
        try {
            agents.push({ where, c: JSON.parse(text) });
        } catch (e) {
            found.push(`${where}: not JSON (${(e as Error).message})`);
        }
    }
    const servers = agents.filter((a) => a.c.server === true);
    const clients = agents.filter((a) => a.c.server === false);
    const bad = (where: string, what: string) => found.push(`${where}: ${what}`);
    const same = (what: string, value: (c: Record<string, any>) => unknown, among = agents) => {
        const values = new Set(among.map((a) => JSON.stringify(value(a.c))));
        if (values.size > 1) found.push(`${what} differs between agents: ${[...values].join(" vs ")}`);
    };
    if (servers.length === 0) found.push("no Consul server config (server: true)");
    if (servers.length % 2 === 0) found.push(`${servers.length} servers: a Raft quorum needs an odd number`);

    const serverNames = servers.map((s) => s.c.node_name);
    const serverAddrs = servers.map((s) => s.c.advertise_addr);
    for (const { where, c } of agents) {
        if (c.server !== true && c.server !== false) bad(where, `server must be true or false, got ${JSON.stringify(c.server)}`);
        if (typeof c.node_name !== "string" || c.node_name === "") bad(where, "node_name missing");
        if (typeof c.datacenter !== "string" || c.datacenter === "") bad(where, "datacenter missing");
        for (const k of ["bind_addr", "advertise_addr"]) if (!isIp(c[k])) bad(where, `${k} ${JSON.stringify(c[k])} is not an IP address`);
        if (typeof c.encrypt !== "string" || c.encrypt === "") bad(where, "encrypt (gossip key) missing");
        else if (!isMockSecret(c.encrypt) && Buffer.from(c.encrypt, "base64").length !== 32)
            bad(where, "encrypt is not 32 bytes of base64");
        if (c.encrypt_verify_incoming !== true || c.encrypt_verify_outgoing !== true)
            bad(where, "gossip encryption is not enforced both ways");
        if (c.acl?.enabled !== true) bad(where, "acl.enabled is not true");
        if (c.acl?.default_policy !== "deny") bad(where, `acl.default_policy is ${JSON.stringify(c.acl?.default_policy)}, not "deny"`);
        if (typeof c.acl?.tokens?.agent !== "string" || c.acl.tokens.agent === "") bad(where, "acl.tokens.agent missing");
        for (const [k, v] of Object.entries(c.ports ?? {}))
            if (!isPort(v) && !(k.startsWith("grpc") && v === -1)) bad(where, `ports.${k} ${JSON.stringify(v)} is not a port`);
        if (!isPort(c.ports?.http) || !isPort(c.ports?.dns)) bad(where, "ports.http and ports.dns must be set");
        const join: unknown = c.retry_join;
        if (!Array.isArray(join) || join.length === 0) bad(where, "retry_join is empty");
        else if (
            !join.every((j) => String(j).startsWith("provider=")) &&
            ![sorted(serverNames), sorted(serverAddrs)].includes(sorted(join)) &&
            !(join.length === 1 && serverGroupNames.includes(String(join[0])))
        ) {
            bad(where, `retry_join ${JSON.stringify(join)} is not exactly the servers ${JSON.stringify(serverNames)}`);
        }
    }
    for (const { where, c } of servers) {
        if (c.bootstrap_expect !== servers.length)
            bad(where, `bootstrap_expect ${c.bootstrap_expect}, but there are ${servers.length} servers`);
        if (typeof c.acl?.tokens?.initial_management !== "string" || c.acl.tokens.initial_management === "") {
            bad(where, "acl.tokens.initial_management missing");
        }
        if (!isIp(c.client_addr)) bad(where, `client_addr ${JSON.stringify(c.client_addr)} is not an IP address`);
    }
    for (const { where, c } of clients) {
        if (c.bootstrap_expect !== undefined) bad(where, "a client must not set bootstrap_expect");
        if (c.client_addr !== "127.0.0.1")
            bad(where, `client_addr ${JSON.stringify(c.client_addr)}: a client agent serves its own node only (127.0.0.1)`);
    }
    same("encrypt (gossip key)", (c) => c.encrypt);
    same("datacenter", (c) => c.datacenter);
    // Every agent serves the same HTTP and DNS ports; only servers serve HTTPS (client agents answer on loopback over HTTP).
    same("ports", (c) => ({ ...c.ports, https: undefined, grpc_tls: undefined }));
    const https = new Set(servers.map((s) => JSON.stringify(s.c.ports?.https)));
    if (https.size > 1) found.push(`ports.https differs between servers: ${[...https].join(" vs ")}`);
    for (const { where, c } of clients)
        if (c.ports?.https !== undefined) bad(where, "a client agent must not serve HTTPS (its certificate would be the mesh CA's)");
    // Every agent can reach every server with the TLS settings the graph gives them (tests/harness/consulTls.ts).
    try {
        found.push(...clusterTlsProblems(agents.map((a) => tlsPosture(a.where, a.c))));
    } catch (e) {
        found.push((e as Error).message);
    }
    same("retry_join", (c) => sorted(c.retry_join ?? []));
    same("acl.tokens.initial_management", (c) => c.acl?.tokens?.initial_management, servers);
    for (const key of ["node_name", "advertise_addr"]) {
        const values = agents.map((a) => a.c[key]);
        const dupes = values.filter((v, i) => values.indexOf(v) !== i);
        if (dupes.length > 0) found.push(`${key} not unique: ${JSON.stringify([...new Set(dupes)])}`);
    }
    return problems(found);
}

// ---------------------------------------------------------------------------------------------
// daemon.json
// ---------------------------------------------------------------------------------------------

function overlaps(a: string, b: string): boolean {
    const [na, pa] = ipaddr.parseCIDR(a);
    const [nb, pb] = ipaddr.parseCIDR(b);
    return na.kind() === nb.kind() && na.match(nb, Math.min(pa, pb));
}

/** A subnet the engines' local address pools must stay clear of. */
export interface ReservedSubnet {
    readonly what: string;
    readonly cidr: string;
}

/**
 * Subnets in the graph that pools must not overlap: the nodes' networks (Docker network IPAM, AWS
 * VPC and subnets) and the swarm overlay pool the init script passes (`--default-addr-pool`).
 */
export function reservedSubnets(resources: readonly RecordedResource[], artifacts: readonly Artifact[]): ReservedSubnet[] {
    const found: ReservedSubnet[] = [];
    for (const r of resources) {
        if (r.type === "docker:index/network:Network") {
            for (const ipam of r.inputs.ipamConfigs ?? []) found.push({ what: `network ${r.name}`, cidr: ipam.subnet });
        } else if (r.type === "aws:ec2/vpc:Vpc" || r.type === "aws:ec2/subnet:Subnet") {
            if (typeof r.inputs.cidrBlock === "string")
                found.push({ what: `${r.type.split(":").pop()} ${r.name}`, cidr: r.inputs.cidrBlock });
        }
    }
    for (const a of artifacts.filter((x) => x.kind === "shell")) {
        for (const m of a.content.matchAll(/--default-addr-pool\s+'?([0-9a-fA-F.:]+\/\d+)'?/g)) {
            found.push({ what: `swarm overlay pool (${a.resource})`, cidr: m[1] });
        }
    }
    return found;
}

/** Parses; `live-restore` false (dockerd refuses swarm mode with it); address pools valid, disjoint, clear of `reserved`. */
export function daemonJsonCheck(text: string, reserved: readonly ReservedSubnet[]): CheckResult {
    let config: Record<string, any>;
    try {
        config = JSON.parse(text);
    } catch (e) {
        return { ok: false, output: `not JSON (${(e as Error).message})` };
    }
    const found: string[] = [];
    if (config["live-restore"] !== false) found.push(`live-restore is ${JSON.stringify(config["live-restore"])}: swarm mode needs false`);
    const pools: Record<string, any>[] = config["default-address-pools"] ?? [];
    if (pools.length === 0) found.push("default-address-pools is empty: the engine would pick from 172.17.0.0/12 and 192.168.0.0/16");
    if (reserved.length === 0) found.push("no network subnet found in the graph to check the pools against");
    const bases: string[] = [];
    for (const p of pools) {
        if (!ipaddr.isValidCIDR(String(p.base))) {
            found.push(`pool base ${JSON.stringify(p.base)} is not a CIDR`);
            continue;
        }
        const [, prefix] = ipaddr.parseCIDR(p.base);
        if (!Number.isInteger(p.size) || p.size < prefix || p.size > 30) found.push(`pool ${p.base} size ${p.size} must be ${prefix}–30`);
        for (const r of reserved) if (overlaps(p.base, r.cidr)) found.push(`pool ${p.base} overlaps the ${r.what} ${r.cidr}`);
        for (const other of bases) if (overlaps(p.base, other)) found.push(`pools ${other} and ${p.base} overlap`);
        bases.push(p.base);
    }
    return problems(found);
}

// ---------------------------------------------------------------------------------------------
// Docker client config (~/.docker/config.json)
// ---------------------------------------------------------------------------------------------

/** Parses; credentials come from a helper (credsStore/credHelpers), never inline in the file. */
export function dockerClientJsonCheck(text: string): CheckResult {
    let config: Record<string, any>;
    try {
        config = JSON.parse(text);
    } catch (e) {
        return { ok: false, output: `not JSON (${(e as Error).message})` };
    }
    const found: string[] = [];
    const helper = /^[a-z0-9][a-z0-9._-]*$/;
    if (config.credsStore !== undefined && !helper.test(String(config.credsStore))) {
        found.push(`credsStore ${JSON.stringify(config.credsStore)} is not a helper name`);
    }
    for (const [registry, name] of Object.entries(config.credHelpers ?? {})) {
        if (!helper.test(String(name))) found.push(`credHelpers.${registry} ${JSON.stringify(name)} is not a helper name`);
    }
    for (const [registry, entry] of Object.entries<Record<string, unknown>>(config.auths ?? {})) {
        for (const key of ["auth", "password", "identitytoken", "registrytoken"]) {
            if (entry?.[key] !== undefined) found.push(`auths.${registry}.${key}: a registry credential inline in the file`);
        }
    }
    return problems(found);
}

// ---------------------------------------------------------------------------------------------
// cloud-config
// ---------------------------------------------------------------------------------------------

const CLOUD_INIT_SCHEMA = "/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json";
/** Top-level keys cloud-init documents outside the module schemas. */
const CLOUD_INIT_BASE_KEYS = ["merge_how", "merge_type", "output"];

/** Top-level keys cloud-init's own schema knows (its module definitions). */
function cloudConfigKeys(): Set<string> {
    const schema = JSON.parse(fs.readFileSync(CLOUD_INIT_SCHEMA, "utf8"));
    const keys = new Set(CLOUD_INIT_BASE_KEYS);
    for (const { $ref } of schema.allOf as { $ref: string }[]) {
        for (const k of Object.keys(schema.$defs[$ref.split("/").pop()!].properties ?? {})) keys.add(k);
    }
    return keys;
}

/**
 * `cloud-init schema --config-file FILE` (Debian 12: cloud-init 22.4), exit 0. That version
 * accepts unknown top-level keys (a misspelt `write_file:` would be ignored at boot), so top-level
 * keys are also checked against the module schemas it ships.
 */
export function cloudConfigCheck(text: string): CheckResult {
    requireTool("cloud-init", ["--version"], "cloud-init");
    const r = run("cloud-init", ["schema", "--config-file", tempFile("user-data.yaml", text)]);
    const found = r.status === 0 ? [] : [r.output.trim()];
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch {
        doc = undefined; // cloud-init reported it
    }
    if (doc !== null && typeof doc === "object") {
        const known = cloudConfigKeys();
        for (const key of Object.keys(doc)) if (!known.has(key)) found.push(`unknown top-level key ${JSON.stringify(key)}`);
    }
    return found.length === 0 ? pass(r.output) : problems(found);
}
