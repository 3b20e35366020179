// The web service's public entry: an internet-facing NLB in the public subnets, health-checking
// both HAProxy nodes (active-active; the overlay VIP is for traffic inside the VPC).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LB_MONITOR_URI } from "../../render/haproxy";
import { Ingress, IngressListener, ListenerName } from "../types";
import { AwsContext } from "./context";
import { elbName } from "./names";
import { AwsNetwork } from "./network";
import { allowPublicListener, SecurityGroups } from "./securityGroups";

export function createIngress<L extends ListenerName>(
    ctx: AwsContext,
    network: AwsNetwork,
    securityGroups: SecurityGroups,
    name: string,
    listeners: readonly IngressListener<L>[],
): Ingress<L> {
    const published = listeners.filter((l) => l.public === true);
    // One public listener: the NLB's security group and its egress rule to the HAProxy nodes are the web's.
    if (published.length > 1) {
        throw new Error(`aws platform: the NLB publishes one listener, got ${published.map((l) => l.name).join(", ")}`);
    }
    const child = { parent: ctx.component };
    const urls = {} as Record<L, pulumi.Output<string>>;
    const resources: pulumi.Resource[] = [];
    const nlb = new aws.lb.LoadBalancer(
        `${ctx.platformName}-${name}-nlb`,
        {
            name: elbName(ctx.args.project, ctx.args.stack, name),
            loadBalancerType: "network",
            internal: false,
            subnets: network.publicSubnets.map((s) => s.id),
            securityGroups: [securityGroups.nlb.id],
            enableCrossZoneLoadBalancing: true,
        },
        child,
    );
    resources.push(nlb);
    for (const listener of listeners) {
        // Listeners not marked public stay internal (reach them through SSM port forwarding).
        if (listener.public !== true) {
            const first = listener.upstreams[0];
            urls[listener.name] = pulumi.output(`http://${first.address}:${first.port}`);
            continue;
        }
        // Active-active: the NLB health-checks both HAProxy nodes in two zones.
        const targets = listener.activeActive ?? listener.upstreams;
        const targetPort = targets[0].port;
        if (targets.some((t) => t.port !== targetPort)) {
            throw new Error(`aws platform: the targets of listener ${listener.name} serve on different ports`);
        }
        // The security groups open exactly these ports: the listener's to the internet, the targets' to the NLB.
        allowPublicListener(ctx, securityGroups, listener.name, listener.port, targetPort);
        const group = new aws.lb.TargetGroup(
            `${ctx.platformName}-${name}-${listener.name}-tg`,
            {
                port: targetPort,
                protocol: "TCP",
                targetType: "ip",
                vpcId: network.vpc.id,
                deregistrationDelay: 10,
                healthCheck: {
                    protocol: "HTTP",
                    path: LB_MONITOR_URI,
                    port: String(targetPort),
                    // AWS refuses a timeout that is not below the interval; unset, a TCP target group's
                    // timeout defaults to 10 s (API_CreateTargetGroup: HealthCheckTimeoutSeconds, range 2–120;
                    // HealthCheckIntervalSeconds 5–300). The check is HAProxy's local monitor: 3 s is ample.
                    interval: 5,
                    timeout: 3,
                    healthyThreshold: 2,
                    unhealthyThreshold: 2,
                },
            },
            child,
        );
        targets.forEach((t) =>
            resources.push(
                new aws.lb.TargetGroupAttachment(
                    `${ctx.platformName}-${name}-${listener.name}-${t.name}`,
                    { targetGroupArn: group.arn, targetId: t.address, port: t.port },
                    child,
                ),
            ),
        );
        resources.push(
            new aws.lb.Listener(
                `${ctx.platformName}-${name}-${listener.name}`,
                {
                    loadBalancerArn: nlb.arn,
                    port: listener.port,
                    protocol: "TCP",
                    defaultActions: [{ type: "forward", targetGroupArn: group.arn }],
                },
                child,
            ),
        );
        urls[listener.name] = pulumi.interpolate`http://${nlb.dnsName}${listener.port === 80 ? "" : `:${listener.port}`}`;
    }
    return { urls, resources };
}
