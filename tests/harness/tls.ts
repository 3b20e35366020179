// Real key material for @pulumi/tls resources under Pulumi's mock runtime: a program that builds
// certificates (the dev edge's, Consul's) gets real PEMs back — keys from node's crypto, certificates
// and requests from `openssl` — so what the graph holds can be checked by the real tools (haproxy -c
// loads the edge's certificate; a TLS client verifies the chain against the generated CA).
//
// Shared by every mock in tests/ (tests/harness/program.ts; tests/system evaluates the graph through
// it). Each function mirrors the provider's resource of the same name: inputs as the program passes
// them (`privateKeyPem`, `subject`, `dnsNames`, `ipAddresses`, `allowedUses`, `isCaCertificate`,
// `validityPeriodHours`), outputs under the provider's names (`privateKeyPem`, `publicKeyPem`,
// `certPem`, `certRequestPem`). The provider's own semantics it follows: ECDSA keys are SEC1 PEM
// ("EC PRIVATE KEY"), RSA keys PKCS#1 ("RSA PRIVATE KEY"); `allowedUses` are its key usage names
// (https://registry.terraform.io/providers/hashicorp/tls/latest/docs/resources/locally_signed_cert#allowed_uses);
// a LocallySignedCert takes its SANs and subject from the request.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const TLS_TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** The provider's `allowedUses` names → OpenSSL's keyUsage / extendedKeyUsage names. */
const KEY_USAGE: Record<string, string> = {
    digital_signature: "digitalSignature",
    content_commitment: "nonRepudiation",
    key_encipherment: "keyEncipherment",
    data_encipherment: "dataEncipherment",
    key_agreement: "keyAgreement",
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
};
const EXTENDED_KEY_USAGE: Record<string, string> = {
    server_auth: "serverAuth",
    client_auth: "clientAuth",
    code_signing: "codeSigning",
    email_protection: "emailProtection",
};

function inTempDir<T>(files: Record<string, string>, run: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-mock-"));
    try {
        for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        return run(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] }).toString();

function subjectOf(subject: Record<string, unknown> | undefined): string {
    const parts: [string, unknown][] = [
        ["O", subject?.organization],
        ["OU", subject?.organizationalUnit],
        ["CN", subject?.commonName],
    ];
    const s = parts
        .filter(([, v]) => typeof v === "string" && v !== "")
        .map(([k, v]) => `/${k}=${String(v).replace(/[/\\]/g, "\\$&")}`)
        .join("");
    return s === "" ? "/" : s;
}

