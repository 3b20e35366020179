import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { IngressListener, NodeFile, Platform, PlatformNode, ScriptRun } from "../platforms/types";
import {
    AclToken,
    BASE_ACL_POLICIES,
    CONSUL_PORTS,
    renderAclBootstrapScript,
    renderConsulClientConfig,
    renderConsulServerConfig,
    renderConsulServerReadyScript,
    serviceRegistrationPolicy,
} from "../render/consul";
import { CONSUL_CLUSTER_DEFAULTS, consulClusterIssues, MAX_QUORUM, ResourceLimits } from "./contracts";
import { collectErrors } from "./validation";

export interface ConsulClusterArgs {
    /** Makes the nodes. */
    readonly platform: Platform;
    /** Consul servers; must be odd, 1–7. Defaults to 3. */
    readonly servers?: number;
    /** Datacenter name. Defaults to "dc1". */
    readonly datacenter?: string;
    /** Limits of each server. Defaults to 0.5 CPU, 256 MiB. */
    readonly resources?: ResourceLimits;
    /** Limits of each client agent placed beside other nodes. Defaults to 0.25 CPU, 128 MiB. */
    readonly agentResources?: ResourceLimits;
    /** Services whose tasks register themselves; each gets a write token for its own name. Defaults to []. */
    readonly registeringServices?: readonly string[];
}

/** Options for a client agent beside a node. */
export interface ConsulAgentOptions {
    /** Give anonymous requests (DNS lookups) read access to the catalog. Defaults to false. */
    readonly catalogReadByDefault?: boolean;
}

const CONFIG_DIR = "/consul/config";
// Config files hold the gossip key and ACL tokens: readable by the agent's user alone. The agent
// runs as its image's `consul` user (the official image's docker-entrypoint.sh drops to it with
// su-exec; images/consul-agent/consul-agent-supervise with setpriv): the platform makes that user
// the files' owner (NodeFile.owner).
const CONFIG_MODE = "0600";
const CONFIG_OWNER = "consul";

/**
 * A Consul server cluster: N servers (odd) with gossip encryption, ACLs default-deny, and the
 * platform's ACL policies and tokens created once a leader exists. Other components place client
 * agents beside their nodes with `agentFor()`.
 */
export class ConsulCluster extends pulumi.ComponentResource {
    readonly servers: PlatformNode[];
    readonly serverNames: string[];
    /** What a client agent's retry_join holds. */
    readonly retryJoin: string[];
    /** Gossip key; secret. */
    readonly gossipKey: pulumi.Output<string>;
    /** Initial management token; secret. */
    readonly managementToken: pulumi.Output<string>;
    /** Token of every agent (node write); secret. */
    readonly agentToken: pulumi.Output<string>;
    /** Token for catalog reads (DNS) on the LB nodes; secret. */
    readonly dnsToken: pulumi.Output<string>;
    /** Registration token per registering service; secret. */
    readonly serviceTokens: Record<string, pulumi.Output<string>>;
    /** Done once the ACL policies and tokens exist: agents that need them depend on it. */
    readonly aclBootstrap: ScriptRun;
    /** Per server: done once it is a voter of the Raft quorum (the rolling-replacement gate). */
    readonly serverGates: ScriptRun[];
    /** The UI/API, for the platform's ingress. */
    readonly uiListener: IngressListener<"consul-ui">;

    private readonly datacenter: string;
    private readonly agentResources: ResourceLimits;

