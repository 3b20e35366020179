// The pack as the policy SDK runs it: its policies, the SDK's proxies and unknown values, and the
// secret remediation's output. policy/index.ts is never imported (`new PolicyPack` starts a server);
// it is type-checked with `tsc -p policy` instead.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ResourceValidationArgs, ResourceValidationPolicy, unknownCheckingProxy } from "@pulumi/policy";
import { plainProps, policies, POLICY_PACK_NAME, PROXY_KEYS, secretsMarkedSecret, UNKNOWN_SENTINELS } from "../../policy/pack";
import { RESOURCE_RULES, STACK_RULES, TYPES, UNKNOWN } from "../../policy/rules";
import { REPO_ROOT, secretMarked } from "../harness/program";
import { sdkSerde } from "./graph";

const SECRET = secretMarked;
const POLICY_DIR = path.join(REPO_ROOT, "policy");

/** Resource args built the way the SDK's analyzer builds them from serialized inputs. */
function sdkArgs(type: string, name: string, raw: Record<string, unknown>, proxySecrets: boolean): ResourceValidationArgs {
    const props = unknownCheckingProxy(sdkSerde.deserializeProperties({ toJavaScript: () => raw }, proxySecrets));
    return { type, name, urn: `urn:pulumi:t::p::${type}::${name}`, props } as unknown as ResourceValidationArgs;
}

const policy = (name: string) => policies.find((p) => p.name === name) as ResourceValidationPolicy;

test("the pack holds every rule once, mandatory, and the secret-marking remediation", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([...Object.keys(RESOURCE_RULES), ...Object.keys(STACK_RULES), "secrets-marked-secret"].sort());
    for (const p of policies)
        expect([p.name, p.enforcementLevel]).toEqual([p.name, p.name === "secrets-marked-secret" ? "remediate" : "mandatory"]);
    expect(POLICY_PACK_NAME).toBe("swarm-platform");
});

test("the SDK's unknown sentinels and proxy keys are the ones the pack unwraps", () => {
    const proxy = require("@pulumi/policy/proxy");
    const sdkSentinels = Object.entries(proxy)
        .filter(([k]) => /^unknown\w+Value$/.test(k))
        .map(([, v]) => v);
    expect(new Set(sdkSentinels)).toEqual(UNKNOWN_SENTINELS);
    expect([proxy.isSpecialProxy, proxy.getSpecialProxyTarget]).toEqual([PROXY_KEYS.isProxy, PROXY_KEYS.target]);
});

test("a value unknown at preview reaches the rules as UNKNOWN instead of throwing out of the policy", () => {
    const raw = { metadataOptions: { httpTokens: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }, associatePublicIpAddress: false };
    expect(plainProps(sdkArgs(TYPES.instance, "n", raw, false).props).props).toEqual({
        metadataOptions: { httpTokens: UNKNOWN },
        associatePublicIpAddress: false,
    });
    const messages: string[] = [];
    (policy("imdsv2-required").validateResource as any)(sdkArgs(TYPES.instance, "n", raw, false), (m: string) => messages.push(m));
    expect(messages).toEqual(['n: metadataOptions.httpTokens is (unknown); IMDSv2 must be required ("required")']);
});

describe("secrets-marked-secret (remediation)", () => {
    const keepalived = "authentication {\n    auth_type PASS\n    auth_pass s3cr3t!x\n}";
    const run = async (raw: Record<string, unknown>) => {
        const result = await secretsMarkedSecret.remediateResource!(sdkArgs(TYPES.container, "lb-0", raw, true));
        return result === undefined ? undefined : sdkSerde.serializeProperties(result);
    };

    test("sees which inputs are secrets, and leaves a resource whose secrets are secret alone", async () => {
        expect(
            plainProps(sdkArgs(TYPES.container, "lb-0", { uploads: [{ file: "f", content: SECRET(keepalived) }] }, true).props).secretPaths,
        ).toEqual(new Set(["uploads[0].content"]));
        expect(await run({ uploads: [{ file: "/etc/keepalived/keepalived.conf", content: SECRET(keepalived) }] })).toBeUndefined();
        expect(await run({ uploads: [{ file: "/etc/motd", content: "hello" }] })).toBeUndefined();
    });

    test("marks plaintext secret content secret, and only that input", async () => {
        const result = await run({
            name: "lb-0",
            cpus: "0.5",
            uploads: [
                { file: "/etc/keepalived/keepalived.conf", content: keepalived },
                { file: "/etc/motd", content: "hello" },
            ],
        });
        expect(result).toEqual({
            name: "lb-0",
            cpus: "0.5",
            uploads: [
                { file: "/etc/keepalived/keepalived.conf", content: SECRET(keepalived) },
                { file: "/etc/motd", content: "hello" },
            ],
        });
    });
});

test("policy/index.ts builds the pack from pack.ts and type-checks on its own (tsc -p policy)", () => {
    const index = fs.readFileSync(path.join(POLICY_DIR, "index.ts"), "utf8");
    expect(index).toMatch(/new PolicyPack\(POLICY_PACK_NAME, \{ policies \}\)/);
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", POLICY_DIR, "--noEmit"], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
});

test("the pack's own package pins the SDK versions the repo uses", () => {
    const root = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    const pack = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
    const rootVersion = (name: string) => root.dependencies[name] ?? root.devDependencies[name];
    for (const name of ["@pulumi/policy", "@pulumi/pulumi"]) expect([name, pack.dependencies[name]]).toEqual([name, rootVersion(name)]);
    expect(fs.readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
});
