// Consul's mutual TLS proven by real TLS handshakes (issue #15): a Consul server's API stand-in
// (tests/system/consul/agent-api.js with the server's rendered config) serves HTTPS in a container
// with exactly the files the graph gives `consul-server-0` — its config, the CA, its certificate and
// key — and asks for client certificates where the config says `verify_incoming`. Then:
// - a client with no certificate, and one with a certificate of another CA, are refused in the
//   handshake; a client that expects another datacenter's server name refuses the server;
// - the graph's operator certificate (the `consulOperatorCertificate` output) is accepted, and the
//   server's certificate chains to the graph's CA under the name `verify_server_hostname` checks;
// - the program's own server scripts — the ACL bootstrap and the ready gate, their text as the graph
//   holds it — run unchanged beside it (in its network namespace, with curl and a `consul` CLI
//   stand-in that speaks the API as the real CLI does) and succeed over HTTPS.
// Consul itself cannot be installed here: what is real is the certificates, the TLS stack on both
// sides (Node's and curl's OpenSSL) and the scripts.
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { ProgramRun, REPO_ROOT } from "../harness/program";
import { certRequest, locallySignedCert, privateKey, selfSignedCert } from "../harness/tls";
import { docker, dockerResult, removeSystemTestObjects, UploadFile, uploadFiles, waitFor } from "./docker";
import { agentApiContainer } from "./agentApi";
import { buildImage } from "./images";
import { objectLabel, SystemSettings } from "./settings";
import { evaluateSwarmGraph, swarmFromGraph, swarmSettingsFromEnv } from "./swarm";

const TLS_LABEL = "swarm-platform.system-test.consul-tls";
const settings: SystemSettings = {
    ...swarmSettingsFromEnv(),
    namePrefix: process.env.CONSUL_TLS_TEST_PREFIX ?? "sptls-",
    subnet: process.env.CONSUL_TLS_TEST_SUBNET ?? "10.213.13.0/24",
    labelKey: TLS_LABEL,
};
const NETWORK = `${settings.namePrefix}net`;
const SERVER = `${settings.namePrefix}consul-server-0`;
const SCRIPTS = `${settings.namePrefix}consul-server-0-scripts`;

let run: ProgramRun;
let address: string;
let files: UploadFile[];
let serverConfig: Record<string, any>;
let ca: string;
let webImage: string;
let nodeImage: string;

/** `docker create`, then the files copied in as the Docker provider uploads them (uploadFiles). */
async function createWithFiles(name: string, createArgs: readonly string[], withFiles: readonly UploadFile[]) {
    await docker(["create", "--name", name, "--label", objectLabel(settings), ...createArgs]);
    await uploadFiles(name, withFiles);
}

interface Outcome {
    readonly status?: number;
    readonly body?: string;
    readonly error?: string;
}

/** One HTTPS request to the server's API from this process, with these TLS options; the outcome, never a throw. */
function request(options: https.RequestOptions & { path: string }): Promise<Outcome> {
    return new Promise((resolve) => {
        const req = https.request(
            { host: address, port: serverConfig.ports.https, servername: "server.dc1.consul", ca, timeout: 5000, agent: false, ...options },
            (res) => {
                let body = "";
                res.setEncoding("utf8").on("data", (d: string) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode, body }));
                res.on("error", (e) => resolve({ error: e.message }));
            },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => resolve({ error: `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}` }));
        req.end();
    });
}

/** A client certificate of a CA that is not the stack's. */
function foreignClient(): { cert: string; key: string } {
    const caKey = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;
    const otherCa = selfSignedCert({
        privateKeyPem: caKey,
        subject: { commonName: "Consul CA dc1", organization: "swarm-platform" },
        isCaCertificate: true,
        validityPeriodHours: 24,
        allowedUses: ["cert_signing", "digital_signature"],
    }).certPem;
    const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;
    const csr = certRequest({ privateKeyPem: key, subject: { commonName: "operator.dc1.consul" } }).certRequestPem;
    const cert = locallySignedCert({
        certRequestPem: csr,
        caPrivateKeyPem: caKey,
        caCertPem: otherCa,
        validityPeriodHours: 24,
        allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
    }).certPem;
    return { cert, key };
}

