// ConsulCluster against the in-memory platform: its defaults, its refusal of bad arguments, and what
// it asks the platform for — nodes, files, scripts, their order — with literal expectations.
import * as pulumi from "@pulumi/pulumi";
import { ConsulCluster } from "../../components/consulCluster";
import { FakePlatform, isSecret, registered, registeredOutputs, requested, settled, thrown, useMocks } from "./fakePlatform";

useMocks();

const json = async (content: pulumi.Input<string>) => JSON.parse(await settled(content));

describe("defaults", () => {
    let platform: FakePlatform;
    let consul: ConsulCluster;
    beforeEach(() => {
        platform = new FakePlatform();
        consul = new ConsulCluster("consul", { platform });
    });

    test("three servers, each at its planned address with 0.5 CPU and 256 MiB", () => {
        expect(platform.nodes.map((n) => [n.name, n.args.role, n.args.index, n.node.address, n.args.resources])).toEqual([
            ["consul-server-0", "consul-server", 0, "10.0.1.10", { cpus: 0.5, memoryMb: 256 }],
            ["consul-server-1", "consul-server", 1, "10.0.1.11", { cpus: 0.5, memoryMb: 256 }],
            ["consul-server-2", "consul-server", 2, "10.0.1.12", { cpus: 0.5, memoryMb: 256 }],
        ]);
        expect(consul.serverNames).toEqual(["consul-server-0", "consul-server-1", "consul-server-2"]);
        expect(platform.nodes.every((n) => n.parent === consul)).toBe(true);
    });

    test("the server config: datacenter dc1, bootstrap_expect 3, its address, the platform's retry_join", async () => {
        const [file] = platform.node("consul-server-1").args.files;
        // The gossip key and the tokens: readable by the agent's user alone.
        expect([file.path, file.mode, file.owner]).toEqual(["/consul/config/server.json", "0600", "consul"]);
        expect(await json(file.content)).toMatchObject({
            node_name: "consul-server-1",
            datacenter: "dc1",
            advertise_addr: "10.0.1.11",
            bind_addr: "10.0.1.11",
            retry_join: ["fake-join-3"],
            server: true,
            bootstrap_expect: 3,
            encrypt: "base64-consul-gossip-key",
            acl: { tokens: { initial_management: "uuid-consul-management-token", agent: "uuid-consul-agent-token" } },
        });
        expect(platform.retryJoins).toEqual([3]);
        expect(consul.retryJoin).toEqual(["fake-join-3"]);
    });

    test("secrets stay secret: the gossip key, the tokens and every server config", async () => {
        expect(await isSecret(consul.gossipKey)).toBe(true);
        expect(await isSecret(consul.managementToken)).toBe(true);
        expect(await isSecret(consul.agentToken)).toBe(true);
        expect(await isSecret(consul.dnsToken)).toBe(true);
        for (const n of platform.nodes) expect(await isSecret(n.args.files[0].content)).toBe(true);
        expect(await settled(consul.gossipKey)).toBe("base64-consul-gossip-key");
    });

    test("a client agent: its own config file, 0.25 CPU and 128 MiB, no default token unless asked", async () => {
        const plain = consul.agentFor("swarm-worker-4", "10.0.3.14");
        expect(plain.resources).toEqual({ cpus: 0.25, memoryMb: 128 });
        expect(plain.files.map((f) => [f.path, f.mode, f.owner])).toEqual([
            ["/consul/config/client.json", "0600", "consul"],
            ["/consul/config/tls/ca.pem", "0600", "consul"],
        ]);
        expect(await settled(plain.files[1].content)).toBe("cert-consul-ca");
        const config = await json(plain.files[0].content);
        expect(config).toMatchObject({
            node_name: "swarm-worker-4",
            datacenter: "dc1",
            advertise_addr: "10.0.3.14",
            retry_join: ["fake-join-3"],
            server: false,
            encrypt: "base64-consul-gossip-key",
        });
        expect(config.acl.tokens).toEqual({ agent: "uuid-consul-agent-token" });
        const reader = await json(consul.agentFor("lb-0", "10.0.4.10", { catalogReadByDefault: true }).files[0].content);
        expect(reader.acl.tokens).toEqual({ agent: "uuid-consul-agent-token", default: "uuid-consul-dns-token" });
        expect(await isSecret(plain.files[0].content)).toBe(true);
    });

    test("no registering services: no service tokens", () => {
        expect(consul.serviceTokens).toEqual({});
    });
});

