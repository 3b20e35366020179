// Every script of a program's graph, run the way the platform runs it, against fake tools that
// stand in for the nodes' own (docker, consul, curl, aws), with every process's argv recorded by
// strace: what `ps` and /proc/PID/cmdline would show on the machine running Pulumi and on the nodes.
//
// How each piece runs (the platform's own way, so the process that runs a script is traced too):
//   - command:local:Command   `/bin/sh -c <create|update|delete>` with `stdin` on stdin and
//     `environment` in the environment: @pulumi/command's local provider runs a command as
//     `exec.Command(interpreter..., command)` with the interpreter defaulting to ["/bin/sh", "-c"]
//     (pulumi/pulumi-command provider/pkg/provider/local/localUtil.go): the command text IS argv.
//   - aws:ssm/association:Association  its AWS-RunShellScript `commands`, written to a file and run
//     by `sh FILE` (the SSM agent writes the commands to a script file in the instance's orchestration
//     directory and runs it), on the instance it targets.
//   - scripts in node files (keepalived notify, the LB check, the registry-auth refresh): `sh FILE`
//     with keepalived's notify arguments.
// The fake docker runs `docker exec [-i] [-e VAR]… CONTAINER CMD…` as CMD on that container's node,
// with the same stdin and environment — the script on stdin reaches the node's shell as on a real
// engine — and answers engine calls with the swarm and service fakes of tests/render (swarmFakes.ts,
// serviceFakes.ts), each node keeping its own state. `sleep` returns at once: the scripts' waits are
// satisfied by the fakes, their poll intervals only cost time.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FAKE_CONSUL_CLUSTER } from "../render/consulFakes";
import { FAKE_DOCKER as FAKE_SERVICE_DOCKER } from "../render/serviceFakes";
import { FAKE_CURL as FAKE_SWARM_CURL, FAKE_DOCKER as FAKE_SWARM_DOCKER, MANAGER_TOKEN, WORKER_TOKEN } from "../render/swarmFakes";
import { decodeStoredText } from "../../render/storedForm";
import { ProgramRun, RecordedResource } from "./program";

/** The IMDSv2 session token the fake metadata service hands out: a credential like any secret. */
export const IMDS_SESSION_TOKEN = "MOCKSECRET-imds-session-token";

/** Secrets the fakes hand out at run time (they never pass through the graph). */
export const HANDED_OUT_SECRETS = [WORKER_TOKEN, MANAGER_TOKEN, IMDS_SESSION_TOKEN];

const DISPATCH_DOCKER = `#!/bin/sh
# Fake docker: exec runs on the container's node; image and container plumbing succeeds; engine calls
# go to the node's swarm or service fake.
R="$FAKE_ROOT"
node=\${FAKE_NODE:-host}
case "\${1:-}" in
  exec)
    shift
    while :; do
      case "$1" in
        -i | -t | -it | -d) shift ;;
        -e | -u | -w | --user | --workdir | --env) shift 2 ;;
        -*) shift ;;
        *) break ;;
      esac
    done
    c=$1
    shift
    target=$(cat "$R/containers/$c" 2>/dev/null || printf '%s' "$node")
    FAKE_NODE=$target exec "$@" ;;
  save | update | rm | run | pull | tag | push | inspect | ps | logs | start | stop | kill | network | volume | image) exit 0 ;;
  load) cat >/dev/null; exit 0 ;;
  service | secret)
    mkdir -p "$R/nodes/$node/service/secrets"
    FAKE_DIR=$R/nodes/$node/service exec "$R/libexec/service-docker" "$@" ;;
  *)
    mkdir -p "$R/nodes/$node/swarm"
    FAKE_DIR=$R/nodes/$node/swarm exec "$R/libexec/swarm-docker" "$@" ;;
esac
`;

const DISPATCH_CURL = `#!/bin/sh
# Fake curl: the engine API goes to the node's swarm fake; IMDS and the Consul HTTP API answer here.
R="$FAKE_ROOT"
node=\${FAKE_NODE:-host}
case "$*" in
  *--unix-socket*)
    mkdir -p "$R/nodes/$node/swarm"
    FAKE_DIR=$R/nodes/$node/swarm exec "$R/libexec/swarm-curl" "$@" ;;
  *169.254.169.254/latest/api/token*) printf '%s' "$FAKE_IMDS_TOKEN" ;;
  *169.254.169.254/latest/meta-data/placement/region*) cat >/dev/null; echo eu-west-1 ;;
  *169.254.169.254/latest/meta-data/mac*) cat >/dev/null; echo 0a:00:00:00:00:01 ;;
  *169.254.169.254/*interface-id*) cat >/dev/null; echo eni-0123456789 ;;
  */v1/acl/token*) cat >>"$R/consul-token-requests"; echo >>"$R/consul-token-requests" ;;
  *) exit 0 ;;
esac
`;

