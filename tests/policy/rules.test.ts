// Each rule of the policy pack, offline: one resource (or graph) that passes and one that fails.
import {
    checkAll,
    containerLimits,
    detailedMonitoring,
    encryptedVolumes,
    imdsV2Required,
    noPublicIngress,
    noPublicIp,
    oddQuorum,
    publicListenerTls,
    RuleResource,
    secretContent,
    secretsAtRest,
    secretsMarkedSecret,
    TYPES,
    UNKNOWN,
    unmarkedSecrets,
} from "../../policy/rules";

const urnOf = (type: string, name: string, parentType?: string) =>
    `urn:pulumi:test::swarm-platform::${parentType ? `${parentType}$` : ""}${type}::${name}`;

function res(type: string, name: string, props: Record<string, unknown> = {}, extra: Partial<RuleResource> = {}): RuleResource {
    return { type, name, urn: urnOf(type, name), props, ...extra };
}

/** A cluster component with `n` child nodes named `<role>-<i>`. */
function cluster(component: string, name: string, role: string, n: number, nodeType: string = TYPES.container): RuleResource[] {
    const parent = res(component, name);
    const nodes = Array.from({ length: n }, (_, i) => ({
        ...res(nodeType, `${role}-${i}`, {}, { parent: parent.urn }),
        urn: urnOf(nodeType, `${role}-${i}`, component),
    }));
    return [parent, ...nodes];
}

describe("odd-quorum", () => {
    test("3 Consul servers and 3 managers pass; agents beside managers and workers do not count", () => {
        const graph = [
            ...cluster(TYPES.consulCluster, "consul", "consul-server", 3),
            ...cluster(TYPES.swarmCluster, "swarm", "swarm-manager", 3),
            ...cluster(TYPES.swarmCluster, "swarm2", "swarm-worker", 2).slice(1),
            res(TYPES.container, "swarm-manager-0-consul-agent"),
        ];
        expect(oddQuorum(graph)).toEqual([]);
    });

    test("4 Consul servers fail, reported on the component", () => {
        const graph = cluster(TYPES.consulCluster, "consul", "consul-server", 4);
        expect(oddQuorum(graph)).toEqual([
            {
                urn: graph[0].urn,
                message: expect.stringMatching(/^Consul servers of consul: 4 \(consul-server-0, .*consul-server-3\); .* odd number/),
            },
        ]);
    });

    test("managers are found by their swarm-platform:role tag too (EC2 instances)", () => {
        const [swarm, ...nodes] = cluster(TYPES.swarmCluster, "swarm", "node", 2, TYPES.instance);
        const tagged = nodes.map((n) => ({ ...n, props: { tags: { "swarm-platform:role": "swarm-manager" } } }));
        expect(oddQuorum([swarm, ...tagged]).map((v) => v.message)).toEqual([expect.stringMatching(/^Swarm managers of swarm: 2/)]);
        expect(oddQuorum([swarm, ...tagged.slice(1)])).toEqual([]);
    });
});