describe("what it asks the platform for", () => {
    test("servers in a rolling chain: each after the previous server's ready gate", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform, servers: 5 });
        expect(platform.scripts.map((s) => [s.name, s.args.node.name])).toEqual([
            ["consul-server-0-ready", "consul-server-0"],
            ["consul-server-1-ready", "consul-server-1"],
            ["consul-server-2-ready", "consul-server-2"],
            ["consul-server-3-ready", "consul-server-3"],
            ["consul-server-4-ready", "consul-server-4"],
        ]);
        // Each server first waits for the consul.tls step check of the servers as they run now.
        const [check] = platform.marksChecks;
        expect(platform.node("consul-server-0").args.dependsOn).toEqual([check.result]);
        for (let i = 1; i < 5; i++) {
            expect(platform.node(`consul-server-${i}`).args.dependsOn).toEqual([check.result, consul.serverGates[i - 1].resource]);
        }
        expect(consul.serverGates.map((g) => g.resource)).toEqual(platform.scripts.map((s) => s.resource));
        const ready = await settled(platform.script("consul-server-3-ready").args.script);
        expect(ready).toContain("NODE_NAME=consul-server-3\n");
        expect(ready).toContain("EXPECT=5\n");
        expect(await isSecret(platform.script("consul-server-3-ready").args.script)).toBe(true);
        expect((await json(platform.node("consul-server-4").args.files[0].content)).bootstrap_expect).toBe(5);
    });

    test("the ACL bootstrap: once, on the servers, after every ready gate, again when a server is new", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform, registeringServices: ["web"] });
        expect(platform.clusterScripts.map((s) => s.name)).toEqual(["consul-acl-bootstrap"]);
        const [bootstrap] = platform.clusterScripts;
        expect(bootstrap.resource).toBe(consul.aclBootstrap.resource);
        expect(bootstrap.args.nodes.map((n) => n.name)).toEqual(["consul-server-0", "consul-server-1", "consul-server-2"]);
        expect(bootstrap.args.dependsOn).toEqual(consul.serverGates.map((g) => g.resource));
        expect(await Promise.all((bootstrap.args.reapplyOn ?? []).map(settled))).toEqual([
            "instance-consul-server-0",
            "instance-consul-server-1",
            "instance-consul-server-2",
        ]);
        const script = await settled(bootstrap.args.script);
        expect(await isSecret(bootstrap.args.script)).toBe(true);
        expect(script).toContain("export CONSUL_HTTP_TOKEN=uuid-consul-management-token\n");
        expect(script).toContain("no Consul leader after 120s");
        for (const policy of ["agent", "dns-read", "web-register"]) expect(script).toContain(`consul acl policy read -name ${policy} `);
        expect(script).toContain(
            '{"AccessorID":"uuid-consul-agent-accessor","SecretID":"uuid-consul-agent-token","Description":"agents","Policies":[{"Name":"agent"}]}',
        );
        expect(script).toContain(
            '{"AccessorID":"uuid-consul-dns-accessor","SecretID":"uuid-consul-dns-token","Description":"lb dns","Policies":[{"Name":"dns-read"}]}',
        );
        expect(script).toContain(
            '{"AccessorID":"uuid-consul-web-register-accessor","SecretID":"uuid-consul-web-register-token","Description":"web registration","Policies":[{"Name":"web-register"}]}',
        );
        expect(Object.keys(consul.serviceTokens)).toEqual(["web"]);
        expect(await settled(consul.serviceTokens.web)).toBe("uuid-consul-web-register-token");
        expect(await isSecret(consul.serviceTokens.web)).toBe(true);
    });

    test("the UI listener: the servers one by one where the platform has no shared name", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform });
        const { upstreamTls, dependsOn, ...listener } = consul.uiListener;
        // The ingress changes it only after the servers' consul.tls step check.
        expect(dependsOn).toEqual([platform.marksChecks[0].result]);
        expect(listener).toEqual({
            name: "consul-ui",
            port: 8501,
            upstreams: [
                { name: "consul-server-0", address: "10.0.1.10", port: 8501 },
                { name: "consul-server-1", address: "10.0.1.11", port: 8501 },
                { name: "consul-server-2", address: "10.0.1.12", port: 8501 },
            ],
            check: true,
        });
        // HTTPS to the servers, checked against the CA and the servers' name, with the operator's client certificate.
        expect(upstreamTls?.serverName).toBe("server.dc1.consul");
        expect(await settled(upstreamTls!.caCertificate)).toBe("cert-consul-ca");
        expect(await settled(upstreamTls!.clientCertificate)).toBe("cert-consul-operator-certkey-consul-operator-key");
        expect(await isSecret(upstreamTls!.clientCertificate)).toBe(true);
    });

    test("with consul.tls off: the UI over plain HTTP on 8500, no certificate", () => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform(), tls: "off" });
        expect(consul.uiListener.port).toBe(8500);
        expect(consul.uiListener.upstreamTls).toBeUndefined();
    });

    test("the UI listener: the servers' shared name, up to 7 of them, where the platform has one", () => {
        const platform = new FakePlatform({ consulServersName: "consul-servers" });
        const consul = new ConsulCluster("consul", { platform });
        expect(consul.uiListener.upstreams).toEqual([{ name: "consul-server", address: "consul-servers", port: 8501, maxServers: 7 }]);
    });

    test("given arguments win over the defaults", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("kv", {
            platform,
            servers: 1,
            datacenter: "eu-1",
            resources: { cpus: 2, memoryMb: 512 },
            agentResources: { cpus: 0.1, memoryMb: 32 },
        });
        expect(platform.nodes.map((n) => [n.name, n.args.resources])).toEqual([["kv-server-0", { cpus: 2, memoryMb: 512 }]]);
        expect((await json(platform.nodes[0].args.files[0].content)).datacenter).toBe("eu-1");
        expect(consul.agentFor("x", "10.0.3.10").resources).toEqual({ cpus: 0.1, memoryMb: 32 });
        expect((await json(consul.agentFor("x", "10.0.3.10").files[0].content)).datacenter).toBe("eu-1");
    });
});

