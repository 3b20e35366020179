import * as pulumi from "@pulumi/pulumi";
import { BuiltImage, NodeRole, Platform, PlatformNode, ScriptRun } from "../platforms/types";
import {
    parseSwarmInitOutput,
    renderDockerDaemonConfig,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmJoinTokenRotateScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
    SwarmRole,
} from "../render/swarm";
import { ConsulCluster } from "./consulCluster";
import { ResourceLimits, SWARM_CLUSTER_DEFAULTS, swarmClusterIssues } from "./contracts";
import { collectErrors } from "./validation";
import { METRICS_PORTS, SWARM_NODE_METRICS_ENDPOINTS } from "../render/prometheus";

export interface SwarmClusterArgs {
    /** Makes the nodes. */
    readonly platform: Platform;
    /** Swarm managers; must be odd, 1–7. Defaults to 3. */
    readonly managers?: number;
    /** Swarm workers; ≥ 0. Defaults to 2. */
    readonly workers?: number;
    /** The nodes' subnet: the inner engines' address pools must not overlap it. */
    readonly subnet: string;
    /** Limits of each node. Defaults to 1 CPU, 1024 MiB. */
    readonly nodeResources?: ResourceLimits;
    /** Every node gets a Consul client agent of this cluster beside it. */
    readonly consul: ConsulCluster;
    /**
     * Images the swarm's services run: each node holds them before it counts as ready, so a node that
     * rejoins (replaced) never gets a task it cannot start. Defaults to none.
     */
    readonly images?: readonly BuiltImage[];
    /**
     * Generation of the join tokens: 0 keeps the tokens the swarm was created with; each increase
     * rotates the worker and manager tokens once, in place (no node is touched). Defaults to 0.
     */
    readonly joinTokenRotation?: number;
}

