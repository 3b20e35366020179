// Consul's part for the web service, as the LB nodes see it (Consul cannot be installed here): the
// catalog stand-in keeps the tasks' registrations, runs the app's own check as the app registers it
// (CONSUL_CHECK) and publishes the passing instances; consulDnsRecords() is what each LB node's
// agent DNS stand-in (tests/system/consul/dns.js) then answers.
import { CONSUL_CHECK } from "../../app/server";
import { httpGet } from "./probe";

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

    /** Registered instances start critical (no traffic before the first passing check), like the app's check. */
    register(instance: ServiceInstance): void {
        this.instances.set(instance.name, { instance, passing: false, failures: 0 });
    }

    /** Deregistration is immediate in DNS (TTL 0). */
    async deregister(name: string): Promise<void> {
        this.instances.delete(name);
        await this.sync();
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
