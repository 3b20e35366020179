// render/consul.ts, slow set (`npm test` only, not run per mutant): shellcheck over the scripts.
import { BASE_ACL_POLICIES, renderAclBootstrapScript, renderConsulServerReadyScript, serviceRegistrationPolicy } from "../../render/consul";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";

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
