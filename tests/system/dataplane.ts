// The data plane of the dev stack on the local engine: creates what graph.ts translated from the
// program's graph, with the docker CLI, and runs it.
// - the network, the LB containers and the edge as declared, with their uploads copied in before the
//   first start;
// - the node images' Consul agent: each node image copies `/bin/consul` from the image its
//   CONSUL_IMAGE build arg names; here that is a stand-in (tests/system/consul) that only runs and
//   leaves, so the node entrypoints' start/supervise/stop of the agent run for real. What the agent
//   answers is stood in for by a DNS server (tests/system/consul/dns.js) in each LB node's
//   network namespace on the agent's port, answering the SRV name HAProxy's server-template asks
//   for, in Consul's exact shape; the harness moves it into the node's new namespace after a restart;
// - the web service's tasks from its task spec, each a container in its node's namespace: it binds
//   the first free port of the spec's range, exactly as on a real node. A Consul stand-in
//   (ConsulCatalog, catalog.ts) keeps the tasks' registrations, runs the app's own check and
//   publishes the passing ones to every DNS stand-in (Consul DNS answers only passing instances).
// Settings: settings.ts; graph → containers: graph.ts; image builds: images.ts. Every object carries
// the SYSTEM_LABEL (or the suite's own label key), so cleanup can always find them.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { WebServiceSpec } from "../../render/webService";
import { loadConfig, serviceDefinition } from "../../app/server";
import { ConsulCatalog, consulDnsRecords, ServiceInstance } from "./catalog";
import { docker, dockerResult, removeSystemTestObjects, uploadFiles, waitFor } from "./docker";
import { ContainerSpec, DataPlaneSpec, LbNodeSpec, taskContainer } from "./graph";
import { buildImage } from "./images";
import { httpGet, taskOf, trustCa } from "./probe";

/** One keepalived state change, from the container log. */
export interface VrrpTransition {
    readonly node: string;
    /** Wall clock (ms since epoch) from docker's log timestamp. */
    readonly atEpochMs: number;
    readonly state: "MASTER" | "BACKUP" | "FAULT" | "STOP";
}

/** A running task of the web service. */
export interface Task extends ServiceInstance {
    readonly slot: number;
    /** Engine name of the task's container. */
    readonly container: string;
    readonly node: string;
    readonly version: string;
}

/** The file consul/dns.js answers from, in /etc/consul-dns. */
const DNS_RECORDS = "records.conf";

export class DataPlane {
    private spec: DataPlaneSpec;
    private builtImages = new Set<string>();
    private readonly tasks = new Map<string, Task>();
    private taskCounter = 0;
    /**
     * The catalog's DNS records on the host, bind-mounted (read-only) into every DNS stand-in: a
     * change reaches every LB node's agent DNS the moment it is renamed into place, as Consul's DNS
     * answers from its catalog at once. (Written with `docker exec` into each stand-in before, a
     * change took 0.2–1 s to arrive on a loaded machine, and that harness delay was counted in the
     * membership figures.)
     */
    private readonly dnsDir: string;
    readonly catalog: ConsulCatalog;

    constructor(spec: DataPlaneSpec) {
        this.spec = spec;
        // The load and probes go through the edge's HTTPS, verified against the stack's own CA.
        trustCa(spec.caCertPem);
        this.dnsDir = fs.mkdtempSync(path.join(os.tmpdir(), `${spec.settings.namePrefix}consul-dns-`));
        fs.chmodSync(this.dnsDir, 0o755);
        fs.writeFileSync(path.join(this.dnsDir, DNS_RECORDS), consulDnsRecords(spec.srvName, spec.datacenter, []));
        this.catalog = new ConsulCatalog(async (passing) => this.writeDns(passing));
    }

    get current(): DataPlaneSpec {
        return this.spec;
    }

    /** The tasks that run now, by slot. */
    get tasksRunning(): Task[] {
        return [...this.tasks.values()].sort((a, b) => a.slot - b.slot || a.name.localeCompare(b.name));
    }

    lb(logical: string): LbNodeSpec {
        const n = this.spec.lbs.find((l) => l.logical === logical);
        if (n === undefined) throw new Error(`no LB node ${logical}`);
        return n;
    }

