// The AWS ingress: an ALB that serves HTTPS with a DNS-validated ACM certificate for aws.domain and
// redirects HTTP to it; it opens exactly 443 and 80 to the internet and its targets' port from the
// ALB to the HAProxy nodes — derived from the listener, never a hard-coded 80 (the LB pair's web port
// is an argument). Built under Pulumi's mock runtime from the platform's own functions, without the
// rest of the platform.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsContext } from "../../platforms/aws/context";
import { testAwsContext } from "../harness/awsContext";
import { createIngress } from "../../platforms/aws/ingress";
import { createMonitoring } from "../../platforms/aws/monitoring";
import { AwsNetwork } from "../../platforms/aws/network";
import { elbName } from "../../platforms/aws/names";
import { createSecurityGroups } from "../../platforms/aws/securityGroups";
import { IngressListener, ListenerName } from "../../platforms/types";

const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];
pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            const validation =
                args.type === "aws:acm/certificate:Certificate"
                    ? {
                          domainValidationOptions: [
                              {
                                  domainName: args.inputs.domainName,
                                  resourceRecordName: `_abc.${args.inputs.domainName}.`,
                                  resourceRecordType: "CNAME",
                                  resourceRecordValue: "_def.acm-validations.aws.",
                              },
                          ],
                      }
                    : {};
            const fqdn = args.type === "aws:route53/record:Record" ? { fqdn: String(args.inputs.name).replace(/\.$/, "") } : {};
            return {
                id: `${args.name}-id`,
                state: {
                    ...args.inputs,
                    arn: `arn:${args.name}`,
                    arnSuffix: args.name,
                    dnsName: `${args.name}.elb.example`,
                    zoneId: "ZALB",
                    ...validation,
                    ...fqdn,
                },
            };
        },
        call: (args) => {
            throw new Error(`unexpected invoke ${args.token}`);
        },
    },
    "swarm-platform",
    "test",
    false,
);

const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

class Owner extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:index:Owner", name);
    }
}

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:platform-alarms";
let run = 0;
/** A fresh VPC, security groups and ingress for these listeners; the SG rules and NLB parts it made. */
function ingress(listeners: readonly IngressListener[], route53ZoneId = "") {
    run++;
    const ctx: AwsContext = testAwsContext(new Owner(`owner-${run}`), `aws${run}`, {
        route53ZoneId,
        monitoring: { alarmTopicArn: TOPIC, logRetentionDays: 30 },
    });
    const vpc = new aws.ec2.Vpc(`vpc-${run}`, { cidrBlock: "10.20.0.0/16" });
    const network: AwsNetwork = {
        vpc,
        publicSubnets: [new aws.ec2.Subnet(`public-${run}`, { vpcId: vpc.id, cidrBlock: "10.20.0.0/20" })],
        privateSubnets: [],
        routeTables: [],
        egress: [],
    };
    const before = registered.length;
    const groups = createSecurityGroups(ctx, vpc);
    const result = createIngress(
        ctx,
        network,
        groups,
        "edge",
        listeners as readonly IngressListener<ListenerName>[],
        createMonitoring(ctx),
    );
    const made = () => registered.slice(before);
    const ports = async (name: string) => {
        await quiesce();
        const rule = made().find((r) => r.name === `aws${run}-${name}`);
        return rule === undefined ? undefined : [rule.inputs.fromPort, rule.inputs.toPort];
    };
    return { result, made, ports };
}

const settled = <T>(value: pulumi.Input<T>) => new Promise<T>((resolve) => pulumi.output(value).apply((v) => (resolve(v as T), v)));
/** Until the mock runtime has registered everything asked for so far. */
async function quiesce(): Promise<void> {
    for (let seen = -1; seen !== registered.length; ) {
        seen = registered.length;
        await new Promise((r) => setTimeout(r, 20));
    }
}

