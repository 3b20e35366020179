import {
    BASE_ACL_POLICIES,
    ConsulTlsMode,
    renderAclBootstrapScript,
    renderConsulClientConfig,
    renderConsulServerConfig,
    renderConsulServerReadyScript,
    serviceRegistrationPolicy,
} from "../../render/consul";

const base = {
    nodeName: "consul-server-0",
    datacenter: "dc1",
    advertiseAddr: "10.77.0.20",
    retryJoin: ["consul-server-0", "consul-server-1", "consul-server-2"],
    encryptKey: "K2xzZWNyZXQta2V5LWZvci10ZXN0cy0zMi1ieXRlcyE=",
    agentToken: "agent-secret",
};

describe("Consul server config", () => {
    let server: any;
    beforeEach(() => {
        server = JSON.parse(renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "mgmt-secret" }));
    });

    test("gossip encryption on, verified both ways", () => {
        expect(server.encrypt).toBe(base.encryptKey);
        expect(server.encrypt_verify_incoming).toBe(true);
        expect(server.encrypt_verify_outgoing).toBe(true);
    });

    test("ACLs enabled with default deny and the management token as the initial one", () => {
        expect(server.acl).toMatchObject({
            enabled: true,
            default_policy: "deny",
            tokens: { initial_management: "mgmt-secret", agent: "agent-secret" },
        });
    });

    test("bootstrap_expect is the server count; servers leave on terminate; autopilot never shrinks below a majority", () => {
        expect(server.bootstrap_expect).toBe(3);
        expect(server.leave_on_terminate).toBe(true);
        expect(server.autopilot).toMatchObject({ cleanup_dead_servers: true, min_quorum: 2 });
    });

    test("binds and advertises the node's own address (an LB node also carries the VIP)", () => {
        expect(server.bind_addr).toBe("10.77.0.20");
        expect(server.advertise_addr).toBe("10.77.0.20");
        expect(server.retry_join).toEqual(base.retryJoin);
    });

    test("DNS answers only passing instances, uncached", () => {
        expect(server.dns_config.only_passing).toBe(true);
        expect(server.dns_config.service_ttl["*"]).toBe("0s");
    });

    test("same input, byte-identical output", () => {
        const input = { ...base, bootstrapExpect: 3, managementToken: "m" };
        expect(renderConsulServerConfig(input)).toBe(renderConsulServerConfig(input));
    });
});

describe("Consul client config", () => {
    test("a client is not a server, listens on loopback only and carries the default token only when asked", () => {
        const plain = JSON.parse(renderConsulClientConfig(base));
        expect(plain.server).toBe(false);
        expect(plain.client_addr).toBe("127.0.0.1");
        expect(plain.acl.tokens).toEqual({ agent: "agent-secret" });
        const lb = JSON.parse(renderConsulClientConfig({ ...base, defaultToken: "dns-secret" }));
        expect(lb.acl.tokens.default).toBe("dns-secret");
    });
});