    peerOf(logical: string): string {
        return this.spec.lbs.find((l) => l.logical !== logical)!.logical;
    }

    /** Removes leftovers, builds the images, creates everything and waits until traffic flows. */
    async create(log: (msg: string) => void = () => undefined): Promise<void> {
        await removeSystemTestObjects(this.spec.settings.namePrefix, this.spec.settings.labelKey);
        await this.buildImages(this.spec);
        log(`images built: ${this.spec.images.map((i) => i.tag).join(", ")}`);
        await this.createNetwork();
        for (const node of this.spec.web.nodes) await this.createContainer(node.container);
        // Tasks first, so the LB nodes find them in DNS at once.
        const tasks = await Promise.all(Array.from({ length: this.spec.web.spec.replicas }, (_, i) => this.startTask(i + 1)));
        await Promise.all(tasks.map((t) => this.waitPassing(t.name, 30_000)));
        log(`web tasks passing: ${tasks.map((t) => `${t.name} on ${t.node} (${t.address}:${t.port})`).join(", ")}`);
        this.catalog.start();
        await this.startLbsAndEdge(log);
    }

    /** The graph's docker.Network. */
    async createNetwork(): Promise<void> {
        await docker(["network", "create", ...this.spec.network.flags, this.spec.network.name]);
    }

    /**
     * The LB pair, its agents' DNS answers and the edge, once the catalog holds the web service's
     * instances (whoever runs them: emulated tasks, or Swarm in the swarm suite); until traffic flows.
     */
    async startLbsAndEdge(log: (msg: string) => void = () => undefined): Promise<void> {
        await this.createLbs();
        await this.createContainer(this.spec.edge);
        await this.waitServing();
        log(`serving through ${this.spec.webUrl}; VIP ${this.spec.vip} on ${await this.master()}`);
    }

    /** Replaces both LB nodes (and their DNS stand-ins) with those of another graph (e.g. other VRRP settings). */
    async replaceLbs(next: DataPlaneSpec): Promise<void> {
        await this.buildImages(next);
        for (const lb of this.spec.lbs) await dockerResult(["rm", "-f", lb.dns.name, lb.container.name], { timeoutMs: 60_000 });
        this.adoptLbs(next);
        await this.createLbs();
        await this.waitServing();
    }

    /**
     * Deletes one LB node as the provider deletes a container: `docker stop -t destroyGraceSeconds`
     * (its SIGTERM handler hands the VIP over; its DNS stand-in still answers meanwhile) then
     * `docker rm -f`; the stand-in goes with it, as the Consul agent inside the real node does.
     */
    async deleteLb(lb: LbNodeSpec, graceSeconds: number): Promise<void> {
        await dockerResult(["stop", "-t", String(graceSeconds), lb.container.name], { timeoutMs: (graceSeconds + 30) * 1000 });
        await dockerResult(["rm", "-f", lb.dns.name]);
        await docker(["rm", "-f", lb.container.name]);
    }

    /** Creates one LB node as declared (a graph's), with its DNS stand-in answering the current catalog. */
    async createLb(lb: LbNodeSpec): Promise<void> {
        await this.createContainer(lb.container);
        await this.startDns(lb);
    }

    /** After a replayed plan: the LB nodes (and the VRRP settings) are those of `next`. */
    adoptLbs(next: DataPlaneSpec): void {
        this.spec = { ...next, web: this.spec.web };
    }

    async destroy(): Promise<void> {
        this.catalog.stop();
        await removeSystemTestObjects(this.spec.settings.namePrefix, this.spec.settings.labelKey);
        this.removeLocalFiles();
    }

    /** Removes what the plane keeps on the host (the DNS records' folder); call after its containers are gone. */
    removeLocalFiles(): void {
        fs.rmSync(this.dnsDir, { recursive: true, force: true });
    }

    async buildImages(spec: DataPlaneSpec): Promise<void> {
        for (const b of spec.images) {
            if (this.builtImages.has(b.tag)) continue;
            await buildImage(b);
            this.builtImages.add(b.tag);
        }
    }

