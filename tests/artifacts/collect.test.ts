/**
 * tests/harness/artifacts.ts: collection is deterministic, refuses what it cannot classify, and
 * decodes the ways files reach an EC2 instance (user data: base64, gzip, MIME multipart,
 * cloud-config write_files/runcmd; SSM parameters). The AWS shapes are built here from the dev
 * stack's real artifacts, so the code path is proven before platforms/aws.ts lands.
 */
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { shellQuote } from "../../render/shell";
import { Artifact, collectArtifacts, decodeUserData, filesOnNode, nestedShScripts, UnknownArtifactError } from "../harness/artifacts";
import { ProgramRun, RecordedResource, runProgram } from "../harness/program";

let dev: ProgramRun;
let devArtifacts: Artifact[];
beforeAll(async () => {
    dev = await runProgram("dev");
    devArtifacts = collectArtifacts(dev);
});

const fake = (type: string, name: string, inputs: Record<string, any>): RecordedResource => ({
    type,
    name,
    urn: `urn:pulumi:dev::swarm-platform::${type}::${name}`,
    parent: "",
    dependencies: [],
    inputs,
    rawInputs: inputs,
    additionalSecretOutputs: [],
    custom: true,
    deleteBeforeReplace: false,
    propertyDependencies: {},
    ignoreChanges: [],
    replaceOnChanges: [],
    retainOnDelete: false,
});
/** The dev run plus `extra` resources. */
const devWith = (...extra: RecordedResource[]): ProgramRun => ({ ...dev, resources: [...dev.resources, ...extra] });
const only = (run: ProgramRun, name: string): Artifact[] => collectArtifacts(run).filter((a) => a.resource === name);
const file = (resource: string, filePath: string): string => {
    const found = devArtifacts.find((a) => a.resource === resource && a.path === filePath);
    if (!found) throw new Error(`no artifact ${filePath} on ${resource}`);
    return found.content;
};

test("the same config evaluated twice gives byte-identical artifacts", async () => {
    const again = collectArtifacts(await runProgram("dev"));
    expect(again.length).toBeGreaterThan(0);
    expect(again).toEqual(devArtifacts);
});

describe("collection fails loudly on anything it cannot classify", () => {
    test("an upload of an unknown kind (here a cron table) names the resource and the file", () => {
        const unit = fake("docker:index/container:Container", "extra", {
            uploads: [{ file: "/etc/cron.d/web", content: "*/5 * * * * root true\n", permissions: "0644" }],
        });
        expect(() => collectArtifacts(devWith(unit))).toThrow(UnknownArtifactError);
        expect(() => collectArtifacts(devWith(unit))).toThrow(/docker:index\/container:Container extra ships \/etc\/cron\.d\/web/);
    });

    test("an upload from a host file (not in the graph) is refused", () => {
        const r = fake("docker:index/container:Container", "extra", { uploads: [{ file: "/etc/x.conf", source: "/home/me/x.conf" }] });
        expect(() => collectArtifacts(devWith(r))).toThrow(UnknownArtifactError);
    });

    test("a script for another interpreter is refused (shellcheck cannot check it)", () => {
        const py = fake("command:local:Command", "extra", { create: "x", stdin: "#!/usr/bin/python3\nprint('hi')\n" });
        expect(() => collectArtifacts(devWith(py))).toThrow(/extra ships stdin/);
        const interp = fake("command:local:Command", "extra", { create: "print(1)", interpreter: ["python3", "-c"] });
        expect(() => collectArtifacts(devWith(interp))).toThrow(UnknownArtifactError);
    });

    test("a resource type the suite does not know that carries user data is refused", () => {
        const r = fake("aws:lightsail/instance:Instance", "extra", { userData: "#!/bin/sh\necho hi\n" });
        expect(() => collectArtifacts(devWith(r))).toThrow(/aws:lightsail\/instance:Instance extra/);
    });

    test("user data of an unknown kind (#include, a boothook) is refused", () => {
        const r = fake("aws:ec2/instance:Instance", "extra", { userData: "#include\nhttps://example.com/x\n" });
        expect(() => collectArtifacts(devWith(r))).toThrow(UnknownArtifactError);
    });
});

