import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { IngressListener, Platform, PlatformNode, ScriptRun } from "../platforms/types";
import { CONSUL_PORTS } from "../render/consul";
import { renderHaproxyConfig } from "../render/haproxy";
import { checkHaproxyCommand, renderKeepalivedConfig, renderLbReadyScript } from "../render/keepalived";
import { LB_NODE_PATHS } from "../render/lbNode";
import { LB_METRICS_ENDPOINTS, METRICS_PORTS } from "../render/prometheus";
import { ConsulCluster } from "./consulCluster";
import { LOAD_BALANCER_PAIR_DEFAULTS, loadBalancerPairIssues, ResourceLimits } from "./contracts";
import { collectErrors } from "./validation";

/** The service the pair balances, as Consul knows it. */
export interface BalancedService {
    /** Consul service name; HAProxy resolves `_<name>._tcp.service.consul`. */
    readonly name: string;
    /** HTTP path that answers 200 while a task should get traffic. */
    readonly healthPath: string;
    /** Server slots HAProxy keeps for the service: at least its replicas plus the rolling-update surge. */
    readonly maxServers: number;
}

export interface LoadBalancerPairArgs {
    /** Makes the nodes. */
    readonly platform: Platform;
    /** The virtual IP the pair shares (VRRP). */
    readonly vip: string;
    /** VRRP version. Defaults to 3 (sub-second adverts). */
    readonly vrrpVersion?: 2 | 3;
    /** VRRP advert interval in seconds. Defaults to 0.1 with VRRPv3, 1 with VRRPv2. */
    readonly advertIntervalSeconds?: number;
    /** VRRP virtual router id, unique on the network. Defaults to 51. */
    readonly virtualRouterId?: number;
    /** Backends come from this cluster's catalog, through a Consul agent on each LB node. */
    readonly consul: ConsulCluster;
    readonly service: BalancedService;
    /** Port HAProxy serves the web service on. Defaults to 80. */
    readonly webPort?: number;
    /** Port of the (password-protected) stats page. Defaults to 8404. */
    readonly statsPort?: number;
    /** Limits of each LB node. Defaults to 0.5 CPU, 128 MiB. */
    readonly resources?: ResourceLimits;
    /**
     * Generation of the stats password: each change draws a new one, which reaches the nodes by their
     * rolling replacement (one at a time, the VIP stays up). Defaults to 0 (the first password).
     */
    readonly statsPasswordRotation?: number;
}

/**
 * keepalived runs tracked scripts at whole-second intervals only (2.2.7 refuses 0.5), so a dead
 * HAProxy is noticed after interval × fall; two failures keep a single slow probe under CPU
 * pressure from moving the VIP.
 */
const HAPROXY_CHECK = { intervalSeconds: 1, fall: 2, rise: 2 } as const;

/** Priorities: node 0 is preferred at first start; with nopreempt nobody takes the VIP back later. */
const PRIORITIES = [150, 100] as const;

/**
 * Two HAProxy nodes sharing a virtual IP through keepalived (VRRP, unicast peers, tracked HAProxy
 * check without weight so a dead HAProxy releases the VIP at once). Backends follow Consul's
 * catalog through DNS SRV discovery — no reload when tasks come and go.
 */
export class LoadBalancerPair extends pulumi.ComponentResource {
    readonly nodes: PlatformNode[];
    /** Per node: done once it serves (the rolling-replacement gate). */
    readonly readyGates: ScriptRun[];
    readonly vip: string;
    /** Stats page credentials; the password is secret. */
    readonly statsUser = "admin";
    readonly statsPassword: pulumi.Output<string>;
    /** Listeners for the platform's ingress: the web service and the stats page, on the VIP. */
    readonly webListener: IngressListener<"web">;
    readonly statsListener: IngressListener<"stats">;

