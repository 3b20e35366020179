// The AWS ingress opens exactly the ports of the listener it publishes: the listener's own port to the
// internet, its targets' port from the NLB to the HAProxy nodes — derived from the listener, never a
// hard-coded 80 (the LB pair's web port is an argument). Built under Pulumi's mock runtime from the
// platform's own functions, without the rest of the platform.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { DEFAULTS, planAwsAddresses } from "../../config";
import { AwsContext } from "../../platforms/aws/context";
import { createIngress } from "../../platforms/aws/ingress";
import { AwsNetwork } from "../../platforms/aws/network";
import { createSecurityGroups } from "../../platforms/aws/securityGroups";
import { IngressListener, ListenerName } from "../../platforms/types";

const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];
pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:${args.name}`, dnsName: `${args.name}.elb.example` } };
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

let run = 0;
/** A fresh VPC, security groups and ingress for these listeners; the SG rules and NLB parts it made. */
function ingress(listeners: readonly IngressListener[]) {
    run++;
    const ctx: AwsContext = {
        component: new Owner(`owner-${run}`),
        platformName: `aws${run}`,
        args: {
            project: "swarm-platform",
            namePrefix: "swarm-platform-test-",
            stack: "test",
            plan: planAwsAddresses("10.20.0.0/16", 2, "192.168.255.10", { consulServers: 3, managers: 3, workers: 2 }),
            consulVersion: "1.20.2",
            aws: { ...DEFAULTS.aws, operatorCidrs: [], domain: "www.example.com" },
            webPorts: { min: 20000, max: 20099 },
        },
        region: pulumi.output("eu-west-1"),
        accountId: pulumi.output("123456789012"),
        parameterRoot: "/swarm-platform/test",
    };
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
    const result = createIngress(ctx, network, groups, "edge", listeners as readonly IngressListener<ListenerName>[]);
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

test("the web listener on 8080: the internet reaches the NLB on 8080, the NLB the HAProxy nodes on 8080", async () => {
    const { ports, made, result } = ingress([web(8080), stats]);
    expect(await ports("nlb-web-from-internet")).toEqual([8080, 8080]);
    expect(await ports("nlb-to-lb")).toEqual([8080, 8080]);
    expect(await ports("lb-web-from-nlb")).toEqual([8080, 8080]);
    expect(
        made()
            .filter((r) => r.type === INGRESS_RULE && r.inputs.cidrIpv4 === "0.0.0.0/0")
            .map((r) => r.name),
    ).toEqual([`aws${run}-nlb-web-from-internet`]);
    expect(made().find((r) => r.name.endsWith("-nlb-web-from-internet"))?.inputs.cidrIpv4).toBe("0.0.0.0/0");
    const group = made().find((r) => r.type === "aws:lb/targetGroup:TargetGroup");
    expect([group?.inputs.port, group?.inputs.healthCheck.port]).toEqual([8080, "8080"]);
    expect(
        made()
            .filter((r) => r.type === "aws:lb/targetGroupAttachment:TargetGroupAttachment")
            .map((r) => r.inputs.port),
    ).toEqual([8080, 8080]);
    expect(await settled(result.urls.web)).toBe(`http://aws${run}-edge-nlb.elb.example:8080`);
});

test("a listener on 80 in front of HAProxy on 8080: 80 from the internet, 8080 between the NLB and the nodes", async () => {
    const { ports, result } = ingress([web(80, 8080)]);
    expect(await ports("nlb-web-from-internet")).toEqual([80, 80]);
    expect(await ports("nlb-to-lb")).toEqual([8080, 8080]);
    expect(await ports("lb-web-from-nlb")).toEqual([8080, 8080]);
    expect(await settled(result.urls.web)).toBe(`http://aws${run}-edge-nlb.elb.example`);
});

test("listeners not marked public open nothing to the internet and stay internal", async () => {
    const { made, result } = ingress([stats]);
    await quiesce();
    expect(made().filter((r) => r.type === INGRESS_RULE && r.inputs.cidrIpv4 === "0.0.0.0/0")).toEqual([]);
    expect(made().filter((r) => r.type === "aws:lb/listener:Listener")).toEqual([]);
    expect(await settled(result.urls.stats)).toBe("http://192.168.255.10:8404");
});

test("one public listener per NLB, and its targets on one port", () => {
    expect(() => ingress([web(80), { ...stats, public: true }])).toThrow("aws platform: the NLB publishes one listener, got web, stats");
    const mixed: IngressListener<"web"> = {
        ...web(80),
        activeActive: [...web(80).activeActive!.slice(0, 1), { name: "lb-1", address: "10.20.144.11", port: 81 }],
    };
    expect(() => ingress([mixed])).toThrow("aws platform: the targets of listener web serve on different ports");
});