describe("in the stack's state", () => {
    test("its type, and its generated secrets under it, 32 gossip bytes, secret in state as well", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("kv", { platform, registeringServices: ["web"] });
        const urn = "urn:pulumi:test::swarm-platform::swarm-platform:consul:Cluster::kv";
        expect(await settled(consul.urn)).toBe(urn);
        // Settled once every generated value has been registered and used.
        await settled(platform.clusterScripts[0].args.script);
        await settled(consul.gossipKey);
        const generated = requested.filter((r) => r.type.startsWith("random:") && r.name.startsWith("kv-"));
        expect(
            Object.fromEntries(generated.map((r) => [r.name, [r.type, r.parent, [...new Set(r.additionalSecretOutputs)].sort()]])),
        ).toEqual({
            "kv-gossip-key": ["random:index/randomBytes:RandomBytes", urn, ["base64", "hex"]],
            "kv-management-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-management-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
            "kv-agent-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-agent-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
            "kv-dns-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-dns-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
            "kv-metrics-register-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-metrics-register-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
            "kv-prometheus-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-prometheus-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
            "kv-web-register-token": ["random:index/randomUuid:RandomUuid", urn, ["result"]],
            "kv-web-register-accessor": ["random:index/randomUuid:RandomUuid", urn, []],
        });
        expect(registered.find((r) => r.name === "kv-gossip-key")?.inputs).toEqual({ length: 32 });
    });

    test("its outputs: the server names, the gossip key and the management token", async () => {
        const consul = new ConsulCluster("kv", { platform: new FakePlatform(), servers: 1 });
        expect(await registeredOutputs(consul)).toEqual({
            serverNames: ["kv-server-0"],
            gossipKey: "base64-kv-gossip-key",
            managementToken: "uuid-kv-management-token",
            caCertificate: "cert-kv-ca",
        });
    });
});

