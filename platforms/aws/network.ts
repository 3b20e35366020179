// The VPC: public subnets for the NLB and the NAT gateways, private subnets for every node, one of
// each per zone.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsContext, stackTags } from "./context";

export interface AwsNetwork {
    readonly vpc: aws.ec2.Vpc;
    readonly publicSubnets: aws.ec2.Subnet[];
    readonly privateSubnets: aws.ec2.Subnet[];
    /** Every route table of the stack (public first): the VIP's /32 route goes into each. */
    readonly routeTables: aws.ec2.RouteTable[];
}

export function createNetwork(ctx: AwsContext, zoneNames: pulumi.Output<string[]>): AwsNetwork {
    const name = ctx.platformName;
    const plan = ctx.args.plan;
    const child = { parent: ctx.component };
    const tags = (resourceName: string) => stackTags(ctx.args, resourceName);

    const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        { cidrBlock: plan.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") },
        child,
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("igw") }, child);
    const publicRoutes = new aws.ec2.RouteTable(
        `${name}-public-rt`,
        { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("public-rt") },
        child,
    );
    const publicSubnets = plan.publicSubnets.map((cidr, z) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-public-${z}`,
            { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zoneNames[z], mapPublicIpOnLaunch: false, tags: tags(`public-${z}`) },
            child,
        );
        new aws.ec2.RouteTableAssociation(`${name}-public-${z}-rt`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, child);
        return subnet;
    });
    const natCount = ctx.args.aws.natGateways === "perZone" ? plan.zones : 1;
    const nats = Array.from({ length: natCount }, (_, z) => {
        const eip = new aws.ec2.Eip(`${name}-nat-${z}-eip`, { domain: "vpc", tags: tags(`nat-${z}`) }, child);
        return new aws.ec2.NatGateway(
            `${name}-nat-${z}`,
            { allocationId: eip.id, subnetId: publicSubnets[z].id, tags: tags(`nat-${z}`) },
            { ...child, dependsOn: [igw] },
        );
    });
    const privateRoutes = plan.privateSubnets.map(
        (_, z) =>
            new aws.ec2.RouteTable(
                `${name}-private-${z}-rt`,
                {
                    vpcId: vpc.id,
                    routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[z % natCount].id }],
                    tags: tags(`private-${z}-rt`),
                },
                // keepalived's notify script owns the VIP route; Pulumi must not fight it.
                { ...child, ignoreChanges: ["routes"] },
            ),
    );
    const privateSubnets = plan.privateSubnets.map((cidr, z) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-private-${z}`,
            { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zoneNames[z], mapPublicIpOnLaunch: false, tags: tags(`private-${z}`) },
            child,
        );
        new aws.ec2.RouteTableAssociation(`${name}-private-${z}-rt`, { subnetId: subnet.id, routeTableId: privateRoutes[z].id }, child);
        return subnet;
    });
    return { vpc, publicSubnets, privateSubnets, routeTables: [publicRoutes, ...privateRoutes] };
}