describe("ACL bootstrap script", () => {
    let script: string;
    beforeEach(() => {
        script = renderAclBootstrapScript({
            managementToken: "mgmt-'quote",
            policies: [...BASE_ACL_POLICIES, serviceRegistrationPolicy("web")],
            tokens: [{ description: "agents", accessorId: "11111111-1111-1111-1111-111111111111", secretId: "s3cr3t", policy: "agent" }],
            leaderTimeoutSeconds: 5,
        });
    });

    test("creates each policy and token only when missing (idempotent)", () => {
        expect(script).toMatch(/if ! consul acl policy read -name agent /);
        expect(script).toMatch(/if ! consul acl token read -accessor-id 11111111-1111-1111-1111-111111111111 /);
        expect(script).toContain('"SecretID":"s3cr3t"');
        expect(script).not.toContain("consul acl token create");
    });

    test("the web service's tokens may write only its own service", () => {
        expect(serviceRegistrationPolicy("web").rules).toMatch(/^service "web" \{\n  policy = "write"\n\}/);
        expect(serviceRegistrationPolicy("web").rules).not.toMatch(/service_prefix/);
    });

    test("the web service's tokens may read their node's agent (the app asks GET /v1/agent/self for its address: agent:read)", () => {
        // Consul answers /v1/agent/self only with agent:read on the agent's node name; without it every
        // task's registration fails with 403 and no task ever gets traffic (found by tests/system/swarm).
        expect(serviceRegistrationPolicy("web").rules).toMatch(/(^|\n)agent_prefix "" \{\n  policy = "read"\n\}/);
        expect(serviceRegistrationPolicy("web").rules).not.toMatch(/agent_prefix "" \{\n  policy = "write"/);
    });
});

describe("agent configs: the whole file is the contract", () => {
    // Golden on purpose: each key is a setting Consul reads; a changed or dropped one changes the agent.
    const agent = {
        node_name: "consul-server-0",
        datacenter: "dc1",
        data_dir: "/consul/data",
        bind_addr: "10.77.0.20",
        advertise_addr: "10.77.0.20",
        retry_join: ["consul-server-0", "consul-server-1", "consul-server-2"],
        retry_interval: "2s",
        encrypt: base.encryptKey,
        encrypt_verify_incoming: true,
        encrypt_verify_outgoing: true,
        ports: { http: 8500, dns: 8600, grpc: -1 },
        dns_config: { only_passing: true, service_ttl: { "*": "0s" }, node_ttl: "0s", allow_stale: true, max_stale: "5s" },
        log_level: "INFO",
        disable_update_check: true,
        telemetry: { prometheus_retention_time: "1m", disable_hostname: true },
    };
    const acl = { enabled: true, default_policy: "deny", down_policy: "extend-cache", enable_token_persistence: false };

    test("server", () => {
        const text = renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "mgmt-secret" });
        expect(text.endsWith("}\n")).toBe(true);
        expect(JSON.parse(text)).toStrictEqual({
            ...agent,
            server: true,
            bootstrap_expect: 3,
            client_addr: "0.0.0.0",
            ui_config: { enabled: true },
            leave_on_terminate: true,
            skip_leave_on_interrupt: false,
            autopilot: { cleanup_dead_servers: true, last_contact_threshold: "1s", server_stabilization_time: "10s", min_quorum: 2 },
            performance: { raft_multiplier: 1 },
            acl: { ...acl, tokens: { initial_management: "mgmt-secret", agent: "agent-secret" } },
        });
        expect(text.split("\n")[1]).toBe('  "node_name": "consul-server-0",');
    });

    test("client", () => {
        expect(JSON.parse(renderConsulClientConfig({ ...base, defaultToken: "dns-secret" }))).toStrictEqual({
            ...agent,
            server: false,
            client_addr: "127.0.0.1",
            leave_on_terminate: true,
            acl: { ...acl, tokens: { agent: "agent-secret", default: "dns-secret" } },
        });
    });

    test("autopilot's floor is a majority of bootstrap_expect", () => {
        const minQuorum = (n: number) =>
            JSON.parse(renderConsulServerConfig({ ...base, bootstrapExpect: n, managementToken: "m" })).autopilot.min_quorum;
        expect([1, 3, 4, 5].map(minQuorum)).toEqual([1, 2, 3, 3]);
    });
});

describe("base ACL policies", () => {
    test("agents write their node and read services; the load balancers only read", () => {
        expect(BASE_ACL_POLICIES.map((p) => p.name)).toEqual(["agent", "dns-read"]);
        expect(BASE_ACL_POLICIES[0].rules).toBe('node_prefix "" {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\n');
        expect(BASE_ACL_POLICIES[1].rules).toBe('node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n');
        expect(BASE_ACL_POLICIES.every((p) => p.description.length > 0)).toBe(true);
    });

    test("a service's registration policy is named after it", () => {
        expect(serviceRegistrationPolicy("api")).toMatchObject({ name: "api-register", description: expect.stringContaining("api") });
    });
});

