// The program's Prometheus beside the data plane (issue #16, "live proof"): the graph's
// `monitoring-prometheus` node (its image, built from images/prometheus with the Consul stand-in, its
// flags and agent config uploads) run as declared, then the graph's `monitoring-prometheus-config`
// command run as the command provider runs it (`sh -c <create>` with the script on stdin): the
// script writes the rendered prometheus.yml, rules.yml and the node's Consul token, checks them with
// promtool and reloads Prometheus. Nothing of the config is written here.
//
// Discovery is the program's too: the image's bridge (images/prometheus/consul-http-sd.js) asks the
// node's agent at 127.0.0.1:8500 for the catalog. The agent is stood in for by
// tests/system/consul/agent-api.js in the node's network namespace (as the LB nodes' agent DNS is by
// dns.js), answering the catalog reads from the harness's ConsulCatalog (catalog.ts) — the web tasks'
// registrations, as the app makes them, and the LB nodes' agent-registered metrics-* services from
// their metrics.json — with the ACLs of the graph (the token the script writes must be allowed to
// read the catalog). The suite reads Prometheus through the edge's listener on 127.0.0.1, as an
// operator does.
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ALERT_NAMES } from "../../render/prometheus";
import { ProgramRun, RecordedResource } from "../harness/program";
import { agentApiContainer } from "./agentApi";
import { loadedTimings, PrometheusIntervals, RuleTiming } from "./alertTiming";
import { CatalogEntry, ConsulCatalog } from "./catalog";
import { docker, dockerResult, runCommand, uploadFiles, waitFor } from "./docker";
import { catalogNodeOf, containerFlags, ContainerSpec } from "./graph";
import { buildImage, ImageBuild, imageBuildsFor } from "./images";
import { objectLabel, SystemSettings } from "./settings";
import { aclFromGraph, AclSetup } from "./swarm";
import type { CatalogNode } from "./catalog";

const CONTAINER = "docker:index/container:Container";

export interface PrometheusNodeSpec {
    readonly settings: SystemSettings;
    readonly container: ContainerSpec;
    /** Builds in order: the Consul stand-in, then the graph's Prometheus image under our tag. */
    readonly images: readonly ImageBuild[];
    /** The node as its Consul agent names it. */
    readonly consul: CatalogNode;
    /** The graph's config command, container names under our prefix; stdin unchanged. */
    readonly configScript: { readonly create: string; readonly stdin: string };
    readonly acl: AclSetup;
    /** The edge's Prometheus listener on the host. */
    readonly apiUrl: string;
}

/** The Prometheus node of the graph (dev stack), translated like the data plane's containers (graph.ts). Pure. */
export function prometheusFromGraph(run: ProgramRun, settings: SystemSettings): PrometheusNodeSpec {
    const graphPrefix = `swarm-platform-${run.stack}-`;
    const rename = (engineName: string): string => {
        if (!engineName.startsWith(graphPrefix)) throw new Error(`graph: name ${engineName} does not start with ${graphPrefix}`);
        return `${settings.namePrefix}${engineName.slice(graphPrefix.length)}`;
    };
    const net = run.ofType("docker:index/network:Network")[0];
    const nodes = run.ofType(CONTAINER).filter((c) => c.name.endsWith("-prometheus"));
    if (nodes.length !== 1) throw new Error(`graph: expected one Prometheus node, found ${nodes.length}`);
    const r: RecordedResource = nodes[0];
    const { flags, command } = containerFlags(r, {
        networkId: `${net.name}-id`,
        networkName: rename(net.inputs.name),
        engineNameOfId: () => {
            throw new Error(`graph: ${r.name} shares another container's network namespace`);
        },
        rename,
        label: objectLabel(settings),
    });
    const images = imageBuildsFor(run, settings, r.inputs.image);
    const container: ContainerSpec = {
        logical: r.name,
        name: rename(r.inputs.name),
        image: images[images.length - 1].tag,
        flags,
        command,
        files: (r.inputs.uploads ?? []).map((u: { file: string; content: string; permissions?: string }) => ({
            path: u.file,
            content: u.content,
            mode: u.permissions ?? "0644",
        })),
    };
    const config = run.byName(`${r.name}-config`);
    const create = String(config.inputs.create);
    if (!create.includes(String(r.inputs.name))) throw new Error(`graph: ${config.name} does not run on ${r.name}`);
    const edge = run.byName("local-edge");
    const port = (edge.inputs.ports ?? []).find((p: { external: number }) => p.external === settings.edgePorts.prometheus);
    if (port === undefined) throw new Error("graph: the edge publishes no Prometheus listener on the settings' port");
    return {
        settings,
        container,
        images,
        consul: catalogNodeOf(r),
        configScript: { create: create.split(graphPrefix).join(settings.namePrefix), stdin: String(config.inputs.stdin) },
        acl: aclFromGraph(run),
        apiUrl: `http://${port.ip}:${port.external}`,
    };
}

