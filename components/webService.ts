import * as pulumi from "@pulumi/pulumi";
import { BuiltImage, Platform, ResourceLimitsSpec } from "../platforms/types";
import { CONSUL_PORTS } from "../render/consul";
import { renderServiceDeployScript, renderServiceRemoveScript, WebServiceSpec } from "../render/webService";
import { ConsulCluster } from "./consulCluster";
import { SwarmCluster } from "./swarmCluster";
import { collectErrors, isWholeAtLeast, Problem } from "./validation";

/** The rolling-update policy: one task at a time, new before old, roll back on failure. */
export interface UpdatePolicy {
    /** Tasks replaced at once. Defaults to 1. */
    readonly parallelism?: number;
    /** Pause between tasks, seconds. Defaults to 2. */
    readonly delaySeconds?: number;
    /** "start-first" keeps capacity during the update. Defaults to "start-first". */
    readonly order?: "start-first" | "stop-first";
    /** How long a new task must stay healthy before the next one, seconds. Defaults to 5. */
    readonly monitorSeconds?: number;
}

export interface WebServiceArgs {
    /** Runs the deploy script. */
    readonly platform: Platform;
    /** Where the service runs; its nodes hold `image` before they count as ready. */
    readonly swarm: SwarmCluster;
    /** The app image (images/web, tagged with `version`), built by the platform. */
    readonly image: BuiltImage;
    /** Tasks register themselves in this cluster with their service's registration token. */
    readonly consul: ConsulCluster;
    /** Consul and Swarm service name. Defaults to "web". */
    readonly serviceName?: string;
    /** Tasks; ≥ 1. Defaults to 3. */
    readonly replicas?: number;
    /** Image version/tag; the app reports it on `/`. */
    readonly version: string;
    /** Limits of each task. Defaults to 0.25 CPU, 64 MiB. */
    readonly resources?: ResourceLimitsSpec;
    /** Tasks bind the first free port of this range on their node (host networking). Defaults to 20000–20099. */
    readonly portRange?: { readonly min: number; readonly max: number };
    /** Seconds a stopping task serves after leaving Consul. Defaults to 3. */
    readonly drainSeconds?: number;
    /** Swarm stop grace period, seconds; > drainSeconds. Defaults to 15. */
    readonly stopGraceSeconds?: number;
    readonly updatePolicy?: UpdatePolicy;
    /** Run tasks on workers only when there are any. Defaults to true. */
    readonly preferWorkers?: boolean;
}

export const WEB_HEALTH_PATH = "/health";
export const WEB_SERVICE_TYPE = "swarm-platform:web:Service";
/** The web app's Dockerfile (the build context is the repo root, cut down by its .dockerignore). */
export const WEB_DOCKERFILE = "images/web/Dockerfile";
/**
 * The Consul registration token reaches each task as a Swarm secret (a file under /run/secrets).
 * Swarm secrets are immutable: rotating the token means a new value and a bumped version.
 */
const TOKEN_SECRET = { name: "consul-registration-token", version: 1, target: "consul-registration-token" } as const;

/**
 * Docker's health check of each task. It gates rolling updates (start-first waits for "healthy")
 * and makes Swarm replace a hung task; it routes no traffic (HAProxy's checks take a failing task
 * out within a second, Consul's within ~3 s). So it says "healthy" quickly — every 2 s, so a new task
 * counts as started within seconds — but condemns slowly: 3 failures in a row, each allowed 5 s.
 * With 2 s × 2 the swarm system test measured the opposite of HA: a node busy loading the next
 * version's image slowed every task's check at once, Swarm replaced all tasks together and 132–238
 * requests failed in a 3.4–5.7 s gap before the update had even started.
 */
const TASK_HEALTHCHECK = { intervalSeconds: 2, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 } as const;

/**
 * The web service: a Swarm service of the project's own app (`app/`), rolled one task at a time
 * (start-first, rollback on failure). Tasks use host networking — no routing mesh or IPVS needed —
 * bind a free port in a fixed range and register themselves with their node's Consul agent, so the
 * LB pair finds every task; on SIGTERM a task fails its health check, leaves Consul, drains, exits.
 */
export class WebService extends pulumi.ComponentResource {
    readonly serviceName: string;
    readonly imageRef: pulumi.Output<string>;
    readonly replicas: number;
    /** The declared task spec and update policy, as deployed. */
    readonly spec: pulumi.Output<WebServiceSpec>;

    constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(WEB_SERVICE_TYPE, name, {}, opts);
        this.serviceName = args.serviceName ?? "web";
        this.replicas = args.replicas ?? 3;
        const resources = args.resources ?? { cpus: 0.25, memoryMb: 64 };
        const portRange = args.portRange ?? { min: 20000, max: 20099 };
        const drainSeconds = args.drainSeconds ?? 3;
        const stopGraceSeconds = args.stopGraceSeconds ?? 15;
        const update = {
            parallelism: args.updatePolicy?.parallelism ?? 1,
            delaySeconds: args.updatePolicy?.delaySeconds ?? 2,
            order: args.updatePolicy?.order ?? "start-first",
            monitorSeconds: args.updatePolicy?.monitorSeconds ?? 5,
        };
        const graceProblem: Problem =
            stopGraceSeconds > drainSeconds
                ? undefined
                : { propertyPath: "stopGraceSeconds", reason: `must exceed drainSeconds (${drainSeconds})` };
        const tokenProblem: Problem =
            args.consul.serviceTokens[this.serviceName] === undefined
                ? {
                      propertyPath: "consul",
                      reason: `the Consul cluster issues no registration token for "${this.serviceName}" (registeringServices)`,
                  }
                : undefined;
        collectErrors("WebService", [
            isWholeAtLeast("replicas", this.replicas, 1),
            args.version.length > 0 ? undefined : { propertyPath: "version", reason: "must not be empty" },
            portRange.max - portRange.min + 1 > this.replicas
                ? undefined
                : { propertyPath: "portRange", reason: `must hold more than replicas (${this.replicas}) ports` },
            graceProblem,
            tokenProblem,
        ]);

        const image = args.image;
        this.imageRef = image.ref;
        const onWorkers = (args.preferWorkers ?? true) && args.swarm.workers.length > 0;

        this.spec = image.ref.apply(
            (imageRef): WebServiceSpec => ({
                name: this.serviceName,
                image: imageRef,
                replicas: this.replicas,
                env: {
                    APP_VERSION: args.version,
                    PORT_MIN: String(portRange.min),
                    PORT_MAX: String(portRange.max),
                    DRAIN_SECONDS: String(drainSeconds),
                    // The app's own hard stop comes just before Swarm's SIGKILL.
                    SHUTDOWN_TIMEOUT_SECONDS: String(stopGraceSeconds - 1),
                    SERVICE_NAME: this.serviceName,
                    CONSUL_HTTP_ADDR: `http://127.0.0.1:${CONSUL_PORTS.http}`,
                    CONSUL_HTTP_TOKEN_FILE: `/run/secrets/${TOKEN_SECRET.target}`,
                    // healthcheck.js gives up a second before Docker would kill it, so the reason it prints is kept.
                    HEALTHCHECK_TIMEOUT_SECONDS: String(TASK_HEALTHCHECK.timeoutSeconds - 1),
                },
                cpuLimit: resources.cpus,
                memoryLimitMiB: resources.memoryMb,
                healthcheck: { cmd: ["node", "/app/healthcheck.js"], ...TASK_HEALTHCHECK },
                updatePolicy: { ...update, failureAction: "rollback", maxFailureRatio: 0 },
                rollbackPolicy: {
                    parallelism: 1,
                    delaySeconds: 0,
                    order: "start-first",
                    failureAction: "pause",
                    monitorSeconds: update.monitorSeconds,
                    maxFailureRatio: 0,
                },
                stopGracePeriodSeconds: stopGraceSeconds,
                stopSignal: "SIGTERM",
                network: "host",
                placementConstraints: onWorkers ? ["node.role==worker"] : [],
                // Readable by the app's user only (images/web runs as uid 10001).
                secrets: [{ ...TOKEN_SECRET, uid: "10001", gid: "10001", mode: 0o400 }],
                labels: { "swarm-platform.version": args.version },
                resolveImage: image.inRegistry,
                registryAuth: image.inRegistry,
            }),
        );

        const token = args.consul.serviceTokens[this.serviceName];
        // Cluster-wide, on any manager: a new spec re-runs the deploy script in place (a rolling
        // `docker service update`), a replaced manager never touches it, and its delete — removing the
        // service — runs only when the service leaves the program (`pulumi destroy`).
        args.platform.runClusterScript(
            `${name}-deploy`,
            {
                nodes: args.swarm.managers,
                script: pulumi
                    .all([this.spec, token])
                    .apply(([spec, secretValue]) => renderServiceDeployScript(spec, { [TOKEN_SECRET.name]: secretValue })),
                deleteScript: renderServiceRemoveScript(this.serviceName),
                reapplyOn: [args.swarm.identity],
                dependsOn: [...args.swarm.ready, image.resource],
            },
            this,
        );

        this.registerOutputs({ serviceName: this.serviceName, imageRef: this.imageRef, replicas: this.replicas, spec: this.spec });
    }
}
