// The VPC: public subnets for the ALB and the NAT gateways, private subnets for every node, one of
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
    /**
     * What a node needs before it boots: its first boot installs packages through the NAT, so the
     * NAT gateways, the default routes to them and the subnets' route table associations must exist.
     */
    readonly egress: pulumi.Resource[];
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
    // Route tables without inline routes, each route its own resource. Omitting `routes` leaves the
    // table's other routes unmanaged ("omitting this argument is interpreted as ignoring any existing
    // routes": aws.ec2.RouteTable docs, pulumi-aws), so the VIP's /32 route that keepalived's notify
    // script writes survives every `up` and `refresh`, while the NAT and internet routes stay
    // Pulumi's: a changed NAT gateway updates its route (an `ignoreChanges: ["routes"]` froze them).
    // The docs forbid mixing inline routes with aws.ec2.Route on one table.
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: tags("public-rt") }, child);
    const internetRoute = new aws.ec2.Route(
        `${name}-public-default-route`,
        { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
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
        (_, z) => new aws.ec2.RouteTable(`${name}-private-${z}-rt`, { vpcId: vpc.id, tags: tags(`private-${z}-rt`) }, child),
    );
    const natRoutes = privateRoutes.map(
        (table, z) =>
            new aws.ec2.Route(
                `${name}-private-${z}-default-route`,
                { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nats[z % natCount].id },
                child,
            ),
    );
    const privateAssociations: aws.ec2.RouteTableAssociation[] = [];
    const privateSubnets = plan.privateSubnets.map((cidr, z) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-private-${z}`,
            { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zoneNames[z], mapPublicIpOnLaunch: false, tags: tags(`private-${z}`) },
            child,
        );
        privateAssociations.push(
            new aws.ec2.RouteTableAssociation(`${name}-private-${z}-rt`, { subnetId: subnet.id, routeTableId: privateRoutes[z].id }, child),
        );
        return subnet;
    });
    return {
        vpc,
        publicSubnets,
        privateSubnets,
        routeTables: [publicRoutes, ...privateRoutes],
        egress: [internetRoute, ...nats, ...natRoutes, ...privateAssociations],
    };
}
