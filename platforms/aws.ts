// The `aws` platform: every node is an EC2 instance in a private subnet (one subnet per zone,
// quorum groups spread over zones), with a fixed private address, IMDSv2, an encrypted root
// volume, no public IP and an instance role scoped to what its role does. Node files live in SSM
// Parameter Store (SecureString) and are fetched at boot, so user-data holds no secret. Scripts
// run through SSM associations; the web service is published by an internet-facing NLB.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AwsAddressPlan, AwsConfig } from "../config";
import { CONSUL_PORTS } from "../render/consul";
import { HostContainer, ParameterFile, renderCloudConfig, renderVipRouteNotifyScript } from "../render/cloudInit";
import { LB_MONITOR_URI } from "../render/haproxy";
import { SWARM_MANAGER_PORT } from "../render/swarm";
import { shellQuote } from "../render/shell";
import { formerName, REPO_ROOT } from "./local";
import {
    assertNever,
    BuiltImage,
    ClusterScriptArgs,
    ImageBuildArgs,
    Ingress,
    IngressListener,
    NodeArgs,
    NodeFile,
    NodeRole,
    Platform,
    PlatformNode,
    RunScriptArgs,
    ScriptRun,
    VipFailover,
} from "./types";

/** Debian's AWS account: the official Debian 12 AMIs. */
const DEBIAN_AMI_OWNER = "136693071363";
/** Consul cloud auto-join finds servers by this tag (value: the stack). */
export const CONSUL_JOIN_TAG = "swarm-platform-consul-server";
const VIP_NOTIFY_PATH = "/usr/local/sbin/vip-notify";
const LB_CHECK_PATH = "/usr/local/bin/check_haproxy.sh";

/** How each role exists on an instance: Debian packages, systemd services, host-network containers. */
interface RoleRuntime {
    readonly packages: string[];
    readonly services: string[];
    readonly containers: HostContainer[];
    /** The command that runs a script (on stdin) where the role's tools are, passing these env variables. */
    readonly exec: (env: readonly string[]) => string;
}

export interface AwsPlatformArgs {
    /** Prefix of every AWS name, e.g. "swarm-platform-prod-". */
    readonly namePrefix: string;
    readonly stack: string;
    readonly plan: AwsAddressPlan;
    /** Official Consul image tag (pinned). */
    readonly consulVersion: string;
    readonly aws: AwsConfig;
    /** The port range web tasks bind on swarm nodes: opened from the LB nodes only. */
    readonly webPorts: { readonly min: number; readonly max: number };
}

export class AwsPlatform extends pulumi.ComponentResource implements Platform {
    readonly name = "aws";
    readonly vipInterface: string;
    readonly vipPrefixLength = 32;
    readonly vpc: aws.ec2.Vpc;
    readonly publicSubnets: aws.ec2.Subnet[];
    readonly privateSubnets: aws.ec2.Subnet[];
    readonly routeTables: aws.ec2.RouteTable[];
    readonly securityGroups: Record<"nlb" | "nodes" | "lb" | "consulServer" | "swarm", aws.ec2.SecurityGroup>;
    readonly instanceProfiles: Record<NodeRole, aws.iam.InstanceProfile>;
    readonly region: pulumi.Output<string>;
    readonly zoneNames: pulumi.Output<string[]>;

    private readonly args: AwsPlatformArgs;
    private readonly platformName: string;
    private readonly ami: pulumi.Output<string>;
    private readonly accountId: pulumi.Output<string>;
    /** SSM parameter path prefix of this stack. */
    private readonly parameterRoot: string;
    /** New for every creation of the stack: token parameters written by scripts live under it. */
    private readonly generation: random.RandomId;