const FAKE_AWS = `#!/bin/sh
# Fake aws CLI: Parameter Store from the graph's parameters (files named by the parameter's name, / as _);
# put-parameter stores what it reads; SSM commands succeed at once; describe-instances finds one.
R="$FAKE_ROOT"
name=
prev=
for a; do [ "$prev" = --name ] && name=$a; prev=$a; done
key=$(printf '%s' "$name" | tr '/' '_')
case "$1 $2" in
  "ssm get-parameter")
    [ -f "$R/ssm/$key" ] || { echo "An error occurred (ParameterNotFound) when calling the GetParameter operation" >&2; exit 254; }
    cat "$R/ssm/$key" ;;
  "ssm put-parameter") cat >"$R/ssm/$key" ;;
  "ssm send-command") echo cmd-0001 ;;
  "ssm get-command-invocation") echo Success ;;
  "ec2 describe-instances") echo i-0000000001 ;;
  *) exit 0 ;;
esac
`;

/** Upper bound of one run. */
const RUN_TIMEOUT_MS = Number(process.env.FAKE_NODES_TIMEOUT_MS ?? 60_000);

/** Commands that would act on the machine itself, answered by success. */
const NO_OPS = ["sleep", "pgrep", "systemctl", "logger", "dpkg", "iptables", "setpriv"];

export interface TracedRun {
    /** What ran: "<stack> <resource> <field>". */
    readonly label: string;
    readonly status: number | null;
    readonly stderr: string;
    /** Every execve of the run: the traced program's argv as strace printed it, one per entry. */
    readonly execs: string[];
}

/** A fake world for one graph: the containers and instances of its nodes, its SSM parameters. */
export class FakeNodes {
    readonly root: string;
    private readonly bin: string;
    /** The Swarm secrets' values once every create had run. */
    secretsAfterCreates: string[] = [];

