// The WebService contract: its defaults (the rolling-update policy included) and its argument rules.
import { TASK_BOUNDS } from "../../render/webService";
import { SWARM_NODE_SERVICE_PORTS } from "./swarmCluster";
import { check, IMAGE_TAG, Issue, KeyNames, LIMITS, limitsIssues, ownKeys, present, ResourceLimits, Rule, wholeAtLeast } from "./common";

/**
 * Docker's health check of each task. It gates rolling updates (start-first waits for "healthy")
 * and makes Swarm replace a hung task; it routes no traffic (HAProxy's checks take a failing task
 * out within a second, Consul's within ~3 s). So it says "healthy" quickly — every 2 s, so a new task
 * counts as started within seconds — but condemns slowly: 3 failures in a row, each allowed 5 s.
 * With 2 s × 2 the swarm system test measured the opposite of HA: a node busy loading the next
 * version's image slowed every task's check at once, Swarm replaced all tasks together and 132–238
 * requests failed in a 3.4–5.7 s gap before the update had even started.
 */
export const TASK_HEALTHCHECK = { intervalSeconds: 2, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 } as const;

/**
 * The longest Docker takes to call a healthy task unhealthy: `retries` probes in a row, each run
 * `interval` after the last one ended and allowed `timeout` (21 s).
 */
export const TASK_UNHEALTHY_AFTER_SECONDS = TASK_HEALTHCHECK.retries * (TASK_HEALTHCHECK.intervalSeconds + TASK_HEALTHCHECK.timeoutSeconds);

/**
 * The app's own hard stop comes 1 s before Swarm's SIGKILL (SHUTDOWN_TIMEOUT_SECONDS = grace − 1),
 * and a stopping task first deregisters, then drains, then lets in-flight requests finish: the
 * drain must end at least a second before that hard stop.
 */
export const STOP_GRACE_MARGIN_SECONDS = 2;

export const WEB_SERVICE_DEFAULTS = {
    serviceName: "web",
    replicas: 3,
    // 128 MB: with prom-client's metrics the app's resident set is ~64 MiB on Node 18 (app/README.md,
    // "Metrics"), which a 64 MB limit would leave no room above. Only a limit: nothing is reserved.
    resources: { cpus: 0.25, memoryMb: 128 },
    portRange: { min: 20000, max: 20099 },
    drainSeconds: 3,
    stopGraceSeconds: 15,
    updatePolicy: {
        parallelism: 1,
        // Between tasks: HAProxy adds a new task within ~1.5 s (Consul's 1 s check, then one 0.5 s DNS
        // period), so it takes traffic before the next old task deregisters; start-first keeps the
        // capacity meanwhile. 2 s measured 0 failed requests in every version bump of the bench.
        delaySeconds: 2,
        order: "start-first" as "start-first" | "stop-first",
        // Swarm counts a new task's failure against the update only within this window: it must
        // cover the health check's slowest verdict, or a version that turns unhealthy after its first
        // good probe would roll out everywhere instead of rolling back.
        monitorSeconds: TASK_UNHEALTHY_AFTER_SECONDS,
    },
    preferWorkers: true,
} as const;

/** The task renderer's bounds (render/webService.ts owns them): more tasks, or a longer stop grace, it refuses. */
export const MAX_REPLICAS = TASK_BOUNDS.replicas.max;
export const MAX_STOP_GRACE_SECONDS = TASK_BOUNDS.stopGraceSeconds.max;

/** Seconds a stopping task may drain: longer only delays every rolling update. */
export const MAX_DRAIN_SECONDS = 60;

