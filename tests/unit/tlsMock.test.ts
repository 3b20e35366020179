// The shared mock of @pulumi/tls (tests/harness/tls.ts) makes real material: a CA, a leaf it signs
// with the request's SANs and the asked usages, verified by openssl and by a real TLS handshake.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { certRequest, locallySignedCert, mockTlsState, privateKey, readyForRenewal, selfSignedCert, TLS_TYPES } from "../harness/tls";

const caKey = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
const ca = selfSignedCert({
    privateKeyPem: caKey.privateKeyPem,
    subject: { commonName: "test CA", organization: "swarm-platform" },
    isCaCertificate: true,
    validityPeriodHours: 87600,
    allowedUses: ["cert_signing", "crl_signing"],
});
const leafKey = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
const csr = certRequest({
    privateKeyPem: leafKey.privateKeyPem,
    subject: { commonName: "localhost" },
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
});
const leaf = locallySignedCert({
    certRequestPem: csr.certRequestPem,
    caPrivateKeyPem: caKey.privateKeyPem,
    caCertPem: ca.certPem,
    validityPeriodHours: 8760,
    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
});

test("keys are PEM in the provider's formats: ECDSA as SEC1", () => {
    expect(caKey.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(caKey.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(privateKey({ algorithm: "RSA", rsaBits: 2048 }).privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
});

test("the leaf chains to the CA, carries the request's SANs and the usages asked for", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-mock-test-"));
    fs.writeFileSync(path.join(dir, "ca.pem"), ca.certPem);
    fs.writeFileSync(path.join(dir, "leaf.pem"), leaf.certPem);
    expect(execFileSync("openssl", ["verify", "-CAfile", "ca.pem", "leaf.pem"], { cwd: dir }).toString()).toBe("leaf.pem: OK\n");
    const text = execFileSync("openssl", ["x509", "-in", "leaf.pem", "-noout", "-text"], { cwd: dir }).toString();
    expect(text).toContain("DNS:localhost, IP Address:127.0.0.1");
    expect(text).toContain("TLS Web Server Authentication");
    expect(text).toMatch(/CA:FALSE/);
    const caText = execFileSync("openssl", ["x509", "-in", "ca.pem", "-noout", "-text"], { cwd: dir }).toString();
    expect(caText).toMatch(/CA:TRUE/);
    expect(caText).toContain("Certificate Sign, CRL Sign");
    fs.rmSync(dir, { recursive: true, force: true });
});

test("a TLS client that trusts only the CA completes a handshake with the leaf for 127.0.0.1 and localhost", async () => {
    const server = tls.createServer({ key: leafKey.privateKeyPem, cert: leaf.certPem }, (s) => s.end("hi"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as import("net").AddressInfo).port;
    const connect = (servername?: string) =>
        new Promise<string>((resolve, reject) => {
            const c = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, servername }, () => undefined);
            let data = "";
            c.on("data", (d) => (data += d));
            c.on("end", () => resolve(data));
            c.on("error", reject);
        });
    try {
        expect(await connect()).toBe("hi");
        expect(await connect("localhost")).toBe("hi");
        await expect(connect("example.com")).rejects.toThrow(/altnames/);
    } finally {
        server.close();
    }
});

describe("renewal, as the provider plans it (readyForRenewal)", () => {
    const cert = { validityPeriodHours: 8760, earlyRenewalHours: 720 };
    test("inside the validity minus the early-renewal window: not yet", () => {
        expect(readyForRenewal(cert, 0)).toBe(false);
        expect(readyForRenewal(cert, 8039)).toBe(false);
    });
    test("from validity − earlyRenewalHours on: replaced by the next up (and after expiry too)", () => {
        expect(readyForRenewal(cert, 8040)).toBe(true);
        expect(readyForRenewal(cert, 9000)).toBe(true);
    });
    test("earlyRenewalHours defaults to 0: only an expired certificate renews", () => {
        expect(readyForRenewal({ validityPeriodHours: 24 }, 23)).toBe(false);
        expect(readyForRenewal({ validityPeriodHours: 24 }, 24)).toBe(true);
    });
    test("a window as long as the validity (or a validity of 0) renews on every up", () => {
        expect(readyForRenewal({ validityPeriodHours: 24, earlyRenewalHours: 24 }, 0)).toBe(true);
        expect(readyForRenewal({ validityPeriodHours: 0 }, 0)).toBe(true);
    });
    test("a fresh certificate's state says so, as the provider's plan modifier sets it", () => {
        expect(leaf.readyForRenewal).toBeUndefined(); // the bare function; the mock's state adds it:
        const state = mockTlsState(TLS_TYPES.locallySignedCert, "t", {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            ...cert,
            allowedUses: ["server_auth"],
        });
        expect(state?.readyForRenewal).toBe(false);
    });
});