describe("public-listener-tls", () => {
    /** A load balancer (internet-facing unless `internal`) with one listener of these props. */
    function lbGraph(listener: Record<string, unknown>, internal = false): RuleResource[] {
        const lb = res("aws:lb/loadBalancer:LoadBalancer", "alb", { internal });
        const l = res("aws:lb/listener:Listener", "web", listener, { propertyDependencies: { loadBalancerArn: [lb.urn] } });
        return [lb, l];
    }
    const forward = [{ type: "forward", targetGroupArn: "arn:tg" }];
    const toHttps = [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }];

    test("HTTPS or TLS with a TLS 1.2+ policy passes, and HTTP that only redirects to HTTPS", () => {
        expect(
            publicListenerTls(lbGraph({ protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", defaultActions: forward })),
        ).toEqual([]);
        expect(
            publicListenerTls(lbGraph({ protocol: "TLS", sslPolicy: "ELBSecurityPolicy-TLS13-1-3-2021-06", defaultActions: forward })),
        ).toEqual([]);
        expect(publicListenerTls(lbGraph({ protocol: "HTTP", defaultActions: toHttps }))).toEqual([]);
    });

    test("plain HTTP or TCP that forwards, an old or unset TLS policy, a redirect to HTTP: each fails, on the listener", () => {
        expect(publicListenerTls(lbGraph({ protocol: "HTTP", defaultActions: forward }))).toEqual([
            { urn: urnOf("aws:lb/listener:Listener", "web"), message: "web: is plain HTTP that does not only redirect to HTTPS" },
        ]);
        expect(publicListenerTls(lbGraph({ protocol: "TCP", defaultActions: forward })).map((v) => v.message)).toEqual([
            'web: protocol is "TCP"; a public listener must be HTTPS or TLS (or HTTP redirecting to HTTPS)',
        ]);
        expect(publicListenerTls(lbGraph({ protocol: "HTTPS", defaultActions: forward })).map((v) => v.message)).toEqual([
            "web: sslPolicy is unset; a public TLS listener must accept TLS 1.2 and 1.3 only (ELBSecurityPolicy-TLS13-1-2-…)",
        ]);
        expect(
            publicListenerTls(lbGraph({ protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-2016-08", defaultActions: forward })),
        ).toHaveLength(1);
        const toHttp = [{ type: "redirect", redirect: { protocol: "HTTP", port: "8080" } }];
        expect(publicListenerTls(lbGraph({ protocol: "HTTP", defaultActions: toHttp }))).toHaveLength(1);
        expect(publicListenerTls(lbGraph({ protocol: "HTTP", defaultActions: [] }))).toHaveLength(1);
    });

    test("an internal load balancer's listeners are not public", () => {
        expect(publicListenerTls(lbGraph({ protocol: "HTTP", defaultActions: forward }, true))).toEqual([]);
    });
});

describe("no-public-ingress", () => {
    /** An NLB with a security group and a listener on `listenerPort`, and an ingress rule on that group. */
    function nlbGraph(rule: Record<string, unknown>, listenerPort = 80): RuleResource[] {
        const sg = res(TYPES.securityGroup, "nlb-sg");
        const lb = res(
            "aws:lb/loadBalancer:LoadBalancer",
            "nlb",
            { internal: false },
            { propertyDependencies: { securityGroups: [sg.urn] } },
        );
        const listener = res(
            "aws:lb/listener:Listener",
            "web",
            { port: listenerPort },
            { propertyDependencies: { loadBalancerArn: [lb.urn] } },
        );
        const ingress = res(TYPES.ingressRule, "open", rule, { propertyDependencies: { securityGroupId: [sg.urn] } });
        return [sg, lb, listener, ingress];
    }

    test("0.0.0.0/0 to the load balancer's listener port on its own security group passes", () => {
        expect(noPublicIngress(nlbGraph({ cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 80, toPort: 80 }))).toEqual([]);
    });

    test("0.0.0.0/0 to any other port, a port range, or a group without a load balancer fails", () => {
        expect(noPublicIngress(nlbGraph({ cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 22, toPort: 22 }))).toEqual([
            {
                urn: urnOf(TYPES.ingressRule, "open"),
                message: expect.stringMatching(/^open: ingress from 0\.0\.0\.0\/0 \(protocol "tcp", ports 22-22\)/),
            },
        ]);
        expect(noPublicIngress(nlbGraph({ cidrIpv6: "::/0", ipProtocol: "tcp", fromPort: 80, toPort: 443 }))).toHaveLength(1);
        expect(noPublicIngress(nlbGraph({ cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" }))).toHaveLength(1);
        const orphan = nlbGraph({ cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 80, toPort: 80 }).filter((r) => r.name !== "nlb");
        expect(noPublicIngress(orphan)).toHaveLength(1);
    });

    test("inline security group ingress and SecurityGroupRule from anywhere fail; from a private CIDR they pass", () => {
        const inline = res(TYPES.securityGroup, "nodes", {
            ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
        });
        expect(noPublicIngress([inline]).map((v) => v.message)).toEqual([expect.stringMatching(/^nodes: inline ingress from anywhere/)]);
        const rule = res(TYPES.securityGroupRule, "ssh", {
            type: "ingress",
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            cidrBlocks: ["0.0.0.0/0"],
        });
        expect(noPublicIngress([rule])).toHaveLength(1);
        const privateOnly = res(TYPES.securityGroup, "ok", {
            ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] }],
        });
        expect(noPublicIngress([privateOnly, { ...rule, props: { ...rule.props, cidrBlocks: ["203.0.113.0/24"] } }])).toEqual([]);
    });
});

describe("imdsv2-required", () => {
    test("httpTokens required passes", () => {
        expect(imdsV2Required(res(TYPES.instance, "n", { metadataOptions: { httpTokens: "required" } }))).toEqual([]);
        expect(imdsV2Required(res(TYPES.launchTemplate, "lt", { metadataOptions: { httpTokens: "required" } }))).toEqual([]);
    });
    test("optional, unset or not yet known fails", () => {
        expect(imdsV2Required(res(TYPES.instance, "n", { metadataOptions: { httpTokens: "optional" } }))).toEqual([
            'n: metadataOptions.httpTokens is "optional"; IMDSv2 must be required ("required")',
        ]);
        expect(imdsV2Required(res(TYPES.launchTemplate, "lt", {}))).toHaveLength(1);
        expect(imdsV2Required(res(TYPES.instance, "n", { metadataOptions: { httpTokens: UNKNOWN } }))[0]).toContain("(unknown)");
    });
});

describe("detailed-monitoring", () => {
    test('monitoring true passes (launch templates: monitoring.enabled, also as "true"); other resources are not judged', () => {
        expect(detailedMonitoring(res(TYPES.instance, "n", { monitoring: true }))).toEqual([]);
        expect(detailedMonitoring(res(TYPES.launchTemplate, "lt", { monitoring: { enabled: true } }))).toEqual([]);
        expect(detailedMonitoring(res(TYPES.launchTemplate, "lt", { monitoring: { enabled: "true" } }))).toEqual([]);
        expect(detailedMonitoring(res(TYPES.container, "c", {}))).toEqual([]);
    });
    test("basic monitoring (false or unset) or a value not yet known fails, naming the resource and the value", () => {
        expect(detailedMonitoring(res(TYPES.instance, "n", { monitoring: false }))).toEqual([
            "n: monitoring is false; EC2 instances need detailed monitoring (monitoring: true)",
        ]);
        expect(detailedMonitoring(res(TYPES.instance, "n", {}))).toEqual([
            "n: monitoring is unset; EC2 instances need detailed monitoring (monitoring: true)",
        ]);
        expect(detailedMonitoring(res(TYPES.instance, "n", { monitoring: UNKNOWN }))[0]).toContain("(unknown)");
        expect(detailedMonitoring(res(TYPES.launchTemplate, "lt", {}))).toEqual([
            "lt: monitoring.enabled is unset; instances need detailed monitoring (monitoring.enabled: true)",
        ]);
    });
});

describe("encrypted-volumes", () => {
    test('encrypted root and data volumes pass (launch templates carry "true" strings)', () => {
        const instance = res(TYPES.instance, "n", { rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ encrypted: true }] });
        expect(encryptedVolumes(instance)).toEqual([]);
        const lt = res(TYPES.launchTemplate, "lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }] });
        expect(encryptedVolumes(lt)).toEqual([]);
        expect(encryptedVolumes(res(TYPES.ebsVolume, "v", { encrypted: true }))).toEqual([]);
    });
    test("an unencrypted or undeclared root volume fails", () => {
        expect(encryptedVolumes(res(TYPES.instance, "n", {}))).toEqual(["n: rootBlockDevice.encrypted is unset; must be true"]);
        const data = res(TYPES.instance, "n", { rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ encrypted: false }] });
        expect(encryptedVolumes(data)).toEqual(["n: ebsBlockDevices[0].encrypted is false; must be true"]);
        expect(encryptedVolumes(res(TYPES.launchTemplate, "lt", {}))).toHaveLength(1);
        expect(encryptedVolumes(res(TYPES.ebsVolume, "v", {}))).toHaveLength(1);
    });
});

describe("no-public-ip", () => {
    test("associatePublicIpAddress false and subnets without mapPublicIpOnLaunch pass", () => {
        expect(noPublicIp(res(TYPES.instance, "n", { associatePublicIpAddress: false }))).toEqual([]);
        expect(noPublicIp(res(TYPES.subnet, "s", { mapPublicIpOnLaunch: false }))).toEqual([]);
        expect(noPublicIp(res(TYPES.subnet, "s", {}))).toEqual([]);
        expect(noPublicIp(res(TYPES.eip, "nat-eip", { domain: "vpc" }))).toEqual([]);
    });
    test("an instance that does not refuse a public IP, a public subnet, or an EIP on an instance fails", () => {
        expect(noPublicIp(res(TYPES.instance, "n", {}))).toEqual(["n: associatePublicIpAddress is unset; nodes must set it to false"]);
        expect(noPublicIp(res(TYPES.instance, "n", { associatePublicIpAddress: true }))).toHaveLength(1);
        expect(noPublicIp(res(TYPES.subnet, "s", { mapPublicIpOnLaunch: true }))).toHaveLength(1);
        expect(noPublicIp(res(TYPES.eip, "e", { instance: "i-123" }))).toHaveLength(1);
        expect(noPublicIp(res(TYPES.launchTemplate, "lt", { networkInterfaces: [{ associatePublicIpAddress: "true" }] }))).toHaveLength(1);
    });
});

describe("container-limits", () => {
    test("cpus and memory above 0 pass (a value not known at preview is not judged)", () => {
        expect(containerLimits(res(TYPES.container, "c", { cpus: "0.5", memory: 256 }))).toEqual([]);
        expect(containerLimits(res(TYPES.container, "c", { cpus: UNKNOWN, memory: 256 }))).toEqual([]);
    });
    test("a missing or zero limit fails", () => {
        expect(containerLimits(res(TYPES.container, "c", { memory: 0 }))).toEqual([
            "c: cpus is unset; every container needs a CPU limit > 0",
            "c: memory is 0; every container needs a memory limit > 0 (MB)",
        ]);
    });
});

describe("secrets", () => {
    test.each([
        [
            "Consul gossip key (encrypt)",
            '{\n  "encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",\n  "encrypt_verify_incoming": true\n}',
        ],
        ["Consul ACL tokens (acl.tokens)", '{ "acl": { "tokens": { "agent": "4f0d1f3e-8c2f-4b1e-9d44-1c3c2b7b9a10" } } }'],
        ["keepalived auth_pass", "vrrp_instance VI {\n    authentication {\n        auth_type PASS\n        auth_pass s3cr3t!x\n    }\n}"],
        ["HAProxy stats auth", "listen stats\n    stats auth 'admin:hunter2hunter2'\n"],
        ["HAProxy userlist password", "userlist ops\n    user admin insecure-password hunter2hunter2\n"],
        ["Consul token flag", "consul acl token create -secret 4f0d1f3e-8c2f-4b1e-9d44 -policy-name agent"],
        ["token/secret/password assignment", "export CONSUL_HTTP_TOKEN=4f0d1f3e-8c2f-4b1e-9d44-1c3c2b7b9a10\n"],
    ])("%s is recognised", (kind, text) => {
        expect(secretContent(text)).toContain(kind);
    });

    test.each([
        ["a token read at run time", "imds_token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token)"],
        ["a variable expansion", 'CONSUL_HTTP_TOKEN="$TOKEN"'],
        ["a pointer to a secret file", "--env CONSUL_HTTP_TOKEN_FILE=/run/secrets/consul-registration-token"],
        ["gossip verification flags", '{ "encrypt_verify_incoming": true }'],
        [
            "join-token commands and docker --secret",
            "docker swarm join-token -q worker; docker service create --secret registration-token web",
        ],
        ["keepalived without auth", "vrrp_instance VI {\n    # VRRPv3 has no authentication\n}"],
    ])("%s is not a secret", (_what, text) => {
        expect(secretContent(text)).toEqual([]);
    });

    const upload = (content: string) => ({ uploads: [{ file: "/etc/keepalived/keepalived.conf", content }] });
    const KEEPALIVED = "authentication {\n    auth_type PASS\n    auth_pass s3cr3t!x\n}";

    test("secrets-marked-secret: secret content marked secret passes (the value or anything it is inside)", () => {
        for (const secretPath of ["uploads[0].content", "uploads[0]", "uploads"])
            expect(secretsMarkedSecret(res(TYPES.container, "lb-0", upload(KEEPALIVED), { secretPaths: new Set([secretPath]) }))).toEqual(
                [],
            );
    });

    test("secrets-marked-secret: secret content in a plain input fails, with its path", () => {
        const leak = res(TYPES.container, "lb-0", upload(KEEPALIVED), { secretPaths: new Set(["uploads[0].file"]) });
        expect(secretsMarkedSecret(leak)).toEqual([
            "lb-0: uploads[0].content holds a secret (keepalived auth_pass) but is not marked secret",
        ]);
        expect(unmarkedSecrets(leak).map((u) => u.segments)).toEqual([["uploads", 0, "content"]]);
        // Where secret-ness cannot be seen (validations), nothing is claimed.
        expect(secretsMarkedSecret(res(TYPES.container, "lb-0", upload(KEEPALIVED)))).toEqual([]);
    });

    test("secrets-at-rest: a SecureString with a secret passes; a String parameter or user data with one fails", () => {
        const value = '{ "encrypt": "pUqJrVyVRj5jsiYEkM/tFQ==" }';
        expect(secretsAtRest(res(TYPES.ssmParameter, "p", { type: "SecureString", value }))).toEqual([]);
        expect(secretsAtRest(res(TYPES.ssmParameter, "p", { type: "String", value: "no secret here" }))).toEqual([]);
        expect(secretsAtRest(res(TYPES.ssmParameter, "p", { type: "String", value }))).toEqual([
            'p: value holds a secret (Consul gossip key (encrypt)) but type is "String"; use SecureString',
        ]);
        expect(secretsAtRest(res(TYPES.instance, "n", { userData: `#cloud-config\nwrite_files:\n  - content: '${value}'` }))).toHaveLength(
            1,
        );
        expect(secretsAtRest(res(TYPES.instance, "n", { userData: "#cloud-config\nruncmd: [boot]" }))).toEqual([]);
    });
});

test("checkAll reports each violation on its resource", () => {
    const bad = res(TYPES.instance, "n", { associatePublicIpAddress: true, metadataOptions: { httpTokens: "optional" } });
    // IMDSv2, detailed monitoring, the root volume's encryption, the public IP.
    expect(checkAll([bad]).map((v) => v.urn)).toEqual([bad.urn, bad.urn, bad.urn, bad.urn]);
});