/** A promise kept later in the constructor: lets a node depend on a script declared after it. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
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
    /** Done once every node has joined and holds every image. */
    readonly ready: pulumi.Resource[];
    /** The manager that initialised the swarm. */
    readonly leader: PlatformNode;
    /** The swarm's cluster ID, from the first manager's script output: a swarm created anew changes it. */
    readonly identity: pulumi.Output<string>;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:swarm:Cluster", name, {}, opts);
        const defaults = SWARM_CLUSTER_DEFAULTS;
        const managers = args.managers ?? defaults.managers;
        const workers = args.workers ?? defaults.workers;
        const resources = args.nodeResources ?? defaults.nodeResources;
        const joinTokenRotation = args.joinTokenRotation ?? defaults.joinTokenRotation;
        collectErrors("SwarmCluster", [...swarmClusterIssues({ managers, workers, nodeResources: resources, joinTokenRotation })]);
        // Each engine serves its metrics on its node's address (Prometheus finds it as the node's
        // metrics-docker service in Consul).
        const daemonConfig = (address: string) =>
            renderDockerDaemonConfig({ outerSubnet: args.subnet, metricsAddress: `${address}:${METRICS_PORTS.docker}` });

        // Nodes are created in a rolling chain: each node waits until the previous node of its group
        // is a healthy member again (its join script ends only then). A node-level change (image,
        // limits, config) replaces containers delete-first, so the chain is what makes the engine take
        // ONE manager (and one worker) away at a time, and only after the previous one is back. The
        // nodes are declared first (scripts need the full list of managers), each depending on a
        // promise of the previous member's script, which is kept once that script is declared.
        const chain = (count: number) => Array.from({ length: count }, () => deferred<pulumi.Resource>());
        const managerMembership = chain(managers);
        const workerMembership = chain(workers);
        const node = (role: NodeRole, nodeName: string, index: number, previousMember: Promise<pulumi.Resource> | undefined) =>
            args.platform.createNode(
                {
                    role,
                    name: nodeName,
                    index,
                    files: [
                        { path: "/etc/docker/daemon.json", content: daemonConfig(args.platform.nodeAddress(role, index)), mode: "0644" },
                    ],
                    resources,
                    consulAgent: args.consul.agentFor(nodeName, args.platform.nodeAddress(role, index), {
                        metrics: SWARM_NODE_METRICS_ENDPOINTS,
                    }),
                    // Agents need their ACL token to exist before they sync the catalog.
                    dependsOn: [args.consul.aclBootstrap.resource, ...(previousMember === undefined ? [] : [previousMember])],
                },
                this,
            );
        this.managers = managerMembership.map((_, i) =>
            node("swarm-manager", `${name}-manager-${i}`, i, managerMembership[i - 1]?.promise),
        );
        this.workers = workerMembership.map((_, i) => node("swarm-worker", `${name}-worker-${i}`, i, workerMembership[i - 1]?.promise));
        this.leader = this.managers[0];

        // Before a node goes (scale-down or replacement) its tasks drain from a manager, then it
        // leaves (a manager demotes itself first), then a manager removes its entry.
        const leaving = (role: SwarmRole, nodeName: string) => ({
            drain: { nodes: this.managers, script: renderSwarmNodeDrainScript({ nodeName }) },
            deleteScript: renderSwarmLeaveScript({ role, nodeName }),
            cleanup: { nodes: this.managers, script: renderSwarmNodeRemoveScript({ nodeName }) },
        });
        const otherManagers = (self: PlatformNode) => this.managers.filter((m) => m !== self);
        const token = (role: SwarmRole, self: PlatformNode, optional = false) => ({
            [JOIN_TOKEN_ENV]: { nodes: otherManagers(self), command: `docker swarm join-token -q ${role}`, optional },
        });

        // The first manager initialises the swarm — or, when it is replaced later and another manager
        // hands out a token, joins the existing swarm instead of starting a second one.
        const leader = this.leader;
        const others = otherManagers(leader).map((m) => m.address);
        const init = args.platform.runScript(
            `${name}-init`,
            {
                node: leader,
                script: renderSwarmInitScript({
                    nodeName: leader.name,
                    advertiseAddr: leader.address,
                    outerSubnet: args.subnet,
                    joinExisting: others.length > 0 ? { managerAddrs: others, tokenEnv: JOIN_TOKEN_ENV } : undefined,
                }),
                secretEnv: others.length > 0 ? token("manager", leader, true) : undefined,
                ...leaving("manager", leader.name),
            },
            this,
        );

        const join = (joining: PlatformNode, role: SwarmRole, after: pulumi.Resource): ScriptRun =>
            args.platform.runScript(
                `${joining.name}-join`,
                {
                    node: joining,
                    script: renderSwarmJoinScript({
                        role,
                        nodeName: joining.name,
                        advertiseAddr: joining.address,
                        managerAddrs: otherManagers(joining).map((m) => m.address),
                        tokenEnv: JOIN_TOKEN_ENV,
                    }),
                    secretEnv: token(role, joining),
                    ...leaving(role, joining.name),
                    dependsOn: [after],
                },
                this,
            );
        // A node is ready once it is a member AND holds every image (loaded one node at a time: a load
        // unpacks the image on the CPU the node's tasks share). The next node of its group waits for that.
        const loads: pulumi.Resource[] = [];
        const holdImages = (node: PlatformNode, membership: ScriptRun): pulumi.Resource => {
            let last: pulumi.Resource = membership.resource;
            for (const image of args.images ?? []) {
                const previous = loads.length > 0 ? [loads[loads.length - 1]] : [];
                const load = args.platform.loadImage(image, node, [membership.resource, ...previous], this);
                if (load === undefined) continue;
                loads.push(load);
                last = load;
            }
            return last;
        };
        managerMembership[0].resolve(holdImages(leader, init));

        // Managers one at a time: each join is a Raft membership change and must settle first.
        const managerJoins: ScriptRun[] = [];
        this.managers.slice(1).forEach((manager, k) => {
            const run = join(manager, "manager", (managerJoins[k - 1] ?? init).resource);
            managerJoins.push(run);
            managerMembership[k + 1].resolve(holdImages(manager, run));
        });
        const workerJoins = this.workers.map((worker, i) => {
            const run = join(worker, "worker", init.resource);
            workerMembership[i].resolve(holdImages(worker, run));
            return run;
        });
        this.ready = [...[init, ...managerJoins, ...workerJoins].map((r) => r.resource), ...loads];

        // Join-token rotation is cluster-wide work, not node-bound: a generation change re-runs it in
        // place (an update), no node is replaced and no membership script re-runs. Joins read the
        // token from a live manager when they run, so a node that joins after it gets the new token.
        // Generation 0 declares nothing: a stack that never rotates keeps its graph as it was.
        if (joinTokenRotation > 0) {
            args.platform.runClusterScript(
                `${name}-rotate-join-tokens`,
                {
                    nodes: this.managers,
                    script: renderSwarmJoinTokenRotateScript({ generation: joinTokenRotation }),
                    dependsOn: this.ready,
                },
                this,
            );
        }
        // Platforms that return no script output (SSM) give "": their swarm outlives the state.
        this.identity = init.stdout.apply((out) => (out.trim() === "" ? "" : parseSwarmInitOutput(out).clusterId));

        this.registerOutputs({
            managerNames: this.managers.map((m) => m.name),
            workerNames: this.workers.map((w) => w.name),
        });
    }
}
