/**
 * Each checker really runs: it accepts a real artifact from the dev (or prod) stack's graph and
 * rejects the same artifact broken on purpose, for the reason given. A missing tool fails, never skips.
 */
import * as yaml from "js-yaml";
import { Artifact, collectArtifacts, filesOnNode } from "../harness/artifacts";
import { clusterTlsProblems, tlsPosture } from "../harness/consulTls";
import { ProgramRun, runProgram } from "../harness/program";
import { privateKey, selfSignedCert } from "../harness/tls";
import {
    CheckResult,
    cloudConfigCheck,
    consulCheck,
    consulTlsCheck,
    daemonJsonCheck,
    disposeCheckers,
    dockerClientJsonCheck,
    haproxyCheck,
    haproxyLuaCheck,
    consulServicesCheck,
    javascriptCheck,
    pemCheck,
    prometheusDefaultsCheck,
    keepalivedCheck,
    requireTool,
    reservedSubnets,
    shellCheck,
    systemdUnitCheck,
} from "./checkers";

let dev: ProgramRun;
let artifacts: Artifact[];
/** The prod stack's artifacts (the aws platform): cloud-config user data, the Docker client config. */
let prodArtifacts: Artifact[];
beforeAll(async () => {
    dev = await runProgram("dev");
    artifacts = collectArtifacts(dev);
    prodArtifacts = collectArtifacts(await runProgram("prod"));
});
afterAll(disposeCheckers);

/** The artifact at `path` that `node` receives (dev unless `from` says otherwise). */
const file = (node: string, path: string, from = () => artifacts): string => {
    const found = from().find((a) => (a.node ?? a.resource) === node && a.path === path);
    if (!found) throw new Error(`no artifact ${path} on ${node}`);
    return found.content;
};
const prod = () => prodArtifacts;
/** `text` with `from` replaced by `to`; fails if `from` is not there (the break must really happen). */
const broken = (text: string, from: string | RegExp, to: string): string => {
    const out = text.replace(from, to);
    if (out === text) throw new Error(`${from} not found: nothing was broken`);
    return out;
};
const expectAccepted = (r: CheckResult) => expect(r).toEqual({ ok: true, output: expect.any(String) });
const expectRejected = (r: CheckResult, why: RegExp) => {
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(why);
};