const web = (port: number, targetPort = port): IngressListener<"web"> => ({
    name: "web",
    port,
    upstreams: [{ name: "vip", address: "192.168.255.10", port: targetPort }],
    check: false,
    public: true,
    activeActive: [
        { name: "lb-0", address: "10.20.128.11", port: targetPort },
        { name: "lb-1", address: "10.20.144.11", port: targetPort },
    ],
});
const stats: IngressListener<"stats"> = {
    name: "stats",
    port: 8404,
    upstreams: [{ name: "vip", address: "192.168.255.10", port: 8404 }],
    check: false,
};

const LISTENER = "aws:lb/listener:Listener";
const byName = (made: () => { type: string; name: string; inputs: Record<string, any> }[], name: string) =>
    made().find((r) => r.name === `aws${run}-${name}`);

test("the web listener on 8080: the internet reaches the ALB on 443 and 80 only, the ALB the HAProxy nodes on 8080", async () => {
    const { ports, made, result } = ingress([web(8080), stats]);
    expect(await ports("alb-web-443-from-internet")).toEqual([443, 443]);
    expect(await ports("alb-web-80-from-internet")).toEqual([80, 80]);
    expect(await ports("alb-to-lb")).toEqual([8080, 8080]);
    expect(await ports("lb-web-from-alb")).toEqual([8080, 8080]);
    expect(
        made()
            .filter((r) => r.type === INGRESS_RULE && r.inputs.cidrIpv4 === "0.0.0.0/0")
            .map((r) => r.name),
    ).toEqual([`aws${run}-alb-web-443-from-internet`, `aws${run}-alb-web-80-from-internet`]);
    const group = made().find((r) => r.type === "aws:lb/targetGroup:TargetGroup");
    expect([group?.inputs.port, group?.inputs.protocol, group?.inputs.healthCheck.port]).toEqual([8080, "HTTP", "8080"]);
    expect(
        made()
            .filter((r) => r.type === "aws:lb/targetGroupAttachment:TargetGroupAttachment")
            .map((r) => r.inputs.port),
    ).toEqual([8080, 8080]);
    expect(await settled(result.urls.web)).toBe("https://www.example.com");
});