    constructor(name: string, args: AwsPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:aws:Platform", name, {}, opts);
        this.args = args;
        this.platformName = name;
        this.vipInterface = args.aws.interface;
        this.parameterRoot = `/swarm-platform/${args.stack}`;
        const child = { parent: this };
        const plan = args.plan;
        this.generation = new random.RandomId(`${name}-generation`, { byteLength: 4 }, child);
        const tags = (resourceName: string) => ({ Name: `${args.namePrefix}${resourceName}`, "swarm-platform:stack": args.stack });

        this.region = aws.getRegionOutput({}, child).region;
        this.accountId = aws.getCallerIdentityOutput({}, child).accountId;
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
        this.ami =
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

        // Network: public subnets for the NLB and NAT, private subnets for every node.
        this.vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            { cidrBlock: plan.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") },
            child,
        );
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: tags("igw") }, child);
        const publicRoutes = new aws.ec2.RouteTable(
            `${name}-public-rt`,
            { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("public-rt") },
            child,
        );
        this.publicSubnets = plan.publicSubnets.map((cidr, z) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-public-${z}`,
                {
                    vpcId: this.vpc.id,
                    cidrBlock: cidr,
                    availabilityZone: this.zoneNames[z],
                    mapPublicIpOnLaunch: false,
                    tags: tags(`public-${z}`),
                },
                child,
            );
            new aws.ec2.RouteTableAssociation(`${name}-public-${z}-rt`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, child);
            return subnet;
        });
        const natCount = args.aws.natGateways === "perZone" ? plan.zones : 1;
        const nats = Array.from({ length: natCount }, (_, z) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${z}-eip`, { domain: "vpc", tags: tags(`nat-${z}`) }, child);
            return new aws.ec2.NatGateway(
                `${name}-nat-${z}`,
                { allocationId: eip.id, subnetId: this.publicSubnets[z].id, tags: tags(`nat-${z}`) },
                { ...child, dependsOn: [igw] },
            );
        });
        const privateRoutes = plan.privateSubnets.map(
            (_, z) =>
                new aws.ec2.RouteTable(
                    `${name}-private-${z}-rt`,
                    {
                        vpcId: this.vpc.id,
                        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[z % natCount].id }],
                        tags: tags(`private-${z}-rt`),
                    },
                    // keepalived's notify script owns the VIP route; Pulumi must not fight it.
                    { ...child, ignoreChanges: ["routes"] },
                ),
        );
        this.privateSubnets = plan.privateSubnets.map((cidr, z) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-private-${z}`,
                {
                    vpcId: this.vpc.id,
                    cidrBlock: cidr,
                    availabilityZone: this.zoneNames[z],
                    mapPublicIpOnLaunch: false,
                    tags: tags(`private-${z}`),
                },
                child,
            );
            new aws.ec2.RouteTableAssociation(`${name}-private-${z}-rt`, { subnetId: subnet.id, routeTableId: privateRoutes[z].id }, child);
            return subnet;
        });
        this.routeTables = [publicRoutes, ...privateRoutes];

        this.securityGroups = this.createSecurityGroups(name, tags);
        this.instanceProfiles = this.createInstanceProfiles(name, tags);

        this.registerOutputs({ vpcId: this.vpc.id });
    }

    /** Security groups reference each other, never CIDRs — except the NLB listener and operator SSH. */
    private createSecurityGroups(name: string, tags: (n: string) => Record<string, string>) {
        const child = { parent: this };
        const group = (role: string, description: string) =>
            new aws.ec2.SecurityGroup(`${name}-${role}-sg`, { vpcId: this.vpc.id, description, tags: tags(`${role}-sg`) }, child);
        const sg = {
            nlb: group("nlb", "Internet-facing NLB: the web listener only"),
            nodes: group("nodes", "Every node: Consul gossip between agents, egress"),
            lb: group("lb", "HAProxy pair: web traffic from the NLB only, VRRP between the pair"),
            consulServer: group("consul-server", "Consul servers: RPC and API from nodes"),
            swarm: group("swarm", "Swarm managers and workers"),
        };
        const ingress = (
            ruleName: string,
            target: aws.ec2.SecurityGroup,
            rule: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">,
        ) => new aws.vpc.SecurityGroupIngressRule(`${name}-${ruleName}`, { securityGroupId: target.id, ...rule }, child);
        const from = (source: aws.ec2.SecurityGroup) => ({ referencedSecurityGroupId: source.id });
        const tcp = (port: number, to = port) => ({ ipProtocol: "tcp", fromPort: port, toPort: to });
        const udp = (port: number) => ({ ipProtocol: "udp", fromPort: port, toPort: port });

        // The only ingress from the internet: the NLB's web listener.
        ingress("nlb-web-from-internet", sg.nlb, { ...tcp(80), cidrIpv4: "0.0.0.0/0", description: "web listener" });
        new aws.vpc.SecurityGroupEgressRule(`${name}-nlb-to-lb`, { securityGroupId: sg.nlb.id, ...tcp(80), ...from(sg.lb) }, child);

        ingress("lb-web-from-nlb", sg.lb, { ...tcp(80), ...from(sg.nlb), description: "web traffic and health checks from the NLB" });
        ingress("lb-vrrp-from-lb", sg.lb, { ipProtocol: "112", ...from(sg.lb), description: "VRRP between the pair" });

        ingress("nodes-serf-tcp", sg.nodes, { ...tcp(CONSUL_PORTS.serfLan), ...from(sg.nodes), description: "Consul LAN gossip" });
        ingress("nodes-serf-udp", sg.nodes, { ...udp(CONSUL_PORTS.serfLan), ...from(sg.nodes), description: "Consul LAN gossip" });
        ingress("consul-rpc", sg.consulServer, { ...tcp(CONSUL_PORTS.serverRpc), ...from(sg.nodes), description: "Consul server RPC" });
        ingress("consul-http", sg.consulServer, {
            ...tcp(CONSUL_PORTS.http),
            ...from(sg.nodes),
            description: "Consul API/UI from nodes (operators: SSM port forwarding)",
        });

        ingress("swarm-manage", sg.swarm, { ...tcp(SWARM_MANAGER_PORT), ...from(sg.swarm), description: "Swarm cluster management" });
        ingress("swarm-gossip-tcp", sg.swarm, { ...tcp(7946), ...from(sg.swarm), description: "Swarm node gossip" });
        ingress("swarm-gossip-udp", sg.swarm, { ...udp(7946), ...from(sg.swarm), description: "Swarm node gossip" });
        ingress("swarm-vxlan", sg.swarm, { ...udp(4789), ...from(sg.swarm), description: "Overlay network data path" });
        ingress("swarm-web-from-lb", sg.swarm, {
            ...tcp(this.args.webPorts.min, this.args.webPorts.max),
            ...from(sg.lb),
            description: "web tasks from HAProxy",
        });

        this.args.aws.operatorCidrs.forEach((cidr, i) =>
            ingress(`operator-ssh-${i}`, sg.nodes, { ...tcp(22), cidrIpv4: cidr, description: "operator SSH (aws.operatorCidrs)" }),
        );
        // Nodes reach the NAT (packages, images, AWS APIs) and each other.
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-nodes-egress`,
            { securityGroupId: sg.nodes.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
            child,
        );
        return sg;
    }

    /** One role and instance profile per node role, each allowed only what that role does. */
    private createInstanceProfiles(name: string, tags: (n: string) => Record<string, string>): Record<NodeRole, aws.iam.InstanceProfile> {
        const child = { parent: this };
        const arn = (service: string, resource: pulumi.Input<string>) =>
            pulumi.interpolate`arn:aws:${service}:${this.region}:${this.accountId}:${resource}`;
        const parameters = (prefix: string) => arn("ssm", `parameter${this.parameterRoot}/${prefix}/*`);
        const roles: NodeRole[] = ["consul-server", "swarm-manager", "swarm-worker", "lb"];
        const profiles = {} as Record<NodeRole, aws.iam.InstanceProfile>;
        for (const role of roles) {
            const statements: pulumi.Input<object>[] = [
                // Consul cloud auto-join lists instances by tag (the API has no resource-level scoping).
                { Sid: "ConsulAutoJoin", Effect: "Allow", Action: ["ec2:DescribeInstances"], Resource: "*" },
                // Its own files and scripts.
                { Sid: "OwnParameters", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: parameters(role) },
                // The SSM agent: runs the join/deploy scripts (associations) and gives operators Session Manager instead of SSH.
                {
                    Sid: "SsmAgent",
                    Effect: "Allow",
                    Action: [
                        "ssm:UpdateInstanceInformation",
                        "ssm:ListAssociations",
                        "ssm:ListInstanceAssociations",
                        "ssm:DescribeAssociation",
                        "ssm:GetDocument",
                        "ssm:DescribeDocument",
                        "ssm:UpdateAssociationStatus",
                        "ssm:UpdateInstanceAssociationStatus",
                        "ec2messages:AcknowledgeMessage",
                        "ec2messages:DeleteMessage",
                        "ec2messages:FailMessage",
                        "ec2messages:GetEndpoint",
                        "ec2messages:GetMessages",
                        "ec2messages:SendReply",
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    Resource: "*",
                },
            ];
            if (role === "swarm-manager" || role === "swarm-worker") {
                // Join tokens travel manager → Parameter Store (SecureString) → joining node.
                statements.push({ Sid: "JoinTokensRead", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: parameters("swarm") });
                statements.push({ Sid: "PullAppImages", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" });
                statements.push({
                    Sid: "PullAppImagesFromOwnRepos",
                    Effect: "Allow",
                    Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    Resource: arn("ecr", `repository/${this.args.namePrefix}*`),
                });
            }
            if (role === "swarm-manager") {
                statements.push({ Sid: "JoinTokensWrite", Effect: "Allow", Action: ["ssm:PutParameter"], Resource: parameters("swarm") });
            }
            if (role === "lb") {
                // Moving the overlay VIP: point its /32 route at this node, in this stack's route tables only.
                statements.push({
                    Sid: "MoveVipRoute",
                    Effect: "Allow",
                    Action: ["ec2:ReplaceRoute", "ec2:CreateRoute"],
                    Resource: this.routeTables.map((rt) => arn("ec2", pulumi.interpolate`route-table/${rt.id}`)),
                });
            }
            const iamRole = new aws.iam.Role(
                `${name}-${role}-role`,
                {
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags: tags(`${role}-role`),
                },
                child,
            );
            new aws.iam.RolePolicy(
                `${name}-${role}-policy`,
                {
                    role: iamRole.id,
                    policy: pulumi.output(statements).apply((Statement) => JSON.stringify({ Version: "2012-10-17", Statement })),
                },
                child,
            );
            profiles[role] = new aws.iam.InstanceProfile(
                `${name}-${role}-profile`,
                { role: iamRole.name, tags: tags(`${role}-profile`) },
                child,
            );
        }
        return profiles;
    }

    consulRetryJoin(): string[] {
        return [`provider=aws tag_key=${CONSUL_JOIN_TAG} tag_value=${this.args.stack}`];
    }

    vipFailover(vip: string): VipFailover {
        const script = pulumi
            .all([this.region, ...this.routeTables.map((rt) => rt.id)])
            .apply(([region, ...routeTableIds]) => renderVipRouteNotifyScript({ vip, routeTableIds, region }));
        return { files: [{ path: VIP_NOTIFY_PATH, content: script, mode: "0755" }], notifyCommand: VIP_NOTIFY_PATH };
    }

    private runtime(role: NodeRole, withAgent: boolean): RoleRuntime {
        const consulImage = `hashicorp/consul:${this.args.consulVersion}`;
        const agent: HostContainer[] = withAgent
            ? [
                  {
                      name: "consul-agent",
                      image: consulImage,
                      flags: ["-v", "/consul/config:/consul/config:ro", "-v", "consul-data:/consul/data"],
                      command: ["agent"],
                  },
              ]
            : [];
        switch (role) {
            case "consul-server":
                return {
                    packages: ["docker.io", "awscli"],
                    services: ["docker"],
                    containers: [
                        {
                            name: "consul",
                            image: consulImage,
                            flags: ["-v", "/consul/config:/consul/config:ro", "-v", "consul-data:/consul/data", "--stop-timeout", "30"],
                            command: ["agent"],
                        },
                    ],
                    exec: (env) => ["docker exec -i", ...env.map((v) => `-e ${v}`), "consul sh -s"].join(" "),
                };
            case "swarm-manager":
            case "swarm-worker":
                // The instance's own engine is the swarm node; daemon.json is in place before docker starts.
                return {
                    packages: ["docker.io", "awscli", "amazon-ecr-credential-helper"],
                    services: ["docker"],
                    containers: agent,
                    exec: () => "sh -s",
                };
            case "lb":
                // HAProxy and keepalived from Debian, run by systemd with the same rendered configs as the dev stack.
                return {
                    packages: ["haproxy", "keepalived", "awscli", "curl", "docker.io"],
                    services: ["docker", "haproxy", "keepalived"],
                    containers: agent,
                    exec: () => "sh -s",
                };
            default:
                return assertNever(role);
        }
    }

    private instanceType(role: NodeRole): string {
        const types = this.args.aws.instanceTypes;
        switch (role) {
            case "consul-server":
                return types.consulServer;
            case "swarm-manager":
                return types.manager;
            case "swarm-worker":
                return types.worker;
            case "lb":
                return types.lb;
            default:
                return assertNever(role);
        }
    }

    private securityGroupsFor(role: NodeRole): aws.ec2.SecurityGroup[] {
        const sg = this.securityGroups;
        switch (role) {
            case "consul-server":
                return [sg.nodes, sg.consulServer];
            case "swarm-manager":
            case "swarm-worker":
                return [sg.nodes, sg.swarm];
            case "lb":
                return [sg.nodes, sg.lb];
            default:
                return assertNever(role);
        }
    }

    /** Files every node of a role gets from the platform itself. */
    private platformFiles(role: NodeRole): NodeFile[] {
        switch (role) {
            case "swarm-manager":
            case "swarm-worker":
                // Nodes pull app images from ECR with the instance role, no docker login.
                return [{ path: "/root/.docker/config.json", content: JSON.stringify({ credsStore: "ecr-login" }) + "\n", mode: "0600" }];
            case "lb":
                return [
                    {
                        path: LB_CHECK_PATH,
                        content: fs.readFileSync(path.join(REPO_ROOT, "images/lb/check_haproxy.sh"), "utf8"),
                        mode: "0755",
                    },
                ];
            case "consul-server":
                return [];
            default:
                return assertNever(role);
        }
    }

    createNode(args: NodeArgs, parent: pulumi.Resource): PlatformNode {
        const zone = this.args.plan.zoneOf[args.address];
        if (zone === undefined) throw new Error(`aws platform: ${args.name}'s address ${args.address} is not in the address plan`);
        const files = [...this.platformFiles(args.role), ...args.files, ...(args.consulAgent?.files ?? [])];
        // Every file is a SecureString: whether a given config holds a secret is not known here.
        const parameters = files.map((file, i) => {
            const parameterName = `${this.parameterRoot}/${args.role}/${args.name}/file-${i}`;
            const parameter = new aws.ssm.Parameter(
                `${args.name}-file-${i}`,
                {
                    name: parameterName,
                    type: "SecureString",
                    tier: "Intelligent-Tiering",
                    value: file.content,
                    description: `${args.name}:${file.path}`,
                },
                { parent },
            );
            return { file: { path: file.path, mode: file.mode, parameter: parameterName } as ParameterFile, resource: parameter };
        });
        const runtime = this.runtime(args.role, args.consulAgent !== undefined);
        const userData = this.region.apply((region) =>
            renderCloudConfig({
                nodeName: args.name,
                region,
                packages: runtime.packages,
                files: parameters.map((p) => p.file),
                services: runtime.services,
                containers: runtime.containers,
            }),
        );
        const instance = new aws.ec2.Instance(
            args.name,
            {
                ami: this.ami,
                instanceType: this.instanceType(args.role),
                subnetId: this.privateSubnets[zone].id,
                privateIp: args.address,
                associatePublicIpAddress: false,
                vpcSecurityGroupIds: this.securityGroupsFor(args.role).map((sg) => sg.id),
                iamInstanceProfile: this.instanceProfiles[args.role].name,
                userData,
                userDataReplaceOnChange: true,
                // IMDSv2 only; hop limit 2 so containers on the node (Consul auto-join) reach it.
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 },
                rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: this.args.aws.rootVolumeGb, deleteOnTermination: true },
                // The LB pair routes the overlay VIP, which is not this instance's own address.
                sourceDestCheck: args.role !== "lb",
                maintenanceOptions: { autoRecovery: "default" },
                tags: {
                    Name: `${this.args.namePrefix}${args.name}`,
                    "swarm-platform:stack": this.args.stack,
                    "swarm-platform:role": args.role,
                    ...(args.role === "consul-server" ? { [CONSUL_JOIN_TAG]: this.args.stack } : {}),
                },
            },
            {
                parent,
                dependsOn: [...parameters.map((p) => p.resource), ...(args.dependsOn ?? [])],
                // The fixed private address must be free before the replacement takes it.
                deleteBeforeReplace: true,
            },
        );
        return { name: args.name, role: args.role, address: args.address, resource: instance, instanceId: instance.id };
    }

    runScript(name: string, args: RunScriptArgs, parent: pulumi.Resource): ScriptRun {
        const role = args.node.role;
        const scriptParameter = `${this.parameterRoot}/${role}/${args.node.name}/${name}`;
        const script = new aws.ssm.Parameter(
            `${name}-script`,
            { name: scriptParameter, type: "SecureString", tier: "Intelligent-Tiering", value: args.script },
            { parent },
        );
        const dependsOn: pulumi.Input<pulumi.Resource>[] = [args.node.resource, script, ...(args.dependsOn ?? [])];
        const lines: pulumi.Input<string>[] = ["set -eu", ...REGION_FROM_IMDS];
        const env: string[] = [];
        for (const [variable, source] of Object.entries(args.secretEnv ?? {})) {
            // The value goes source node → SecureString parameter → this node; never into Pulumi. One
            // parameter per command (all manager joins share the manager token's), under this stack
            // generation's path: a stack destroyed and created again never reads the old swarm's token.
            const parameter = pulumi.interpolate`${this.parameterRoot}/swarm/${this.generation.hex}/${shortHash(source.command)}`;
            if (source.optional === true) {
                // Published by the other nodes' own runs; none yet on the first `pulumi up` (empty). Not
                // published here: the sources are created after this script (a rolling chain), a
                // publish that waited for them would wait forever.
                lines.push(pulumi.interpolate`${variable}=$(${parameter.apply(getParameter)} 2>/dev/null || true)`, `export ${variable}`);
                env.push(variable);
                continue;
            }
            const publish: pulumi.Input<string>[] = [
                "set -eu",
                ...REGION_FROM_IMDS,
                `value=$(${source.command})`,
                pulumi.interpolate`printf %s "$value" | aws ssm put-parameter --type SecureString --overwrite --name ${parameter.apply(shellQuote)} --value file:///dev/stdin >/dev/null`,
            ];
            dependsOn.push(
                this.association(
                    `${name}-${variable.toLowerCase()}-publish`,
                    source.nodes[0],
                    publish,
                    [source.nodes[0].resource, ...(args.dependsOn ?? [])],
                    parent,
                ),
            );
            lines.push(pulumi.interpolate`${variable}=$(${parameter.apply(getParameter)})`, `export ${variable}`);
            env.push(variable);
        }
        lines.push(`${getParameter(scriptParameter)} | ${this.runtime(role, false).exec(env)}`);
        const association = this.association(name, args.node, lines, dependsOn, parent, args.triggers);
        // SSM keeps the output; scripts print nothing Pulumi needs.
        return { resource: association, stdout: pulumi.output("") };
    }

    roleAddress(): undefined {
        // Nodes are found by tag (Consul's cloud auto-join) or fixed address; no shared DNS name.
        return undefined;
    }

    runClusterScript(name: string, args: ClusterScriptArgs, parent: pulumi.Resource): ScriptRun {
        const roles = [...new Set(args.nodes.map((n) => n.role))];
        if (roles.length !== 1) throw new Error(`aws platform: ${name} runs on nodes of ${roles.length} roles; a cluster script takes one`);
        const role = roles[0];
        const scriptParameter = `${this.parameterRoot}/${role}/cluster/${name}`;
        const script = new aws.ssm.Parameter(
            `${name}-script`,
            { name: scriptParameter, type: "SecureString", tier: "Intelligent-Tiering", value: args.script },
            { parent },
        );
        const lines = ["set -eu", ...REGION_FROM_IMDS, `${getParameter(scriptParameter)} | ${this.runtime(role, false).exec([])}`];
        // Every node of the role, one at a time (maxConcurrency 1): the script is idempotent, so the
        // first run converges and the others find nothing to do; a replaced node matches the tag and
        // runs it once more, harmlessly. A changed script is a new association name: it runs again.
        const fingerprint = pulumi.output(args.script).apply((text) => shortHash(text));
        const association = new aws.ssm.Association(
            name,
            {
                name: "AWS-RunShellScript",
                targets: [
                    { key: "tag:swarm-platform:stack", values: [this.args.stack] },
                    { key: "tag:swarm-platform:role", values: [role] },
                ],
                parameters: { commands: lines.join("\n"), executionTimeout: "900" },
                maxConcurrency: "1",
                maxErrors: "0",
                waitForSuccessTimeoutSeconds: 900,
                associationName: pulumi.interpolate`${this.args.namePrefix}${name}-${fingerprint}`,
            },
            { parent, dependsOn: [script, ...args.nodes.map((n) => n.resource), ...(args.dependsOn ?? [])] },
        );
        return { resource: association, stdout: pulumi.output("") };
    }

    /** Runs shell lines once on a node through SSM and waits until they succeeded; re-runs when triggers change. */
    private association(
        name: string,
        node: PlatformNode,
        lines: readonly pulumi.Input<string>[],
        dependsOn: pulumi.Input<pulumi.Resource>[],
        parent: pulumi.Resource,
        triggers: pulumi.Input<unknown>[] = [],
    ): aws.ssm.Association {
        const fingerprint = pulumi
            .all([node.instanceId, ...triggers.map((t) => pulumi.output(t))])
            .apply((parts) => shortHash(JSON.stringify(parts)));
        return new aws.ssm.Association(
            name,
            {
                name: "AWS-RunShellScript",
                targets: [{ key: "InstanceIds", values: [node.instanceId] }],
                parameters: { commands: pulumi.all([...lines]).apply((l) => l.join("\n")), executionTimeout: "900" },
                waitForSuccessTimeoutSeconds: 900,
                associationName: pulumi.interpolate`${this.args.namePrefix}${name}-${fingerprint}`,
            },
            // A new name (node replaced, triggers changed) is a new association: it runs again.
            { parent, dependsOn, replaceOnChanges: ["associationName"], deleteBeforeReplace: true },
        );
    }

    buildImage(args: ImageBuildArgs): BuiltImage {
        const repo = new aws.ecr.Repository(
            `${this.platformName}-${args.name}-repo`,
            {
                name: `${this.args.namePrefix}${args.name}`,
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                forceDelete: true,
            },
            { parent: this, aliases: formerName(args.formerParent, `${args.name}-repo`) },
        );
        const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
        const image = new docker.Image(
            `${this.platformName}-${args.name}-image`,
            {
                imageName: pulumi.interpolate`${repo.repositoryUrl}:${args.tag}`,
                build: {
                    context: REPO_ROOT,
                    dockerfile: path.join(REPO_ROOT, args.dockerfile),
                    args: { ...(args.buildArgs ?? {}) },
                    platform: "linux/amd64",
                },
                registry: { server: auth.proxyEndpoint, username: auth.userName, password: pulumi.secret(auth.password) },
            },
            { parent: this, aliases: formerName(args.formerParent, `${args.name}-image`) },
        );
        return {
            name: args.name,
            ref: image.imageName,
            digest: image.repoDigest,
            resource: image,
            inRegistry: true,
            formerParent: args.formerParent,
        };
    }

    loadImage(): undefined {
        // Nodes pull from ECR themselves (credential helper + instance role): nothing to do per node.
        return undefined;
    }

    ingress(name: string, listeners: readonly IngressListener[]): Ingress {
        const child = { parent: this };
        const urls: Record<string, pulumi.Output<string>> = {};
        const resources: pulumi.Resource[] = [];
        const nlb = new aws.lb.LoadBalancer(
            `${this.platformName}-${name}-nlb`,
            {
                name: `${this.args.namePrefix}${name}`.slice(0, 32),
                loadBalancerType: "network",
                internal: false,
                subnets: this.publicSubnets.map((s) => s.id),
                securityGroups: [this.securityGroups.nlb.id],
                enableCrossZoneLoadBalancing: true,
            },
            child,
        );
        resources.push(nlb);
        for (const listener of listeners) {
            // Only the web listener is public; the rest stay internal (reach them through SSM port forwarding).
            if (listener.name !== "web") {
                const first = listener.upstreams[0];
                urls[listener.name] = pulumi.output(`http://${first.address}:${first.port}`);
                continue;
            }
            // Active-active: the NLB health-checks both HAProxy nodes in two zones.
            const targets = listener.activeActive ?? listener.upstreams;
            const group = new aws.lb.TargetGroup(
                `${this.platformName}-${name}-${listener.name}-tg`,
                {
                    port: listener.port,
                    protocol: "TCP",
                    targetType: "ip",
                    vpcId: this.vpc.id,
                    deregistrationDelay: 10,
                    healthCheck: {
                        protocol: "HTTP",
                        path: LB_MONITOR_URI,
                        port: String(listener.port),
                        interval: 5,
                        healthyThreshold: 2,
                        unhealthyThreshold: 2,
                    },
                },
                child,
            );
            targets.forEach((t) =>
                resources.push(
                    new aws.lb.TargetGroupAttachment(
                        `${this.platformName}-${name}-${listener.name}-${t.name}`,
                        { targetGroupArn: group.arn, targetId: t.address, port: t.port },
                        child,
                    ),
                ),
            );
            resources.push(
                new aws.lb.Listener(
                    `${this.platformName}-${name}-${listener.name}`,
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
}

/** A short stable hash for names. */
function shortHash(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/**
 * Sets AWS_DEFAULT_REGION from IMDSv2 for scripts run by SSM on a node. Separate assignments, so a
 * failed metadata call stops the script under `set -e` (an `export X=$(…)` would hide it).
 */
const REGION_FROM_IMDS = [
    "imds_token=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)",
    'AWS_DEFAULT_REGION=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/placement/region)',
    "export AWS_DEFAULT_REGION",
];

function getParameter(name: string): string {
    return `aws ssm get-parameter --with-decryption --name ${shellQuote(name)} --query Parameter.Value --output text`;
}
