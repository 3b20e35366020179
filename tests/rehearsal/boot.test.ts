// Boot rehearsal of every prod role: the prod stack's instances, booted for real from the user data
// and scripts the program generates, on this machine, then checked.
//
// The real program (index.ts) is evaluated for the `prod` stack under Pulumi's mock runtime
// (tests/harness/program.ts) with small counts and a VPC CIDR of our own (network.subnet, so the
// graph's private addresses are real on the rehearsal's Docker network). Everything else comes from
// that graph (tests/rehearsal/graph.ts): one container per aws.ec2.Instance (its user data, address,
// tags, role, instance profile), Parameter Store from every aws.ssm.Parameter, and every
// aws.ssm.Association run in dependency order on the nodes its targets name.
//
// REAL here: Debian 12 (bookworm) userland with systemd as PID 1; Debian's cloud-init 22.4 running
// its four stages over the instance's user data (hostname, /etc/hosts, apt-get update + packages,
// write_files, runcmd → the program's boot script); Debian's awscli 2.9.19 with its default
// credential chain (instance-role credentials from IMDSv2); docker.io (dockerd inside each node:
// Docker-in-Docker without --privileged), haproxy, keepalived, iptables, amazon-ecr-credential-helper
// from Debian; the program's own boot script, config files, notify script and every association's
// commands and scripts, byte for byte; Docker Swarm formed by the program's scripts and the web
// service deployed by its deploy script from the image built from images/web/Dockerfile.
//
// STAND-INS, only for what cannot exist here (no AWS, no Docker Hub, no S3, no ECR):
// - IMDSv2 (tests/rehearsal/node/imds.py): 169.254.169.254 on each node's loopback (port 80 is
//   DNATed to its port 1, so the node's own *:80 stays free); token (only for the node itself, as
//   the hop limit does), instance id, address, MAC, interface id, region and zone, and the instance
//   role's temporary credentials. The program's IMDS guard (iptables) applies to it as on EC2.
// - SSM Parameter Store + EC2 routes (tests/rehearsal/awsApi.ts): an HTTP server in this process on
//   the network's gateway address, speaking the AWS JSON/query protocols, applying the graph's IAM
//   role policies to each call (the caller is known by its access key id). The nodes' real
//   /usr/bin/aws reaches it through /usr/local/bin/aws, a wrapper that adds `--endpoint-url` for the
//   ssm and ec2 services (awscli 2.9 has no AWS_ENDPOINT_URL or config endpoint_url).
// - How user data reaches the instance: cloud-init's NoCloud seed instead of EC2's metadata service
//   (the same user-data bytes and instance id); cloud-init renders no network (Docker's, like the
//   VPC's DHCP). The node's interface is renamed ens5, an EC2 Nitro instance's name.
// - The SSM agent: AWS's .deb comes from S3; the image has a stand-in package of that name whose
//   service does nothing, and this suite plays the agent: AWS-RunShellScript = the commands on the
//   stdin of `sh -s` as root (docker exec), in the agent's environment (systemd's PATH, no HOME),
//   only on a node whose amazon-ssm-agent service the boot script started; tag targets on every
//   matching instance, honouring maxConcurrency and maxErrors as SSM does.
// - Docker Hub: hashicorp/consul:<version> is a stand-in image (tests/rehearsal/consul) loaded into
//   each engine under that exact name; it behaves like the official image's entrypoint (chown of
//   its directories, consul user) and answers the consul commands the scripts run.
// - ECR: the web image is built here and loaded into the engines whose instance role may pull it
//   (its IAM policy), tagged with the ECR reference the program pushes. Pulls of that reference still
//   fail (AWS names do not resolve on this machine); Swarm then runs the loaded image.
// Order: all instances boot at once. A real `pulumi up` creates some only after associations (a
// rolling chain: consul-server-1 after consul-server-0's ready check, the swarm nodes and LBs after
// the Consul ACL bootstrap…); serialised like that the run would take ~15 min here. Boot scripts
// read only their own node's parameters, so they do not depend on it; the associations do run in
// the graph's order. A failed association's dependents still run (marked "pulumi up would not run
// it"), so one run shows every failing script; REHEARSAL_STOP_AT_FAILURE=1 skips them instead.
// - Fluent Bit (the journal's shipper): its package comes from packages.fluentbit.io, which this
//   machine may not reach; there is no stand-in (Debian 12 packages no fluent-bit). Where a node
//   cannot reach it, the suite asserts the boot's designed fallback instead: the install failed, the
//   boot said so (its WARNING line) and went on, and everything else on the node runs; where it can,
//   the service must be active like any other (packageHostReachable).
// Not exercised: the VIP route move needs an LB to become MASTER, which needs a web backend in
// Consul's DNS — Consul is a stand-in without a catalog, so both LBs stay FAULT (reported, asserted
// only if a MASTER happens).
//
// Where the program's user data or scripts fail here, the assertions fail: nothing is worked around.
// Run: scripts/system-setup.sh && npm run test:rehearsal (~6–8 min on 2 cores). Env: REHEARSAL_KEEP=1
// leaves the nodes running; REHEARSAL_SUBNET, REHEARSAL_PREFIX (default sprh-).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FLUENT_BIT } from "../../render/cloudInit";
import { decodeStoredText } from "../../render/storedForm";
import { ProgramRun, runProgram } from "../harness/program";
import { docker, dockerResult, sleep } from "../system/docker";
import { AwsApiStandIn } from "./awsApi";
import { associationNodes, iamAllows, RehearsalAssociation, RehearsalNode, RehearsalPlan, rehearsalPlan } from "./graph";
import {
    buildImage,
    containerName,
    createNode,
    execScript,
    hostAddress,
    imageExists,
    RehearsalSettings,
    removeRehearsalObjects,
    REHEARSAL_LABEL,
    settingsFromEnv,
    standInImages,
} from "./nodes";

