// A CA and the certificates it signs, from @pulumi/tls: one shape for every CA of the stack (the dev
// edge's, Consul's). Keys are ECDSA P-256 and stay Pulumi secrets (the provider marks `privateKeyPem`
// secret). Resource names: `<prefix>-ca-key`, `<prefix>-ca` for a CA; `<prefix>-key`, `<prefix>-csr`,
// `<prefix>-cert` for a certificate — never to change once shipped.
// A LocallySignedCert takes its subject and SANs from the request
// (https://registry.terraform.io/providers/hashicorp/tls/latest/docs/resources/locally_signed_cert);
// within `earlyRenewalHours` of its end a `pulumi up` replaces a certificate (tests/harness/tls.ts readyForRenewal).
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

const KEY_ARGS = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

export interface Lifetime {
    readonly validityPeriodHours: number;
    readonly earlyRenewalHours: number;
}

export interface IssuedPem {
    /** The private key (a secret Output). */
    readonly keyPem: pulumi.Output<string>;
    readonly certPem: pulumi.Output<string>;
}

/** A self-signed CA: `<prefix>-ca-key`, `<prefix>-ca`. */
export function selfSignedCa(
    prefix: string,
    args: Lifetime & { readonly subject: tls.types.input.SelfSignedCertSubject; readonly allowedUses: string[] },
    opts: pulumi.CustomResourceOptions,
): IssuedPem {
    const key = new tls.PrivateKey(`${prefix}-ca-key`, KEY_ARGS, opts);
    const cert = new tls.SelfSignedCert(
        `${prefix}-ca`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: args.subject,
            isCaCertificate: true,
            validityPeriodHours: args.validityPeriodHours,
            earlyRenewalHours: args.earlyRenewalHours,
            allowedUses: args.allowedUses,
        },
        opts,
    );
    return { keyPem: key.privateKeyPem, certPem: cert.certPem };
}

/** A key, its request and the certificate `ca` signs for it: `<prefix>-key`, `<prefix>-csr`, `<prefix>-cert`. */
export function signedCertificate(
    prefix: string,
    ca: IssuedPem,
    args: Lifetime & {
        readonly subject: tls.types.input.CertRequestSubject;
        readonly dnsNames: string[];
        readonly ipAddresses: string[];
        readonly allowedUses: string[];
    },
    opts: pulumi.CustomResourceOptions,
): IssuedPem {
    const key = new tls.PrivateKey(`${prefix}-key`, KEY_ARGS, opts);
    const request = new tls.CertRequest(
        `${prefix}-csr`,
        { privateKeyPem: key.privateKeyPem, subject: args.subject, dnsNames: args.dnsNames, ipAddresses: args.ipAddresses },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${prefix}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: ca.keyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: args.validityPeriodHours,
            earlyRenewalHours: args.earlyRenewalHours,
            allowedUses: args.allowedUses,
        },
        opts,
    );
    return { keyPem: key.privateKeyPem, certPem: cert.certPem };
}