function sanOf(inputs: Record<string, any>): string | undefined {
    const names = [
        ...(inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`),
        ...(inputs.ipAddresses ?? []).map((ip: string) => `IP:${ip}`),
    ];
    return names.length === 0 ? undefined : names.join(",");
}

/** An `[ext]` section for the certificate's constraints and usages. */
function extensions(inputs: Record<string, any>): string {
    const uses: string[] = inputs.allowedUses ?? [];
    const lines = [`basicConstraints = critical,CA:${inputs.isCaCertificate === true ? "TRUE" : "FALSE"}`];
    const ku = uses.map((u) => KEY_USAGE[u]).filter((u): u is string => u !== undefined);
    const eku = uses.map((u) => EXTENDED_KEY_USAGE[u]).filter((u): u is string => u !== undefined);
    if (ku.length > 0) lines.push(`keyUsage = critical,${ku.join(",")}`);
    if (eku.length > 0) lines.push(`extendedKeyUsage = ${eku.join(",")}`);
    lines.push("subjectKeyIdentifier = hash");
    return `[ext]\n${lines.join("\n")}\n`;
}

/** What `openssl req` needs of a config file when everything else is given on the command line. */
const REQ_CONFIG = "[req]\ndistinguished_name = dn\n[dn]\n";

const days = (inputs: Record<string, any>) => String(Math.max(1, Math.ceil(Number(inputs.validityPeriodHours ?? 24) / 24)));

export function privateKey(inputs: Record<string, any>): Record<string, any> {
    const algorithm = inputs.algorithm ?? "RSA";
    const { privateKey: key, publicKey } =
        algorithm === "ECDSA"
            ? crypto.generateKeyPairSync("ec", {
                  namedCurve: { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" }[inputs.ecdsaCurve as string] ?? "P-224",
              })
            : algorithm === "ED25519"
              ? crypto.generateKeyPairSync("ed25519")
              : crypto.generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048) });
    const type = algorithm === "ECDSA" ? "sec1" : algorithm === "RSA" ? "pkcs1" : "pkcs8";
    return {
        ...inputs,
        privateKeyPem: key.export({ type, format: "pem" }).toString(),
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
}

export function selfSignedCert(inputs: Record<string, any>): Record<string, any> {
    const san = sanOf(inputs);
    const config = `${REQ_CONFIG}${extensions(inputs)}${san ? `subjectAltName = ${san}\n` : ""}`;
    const certPem = inTempDir({ "key.pem": inputs.privateKeyPem, "req.cnf": config }, (dir) =>
        openssl(dir, [
            "req",
            "-x509",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            subjectOf(inputs.subject),
            "-days",
            days(inputs),
            "-config",
            "req.cnf",
            "-extensions",
            "ext",
        ]),
    );
    return { ...inputs, certPem };
}

export function certRequest(inputs: Record<string, any>): Record<string, any> {
    const san = sanOf(inputs);
    const certRequestPem = inTempDir({ "key.pem": inputs.privateKeyPem }, (dir) =>
        openssl(dir, [
            "req",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            subjectOf(inputs.subject),
            "-config",
            "/dev/null",
            ...(san ? ["-addext", `subjectAltName = ${san}`] : []),
        ]),
    );
    return { ...inputs, certRequestPem };
}

export function locallySignedCert(inputs: Record<string, any>): Record<string, any> {
    const certPem = inTempDir(
        {
            "req.pem": inputs.certRequestPem,
            "ca.pem": inputs.caCertPem,
            "ca-key.pem": inputs.caPrivateKeyPem,
            "ext.cnf": `${extensions(inputs)}authorityKeyIdentifier = keyid\n`,
        },
        (dir) =>
            openssl(dir, [
                "x509",
                "-req",
                "-in",
                "req.pem",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-set_serial",
                `0x${crypto.randomBytes(12).toString("hex")}`,
                "-days",
                days(inputs),
                "-copy_extensions",
                "copy",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "ext",
            ]),
    );
    return { ...inputs, certPem };
}

/** Pulumi's marker of a secret value as mocks receive it (sdk/nodejs/runtime/rpc.ts, specialSigKey / specialSecretSig). */
const SECRET_SIG = { key: "4dabf18193072939515e22adb298388d", value: "1b47061264138c4ac30d75fd1eb44270" } as const;

/** `value` with every secret wrapper removed (a program passes private keys as secrets). */
function plain(value: any): any {
    if (Array.isArray(value)) return value.map(plain);
    if (value !== null && typeof value === "object") {
        if (value[SECRET_SIG.key] === SECRET_SIG.value) return plain(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

/**
 * States made so far, by type, name and inputs: the same resource with the same inputs gets the same
 * key and certificate again, as a real engine keeps them in state between two `pulumi up` — so a
 * program evaluated twice yields the same graph (tests/artifacts checks byte-identical artifacts).
 */
const made = new Map<string, Record<string, any>>();

/** The mock state of a tls resource (`name` its logical name), or undefined for any other type. */
export function mockTlsState(type: string, name: string, rawInputs: Record<string, any>): Record<string, any> | undefined {
    const inputs = plain(rawInputs);
    if (!(Object.values(TLS_TYPES) as string[]).includes(type)) return undefined;
    const key = `${type}\u0000${name}\u0000${JSON.stringify(inputs)}`;
    const known = made.get(key);
    if (known !== undefined) return known;
    const state = freshTlsState(type, inputs);
    if (state !== undefined) made.set(key, state);
    return state;
}

/**
 * Whether the provider plans a certificate (SelfSignedCert, LocallySignedCert) for replacement
 * `hoursSinceIssue` hours after it was issued, as terraform-provider-tls (bridged by @pulumi/tls)
 * decides it:
 * - internal/provider/attribute_plan_modifier_bool/default_value.go (`readyForRenewalAttributePlanModifier`):
 *   `ready_for_renewal` is planned true when `validity_period_hours` is 0 or `early_renewal_hours`
 *   ≥ `validity_period_hours` — such a certificate is replaced by every `up`;
 * - internal/provider/common_cert.go `modifyPlanIfCertificateReadyForRenewal`: once
 *   `validity_end_time - early_renewal_hours` has passed ("If 'early renewal' time has passed, mark it
 *   'ready for renewal'"), `ready_for_renewal` becomes unknown and is added to RequiresReplace; the same
 *   test in `modifyStateIfCertificateReadyForRenewal` on Read. `early_renewal_hours` defaults to 0
 *   (int64default.StaticInt64(0)): an expired certificate is replaced by the next `up`.
 * Nothing runs between two `up`s: a certificate is renewed by the first `up` inside its window.
 */
export function readyForRenewal(inputs: Record<string, any>, hoursSinceIssue: number): boolean {
    const validity = Number(inputs.validityPeriodHours ?? 0);
    const early = Number(inputs.earlyRenewalHours ?? 0);
    if (validity === 0 || early >= validity) return true;
    return hoursSinceIssue >= validity - early;
}

/** The certificate types that renew (readyForRenewal). */
export const RENEWING_TYPES: readonly string[] = [TLS_TYPES.selfSignedCert, TLS_TYPES.locallySignedCert];

function freshTlsState(type: string, inputs: Record<string, any>): Record<string, any> | undefined {
    switch (type) {
        case TLS_TYPES.privateKey:
            return privateKey(inputs);
        case TLS_TYPES.selfSignedCert:
            return { ...selfSignedCert(inputs), readyForRenewal: readyForRenewal(inputs, 0) };
        case TLS_TYPES.certRequest:
            return certRequest(inputs);
        case TLS_TYPES.locallySignedCert:
            return { ...locallySignedCert(inputs), readyForRenewal: readyForRenewal(inputs, 0) };
        default:
            return undefined;
    }
}