test("an internet-facing ALB: HTTPS on 443 with the ACM certificate once validated and a TLS 1.2+ policy; HTTP on 80 only redirects", async () => {
    const { made } = ingress([web(80)]);
    await quiesce();
    expect(byName(made, "edge-alb")?.inputs).toMatchObject({
        loadBalancerType: "application",
        internal: false,
        dropInvalidHeaderFields: true,
    });
    // Registration order follows the mock runtime's promises: by port.
    const listeners = made()
        .filter((r) => r.type === LISTENER)
        .sort((a, b) => b.inputs.port - a.inputs.port);
    expect(listeners.map((l) => [l.inputs.port, l.inputs.protocol])).toEqual([
        [443, "HTTPS"],
        [80, "HTTP"],
    ]);
    const [https, http] = listeners;
    expect(https.inputs.sslPolicy).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    // The certificate's ARN as the validation hands it on: the listener waits until ACM has issued it.
    expect(https.inputs.certificateArn).toBe(`arn:aws${run}-edge-certificate`);
    expect(byName(made, "edge-certificate-validation")?.type).toBe("aws:acm/certificateValidation:CertificateValidation");
    expect(https.inputs.defaultActions).toEqual([{ type: "forward", targetGroupArn: `arn:aws${run}-edge-web-tg` }]);
    expect(http.inputs.defaultActions).toEqual([
        { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
    ]);
    expect(byName(made, "edge-certificate")?.inputs).toMatchObject({ domainName: "www.example.com", validationMethod: "DNS" });
});

test("the ALB is not named like the NLB it replaces: an existing stack moves create-before-delete and AWS refuses two load balancers of one name", async () => {
    const { made } = ingress([web(80)]);
    await quiesce();
    const alb = byName(made, "edge-alb")!;
    // The NLB of the same purpose was named elbName(project, stack, "edge") until the ALB; it is deleted
    // only after the ALB exists (a new logical name), so both exist at once during that `pulumi up`.
    expect(alb.inputs.name).not.toBe(elbName("swarm-platform", "test", "edge"));
    expect(alb.inputs.name).toBe("swarm-platform-test-edge-alb");
});

test("without a Route 53 zone the validation record and the domain's CNAME are outputs, and no record is made", async () => {
    const { made, result } = ingress([web(80)]);
    await quiesce();
    expect(made().filter((r) => r.type === "aws:route53/record:Record")).toEqual([]);
    expect(byName(made, "edge-certificate-validation")?.inputs.validationRecordFqdns).toBeUndefined();
    expect(await settled(result.dnsRecords!)).toEqual([
        { name: "_abc.www.example.com.", type: "CNAME", value: "_def.acm-validations.aws." },
        { name: "www.example.com", type: "CNAME", value: `aws${run}-edge-alb.elb.example` },
    ]);
});

test("with a Route 53 zone the validation record and the domain's alias are made there, and the validation waits for that record", async () => {
    const { made, result } = ingress([web(80)], "Z0123456789ABCDEFGHIJ");
    await quiesce();
    const records = made().filter((r) => r.type === "aws:route53/record:Record");
    expect(records.map((r) => [r.name, r.inputs.zoneId, r.inputs.name, r.inputs.type])).toEqual([
        [`aws${run}-edge-certificate-validation`, "Z0123456789ABCDEFGHIJ", "_abc.www.example.com.", "CNAME"],
        [`aws${run}-edge-domain`, "Z0123456789ABCDEFGHIJ", "www.example.com", "A"],
    ]);
    expect(records[0].inputs.records).toEqual(["_def.acm-validations.aws."]);
    expect(records[1].inputs.aliases).toEqual([{ name: `aws${run}-edge-alb.elb.example`, zoneId: "ZALB", evaluateTargetHealth: true }]);
    const validation = made().find((r) => r.type === "aws:acm/certificateValidation:CertificateValidation");
    expect(validation?.inputs.validationRecordFqdns).toEqual(["_abc.www.example.com"]);
    expect(result.dnsRecords).toBeUndefined();
});

test("the public listener's target group has one alarm on its unhealthy targets, notifying the topic on ALARM and OK", async () => {
    const { made } = ingress([web(80), stats]);
    await quiesce();
    const alarms = made().filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.map((a) => a.name)).toEqual([`aws${run}-edge-web-unhealthy-targets-alarm`]);
    expect(alarms[0].inputs).toMatchObject({
        name: "swarm-platform-test-edge-web-unhealthy-targets",
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        alarmActions: [TOPIC],
        okActions: [TOPIC],
        treatMissingData: "notBreaching",
    });
    expect(Object.keys(alarms[0].inputs.dimensions).sort()).toEqual(["LoadBalancer", "TargetGroup"]);
});

test("listeners not marked public open nothing to the internet and stay internal", async () => {
    const { made, result } = ingress([stats]);
    await quiesce();
    expect(made().filter((r) => r.type === INGRESS_RULE && r.inputs.cidrIpv4 === "0.0.0.0/0")).toEqual([]);
    expect(made().filter((r) => r.type === LISTENER)).toEqual([]);
    expect(made().filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm")).toEqual([]);
    expect(await settled(result.urls.stats)).toBe("http://192.168.255.10:8404");
});

test("one public listener per load balancer, and its targets on one port", () => {
    expect(() => ingress([web(80), { ...stats, public: true }])).toThrow(
        "aws platform: the load balancer publishes one listener, got web, stats",
    );
    const mixed: IngressListener<"web"> = {
        ...web(80),
        activeActive: [...web(80).activeActive!.slice(0, 1), { name: "lb-1", address: "10.20.144.11", port: 81 }],
    };
    expect(() => ingress([mixed])).toThrow("aws platform: the targets of listener web serve on different ports");
});
