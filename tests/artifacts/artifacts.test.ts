/**
 * Issue #4 "Artifacts": every file and script the program ships — read off its own resource graph
 * under Pulumi's mock runtime (tests/harness/artifacts.ts), so exactly what `pulumi up` would hand
 * to containers, commands and instances — goes through the real checker (tests/artifacts/checkers.ts):
 * haproxy -c, keepalived -t, shellcheck, cloud-init schema, and structural checks of the Consul and
 * Docker daemon JSON. For every stack in STACKS and a few config variants.
 * Needs root (keepalived -t runs in a network namespace); missing tools fail with an apt-get hint.
 */
import * as fs from "fs";
import * as path from "path";
import { RawStackConfig, StackConfig } from "../../config/schema";
import { validateStackConfig } from "../../config/validate";
import { Artifact, ArtifactKind, collectArtifacts, describeArtifact, filesOnNode } from "../harness/artifacts";
import { ConfigOverrides, ProgramRun, REPO_ROOT, runProgram, stackConfig } from "../harness/program";
import {
    CheckResult,
    cloudConfigCheck,
    systemdUnitCheck,
    consulCheck,
    daemonJsonCheck,
    disposeCheckers,
    dockerClientJsonCheck,
    haproxyCheck,
    haproxyLuaCheck,
    consulServicesCheck,
    javascriptCheck,
    prometheusDefaultsCheck,
    pemCheck,
    caCertCheck,
    consulTlsCheck,
    keepalivedCheck,
    reservedSubnets,
    shellCheck,
} from "./checkers";

interface StackCase {
    readonly title: string;
    readonly stack: string;
    readonly overrides?: ConfigOverrides;
}

/** Stacks and config variants checked. prod joins by itself once the AWS platform (platforms/aws.ts) exists. */
const STACKS: readonly StackCase[] = [
    { title: "dev", stack: "dev" },
    { title: "dev, swarm.managers 1 and workers 0", stack: "dev", overrides: { swarm: { managers: 1, workers: 0 } } },
    { title: "dev, web.replicas 7", stack: "dev", overrides: { web: { replicas: 7 } } },
    { title: "dev, consul.servers 5 and swarm.workers 4", stack: "dev", overrides: { consul: { servers: 5 }, swarm: { workers: 4 } } },
    { title: "dev, lb.vrrpVersion 2", stack: "dev", overrides: { lb: { vrrpVersion: 2 } } },
    ...(fs.existsSync(path.join(REPO_ROOT, "platforms", "aws.ts")) ? [{ title: "prod", stack: "prod" }] : []),
];

/** The stack's config as the program resolves it (same file, same overrides, same defaults and rules). */
function resolvedConfig(c: StackCase): StackConfig {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stackConfig(c.stack, c.overrides))) {
        const [namespace, name] = key.split(":");
        if (namespace !== "swarm-platform") continue;
        try {
            raw[name] = JSON.parse(value);
        } catch {
            raw[name] = value;
        }
    }
    const result = validateStackConfig(raw as RawStackConfig, c.stack);
    if (result.config === undefined) throw new Error(`${c.title}: invalid config: ${JSON.stringify(result.issues)}`);
    return result.config;
}

interface Expected {
    readonly what: string;
    readonly atLeast: number;
    readonly matches: (a: Artifact) => boolean;
}

const consulServerFlag = (a: Artifact): unknown => (a.kind === "consul-json" ? JSON.parse(a.content).server : undefined);
const script = (re: RegExp) => (a: Artifact) => a.kind === "shell" && re.test(a.content);

/** What every stack must ship, whatever the platform; counts follow the config. */
function expectedArtifacts(config: StackConfig): Expected[] {
    const swarmNodes = config.swarm.managers + config.swarm.workers;
    return [
        { what: "LB haproxy.cfg (2 LB nodes)", atLeast: 2, matches: (a) => a.kind === "haproxy" },
        { what: "keepalived.conf (2 LB nodes)", atLeast: 2, matches: (a) => a.kind === "keepalived" },
        ...(config.platform === "local"
            ? [
                  { what: "edge HAProxy config", atLeast: 1, matches: (a: Artifact) => a.kind === "haproxy-edge" },
                  { what: "edge certificate and key", atLeast: 1, matches: (a: Artifact) => a.kind === "pem" },
              ]
            : []),
        { what: "Consul server configs", atLeast: config.consul.servers, matches: (a) => consulServerFlag(a) === true },
        { what: "Consul client configs (swarm + LB nodes)", atLeast: swarmNodes + 2, matches: (a) => consulServerFlag(a) === false },
        { what: "daemon.json (one per swarm node)", atLeast: swarmNodes, matches: (a) => a.kind === "docker-daemon-json" },
        { what: "Consul ACL bootstrap script", atLeast: 1, matches: script(/"\$CONSUL_HTTP_ADDR\/v1\/acl\/token"/) },
        { what: "swarm init script", atLeast: 1, matches: script(/docker swarm init\b/) },
        { what: "swarm join scripts", atLeast: swarmNodes - 1, matches: script(/http:\/\/localhost\/swarm\/join\b/) },
        { what: "web service deploy script", atLeast: 1, matches: script(/docker service create\b/) },
    ];
}

