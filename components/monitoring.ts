import * as pulumi from "@pulumi/pulumi";
import { IngressListener, Platform, PlatformNode, ScriptRun } from "../platforms/types";
import {
    AlertRulesInput,
    PROMETHEUS_PATHS,
    PROMETHEUS_PORT,
    renderPrometheusConfigScript,
    renderAlertRules,
    renderPrometheusConfig,
} from "../render/prometheus";
import { ConsulCluster } from "./consulCluster";
import { ResourceLimits } from "./contracts";

export interface MonitoringArgs {
    readonly platform: Platform;
    /** Where the targets are listed (the catalog) and the servers' metrics are read. */
    readonly consul: ConsulCluster;
    /** The stack's name: the `stack` label on every alert. */
    readonly stack: string;
    /** The quorum groups' sizes the alerting rules expect (the stack config's counts). */
    readonly expected: AlertRulesInput;
    /** Limits of the Prometheus node. Defaults to 1 CPU and 512 MB. */
    readonly resources?: ResourceLimits;
}

const DEFAULT_RESOURCES: ResourceLimits = { cpus: 1, memoryMb: 512 };

/**
 * The platform's Prometheus: one node with a Consul agent beside it, which finds every metrics
 * endpoint in the catalog (render/prometheus.ts), keeps a week of samples and evaluates the alerting
 * rules. Its UI and API are a listener of the platform's ingress (internal: the edge's loopback
 * address in dev, the node's private address in prod).
 */
export class Monitoring extends pulumi.ComponentResource {
    readonly node: PlatformNode;
    /** Prometheus's UI and HTTP API, for the platform's ingress. */
    readonly listener: IngressListener<"prometheus">;
    /** Done once Prometheus runs with this stack's config and rules. */
    readonly configured: ScriptRun;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:monitoring:Prometheus", name, {}, opts);
        const access = args.consul.scrapeAccess;
        const nodeName = `${name}-prometheus`;
        const address = args.platform.nodeAddress("monitoring", 0);
        // The node holds only its Consul agent's files: what Prometheus is told is written by the
        // config script below and reloaded in place, so a change of the stack's counts, of
        // consul.tls or of a certificate never replaces this node (its samples stay where they are).
        this.node = args.platform.createNode(
            {
                role: "monitoring",
                name: nodeName,
                index: 0,
                files: [],
                resources: args.resources ?? DEFAULT_RESOURCES,
                consulAgent: args.consul.agentFor(nodeName, address),
                // Its agent needs its ACL token to exist before it starts.
                dependsOn: [args.consul.aclBootstrap.resource],
            },
            this,
        );
        const tls = access.tls;
        const script = pulumi.all([access.token, tls?.caPem, tls?.certPem, tls?.keyPem]).apply(([token, caPem, certPem, keyPem]) =>
            renderPrometheusConfigScript([
                {
                    path: PROMETHEUS_PATHS.config,
                    content: renderPrometheusConfig({
                        stack: args.stack,
                        datacenter: args.consul.datacenter,
                        consulServersScheme: access.scheme,
                    }),
                    mode: "0644",
                },
                { path: PROMETHEUS_PATHS.rules, content: renderAlertRules(args.expected), mode: "0644" },
                { path: PROMETHEUS_PATHS.consulToken, content: `${token}\n`, mode: "0600", secret: true },
                ...(caPem === undefined || certPem === undefined || keyPem === undefined
                    ? []
                    : [
                          { path: PROMETHEUS_PATHS.consulCa, content: caPem, mode: "0644" },
                          { path: PROMETHEUS_PATHS.consulCert, content: certPem, mode: "0644" },
                          { path: PROMETHEUS_PATHS.consulKey, content: keyPem, mode: "0600", secret: true },
                      ]),
            ]),
        );
        this.configured = args.platform.runScript(`${nodeName}-config`, { node: this.node, script: pulumi.secret(script) }, this);
        this.listener = {
            name: "prometheus",
            port: PROMETHEUS_PORT,
            upstreams: [{ name: nodeName, address: this.node.address, port: PROMETHEUS_PORT }],
            check: true,
        };
        this.registerOutputs({ nodeName });
    }
}