export const WEB_SERVICE_RULES = {
    replicas: {
        text: `must be a whole number from 1 to ${MAX_REPLICAS}`,
        holds: (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_REPLICAS,
    } as Rule<number>,
    version: {
        text: "must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)",
        holds: (v: string) => IMAGE_TAG.test(v),
    } as Rule<string>,
    resources: LIMITS,
    port: {
        text: "must be an unprivileged TCP port, 1024–65535",
        holds: (n: number) => Number.isInteger(n) && n >= 1024 && n <= 65535,
    } as Rule<number>,
    drainSeconds: {
        text: `must be 0–${MAX_DRAIN_SECONDS} seconds`,
        holds: (n: number) => n >= 0 && n <= MAX_DRAIN_SECONDS,
    } as Rule<number>,
    stopGraceSeconds: {
        text: `must be a whole number of seconds from 1 to ${MAX_STOP_GRACE_SECONDS}`,
        holds: (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_STOP_GRACE_SECONDS,
    } as Rule<number>,
    parallelism: wholeAtLeast(1),
    delaySeconds: wholeAtLeast(0),
    order: {
        text: 'must be "start-first" or "stop-first"',
        holds: (o: string) => o === "start-first" || o === "stop-first",
    } as Rule<string>,
    monitorSeconds: wholeAtLeast(0),
} as const;

/** The arguments the rules look at, defaults resolved. */
export interface WebServiceSettings {
    readonly replicas: number;
    readonly version: string;
    readonly resources: ResourceLimits;
    readonly portRange: { readonly min: number; readonly max: number };
    readonly drainSeconds: number;
    readonly stopGraceSeconds: number;
}

/** Rules between arguments: they hold whatever each value's own rule says. */
export function webServiceRelationIssues(s: WebServiceSettings, key: KeyNames = ownKeys): Issue[] {
    const { min, max } = s.portRange;
    const maxKey = key("portRange.max");
    // Tasks bind on the swarm node's own network (and, on aws, the LB nodes may reach the whole range):
    // the range must not hold a port the node's own services listen on.
    // (A range with max below min holds no port, so it finds none here; the next rule names it.)
    const reserved = SWARM_NODE_SERVICE_PORTS.find((p) => p.port >= min && p.port <= max);
    return present([
        reserved !== undefined
            ? {
                  key: maxKey,
                  value: max,
                  rule: `${key("portRange.min")}–${maxKey} (${min}–${max}) must not include ${reserved.port}, the ${reserved.what} port on every swarm node`,
              }
            : undefined,
        max < min ? { key: maxKey, value: max, rule: `must not be below ${key("portRange.min")} = ${min}` } : undefined,
        // A node may hold every replica plus the start-first surge task.
        max - min + 1 < s.replicas + 1
            ? {
                  key: maxKey,
                  value: max,
                  rule: `must leave at least ${key("replicas")} + 1 = ${s.replicas + 1} ports from ${key("portRange.min")} = ${min}`,
              }
            : undefined,
        s.stopGraceSeconds < s.drainSeconds + STOP_GRACE_MARGIN_SECONDS
            ? {
                  key: key("stopGraceSeconds"),
                  value: s.stopGraceSeconds,
                  rule: `must be at least ${key("drainSeconds")} + ${STOP_GRACE_MARGIN_SECONDS} = ${s.drainSeconds + STOP_GRACE_MARGIN_SECONDS} so a draining task is not killed mid-request`,
              }
            : undefined,
    ]);
}

/** The rolling-update policy, defaults resolved. */
export interface UpdatePolicySettings {
    readonly parallelism: number;
    readonly delaySeconds: number;
    readonly order: string;
    readonly monitorSeconds: number;
}

export function updatePolicyIssues(p: UpdatePolicySettings, key: KeyNames = ownKeys): Issue[] {
    const r = WEB_SERVICE_RULES;
    return present([
        check(key("updatePolicy.parallelism"), p.parallelism, r.parallelism),
        check(key("updatePolicy.delaySeconds"), p.delaySeconds, r.delaySeconds),
        check(key("updatePolicy.order"), p.order, r.order),
        check(key("updatePolicy.monitorSeconds"), p.monitorSeconds, r.monitorSeconds),
    ]);
}

export function webServiceIssues(s: WebServiceSettings, key: KeyNames = ownKeys): Issue[] {
    const r = WEB_SERVICE_RULES;
    return [
        ...present([
            check(key("replicas"), s.replicas, r.replicas),
            check(key("version"), s.version, r.version),
            ...limitsIssues(key("resources"), s.resources),
            check(key("portRange.min"), s.portRange.min, r.port),
            check(key("portRange.max"), s.portRange.max, r.port),
            check(key("drainSeconds"), s.drainSeconds, r.drainSeconds),
            check(key("stopGraceSeconds"), s.stopGraceSeconds, r.stopGraceSeconds),
        ]),
        ...webServiceRelationIssues(s, key),
    ];
}