interface Checked {
    readonly run: ProgramRun;
    readonly artifacts: Artifact[];
}

/** "where: checker output" for each artifact the checker rejects. */
const rejected = (artifacts: readonly Artifact[], check: (a: Artifact) => CheckResult): string[] =>
    artifacts.flatMap((a) => {
        const r = check(a);
        return r.ok ? [] : [`${describeArtifact(a)}:\n${r.output}`];
    });

/** Network aliases that EVERY Consul server container carries (names the engine's DNS answers with all of them). */
function serverGroupNames(run: ProgramRun): string[] {
    const servers = run.ofType("docker:index/container:Container").filter((c) => /^consul-server-\d+$/.test(c.name));
    const aliases = servers.map(
        (c) => new Set<string>((c.inputs.networksAdvanced ?? []).flatMap((n: { aliases?: string[] }) => n.aliases ?? [])),
    );
    return aliases.length === 0 ? [] : [...aliases[0]].filter((a) => aliases.every((set) => set.has(a)));
}

/**
 * Per node holding Consul TLS files: the files are exactly those its agent config names (tls.defaults
 * ca_file, cert_file, key_file), and they pass consulTlsCheck with the names the server must carry —
 * `server.<datacenter>.consul` (verify_server_hostname), localhost, 127.0.0.1 and its own address.
 */
function consulTlsProblems(of: readonly Artifact[], ctx: Checked): string[] {
    const nodes = [...new Set(of.map((a) => a.node ?? describeArtifact(a)))];
    return nodes.flatMap((node) => {
        const mine = of.filter((a) => (a.node ?? describeArtifact(a)) === node);
        const config = ctx.artifacts.find((a) => a.kind === "consul-json" && a.node === node);
        if (config === undefined) return [`${node}: Consul TLS files but no Consul config`];
        const agent = JSON.parse(config.content);
        const named = agent.tls?.defaults ?? {};
        const byPath = new Map(mine.map((a) => [a.path, a.content]));
        const wanted = [named.ca_file, named.cert_file, named.key_file].filter((p): p is string => p !== undefined);
        const out: string[] = [];
        if (JSON.stringify([...byPath.keys()].sort()) !== JSON.stringify([...wanted].sort()))
            out.push(`${node}: holds ${[...byPath.keys()].sort().join(", ")} but its config names ${wanted.sort().join(", ") || "none"}`);
        const names = agent.server === true ? [`server.${agent.datacenter}.consul`, "localhost", "127.0.0.1", agent.advertise_addr] : [];
        const r = consulTlsCheck(
            { ca: byPath.get(named.ca_file), cert: byPath.get(named.cert_file), key: byPath.get(named.key_file) },
            names,
        );
        return r.ok ? out : [...out, `${node}:\n${r.output}`];
    });
}