describe("Consul server ready script (rolling-replacement gate)", () => {
    const input = { nodeName: "consul-server-1", bootstrapExpect: 3, token: "mgmt-'tok" };

    test("renders its inputs: token quoted, node name, expected count and the default 180 s bound", () => {
        const script = renderConsulServerReadyScript(input);
        expect(script.startsWith("#!/bin/sh\n")).toBe(true);
        expect(script).toContain("\nset -eu\n");
        expect(script).toContain("\nexport CONSUL_HTTP_TOKEN='mgmt-'\\''tok'\n");
        expect(script).toContain("\nNODE_NAME=consul-server-1\nEXPECT=3\ndeadline=$(( $(date +%s) + 180 ))\n");
        expect(renderConsulServerReadyScript({ ...input, timeoutSeconds: 7 })).toContain("deadline=$(( $(date +%s) + 7 ))");
    });

    test("refuses a bad node name, bootstrapExpect or timeout", () => {
        expect(() => renderConsulServerReadyScript({ ...input, nodeName: "-x" })).toThrow(/bad nodeName "-x"/);
        expect(() => renderConsulServerReadyScript({ ...input, nodeName: "a".repeat(64) })).toThrow(/bad nodeName/);
        expect(() => renderConsulServerReadyScript({ ...input, nodeName: "a".repeat(63) })).not.toThrow();
        expect(() => renderConsulServerReadyScript({ ...input, nodeName: "a" })).not.toThrow();
        expect(() => renderConsulServerReadyScript({ ...input, bootstrapExpect: 0 })).toThrow(/bootstrapExpect must be ≥ 1/);
        expect(() => renderConsulServerReadyScript({ ...input, bootstrapExpect: 1.5 })).toThrow(/bootstrapExpect/);
        expect(() => renderConsulServerReadyScript({ ...input, timeoutSeconds: 0 })).toThrow(/timeoutSeconds must be a whole number/);
        expect(() => renderConsulServerReadyScript({ ...input, timeoutSeconds: 2.5 })).toThrow(/timeoutSeconds/);
        expect(() => renderConsulServerReadyScript({ ...input, bootstrapExpect: 1, timeoutSeconds: 1 })).not.toThrow();
    });
});