    private async createLbs(): Promise<void> {
        // Like the program: both nodes, then the agents beside them.
        for (const lb of this.spec.lbs) await this.createContainer(lb.container);
        for (const lb of this.spec.lbs) await this.startDns(lb);
    }

    /** docker create, the uploads copied in (like the provider's uploads), docker start. */
    async createContainer(c: ContainerSpec): Promise<void> {
        await docker(["create", ...c.flags, c.image, ...c.command]);
        await uploadFiles(c.name, c.files);
        await docker(["start", c.name]);
    }

    // --- the web service ------------------------------------------------------------------------

    /**
     * Starts a task for `slot` (Swarm spreads slots over the eligible nodes) from the current spec, or
     * from `spec`/`image` (a new version); it binds a port and registers, as the app does at start.
     */
    async startTask(slot: number, version?: { spec: WebServiceSpec; image: string }): Promise<Task> {
        const spec = version?.spec ?? this.spec.web.spec;
        const nodes = this.spec.web.nodes;
        const node = nodes[(slot - 1) % nodes.length];
        const id = `t${++this.taskCounter}`;
        const taskName = `${spec.name}.${slot}.${id}`;
        const name = `${this.spec.settings.namePrefix}${taskName}`;
        await this.createContainer(taskContainer(spec, { name, taskName, node, image: version?.image ?? this.spec.web.image, slot }));
        const port = await waitFor(
            `${name} to bind its port`,
            async () => {
                const r = await dockerResult(["exec", name, "cat", "/tmp/web.port"], { timeoutMs: 5000 });
                return r.code === 0 && /^\d+\s*$/.test(r.stdout) ? Number(r.stdout) : undefined;
            },
            30_000,
            100,
        );
        const task: Task = {
            name: taskName,
            slot,
            container: name,
            node: node.logical,
            address: node.address,
            port,
            version: spec.env?.APP_VERSION ?? "?",
        };
        this.tasks.set(taskName, task);
        // In the catalog as the app registers itself with its node's agent (its own config, from the task's env).
        const app = loadConfig({ ...spec.env, TASK_NAME: taskName });
        this.catalog.register(task, { node: node.consul, service: serviceDefinition(app, node.address, port) });
        return task;
    }

    /** After a rollout: new tasks (replacements, scale-ups) run this spec and image, as Swarm's updated service would. */
    adoptWebSpec(next: { spec: WebServiceSpec; image: string }): void {
        this.spec = { ...this.spec, web: { ...this.spec.web, spec: next.spec, image: next.image } };
    }

    /** Until Consul's check passes for the instance and it is in DNS. */
    async waitPassing(name: string, timeoutMs: number): Promise<void> {
        await waitFor(
            `${name} to pass its Consul check`,
            async () => {
                await this.catalog.checkAll();
                return this.catalog.isPassing(name) ? true : undefined;
            },
            timeoutMs,
            200,
        );
    }

    /** Until Docker reports the task healthy (what Swarm waits for before it stops the task being replaced). */
    async waitHealthy(task: Task, timeoutMs: number): Promise<void> {
        await waitFor(
            `${task.container} to be healthy`,
            async () => ((await docker(["inspect", "-f", "{{.State.Health.Status}}", task.container])) === "healthy" ? true : undefined),
            timeoutMs,
            200,
        );
    }

    /**
     * Stops a task as Swarm does: SIGTERM, SIGKILL after the spec's grace period. The app deregisters
     * at once on SIGTERM (done here at the same moment), fails /health, drains, exits.
     * Resolves when the container has exited.
     */
    async stopTask(task: Task): Promise<void> {
        const grace = this.spec.web.spec.stopGracePeriodSeconds ?? 30;
        await Promise.all([
            this.catalog.deregister(task.name),
            docker(["stop", "-t", String(grace), task.container], { timeoutMs: (grace + 30) * 1000 }),
        ]);
        this.tasks.delete(task.name);
        await dockerResult(["rm", "-f", task.container]);
    }

    /** A crash: SIGKILL, no deregistration (Consul's check turns critical). */
    async killTask(task: Task): Promise<void> {
        await docker(["kill", task.container]);
    }