/** One checker per kind: a new ArtifactKind does not compile until it has one. */
const CHECKS: Readonly<Record<ArtifactKind, { readonly title: string; readonly check: (of: Artifact[], ctx: Checked) => string[] }>> = {
    haproxy: {
        title: "haproxy -c accepts every LB haproxy.cfg, with the Lua file the node holds",
        check: (of, ctx) => rejected(of, (a) => haproxyCheck(a.content, filesOnNode(ctx.run, ctx.artifacts, a))),
    },
    "haproxy-edge": {
        title: "haproxy -c accepts the edge config, with the certificate the edge holds",
        check: (of, ctx) => rejected(of, (a) => haproxyCheck(a.content, filesOnNode(ctx.run, ctx.artifacts, a))),
    },
    pem: {
        title: "every certificate file parses and holds the certificate's own key (openssl)",
        check: (of) => rejected(of, (a) => pemCheck(a.content)),
    },
    "pem-ca": {
        title: "every CA file parses and is a CA certificate (openssl)",
        check: (of) => rejected(of, (a) => caCertCheck(a.content)),
    },
    "consul-tls": {
        title: "every Consul agent's TLS files are the ones its config names; a server's certificate chains to the CA, names the server and its addresses, and holds its own key (openssl)",
        check: (of, ctx) => consulTlsProblems(of, ctx),
    },
    keepalived: {
        title: "keepalived -t accepts every keepalived.conf (in a namespace with its interface)",
        check: (of, ctx) => rejected(of, (a) => keepalivedCheck(a.content, filesOnNode(ctx.run, ctx.artifacts, a))),
    },
    shell: { title: "shellcheck passes every shell script", check: (of) => rejected(of, (a) => shellCheck(a.content, a.shell ?? "sh")) },
    "consul-json": {
        title: "the Consul agent configs form one cluster (gossip key, ACL deny, bootstrap_expect, retry_join, ports)",
        check: (of, ctx) => {
            const r = consulCheck(
                of.map((a) => ({ where: describeArtifact(a), text: a.content })),
                serverGroupNames(ctx.run),
            );
            return r.ok ? [] : [r.output];
        },
    },
    "docker-daemon-json": {
        title: "every daemon.json parses, has live-restore false and address pools clear of the networks",
        check: (of, ctx) => {
            const reserved = reservedSubnets(ctx.run.resources, ctx.artifacts);
            return rejected(of, (a) => daemonJsonCheck(a.content, reserved));
        },
    },
    "docker-client-json": {
        title: "every Docker client config parses and takes registry credentials from a helper, not the file",
        check: (of) => rejected(of, (a) => dockerClientJsonCheck(a.content)),
    },
    "cloud-config": {
        title: "cloud-init schema accepts every cloud-config",
        check: (of) => rejected(of, (a) => cloudConfigCheck(a.content)),
    },
    "systemd-unit": {
        title: "systemd-analyze verify accepts every systemd unit (directives known, commands present)",
        check: (of) => rejected(of, (a) => systemdUnitCheck(a.path, a.content)),
    },
    "consul-services": {
        title: "every node's metrics-* service definitions name a metrics path, a port and a registration token",
        check: (of) => rejected(of, (a) => consulServicesCheck(a.content)),
    },
    "haproxy-lua": {
        title: "HAProxy loads every Lua service a node holds (haproxy -c with lua-load)",
        check: (of) => rejected(of, (a) => haproxyLuaCheck(a.content)),
    },
    javascript: {
        title: "node --check parses every JavaScript file a node runs",
        check: (of) => rejected(of, (a) => javascriptCheck(a.content)),
    },
    "prometheus-defaults": {
        title: "prometheus accepts every flag in /etc/default/prometheus",
        check: (of) => rejected(of, (a) => prometheusDefaultsCheck(a.content)),
    },
};

afterAll(disposeCheckers);

describe.each(STACKS)("$title", (c) => {
    let ctx: Checked;
    beforeAll(async () => {
        const run = await runProgram(c.stack, c.overrides);
        ctx = { run, artifacts: collectArtifacts(run) };
    });

    test("every artifact the config calls for is there", () => {
        const missing = expectedArtifacts(resolvedConfig(c))
            .map((e) => ({ ...e, found: ctx.artifacts.filter(e.matches).length }))
            .filter((e) => e.found < e.atLeast)
            .map((e) => `${e.what}: want ≥ ${e.atLeast}, found ${e.found}`);
        expect(missing).toEqual([]);
    });

    test.each(Object.entries(CHECKS).map(([kind, { title }]) => [title, kind as ArtifactKind]))("%s", (_title, kind) => {
        const of = ctx.artifacts.filter((a) => a.kind === kind);
        expect(CHECKS[kind].check(of, ctx)).toEqual([]);
    });

    test("HAProxy resolves backends through its own node's Consul agent DNS (loopback, the agents' DNS port)", () => {
        const dnsPorts = new Set(ctx.artifacts.filter((a) => consulServerFlag(a) === false).map((a) => JSON.parse(a.content).ports.dns));
        expect(dnsPorts.size).toBe(1);
        for (const a of ctx.artifacts.filter((x) => x.kind === "haproxy")) {
            const nameservers = [...a.content.matchAll(/^\s*nameserver\s+\S+\s+(\S+)/gm)].map((m) => m[1]);
            expect({ where: describeArtifact(a), nameservers }).toEqual({
                where: describeArtifact(a),
                nameservers: [`127.0.0.1:${[...dnsPorts][0]}`],
            });
        }
    });
});