    constructor(name: string, args: LoadBalancerPairArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:lb:Pair", name, {}, opts);
        const defaults = LOAD_BALANCER_PAIR_DEFAULTS;
        const vrrpVersion = args.vrrpVersion ?? defaults.vrrpVersion;
        const advertIntervalSeconds = args.advertIntervalSeconds ?? defaults.advertIntervalSeconds[vrrpVersion];
        const virtualRouterId = args.virtualRouterId ?? defaults.virtualRouterId;
        const webPort = args.webPort ?? defaults.webPort;
        const statsPort = args.statsPort ?? defaults.statsPort;
        const resources = args.resources ?? defaults.resources;
        const statsPasswordRotation = args.statsPasswordRotation ?? defaults.statsPasswordRotation;
        const addresses = [0, 1].map((i) => args.platform.nodeAddress("lb", i));
        collectErrors("LoadBalancerPair", [
            ...loadBalancerPairIssues({
                vip: args.vip,
                vrrpVersion,
                advertIntervalSeconds,
                virtualRouterId,
                webPort,
                statsPort,
                resources,
                addresses,
                maxServers: args.service.maxServers,
                statsPasswordRotation,
            }),
        ]);
        this.vip = args.vip;
        const child = { parent: this };

        // pulumi.secret: explicit, so every config rendered from them is secret whatever the provider marks.
        // Rotation: a RandomPassword keeps its result until an input changes; any change (here its
        // `keepers`) replaces it with a new random value (pulumi registry, random: "hold those values
        // steady until the inputs are changed"; RandomPassword `keepers`: "Arbitrary map of values
        // that, when changed, will trigger recreation of resource"). The new password changes every
        // LB node's haproxy.cfg, so the nodes roll one at a time (the chain below). Generation 0 sets
        // no keepers: stacks that never rotate keep their inputs, and their password, as they were.
        const statsPasswordInputs = {
            length: 24,
            special: false,
            ...(statsPasswordRotation > 0 ? { keepers: { rotation: String(statsPasswordRotation) } } : {}),
        };
        this.statsPassword = pulumi.secret(new random.RandomPassword(`${name}-stats-password`, statsPasswordInputs, child).result);
        // VRRPv2 PASS authentication carries at most 8 characters; VRRPv3 has no authentication.
        const vrrpPassword = pulumi.secret(new random.RandomPassword(`${name}-vrrp-password`, { length: 8, special: false }, child).result);

        const failover = args.platform.vipFailover(args.vip);
        // The pair is created as a rolling chain: node 1 waits until node 0 serves (its ready gate), so
        // a node-level change (config, image) replaces one node at a time and the VIP always has a
        // holder that serves; each node hands the VIP over on SIGTERM before its container goes.
        this.nodes = [];
        this.readyGates = [];
        addresses.forEach((address, i) => {
            const nodeName = `${name}-${i}`;
            const haproxyCfg = this.statsPassword.apply((statsPassword) =>
                renderHaproxyConfig({
                    nodeName,
                    webPort,
                    statsPort,
                    statsUser: this.statsUser,
                    statsPassword,
                    service: {
                        name: args.service.name,
                        domain: "consul",
                        maxServers: args.service.maxServers,
                        healthPath: args.service.healthPath,
                    },
                    dns: { address: "127.0.0.1", port: CONSUL_PORTS.dns },
                    runtimeSocket: LB_NODE_PATHS.runtimeSocket,
                    metrics: { port: METRICS_PORTS.lb, keepalivedLuaPath: LB_NODE_PATHS.keepalivedMetricsLua },
                }),
            );
            const keepalivedConf = vrrpPassword.apply((authPassword) =>
                renderKeepalivedConfig({
                    routerId: nodeName,
                    interface: args.platform.vipInterface,
                    virtualRouterId,
                    priority: PRIORITIES[i],
                    unicastSrcIp: address,
                    unicastPeers: addresses.filter((_, j) => j !== i),
                    virtualIp: args.vip,
                    virtualIpPrefix: args.platform.vipPrefixLength,
                    advertIntervalSeconds,
                    vrrpVersion,
                    authPassword: vrrpVersion === 2 ? authPassword : undefined,
                    healthCheck: { script: checkHaproxyCommand(webPort), ...HAPROXY_CHECK },
                    trackFile: { name: "haproxy_down", path: LB_NODE_PATHS.haproxyDownFile },
                    notifyScript: failover.notifyCommand,
                    stateHook: LB_NODE_PATHS.keepalivedStateHook,
                }),
            );
            const previous = this.readyGates[i - 1];
            const node = args.platform.createNode(
                {
                    role: "lb",
                    name: nodeName,
                    index: i,
                    files: [
                        { path: LB_NODE_PATHS.haproxyConfig, content: haproxyCfg, mode: "0600" },
                        { path: LB_NODE_PATHS.keepalivedConfig, content: keepalivedConf, mode: "0600" },
                        ...failover.files,
                    ],
                    resources,
                    // HAProxy resolves backends through this agent's DNS, which reads the catalog with the DNS token.
                    // It also announces the node's metrics endpoints (HAProxy's exporter, keepalived's state).
                    consulAgent: args.consul.agentFor(nodeName, address, { catalogReadByDefault: true, metrics: LB_METRICS_ENDPOINTS }),
                    dependsOn: [args.consul.aclBootstrap.resource, ...(previous === undefined ? [] : [previous.resource])],
                },
                this,
            );
            this.nodes.push(node);
            this.readyGates.push(
                args.platform.runScript(
                    `${nodeName}-ready`,
                    { node, script: renderLbReadyScript({ nodeName, peerAddress: addresses[1 - i], webPort }) },
                    this,
                ),
            );
        });

        this.webListener = {
            name: "web",
            port: webPort,
            upstreams: [{ name: "vip", address: args.vip, port: webPort }],
            check: false,
            public: true,
            activeActive: this.nodes.map((n) => ({ name: n.name, address: n.address, port: webPort })),
        };
        this.statsListener = {
            name: "stats",
            port: statsPort,
            upstreams: [{ name: "vip", address: args.vip, port: statsPort }],
            check: false,
        };

        this.registerOutputs({ vip: this.vip, nodeNames: this.nodes.map((n) => n.name), statsPassword: this.statsPassword });
    }
}