    constructor(private readonly run: ProgramRun) {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `fake-nodes-${run.stack}-`));
        this.bin = path.join(this.root, "bin");
        for (const d of ["bin", "libexec", "containers", "nodes", "ssm", "traces", "work"]) fs.mkdirSync(path.join(this.root, d));
        const exe = (dir: string, name: string, text: string) => fs.writeFileSync(path.join(this.root, dir, name), text, { mode: 0o755 });
        exe("bin", "docker", DISPATCH_DOCKER);
        exe("bin", "curl", DISPATCH_CURL);
        exe("bin", "aws", FAKE_AWS);
        exe("bin", "consul", FAKE_CONSUL_CLUSTER);
        for (const name of NO_OPS) exe("bin", name, "#!/bin/sh\ncat >/dev/null 2>&1 </dev/null\nexit 0\n");
        exe("libexec", "swarm-docker", FAKE_SWARM_DOCKER);
        exe("libexec", "swarm-curl", FAKE_SWARM_CURL);
        exe("libexec", "service-docker", FAKE_SERVICE_DOCKER);
        // Containers (local): by engine name, on the node of their hostname. Every node's engine
        // answers with its own name, and managers join as managers.
        for (const c of run.ofType("docker:index/container:Container")) {
            const node = String(c.inputs.hostname ?? c.name);
            fs.writeFileSync(path.join(this.root, "containers", String(c.inputs.name)), node);
            this.prepareNode(node);
        }
        for (const i of run.ofType("aws:ec2/instance:Instance")) this.prepareNode(i.name);
        for (const p of run.ofType("aws:ssm/parameter:Parameter")) {
            const name = String(p.inputs.name);
            fs.writeFileSync(path.join(this.root, "ssm", name.replace(/\//g, "_")), `${p.inputs.value}\n`);
        }
    }

    private prepareNode(node: string): void {
        const swarm = path.join(this.root, "nodes", node, "swarm");
        fs.mkdirSync(swarm, { recursive: true });
        fs.mkdirSync(path.join(this.root, "nodes", node, "service", "secrets"), { recursive: true });
        fs.writeFileSync(path.join(swarm, "name"), `${node}\n`);
        if (/manager/.test(node)) fs.writeFileSync(path.join(swarm, "join-control"), "true\n");
    }

    /** The node an association runs on: the instance it targets, or the first instance of its role. */
    private associationNode(r: RecordedResource): string {
        const targets: { key: string; values: string[] }[] = r.inputs.targets ?? [];
        const ids = targets.find((t) => t.key === "InstanceIds")?.values ?? [];
        if (ids.length > 0) return String(ids[0]).replace(/-id$/, "");
        const role = targets.find((t) => t.key === "tag:swarm-platform:role")?.values[0];
        const instance = this.run.ofType("aws:ec2/instance:Instance").find((i) => i.inputs.tags?.["swarm-platform:role"] === role);
        if (instance === undefined) throw new Error(`association ${r.name}: no instance of role ${role}`);
        return instance.name;
    }

    /** Runs argv under strace in the fake world, as `node`. */
    private traced(label: string, argv: string[], node: string, stdin: string, env: Record<string, string> = {}): TracedRun {
        const trace = path.join(this.root, "traces", `${fs.readdirSync(path.join(this.root, "traces")).length}.log`);
        const r = spawnSync("strace", ["-f", "-qq", "-s", "1000000", "-e", "trace=execve", "-o", trace, ...argv], {
            input: stdin,
            encoding: "utf8",
            cwd: path.join(this.root, "work"),
            // Bounded: a script the fakes cannot satisfy fails its own deadline well before this.
            timeout: RUN_TIMEOUT_MS,
            killSignal: "SIGKILL",
            env: {
                ...env,
                PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
                HOME: path.join(this.root, "work"),
                LANG: "C",
                TMPDIR: path.join(this.root, "work"),
                FAKE_ROOT: this.root,
                FAKE_NODE: node,
                FAKE_IMDS_TOKEN: IMDS_SESSION_TOKEN,
            },
        });
        const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
        if (r.error !== undefined && !timedOut) throw r.error;
        const execs = fs
            .readFileSync(trace, "utf8")
            .split("\n")
            .filter((l) => /\bexecve\(/.test(l));
        return { label, status: timedOut ? null : r.status, stderr: r.stderr ?? "", execs };
    }

    /**
     * Runs every script of the graph the way the platform runs it, in the order a first `pulumi up`,
     * a second one that updates everything in place, and a `pulumi destroy` would: every create in
     * registration order, then every update, then every delete in reverse. Returns each run's trace.
     */
    runAll(): TracedRun[] {
        const label = (r: RecordedResource, field: string) => `${this.run.stack} ${r.name} ${field}`;
        const commands = this.run.ofType("command:local:Command");
        const command = (r: RecordedResource, field: "create" | "update" | "delete"): TracedRun[] => {
            const line = r.inputs[field];
            if (typeof line !== "string" || line === "") return [];
            const env = Object.fromEntries(Object.entries(r.inputs.environment ?? {}).map(([k, v]) => [k, String(v)]));
            return [this.traced(label(r, field), ["/bin/sh", "-c", line], "host", String(r.inputs.stdin ?? ""), env)];
        };
        const creates = this.run.resources.flatMap((r): TracedRun[] => {
            if (r.type === "command:local:Command") return command(r, "create");
            if (r.type !== "aws:ssm/association:Association") return [];
            const lines = r.inputs.parameters?.commands;
            if (lines === undefined) return [];
            const file = path.join(this.root, "work", `${r.name}.sh`);
            fs.writeFileSync(file, Array.isArray(lines) ? lines.join("\n") : String(lines));
            return [this.traced(label(r, "commands"), ["sh", file], this.associationNode(r), "")];
        });
        // What the creates left (a delete removes the service and its secrets again).
        this.secretsAfterCreates = this.swarmSecrets();
        const updates = commands.flatMap((r) => command(r, "update"));
        const deletes = [...commands].reverse().flatMap((r) => command(r, "delete"));
        return [...creates, ...updates, ...deletes];
    }

    /** Runs a script file of a node (keepalived notify, health checks) as its daemon would. */
    runNodeScript(stack: string, resource: string, filePath: string, content: string, node: string): TracedRun {
        const file = path.join(this.root, "work", `${node}-${path.basename(filePath)}`);
        fs.writeFileSync(file, content, { mode: 0o755 });
        // keepalived's notify arguments: TYPE NAME STATE PRIORITY.
        return this.traced(`${stack} ${resource} ${filePath}`, ["sh", file, "INSTANCE", "VI_1", "MASTER", "100"], node, "");
    }

    /** The Consul ACL token requests (PUT /v1/acl/token bodies) the scripts sent. */
    consulTokenRequests(): string[] {
        const file = path.join(this.root, "consul-token-requests");
        return fs.existsSync(file)
            ? fs
                  .readFileSync(file, "utf8")
                  .split("\n")
                  .filter((l) => l.trim() !== "")
            : [];
    }

    /** The swarm join requests (POST /swarm/join bodies) every node's engine received. */
    swarmJoinRequests(): string[] {
        const nodes = path.join(this.root, "nodes");
        return fs.readdirSync(nodes).flatMap((node) => {
            const dir = path.join(nodes, node, "swarm");
            return fs
                .readdirSync(dir)
                .filter((f) => f.startsWith("request."))
                .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
                .filter((body) => body.includes("JoinToken"));
        });
    }

    /** Swarm secrets the service fake was given, by name (their values arrived on stdin). */
    swarmSecrets(): string[] {
        const nodes = path.join(this.root, "nodes");
        return fs.readdirSync(nodes).flatMap((node) => {
            const dir = path.join(nodes, node, "service", "secrets");
            return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), "utf8")) : [];
        });
    }

    cleanup(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** Every secret value of a graph: the values the mocks generated, every MOCKSECRET-… string anywhere in its inputs. */
export function graphSecrets(run: ProgramRun): string[] {
    const found = new Set(run.generatedSecrets);
    const visit = (v: unknown): void => {
        if (typeof v === "string") {
            const text = decodeStoredText(v);
            for (const m of text.matchAll(/MOCKSECRET-[A-Za-z0-9._-]+/g)) found.add(m[0]);
        } else if (Array.isArray(v)) v.forEach(visit);
        else if (v !== null && typeof v === "object") Object.values(v).forEach(visit);
    };
    run.resources.forEach((r) => visit(r.inputs));
    return [...found];
}
