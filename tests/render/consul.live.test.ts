// render/consul.ts, slow set (`npm test` only, not run per mutant): shellcheck over the scripts, and the scripts
// run against a fake consul CLI (the fast set in consul.test.ts reads their whole text in-process).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BASE_ACL_POLICIES, renderAclBootstrapScript, renderConsulServerReadyScript, serviceRegistrationPolicy } from "../../render/consul";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";
import { runWithFakeConsul } from "./consulFakes";

beforeAll(requireShellcheck);

/** The ACL bootstrap script for every base policy, the web service's and one token. */
const ACL_SCRIPT = renderAclBootstrapScript({
    managementToken: "mgmt-'quote",
    policies: [...BASE_ACL_POLICIES, serviceRegistrationPolicy("web")],
    tokens: [{ description: "agents", accessorId: "11111111-1111-1111-1111-111111111111", secretId: "s3cr3t", policy: "agent" }],
    leaderTimeoutSeconds: 5,
});

test("the ACL bootstrap script passes shellcheck", () => {
    expect(shellcheck(ACL_SCRIPT)).toBe("");
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

describe("the ACL bootstrap script", () => {
    test("runs against fake consul and curl: waits for a leader, creates what is missing, prints no secret, passes none in argv", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acl-run-"));
        try {
            const log = path.join(dir, "calls.log");
            // Fake consul: a leader exists; nothing exists yet; every call is logged.
            fs.writeFileSync(
                path.join(dir, "consul"),
                `#!/bin/sh\necho "$*" >> ${log}\ncase "$1 $2" in\n  "operator raft") echo "node1 id 10.0.0.1:8300 leader true 3";;\n  "acl policy"|"acl token") [ "$3" = read ] && exit 1; exit 0;;\nesac\n`,
                { mode: 0o755 },
            );
            // Fake curl: logs its argv, the header file it was given (-H @FILE) and its mode, and the body on stdin.
            fs.writeFileSync(
                path.join(dir, "curl"),
                [
                    "#!/bin/sh",
                    `echo "curl $*" >> ${log}`,
                    'for a; do case "$a" in @-) ;; @*) f=${a#@}; stat -c %a "$f" >> ' +
                        dir +
                        '/header-modes; cat "$f" >> ' +
                        dir +
                        "/headers ;; esac; done",
                    `cat >> ${dir}/bodies`,
                    `echo >> ${dir}/bodies`,
                    // The API answers with the token, secret included: the script must discard it.
                    'echo \'{"SecretID":"s3cr3t"}\'',
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const out = execFileSync("sh", ["-s"], {
                input: ACL_SCRIPT,
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
            }).toString();
            expect(out).not.toMatch(/s3cr3t|mgmt-/);
            const calls = fs.readFileSync(log, "utf8");
            expect(calls).toMatch(/acl policy create -name agent/);
            expect(calls).toMatch(/acl policy create -name web-register/);
            expect(calls).not.toMatch(/s3cr3t|mgmt-/);
            expect(calls).toMatch(/^curl -sS --fail -X PUT -H @\S+ --data-binary @- http:\/\/127\.0\.0\.1:8500\/v1\/acl\/token$/m);
            expect(fs.readFileSync(path.join(dir, "bodies"), "utf8")).toBe(
                '{"AccessorID":"11111111-1111-1111-1111-111111111111","SecretID":"s3cr3t","Description":"agents","Policies":[{"Name":"agent"}]}\n\n',
            );
            expect(fs.readFileSync(path.join(dir, "headers"), "utf8")).toBe("X-Consul-Token: mgmt-'quote\n");
            expect(fs.readFileSync(path.join(dir, "header-modes"), "utf8")).toBe("600\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the server-ready script against a fake consul CLI", () => {
    const input = { nodeName: "consul-server-1", bootstrapExpect: 3, token: "mgmt-'tok" };
    const header = "Node ID Address State Voter RaftProtocol\n";

    test("passes once the server is a voter of the Raft quorum", () => {
        const r = runWithFakeConsul(renderConsulServerReadyScript(input), {
            peers: `${header}consul-server-0 a 10.0.0.1:8300 leader true 3\nconsul-server-1 b 10.0.0.2:8300 follower true 3\n`,
        });
        expect(r.status).toBe(0);
        expect(r.stderr).toContain("consul-ready[consul-server-1]: a voter of the Raft quorum");
    });

    test("with no leader, passes while the cluster is still forming (fewer alive servers than bootstrap_expect, itself among them)", () => {
        const members =
            "Node Address Status Type\nconsul-server-0 10.0.0.1:8301 alive server\nconsul-server-1 10.0.0.2:8301 alive server\n";
        const r = runWithFakeConsul(renderConsulServerReadyScript(input), { members });
        expect(r.status).toBe(0);
        expect(r.stderr).toContain("no leader yet and 2 of 3 servers alive");
    });
});
