// Issue #15, item 3: every file that holds a secret is readable by its daemon's user only — mode
// 0600 or 0400, owned by the user the daemon that reads it runs as. The files are found by their
// content (any secret value of the graph in it), so a new secret file is covered without a list.
//
// Where each platform says mode and owner:
//   - local (dev): a container upload's `permissions`; its owner is root (the Docker provider's
//     uploads carry none) unless the container's entrypoint chowns it first (`chown U:U PATH`, the
//     Consul servers), or the node image's Consul agent supervisor does (images/consul-agent:
//     it chowns its config directory to consul before starting the agent).
//   - aws (prod): the boot script's `fetch PARAMETER PATH MODE [OWNER]` of each file stored in
//     Parameter Store; the Consul agents run as that owner (docker run -e CONSUL_UID/CONSUL_GID).
import * as fs from "fs";
import * as path from "path";
import { collectArtifacts } from "../harness/artifacts";
import { graphSecrets } from "../harness/fakeNodes";
import { ProgramRun, REPO_ROOT, runProgram } from "../harness/program";
import { decodeStoredText } from "../../render/storedForm";

interface SecretFile {
    readonly where: string;
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
}

/** The daemon user that reads a file at this path: Consul's agent runs as consul; HAProxy and keepalived read theirs as root. */
function readerOf(filePath: string): string {
    return filePath.startsWith("/consul/config/") ? "consul" : "root";
}

const unquote = (word: string) => word.replace(/^'(.*)'$/, "$1");

/** Files the node image's agent supervisor gives to consul: its config directory's, when it chowns it. */
function supervisorOwnedDir(): string | undefined {
    const text = fs.readFileSync(path.join(REPO_ROOT, "images/consul-agent/consul-agent-supervise"), "utf8");
    const dir = /^CONFIG_DIR=\$\{CONSUL_CONFIG_DIR:-(\/\S+)\}$/m.exec(text)?.[1];
    return dir !== undefined && /^chown -R consul:consul "\$CONFIG_DIR"$/m.test(text) && /^chmod -R go-rwx "\$CONFIG_DIR"$/m.test(text)
        ? `${dir}/`
        : undefined;
}

/** The node images whose Dockerfile installs the agent supervisor (read from images/*, so a new image is covered). */
function supervisedImages(): string[] {
    const root = path.join(REPO_ROOT, "images");
    return fs.readdirSync(root).filter((name) => {
        const dockerfile = path.join(root, name, "Dockerfile");
        return fs.existsSync(dockerfile) && /^COPY \S*consul-agent-supervise /m.test(fs.readFileSync(dockerfile, "utf8"));
    });
}

function localSecretFiles(run: ProgramRun, secrets: readonly string[]): SecretFile[] {
    const agentDir = supervisorOwnedDir();
    const supervisedImage = new RegExp(`swarm-platform/(${supervisedImages().join("|")})[:@]`);
    return run.ofType("docker:index/container:Container").flatMap((c) => {
        const entrypoint = ((c.inputs.entrypoints ?? []) as string[]).join(" ");
        const chowned = new Map([...entrypoint.matchAll(/chown (\S+) (\S+)/g)].map((m) => [unquote(m[2]), unquote(m[1]).split(":")[0]]));
        // The LB, swarm and Prometheus node images run the supervisor; the official Consul image does not.
        const supervised = typeof c.inputs.image === "string" && supervisedImage.test(c.inputs.image);
        return (c.inputs.uploads ?? [])
            .filter((u: any) => typeof u.content === "string" && secrets.some((s) => u.content.includes(s)))
            .map((u: any) => ({
                where: `${run.stack} ${c.name}`,
                path: u.file,
                mode: u.permissions ?? "0644",
                owner: chowned.get(u.file) ?? (supervised && agentDir !== undefined && u.file.startsWith(agentDir) ? "consul" : "root"),
            }));
    });
}

function awsSecretFiles(run: ProgramRun, secrets: readonly string[]): SecretFile[] {
    const boots = collectArtifacts(run).filter((a) => a.path === "/usr/local/sbin/swarm-platform-boot");
    const parameters = new Map(
        run.ofType("aws:ssm/parameter:Parameter").map((p) => [String(p.inputs.name), decodeStoredText(String(p.inputs.value))]),
    );
    const files: SecretFile[] = [];
    for (const boot of boots) {
        for (const m of boot.content.matchAll(/^fetch (\S+) (\S+) (\S+)(?: (\S+))?$/gm)) {
            const [name, filePath, mode, owner] = [m[1], m[2], m[3], m[4]].map((w) => (w === undefined ? undefined : unquote(w)));
            const content = parameters.get(name as string);
            if (content === undefined) throw new Error(`${boot.node} fetches ${name}, which the graph does not store`);
            if (!secrets.some((s) => content.includes(s))) continue;
            files.push({ where: `${run.stack} ${boot.node}`, path: filePath as string, mode: mode as string, owner: owner ?? "root" });
        }
    }
    return files;
}

describe.each(["dev", "prod"])("%s: every file that holds a secret is its daemon's user's alone", (stack) => {
    let run: ProgramRun;
    let files: SecretFile[];

    beforeAll(async () => {
        run = await runProgram(stack);
        const secrets = graphSecrets(run);
        files = stack === "dev" ? localSecretFiles(run, secrets) : awsSecretFiles(run, secrets);
    });

    test("the secret files are found: every Consul server and agent config, and the LB configs", () => {
        const consulConfigs = files.filter((f) => f.path.startsWith("/consul/config/"));
        // Servers (3), agents beside each swarm node and LB node.
        expect(consulConfigs.length).toBeGreaterThanOrEqual(3 + 5 + 2);
        expect(files.some((f) => f.path.startsWith("/etc/haproxy/"))).toBe(true);
    });

    test("mode 0600 or 0400, owned by the user of the daemon that reads it", () => {
        const wrong = files.filter((f) => !["0600", "0400"].includes(f.mode) || f.owner !== readerOf(f.path));
        expect(wrong.map((f) => `${f.where} ${f.path}: mode ${f.mode}, owner ${f.owner} (want 0600/0400, ${readerOf(f.path)})`)).toEqual(
            [],
        );
    });

    if (stack === "prod") {
        test("the Consul agents run as the host user that owns their config (the image's entrypoint reads CONSUL_UID/CONSUL_GID)", () => {
            const boots = collectArtifacts(run).filter((a) => a.path === "/usr/local/sbin/swarm-platform-boot");
            const withConsul = boots.filter((b) => /docker run .* hashicorp\/consul:/.test(b.content));
            expect(withConsul.length).toBe(run.ofType("aws:ec2/instance:Instance").length);
            for (const b of withConsul) {
                const lines = b.content.split("\n");
                const run = lines.findIndex((l) => /^docker run .* hashicorp\/consul:/.test(l));
                expect([b.node, lines.slice(run - 3, run)]).toEqual([
                    b.node,
                    ["CONSUL_UID=$(id -u consul)", "CONSUL_GID=$(id -g consul)", "export CONSUL_UID CONSUL_GID"],
                ]);
                expect(lines[run]).toContain(" -e CONSUL_UID -e CONSUL_GID ");
            }
        });
    }
});