// Set by tests/rehearsal/jest.config.js: under the default jest config (npm test) this suite is skipped.
const enabled = (globalThis as { SWARM_REHEARSAL?: boolean }).SWARM_REHEARSAL === true;
const describeRehearsal = enabled ? describe : describe.skip;

/**
 * The smallest prod shape the program accepts: config/validate.ts holds consul.servers and
 * swarm.managers to at least 3 on platform aws (any stack name), so 3 + 3 + 1 worker + the LB pair.
 */
const SHAPE = { consul: { servers: 3 }, swarm: { managers: 3, workers: 1 }, web: { replicas: 2 } };
const BOOT_TIMEOUT_MS = 6 * 60_000;
const ASSOCIATION_TIMEOUT_MS = 4 * 60_000;
const SERVICE_CONVERGE_MS = 60_000;
/** The SSM agent's environment: systemd's default PATH, no HOME. */
const AGENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface BootResult {
    /** From `docker start` to the end of cloud-init's last stage. */
    readonly ms: number;
    readonly status: string;
    readonly detail: string;
    readonly bootScriptFinished: boolean;
    readonly outputTail: string;
    readonly failedUnits: string;
}

interface TargetRun {
    readonly node: string;
    readonly code: number | null;
    readonly ms: number;
    readonly output: string;
}

interface AssociationRun {
    readonly association: RehearsalAssociation;
    readonly status: "ok" | "failed" | "skipped";
    readonly reason: string;
    readonly runs: TargetRun[];
    readonly order: number;
}

interface Rehearsal {
    settings: RehearsalSettings;
    run: ProgramRun;
    plan: RehearsalPlan;
    aws: AwsApiStandIn;
    imagesDir: string;
    boot: Map<string, BootResult>;
    associations: AssociationRun[];
    timings: Record<string, number>;
}

const tail = (text: string, n = 12) => text.trim().split("\n").slice(-n).join("\n");
const container = (r: Rehearsal, n: RehearsalNode) => containerName(r.settings, n);
const exec = (r: Rehearsal, n: RehearsalNode, script: string, timeoutMs = 30_000) => execScript(container(r, n), script, { timeoutMs });

/** The Swarm role a node's instance role names, if any. */
function swarmRole(n: RehearsalNode): "manager" | "worker" | undefined {
    return /manager/.test(n.role) ? "manager" : /worker/.test(n.role) ? "worker" : undefined;
}

/** Services the boot script enables (`systemctl enable NAME`), in order. */
/**
 * Services whose package a node downloads from a host outside AWS and Debian, with the line the boot
 * prints when that install fails (render/cloudInit.ts, hostLogShippingLines): not fatal by design.
 */
const THIRD_PARTY_SERVICES: Record<string, { readonly url: string; readonly bootWarning: string }> = {
    "fluent-bit": { url: FLUENT_BIT.keyUrl, bootWarning: "boot: WARNING: host logs do not reach CloudWatch Logs" },
};

