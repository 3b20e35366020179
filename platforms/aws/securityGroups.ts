// Security groups reference each other, never CIDRs — except the load balancer's listeners and operator SSH.
import * as aws from "@pulumi/aws";
import { CONSUL_PORTS } from "../../render/consul";
import { METRICS_PORTS } from "../../render/prometheus";
import { SWARM_PORTS } from "../../render/swarm";
import { assertNever, NodeRole } from "../types";
import { AwsContext, stackTags } from "./context";

export interface SecurityGroups extends Record<"alb" | "nodes" | "lb" | "consulServer" | "swarm" | "monitoring", aws.ec2.SecurityGroup> {
    /** The nodes' egress rule: a node boots only after it exists (its first boot installs packages). */
    readonly nodesEgress: aws.vpc.SecurityGroupEgressRule;
}

export function createSecurityGroups(ctx: AwsContext, vpc: aws.ec2.Vpc): SecurityGroups {
    const name = ctx.platformName;
    const tags = (resourceName: string) => stackTags(ctx.args, resourceName);
    const child = { parent: ctx.component };
    const group = (role: string, description: string) =>
        new aws.ec2.SecurityGroup(`${name}-${role}-sg`, { vpcId: vpc.id, description, tags: tags(`${role}-sg`) }, child);
    const sg = {
        alb: group("alb", "Internet-facing ALB: HTTPS, and HTTP redirected to it"),
        nodes: group("nodes", "Every node: Consul gossip between agents, egress"),
        lb: group("lb", "HAProxy pair: web traffic from the ALB only, VRRP between the pair"),
        consulServer: group("consul-server", "Consul servers: RPC and API from nodes"),
        swarm: group("swarm", "Swarm managers and workers"),
        monitoring: group("monitoring", "Prometheus node: scrapes the metrics endpoints of the nodes"),
    };
    const ingress = (
        ruleName: string,
        target: aws.ec2.SecurityGroup,
        rule: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">,
    ) => new aws.vpc.SecurityGroupIngressRule(`${name}-${ruleName}`, { securityGroupId: target.id, ...rule }, child);
    const from = (source: aws.ec2.SecurityGroup) => ({ referencedSecurityGroupId: source.id });
    const tcp = (port: number, to = port) => ({ ipProtocol: "tcp", fromPort: port, toPort: to });
    const udp = (port: number) => ({ ipProtocol: "udp", fromPort: port, toPort: port });

    // The ALB's listeners and the HAProxy port behind them: allowPublicListener, from the listener itself.
    ingress("lb-vrrp-from-lb", sg.lb, { ipProtocol: "112", ...from(sg.lb), description: "VRRP between the pair" });

    ingress("nodes-serf-tcp", sg.nodes, { ...tcp(CONSUL_PORTS.serfLan), ...from(sg.nodes), description: "Consul LAN gossip" });
    ingress("nodes-serf-udp", sg.nodes, { ...udp(CONSUL_PORTS.serfLan), ...from(sg.nodes), description: "Consul LAN gossip" });
    ingress("consul-rpc", sg.consulServer, { ...tcp(CONSUL_PORTS.serverRpc), ...from(sg.nodes), description: "Consul server RPC" });
    ingress("consul-http", sg.consulServer, {
        ...tcp(CONSUL_PORTS.http),
        ...from(sg.nodes),
        description: "Consul API/UI from nodes (operators: SSM port forwarding)",
    });
    // The API over TLS (consul.tls accept and later); in `enforce` the plain port above answers on loopback only.
    ingress("consul-https", sg.consulServer, {
        ...tcp(CONSUL_PORTS.https),
        ...from(sg.nodes),
        description: "Consul API/UI over mutual TLS from nodes (operators: SSM port forwarding)",
    });

    ingress("swarm-manage", sg.swarm, { ...tcp(SWARM_PORTS.management), ...from(sg.swarm), description: "Swarm cluster management" });
    ingress("swarm-gossip-tcp", sg.swarm, { ...tcp(SWARM_PORTS.gossip), ...from(sg.swarm), description: "Swarm node gossip" });
    ingress("swarm-gossip-udp", sg.swarm, { ...udp(SWARM_PORTS.gossip), ...from(sg.swarm), description: "Swarm node gossip" });
    ingress("swarm-vxlan", sg.swarm, { ...udp(SWARM_PORTS.overlay), ...from(sg.swarm), description: "Overlay network data path" });
    ingress("swarm-web-from-lb", sg.swarm, {
        ...tcp(ctx.args.webPorts.min, ctx.args.webPorts.max),
        ...from(sg.lb),
        description: "web tasks from HAProxy",
    });

    // Prometheus scrapes the LB nodes' metrics frontend and the swarm engines' metrics endpoint; the
    // Consul servers' API it reaches as a node (above).
    ingress("lb-metrics-from-monitoring", sg.lb, {
        ...tcp(METRICS_PORTS.lb),
        ...from(sg.monitoring),
        description: "HAProxy and keepalived metrics",
    });
    ingress("swarm-metrics-from-monitoring", sg.swarm, {
        ...tcp(METRICS_PORTS.docker),
        ...from(sg.monitoring),
        description: "Docker engine metrics",
    });
    // The web tasks' /metrics is on their own port, which the LB nodes already reach; Prometheus too.
    ingress("swarm-web-metrics-from-monitoring", sg.swarm, {
        ...tcp(ctx.args.webPorts.min, ctx.args.webPorts.max),
        ...from(sg.monitoring),
        description: "web tasks' metrics",
    });

    ctx.args.aws.operatorCidrs.forEach((cidr, i) =>
        ingress(`operator-ssh-${i}`, sg.nodes, { ...tcp(22), cidrIpv4: cidr, description: "operator SSH (aws.operatorCidrs)" }),
    );
    // Nodes reach the NAT (packages, images, AWS APIs) and each other.
    const nodesEgress = new aws.vpc.SecurityGroupEgressRule(
        `${name}-nodes-egress`,
        { securityGroupId: sg.nodes.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
        child,
    );
    return { ...sg, nodesEgress };
}

/**
 * The only ingress from the internet: the ALB's public ports (HTTPS, and HTTP that only redirects),
 * and the ALB on to the HAProxy nodes (the port they serve the listener on, health checks included).
 * An ALB's security group must admit its listener ports and allow egress to its targets on their
 * listener and health-check ports
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html).
 */
export function allowPublicListener(
    ctx: AwsContext,
    sg: SecurityGroups,
    listener: string,
    ports: readonly number[],
    targetPort: number,
): void {
    const name = ctx.platformName;
    const child = { parent: ctx.component };
    const tcp = (p: number) => ({ ipProtocol: "tcp", fromPort: p, toPort: p });
    for (const port of ports) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-alb-${listener}-${port}-from-internet`,
            { securityGroupId: sg.alb.id, ...tcp(port), cidrIpv4: "0.0.0.0/0", description: `${listener} listener on ${port}` },
            child,
        );
    }
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-alb-to-lb`,
        { securityGroupId: sg.alb.id, ...tcp(targetPort), referencedSecurityGroupId: sg.lb.id },
        child,
    );
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-lb-${listener}-from-alb`,
        {
            securityGroupId: sg.lb.id,
            ...tcp(targetPort),
            referencedSecurityGroupId: sg.alb.id,
            description: `${listener} traffic and health checks from the ALB`,
        },
        child,
    );
}

/** The groups a node of this role is in. */
export function securityGroupsFor(role: NodeRole, sg: SecurityGroups): aws.ec2.SecurityGroup[] {
    switch (role) {
        case "consul-server":
            return [sg.nodes, sg.consulServer];
        case "swarm-manager":
        case "swarm-worker":
            return [sg.nodes, sg.swarm];
        case "lb":
            return [sg.nodes, sg.lb];
        case "monitoring":
            return [sg.nodes, sg.monitoring];
        default:
            return assertNever(role);
    }
}