describe("the whole rendered scripts (each line a command the server runs, or a note for whoever reads it)", () => {
    test("ACL bootstrap: waits for a leader, then creates each missing policy and token", () => {
        const script = renderAclBootstrapScript({
            managementToken: "mgmt-'quote",
            policies: [serviceRegistrationPolicy("web")],
            tokens: [{ description: "agents", accessorId: "11111111-1111-1111-1111-111111111111", secretId: "s3cr3t", policy: "agent" }],
            leaderTimeoutSeconds: 5,
        });
        expect(script.split("\n")).toEqual([
            "#!/bin/sh",
            "# Creates the platform's Consul ACL policies and tokens (idempotent).",
            "set -eu",
            "# shellcheck disable=SC2089,SC2090 # quotes in the token are data: shellQuote() quoted it",
            "export CONSUL_HTTP_TOKEN='mgmt-'\\''quote'",
            "CONSUL_HTTP_ADDR=http://127.0.0.1:8500",
            "export CONSUL_HTTP_ADDR",
            "",
            "deadline=$(( $(date +%s) + 5 ))",
            "until consul operator raft list-peers 2>/dev/null | grep -q leader; do",
            '  if [ "$(date +%s)" -ge "$deadline" ]; then',
            '    echo "acl-bootstrap: no Consul leader after 5s" >&2',
            "    exit 1",
            "  fi",
            "  sleep 1",
            "done",
            "",
            "rules=$(mktemp)",
            "headers=$(mktemp)",
            'trap \'rm -f "$rules" "$headers"\' EXIT',
            'printf \'X-Consul-Token: %s\\n\' "$CONSUL_HTTP_TOKEN" >"$headers"',
            "",
            "if ! consul acl policy read -name web-register >/dev/null 2>&1; then",
            "  cat >\"$rules\" <<'RULES'",
            'service "web" {',
            '  policy = "write"',
            "}",
            'node_prefix "" {',
            '  policy = "read"',
            "}",
            'agent_prefix "" {',
            '  policy = "read"',
            "}",
            "RULES",
            "  consul acl policy create -name web-register -description 'Tasks of the web service register and deregister themselves' -rules @\"$rules\" >/dev/null",
            '  echo "acl-bootstrap: created policy web-register"',
            "fi",
            "",
            "if ! consul acl token read -accessor-id 11111111-1111-1111-1111-111111111111 >/dev/null 2>&1; then",
            '  curl -sS --fail -X PUT -H @"$headers" --data-binary @- \\',
            '    ${CONSUL_CACERT:+--cacert "$CONSUL_CACERT"} ${CONSUL_CLIENT_CERT:+--cert "$CONSUL_CLIENT_CERT"} ${CONSUL_CLIENT_KEY:+--key "$CONSUL_CLIENT_KEY"} \\',
            "    \"$CONSUL_HTTP_ADDR/v1/acl/token\" >/dev/null <<'TOKEN'",
            '{"AccessorID":"11111111-1111-1111-1111-111111111111","SecretID":"s3cr3t","Description":"agents","Policies":[{"Name":"agent"}]}',
            "TOKEN",
            "  echo \"acl-bootstrap: created token 'agents' (accessor 11111111-1111-1111-1111-111111111111)\"",
            "fi",
            "",
            'echo "acl-bootstrap: done"',
            "",
        ]);
    });

    test("server ready gate", () => {
        expect(renderConsulServerReadyScript({ nodeName: "consul-server-1", bootstrapExpect: 3, token: "tok" }).split("\n")).toEqual([
            "#!/bin/sh",
            "# Waits until consul-server-1 is a voting member of the Consul cluster (rolling-replacement gate).",
            "set -eu",
            "# shellcheck disable=SC2089,SC2090 # quotes in the token are data: shellQuote() quoted it",
            "export CONSUL_HTTP_TOKEN=tok",
            "CONSUL_HTTP_ADDR=http://127.0.0.1:8500",
            "export CONSUL_HTTP_ADDR",
            "NODE_NAME=consul-server-1",
            "EXPECT=3",
            "deadline=$(( $(date +%s) + 180 ))",
            "while :; do",
            "  if peers=$(consul operator raft list-peers 2>/dev/null); then",
            "    # Columns: Node ID Address State Voter RaftProtocol ...",
            '    if printf \'%s\\n\' "$peers" | awk -v n="$NODE_NAME" \'$1 == n && $5 == "true" { found = 1 } END { exit !found }\'; then',
            '      echo "consul-ready[$NODE_NAME]: a voter of the Raft quorum" >&2',
            "      exit 0",
            "    fi",
            "  else",
            "    alive=$(consul members -status=alive 2>/dev/null | awk '$4 == \"server\"' | wc -l)",
            "    self=$(consul members -status=alive 2>/dev/null | awk -v n=\"$NODE_NAME\" '$1 == n' | wc -l)",
            '    if [ "$self" -ge 1 ] && [ "$alive" -lt "$EXPECT" ]; then',
            '      echo "consul-ready[$NODE_NAME]: no leader yet and $alive of $EXPECT servers alive: the cluster is still forming" >&2',
            "      exit 0",
            "    fi",
            "  fi",
            '  if [ "$(date +%s)" -ge "$deadline" ]; then',
            '    echo "consul-ready[$NODE_NAME]: not a voter after 180 s" >&2',
            "    exit 1",
            "  fi",
            "  sleep 1",
            "done",
            "",
        ]);
    });

    test("the base policies and a registration policy, whole", () => {
        expect(BASE_ACL_POLICIES).toStrictEqual([
            {
                name: "agent",
                description: "Consul agents: register their node and keep the catalog in sync",
                rules: 'node_prefix "" {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
            },
            {
                name: "dns-read",
                description: "DNS lookups from the load balancers: read services and nodes",
                rules: 'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
            },
        ]);
        expect(serviceRegistrationPolicy("api")).toStrictEqual({
            name: "api-register",
            description: "Tasks of the api service register and deregister themselves",
            rules: 'service "api" {\n  policy = "write"\n}\nnode_prefix "" {\n  policy = "read"\n}\nagent_prefix "" {\n  policy = "read"\n}\n',
        });
    });

    test("the client config without a default token carries the agent token only", () => {
        expect(JSON.parse(renderConsulClientConfig(base)).acl).toStrictEqual({
            enabled: true,
            default_policy: "deny",
            down_policy: "extend-cache",
            enable_token_persistence: false,
            tokens: { agent: "agent-secret" },
        });
    });
});

