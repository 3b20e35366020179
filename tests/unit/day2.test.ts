/**
 * Day 2: every `pulumi up` after the first, as the engine runs it. Each test evaluates the real
 * program twice under mocks — the stack config before and after the change — and asks the engine
 * model (tests/harness/engine.ts: update vs replace per input from the providers' code, the
 * delete-before-replace cascade, create-before-delete with the old copy deleted after the program,
 * removed resources deleted in reverse dependency order) what runs, in which order.
 *
 * What must hold for every operation (design.md, "The day-2 contract"): the web service is never
 * removed (its deploy command is never deleted or replaced), no data volume is replaced, a node that
 * goes leaves first (its membership script's delete — drain, demote, leave — runs before its node is
 * deleted), and no group — Consul servers, Swarm managers, Swarm workers, the LB pair — ever has
 * more than one member missing at a time.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GROUPS, mostMissingAtOnce, missingWindows } from "../harness/day2";
import { contextDigest, contextFiles } from "../../platforms/imageContext";
import { planTlsProblems } from "../harness/consulTls";
import { runMarksCheck } from "../harness/marksCheck";
import { EnginePlan, planUpdate, stateOf } from "../harness/engine";
import { ConfigOverrides, ProgramRun, REPO_ROOT, RecordedResource, runProgram } from "../harness/program";

// Each plan evaluates the program twice (prod: 5 managers and 3 workers, with their certificates);
// in a full `npm test` beside other work (load average 13–23 on 2 cores) a prod pair took over 60 s.
jest.setTimeout(240_000);

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";
const INSTANCE = "aws:ec2/instance:Instance";

const runs = new Map<string, Promise<ProgramRun>>();
let queue: Promise<unknown> = Promise.resolve();
/** Evaluations are cached per config (operations share a before or after) and run one at a time (one mock runtime). */
function evaluate(stack: string, overrides: ConfigOverrides = {}): Promise<ProgramRun> {
    const key = `${stack} ${JSON.stringify(overrides)}`;
    if (!runs.has(key)) {
        const run = queue.then(() => runProgram(stack, overrides));
        queue = run.catch(() => undefined);
        runs.set(key, run);
    }
    return runs.get(key)!;
}

async function plan(stack: string, from: ConfigOverrides, to: ConfigOverrides): Promise<EnginePlan> {
    const a = await evaluate(stack, from);
    const b = await evaluate(stack, to);
    return planUpdate(stateOf(a), b);
}

/** The contract every plan keeps. */
function expectDay2Contract(p: EnginePlan): void {
    // The service is never removed: its deploy command is never deleted (its delete removes it).
    expect(p.stepsOf("web-deploy").filter((s) => s.kind === "delete")).toEqual([]);
    // No data volume is replaced (a removed node's volume may go with it).
    const volumes = [...p.dispositions.values()].filter((d) => d.type === VOLUME);
    expect(volumes.filter((d) => d.op === "replace").map((d) => d.name)).toEqual([]);
    // At most one member of each group is missing at a time.
    for (const g of GROUPS) {
        const most = mostMissingAtOnce(p, g);
        if (most.count > 1) throw new Error(`${g.name}: ${most.members.join(", ")} can be missing at the same time`);
    }
    // A node that goes leaves first: its membership script's delete runs before the node's delete.
    for (const g of GROUPS)
        for (const w of missingWindows(p, g)) {
            const nodeDelete = p.stepsOf(w.member).find((s) => s.kind === "delete");
            if (nodeDelete !== undefined && w.start !== nodeDelete && !p.before(w.start, nodeDelete))
                throw new Error(`${w.member} is deleted before it left its group`);
        }
    // A node-bound script's old copy never runs its delete after its new copy ran (it would undo it).
    for (const d of p.dispositions.values()) {
        if (d.type !== COMMAND || d.op !== "replace") continue;
        const [del, create] = [p.stepsOf(d.name).find((s) => s.kind === "delete"), p.stepsOf(d.name).find((s) => s.kind === "create")];
        const hasDelete = (del?.resource.inputs.delete ?? "") !== "";
        if (hasDelete && create !== undefined && del !== undefined && !p.before(del, create))
            throw new Error(`${d.name}: the old copy's delete script runs after the new copy's create`);
    }
}

const names = (p: EnginePlan, op: string, type?: string) =>
    [...p.dispositions.values()]
        .filter((d) => d.op === op && (type === undefined || d.type === type))
        .map((d) => d.name)
        .sort();