describe("Consul TLS (openssl, and the agents' settings side by side)", () => {
    const tlsOf = (node: string) => ({
        ca: file(node, "/consul/config/tls/ca.pem"),
        cert: file(node, "/consul/config/tls/server.pem"),
        key: file(node, "/consul/config/tls/server-key.pem"),
    });
    const names = ["server.dc1.consul", "localhost", "127.0.0.1", "10.77.0.20"];

    test("a server's certificate chains to the CA and names the server; a foreign CA, a missing name or another key is rejected", () => {
        const own = tlsOf("consul-server-0");
        const address = JSON.parse(file("consul-server-0", "/consul/config/server.json")).advertise_addr;
        const serverNames = [...names.slice(0, 3), address];
        expectAccepted(consulTlsCheck(own, serverNames));
        const foreignKey = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;
        const foreignCa = selfSignedCert({
            privateKeyPem: foreignKey,
            subject: { commonName: "another CA" },
            isCaCertificate: true,
            validityPeriodHours: 24,
            allowedUses: ["cert_signing"],
        }).certPem;
        expectRejected(consulTlsCheck({ ...own, ca: foreignCa }, serverNames), /does not chain to the CA/);
        expectRejected(consulTlsCheck(own, [...serverNames, "server.dc2.consul"]), /does not name server\.dc2\.consul/);
        expectRejected(consulTlsCheck({ ...own, key: tlsOf("consul-server-1").key }, serverNames), /not the certificate's/);
        expectRejected(consulTlsCheck({ ...own, ca: own.cert }, serverNames), /not a CA certificate/);
    });

    test("the agents' settings: an enforcing server refuses a plaintext agent; a TLS dialer needs a server with a certificate", () => {
        const config = (node: string, name: string) => JSON.parse(file(node, `/consul/config/${name}`));
        const agents = {
            s0: config("consul-server-0", "server.json"),
            s1: config("consul-server-1", "server.json"),
            s2: config("consul-server-2", "server.json"),
            lb0: config("lb-0", "client.json"),
        };
        const problems = (a: Record<string, Record<string, any>>) =>
            clusterTlsProblems(Object.entries(a).map(([k, c]) => tlsPosture(k, c)));
        expect(problems(agents)).toEqual([]);
        const { tls: _t, auto_encrypt: _a, ...plaintextClient } = agents.lb0;
        expect(problems({ ...agents, lb0: plaintextClient })).toEqual([
            "lb0 dials in plaintext, s0 requires TLS with a client certificate",
            "lb0 dials in plaintext, s1 requires TLS with a client certificate",
            "lb0 dials in plaintext, s2 requires TLS with a client certificate",
        ]);
        const { tls: _u, auto_encrypt: _b, ...plaintextServer } = agents.s2;
        expect(problems({ ...agents, s2: plaintextServer })).toEqual(
            expect.arrayContaining([
                "s0 dials over TLS, s2 has no certificate and refuses TLS",
                "s2 dials in plaintext, s0 requires TLS with a client certificate",
                "lb0 wants its certificate from s2, which has no auto_encrypt.allow_tls",
            ]),
        );
    });
});

describe("haproxy -c", () => {
    test("rejects the LB config with an unknown keyword", () => {
        const cfg = file("lb-0", "/etc/haproxy/haproxy.cfg");
        // With the Lua service the node's image holds (lua-load); without it haproxy -c fails.
        const lb = artifacts.find((a) => a.node === "lb-0" && a.path === "/etc/haproxy/haproxy.cfg");
        const files = lb === undefined ? new Map<string, string>() : filesOnNode(dev, artifacts, lb);
        expectAccepted(haproxyCheck(cfg, files));
        expectRejected(haproxyCheck(broken(cfg, "    retries 3\n", "    retriez 3\n"), files), /unknown keyword 'retriez'/);
        expectRejected(haproxyCheck(cfg), /keepalived_metrics\.lua/);
    });

    test("rejects the edge config with an invalid mode", () => {
        const cfg = file("local-edge", "/etc/haproxy/edge.cfg");
        const files = new Map(
            ["/etc/haproxy/edge.pem", "/etc/haproxy/consul-ui-ca.pem", "/etc/haproxy/consul-ui-client.pem"].map((p) => [
                p,
                file("local-edge", p),
            ]),
        );
        expectAccepted(haproxyCheck(cfg, files));
        expectRejected(haproxyCheck(broken(cfg, "    mode http\n", "    mode httpx\n"), files), /unknown proxy mode 'httpx'/);
        // Without the certificate on the node, the edge would not start: haproxy -c says so.
        expectRejected(haproxyCheck(cfg), /edge\.pem/);
    });

    test("openssl: the edge's PEM holds a certificate and its own key; a foreign key or none is rejected", () => {
        const pem = file("local-edge", "/etc/haproxy/edge.pem");
        expectAccepted(pemCheck(pem));
        const certOnly = pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + "-----END CERTIFICATE-----\n".length);
        expectRejected(pemCheck(certOnly), /no private key/);
        expectRejected(
            pemCheck(`${certOnly}${privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem}`),
            /not the certificate's/,
        );
    });
});

describe("keepalived -t", () => {
    const conf = () => file("lb-0", "/etc/keepalived/keepalived.conf");
    /** lb-0's files: its uploads and what the LB image installs (the tracked script). */
    const onLb0 = () => filesOnNode(dev, artifacts, artifacts.find((a) => a.resource === "lb-0" && a.kind === "keepalived")!);

    test("rejects an unknown keyword and a missing brace", () => {
        expectAccepted(keepalivedCheck(conf(), onLb0()));
        expectRejected(
            keepalivedCheck(broken(conf(), "check_unicast_src\n", "check_unicast_srcx\n"), onLb0()),
            /Unknown keyword 'check_unicast_srcx'/,
        );
        expectRejected(keepalivedCheck(broken(conf(), "unicast_peer {", "unicast_peer"), onLb0()), /Extra '}' found/);
    });

    test("rejects a config whose tracked script nothing ships", () => {
        expectRejected(
            keepalivedCheck(conf(), new Map()),
            /keepalived runs \/usr\/local\/bin\/check_haproxy\.sh, but no image or artifact ships/,
        );
    });
});

describe("shellcheck", () => {
    const init = () => file("swarm-init", "stdin");

    test("rejects the swarm init script with a syntax error", () => {
        expectAccepted(shellCheck(init(), "sh"));
        expectRejected(shellCheck(`${init()}if true; then\n`, "sh"), /SC1046|SC1047|SC1073/);
    });

    test("rejects the ACL bootstrap script with an unquoted expansion (SC2086)", () => {
        const acl = file("consul-acl-bootstrap", "stdin");
        expectAccepted(shellCheck(acl, "sh"));
        expectRejected(shellCheck(broken(acl, '@"$rules"', "@$rules"), "sh"), /SC2086/);
    });
});

