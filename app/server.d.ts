// Types for server.js (plain CommonJS, so the image needs no build step).
import type { Server } from "http";

export interface Config {
    version: string;
    hostname: string;
    taskName: string;
    bindAddr: string;
    port: number | undefined;
    portMin: number;
    portMax: number;
    portFile: string;
    consulAddr: { host: string; port: number } | undefined;
    consulTokenFile: string | undefined;
    consulToken: string | undefined;
    serviceName: string;
    serviceAddress: string | undefined;
    drainMs: number;
    shutdownTimeoutMs: number;
}

export interface AppOptions {
    env?: Record<string, string | undefined>;
    config?: Config;
    log?: (line: string) => void;
}

export interface App {
    start(): Promise<{ port: number }>;
    shutdown(reason?: string): Promise<void>;
    stop(reason?: string): Promise<void>;
    readonly server: Server;
    readonly config: Config;
    readonly port: number | null;
    readonly draining: boolean;
    readonly serviceId: string | null;
}

export interface SignalOptions {
    timeoutMs: number;
    log?: (line: string) => void;
    proc?: NodeJS.EventEmitter;
    exit?: (code: number) => void;
}

export function createApp(options?: AppOptions): App;
export function loadConfig(env?: Record<string, string | undefined>): Config;
export function installSignalHandlers(app: Pick<App, "shutdown">, options: SignalOptions): () => void;
export function listenInRange(server: Server, host: string, min: number, max: number): Promise<number>;
export function main(): void;
export const KEEP_ALIVE_TIMEOUT_MS: number;

/** The check the node's Consul agent runs for each task (registered with it; see server.js). */
export const CONSUL_CHECK: {
    readonly Interval: string;
    readonly Timeout: string;
    readonly FailuresBeforeCritical: number;
    readonly DeregisterCriticalServiceAfter: string;
};

/** Where the app serves Prometheus metrics (also its Consul service Meta `metrics_path`). */
export const METRICS_PATH: string;
/** Upper bounds (seconds) of the http_request_duration_seconds buckets. */
export const LATENCY_BUCKETS: readonly number[];

/** What a task registers with its node's Consul agent (PUT /v1/agent/service/register). */
export interface ServiceDefinition {
    readonly ID: string;
    readonly Name: string;
    readonly Address: string;
    readonly Port: number;
    readonly Tags: readonly string[];
    readonly Meta: Readonly<Record<string, string>>;
    readonly Check: Readonly<Record<string, string | number>>;
}
export function serviceDefinition(
    config: Pick<Config, "serviceName" | "taskName" | "version">,
    address: string,
    port: number,
): ServiceDefinition;