describe("mutual TLS (consul.tls)", () => {
    const filesOf = (platform: FakePlatform, node: string) => platform.node(node).args.files;

    // What the agents as they run now may be for an `up` to this mode: one step at a time.
    test.each([
        ["off", ["", "accept"], [""]],
        ["accept", ["", "accept", "permissive"], ["", "auto_encrypt"]],
        ["permissive", ["accept", "permissive", "enforce"], ["", "auto_encrypt"]],
        ["enforce", ["permissive", "enforce"], ["auto_encrypt"]],
    ] as const)("%s: servers must run as %j now, each client agent as %j, before any is touched", (tls, servers, clients) => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform, servers: 3, tls });
        const agent = consul.agentFor("swarm-worker-0", "10.0.4.10");
        const [serverCheck, agentCheck] = platform.marksChecks;
        expect(serverCheck.args.key).toBe("consul-tls");
        expect(serverCheck.args.nodes).toEqual(
            ["consul-server-0", "consul-server-1", "consul-server-2"].map((name) => ({ name, allowed: servers })),
        );
        expect(agentCheck.args.nodes).toEqual([{ name: "swarm-worker-0", allowed: clients }]);
        expect(agentCheck.parent).toBe(consul);
        // Every server waits for the servers' check; the agent's node for its own.
        for (const server of consul.servers) expect(platform.node(server.name).args.dependsOn).toContain(serverCheck.result);
        expect(agent.dependsOn).toEqual([agentCheck.result]);
        // The refusal names the key, the value and the rule.
        expect(serverCheck.args.refusal).toContain(`consul.tls: "${tls}"`);
        expect(serverCheck.args.refusal).toContain("off → accept → permissive → enforce");
    });

    test.each([
        ["off", undefined, undefined],
        ["accept", "accept", undefined],
        ["permissive", "permissive", "auto_encrypt"],
        ["enforce", "enforce", "auto_encrypt"],
    ] as const)("%s: servers are marked %s, client agents' nodes %s (none while their config is plain)", (tls, server, client) => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("consul", { platform, tls });
        expect(platform.node("consul-server-0").args.marks?.["consul-tls"]).toBe(server);
        expect(consul.agentFor("lb-0", "10.0.4.10").marks?.["consul-tls"]).toBe(client);
    });

    test("each server holds the CA, its own certificate and key: 0600, the consul user's; the key stays secret", async () => {
        const platform = new FakePlatform();
        new ConsulCluster("consul", { platform });
        const files = filesOf(platform, "consul-server-1");
        expect(files.map((f) => [f.path, f.mode, f.owner])).toEqual([
            ["/consul/config/server.json", "0600", "consul"],
            ["/consul/config/tls/ca.pem", "0600", "consul"],
            ["/consul/config/tls/server.pem", "0600", "consul"],
            ["/consul/config/tls/server-key.pem", "0600", "consul"],
        ]);
        expect(await Promise.all(files.slice(1).map((f) => settled(f.content)))).toEqual([
            "cert-consul-ca",
            "cert-consul-server-1-cert",
            "key-consul-server-1-key",
        ]);
        expect(await isSecret(files[3].content)).toBe(true);
    });

    test("a server certificate names server.<dc>.consul, localhost, 127.0.0.1 and the server's address; signed by the cluster's CA", async () => {
        const platform = new FakePlatform();
        const consul = new ConsulCluster("east", { platform, datacenter: "east" });
        await settled(filesOf(platform, "east-server-2")[2].content);
        await settled(consul.uiListener.upstreamTls!.clientCertificate);
        expect(registered.find((r) => r.name === "east-server-2-csr")?.inputs).toEqual({
            privateKeyPem: expect.objectContaining({ value: "key-east-server-2-key" }),
            subject: { commonName: "server.east.consul", organization: "swarm-platform" },
            dnsNames: ["server.east.consul", "localhost"],
            ipAddresses: ["127.0.0.1", "10.0.1.12"],
        });
        expect(registered.find((r) => r.name === "east-server-2-cert")?.inputs).toEqual({
            certRequestPem: "csr-east-server-2-csr",
            caCertPem: "cert-east-ca",
            caPrivateKeyPem: expect.objectContaining({ value: "key-east-ca-key" }),
            validityPeriodHours: 8760,
            earlyRenewalHours: 720,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        });
        expect(registered.find((r) => r.name === "east-ca")?.inputs).toMatchObject({
            isCaCertificate: true,
            validityPeriodHours: 87600,
            earlyRenewalHours: 0,
        });
        // The operator's certificate: a client only.
        expect(registered.find((r) => r.name === "east-operator-cert")?.inputs.allowedUses).toEqual([
            "digital_signature",
            "key_encipherment",
            "client_auth",
        ]);
        // One key per certificate, and the CA's.
        expect(
            requested.filter((r) => r.type === "tls:index/privateKey:PrivateKey" && r.name.startsWith("east-")).map((r) => r.name),
        ).toEqual([
            "east-ca-key",
            "east-operator-key",
            "east-prometheus-key",
            "east-server-0-key",
            "east-server-1-key",
            "east-server-2-key",
        ]);
    });

    test.each([
        ["off", undefined, undefined, false],
        ["accept", false, false, false],
        ["permissive", false, true, true],
        ["enforce", true, true, true],
    ] as const)(
        "%s: servers verify_incoming %s, verify_outgoing %s; client agents use TLS: %s",
        async (tls, incoming, outgoing, clients) => {
            const platform = new FakePlatform();
            const consul = new ConsulCluster(`mode-${tls}`, { platform, tls });
            const server = await json(filesOf(platform, `mode-${tls}-server-0`)[0].content);
            expect(server.tls?.defaults.verify_incoming).toBe(incoming);
            expect(server.tls?.defaults.verify_outgoing).toBe(outgoing);
            expect(filesOf(platform, `mode-${tls}-server-0`).length).toBe(tls === "off" ? 1 : 4);
            const agent = consul.agentFor("lb-0", "10.0.4.10");
            const client = await json(agent.files[0].content);
            expect(client.auto_encrypt?.tls === true).toBe(clients);
            expect(agent.files.length).toBe(clients ? 2 : 1);
            await settled(agent.files[0].content);
            expect(requested.some((r) => r.type.startsWith("tls:") && r.name.startsWith(`mode-${tls}-`))).toBe(tls !== "off");
        },
    );

    test("the ACL bootstrap and the ready gates talk HTTPS once the servers serve it", async () => {
        const platform = new FakePlatform();
        new ConsulCluster("consul", { platform });
        const bootstrap = await settled(platform.clusterScripts[0].args.script);
        expect(bootstrap).toContain("CONSUL_HTTP_ADDR=https://127.0.0.1:8501\n");
        expect(bootstrap).toContain("CONSUL_CLIENT_CERT=/consul/config/tls/server.pem\n");
        const gate = await settled(platform.scripts[0].args.script);
        expect(gate).toContain("CONSUL_HTTP_ADDR=https://127.0.0.1:8501\n");
    });
});