beforeAll(async () => {
    await removeSystemTestObjects(settings.namePrefix, TLS_LABEL);
    run = await evaluateSwarmGraph(settings);
    const server = run.byName("consul-server-0");
    files = (server.inputs.uploads ?? []).map((u: any) => ({ path: u.file, content: u.content, mode: u.permissions ?? "0644" }));
    serverConfig = JSON.parse(files.find((f) => f.path === "/consul/config/server.json")!.content);
    ca = files.find((f) => f.path === serverConfig.tls.defaults.ca_file)!.content;
    address = serverConfig.advertise_addr;

    // The web image brings Node.js (agent-api.js), the swarm-node image sh, curl and the shell tools
    // the scripts use; both as the graph builds them.
    const spec = swarmFromGraph(run, settings);
    const web = spec.plane.images.find((b) => b.tag === spec.plane.web.image);
    if (web === undefined) throw new Error("graph: no build of the web image");
    for (const b of [web, ...spec.nodeImages]) await buildImage(b);
    webImage = web.tag;
    nodeImage = spec.nodeImages[spec.nodeImages.length - 1].tag;

    await docker(["network", "create", "--subnet", settings.subnet, "--label", objectLabel(settings), NETWORK]);
    const agentApi = agentApiContainer("0.3");
    // As root: the real agent runs as the consul user who owns these 0600 files; here nobody else exists.
    await createWithFiles(
        SERVER,
        [
            "--network",
            NETWORK,
            "--ip",
            address,
            "--user",
            "0",
            ...agentApi.flags,
            "--env",
            "CONSUL_CONFIG=/consul/config/server.json",
            webImage,
            ...agentApi.command,
        ],
        [...files, agentApi.file],
    );
    await docker(["start", SERVER]);
    await waitFor(
        "the server's HTTPS port",
        async () => {
            const r = await request({
                path: "/v1/status/leader",
                cert: run.outputs.consulOperatorCertificate,
                key: run.outputs.consulOperatorCertificate,
            });
            return r.status === 200 ? true : undefined;
        },
        30_000,
        250,
    );
}, 20 * 60_000);

afterAll(async () => {
    const logs = await dockerResult(["logs", SERVER]);
    if (process.env.CONSUL_TLS_TEST_LOGS === "1") console.log(logs.stdout, logs.stderr);
    await removeSystemTestObjects(settings.namePrefix, TLS_LABEL);
});