describe("commands: the script on stdin, the host-side command lines and the scripts nested in them", () => {
    test("sh -c '<script>' words are unquoted back to the exact script", () => {
        const a = "#!/bin/sh\necho 'it''s' \"$HOME\" \\\n";
        const b = "printf '%s\\n' x";
        expect(
            nestedShScripts(`docker exec n sh -c ${shellQuote(a)} || true\nfor c in x; do sh -c ${shellQuote(b)} && break; done`),
        ).toEqual([a, b]);
    });

    test("a swarm join ships its stdin script, its create/delete lines and the drain/leave/remove scripts inside delete", () => {
        const join = only(dev, "swarm-worker-0-join");
        expect(join.map((a) => a.source)).toEqual([
            "stdin",
            "create",
            "create › sh -c #1",
            "delete",
            "delete › sh -c #1",
            "delete › sh -c #2",
            "delete › sh -c #3",
        ]);
        expect(join.every((a) => a.kind === "shell" && a.shell === "sh")).toBe(true);
        expect(join[4].content).toMatch(/^#!\/bin\/sh\n[\s\S]*docker node update --availability drain/);
        expect(join[5].content).toMatch(/^#!\/bin\/sh\n[\s\S]*docker swarm leave/);
        expect(join[6].content).toMatch(/^#!\/bin\/sh\n[\s\S]*docker node rm/);
    });
});

test("a node's files are its own uploads plus what its image installs, when the program builds that image", () => {
    const on = (resource: string, kind: string) =>
        filesOnNode(dev, devArtifacts, devArtifacts.find((a) => a.resource === resource && a.kind === kind)!);
    const lb = on("lb-0", "keepalived");
    expect([...lb.keys()]).toEqual(
        expect.arrayContaining(["/usr/local/bin/check_haproxy.sh", "/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"]),
    );
    expect(lb.get("/usr/local/bin/check_haproxy.sh")).toMatch(/^#!\/bin\/bash\n/);
    // The node's Consul agent runs inside it: its config and supervisor are the node's files too.
    expect(lb.has("/consul/config/client.json")).toBe(true);
    expect(lb.get("/usr/local/bin/consul-agent-supervise")).toMatch(/^#!\/bin\/bash\n/);
    // Another image: nothing of the LB image there.
    expect(on("swarm-worker-0", "docker-daemon-json").has("/usr/local/bin/check_haproxy.sh")).toBe(false);
    // The official Consul image is pulled, not built: a server has only its uploads.
    expect([...on("consul-server-0", "consul-json").keys()]).toEqual([
        "/consul/config/server.json",
        "/consul/config/tls/ca.pem",
        "/consul/config/tls/server.pem",
        "/consul/config/tls/server-key.pem",
    ]);
});

describe("EC2 user data and SSM parameters (the aws platform's delivery paths)", () => {
    const cloudConfig = () =>
        "#cloud-config\n" +
        yaml.dump({
            write_files: [
                { path: "/etc/haproxy/haproxy.cfg", content: file("lb-0", "/etc/haproxy/haproxy.cfg"), permissions: "0600" },
                {
                    path: "/etc/keepalived/keepalived.conf",
                    encoding: "b64",
                    content: Buffer.from(file("lb-0", "/etc/keepalived/keepalived.conf")).toString("base64"),
                },
                {
                    path: "/consul/config/client.json",
                    encoding: "gz+b64",
                    content: zlib.gzipSync(file("lb-0", "/consul/config/client.json")).toString("base64"),
                },
            ],
            runcmd: ["systemctl restart haproxy", ["sh", "-c", "echo 'ready'"]],
        });

    test("plain, base64 and gzipped+base64 user data decode to the same text", () => {
        const text = cloudConfig();
        expect(decodeUserData(text, false)).toBe(text);
        expect(decodeUserData(Buffer.from(text).toString("base64"), true)).toBe(text);
        expect(decodeUserData(zlib.gzipSync(text).toString("base64"), true)).toBe(text);
        expect(decodeUserData(Buffer.from(text).toString("base64"), false)).toBe(text); // base64 where plain was allowed
    });

    test("a cloud-config yields itself, every write_files entry classified by path, and runcmd as an sh script", () => {
        const instance = fake("aws:ec2/instance:Instance", "lb-0", { userData: cloudConfig() });
        const found = only(devWith(instance), "lb-0").filter((a) => a.resourceType === "aws:ec2/instance:Instance");
        expect(found.map((a) => [a.kind, a.path])).toEqual([
            ["cloud-config", "userData"],
            ["haproxy", "/etc/haproxy/haproxy.cfg"],
            ["keepalived", "/etc/keepalived/keepalived.conf"],
            ["consul-json", "/consul/config/client.json"],
            ["shell", "runcmd"],
        ]);
        expect(found[2].content).toBe(file("lb-0", "/etc/keepalived/keepalived.conf"));
        expect(found[3].content).toBe(file("lb-0", "/consul/config/client.json"));
        expect(found[4].content).toBe("#!/bin/sh\nsystemctl restart haproxy\n'sh' '-c' 'echo '\\''ready'\\'''\n");
    });

    test("a gzipped MIME multipart launch template (cloud-config + shell script) is split and decoded", () => {
        const boundary = "==BOUNDARY==";
        const script = file("swarm-init", "stdin");
        const mime = [
            `Content-Type: multipart/mixed; boundary="${boundary}"`,
            "MIME-Version: 1.0",
            "",
            `--${boundary}`,
            'Content-Type: text/cloud-config; charset="us-ascii"',
            "",
            cloudConfig(),
            `--${boundary}`,
            "Content-Type: text/x-shellscript",
            "Content-Transfer-Encoding: base64",
            "",
            Buffer.from(script).toString("base64"),
            `--${boundary}--`,
            "",
        ].join("\n");
        const template = fake("aws:ec2/launchTemplate:LaunchTemplate", "swarm-worker", {
            userData: zlib.gzipSync(mime).toString("base64"),
        });
        const found = only(devWith(template), "swarm-worker");
        expect(found.map((a) => a.kind)).toEqual(["cloud-config", "haproxy", "keepalived", "consul-json", "shell", "shell"]);
        expect(found[5]).toMatchObject({ source: "userData › part 1", shell: "sh", content: script });
    });

    test("an SSM parameter holding a file lands where a node's boot script fetches it (path, mode, node)", () => {
        const node = fake("aws:ec2/instance:Instance", "node-9", { userData: "#!/bin/sh\nfetch /x/file-9 /usr/local/bin/probe 0755\n" });
        const param = fake("aws:ssm/parameter:Parameter", "node-9-file-9", { name: "/x/file-9", value: "probe --all\nexit 0\n" });
        // Without a `#!`, only the fetched mode (0755) makes it a script.
        expect(only(devWith(node, param), "node-9-file-9")).toEqual([
            expect.objectContaining({ kind: "shell", shell: "sh", node: "node-9", path: "/usr/local/bin/probe" }),
        ]);
        expect(() => collectArtifacts(devWith(param))).toThrow(UnknownArtifactError);
    });

    test("an SSM parameter holding a file is classified by the path in its name; one-line values are not files", () => {
        const cfg = fake("aws:ssm/parameter:Parameter", "lb-0-haproxy", {
            name: "/swarm-platform/prod/lb-0/etc/haproxy/haproxy.cfg",
            value: file("lb-0", "/etc/haproxy/haproxy.cfg"),
        });
        const token = fake("aws:ssm/parameter:Parameter", "join-token", { name: "/swarm-platform/prod/token", value: "SWMTKN-1-abc" });
        const found = collectArtifacts(devWith(cfg, token)).filter((a) => a.resourceType === "aws:ssm/parameter:Parameter");
        expect(found.map((a) => [a.resource, a.kind, a.path])).toEqual([["lb-0-haproxy", "haproxy", "/etc/haproxy/haproxy.cfg"]]);
    });
});

describe("the prod stack (aws platform)", () => {
    let prod: ProgramRun;
    let prodArtifacts: Artifact[];
    beforeAll(async () => {
        prod = await runProgram("prod");
        prodArtifacts = collectArtifacts(prod);
    });
    const fromResource = (name: string) => prodArtifacts.filter((a) => a.resource === name);

    test("evaluated twice, the prod stack's artifacts are byte-identical too", async () => {
        expect(collectArtifacts(await runProgram("prod"))).toEqual(prodArtifacts);
    });

    test("a node file in Parameter Store is checked as the file its instance's boot script writes", () => {
        const keepalivedFile = prod
            .ofType("aws:ssm/parameter:Parameter")
            .find((p) => p.inputs.description === "lb-0:/etc/keepalived/keepalived.conf")!;
        expect(fromResource(keepalivedFile.name)).toEqual([
            expect.objectContaining({ kind: "keepalived", node: "lb-0", path: "/etc/keepalived/keepalived.conf" }),
        ]);
        expect(fromResource("lb-0").map((a) => [a.kind, a.path])).toEqual([
            ["cloud-config", "userData"],
            ["shell", "/usr/local/sbin/swarm-platform-boot"],
            ["shell", "runcmd"],
        ]);
    });

    test("keepalived's tracked and notify scripts are among the files the LB instance fetches", () => {
        const conf = prodArtifacts.find((a) => a.node === "lb-0" && a.kind === "keepalived")!;
        const files = filesOnNode(prod, prodArtifacts, conf);
        expect(files.get("/usr/local/bin/check_haproxy.sh")).toMatch(/^#!\/bin\/bash\n/);
        expect(files.get("/usr/local/sbin/vip-notify")).toMatch(/^#!\/bin\/sh\n/);
    });

    test("a script run through SSM is collected twice: the association's commands and the script in its parameter", () => {
        expect(fromResource("swarm-init").map((a) => [a.kind, a.path])).toEqual([["shell", "commands"]]);
        expect(fromResource("swarm-init-script")).toEqual([
            expect.objectContaining({ kind: "shell", content: expect.stringMatching(/docker swarm init/) }),
        ]);
    });
});
