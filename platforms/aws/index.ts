// The `aws` platform: every node is an EC2 instance in a private subnet (one subnet per zone,
// quorum groups spread over zones); scripts run through SSM; the web service is published by an
// internet-facing ALB (HTTPS). Each concern has its file:
//   network.ts         VPC, subnets, NAT, route tables
//   securityGroups.ts  who may reach whom
//   iam.ts             one instance role per node role
//   node.ts            the instance, its files in Parameter Store, what runs on it
//   scripts.ts         node and cluster scripts as SSM associations
//   image.ts           app images in ECR
//   ingress.ts         the ALB: HTTPS with an ACM certificate, HTTP redirected
//   monitoring.ts      the log group, the alarms and the topic they notify
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderVipRouteNotifyScript } from "../../render/cloudInit";
import {
    BuiltImage,
    ClusterScriptArgs,
    DeployedMarksCheck,
    ImageBuildArgs,
    Ingress,
    IngressListener,
    ListenerName,
    NodeArgs,
    NodeRole,
    Platform,
    PlatformNode,
    RunScriptArgs,
    ScriptRun,
    VipFailover,
} from "../types";
import { AwsContext, AwsPlatformArgs } from "./context";
import { createInstanceProfiles } from "./iam";
import { buildEcrImage } from "./image";
import { createIngress } from "./ingress";
import { AwsNetwork, createNetwork } from "./network";
import { AwsMonitoring, createMonitoring } from "./monitoring";
import { createNode, NodePlacement, requireDeployedMarks } from "./node";
import { runClusterScript, runNodeScript, ScriptContext } from "./scripts";
import { createSecurityGroups, SecurityGroups, securityGroupsFor } from "./securityGroups";
import { plannedAddress } from "../shared";

export { AwsPlatformArgs } from "./context";

/** Debian's AWS account: the official Debian 12 AMIs. */
const DEBIAN_AMI_OWNER = "136693071363";
const VIP_NOTIFY_PATH = "/usr/local/sbin/vip-notify";

export class AwsPlatform extends pulumi.ComponentResource implements Platform {
    readonly name = "aws";
    readonly vipInterface: string;
    readonly vipPrefixLength = 32;
    readonly network: AwsNetwork;
    readonly securityGroups: SecurityGroups;
    readonly instanceProfiles: Record<NodeRole, aws.iam.InstanceProfile>;
    readonly monitoring: AwsMonitoring;
    readonly region: pulumi.Output<string>;
    readonly zoneNames: pulumi.Output<string[]>;

    private readonly ctx: ScriptContext;
    private readonly placement: NodePlacement;

    constructor(name: string, args: AwsPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:aws:Platform", name, {}, opts);
        const child = { parent: this };
        const plan = args.plan;
        this.vipInterface = args.aws.interface;
        this.region = aws.getRegionOutput({}, child).region;
        const base: AwsContext = {
            component: this,
            platformName: name,
            args,
            region: this.region,
            accountId: aws.getCallerIdentityOutput({}, child).accountId,
            parameterRoot: `/swarm-platform/${args.stack}`,
        };
        this.ctx = { ...base, generation: new random.RandomId(`${name}-generation`, { byteLength: 4 }, child), tokens: new Map() };
        this.zoneNames = aws.getAvailabilityZonesOutput({ state: "available" }, child).names.apply((names) => {
            if (names.length < plan.zones) {
                throw new pulumi.RunError(
                    `aws.zones = ${plan.zones}: the region has only ${names.length} available zones (${names.join(", ")})`,
                );
            }
            return names.slice(0, plan.zones);
        });
        // The AMI is pinned in stack config (aws.amiId, or aws.amiName: Debian's image name, the same
        // in every region, resolved to exactly that image). Never "most recent": `ami` forces
        // replacement (terraform-provider-aws aws_instance schema: ForceNew), so a floating lookup
        // would replace every node the day Debian publishes a new image.
        const ami =
            args.aws.amiId !== undefined
                ? pulumi.output(args.aws.amiId)
                : aws.ec2.getAmiOutput(
                      {
                          owners: [DEBIAN_AMI_OWNER],
                          filters: [
                              { name: "name", values: [args.aws.amiName ?? ""] },
                              { name: "architecture", values: ["x86_64"] },
                              { name: "virtualization-type", values: ["hvm"] },
                          ],
                      },
                      child,
                  ).id;

        this.network = createNetwork(base, this.zoneNames);
        this.securityGroups = createSecurityGroups(base, this.network.vpc);
        this.monitoring = createMonitoring(base);
        this.instanceProfiles = createInstanceProfiles(base, this.network.routeTables, this.monitoring.logGroupStreamsArn);
        this.placement = {
            ami,
            privateSubnets: this.network.privateSubnets,
            securityGroups: (role) => securityGroupsFor(role, this.securityGroups),
            instanceProfiles: this.instanceProfiles,
            // The log group exists before a node logs to it: neither dockerd nor Fluent Bit creates it.
            bootDependencies: [...this.network.egress, this.securityGroups.nodesEgress, this.monitoring.logGroup],
            monitoring: this.monitoring,
        };
        this.registerOutputs({ vpcId: this.network.vpc.id });
    }

    nodeAddress(role: NodeRole, index: number): string {
        return plannedAddress(this.ctx.args.plan, role, index);
    }

    consulRetryJoin(servers: number): string[] {
        // The servers' fixed private addresses (a replacement takes the same one). Cloud auto-join by tag
        // would need the metadata service and ec2:DescribeInstances, which the Consul agents, running as
        // a non-root user beside host-network web tasks, are denied (see IMDS_GUARD_UNIT in node.ts).
        return Array.from({ length: servers }, (_, i) => this.nodeAddress("consul-server", i));
    }

    roleAddress(): undefined {
        // Nodes are found by tag (Consul's cloud auto-join) or fixed address; no shared DNS name.
        return undefined;
    }

    vipFailover(vip: string): VipFailover {
        const script = pulumi
            .all([this.region, ...this.network.routeTables.map((rt) => rt.id)])
            .apply(([region, ...routeTableIds]) => renderVipRouteNotifyScript({ vip, routeTableIds, region }));
        return { files: [{ path: VIP_NOTIFY_PATH, content: script, mode: "0755" }], notifyCommand: VIP_NOTIFY_PATH };
    }

    createNode(args: NodeArgs, parent: pulumi.Resource): PlatformNode {
        return createNode(this.ctx, this.placement, args, parent);
    }

    requireDeployedMarks(_name: string, check: DeployedMarksCheck, parent: pulumi.Resource): pulumi.Output<pulumi.Resource> {
        // Nothing is created for it: the read is a data source, in preview too. What waits on it gets
        // the security group every node depends on anyway.
        return requireDeployedMarks(this.ctx, check, this.securityGroups.nodesEgress, parent);
    }

    runScript(name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
        return runNodeScript(this.ctx, name, args, parent);
    }

    runClusterScript(name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
        return runClusterScript(this.ctx, name, args, parent);
    }

    buildImage(args: ImageBuildArgs): BuiltImage {
        return buildEcrImage(this.ctx, args);
    }

    loadImage(): undefined {
        // Nodes pull from ECR themselves (credential helper + instance role): nothing to do per node.
        return undefined;
    }

    ingress<L extends ListenerName>(name: string, listeners: readonly IngressListener<L>[]): Ingress<L> {
        return createIngress(this.ctx, this.network, this.securityGroups, name, listeners, this.monitoring);
    }
}
