import * as pulumi from "@pulumi/pulumi";
import { BuiltImage, Platform } from "../platforms/types";
import { CONSUL_PORTS } from "../render/consul";
import { renderServiceDeployScript, renderServiceRemoveScript, WebServiceSpec } from "../render/webService";
import { ConsulCluster } from "./consulCluster";
import { SwarmCluster } from "./swarmCluster";
import { ResourceLimits, TASK_HEALTHCHECK, updatePolicyIssues, WEB_SERVICE_DEFAULTS, webServiceIssues } from "./contracts";
import { collectErrors } from "./validation";

/** The rolling-update policy: one task at a time, new before old, roll back on failure. */
export interface UpdatePolicy {
    /** Tasks replaced at once. Defaults to 1. */
    readonly parallelism?: number;
    /** Pause between tasks, seconds. Defaults to 2. */
    readonly delaySeconds?: number;
    /** "start-first" keeps capacity during the update. Defaults to "start-first". */
    readonly order?: "start-first" | "stop-first";
    /**
     * How long Swarm counts a new task's failure against the update, seconds. Defaults to 21: the
     * health check's slowest verdict (3 probes, each 2 s apart and allowed 5 s).
     */
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
    /** Limits of each task. Defaults to 0.25 CPU, 128 MiB. */
    readonly resources?: ResourceLimits;
    /** Tasks bind the first free port of this range on their node (host networking). Defaults to 20000–20099. */
    readonly portRange?: { readonly min: number; readonly max: number };
    /** Seconds a stopping task serves after leaving Consul. Defaults to 3. */
    readonly drainSeconds?: number;
    /** Swarm stop grace period, seconds; ≥ drainSeconds + 2. Defaults to 15. */
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
        const defaults = WEB_SERVICE_DEFAULTS;
        this.serviceName = args.serviceName ?? defaults.serviceName;
        this.replicas = args.replicas ?? defaults.replicas;
        const resources = args.resources ?? defaults.resources;
        const portRange = args.portRange ?? defaults.portRange;
        const drainSeconds = args.drainSeconds ?? defaults.drainSeconds;
        const stopGraceSeconds = args.stopGraceSeconds ?? defaults.stopGraceSeconds;
        const update = {
            parallelism: args.updatePolicy?.parallelism ?? defaults.updatePolicy.parallelism,
            delaySeconds: args.updatePolicy?.delaySeconds ?? defaults.updatePolicy.delaySeconds,
            order: args.updatePolicy?.order ?? defaults.updatePolicy.order,
            monitorSeconds: args.updatePolicy?.monitorSeconds ?? defaults.updatePolicy.monitorSeconds,
        };
        collectErrors("WebService", [
            ...webServiceIssues({ replicas: this.replicas, version: args.version, resources, portRange, drainSeconds, stopGraceSeconds }),
            ...updatePolicyIssues(update),
            args.consul.serviceTokens[this.serviceName] === undefined
                ? {
                      key: "consul",
                      value: this.serviceName,
                      rule: `the Consul cluster issues no registration token for "${this.serviceName}" (registeringServices)`,
                  }
                : undefined,
        ]);

        const image = args.image;
        this.imageRef = image.ref;
        const onWorkers = (args.preferWorkers ?? defaults.preferWorkers) && args.swarm.workers.length > 0;

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
                    // healthcheck.sh gives up a second before Docker would kill it, so the reason it prints is kept.
                    HEALTHCHECK_TIMEOUT_SECONDS: String(TASK_HEALTHCHECK.timeoutSeconds - 1),
                },
                cpuLimit: resources.cpus,
                memoryLimitMiB: resources.memoryMb,
                // bash, not node: Docker runs it every 2 s on the task's own CPU limit (app/healthcheck.sh's head).
                healthcheck: { cmd: ["bash", "/app/healthcheck.sh"], ...TASK_HEALTHCHECK },
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