/** A series of a query answer: its labels and its [epoch ms, value] points. */
export interface Series {
    readonly labels: Readonly<Record<string, string>>;
    readonly points: readonly (readonly [number, number])[];
}

/** The live Prometheus node and what the suite asks it. */
export class LivePrometheus {
    private readonly dir: string;
    private readonly agentName: string;
    timings: { intervals: PrometheusIntervals; sdRefreshMs: number; rules: Record<string, RuleTiming> } | undefined;

    constructor(
        readonly spec: PrometheusNodeSpec,
        private readonly catalog: ConsulCatalog,
        private readonly webImage: string,
    ) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "spsys-consul-catalog-"));
        fs.chmodSync(this.dir, 0o755);
        this.agentName = `${spec.container.name}-consul-api`;
    }

    /** Builds, creates and configures the node; resolves once every target of `expectJobs` (job → count) is up. */
    async create(expectJobs: Readonly<Record<string, number>>, log: (msg: string) => void): Promise<void> {
        for (const b of this.spec.images) await buildImage(b);
        this.catalog.onCatalogChange((entries) => this.writeCatalog(entries));
        const c = this.spec.container;
        await docker(["create", ...c.flags, c.image, ...c.command]);
        await uploadFiles(c.name, c.files);
        await docker(["start", c.name]);
        // The node's agent API, in the node's network namespace (the bridge asks 127.0.0.1:8500).
        const agent = agentApiContainer("0.2");
        await docker([
            "create",
            "--name",
            this.agentName,
            "--label",
            objectLabel(this.spec.settings),
            "--network",
            `container:${c.name}`,
            "--volume",
            `${this.dir}:/etc/consul-catalog:ro`,
            "--env",
            `NODE_NAME=${this.spec.consul.node}`,
            "--env",
            `NODE_ADDR=${this.spec.consul.address}`,
            "--env",
            `DATACENTER=${this.spec.consul.datacenter}`,
            "--env",
            "ACL_FILE=/tmp/acl.json",
            "--env",
            "CATALOG_FILE=/etc/consul-catalog/catalog.json",
            ...agent.flags,
            this.webImage,
            ...agent.command,
        ]);
        await uploadFiles(this.agentName, [agent.file, { path: "/tmp/acl.json", content: JSON.stringify(this.spec.acl), mode: "0644" }]);
        await docker(["start", this.agentName]);
        // The graph's config command, as the command provider runs it — once the entrypoint has
        // started Prometheus (its pid file: the script reloads it through that; a script that ran
        // earlier would leave the files for Prometheus to read at its start instead).
        await waitFor(
            `${c.name}'s Prometheus to start`,
            async () => ((await dockerResult(["exec", c.name, "test", "-s", "/run/prometheus.pid"])).code === 0 ? true : undefined),
            60_000,
            250,
        );
        const script = await runCommand("sh", ["-c", this.spec.configScript.create], {
            input: this.spec.configScript.stdin,
            timeoutMs: 60_000,
        });
        if (script.code !== 0) throw new Error(`${this.spec.container.logical}-config failed (${script.code}): ${script.stderr}`);
        log(`prometheus: ${script.stdout.trim()}`);
        await waitFor(
            "Prometheus to load the program's rules",
            async () => {
                const rules = await this.api<{ groups: { rules: { name: string }[] }[] }>("/api/v1/rules?type=alert");
                const names = rules.groups.flatMap((g) => g.rules.map((r) => r.name));
                return ALERT_NAMES.every((n) => names.includes(n)) ? true : undefined;
            },
            60_000,
            500,
        );
        const config = await this.api<{ yaml: string }>("/api/v1/status/config");
        const rules = await this.api<Parameters<typeof loadedTimings>[1]>("/api/v1/rules");
        this.timings = loadedTimings(config.yaml, rules, "consul-services");
        try {
            await this.waitTargets(expectJobs, 0, 90_000);
        } catch (e) {
            throw new Error(`${(e as Error).message}\n${await this.logs()}`);
        }
        log(
            `prometheus: scraping ${Object.entries(expectJobs)
                .map(([j, n]) => `${n} ${j}`)
                .join(
                    ", ",
                )}; scrape ${this.timings.intervals.scrapeMs} ms, evaluation ${this.timings.intervals.evalMs} ms, discovery refresh ${this.timings.sdRefreshMs} ms`,
        );
    }

    /** Until every job has exactly its count of targets, all up and scraped since `sinceEpochMs`. */
    async waitTargets(expectJobs: Readonly<Record<string, number>>, sinceEpochMs: number, timeoutMs: number): Promise<void> {
        await waitFor(
            `Prometheus's targets ${JSON.stringify(expectJobs)} up (scraped since ${new Date(sinceEpochMs).toISOString()})`,
            async () => {
                const t = await this.api<{ activeTargets: { labels: Record<string, string>; health: string; lastScrape: string }[] }>(
                    "/api/v1/targets?state=active",
                );
                for (const [job, n] of Object.entries(expectJobs)) {
                    const mine = t.activeTargets.filter((x) => x.labels.job === job);
                    if (mine.length !== n) return undefined;
                    if (!mine.every((x) => x.health === "up" && Date.parse(x.lastScrape) >= sinceEpochMs)) return undefined;
                }
                return true;
            },
            timeoutMs,
            500,
        );
    }

    /** The catalog file the agent stand-in answers from; renamed into place (it rereads it on every request). */
    private writeCatalog(entries: readonly CatalogEntry[]): void {
        const tmp = path.join(this.dir, "catalog.json.tmp");
        fs.writeFileSync(tmp, JSON.stringify(entries), { mode: 0o644 });
        fs.renameSync(tmp, path.join(this.dir, "catalog.json"));
    }

    removeLocalFiles(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** GET an API path; the answer's `data`. */
    async api<T>(pathAndQuery: string): Promise<T> {
        const body = await getText(`${this.spec.apiUrl}${pathAndQuery}`);
        const parsed = JSON.parse(body) as { status: string; data: T; error?: string };
        if (parsed.status !== "success") throw new Error(`Prometheus ${pathAndQuery}: ${parsed.error ?? body.slice(0, 300)}`);
        return parsed.data;
    }

    /** An instant query at `atMs` (default now): each series with its one value. */
    async query(expr: string, atMs?: number): Promise<{ labels: Record<string, string>; value: number }[]> {
        const time = atMs === undefined ? "" : `&time=${atMs / 1000}`;
        const data = await this.api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
            `/api/v1/query?query=${encodeURIComponent(expr)}${time}`,
        );
        return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    }

    /** The raw samples of a series selector between two times (a range-vector instant query): what was stored, when. */
    async samples(selector: string, fromMs: number, toMs: number): Promise<Series[]> {
        const seconds = Math.max(1, Math.ceil((toMs - fromMs) / 1000));
        const data = await this.api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
            `/api/v1/query?query=${encodeURIComponent(`${selector}[${seconds}s]`)}&time=${toMs / 1000}`,
        );
        return data.result.map((r) => ({ labels: r.metric, points: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const) }));
    }

    /** A range query (GET /api/v1/query_range): the series Prometheus's graph would draw. */
    async range(expr: string, fromMs: number, toMs: number, stepMs: number): Promise<Series[]> {
        const data = await this.api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
            `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${fromMs / 1000}&end=${toMs / 1000}&step=${stepMs / 1000}`,
        );
        return data.result.map((r) => ({ labels: r.metric, points: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const) }));
    }

    /** The alerts active now (pending or firing), GET /api/v1/alerts. */
    async alerts(): Promise<{ labels: Record<string, string>; state: string; activeAt: string }[]> {
        return (await this.api<{ alerts: { labels: Record<string, string>; state: string; activeAt: string }[] }>("/api/v1/alerts")).alerts;
    }

    get agentContainer(): string {
        return this.agentName;
    }

    /** The node's log and its agent stand-in's, for a failure message. */
    async logs(): Promise<string> {
        const a = await dockerResult(["logs", "--tail", "40", this.spec.container.name]);
        const b = await dockerResult(["logs", "--tail", "20", this.agentName]);
        return `${a.stdout}${a.stderr}\n${b.stdout}${b.stderr}`;
    }
}

function getText(url: string, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve(body));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}