describe("Consul configs", () => {
    const configs = () => artifacts.filter((a) => a.kind === "consul-json").map((a) => ({ where: `${a.resource}`, text: a.content }));
    /** The cluster's configs with `resource`'s config changed by `edit`. */
    const edited = (resource: string, edit: (c: Record<string, any>) => void) =>
        configs().map((c) => {
            if (c.where !== resource) return c;
            const json = JSON.parse(c.text);
            edit(json);
            return { where: c.where, text: JSON.stringify(json) };
        });

    test("accept the real cluster", () => {
        expectAccepted(consulCheck(configs(), ["consul-servers"]));
    });

    test.each<[string, string, (c: Record<string, any>) => void, RegExp]>([
        [
            "default_policy allow",
            "consul-server-0",
            (c) => (c.acl.default_policy = "allow"),
            /consul-server-0: acl.default_policy is "allow"/,
        ],
        ["ACLs off", "lb-0", (c) => (c.acl.enabled = false), /lb-0: acl.enabled is not true/],
        ["bootstrap_expect off by one", "consul-server-1", (c) => (c.bootstrap_expect = 2), /bootstrap_expect 2, but there are 3 servers/],
        ["another gossip key on one agent", "swarm-worker-0", (c) => (c.encrypt = "other"), /encrypt \(gossip key\) differs/],
        ["no gossip key", "swarm-worker-1", (c) => delete c.encrypt, /swarm-worker-1: encrypt \(gossip key\) missing/],
        ["retry_join naming one server only", "swarm-manager-0", (c) => (c.retry_join = ["consul-server-0"]), /is not exactly the servers/],
        [
            "retry_join naming a group the servers do not share",
            "lb-0",
            (c) => (c.retry_join = ["consul-clients"]),
            /is not exactly the servers/,
        ],
        ["a client listening on every address", "lb-1", (c) => (c.client_addr = "0.0.0.0"), /client_addr "0.0.0.0"/],
        ["another DNS port on one agent", "lb-1", (c) => (c.ports.dns = 53), /ports differs/],
    ])("reject %s", (_what, resource, edit, why) => {
        expectRejected(consulCheck(edited(resource, edit), ["consul-servers"]), why);
    });

    test("reject malformed JSON", () => {
        expectRejected(consulCheck([{ where: "x", text: "{" }]), /x: not JSON/);
    });
});

describe("daemon.json", () => {
    const daemon = () => JSON.parse(file("swarm-worker-0", "/etc/docker/daemon.json"));
    const check = (config: unknown) => daemonJsonCheck(JSON.stringify(config), reservedSubnets(dev.resources, artifacts));

    test("rejects live-restore true", () => {
        expectAccepted(check(daemon()));
        expectRejected(check({ ...daemon(), "live-restore": true }), /live-restore is true/);
    });

    test("rejects address pools overlapping the nodes' network or the swarm overlay pool", () => {
        expect(reservedSubnets(dev.resources, artifacts).map((r) => r.cidr)).toEqual(["10.77.0.0/24", "10.214.0.0/16"]);
        expectRejected(
            check({ ...daemon(), "default-address-pools": [{ base: "10.77.0.0/16", size: 24 }] }),
            /overlaps the network local-network 10\.77\.0\.0\/24/,
        );
        expectRejected(
            check({ ...daemon(), "default-address-pools": [{ base: "10.214.8.0/22", size: 24 }] }),
            /overlaps the swarm overlay pool/,
        );
    });
});

describe("Docker client config", () => {
    test("rejects a registry password inline in the file", () => {
        const config = JSON.parse(file("swarm-worker-0", "/root/.docker/config.json", prod));
        expectAccepted(dockerClientJsonCheck(JSON.stringify(config)));
        const inline = { ...config, auths: { "registry.example.com": { auth: Buffer.from("user:pass").toString("base64") } } };
        expectRejected(dockerClientJsonCheck(JSON.stringify(inline)), /auths\.registry\.example\.com\.auth: a registry credential inline/);
        expectRejected(dockerClientJsonCheck("{"), /not JSON/);
    });
});

