import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BASE_ACL_POLICIES,
    renderAclBootstrapScript,
    renderConsulClientConfig,
    renderConsulServerConfig,
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
    const server = JSON.parse(renderConsulServerConfig({ ...base, bootstrapExpect: 3, managementToken: "mgmt-secret" }));

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
    const script = renderAclBootstrapScript({
        managementToken: "mgmt-'quote",
        policies: [...BASE_ACL_POLICIES, serviceRegistrationPolicy("web")],
        tokens: [{ description: "agents", accessorId: "11111111-1111-1111-1111-111111111111", secretId: "s3cr3t", policy: "agent" }],
        leaderTimeoutSeconds: 5,
    });

    test("creates each policy and token only when missing (idempotent)", () => {
        expect(script).toMatch(/if ! consul acl policy read -name agent /);
        expect(script).toMatch(/if ! consul acl token read -accessor-id 11111111-1111-1111-1111-111111111111 /);
        expect(script).toContain("-secret s3cr3t ");
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

    test("runs against a fake consul CLI: waits for a leader, creates what is missing, prints no secret", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acl-run-"));
        try {
            const log = path.join(dir, "calls.log");
            // Fake consul: a leader exists; nothing exists yet; every call is logged.
            fs.writeFileSync(
                path.join(dir, "consul"),
                `#!/bin/sh\necho "$*" >> ${log}\ncase "$1 $2" in\n  "operator raft") echo "node1 id 10.0.0.1:8300 leader true 3";;\n  "acl policy"|"acl token") [ "$3" = read ] && exit 1; exit 0;;\nesac\n`,
                { mode: 0o755 },
            );
            const out = execFileSync("sh", ["-s"], {
                input: script,
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
            }).toString();
            expect(out).not.toMatch(/s3cr3t|mgmt-/);
            const calls = fs.readFileSync(log, "utf8");
            expect(calls).toMatch(/acl policy create -name agent/);
            expect(calls).toMatch(/acl policy create -name web-register/);
            expect(calls).toMatch(/acl token create -accessor 11111111-1111-1111-1111-111111111111 -secret s3cr3t -policy-name agent/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
