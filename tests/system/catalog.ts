// Consul's part for the web service, as the LB nodes see it (Consul cannot be installed here): the
// catalog stand-in keeps the tasks' registrations, runs the app's own check as the app registers it
// (CONSUL_CHECK) and publishes the passing instances; consulDnsRecords() is what each LB node's
// agent DNS stand-in (tests/system/consul/dns.js) then answers. It also keeps the catalog itself —
// every registration, passing or not, with the node that registered it — in the shape of Consul's
// catalog API (GET /v1/catalog/services, /v1/catalog/service/<name>), which is what Prometheus's
// discovery bridge reads (images/prometheus/consul-http-sd.js) through the agent API stand-in
// (tests/system/consul/agent-api.js, CATALOG_FILE).
import { CONSUL_CHECK } from "../../app/server";
import { httpGet } from "./probe";

/** A Consul node as its agent's config names it (client.json: node_name, advertise_addr, datacenter). */
export interface CatalogNode {
    readonly node: string;
    readonly address: string;
    readonly datacenter: string;
}

/** A service as an agent registers it: the agent API's field names (PUT /v1/agent/service/register). */
export interface AgentService {
    readonly ID: string;
    readonly Name: string;
    /** Empty or absent: the node's address (the catalog then lists ServiceAddress ""). */
    readonly Address?: string;
    readonly Port: number;
    readonly Tags?: readonly string[];
    readonly Meta?: Readonly<Record<string, string>>;
}

/**
 * One entry of Consul's GET /v1/catalog/service/<name>
 * (https://developer.hashicorp.com/consul/api-docs/catalog#list-nodes-for-service): the node's
 * fields and the service's. consul-http-sd.js reads Node, Address, Datacenter, NodeMeta and the
 * Service* fields.
 */
export interface CatalogEntry {
    readonly Node: string;
    readonly Address: string;
    readonly Datacenter: string;
    readonly TaggedAddresses: Readonly<Record<string, string>>;
    readonly NodeMeta: Readonly<Record<string, string>>;
    readonly ServiceID: string;
    readonly ServiceName: string;
    readonly ServiceAddress: string;
    readonly ServicePort: number;
    readonly ServiceTags: readonly string[];
    readonly ServiceMeta: Readonly<Record<string, string>>;
}

/** The catalog entry Consul keeps for `service` registered by the agent of `node`. */
export function catalogEntry(node: CatalogNode, service: AgentService): CatalogEntry {
    return {
        Node: node.node,
        Address: node.address,
        Datacenter: node.datacenter,
        TaggedAddresses: { lan: node.address, wan: node.address },
        NodeMeta: {},
        ServiceID: service.ID,
        ServiceName: service.Name,
        ServiceAddress: service.Address ?? "",
        ServicePort: service.Port,
        ServiceTags: [...(service.Tags ?? [])],
        ServiceMeta: { ...(service.Meta ?? {}) },
    };
}

/**
 * The services an agent registers from a config file's `services` block (the agent's config-file
 * keys: id, name, address, port, tags, meta; the service's `token` only authorises the
 * registration): what the LB and swarm nodes' /consul/config/metrics.json make their agent announce.
 */
export function agentConfigServices(configText: string): AgentService[] {
    const parsed = JSON.parse(configText) as { services?: unknown };
    if (!Array.isArray(parsed.services)) throw new Error("agent config: no services array");
    return parsed.services.map((raw: Record<string, unknown>) => {
        const name = raw.name;
        const port = raw.port;
        if (typeof name !== "string" || name === "") throw new Error(`agent config: a service without a name: ${JSON.stringify(raw)}`);
        if (typeof port !== "number") throw new Error(`agent config: service ${name} has no port`);
        return {
            ID: typeof raw.id === "string" && raw.id !== "" ? raw.id : name,
            Name: name,
            Address: typeof raw.address === "string" ? raw.address : undefined,
            Port: port,
            Tags: Array.isArray(raw.tags) ? raw.tags.map(String) : [],
            Meta: (raw.meta as Record<string, string> | undefined) ?? {},
        };
    });
}