describe("cloud-init schema (the prod stack's real user data)", () => {
    const userData = () => file("lb-0", "userData", prod);
    const withKeys = (extra: Record<string, unknown>) => "#cloud-config\n" + yaml.dump({ ...(yaml.load(userData()) as object), ...extra });

    test("rejects a misspelt top-level key (which cloud-init 22.4 itself would ignore)", () => {
        expectAccepted(cloudConfigCheck(userData()));
        expectRejected(cloudConfigCheck(withKeys({ write_file: [] })), /unknown top-level key "write_file"/);
    });

    test("rejects an invalid key inside a module, a wrong type and a missing #cloud-config header", () => {
        const [first] = (yaml.load(userData()) as any).write_files;
        expectRejected(cloudConfigCheck(withKeys({ write_files: [{ ...first, contents: "x" }] })), /'contents' was unexpected/);
        expectRejected(cloudConfigCheck(withKeys({ runcmd: "systemctl restart haproxy" })), /runcmd: .* is not of type 'array'/);
        expectRejected(cloudConfigCheck(broken(userData(), "#cloud-config\n", "")), /needs to begin with "#cloud-config"/);
    });
});

describe("systemd-analyze verify (the prod stack's IMDS guard unit)", () => {
    const unitPath = "/etc/systemd/system/swarm-platform-imds-guard.service";
    const unit = () => file("swarm-worker-0", unitPath, prod);

    test("rejects an unknown directive value and a command that does not exist", () => {
        expectAccepted(systemdUnitCheck(unitPath, unit()));
        expectRejected(systemdUnitCheck(unitPath, broken(unit(), "Type=oneshot", "Type=oneshoot")), /Failed to parse service type/);
        expectRejected(
            systemdUnitCheck(unitPath, broken(unit(), "ExecStart=/usr/sbin/iptables", "ExecStart=/usr/sbin/iptablez")),
            /not executable/,
        );
    });
});

describe("the Prometheus node's and LB nodes' metrics files (the prod stack's)", () => {
    test("a metrics-* service definition without its path, token or prefix is rejected", () => {
        const defs = file("lb-0", "/consul/config/metrics.json");
        expectAccepted(consulServicesCheck(defs));
        expectRejected(
            consulServicesCheck(broken(defs, '"metrics_path": "/metrics"', '"metrics_path": "metrics"')),
            /metrics_path missing or not absolute/,
        );
        expectRejected(consulServicesCheck(broken(defs, '"name": "metrics-haproxy"', '"name": "haproxy"')), /is not metrics-<job>/);
        const noToken = JSON.parse(defs);
        delete noToken.services[0].token;
        expectRejected(consulServicesCheck(JSON.stringify(noToken)), /no token to register with/);
    });

    test("HAProxy rejects a Lua service with a syntax error, or one that registers nothing loadable", () => {
        const lua = file("lb-0", "/etc/haproxy/keepalived_metrics.lua", prod);
        expectAccepted(haproxyLuaCheck(lua));
        expectRejected(haproxyLuaCheck(broken(lua, "applet:send(body)", "applet:send(body")), /keepalived_metrics|lua/i);
        expectRejected(haproxyLuaCheck(broken(lua, "core.register_service(", "core.register_servicez(")), /register_servicez|lua/i);
    });

    test("node --check rejects the catalog bridge with a syntax error", () => {
        const js = file("monitoring-prometheus", "/usr/local/lib/consul-http-sd.js", prod);
        expectAccepted(javascriptCheck(js));
        expectRejected(javascriptCheck(broken(js, "function targetGroup(entry) {", "function targetGroup(entry) {{")), /SyntaxError/);
    });

    test("prometheus rejects an unknown flag in /etc/default/prometheus, and a line that is not ARGS", () => {
        const defaults = file("monitoring-prometheus", "/etc/default/prometheus", prod);
        expectAccepted(prometheusDefaultsCheck(defaults));
        expectRejected(
            prometheusDefaultsCheck(broken(defaults, "--storage.tsdb.retention.time=", "--storage.tsdb.retention.tyme=")),
            /unknown long flag/,
        );
        expectRejected(prometheusDefaultsCheck(`OPTS="x"\n`), /not one line ARGS/);
    });
});

test("a missing checker fails the suite with the apt-get line that installs it, instead of skipping", () => {
    expect(() => requireTool("haproxy-not-installed", ["-v"], "haproxy")).toThrow(
        /haproxy-not-installed is needed .* apt-get install -y --no-install-recommends haproxy$/,
    );
});
