// The web service's public entry: an internet-facing Application Load Balancer in the public
// subnets that terminates TLS with an ACM certificate for `aws.domain`, redirects HTTP to HTTPS, and
// health-checks both HAProxy nodes (active-active; the overlay VIP is for traffic inside the VPC).
// Why an ALB and not the NLB this used to be: docs/decisions.md, "HTTPS at the ingress".
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LB_MONITOR_URI } from "../../render/haproxy";
import { DnsRecord, Ingress, IngressListener, ListenerName } from "../types";
import { AwsContext } from "./context";
import { AwsMonitoring, unhealthyTargetsAlarm } from "./monitoring";
import { elbName } from "./names";
import { AwsNetwork } from "./network";
import { allowPublicListener, SecurityGroups } from "./securityGroups";

/** The ports the public listener answers on: HTTPS, and HTTP only to redirect to it. */
export const PUBLIC_PORTS = { https: 443, http: 80 } as const;

/**
 * The HTTPS listener's security policy: TLS 1.3 and 1.2 only, forward-secret AEAD ciphers. Set
 * explicitly: unset, an HTTPS listener created through the API (as Pulumi does) gets
 * ELBSecurityPolicy-2016-08, which still accepts TLS 1.0 and CBC ciphers ("Other methods … the
 * default security policy is ELBSecurityPolicy-2016-08"; the policy table lists this one as
 * TLSv1.2 + TLSv1.3 only):
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export function createIngress<L extends ListenerName>(
    ctx: AwsContext,
    network: AwsNetwork,
    securityGroups: SecurityGroups,
    name: string,
    listeners: readonly IngressListener<L>[],
    monitoring: AwsMonitoring,
): Ingress<L> {
    const published = listeners.filter((l) => l.public === true);
    // One public listener: the certificate is for one name, and the ALB's security group and its egress
    // rule to the HAProxy nodes are the web's.
    if (published.length > 1) {
        throw new Error(`aws platform: the load balancer publishes one listener, got ${published.map((l) => l.name).join(", ")}`);
    }
    const { domain, route53ZoneId } = ctx.args.aws;
    const child = { parent: ctx.component };
    const urls = {} as Record<L, pulumi.Output<string>>;
    const resources: pulumi.Resource[] = [];
    let dnsRecords: pulumi.Output<DnsRecord[]> | undefined;
    for (const listener of listeners) {
        // Listeners not marked public stay internal (reach them through SSM port forwarding).
        if (listener.public !== true) {
            const first = listener.upstreams[0];
            // HTTPS where the upstream speaks it (the Consul API with TLS on: a client certificate too).
            urls[listener.name] = pulumi.output(
                `${listener.upstreamTls === undefined ? "http" : "https"}://${first.address}:${first.port}`,
            );
        }
    }
    for (const listener of published) {
        // Active-active: the ALB health-checks both HAProxy nodes in two zones.
        const targets = listener.activeActive ?? listener.upstreams;
        const targetPort = targets[0].port;
        if (targets.some((t) => t.port !== targetPort)) {
            throw new Error(`aws platform: the targets of listener ${listener.name} serve on different ports`);
        }
        // The security groups open exactly these ports: 443 and 80 to the internet, the targets' to the ALB.
        allowPublicListener(ctx, securityGroups, listener.name, [PUBLIC_PORTS.https, PUBLIC_PORTS.http], targetPort);
        // An ALB needs subnets in at least two Availability Zones (aws.zones is 2–6): "You must select
        // at least two Availability Zone subnets"
        // (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#subnets-load-balancer).
        const alb = new aws.lb.LoadBalancer(
            `${ctx.platformName}-${name}-alb`,
            {
                // Not the name the NLB had (elbName(project, stack, name), up to the ALB's arrival): a
                // stack made before moves to the ALB create-before-delete (a new logical name: the ALB,
                // its listeners and certificate are created, the NLB is deleted last),
                // and AWS refuses a second load balancer of the same name in the region and account
                // ("This name must be unique per region per account", elbv2 API_CreateLoadBalancer,
                // Name; DuplicateLoadBalancerName), so a shared name would fail that `pulumi up`.
                name: elbName(ctx.args.project, ctx.args.stack, `${name}-alb`),
                loadBalancerType: "application",
                internal: false,
                subnets: network.publicSubnets.map((s) => s.id),
                securityGroups: [securityGroups.alb.id],
                // Requests with header fields that are not valid HTTP are dropped, not passed to HAProxy
                // (routing.http.drop_invalid_header_fields.enabled, default false:
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes).
                dropInvalidHeaderFields: true,
            },
            child,
        );
        resources.push(alb);
        // An ALB target group speaks HTTP or HTTPS to its targets (TCP/TLS/UDP are the NLB's:
        // API_CreateTargetGroup, Protocol). HAProxy behind it serves plain HTTP inside the VPC.
        const group = new aws.lb.TargetGroup(
            `${ctx.platformName}-${name}-${listener.name}-tg`,
            {
                port: targetPort,
                protocol: "HTTP",
                targetType: "ip",
                vpcId: network.vpc.id,
                deregistrationDelay: 10,
                healthCheck: {
                    protocol: "HTTP",
                    path: LB_MONITOR_URI,
                    port: String(targetPort),
                    // AWS refuses a timeout that is not below the interval; unset, an HTTP target group's
                    // timeout defaults to 6 s (API_CreateTargetGroup: HealthCheckTimeoutSeconds, range 2–120;
                    // HealthCheckIntervalSeconds 5–300). The check is HAProxy's local monitor: 3 s is ample.
                    interval: 5,
                    timeout: 3,
                    healthyThreshold: 2,
                    unhealthyThreshold: 2,
                    matcher: "200",
                },
            },
            { ...child, dependsOn: listener.dependsOn },
        );
        // Its targets' health, alarmed (monitoring.ts): one alarm per target group.
        resources.push(
            unhealthyTargetsAlarm(
                ctx,
                monitoring,
                `${ctx.platformName}-${name}-${listener.name}-unhealthy-targets-alarm`,
                `${name}-${listener.name}-unhealthy-targets`,
                alb,
                group,
            ),
        );
        targets.forEach((t) =>
            resources.push(
                new aws.lb.TargetGroupAttachment(
                    `${ctx.platformName}-${name}-${listener.name}-${t.name}`,
                    { targetGroupArn: group.arn, targetId: t.address, port: t.port },
                    { ...child, dependsOn: listener.dependsOn },
                ),
            ),
        );

        // The certificate: ACM, DNS validation (renewed by ACM itself for as long as the record stays:
        // https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html). A changed domain
        // replaces it create-before-delete (Pulumi's default): the listener moves to the new one first.
        const certificate = new aws.acm.Certificate(
            `${ctx.platformName}-${name}-certificate`,
            { domainName: domain, validationMethod: "DNS" },
            child,
        );
        // One name, so one validation record (DomainValidationOptions: one per name on the certificate).
        const validationOption = certificate.domainValidationOptions.apply((options) => options[0]);
        const validationRecord = validationOption.apply(
            (o): DnsRecord => ({ name: o.resourceRecordName, type: o.resourceRecordType, value: o.resourceRecordValue }),
        );
        let validationFqdns: pulumi.Input<string>[] | undefined;
        if (route53ZoneId !== "") {
            const record = new aws.route53.Record(
                `${ctx.platformName}-${name}-certificate-validation`,
                {
                    zoneId: route53ZoneId,
                    name: validationOption.apply((o) => o.resourceRecordName),
                    type: validationOption.apply((o) => o.resourceRecordType),
                    records: [validationOption.apply((o) => o.resourceRecordValue)],
                    ttl: 300,
                    // A re-created certificate for the same name gets the same record: take it over.
                    allowOverwrite: true,
                },
                child,
            );
            validationFqdns = [record.fqdn];
            // The domain itself: an alias to the ALB (an alias A record answers with the ALB's current
            // addresses; https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html).
            resources.push(
                record,
                new aws.route53.Record(
                    `${ctx.platformName}-${name}-domain`,
                    {
                        zoneId: route53ZoneId,
                        name: domain,
                        type: "A",
                        aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
                    },
                    child,
                ),
            );
        } else {
            // No zone: the operator makes both records at their DNS provider (README: The prod stack).
            dnsRecords = pulumi
                .all([validationRecord, alb.dnsName])
                .apply(([validation, albName]): DnsRecord[] => [validation, { name: domain, type: "CNAME", value: albName }]);
        }
        // The HTTPS listener takes the certificate from the validation, so it is created only once ACM
        // has issued it: a listener with a certificate still pending validation is refused
        // (UnsupportedCertificate). The waiter polls ACM until ISSUED (the Terraform resource behind
        // aws.acm.CertificateValidation: create timeout 75 min, internal/service/acm/certificate_validation.go).
        const validation = new aws.acm.CertificateValidation(
            `${ctx.platformName}-${name}-certificate-validation`,
            { certificateArn: certificate.arn, validationRecordFqdns: validationFqdns },
            child,
        );
        resources.push(certificate, validation);
        resources.push(
            new aws.lb.Listener(
                `${ctx.platformName}-${name}-${listener.name}-https`,
                {
                    loadBalancerArn: alb.arn,
                    port: PUBLIC_PORTS.https,
                    protocol: "HTTPS",
                    sslPolicy: TLS_POLICY,
                    certificateArn: validation.certificateArn,
                    defaultActions: [{ type: "forward", targetGroupArn: group.arn }],
                },
                child,
            ),
            // HTTP only redirects (301, host, path and query kept): an L7 action of the ALB, no request
            // reaches HAProxy in plain text from the internet
            // (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html).
            new aws.lb.Listener(
                `${ctx.platformName}-${name}-${listener.name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    port: PUBLIC_PORTS.http,
                    protocol: "HTTP",
                    defaultActions: [
                        { type: "redirect", redirect: { protocol: "HTTPS", port: String(PUBLIC_PORTS.https), statusCode: "HTTP_301" } },
                    ],
                },
                child,
            ),
        );
        urls[listener.name] = pulumi.output(`https://${domain}`);
    }
    return { urls, resources, dnsRecords };
}