/** One registration or deregistration in the catalog (wall clock). */
export interface CatalogEvent {
    readonly atEpochMs: number;
    readonly event: "register" | "deregister";
    readonly node: string;
    readonly serviceId: string;
    readonly serviceName: string;
}

/** A Consul service instance: what a task registers (its node's address and the port it bound). */
export interface ServiceInstance {
    /** The task name (TASK_NAME), also the instance's name in answers (`task=` in the app's body). */
    readonly name: string;
    readonly address: string;
    readonly port: number;
}

/** "1s", "500ms" (the durations app/server.js registers) → ms. */
function durationMs(text: string): number {
    const m = /^(\d+)(ms|s)$/.exec(text);
    if (!m) throw new Error(`unsupported Consul duration ${JSON.stringify(text)}`);
    return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}
const CHECK_INTERVAL_MS = durationMs(CONSUL_CHECK.Interval);
const CHECK_TIMEOUT_MS = durationMs(CONSUL_CHECK.Timeout);

/** One change of the passing set. */
export interface CatalogChange {
    /** When the catalog decided it (a check result, a (de)registration), performance.now(). */
    readonly atMs: number;
    readonly passing: readonly string[];
    /** When every DNS stand-in answered with it (null until then). */
    publishedAtMs: number | null;
}

/**
 * Consul's part for the web service, as the LB nodes see it: tasks register themselves when they
 * start and deregister when they get SIGTERM (the app does both; here the test calls register and
 * deregister at those moments), the agent runs the app's check as the app registers it
 * (`CONSUL_CHECK` of app/server.js: HTTP GET /health, interval, timeout, critical after
 * FailuresBeforeCritical failures in a row) and DNS answers only passing instances, with TTL 0.
 * Every change of the passing set is written to every DNS stand-in at once.
 */
export class ConsulCatalog {
    private readonly instances = new Map<string, { instance: ServiceInstance; passing: boolean; failures: number }>();
    /** The catalog: every registration (passing or not), by the task's name or `<node>/<service id>`. */
    private readonly entries = new Map<string, CatalogEntry>();
    private readonly catalogListeners: ((entries: readonly CatalogEntry[]) => void)[] = [];
    /** Every registration and deregistration, in order: when the catalog listed it and stopped listing it. */
    readonly events: CatalogEvent[] = [];
    private published = "";
    private timer: NodeJS.Timeout | undefined;
    private checking = false;
    private publishing: Promise<void> = Promise.resolve();
    /** Every change of the passing set: when it was decided and when DNS had it (performance.now()), and the passing names. */
    readonly history: CatalogChange[] = [];

    constructor(private readonly publish: (passing: readonly ServiceInstance[]) => Promise<void>) {}

    /** Checks run every `intervalMs` until stop(); each check is bounded by `timeoutMs`. */
    start(intervalMs = CHECK_INTERVAL_MS, timeoutMs = CHECK_TIMEOUT_MS): void {
        if (this.timer) return;
        this.timer = setInterval(() => void this.checkAll(timeoutMs), intervalMs);
    }

    stop(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }

    /**
     * Registered instances start critical (no traffic before the first passing check), like the app's
     * check. With `registration` (the node whose agent took it, and what the app sent) the instance
     * is also in the catalog, as Consul lists it whatever its health.
     */
    register(instance: ServiceInstance, registration?: { readonly node: CatalogNode; readonly service: AgentService }): void {
        this.instances.set(instance.name, { instance, passing: false, failures: 0 });
        if (registration !== undefined) this.setEntry(instance.name, catalogEntry(registration.node, registration.service));
    }

    /** Deregistration is immediate in DNS (TTL 0) and in the catalog. */
    async deregister(name: string): Promise<void> {
        this.instances.delete(name);
        this.deleteEntry(name);
        await this.sync();
    }

    /**
     * Services a node's agent registers from its own config (no check: they stay listed while the
     * agent runs), e.g. the metrics-* services of an LB node's metrics.json.
     */
    registerAgentServices(node: CatalogNode, services: readonly AgentService[]): void {
        for (const service of services) this.setEntry(`${node.node}/${service.ID}`, catalogEntry(node, service));
    }

