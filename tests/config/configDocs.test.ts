// The config key docs (config/docs.ts) against the files users read and the validator that decides:
// README.md's table and Pulumi.yaml's comment are exactly what `npm run docs:config` writes, every key
// the validator reads is documented (and nothing else), and every default shown is the one it resolves.
import * as fs from "fs";
import * as path from "path";
import {
    configKeys,
    generatedDocs,
    KeyDoc,
    renderConfigTable,
    renderPulumiYamlComment,
    replaceBetween,
    REQUIRED,
    showDefault,
} from "../../config/docs";
import { PLATFORMS, PlatformName, TOP_LEVEL_KEYS, validateStackConfig } from "../../config";
import { DOC_FILES, lineDiff } from "../../tools/configDoc";

const ROOT = path.join(__dirname, "..", "..");
const AMI_NAME = "debian-12-amd64-20250316-2053";
/** The least each platform needs: its required keys. */
const MINIMAL: Record<PlatformName, object> = {
    local: { platform: "local", web: { version: "1.0.0" } },
    aws: { platform: "aws", web: { version: "1.0.0" }, aws: { amiName: AMI_NAME, domain: "www.example.com" } },
};

describe("the committed docs are the generated ones", () => {
    let committed: { readme: string; pulumiYaml: string };
    let generated: { readme: string; pulumiYaml: string };
    beforeEach(() => {
        const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
        committed = { readme: read(DOC_FILES.readme), pulumiYaml: read(DOC_FILES.pulumiYaml) };
        generated = generatedDocs(committed);
    });

    test.each(["readme", "pulumiYaml"] as const)("%s", (file) => {
        const stale = committed[file] !== generated[file];
        const message = stale
            ? `${DOC_FILES[file]} is out of date: run \`npm run docs:config\`\n${lineDiff(committed[file], generated[file])}`
            : "";
        expect(message).toBe("");
    });
});

describe("every key the validator reads is documented, and only those", () => {
    const documented = (prefix: string) =>
        [
            ...new Set(
                configKeys()
                    .filter((k) => k.key.startsWith(prefix))
                    .map((k) => k.key.slice(prefix.length).split(".")[0]),
            ),
        ].sort();
    /** The keys a section knows, as its unknown-key issue lists them. */
    const known = (section: string): string[] => {
        const raw: Record<string, unknown> = { ...MINIMAL.local };
        const parts = section.split(".");
        let target: Record<string, unknown> = raw;
        parts.forEach((part, i) => {
            const existing = (target[part] ?? {}) as Record<string, unknown>;
            target[part] = i === parts.length - 1 ? { ...existing, zzz: 1 } : { ...existing };
            target = target[part] as Record<string, unknown>;
        });
        const issue = validateStackConfig(raw, "dev").issues.find((i) => i.key === `${section}.zzz`);
        const list = /known: ([^)]*)\)/.exec(issue?.rule ?? "")?.[1];
        if (list === undefined) throw new Error(`no unknown-key issue for ${section}.zzz`);
        return list.split(", ").sort();
    };

    test("top-level keys", () => {
        expect(documented("")).toEqual([...TOP_LEVEL_KEYS].sort());
    });

    test.each(["consul", "swarm", "web", "lb", "network", "edge", "aws", "aws.instanceTypes", "aws.monitoring"])("%s", (section) => {
        expect(documented(`${section}.`)).toEqual(known(section));
    });

    // One test over every key rather than test.each: the case list would be built while jest collects
    // the tests, outside any test, and StrykerJS would then judge configKeys()'s mutants by every test.
    test("each resource-limits key holds cpus and memoryMb", () => {
        const keys = configKeys()
            .filter((k) => k.key.endsWith("esources"))
            .map((k) => k.key);
        expect(keys).toEqual([
            "consul.resources",
            "consul.agentResources",
            "swarm.nodeResources",
            "web.resources",
            "lb.resources",
            "edge.resources",
        ]);
        for (const key of keys) expect([key, known(key)]).toEqual([key, ["cpus", "memoryMb"]]);
    });
});

describe("every default shown is the one the validator resolves", () => {
    const at = (value: unknown, key: string) => key.split(".").reduce<any>((v, part) => v?.[part], value);

    test.each(PLATFORMS)("every key %s reads", (platform) => {
        const { config, issues } = validateStackConfig(MINIMAL[platform], platform === "aws" ? "prod" : "dev");
        expect(issues).toEqual([]);
        const docs = configKeys().filter((k) => platform in k.defaults && k.defaults[platform] !== REQUIRED);
        expect(docs.length).toBeGreaterThan(20);
        // [key, resolved] pairs, so a mismatch names its key.
        expect(docs.map((k) => [k.key, at(config, k.key)])).toEqual(docs.map((k) => [k.key, k.defaults[platform]]));
    });

    test("a required key is reported missing", () => {
        expect(validateStackConfig({ web: { version: "1" } }, "dev").issues.map((i) => i.key)).toContain("platform");
        expect(validateStackConfig({ platform: "local" }, "dev").issues.map((i) => i.key)).toEqual(["web.version"]);
        expect(validateStackConfig({ platform: "aws", web: { version: "1" } }, "prod").issues.map((i) => i.key)).toEqual([
            "aws.domain",
            "aws.amiName",
        ]);
    });
});