describe("Consul mutual TLS with the graph's certificates, by real handshakes", () => {
    test("the graph's server config asks for it: verify_incoming, verify_outgoing, verify_server_hostname, HTTPS on 8501", () => {
        expect(serverConfig.tls).toMatchObject({
            defaults: { verify_incoming: true, verify_outgoing: true },
            internal_rpc: { verify_server_hostname: true },
        });
        expect(serverConfig.ports.https).toBe(8501);
    });

    test("a client without a certificate is refused", async () => {
        const r = await request({ path: "/v1/status/leader" });
        expect(r.status).toBeUndefined();
        expect(r.error).toMatch(/certificate required|handshake failure|ECONNRESET|socket hang up/);
    });

    test("a client with a certificate of another CA is refused", async () => {
        const other = foreignClient();
        const r = await request({ path: "/v1/status/leader", ...other });
        expect(r.status).toBeUndefined();
        expect(r.error).toMatch(/unknown ca|decrypt error|bad certificate|ECONNRESET|socket hang up/);
    });

    test("the graph's operator certificate is accepted; the server's certificate chains to the graph's CA as server.dc1.consul", async () => {
        const pem = run.outputs.consulOperatorCertificate as string;
        const r = await request({ path: "/v1/status/leader", cert: pem, key: pem });
        expect(r).toEqual({ status: 200, body: `${address}:8300` });
        // By its address too (the certificate names it): how the edge and operators reach a server.
        expect((await request({ path: "/v1/status/leader", cert: pem, key: pem, servername: undefined })).status).toBe(200);
    });

    test("a client that expects another server name (another datacenter) refuses the server", async () => {
        const pem = run.outputs.consulOperatorCertificate as string;
        const r = await request({ path: "/v1/status/leader", cert: pem, key: pem, servername: "server.dc2.consul" });
        expect(r.error).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    });

    test("a client that trusts another CA refuses the server", async () => {
        const pem = run.outputs.consulOperatorCertificate as string;
        const r = await request({ path: "/v1/status/leader", cert: pem, key: pem, ca: selfSignedCertPem() });
        expect(r.error).toMatch(/self[- ]signed|unable to (get|verify)|UNABLE_TO|SELF_SIGNED/i);
    });

    test("plain HTTP answers on the server's loopback only, not on its address", async () => {
        const r = await dockerResult([
            "exec",
            SERVER,
            "node",
            "-e",
            `require("http").get("http://${address}:8500/v1/status/leader").on("error", (e) => { console.log(e.code); process.exit(3); })`,
        ]);
        expect(r.code).toBe(3);
        expect(r.stdout.trim()).toBe("ECONNREFUSED");
    });

    test("the program's ACL bootstrap and ready gate, as the graph holds them, succeed over HTTPS with the server's files", async () => {
        const consulCli = fs.readFileSync(path.join(REPO_ROOT, "tests/system/consul/consul-https"), "utf8");
        const tlsFiles = files.filter((f) => f.path.startsWith("/consul/config/tls/"));
        const scripts = [String(run.byName("consul-acl-bootstrap").inputs.stdin), String(run.byName("consul-server-0-ready").inputs.stdin)];
        for (const [i, script] of scripts.entries()) {
            const name = `${SCRIPTS}-${i}`;
            // In the server's network namespace, so 127.0.0.1:8501 is the server's, as under `docker exec`.
            await createWithFiles(
                name,
                ["-i", "--network", `container:${SERVER}`, "--env", "NODE_NAME=consul-server-0", "--entrypoint", "sh", nodeImage, "-s"],
                [...tlsFiles, { path: "/usr/local/bin/consul", content: consulCli, mode: "0755" }],
            );
            const r = await dockerResult(["start", "-ai", name], { input: script, timeoutMs: 120_000 });
            expect({ script: i, code: r.code, stderr: r.stderr }).toEqual({ script: i, code: 0, stderr: expect.any(String) });
        }
        const pem = run.outputs.consulOperatorCertificate as string;
        const made = JSON.parse((await request({ path: "/_standin/acl", cert: pem, key: pem })).body ?? "{}");
        // Every policy and token the script creates exists, and every call it made came over TLS.
        expect(Object.keys(made.policies).sort()).toEqual(["agent", "dns-read", "metrics-register", "prometheus", "web-register"]);
        expect(
            Object.values(made.tokens)
                .map((t: any) => t.Policies[0].Name)
                .sort(),
        ).toEqual(["agent", "dns-read", "metrics-register", "prometheus", "web-register"]);
        expect(made.calls.length).toBeGreaterThan(0);
        expect(made.calls.filter((c: any) => c.tls !== true)).toEqual([]);
        expect(made.calls.filter((c: any) => c.status === 403)).toEqual([]);
    });
});

/** A self-signed CA that signed nothing here. */
function selfSignedCertPem(): string {
    const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;
    return selfSignedCert({
        privateKeyPem: key,
        subject: { commonName: "another CA" },
        isCaCertificate: true,
        validityPeriodHours: 24,
        allowedUses: ["cert_signing"],
    }).certPem;
}