    /** Called with the whole catalog now and on every change. */
    onCatalogChange(listener: (entries: readonly CatalogEntry[]) => void): void {
        this.catalogListeners.push(listener);
        listener(this.catalog());
    }

    /** Every entry, as GET /v1/catalog/service/<name> lists them, ordered by service, node and id. */
    catalog(): CatalogEntry[] {
        return [...this.entries.values()].sort(
            (a, b) => a.ServiceName.localeCompare(b.ServiceName) || a.Node.localeCompare(b.Node) || a.ServiceID.localeCompare(b.ServiceID),
        );
    }

    private setEntry(key: string, entry: CatalogEntry): void {
        this.entries.set(key, entry);
        this.events.push({
            atEpochMs: Date.now(),
            event: "register",
            node: entry.Node,
            serviceId: entry.ServiceID,
            serviceName: entry.ServiceName,
        });
        this.catalogChanged();
    }

    private deleteEntry(key: string): void {
        const entry = this.entries.get(key);
        if (entry === undefined) return;
        this.entries.delete(key);
        this.events.push({
            atEpochMs: Date.now(),
            event: "deregister",
            node: entry.Node,
            serviceId: entry.ServiceID,
            serviceName: entry.ServiceName,
        });
        this.catalogChanged();
    }

    private catalogChanged(): void {
        const entries = this.catalog();
        for (const listener of this.catalogListeners) listener(entries);
    }

    passing(): ServiceInstance[] {
        return [...this.instances.values()].filter((i) => i.passing).map((i) => i.instance);
    }

    isPassing(name: string): boolean {
        return this.instances.get(name)?.passing ?? false;
    }

    /** Runs every check once now (also what the interval does). */
    async checkAll(timeoutMs = CHECK_TIMEOUT_MS): Promise<void> {
        if (this.checking) return;
        this.checking = true;
        try {
            await Promise.all(
                [...this.instances.values()].map(async (entry) => {
                    const r = await httpGet(`http://${entry.instance.address}:${entry.instance.port}/health`, timeoutMs);
                    entry.failures = r.status === 200 ? 0 : entry.failures + 1;
                    if (r.status === 200) entry.passing = true;
                    else if (entry.failures >= CONSUL_CHECK.FailuresBeforeCritical) entry.passing = false;
                }),
            );
            await this.sync();
        } finally {
            this.checking = false;
        }
    }

    /** Publishes the passing set if it changed (serialised: one DNS update at a time). */
    private sync(): Promise<void> {
        this.publishing = this.publishing.then(async () => {
            const passing = this.passing().sort((a, b) => a.name.localeCompare(b.name));
            const key = passing.map((i) => `${i.name}@${i.address}:${i.port}`).join(",");
            if (key === this.published) return;
            this.published = key;
            const change: CatalogChange = { atMs: performance.now(), passing: passing.map((i) => i.name), publishedAtMs: null };
            this.history.push(change);
            await this.publish(passing);
            change.publishedAtMs = performance.now();
        });
        return this.publishing;
    }
}

/**
 * The DNS stand-in's records (dnsmasq's syntax, read by consul/dns.js): one SRV record per passing
 * instance → `<hex ip>.addr.<dc>.consul`, and that target's A record.
 */
export function consulDnsRecords(srvName: string, datacenter: string, passing: readonly ServiceInstance[]): string {
    const out = [`# ${srvName}: ${passing.length} passing instance(s), written by tests/system`];
    const hosts = new Map<string, string>();
    for (const b of passing) {
        const hex = b.address
            .split(".")
            .map((o) => Number(o).toString(16).padStart(2, "0"))
            .join("");
        const target = `${hex}.addr.${datacenter}.consul`;
        out.push(`srv-host=${srvName},${target},${b.port},1,1`);
        hosts.set(target, b.address);
    }
    for (const [target, address] of hosts) out.push(`host-record=${target},${address}`);
    return `${out.join("\n")}\n`;
}

/** GET /v1/catalog/services: every service name with the union of its instances' tags. */
export function catalogServices(entries: readonly CatalogEntry[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const e of entries) out[e.ServiceName] = [...new Set([...(out[e.ServiceName] ?? []), ...e.ServiceTags])].sort();
    return out;
}
