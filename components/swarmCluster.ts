import * as pulumi from "@pulumi/pulumi";
import { NodeRole, Platform, PlatformNode, ResourceLimitsSpec, ScriptRun } from "../platforms/types";
import {
    renderDockerDaemonConfig,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeRemoveScript,
} from "../render/swarm";
import { ConsulCluster } from "./consulCluster";
import { collectErrors, isOddQuorum, isWholeAtLeast, sameLength } from "./validation";

export interface SwarmClusterArgs {
    /** Makes the nodes. */
    readonly platform: Platform;
    /** Swarm managers; must be odd, 1–7. Defaults to 3. */
    readonly managers?: number;
    /** Swarm workers; ≥ 0. Defaults to 2. */
    readonly workers?: number;
    /** One fixed private address per manager. */
    readonly managerAddresses: readonly string[];
    /** One fixed private address per worker. */
    readonly workerAddresses: readonly string[];
    /** The nodes' subnet: the inner engines' address pools must not overlap it. */
    readonly subnet: string;
    /** Limits of each node. Defaults to 1 CPU, 1024 MiB. */
    readonly nodeResources?: ResourceLimitsSpec;
    /** Every node gets a Consul client agent of this cluster beside it. */
    readonly consul: ConsulCluster;
}

/** The token a joining node needs, read from a manager's engine at join time. */
const JOIN_TOKEN_ENV = "SWARM_JOIN_TOKEN";

/**
 * A Docker Swarm: managers (odd) and workers, each with a Consul client agent beside it. Manager 0
 * initialises the swarm; every other node joins with a token read from a live manager at join time,
 * so join tokens never pass through Pulumi state, outputs or logs. Managers join one at a time
 * (one Raft membership change at a time); scale-down demotes and removes nodes cleanly.
 */
export class SwarmCluster extends pulumi.ComponentResource {
    readonly managers: PlatformNode[];
    readonly workers: PlatformNode[];
    /** Done once every node has joined. */
    readonly ready: pulumi.Resource[];
    /** The manager service deployments run on. */
    readonly leader: PlatformNode;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:swarm:Cluster", name, {}, opts);
        const managers = args.managers ?? 3;
        const workers = args.workers ?? 2;
        collectErrors("SwarmCluster", [
            isOddQuorum("managers", managers),
            isWholeAtLeast("workers", workers, 0),
            sameLength("managerAddresses", args.managerAddresses, managers, "manager"),
            sameLength("workerAddresses", args.workerAddresses, workers, "worker"),
        ]);
        const resources = args.nodeResources ?? { cpus: 1, memoryMb: 1024 };
        const daemonConfig = renderDockerDaemonConfig({ outerSubnet: args.subnet });

        const node = (role: NodeRole, nodeName: string, address: string): PlatformNode =>
            args.platform.createNode(
                {
                    role,
                    name: nodeName,
                    address,
                    files: [{ path: "/etc/docker/daemon.json", content: daemonConfig, mode: "0644" }],
                    resources,
                    consulAgent: args.consul.agentFor(nodeName, address),
                    // Agents need their ACL token to exist before they sync the catalog.
                    dependsOn: [args.consul.aclBootstrap.resource],
                },
                this,
            );
        this.managers = args.managerAddresses.map((a, i) => node("swarm-manager", `${name}-manager-${i}`, a));
        this.workers = args.workerAddresses.map((a, i) => node("swarm-worker", `${name}-worker-${i}`, a));
        this.leader = this.managers[0];

        const init = args.platform.runScript(
            `${name}-init`,
            {
                node: this.leader,
                script: renderSwarmInitScript({ nodeName: this.leader.name, advertiseAddr: this.leader.address, outerSubnet: args.subnet }),
            },
            this,
        );

        const join = (joining: PlatformNode, role: "manager" | "worker", after: pulumi.Resource): ScriptRun =>
            args.platform.runScript(
                `${joining.name}-join`,
                {
                    node: joining,
                    script: renderSwarmJoinScript({
                        role,
                        nodeName: joining.name,
                        advertiseAddr: joining.address,
                        managerAddrs: this.managers.filter((m) => m !== joining).map((m) => m.address),
                        tokenEnv: JOIN_TOKEN_ENV,
                    }),
                    secretEnv: {
                        [JOIN_TOKEN_ENV]: {
                            nodes: this.managers.filter((m) => m !== joining),
                            command: `docker swarm join-token -q ${role}`,
                        },
                    },
                    deleteScript: renderSwarmLeaveScript({ role, nodeName: joining.name }),
                    cleanup: { nodes: this.managers, script: renderSwarmNodeRemoveScript({ nodeName: joining.name }) },
                    dependsOn: [after],
                },
                this,
            );

        // Managers one at a time: each join is a Raft membership change and must settle first.
        const managerJoins: ScriptRun[] = [];
        let previous: pulumi.Resource = init.resource;
        for (const manager of this.managers.slice(1)) {
            const run = join(manager, "manager", previous);
            managerJoins.push(run);
            previous = run.resource;
        }
        const workerJoins = this.workers.map((w) => join(w, "worker", init.resource));
        this.ready = [init.resource, ...managerJoins.map((r) => r.resource), ...workerJoins.map((r) => r.resource)];

        this.registerOutputs({
            managerNames: this.managers.map((m) => m.name),
            workerNames: this.workers.map((w) => w.name),
        });
    }
}