describe("bad arguments are refused before anything is created, all at once, with key, value and rule", () => {
    test.each([
        [
            { servers: 4 },
            "servers = 4: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
        ],
        [
            { servers: 9 },
            "servers = 9: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
        ],
        [
            { servers: 0 },
            "servers = 0: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
        ],
        [{ datacenter: "DC 1" }, 'datacenter = "DC 1": must be a lowercase DNS label'],
        [
            { tls: "on" as never },
            'tls = "on": must be one of off, accept, permissive, enforce (the steps of switching TLS on, in this order: docs/day2.md)',
        ],
        [{ resources: { cpus: 0, memoryMb: 256 } }, "resources.cpus = 0: must be a number of CPUs from 0.001 to 64, at most 3 decimals"],
        [
            { agentResources: { cpus: 0.25, memoryMb: 5 } },
            "agentResources.memoryMb = 5: must be a whole number of MiB from 6 (Docker's minimum) to 4194304",
        ],
    ])("%j", (args, issue) => {
        const platform = new FakePlatform();
        expect(thrown(() => new ConsulCluster("consul", { platform, ...args })).message).toBe(`ConsulCluster: invalid arguments: ${issue}`);
        expect(platform.nodes).toEqual([]);
        expect(platform.scripts).toEqual([]);
    });

    test("every broken rule in one error, each with its key, value and rule", () => {
        const platform = new FakePlatform();
        const error = thrown(
            () => new ConsulCluster("consul", { platform, servers: 2, datacenter: "", resources: { cpus: 65, memoryMb: 1.5 } }),
        );
        expect(error.errors).toEqual([
            {
                propertyPath: "servers",
                reason: "2: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)",
            },
            { propertyPath: "datacenter", reason: '"": must be a lowercase DNS label' },
            { propertyPath: "resources.cpus", reason: "65: must be a number of CPUs from 0.001 to 64, at most 3 decimals" },
            { propertyPath: "resources.memoryMb", reason: "1.5: must be a whole number of MiB from 6 (Docker's minimum) to 4194304" },
        ]);
        expect(platform.nodes).toEqual([]);
    });

    test("the largest and smallest quorums are accepted", () => {
        expect(() => new ConsulCluster("one", { platform: new FakePlatform(), servers: 1 })).not.toThrow();
        expect(() => new ConsulCluster("seven", { platform: new FakePlatform(), servers: 7 })).not.toThrow();
    });
});