    /** Forgets a killed task: its registration and container (Consul: DeregisterCriticalServiceAfter). */
    async removeTask(task: Task): Promise<void> {
        this.tasks.delete(task.name);
        await this.catalog.deregister(task.name);
        await dockerResult(["rm", "-f", task.container]);
    }

    // --- DNS stand-ins ----------------------------------------------------------------------------

    /** (Re)starts a node's DNS stand-in in the node's current network namespace, answering from the current records. */
    private async startDns(lb: LbNodeSpec): Promise<void> {
        await dockerResult(["rm", "-f", lb.dns.name]);
        await docker([
            "create",
            ...lb.dns.flags,
            "--volume",
            `${this.dnsDir}:/etc/consul-dns:ro`,
            "--name",
            lb.dns.name,
            lb.dns.image,
            ...lb.dns.command,
        ]);
        await docker(["start", lb.dns.name]);
    }

    /**
     * Writes the records every DNS stand-in answers from (each rereads them on every query; the
     * rename is atomic). A stand-in that is not running sees them too: a Consul agent that comes
     * back has the current catalog.
     */
    private writeDns(passing: readonly ServiceInstance[]): void {
        const tmp = path.join(this.dnsDir, `${DNS_RECORDS}.tmp`);
        fs.writeFileSync(tmp, consulDnsRecords(this.spec.srvName, this.spec.datacenter, passing), { mode: 0o644 });
        fs.renameSync(tmp, path.join(this.dnsDir, DNS_RECORDS));
    }

    // --- LB nodes ---------------------------------------------------------------------------------

    /** Until each LB node serves every passing instance, the edge answers and exactly one node holds the VIP. */
    async waitServing(timeoutMs = 60_000): Promise<void> {
        await Promise.all(this.spec.lbs.map((lb) => this.waitLbReady(lb.logical, timeoutMs)));
        await waitFor("exactly one VIP holder", async () => ((await this.vipHolders()).length === 1 ? true : undefined), timeoutMs, 200);
        await waitFor(
            "the edge to answer",
            async () => ((await httpGet(this.spec.webUrl, 1000)).status === 200 ? true : undefined),
            timeoutMs,
            200,
        );
    }

    /**
     * Until the node's HAProxy serves every passing instance and its keepalived is BACKUP or MASTER
     * (judged by its log since the container's current start, or since `sinceEpochMs` if later: the
     * log also holds earlier runs of the container).
     */
    async waitLbReady(logical: string, timeoutMs = 60_000, sinceEpochMs?: number): Promise<void> {
        const lb = this.lb(logical);
        const startedAt = Date.parse(await docker(["inspect", "-f", "{{.State.StartedAt}}", lb.container.name]));
        const since = Math.max(Number.isNaN(startedAt) ? 0 : startedAt - 50, sinceEpochMs ?? 0);
        await waitFor(
            `${lb.container.name} to serve every passing instance`,
            async () => {
                const want = new Set(this.catalog.passing().map((i) => i.name));
                const seen = new Set<string>();
                for (let i = 0; i < want.size * 3 && seen.size < want.size; i++) {
                    const r = await httpGet(`http://${lb.address}/`, 1000);
                    if (r.status !== 200) return undefined;
                    const task = taskOf(r.body);
                    if (task) seen.add(task);
                }
                return want.size > 0 && [...want].every((w) => seen.has(w)) ? true : undefined;
            },
            timeoutMs,
            250,
        );
        await waitFor(
            `${lb.container.name}'s keepalived to leave FAULT`,
            async () => {
                const states = await this.transitions(logical, since);
                const last = states[states.length - 1];
                return last && (last.state === "BACKUP" || last.state === "MASTER") ? true : undefined;
            },
            timeoutMs,
            250,
        );
    }

    /** LB nodes whose eth0 carries the VIP. */
    async vipHolders(): Promise<string[]> {
        const held = await Promise.all(
            this.spec.lbs.map(async (lb) => {
                const r = await dockerResult(["exec", lb.container.name, "ip", "-o", "-4", "addr", "show"], { timeoutMs: 10_000 });
                return r.code === 0 && r.stdout.includes(` ${this.spec.vip}/`) ? lb.logical : undefined;
            }),
        );
        return held.filter((h): h is string => h !== undefined);
    }

