// render/consul.ts, slow set (`npm test` only, not run per mutant): shellcheck over the scripts, and a
// fake-CLI run that waits out the ready gate's bound.
import { BASE_ACL_POLICIES, renderAclBootstrapScript, renderConsulServerReadyScript, serviceRegistrationPolicy } from "../../render/consul";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";
import { runWithFakeConsul } from "./consulFakes";

beforeAll(requireShellcheck);

test("the ACL bootstrap script passes shellcheck", () => {
    const script = renderAclBootstrapScript({
        managementToken: "mgmt-'quote",
        policies: [...BASE_ACL_POLICIES, serviceRegistrationPolicy("web")],
        tokens: [{ description: "agents", accessorId: "11111111-1111-1111-1111-111111111111", secretId: "s3cr3t", policy: "agent" }],
        leaderTimeoutSeconds: 5,
    });
    expect(shellcheck(script)).toBe("");
});

test("the server-ready script passes shellcheck", () => {
    expect(shellcheck(renderConsulServerReadyScript({ nodeName: "consul-server-0", bootstrapExpect: 3, token: "t'ok" }))).toBe("");
});

test("a non-voter (autopilot has not promoted it) does not pass; the bound is the timeout", () => {
    const r = runWithFakeConsul(
        renderConsulServerReadyScript({ nodeName: "consul-server-1", bootstrapExpect: 3, token: "t", timeoutSeconds: 1 }),
        {
            peers: `Node ID Address State Voter RaftProtocol\nconsul-server-0 a 10.0.0.1:8300 leader true 3\nconsul-server-1 b 10.0.0.2:8300 follower false 3\nconsul-server-10 c 10.0.0.3:8300 follower true 3\n`,
        },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("consul-ready[consul-server-1]: not a voter after 1 s");
});