    constructor(name: string, args: ConsulClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:consul:Cluster", name, {}, opts);
        const defaults = CONSUL_CLUSTER_DEFAULTS;
        const servers = args.servers ?? defaults.servers;
        this.datacenter = args.datacenter ?? defaults.datacenter;
        const resources = args.resources ?? defaults.resources;
        this.agentResources = args.agentResources ?? defaults.agentResources;
        collectErrors("ConsulCluster", [
            ...consulClusterIssues({ servers, datacenter: this.datacenter, resources, agentResources: this.agentResources }),
        ]);
        const child = { parent: this };

        // Secrets: generated here, secret in state and in every input they reach (RandomBytes marks
        // its base64 and hex outputs secret itself; a UUID's result is not secret unless asked).
        const gossip = new random.RandomBytes(`${name}-gossip-key`, { length: 32 }, child);
        this.gossipKey = pulumi.secret(gossip.base64);
        const token = (tokenName: string) => {
            const secret = new random.RandomUuid(`${name}-${tokenName}-token`, {}, { ...child, additionalSecretOutputs: ["result"] });
            const accessor = new random.RandomUuid(`${name}-${tokenName}-accessor`, {}, child);
            return { secret: pulumi.secret(secret.result), accessor: accessor.result };
        };
        const management = token("management");
        const agent = token("agent");
        const dns = token("dns");
        const serviceTokens = (args.registeringServices ?? []).map((service) => ({ service, ...token(`${service}-register`) }));
        this.managementToken = management.secret;
        this.agentToken = agent.secret;
        this.dnsToken = dns.secret;
        this.serviceTokens = Object.fromEntries(serviceTokens.map((t) => [t.service, t.secret]));

        this.serverNames = Array.from({ length: servers }, (_, i) => `${name}-server-${i}`);
        const addresses = this.serverNames.map((_, i) => args.platform.nodeAddress("consul-server", i));
        this.retryJoin = args.platform.consulRetryJoin(servers);

        // Servers are created in a rolling chain: each waits until the previous one is a voter of the
        // Raft quorum again (its ready gate). A server-level change (config, image, limits) replaces
        // containers delete-first, so the chain makes the engine take ONE server away at a time; a
        // server leaves the peer set on SIGTERM (leave_on_terminate) before its container goes.
        this.servers = [];
        this.serverGates = [];
        this.serverNames.forEach((nodeName, i) => {
            const config = pulumi
                .all([this.gossipKey, this.managementToken, this.agentToken])
                .apply(([encryptKey, managementToken, agentToken]) =>
                    renderConsulServerConfig({
                        nodeName,
                        datacenter: this.datacenter,
                        advertiseAddr: addresses[i],
                        retryJoin: this.retryJoin,
                        encryptKey,
                        agentToken,
                        managementToken,
                        bootstrapExpect: servers,
                    }),
                );
            const previous = this.serverGates[i - 1];
            const server = args.platform.createNode(
                {
                    role: "consul-server",
                    name: nodeName,
                    index: i,
                    files: [{ path: `${CONFIG_DIR}/server.json`, content: config, mode: CONFIG_MODE, owner: CONFIG_OWNER }],
                    resources,
                    dependsOn: previous === undefined ? [] : [previous.resource],
                },
                this,
            );
            this.servers.push(server);
            this.serverGates.push(
                args.platform.runScript(
                    `${nodeName}-ready`,
                    {
                        node: server,
                        script: this.managementToken.apply((token) =>
                            renderConsulServerReadyScript({ nodeName, bootstrapExpect: servers, token }),
                        ),
                    },
                    this,
                ),
            );
        });

        const tokens = pulumi
            .all([
                agent.accessor,
                agent.secret,
                dns.accessor,
                dns.secret,
                pulumi.all(serviceTokens.map((t) => pulumi.all([t.accessor, t.secret]))),
            ])
            .apply(([agentAccessor, agentSecret, dnsAccessor, dnsSecret, services]): AclToken[] => [
                { description: "agents", accessorId: agentAccessor, secretId: agentSecret, policy: "agent" },
                { description: "lb dns", accessorId: dnsAccessor, secretId: dnsSecret, policy: "dns-read" },
                ...services.map(([accessorId, secretId], i) => ({
                    description: `${serviceTokens[i].service} registration`,
                    accessorId,
                    secretId,
                    policy: `${serviceTokens[i].service}-register`,
                })),
            ]);
        const policies = [...BASE_ACL_POLICIES, ...serviceTokens.map((t) => serviceRegistrationPolicy(t.service))];
        this.aclBootstrap = args.platform.runClusterScript(
            `${name}-acl-bootstrap`,
            {
                nodes: this.servers,
                script: pulumi
                    .all([this.managementToken, tokens])
                    .apply(([managementToken, aclTokens]) =>
                        renderAclBootstrapScript({ managementToken, policies, tokens: aclTokens, leaderTimeoutSeconds: 120 }),
                    ),
                // Servers created anew (fresh data: `up --refresh` after the containers were lost) need
                // the ACLs again; the script is idempotent, so a rolling replacement just re-checks them.
                reapplyOn: this.servers.map((s) => s.instanceId),
                // Once every server is up: bootstrap_expect holds the election until then.
                dependsOn: this.serverGates.map((g) => g.resource),
            },
            this,
        );

        const serversAddress = args.platform.roleAddress("consul-server");
        this.uiListener = {
            name: "consul-ui",
            port: CONSUL_PORTS.http,
            // Through the servers' shared name where the platform has one: the ingress then does not
            // change (nor restart) when the server count does.
            upstreams:
                serversAddress === undefined
                    ? this.servers.map((s) => ({ name: s.name, address: s.address, port: CONSUL_PORTS.http }))
                    : [{ name: `${name}-server`, address: serversAddress, port: CONSUL_PORTS.http, maxServers: MAX_QUORUM }],
            check: true,
        };

        this.registerOutputs({
            serverNames: this.serverNames,
            gossipKey: this.gossipKey,
            managementToken: this.managementToken,
        });
    }

    /** The Consul client agent to run beside a node of another component. */
    agentFor(nodeName: string, address: string, options: ConsulAgentOptions = {}): { files: NodeFile[]; resources: ResourceLimits } {
        const config = pulumi.all([this.gossipKey, this.agentToken, this.dnsToken]).apply(([encryptKey, agentToken, dnsToken]) =>
            renderConsulClientConfig({
                nodeName,
                datacenter: this.datacenter,
                advertiseAddr: address,
                retryJoin: this.retryJoin,
                encryptKey,
                agentToken,
                defaultToken: options.catalogReadByDefault ? dnsToken : undefined,
            }),
        );
        return {
            files: [{ path: `${CONFIG_DIR}/client.json`, content: config, mode: CONFIG_MODE, owner: CONFIG_OWNER }],
            resources: this.agentResources,
        };
    }
}