describe("how the docs read", () => {
    const doc = (key: string) => configKeys().find((k) => k.key === key)!;

    test("defaults per platform: values, limits, lists, required, and keys a platform does not read", () => {
        expect(showDefault(doc("consul.servers"), "local")).toBe("3");
        expect(showDefault(doc("consul.datacenter"), "aws")).toBe("`dc1`");
        expect(showDefault(doc("consul.resources"), "local")).toBe("0.5 CPU, 256 MiB");
        expect(showDefault(doc("aws.operatorCidrs"), "aws")).toBe("none");
        expect(showDefault({ ...doc("aws.operatorCidrs"), defaults: { aws: ["10.0.0.0/8", "192.168.0.0/16"] } }, "aws")).toBe(
            "`10.0.0.0/8`, `192.168.0.0/16`",
        );
        expect(showDefault(doc("web.version"), "aws")).toBe("required");
        expect(showDefault(doc("edge.webPort"), "aws")).toBe("—");
        expect(showDefault(doc("lb.vip"), "local")).toBe("`10.77.0.10` (host 10 of `network.subnet`)");
        expect(showDefault(doc("network.subnet"), "aws")).toBe("`10.20.0.0/16`");
    });

    test("the README table: a header, then one row per key", () => {
        const lines = renderConfigTable().split("\n");
        expect(lines.slice(0, 2)).toEqual([
            "| key | what it sets | rule | default (`local`) | default (`aws`) |",
            "| --- | --- | --- | --- | --- |",
        ]);
        expect(lines).toHaveLength(2 + configKeys().length);
        expect(lines).toContain(
            "| `consul.servers` | Consul servers | odd, 1–7; ≥ 3 on platform aws and on stacks named prod or production | 3 | 3 |",
        );
        expect(lines).toContain(
            "| `edge.webPort` | host port of the web service, HTTPS with a certificate from the stack's own CA (output `webCaCertificate`) | a TCP port, unique among the edge's | 8443 | — |",
        );
    });

    test("the Pulumi.yaml comment: keys in a column, text wrapped under it, one scope and one default per key", () => {
        const keys = [doc("swarm.workers"), doc("network.subnet"), doc("aws.zones")];
        expect(renderPulumiYamlComment(keys, 80).split("\n")).toEqual([
            "#   swarm.workers   Swarm workers. Rule: a whole number ≥ 0. Default: 2.",
            "#   network.subnet  the nodes' private IPv4 range: local, the Docker network;",
            "#                   aws, the VPC. Rule: a private CIDR (host bits zero) that",
            "#                   holds the address plan and overlaps no swarm address pool",
            "#                   (10.214.0.0/16, 10.215.0.0/16); aws: /16–/24. Default: local",
            "#                   10.77.0.0/24; aws 10.20.0.0/16.",
            "#   aws.zones       (aws only) availability zones the nodes spread over (node i",
            "#                   of a group in zone i mod zones). Rule: 2–6, and the region",
            "#                   must have as many. Default: 3.",
        ]);
    });

    test("a line is wrapped only when the next word would pass the width: a line of exactly the width stays whole", () => {
        const key: KeyDoc = { key: "k", meaning: "aa bb", rule: "r", defaults: { local: 1, aws: 1 } };
        // "#   k  aa bb. Rule: r. Default: 1." is 34 characters.
        expect(renderPulumiYamlComment([key], 34).split("\n")).toEqual(["#   k  aa bb. Rule: r. Default: 1."]);
        expect(renderPulumiYamlComment([key], 33).split("\n")).toEqual(["#   k  aa bb. Rule: r. Default:", "#      1."]);
    });

    test("the generated part replaces what lies between the markers, the first end marker after the begin marker", () => {
        expect(replaceBetween("END\nkeep\nBEGIN\nold\nEND\ntail", "BEGIN", "END", "new")).toBe("END\nkeep\nBEGIN\nnew\nEND\ntail");
        expect(replaceBetween("BEGIN\nold\nEND", "BEGIN", "END", "new")).toBe("BEGIN\nnew\nEND");
        expect(() => replaceBetween("no markers", "BEGIN", "END", "new")).toThrow(new Error('markers not found: "BEGIN" … "END"'));
        expect(() => replaceBetween("BEGIN only", "BEGIN", "END", "new")).toThrow(new Error('markers not found: "BEGIN" … "END"'));
        expect(() => replaceBetween("END only", "BEGIN", "END", "new")).toThrow(new Error('markers not found: "BEGIN" … "END"'));
    });

    test("a stale file fails with a diff that shows the committed and the generated lines", () => {
        expect(lineDiff("a\nb\nc\nd\ne", "a\nb\nX\nd\ne")).toBe("  b\n- c\n+ X\n  d");
        expect(lineDiff("same", "same")).toBe("");
    });
});