/** Whether the node reaches a URL (the same curl limits as the boot script's). */
async function packageHostReachable(r: Rehearsal, n: RehearsalNode, url: string): Promise<boolean> {
    return (await exec(r, n, `curl -fsS --connect-timeout 10 -m 30 -o /dev/null '${url}'`)).code === 0;
}

function bootServices(n: RehearsalNode): string[] {
    const script = n.writeFiles.map((f) => f.content).join("\n");
    return [...script.matchAll(/systemctl enable (?:'([^']+)'|([A-Za-z0-9@._-]+))/g)].map((m) => m[1] ?? m[2]);
}

/** The image references the boot containers name that the Consul stand-in stands in for; anything else fails. */
function hubStandIns(plan: RehearsalPlan): string[] {
    const refs = [...new Set(plan.nodes.flatMap((n) => n.containers.map((c) => c.image)))];
    const unknown = refs.filter((ref) => !/(^|\/)consul:[^/]+$/.test(ref));
    if (unknown.length > 0) throw new Error(`the user data runs images the rehearsal has no stand-in for: ${unknown.join(", ")}`);
    return refs;
}

/** ECR repository ARN of an image reference <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>. */
function ecrRepositoryArn(ref: string): string {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)[:@]/.exec(ref);
    if (!m) throw new Error(`not an ECR image reference: ${ref}`);
    return `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
}

async function ensureImages(r: Rehearsal): Promise<void> {
    for (const image of standInImages(r.settings)) {
        if (!(await imageExists(image.tag))) await buildImage(image.dockerfile, image.tag);
    }
    // The app images, built as the program builds them (same Dockerfile, context and build args).
    fs.mkdirSync(path.join(r.imagesDir, "ecr"));
    for (const [i, image] of r.plan.images.entries()) {
        const local = `swarm-platform-rehearsal/app-${i}:local`;
        await buildImage(image.dockerfile, local, image.buildArgs, image.context);
        await docker(["save", "-o", path.join(r.imagesDir, "ecr", `app-${i}.tar`), local], { timeoutMs: 120_000 });
    }
    // Docker Hub stand-in: loaded at every engine start (the node image's docker.service drop-in).
    await docker(["save", "-o", path.join(r.imagesDir, "consul.tar"), r.settings.consulImage], { timeoutMs: 120_000 });
    fs.writeFileSync(path.join(r.imagesDir, "consul.tags"), hubStandIns(r.plan).join("\n") + "\n");
}

async function bootNodes(r: Rehearsal): Promise<void> {
    const { settings, plan } = r;
    const network = `${settings.prefix}net`;
    const gateway = hostAddress(settings.subnet, 1);
    await docker(["network", "create", "--subnet", settings.subnet, "--gateway", gateway, "--label", `${REHEARSAL_LABEL}=1`, network]);
    const keys = new Map(plan.nodes.map((n, i) => [`ASIAREHEARSAL${String(i).padStart(7, "0")}`, n]));
    r.aws = new AwsApiStandIn(plan, keys);
    const endpoint = await r.aws.listen(gateway);
    for (const [accessKeyId, n] of keys) {
        await createNode(settings, network, n, { accessKeyId, awsEndpoint: endpoint, accountId: plan.accountId, imagesDir: r.imagesDir });
    }
    const started = Date.now();
    for (const n of plan.nodes) await docker(["start", container(r, n)]);
    // Until cloud-init's last stage (cloud-final.service, which runs the boot script) has ended,
    // then cloud-init's own verdict (it reports "error" as soon as any stage had one, even while
    // later stages still run).
    await Promise.all(
        plan.nodes.map(async (n) => {
            const deadline = Date.now() + BOOT_TIMEOUT_MS;
            let final = "";
            while (Date.now() < deadline) {
                const s = await dockerResult([
                    "exec",
                    container(r, n),
                    "systemctl",
                    "show",
                    "-p",
                    "ActiveState",
                    "--value",
                    "cloud-final.service",
                ]);
                final = s.stdout.trim();
                if (final === "active" || final === "failed") break;
                await sleep(2000);
            }
            const s = await dockerResult(["exec", container(r, n), "cloud-init", "status", "--long"], { timeoutMs: 30_000 });
            const ms = Date.now() - started;
            const ended = final === "active" || final === "failed";
            const status = ended ? (/^status: (\S+)/m.exec(s.stdout)?.[1] ?? "unknown") : `timeout (cloud-final ${final})`;
            const detail = s.stdout.trim();
            const output = await dockerResult(["exec", container(r, n), "cat", "/var/log/cloud-init-output.log"]);
            const failed = await dockerResult(["exec", container(r, n), "systemctl", "--failed", "--no-legend", "--plain"]);
            r.boot.set(n.name, {
                ms,
                status,
                detail,
                bootScriptFinished: output.stdout.includes(`boot: ${n.name} is up`),
                outputTail: tail(output.stdout, 25),
                failedUnits: failed.stdout.trim(),
            });
        }),
    );
    // ECR stand-in: the app images into every engine whose instance role may pull them.
    await Promise.all(
        plan.nodes.flatMap((n) =>
            plan.images.map(async (image, i) => {
                if (!iamAllows(n.policy, "ecr:BatchGetImage", ecrRepositoryArn(image.ref))) return;
                const load = `docker load -i /var/lib/swarm-rehearsal/images/ecr/app-${i}.tar >/dev/null && docker tag swarm-platform-rehearsal/app-${i}:local '${image.ref}'`;
                const res = await exec(r, n, load, 180_000);
                if (res.code !== 0) throw new Error(`loading ${image.ref} into ${n.name}: ${res.stderr.trim()}`);
            }),
        ),
    );
}

/** One AWS-RunShellScript run of an association on one node, as the SSM agent would run it. */
async function runOn(r: Rehearsal, a: RehearsalAssociation, n: RehearsalNode): Promise<TargetRun> {
    const started = Date.now();
    const agent = await dockerResult(["exec", container(r, n), "systemctl", "is-active", "amazon-ssm-agent"]);
    if (agent.stdout.trim() !== "active") {
        return {
            node: n.name,
            code: null,
            ms: 0,
            output: `the SSM agent is not running on ${n.name} (${agent.stdout.trim()}): the association never runs; pulumi up would wait its waitForSuccessTimeoutSeconds and fail`,
        };
    }
    const env = ["env", "-i", `PATH=${AGENT_PATH}`, `AWS_SSM_INSTANCE_ID=${n.instanceId}`, `AWS_SSM_REGION_NAME=${n.region}`, "sh", "-s"];
    const res = await execScript(container(r, n), a.commands, {
        envArgs: env,
        timeoutMs: Math.min(a.executionTimeoutSeconds * 1000, ASSOCIATION_TIMEOUT_MS),
    });
    const output = [res.stdout.trim(), res.stderr.trim()].filter((s) => s).join("\n");
    return {
        node: n.name,
        code: res.timedOut ? null : res.code,
        ms: Date.now() - started,
        output: res.timedOut ? `timed out\n${tail(output)}` : tail(output, 20),
    };
}

async function runAssociation(r: Rehearsal, a: RehearsalAssociation, order: number): Promise<AssociationRun> {
    const targets = associationNodes(r.plan, a);
    if (targets.length === 0) return { association: a, status: "failed", reason: "no instance matches its targets", runs: [], order };
    const runs: TargetRun[] = [];
    const sequential = a.targets.kind === "tags" && a.maxConcurrency === "1";
    const maxErrors = a.maxErrors === undefined ? Infinity : Number(a.maxErrors);
    if (sequential) {
        for (const n of targets) {
            runs.push(await runOn(r, a, n));
            if (runs.filter((x) => x.code !== 0).length > maxErrors) break;
        }
    } else {
        runs.push(...(await Promise.all(targets.map((n) => runOn(r, a, n)))));
    }
    const failed = runs.filter((x) => x.code !== 0);
    const ok = failed.length === 0 || (a.targets.kind === "tags" && failed.length <= maxErrors && runs.length === targets.length);
    return { association: a, status: ok ? "ok" : "failed", reason: failed.map((x) => `${x.node}: exit ${x.code}`).join("; "), runs, order };
}

/**
 * Every association once all it depends on have ended. Pulumi would not create the dependents of a
 * failed association; the rehearsal runs them anyway (marked), so one run shows every script that
 * fails and not only the first — unless REHEARSAL_STOP_AT_FAILURE=1, which skips them as Pulumi does.
 */
async function runAssociations(r: Rehearsal): Promise<void> {
    const stopAtFailure = process.env.REHEARSAL_STOP_AT_FAILURE === "1";
    const done = new Map<string, AssociationRun>();
    const pending = [...r.plan.associations];
    const running = new Map<string, Promise<void>>();
    let order = 0;
    while (pending.length > 0 || running.size > 0) {
        let progressed = false;
        for (const a of [...pending]) {
            const deps = a.after.map((u) => done.get(u));
            if (deps.some((d) => d === undefined)) continue;
            pending.splice(pending.indexOf(a), 1);
            progressed = true;
            const blocked = deps.filter((d) => d!.status !== "ok").map((d) => d!.association.name);
            const n = ++order;
            if (blocked.length > 0 && stopAtFailure) {
                const run: AssociationRun = {
                    association: a,
                    status: "skipped",
                    reason: `after failed ${blocked.join(", ")}`,
                    runs: [],
                    order: n,
                };
                done.set(a.urn, run);
                r.associations.push(run);
                continue;
            }
            const note = blocked.length > 0 ? ` [ran although ${blocked.join(", ")} failed: pulumi up would not run it]` : "";
            running.set(
                a.urn,
                runAssociation(r, a, n).then((run) => {
                    const marked = { ...run, reason: run.reason + note };
                    done.set(a.urn, marked);
                    r.associations.push(marked);
                    running.delete(a.urn);
                }),
            );
        }
        if (running.size > 0) await Promise.race(running.values());
        else if (!progressed && pending.length > 0)
            throw new Error(`associations that can never run: ${pending.map((a) => a.name).join(", ")}`);
    }
}

function printSummary(r: Rehearsal, facts: Map<string, string[]>): void {
    const roles = [...new Set(r.plan.nodes.map((n) => n.role))];
    const rows = roles.map((role) => {
        const nodes = r.plan.nodes.filter((n) => n.role === role);
        const boot = nodes
            .map((n) => `${r.boot.get(n.name)?.status ?? "-"} ${Math.round((r.boot.get(n.name)?.ms ?? 0) / 1000)}s`)
            .join(", ");
        const problems = nodes.flatMap((n) => facts.get(n.name) ?? []);
        // Associations by the nodes they target.
        const mine = r.associations.filter((a) => associationNodes(r.plan, a.association).some((t) => t.role === role));
        const count = (st: string) => mine.filter((a) => a.status === st).length;
        return [
            role,
            String(nodes.length),
            boot,
            `${count("ok")} ok, ${count("failed")} failed, ${count("skipped")} skipped`,
            problems.length === 0 ? "all pass" : `${problems.length} failing`,
        ];
    });
    const header = ["role", "nodes", "cloud-init", "associations", "node checks"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join(" | ");
    const assocLines = [...r.associations]
        .sort((a, b) => a.order - b.order)
        .map(
            (a) =>
                `  ${String(a.order).padStart(2)} ${a.association.name} → ${a.status}${a.runs.length ? ` (${a.runs.map((x) => `${x.node} ${x.code} ${Math.round(x.ms / 100) / 10}s`).join(", ")})` : ""}${a.status !== "ok" ? `: ${a.reason}` : ""}`,
        );
    const problemLines = [...facts.entries()].flatMap(([node, p]) => p.map((x) => `  ${node}: ${x}`));
    const ec2 = r.aws.calls
        .filter((c) => c.service === "ec2")
        .map((c) => `  ${c.node} ${c.operation} ${c.params.RouteTableId ?? ""} → ${c.status}`);
    const denied = r.aws.calls
        .filter((c) => c.status !== 200)
        .map((c) => `  ${c.node} ${c.service}:${c.operation} ${c.resource} → ${c.status} ${c.error ?? ""}`);
    console.log(
        [
            "Boot rehearsal of the prod stack",
            fmt(header),
            widths.map((w) => "-".repeat(w)).join("-|-"),
            ...rows.map(fmt),
            "",
            "Associations (start order):",
            ...assocLines,
            "",
            "Failing node checks:",
            ...(problemLines.length ? problemLines : ["  none"]),
            "",
            `AWS API calls: ${r.aws.calls.length} (${r.aws.calls.filter((c) => c.status !== 200).length} refused)`,
            ...denied.slice(0, 20),
            "EC2 route calls:",
            ...(ec2.length ? ec2 : ["  none"]),
            "",
            `Timings (s): ${Object.entries(r.timings)
                .map(([k, v]) => `${k} ${Math.round(v / 100) / 10}`)
                .join(", ")}`,
        ].join("\n"),
    );
}

describeRehearsal("boot rehearsal of every prod role (real cloud-init, awscli, dockerd, haproxy, keepalived)", () => {
    const r = { boot: new Map(), associations: [], timings: {} } as unknown as Rehearsal;
    /** Per node: every failing check (the summary and the tests read it). */
    const problems = new Map<string, string[]>();
    const problem = (n: RehearsalNode, text: string) => problems.set(n.name, [...(problems.get(n.name) ?? []), text]);
    let ready = false;

    beforeAll(async () => {
        const t0 = Date.now();
        const mark = (phase: string, since: number) => (r.timings[phase] = Date.now() - since);
        r.settings = settingsFromEnv();
        await removeRehearsalObjects(r.settings.prefix);
        r.imagesDir = fs.mkdtempSync(path.join(os.tmpdir(), "sprh-images-"));
        let t = Date.now();
        r.run = await runProgram("prod", { network: { subnet: r.settings.subnet }, ...SHAPE });
        r.plan = rehearsalPlan(r.run);
        mark("evaluate", t);
        t = Date.now();
        await ensureImages(r);
        mark("images", t);
        t = Date.now();
        await bootNodes(r);
        mark("boot", t);
        t = Date.now();
        await runAssociations(r);
        mark("associations", t);
        mark("total before checks", t0);
        ready = true;
    }, 12 * 60_000);

    afterAll(async () => {
        if (r.plan && r.aws) {
            printSummary(r, problems);
            // Everything the summary leaves out: each association's output, every AWS call, each boot.
            const report = path.join(os.tmpdir(), "swarm-rehearsal-report.json");
            const associations = [...r.associations]
                .sort((a, b) => a.order - b.order)
                .map((a) => ({ ...a, association: a.association.name }));
            fs.writeFileSync(
                report,
                JSON.stringify(
                    { boot: Object.fromEntries(r.boot), associations, awsCalls: r.aws.calls, problems: Object.fromEntries(problems) },
                    null,
                    2,
                ),
            );
            console.log(`rehearsal report: ${report}`);
        }
        await r.aws?.close();
        if (r.imagesDir) fs.rmSync(r.imagesDir, { recursive: true, force: true });
        if (!r.settings?.keep) {
            const left = await removeRehearsalObjects(r.settings?.prefix ?? "sprh-");
            if (left.length > 0) console.warn(`rehearsal cleanup left: ${left.join("; ")}`);
        }
    }, 4 * 60_000);

    test("the graph has instances with #cloud-config user data, parameters and associations whose targets exist", () => {
        expect(ready).toBe(true);
        expect(r.plan.nodes.length).toBeGreaterThan(0);
        expect(r.plan.parameters.size).toBeGreaterThan(0);
        expect(r.plan.associations.length).toBeGreaterThan(0);
        for (const n of r.plan.nodes) expect({ node: n.name, fetched: n.fetchedFiles.length > 0 }).toEqual({ node: n.name, fetched: true });
        for (const a of r.plan.associations)
            expect({ association: a.name, targets: associationNodes(r.plan, a).length > 0 }).toEqual({
                association: a.name,
                targets: true,
            });
    });

    test("cloud-init runs the user data on every node to the end without errors", () => {
        const failures = r.plan.nodes
            .map((n) => ({ n, b: r.boot.get(n.name)! }))
            .filter(({ b }) => b.status !== "done" || !b.bootScriptFinished || b.failedUnits !== "")
            .map(
                ({ n, b }) =>
                    `${n.name}: cloud-init ${b.status}; boot script finished: ${b.bootScriptFinished}; failed units: ${b.failedUnits || "none"}\n${b.detail}\n--- cloud-init-output.log (tail)\n${b.outputTail}`,
            );
        failures.forEach((f) => problem(r.plan.nodes.find((n) => f.startsWith(n.name + ":"))!, f.split("\n")[0]));
        expect(failures).toEqual([]);
    });

    test("every node's hostname is its node name", async () => {
        const wrong: string[] = [];
        for (const n of r.plan.nodes) {
            const res = await exec(r, n, "hostname");
            const engine = await exec(r, n, "docker info --format '{{.Name}}' 2>/dev/null || true");
            if (res.stdout.trim() !== n.expectedHostname) {
                const text = `hostname is '${res.stdout.trim()}' (engine name '${engine.stdout.trim()}'), expected '${n.expectedHostname}'`;
                wrong.push(`${n.name}: ${text}`);
                problem(n, text);
            }
        }
        expect(wrong).toEqual([]);
    });

    test("every file the boot script writes is in place: content, owner and mode", async () => {
        const wrong: string[] = [];
        for (const n of r.plan.nodes) {
            const expected = [
                ...n.writeFiles.map((f) => ({ path: f.path, owner: f.owner, mode: f.permissions, content: f.content })),
                ...n.fetchedFiles.map((f) => ({
                    path: f.path,
                    owner: "root:root",
                    mode: f.mode,
                    content: decodeStoredText(r.aws.parameterValue(f.parameter) ?? `(parameter ${f.parameter} missing)`),
                })),
            ];
            for (const f of expected) {
                const res = await exec(r, n, `stat -c '%U:%G %a' '${f.path}' && cat '${f.path}'`);
                if (res.code !== 0) {
                    wrong.push(`${n.name}: ${f.path} missing (${res.stderr.trim()})`);
                    problem(n, `${f.path} missing`);
                    continue;
                }
                const [meta, ...rest] = res.stdout.split("\n");
                const content = rest.join("\n");
                const [owner, mode] = meta.split(" ");
                const issues = [
                    owner !== f.owner ? `owner ${owner}, expected ${f.owner}` : "",
                    parseInt(mode, 8) !== parseInt(f.mode, 8) ? `mode ${mode}, expected ${f.mode}` : "",
                    content !== f.content ? "content differs from the user data / parameter" : "",
                ].filter((x) => x);
                if (issues.length > 0) {
                    wrong.push(`${n.name}: ${f.path}: ${issues.join(", ")}`);
                    problem(n, `${f.path}: ${issues.join(", ")}`);
                }
            }
        }
        expect(wrong).toEqual([]);
    });

    test("the role's services and containers run: haproxy (config valid) and keepalived on LB nodes, dockerd, the Consul containers", async () => {
        const wrong: string[] = [];
        const notExercised = new Set<string>();
        const fail = (n: RehearsalNode, text: string) => {
            wrong.push(`${n.name}: ${text}`);
            problem(n, text);
        };
        for (const n of r.plan.nodes) {
            for (const service of new Set([...bootServices(n), "amazon-ssm-agent"])) {
                const active = (await exec(r, n, `systemctl is-active '${service}'`)).stdout.trim();
                const thirdParty = THIRD_PARTY_SERVICES[service];
                if (thirdParty !== undefined && !(await packageHostReachable(r, n, thirdParty.url))) {
                    // Unreachable from here: the boot's fallback is what can be proven (see the header).
                    const warned = (await exec(r, n, `grep -qF '${thirdParty.bootWarning}' /var/log/cloud-init-output.log`)).code === 0;
                    if (!warned)
                        fail(n, `${service}: ${thirdParty.url} is unreachable, and the boot did not say so ("${thirdParty.bootWarning}")`);
                    else if (active === "active") fail(n, `${service} is active although its package host is unreachable`);
                    else notExercised.add(`${service} (${new URL(thirdParty.url).host} unreachable; the boot warned and went on)`);
                    continue;
                }
                if (active !== "active") {
                    const journal = await exec(r, n, `journalctl -u '${service}' --no-pager -n 5 -o cat`);
                    fail(n, `service ${service} is ${active}: ${tail(journal.stdout, 5).replace(/\n/g, " | ")}`);
                }
            }
            const services = bootServices(n);
            if (services.includes("haproxy")) {
                if ((await exec(r, n, "pgrep -x haproxy")).code !== 0) fail(n, "no haproxy process");
                const check = await exec(r, n, "haproxy -c -f /etc/haproxy/haproxy.cfg");
                if (check.code !== 0) fail(n, `haproxy -c: ${tail(check.stdout + check.stderr, 3)}`);
            }
            if (services.includes("keepalived") && (await exec(r, n, "pgrep -x keepalived")).code !== 0) fail(n, "no keepalived process");
            if (services.includes("docker")) {
                const state = await exec(r, n, "docker info --format '{{.Swarm.LocalNodeState}}'");
                if (state.code !== 0) fail(n, `dockerd does not answer: ${state.stderr.trim()}`);
                else if (swarmRole(n) && state.stdout.trim() !== "active") fail(n, `swarm state ${state.stdout.trim()}, expected active`);
            }
            for (const c of n.containers) {
                const s = await exec(r, n, `docker inspect -f '{{.State.Status}} restarts={{.RestartCount}}' '${c.name}'`);
                if (!/^running restarts=0$/.test(s.stdout.trim())) {
                    const logs = await exec(r, n, `docker logs --tail 3 '${c.name}' 2>&1`);
                    fail(
                        n,
                        `container ${c.name} (${c.image}): ${s.stdout.trim() || s.stderr.trim()}; logs: ${tail(logs.stdout, 3).replace(/\n/g, " | ")}`,
                    );
                }
            }
        }
        if (notExercised.size > 0) console.log(`not exercised here: ${[...notExercised].join("; ")}`);
        expect(wrong).toEqual([]);
    });

    test("every association runs to success on its targets, in dependency order", () => {
        const bad = [...r.associations]
            .sort((a, b) => a.order - b.order)
            .filter((a) => a.status !== "ok")
            .map(
                (a) =>
                    `${a.association.name}: ${a.status} (${a.reason})${a.runs
                        .filter((x) => x.code !== 0)
                        .map((x) => `\n  [${x.node}] ${x.output.replace(/\n/g, "\n  ")}`)
                        .join("")}`,
            );
        expect(r.associations.length).toBe(r.plan.associations.length);
        expect(bad).toEqual([]);
    });

    test("the swarm formed: a manager lists every manager and worker with its role", async () => {
        const managers = r.plan.nodes.filter((n) => swarmRole(n) === "manager");
        const members = r.plan.nodes.filter((n) => swarmRole(n) !== undefined);
        let listing = "";
        for (const m of managers) {
            const res = await exec(
                r,
                m,
                "docker node ls --format '{{.Hostname}} {{.Status}} {{if .ManagerStatus}}manager{{else}}worker{{end}}'",
            );
            if (res.code === 0) {
                listing = res.stdout.trim();
                break;
            }
            listing = `(${m.name}: ${res.stderr.trim()})`;
        }
        const got = listing
            .split("\n")
            .filter((l) => !l.startsWith("("))
            .sort();
        const want = members.map((n) => `${n.expectedHostname} Ready ${swarmRole(n)}`).sort();
        expect({ listing, nodes: got }).toEqual({ listing, nodes: want });
    });

    test("the web service is deployed with its image and its replicas run", async () => {
        const component = r.run.resources.find((x) => x.type === "swarm-platform:web:Service");
        expect(component).toBeDefined();
        const spec = r.run.componentOutputs(component!.name) as { serviceName: string; replicas: number; imageRef: string };
        const manager = r.plan.nodes.find((n) => swarmRole(n) === "manager")!;
        const ls = `docker service ls --filter name='${spec.serviceName}' --format '{{.Name}} {{.Replicas}} {{.Image}}'`;
        let line = "";
        const deadline = Date.now() + SERVICE_CONVERGE_MS;
        do {
            line = (await exec(r, manager, ls)).stdout.trim();
            // The deploy has ended: no service now means none will come.
            if (line === "" || line.includes(` ${spec.replicas}/${spec.replicas} `)) break;
            await sleep(2000);
        } while (Date.now() < deadline);
        const tasks = await exec(
            r,
            manager,
            `docker service ps --no-trunc --format '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' '${spec.serviceName}' 2>&1`,
        );
        console.log(`web service: ${line || "(none)"}\n${tail(tasks.stdout, 10)}`);
        expect(line).toBe(`${spec.serviceName} ${spec.replicas}/${spec.replicas} ${spec.imageRef}`);
    });

    test("the VIP route moves to an LB that becomes MASTER (when one does)", async () => {
        const lbs = r.plan.nodes.filter((n) => bootServices(n).includes("keepalived"));
        const masters: string[] = [];
        for (const n of lbs) {
            const j = await exec(r, n, "journalctl -u keepalived --no-pager -o cat | grep -c 'Entering MASTER STATE' || true");
            if (Number(j.stdout.trim()) > 0) masters.push(n.name);
        }
        const routeCalls = r.aws.calls.filter((c) => c.service === "ec2" && /Route$/.test(c.operation));
        console.log(`VIP: MASTER on ${masters.join(", ") || "no LB node"}; EC2 route calls: ${routeCalls.length}`);
        for (const m of masters) {
            const calls = routeCalls.filter((c) => c.node === m);
            expect({ master: m, calls: calls.length > 0, refused: calls.filter((c) => c.status !== 200).map((c) => c.error) }).toEqual({
                master: m,
                calls: true,
                refused: [],
            });
        }
    });
});