describe("Consul TLS (consul.tls): each step of switching it on", () => {
    const server = (tls: ConsulTlsMode) => JSON.parse(renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "m", tls }));
    const client = (tls: ConsulTlsMode) => JSON.parse(renderConsulClientConfig({ ...base, nodeName: "lb-0", tls }));
    const files = {
        ca_file: "/consul/config/tls/ca.pem",
        cert_file: "/consul/config/tls/server.pem",
        key_file: "/consul/config/tls/server-key.pem",
    };

    test("off: no tls block, no HTTPS port, the same file as before Consul TLS existed", () => {
        expect(renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "m", tls: "off" })).toBe(
            renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "m" }),
        );
        expect(server("off").tls).toBeUndefined();
        expect(server("off").ports.https).toBeUndefined();
        expect(client("off").tls).toBeUndefined();
    });

    test("accept (the procedure's step 1): servers hold their certificate and hand clients theirs, but verify nothing yet", () => {
        expect(server("accept")).toMatchObject({
            tls: {
                defaults: { ...files, verify_incoming: false, verify_outgoing: false },
                internal_rpc: { verify_server_hostname: false },
            },
            auto_encrypt: { allow_tls: true },
            connect: { enabled: true },
            ports: { http: 8500, https: 8501, grpc_tls: -1 },
            client_addr: "0.0.0.0",
        });
        expect(server("accept").addresses).toBeUndefined();
        expect(client("accept").tls).toBeUndefined();
    });

    test("permissive: servers dial each other over TLS and check the name; client agents get auto_encrypt (step 2)", () => {
        expect(server("permissive").tls).toEqual({
            defaults: { ...files, verify_incoming: false, verify_outgoing: true },
            internal_rpc: { verify_server_hostname: true },
        });
        expect(client("permissive")).toMatchObject({
            tls: {
                defaults: { ca_file: "/consul/config/tls/ca.pem", verify_incoming: false, verify_outgoing: true },
                internal_rpc: { verify_server_hostname: true },
            },
            auto_encrypt: { tls: true },
            client_addr: "127.0.0.1",
        });
        expect(client("permissive").tls.defaults.cert_file).toBeUndefined();
    });

    test("enforce (step 3): mutual TLS only, and plain HTTP on the server's loopback only", () => {
        expect(server("enforce").tls).toEqual({
            defaults: { ...files, verify_incoming: true, verify_outgoing: true },
            internal_rpc: { verify_server_hostname: true },
        });
        expect(server("enforce").addresses).toEqual({ http: "127.0.0.1" });
        expect(server("enforce").client_addr).toBe("0.0.0.0");
        // Client agents: as in permissive, their API on loopback, plain HTTP (no HTTPS port).
        expect(client("enforce")).toEqual(client("permissive"));
        expect(client("enforce").ports.https).toBeUndefined();
    });

    test("the scripts on a server talk HTTPS with the CA and the server's own certificate, paths only", () => {
        for (const script of [
            renderAclBootstrapScript({ managementToken: "m", policies: [], tokens: [], leaderTimeoutSeconds: 5, tls: "enforce" }),
            renderConsulServerReadyScript({ nodeName: "consul-server-0", bootstrapExpect: 3, token: "m", tls: "accept" }),
        ]) {
            expect(script).toContain(
                [
                    "CONSUL_HTTP_ADDR=https://127.0.0.1:8501",
                    "CONSUL_CACERT=/consul/config/tls/ca.pem",
                    "CONSUL_CLIENT_CERT=/consul/config/tls/server.pem",
                    "CONSUL_CLIENT_KEY=/consul/config/tls/server-key.pem",
                    "export CONSUL_HTTP_ADDR CONSUL_CACERT CONSUL_CLIENT_CERT CONSUL_CLIENT_KEY",
                ].join("\n"),
            );
            expect(script).not.toContain("http://");
        }
        expect(renderConsulServerReadyScript({ nodeName: "consul-server-0", bootstrapExpect: 3, token: "m", tls: "off" })).toContain(
            "CONSUL_HTTP_ADDR=http://127.0.0.1:8500\nexport CONSUL_HTTP_ADDR\n",
        );
    });

    test("the token create request passes the CA and the client certificate to curl", () => {
        const script = renderAclBootstrapScript({
            managementToken: "m",
            policies: [],
            tokens: [{ description: "agents", accessorId: "a", secretId: "s", policy: "agent" }],
            leaderTimeoutSeconds: 5,
            tls: "enforce",
        });
        expect(script).toContain('${CONSUL_CACERT:+--cacert "$CONSUL_CACERT"} ${CONSUL_CLIENT_CERT:+--cert "$CONSUL_CLIENT_CERT"}');
    });
});