    /** The one VIP holder (throws if none or both). */
    async master(): Promise<string> {
        const holders = await this.vipHolders();
        if (holders.length !== 1) throw new Error(`expected one VIP holder, found ${holders.length}: ${holders.join(", ")}`);
        return holders[0];
    }

    /** keepalived's state changes in the node's log (its current container run and earlier ones). */
    async transitions(logical: string, sinceEpochMs?: number): Promise<VrrpTransition[]> {
        const args = ["logs", "--timestamps"];
        if (sinceEpochMs !== undefined) args.push("--since", new Date(sinceEpochMs).toISOString());
        const r = await dockerResult([...args, this.lb(logical).container.name], { timeoutMs: 10_000 });
        const out: VrrpTransition[] = [];
        for (const line of `${r.stdout}\n${r.stderr}`.split("\n")) {
            const m = /^(\S+) .*\(VI_\w+\) Entering (MASTER|BACKUP|FAULT|STOP) STATE/.exec(line);
            // docker's RFC 3339 timestamps carry nanoseconds: keep milliseconds for Date.parse.
            const at = Date.parse(m?.[1].replace(/(\.\d{3})\d*/, "$1") ?? "");
            if (m) out.push({ node: logical, atEpochMs: at, state: m[2] as VrrpTransition["state"] });
        }
        return out.sort((a, b) => a.atEpochMs - b.atEpochMs);
    }

    /** MASTER entries on any node since a time: the VIP moves. */
    async masterEntries(sinceEpochMs: number): Promise<VrrpTransition[]> {
        const all = await Promise.all(this.spec.lbs.map((lb) => this.transitions(lb.logical, sinceEpochMs)));
        return all
            .flat()
            .filter((t) => t.state === "MASTER" && t.atEpochMs >= sinceEpochMs)
            .sort((a, b) => a.atEpochMs - b.atEpochMs);
    }

    /** Is the node's container running? */
    async running(logical: string): Promise<boolean> {
        const r = await dockerResult(["inspect", "-f", "{{.State.Running}}", this.lb(logical).container.name]);
        return r.stdout.trim() === "true";
    }

    /**
     * Starts a stopped/killed node again and waits until it serves. The node's entrypoint starts its
     * Consul agent again inside it (in the node's new network namespace); the harness then moves the
     * agent's DNS answers there too (Docker cannot do that for a container that shares a namespace).
     * `agentFollowed` reports whether the node's own agent process came back.
     */
    async restartLb(logical: string, agentFollowMs = 15_000): Promise<{ agentFollowed: boolean; servesAfterMs: number }> {
        const lb = this.lb(logical);
        const t0 = performance.now();
        if (!(await this.running(logical))) await docker(["start", lb.container.name]);
        const agentFollowed = await this.followNode(logical, agentFollowMs);
        await this.waitLbReady(logical, 60_000);
        return { agentFollowed, servesAfterMs: Math.round(performance.now() - t0) };
    }

    /** Is the node's own Consul agent (started by its entrypoint, as the consul user) running? */
    async agentAlive(logical: string): Promise<boolean> {
        const r = await dockerResult(["exec", this.lb(logical).container.name, "pgrep", "-u", "consul", "-x", "consul"]);
        return r.code === 0;
    }

    /**
     * After the node got a new network namespace (restart, stop/start): waits (up to `boundMs`) until
     * the node's entrypoint runs its Consul agent again, then re-creates the DNS stand-in in the new
     * namespace. Returns whether the agent came back.
     */
    async followNode(logical: string, boundMs = 15_000): Promise<boolean> {
        let agentBack = true;
        try {
            await waitFor(`${logical}'s Consul agent`, async () => ((await this.agentAlive(logical)) ? true : undefined), boundMs, 200);
        } catch {
            agentBack = false;
        }
        await this.startDns(this.lb(logical));
        return agentBack;
    }

    containerName(logical: string): string {
        return this.lb(logical).container.name;
    }
}