describe("a second `pulumi up` with no change", () => {
    it.each(["dev", "prod"])("plans no step at all on %s", async (stack) => {
        const a = await runProgram(stack);
        const b = await runProgram(stack);
        const p = planUpdate(stateOf(a), b);
        expect(p.changedNames()).toEqual([]);
    });

    it("every image's build context holds only the files its Dockerfile copies", () => {
        const files = (d: string) => contextFiles(REPO_ROOT, path.join(REPO_ROOT, `images/${d}/Dockerfile`));
        expect(files("lb")).toEqual([
            "images/consul-agent/consul-agent-supervise",
            "images/lb/Dockerfile",
            "images/lb/Dockerfile.dockerignore",
            "images/lb/check_haproxy.sh",
            "images/lb/entrypoint.sh",
            "images/lb/keepalived_metrics.lua",
            "images/lb/keepalived_metrics.sh",
        ]);
        expect(files("prometheus")).toEqual([
            "images/consul-agent/consul-agent-supervise",
            "images/prometheus/Dockerfile",
            "images/prometheus/Dockerfile.dockerignore",
            "images/prometheus/consul-http-sd.js",
            "images/prometheus/entrypoint.sh",
        ]);
        expect(files("swarm-node")).toEqual([
            "images/consul-agent/consul-agent-supervise",
            "images/swarm-node/Dockerfile",
            "images/swarm-node/Dockerfile.dockerignore",
            "images/swarm-node/entrypoint.sh",
        ]);
        const web = files("web");
        expect(web.filter((f) => !f.startsWith("app/node_modules/"))).toEqual([
            "app/healthcheck.sh",
            "app/package-lock.json",
            "app/package.json",
            "app/server.js",
            "images/web/Dockerfile",
            "images/web/Dockerfile.dockerignore",
        ]);
        // The dependencies `npm ci --prefix app` installed from app/package-lock.json, and nothing else.
        const packages = new Set(web.flatMap((f) => /^app\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []));
        expect([...packages].sort()).toEqual(["@opentelemetry/api", "bintrees", "prom-client", "tdigest"]);
        expect(web.filter((f) => f.startsWith("app/node_modules/") && !/^app\/node_modules\/(@[^/]+\/)?[^/]+\//.test(f))).toEqual([]);
    });

    it("a README, docs or test edit changes no image's context digest; an app edit changes only the web image's", () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "context-"));
        try {
            for (const dir of ["app", "images", "docs", "tests/unit"])
                fs.cpSync(path.join(REPO_ROOT, dir), path.join(copy, dir), { recursive: true });
            fs.copyFileSync(path.join(REPO_ROOT, "README.md"), path.join(copy, "README.md"));
            const digests = () =>
                Object.fromEntries(
                    ["lb", "swarm-node", "web"].map((d) => [d, contextDigest(copy, path.join(copy, `images/${d}/Dockerfile`))]),
                );
            const before = digests();
            fs.appendFileSync(path.join(copy, "README.md"), "\nan edit\n");
            fs.appendFileSync(path.join(copy, "tests/unit/day2.test.ts"), "\n// an edit\n");
            fs.writeFileSync(path.join(copy, "docs/new.md"), "new\n");
            expect(digests()).toEqual(before);
            fs.appendFileSync(path.join(copy, "app/server.js"), "\n// an edit\n");
            const after = digests();
            expect(after.web).not.toEqual(before.web);
            expect({ lb: after.lb, node: after["swarm-node"] }).toEqual({ lb: before.lb, node: before["swarm-node"] });
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});

describe("web.version bump (dev)", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("dev", {}, { web: { version: "1.1.0" } });
    });

    it("rebuilds the web image, loads it into every node again and updates the service in place", () => {
        expect(p.op("local-web-image").op).toBe("update");
        expect(names(p, "replace", COMMAND)).toEqual([
            "swarm-manager-0-web-image",
            "swarm-manager-1-web-image",
            "swarm-manager-2-web-image",
            "swarm-worker-0-web-image",
            "swarm-worker-1-web-image",
        ]);
        expect(p.op("web-deploy").op).toBe("update");
        expect(p.stepsOf("web-deploy").map((s) => s.kind)).toEqual(["update"]);
    });

    it("touches no node", () => {
        expect(names(p, "replace", CONTAINER)).toEqual([]);
        expect(names(p, "update", CONTAINER)).toEqual([]);
    });

    it("updates the service only once every node holds the new image", () => {
        const deploy = p.stepsOf("web-deploy")[0];
        for (const load of p.steps.filter((s) => /^swarm-(manager|worker)-\d+-web-image$/.test(s.name) && s.kind === "create"))
            expect(p.before(load, deploy)).toBe(true);
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

describe("web.replicas 3 → 7 → 3 (dev)", () => {
    it.each([
        [3, 7],
        [7, 3],
    ])("%i → %i updates the service in place and nothing else", async (from, to) => {
        const p = await plan("dev", { web: { replicas: from } }, { web: { replicas: to } });
        expect(p.changedNames()).toEqual(["web-deploy"]);
        expect(p.op("web-deploy").op).toBe("update");
        expectDay2Contract(p);
    });
});

describe("swarm.workers 2 → 4 → 2 (dev)", () => {
    it("2 → 4 creates two workers that join, one after the other, and loads the image into them", async () => {
        const p = await plan("dev", { swarm: { workers: 2 } }, { swarm: { workers: 4 } });
        expect(names(p, "create")).toEqual([
            // Their Consul agents' consul.tls step checks (no container yet: they pass).
            "consul-swarm-worker-2-tls-step",
            "consul-swarm-worker-3-tls-step",
            "swarm-worker-2",
            "swarm-worker-2-engine",
            "swarm-worker-2-join",
            "swarm-worker-2-web-image",
            "swarm-worker-3",
            "swarm-worker-3-engine",
            "swarm-worker-3-join",
            "swarm-worker-3-web-image",
        ]);
        expect(names(p, "replace")).toEqual([]);
        expect(names(p, "delete")).toEqual([]);
        const [join2] = p.stepsOf("swarm-worker-2-join");
        const [node3] = p.stepsOf("swarm-worker-3");
        expect(p.before(join2, node3)).toBe(true);
        expectDay2Contract(p);
    });

    it("4 → 2 drains and removes the two workers, the last first, before their containers go", async () => {
        const p = await plan("dev", { swarm: { workers: 4 } }, { swarm: { workers: 2 } });
        expect(names(p, "delete", CONTAINER)).toEqual(["swarm-worker-2", "swarm-worker-3"]);
        const leave3 = p.stepsOf("swarm-worker-3-join")[0];
        const node3 = p.stepsOf("swarm-worker-3")[0];
        const leave2 = p.stepsOf("swarm-worker-2-join")[0];
        expect(leave3.kind).toBe("delete");
        expect(String(leave3.resource.inputs.delete)).toMatch(/drain/);
        expect(String(leave3.resource.inputs.delete)).toMatch(/swarm-leave|swarm leave|leave/);
        expect(p.before(leave3, node3)).toBe(true);
        expect(p.before(node3, leave2)).toBe(true);
        expect(names(p, "replace")).toEqual([]);
        expectDay2Contract(p);
    });
});

describe("swarm.managers 3 → 5 → 3 (dev)", () => {
    it("3 → 5 adds two managers one Raft change at a time and replaces no existing node", async () => {
        const p = await plan("dev", { swarm: { managers: 3 } }, { swarm: { managers: 5 } });
        expect(names(p, "replace")).toEqual([]);
        expect(names(p, "create", CONTAINER)).toEqual(["swarm-manager-3", "swarm-manager-4"]);
        expect(p.before(p.stepsOf("swarm-manager-3-join")[0], p.stepsOf("swarm-manager-4")[0])).toBe(true);
        // The deploy command learns of the new managers (where it may run) without being replaced.
        expect(["same", "update"]).toContain(p.op("web-deploy").op);
        expectDay2Contract(p);
    });

    it("5 → 3 demotes and removes manager 4, then manager 3", async () => {
        const p = await plan("dev", { swarm: { managers: 5 } }, { swarm: { managers: 3 } });
        expect(names(p, "delete", CONTAINER)).toEqual(["swarm-manager-3", "swarm-manager-4"]);
        const windows = missingWindows(p, GROUPS[1]);
        expect(windows.map((w) => [w.member, w.kind])).toEqual([
            ["swarm-manager-3", "removed"],
            ["swarm-manager-4", "removed"],
        ]);
        expect(p.before(windows[1].end, windows[0].start)).toBe(true);
        expect(String(p.stepsOf("swarm-manager-4-join")[0].resource.inputs.delete)).toMatch(/demot/);
        expectDay2Contract(p);
    });
});

describe("consul.servers 3 → 5 → 3 (dev)", () => {
    it.each([
        [3, 5],
        [5, 3],
    ])("%i → %i rolls the servers (bootstrap_expect) one at a time and leaves every other node alone", async (from, to) => {
        const p = await plan("dev", { consul: { servers: from } }, { consul: { servers: to } });
        const nodes = names(p, "replace", CONTAINER);
        expect(nodes.every((n) => n.startsWith("consul-server-"))).toBe(true);
        expect(nodes.length).toBe(Math.min(from, to));
        expect(mostMissingAtOnce(p, GROUPS[0]).count).toBe(1);
        expectDay2Contract(p);
    });
});

describe("consul.tls: switching mutual TLS on in a stack made without it (dev), one `pulumi up` per step", () => {
    // Consul's procedure for an existing datacenter, one step per `pulumi up` (render/consul.ts
    // CONSUL_TLS_MODES); each step must roll one server at a time and never leave an agent unable to
    // reach a server: planTlsProblems checks every pair of agent versions that can run together.
    const steps: [string, string, RegExp][] = [
        ["off", "accept", /^consul-server-\d$/],
        // Every client agent takes auto_encrypt: the Prometheus node's too.
        ["accept", "permissive", /^(consul-server-\d|lb-\d|swarm-(manager|worker)-\d|monitoring-prometheus)$/],
        ["permissive", "enforce", /^consul-server-\d$/],
    ];
    it.each(steps)(
        "%s → %s: rolls the servers one at a time, and every agent can reach every server throughout",
        async (from, to, replaced) => {
            const p = await plan("dev", { consul: { tls: from } }, { consul: { tls: to } });
            const nodes = names(p, "replace", CONTAINER).filter((n) => n !== "local-edge");
            expect(nodes.length).toBeGreaterThan(0);
            expect(nodes.filter((n) => !replaced.test(n))).toEqual([]);
            expect(nodes.filter((n) => /^consul-server-/.test(n))).toEqual(["consul-server-0", "consul-server-1", "consul-server-2"]);
            expect(mostMissingAtOnce(p, GROUPS[0]).count).toBe(1);
            expect(planTlsProblems(p)).toEqual([]);
            expectDay2Contract(p);
        },
    );

    it.each([
        ["enforce", "permissive"],
        ["permissive", "accept"],
        ["accept", "off"],
    ])("back down, %s → %s (a CA rotation steps down first): just as safe", async (from, to) => {
        const p = await plan("dev", { consul: { tls: from } }, { consul: { tls: to } });
        expect(mostMissingAtOnce(p, GROUPS[0]).count).toBe(1);
        expect(planTlsProblems(p)).toEqual([]);
        expectDay2Contract(p);
    });

    it("the whole migration ends where a new stack starts (enforce, the default)", async () => {
        const p = await plan("dev", { consul: { tls: "enforce" } }, {});
        expect(p.changedNames()).toEqual([]);
    });

    it("skipping a step is caught: off → enforce would have servers that require client certificates while agents have none", async () => {
        const p = await plan("dev", { consul: { tls: "off" } }, { consul: { tls: "enforce" } });
        expect(planTlsProblems(p)).toEqual(
            expect.arrayContaining([
                "lb-0 (old) dials in plaintext, consul-server-0 (new) requires TLS with a client certificate",
                "consul-server-1 (old) dials in plaintext, consul-server-0 (new) requires TLS with a client certificate",
            ]),
        );
    });

    it("so is Consul's own step 3 done by replacement instead of a reload: accept → enforce splits the servers", async () => {
        const p = await plan("dev", { consul: { tls: "accept" } }, { consul: { tls: "enforce" } });
        expect(planTlsProblems(p)).toContain(
            "consul-server-1 (old) dials in plaintext, consul-server-0 (new) requires TLS with a client certificate",
        );
    });

    // Such a jump never gets that far: before any agent's node is touched, `up` reads how each runs
    // now (its container's consul-tls label, none before Consul TLS) and refuses a mode more than one
    // step away (platforms/local.ts requireDeployedMarks). A stack made before Consul TLS is an `off`
    // stack to it: its containers carry no label.
    const CHECKS = /-tls-step$/;
    /** The plan's step checks, run against the containers of `from`'s state, in the plan's order. */
    async function stepChecks(from: ConfigOverrides, to: ConfigOverrides) {
        const [a, b] = [await evaluate("dev", from), await evaluate("dev", to)];
        const p = planUpdate(stateOf(a), b);
        const checks = b.resources.filter((r) => r.type === COMMAND && CHECKS.test(r.name));
        return { p, checks, results: checks.map((c) => ({ name: c.name, ...runMarksCheck(c.inputs.create, stateOf(a)) })) };
    }

    it.each([
        [{ consul: { tls: "off" } }, { consul: { tls: "enforce" } }, "(none)", "consul-server-0: (none)"],
        [{ consul: { tls: "accept" } }, { consul: { tls: "enforce" } }, "accept", "consul-server-2: accept"],
        [{ consul: { tls: "enforce" } }, { consul: { tls: "accept" } }, "enforce", "consul-server-0: enforce"],
        [{ consul: { tls: "permissive" } }, { consul: { tls: "off" } }, "permissive", "lb-1: auto_encrypt"],
    ] as [ConfigOverrides, ConfigOverrides, string, string][])(
        "a jump (%j → %j) is refused by `up` before any Consul agent's node is touched, naming the key, the rule and the nodes",
        async (from, to, serverMark, offending) => {
            const { p, checks, results } = await stepChecks(from, to);
            // One for the servers, one per client agent's node.
            expect(checks.map((c) => c.name)).toEqual(
                expect.arrayContaining(["consul-servers-tls-step", "consul-swarm-manager-0-tls-step", "consul-lb-1-tls-step"]),
            );
            const refused = results.filter((r) => r.status !== 0);
            expect(refused.map((r) => r.name)).toContain("consul-servers-tls-step");
            const servers = refused.find((r) => r.name === "consul-servers-tls-step")!;
            const desired = (to.consul as { tls: string }).tls;
            expect(servers.stderr).toContain(`consul.tls: "${desired}" cannot be reached in one pulumi up`);
            expect(servers.stderr).toContain("off → accept → permissive → enforce");
            expect(servers.stderr).toContain(`consul-server-1: ${serverMark}`);
            expect(refused.map((r) => r.stderr).join("")).toContain(offending);
            // Every node a check guards is touched only after the check ran: its first step (the
            // delete of a delete-first replacement) waits for the check's create.
            for (const check of checks) {
                const create = p.stepsOf(check.name).find((s) => s.kind === "create")!;
                expect(create).toBeDefined();
                const guarded =
                    check.name === "consul-servers-tls-step"
                        ? // The edge too: its Consul UI upstream follows consul.tls (HTTPS, client certificate).
                          ["consul-server-0", "consul-server-1", "consul-server-2", "local-edge"]
                        : [check.name.replace(/^consul-(.*)-tls-step$/, "$1")];
                for (const node of guarded) {
                    const first = p.stepsOf(node).find((s) => s.kind !== "same");
                    if (first !== undefined) expect(p.before(create, first)).toBe(true);
                }
            }
        },
    );

    it.each([
        ["off", "accept"],
        ["accept", "permissive"],
        ["permissive", "enforce"],
        ["enforce", "permissive"],
        ["permissive", "accept"],
        ["accept", "off"],
    ])("a step (%s → %s) passes every check", async (from, to) => {
        const { results } = await stepChecks({ consul: { tls: from } }, { consul: { tls: to } });
        expect(results.filter((r) => r.status !== 0)).toEqual([]);
        expect(results.length).toBe(1 + 5 + 2 + 1); // the servers, then each swarm and LB node, and the Prometheus node
    });

    it("so does a new stack (no container yet) at any mode", async () => {
        const b = await evaluate("dev", {});
        const checks = b.resources.filter((r) => r.type === COMMAND && CHECKS.test(r.name));
        expect(checks.map((c) => runMarksCheck(c.inputs.create, []).status)).toEqual(checks.map(() => 0));
    });
});

describe("Consul certificates expire: the first `pulumi up` in their renewal window rolls them (dev)", () => {
    const HOURS = { validity: 365 * 24, early: 30 * 24 };

    it("before the window, nothing changes", async () => {
        const a = await evaluate("dev");
        const p = planUpdate(stateOf(a), await evaluate("dev"), { hoursLater: HOURS.validity - HOURS.early - 1 });
        expect(p.changedNames()).toEqual([]);
    });

    it("inside it: new server (and edge) certificates, the servers replaced one at a time, client agents untouched", async () => {
        const a = await evaluate("dev");
        const p = planUpdate(stateOf(a), await evaluate("dev"), { hoursLater: HOURS.validity - HOURS.early });
        expect(names(p, "replace", "tls:index/locallySignedCert:LocallySignedCert")).toEqual([
            "consul-operator-cert",
            // Prometheus's client certificate: its config script re-runs with it (the node stays).
            "consul-prometheus-cert",
            "consul-server-0-cert",
            "consul-server-1-cert",
            "consul-server-2-cert",
            "local-edge-cert",
        ]);
        // The CA lives ten years and is never renewed early.
        expect(p.op("consul-ca").op).toBe("same");
        expect(names(p, "replace", CONTAINER)).toEqual(["consul-server-0", "consul-server-1", "consul-server-2", "local-edge"]);
        expect(mostMissingAtOnce(p, GROUPS[0]).count).toBe(1);
        expect(planTlsProblems(p)).toEqual([]);
        expectDay2Contract(p);
    });
});

describe("consul.version bump (dev)", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("dev", {}, { consul: { version: "1.20.3" } });
    });

    it("replaces every node that runs Consul, each group one member at a time", () => {
        expect(names(p, "replace", CONTAINER)).toEqual(
            expect.arrayContaining(["consul-server-0", "consul-server-2", "lb-0", "lb-1", "swarm-manager-0", "swarm-worker-1"]),
        );
        for (const g of GROUPS) expect(mostMissingAtOnce(p, g).count).toBe(1);
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

describe("a node resource limit change (dev)", () => {
    it("memory is applied in place (docker update): no node is replaced", async () => {
        const p = await plan("dev", {}, { swarm: { nodeResources: { cpus: 1, memoryMb: 1536 } } });
        expect(names(p, "update", CONTAINER)).toEqual([
            "swarm-manager-0",
            "swarm-manager-1",
            "swarm-manager-2",
            "swarm-worker-0",
            "swarm-worker-1",
        ]);
        expect(names(p, "replace")).toEqual([]);
        expectDay2Contract(p);
    });

    it("cpus replace the nodes: managers and workers roll one at a time, each back in the swarm before the next goes", async () => {
        const p = await plan("dev", {}, { swarm: { nodeResources: { cpus: 1.5, memoryMb: 1024 } } });
        expect(names(p, "replace", CONTAINER)).toEqual([
            "swarm-manager-0",
            "swarm-manager-1",
            "swarm-manager-2",
            "swarm-worker-0",
            "swarm-worker-1",
        ]);
        expect(mostMissingAtOnce(p, GROUPS[1]).count).toBe(1);
        expect(mostMissingAtOnce(p, GROUPS[2]).count).toBe(1);
        // Manager 0 leaves (its init command is deleted first: demote, leave) and comes back through the
        // same command, which now joins the existing swarm instead of initialising a new one.
        const init = p.stepsOf("swarm-init");
        expect(init.map((s) => s.kind)).toEqual(["delete", "create"]);
        expect(String(init[1].resource.inputs.stdin)).toMatch(/joining it instead of initialising/);
        expectDay2Contract(p);
    });
});

describe("an LB config change: lb.advertIntervalSeconds (dev)", () => {
    it("replaces the LB nodes one at a time, the second only once the first serves again", async () => {
        const p = await plan("dev", {}, { lb: { advertIntervalSeconds: 0.2 } });
        expect(names(p, "replace", CONTAINER)).toEqual(["lb-0", "lb-1"]);
        const [ready0] = p.stepsOf("lb-0-ready").filter((s) => s.kind === "create");
        const [deleteLb1] = p.stepsOf("lb-1").filter((s) => s.kind === "delete");
        expect(p.before(ready0, deleteLb1)).toBe(true);
        expectDay2Contract(p);
    });
});

describe("prod: a new AMI", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("prod", {}, { aws: { amiName: "debian-12-amd64-20250530-2128" } });
    });

    it("replaces every instance (ami forces replacement), never all of a group at once", () => {
        // 3 Consul servers, 2 LB nodes, 3 managers, 3 workers, the Prometheus node.
        expect(names(p, "replace", INSTANCE)).toHaveLength(12);
        for (const g of GROUPS) expect(mostMissingAtOnce(p, g).count).toBe(1);
    });

    it("a replaced swarm node drains and leaves through SSM before its instance goes", () => {
        const leaves = [...p.dispositions.values()].filter((d) => d.name.endsWith("-leave"));
        expect(leaves.map((d) => [d.name, d.op])).toEqual(leaves.map((d) => [d.name, "replace"]));
        expect(leaves).toHaveLength(6);
        for (const d of leaves) {
            const node = String(d.name.match(/^swarm-(manager|worker)-\d+|^swarm/)![0]);
            const instance = node === "swarm" ? "swarm-manager-0" : node;
            const leave = p.stepsOf(d.name).find((s) => s.kind === "delete")!;
            expect([d.name, p.before(leave, p.stepsOf(instance).find((s) => s.kind === "delete")!)]).toEqual([d.name, true]);
        }
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

describe("prod: scale-down (swarm.managers 5 → 3, swarm.workers 3 → 2)", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("prod", { swarm: { managers: 5, workers: 3 } }, { swarm: { managers: 3, workers: 2 } });
    });

    it("deletes the removed nodes' leave commands (drain, leave, node rm through SSM) before their associations and instances", () => {
        expect(names(p, "delete", INSTANCE)).toEqual(["swarm-manager-3", "swarm-manager-4", "swarm-worker-2"]);
        for (const [node, script] of [
            ["swarm-manager-3", "swarm-manager-3-join"],
            ["swarm-manager-4", "swarm-manager-4-join"],
            ["swarm-worker-2", "swarm-worker-2-join"],
        ]) {
            const leave = p.stepsOf(`${script}-leave`).find((s) => s.kind === "delete")!;
            expect(leave.resource.inputs.delete).toContain("ssm_run");
            for (const later of [script, node]) {
                const del = p.stepsOf(later).find((s) => s.kind === "delete")!;
                expect({ leave: leave.resource.name, before: later, ordered: p.before(leave, del) }).toEqual({
                    leave: leave.resource.name,
                    before: later,
                    ordered: true,
                });
            }
        }
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

describe("prod: a changed node file (lb.advertIntervalSeconds)", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("prod", {}, { lb: { advertIntervalSeconds: 0.2 } });
    });

    it("reaches the running nodes: the file's parameter updates and its instances are replaced, one at a time", () => {
        // The files are read at first boot; user data carries their digest, so a new config is a new node.
        expect(names(p, "replace", INSTANCE)).toEqual(["lb-0", "lb-1"]);
        expect(mostMissingAtOnce(p, GROUPS.find((g) => g.name === "LB pair")!).count).toBe(1);
        for (const lb of ["lb-0", "lb-1"]) {
            const file = [...p.dispositions.values()].find(
                (d) => d.type === "aws:ssm/parameter:Parameter" && d.name.startsWith(`${lb}-file-`) && d.op === "update",
            );
            expect(file).toBeDefined();
        }
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

describe("prod: an upstream Debian release", () => {
    it("changes nothing: the AMI is pinned by name in stack config, not looked up as the most recent", async () => {
        const a = await runProgram("prod");
        const ami = a.ofType(INSTANCE)[0].inputs.ami;
        expect(new Set(a.ofType(INSTANCE).map((i) => i.inputs.ami))).toEqual(new Set([ami]));
        const b = await runProgram("prod");
        expect(planUpdate(stateOf(a), b).changedNames()).toEqual([]);
    });
});

describe("`pulumi up --refresh` after the engine lost its containers (a fresh runner)", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        const a = await evaluate("dev");
        const b = await evaluate("dev");
        // What Read finds gone on a new machine: every object of the local engine. Commands and
        // random values live in state only (their Read returns the state).
        const gone = (r: RecordedResource) => r.type.startsWith("docker:");
        p = planUpdate(stateOf(a), b, { gone });
    });

    it("creates every node again and re-runs every node's scripts", () => {
        expect(names(p, "create", CONTAINER)).toHaveLength(12);
        for (const join of ["swarm-init", "swarm-manager-1-join", "swarm-worker-1-join", "consul-server-0-ready", "lb-1-ready"])
            expect(p.op(join).op).toBe("replace");
    });

    it("deploys the service again on the new swarm, in place", () => {
        expect(p.op("web-deploy").op).toBe("update");
        expect(p.op("consul-acl-bootstrap").op).toBe("update");
    });

    it("keeps the day-2 contract (no old delete script runs after its replacement)", () => expectDay2Contract(p));
});

describe("upgrading a stack whose web-deploy was node-bound (state written before cluster scripts)", () => {
    it("updates web-deploy in place: the stored triggers are ignored, so its old delete never runs", async () => {
        const b = await evaluate("dev");
        const state = b.resources.map((r) =>
            r.name === "web-deploy"
                ? {
                      ...r,
                      inputs: {
                          ...r.inputs,
                          create: "exec docker exec -i swarm-platform-dev-swarm-manager-0 sh -s",
                          triggers: ["swarm-manager-0-id", { old: "spec" }],
                      },
                  }
                : r,
        );
        const p = planUpdate(state, b);
        expect(p.op("web-deploy").op).toBe("update");
        expectDay2Contract(p);
    });
});

describe("upgrading a stack made before metrics (issue #16): the first `pulumi up` with them", () => {
    // The state as the program before metrics wrote it: no Prometheus node, no metrics-* services,
    // agents without telemetry, daemon.json without metrics-addr, HAProxy without its metrics
    // frontend, keepalived without state hooks, and an ACL bootstrap without the two new policies.
    const before = (r: RecordedResource): RecordedResource | undefined => {
        if (r.name.startsWith("monitoring-") || r.name === "consul-metrics-register-token" || r.name.startsWith("consul-prometheus-"))
            return undefined;
        if (r.name === "consul-metrics-register-accessor") return undefined;
        const uploads = r.inputs.uploads as { file: string; content: string }[] | undefined;
        if (uploads === undefined) return r;
        const old = uploads
            .filter((u) => u.file !== "/consul/config/metrics.json")
            .map((u) => ({
                ...u,
                content: u.content
                    .replace(/,\n {2}"telemetry": \{[^}]*\}/, "")
                    .replace(/,\n {2}"metrics-addr": "[^"]*"/, "")
                    .replace(/\n {4}lua-load [^\n]*/, "")
                    .replace(/\n\nfrontend metrics\n[\s\S]*$/, "\n")
                    .replace(/\n {4}notify_[a-z]+ "[^"]*"/g, ""),
            }));
        return { ...r, inputs: { ...r.inputs, uploads: old } };
    };
    let p: EnginePlan;
    beforeAll(async () => {
        const b = await evaluate("dev");
        const state = b.resources.flatMap((r) => before(r) ?? []);
        p = planUpdate(state, b);
    });

    it("rolls every node once, never more than one of a group at a time, and creates the Prometheus node", () => {
        expect(names(p, "replace", CONTAINER).filter((n) => n !== "local-edge")).toEqual([
            "consul-server-0",
            "consul-server-1",
            "consul-server-2",
            "lb-0",
            "lb-1",
            "swarm-manager-0",
            "swarm-manager-1",
            "swarm-manager-2",
            "swarm-worker-0",
            "swarm-worker-1",
        ]);
        for (const g of GROUPS) expect(mostMissingAtOnce(p, g).count).toBe(1);
        expect(p.op("monitoring-prometheus").op).toBe("create");
        expect(p.op("monitoring-prometheus-config").op).toBe("create");
    });

    it("the new ACL policies and tokens exist before any agent registers its metrics services with them", () => {
        expect(p.op("consul-acl-bootstrap").op).toBe("update");
        const [bootstrap] = p.stepsOf("consul-acl-bootstrap");
        for (const node of ["lb-0", "swarm-manager-0", "swarm-worker-0", "monitoring-prometheus"]) {
            const create = p.stepsOf(node).find((st) => st.kind === "create");
            expect({ node, after: create !== undefined && p.before(bootstrap, create) }).toEqual({ node, after: true });
        }
    });

    it("keeps the day-2 contract", () => expectDay2Contract(p));
});

// Secret rotation as day-2 operations (issue #15; docs/security.md, "Rotation"): a generation counter
// in stack config, raised by the user; the next `pulumi up` rotates that one secret and keeps serving.
const SWARM_NODE = /^swarm-(manager|worker)-\d+$/;

describe("rotation.swarmJoinTokens (dev): join tokens rotate in place, no node is touched", () => {
    it("0 → 1 adds one cluster script that rotates both tokens on a manager; nothing else changes", async () => {
        const p = await plan("dev", {}, { rotation: { swarmJoinTokens: 1 } });
        expect(p.changedNames()).toEqual(["swarm-rotate-join-tokens"]);
        expect(p.stepsOf("swarm-rotate-join-tokens").map((s) => s.kind)).toEqual(["create"]);
        const run = p.op("swarm-rotate-join-tokens");
        expect(run.type).toBe(COMMAND);
        const step = p.stepsOf("swarm-rotate-join-tokens")[0];
        expect(String(step.resource.inputs.stdin)).toMatch(/docker swarm join-token --rotate -q "\$role"/);
        expect(String(step.resource.inputs.stdin)).toContain("GENERATION=1\n");
        // Cluster-wide: tried on each manager in turn, with no delete script to run when it goes.
        expect(String(step.resource.inputs.create)).toMatch(/for c in \S*swarm-manager-0 \S*swarm-manager-1 \S*swarm-manager-2; do/);
        expect(step.resource.inputs.delete).toBeUndefined();
        expectDay2Contract(p);
    });

    it("1 → 2 re-runs it in place (an update, no replacement) and touches no swarm node or membership script", async () => {
        const p = await plan("dev", { rotation: { swarmJoinTokens: 1 } }, { rotation: { swarmJoinTokens: 2 } });
        expect(p.changedNames()).toEqual(["swarm-rotate-join-tokens"]);
        expect(p.op("swarm-rotate-join-tokens").op).toBe("update");
        expect(String(p.stepsOf("swarm-rotate-join-tokens")[0].resource.inputs.stdin)).toContain("GENERATION=2\n");
        expectDay2Contract(p);
    });

    it("a worker added with the next rotation joins with the token its join reads from a live manager when it runs", async () => {
        const p = await plan("dev", { rotation: { swarmJoinTokens: 1 } }, { rotation: { swarmJoinTokens: 2 }, swarm: { workers: 3 } });
        // Only the new worker and its scripts are created; no existing node is replaced, updated or deleted.
        expect(names(p, "replace")).toEqual([]);
        expect(names(p, "delete")).toEqual([]);
        expect([...p.dispositions.values()].filter((d) => SWARM_NODE.test(d.name) && d.op !== "same").map((d) => d.name)).toEqual([
            "swarm-worker-2",
        ]);
        expect(p.op("swarm-rotate-join-tokens").op).toBe("update");
        const join = p.stepsOf("swarm-worker-2-join").find((s) => s.kind === "create")!;
        expect(String(join.resource.inputs.create)).toMatch(
            /SWARM_JOIN_TOKEN=\$\(for c in .*docker exec "\$c" sh -c 'docker swarm join-token -q worker'/,
        );
        expectDay2Contract(p);
    });
});

describe("rotation.statsPassword (dev): a new password rolls the LB pair one node at a time", () => {
    let p: EnginePlan;
    beforeAll(async () => {
        p = await plan("dev", {}, { rotation: { statsPassword: 1 } });
    });

    it("replaces the password (create-before-delete: the old one is deleted after the program) and exactly the two LB nodes", () => {
        expect(p.op("lb-stats-password").op).toBe("replace");
        expect(p.stepsOf("lb-stats-password").map((s) => [s.kind, s.phase])).toEqual([
            ["create", "program"],
            ["delete", "deletes"],
        ]);
        expect(names(p, "replace", CONTAINER)).toEqual(["lb-0", "lb-1"]);
        expect(names(p, "delete")).toEqual([]);
        // No swarm node, Consul server, swarm script or the edge is touched.
        const touched = p.changedNames().filter((n) => !/^lb-/.test(n));
        expect(touched).toEqual([]);
        expectDay2Contract(p);
    });

    it("rotates once: the next `pulumi up` with the same generation changes nothing", async () => {
        const same = await plan("dev", { rotation: { statsPassword: 1 } }, { rotation: { statsPassword: 1 } });
        expect(same.changedNames()).toEqual([]);
        // …and that is not because the generation is ignored: the next one draws a new password again.
        expect((await plan("dev", { rotation: { statsPassword: 1 } }, { rotation: { statsPassword: 2 } })).op("lb-stats-password").op).toBe(
            "replace",
        );
    });

    it("the second LB node goes only once the first serves again with the new password (the VIP keeps a holder)", () => {
        expect(mostMissingAtOnce(p, GROUPS.find((g) => g.name === "LB pair")!).count).toBe(1);
        const [ready0] = p.stepsOf("lb-0-ready").filter((s) => s.kind === "create");
        const [deleteLb1] = p.stepsOf("lb-1").filter((s) => s.kind === "delete");
        expect(p.before(ready0, deleteLb1)).toBe(true);
    });
});

describe("rotation on prod", () => {
    it("rotation.statsPassword replaces the two LB instances one at a time and nothing else that serves", async () => {
        const p = await plan("prod", {}, { rotation: { statsPassword: 1 } });
        expect(names(p, "replace", INSTANCE)).toEqual(["lb-0", "lb-1"]);
        expect(mostMissingAtOnce(p, GROUPS.find((g) => g.name === "LB pair")!).count).toBe(1);
        expect(p.changedNames().filter((n) => !/^lb-/.test(n))).toEqual([]);
        expectDay2Contract(p);
    });

    it("rotation.swarmJoinTokens runs the rotation as a cluster association on the managers and replaces no instance", async () => {
        const p = await plan("prod", {}, { rotation: { swarmJoinTokens: 1 } });
        expect(names(p, "replace")).toEqual([]);
        expect(names(p, "delete")).toEqual([]);
        expect(names(p, "create")).toEqual(["swarm-rotate-join-tokens", "swarm-rotate-join-tokens-script"]);
        expectDay2Contract(p);
    });
});

describe("prod: monitoring settings (aws.monitoring.*) touch no node", () => {
    it("logRetentionDays 30 → 400 updates the log group in place and nothing else", async () => {
        const p = await plan("prod", {}, { aws: { monitoring: { logRetentionDays: 400 } } });
        expect(p.changedNames()).toEqual(["aws-logs"]);
        expect(names(p, "update")).toEqual(["aws-logs"]);
        expectDay2Contract(p);
    });

    it("an alarm topic given updates every alarm in place and deletes the stack's own topic; no instance is touched", async () => {
        const p = await plan("prod", {}, { aws: { monitoring: { alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:platform-alarms" } } });
        expect(names(p, "replace")).toEqual([]);
        expect(names(p, "delete")).toEqual(["aws-alarms"]);
        const alarms = names(p, "update", "aws:cloudwatch/metricAlarm:MetricAlarm");
        expect(alarms.length).toBe((await evaluate("prod")).ofType("aws:cloudwatch/metricAlarm:MetricAlarm").length);
        expect(p.changedNames().filter((n) => n !== "aws-alarms" && !alarms.includes(n))).toEqual([]);
        expectDay2Contract(p);
    });
});

describe("prod: a node that rejoins after a rotation", () => {
    it("publishes the manager's current join token again before it joins (the SecureString would hold the rotated-out one)", async () => {
        // `pulumi up --refresh` after worker 1's instance was lost: Read finds it gone, the program
        // creates it again and its join runs again — with manager 0 and every other node unchanged.
        const rotated = { rotation: { swarmJoinTokens: 2 } };
        const a = await evaluate("prod", rotated);
        const b = await evaluate("prod", rotated);
        const p = planUpdate(stateOf(a), b, { gone: (r) => r.name === "swarm-worker-1" });
        expect(names(p, "create", INSTANCE)).toEqual(["swarm-worker-1"]);
        const joined = p.stepsOf("swarm-worker-1-join").find((s) => s.kind === "create")!;
        const published = p.stepsOf("swarm-worker-1-join-swarm_join_token-publish").find((s) => s.kind === "create");
        expect(published).toBeDefined();
        expect(p.before(published!, joined)).toBe(true);
        // The rotation itself does not run again.
        expect(p.op("swarm-rotate-join-tokens").op).toBe("same");
    });
});
