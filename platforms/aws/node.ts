// A node: an EC2 instance in a private subnet with a fixed address, IMDSv2, an encrypted root
// volume, no public IP and its role's instance profile. Its files live in SSM Parameter Store
// (SecureString) and are fetched at boot, so user data holds no secret.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HostContainer, ParameterFile, renderCloudConfig } from "../../render/cloudInit";
import { REPO_ROOT } from "../local";
import { assertNever, NodeArgs, NodeFile, NodeRole, PlatformNode } from "../types";
import { AwsContext } from "./context";

/** Consul cloud auto-join finds servers by this tag (value: the stack). */
export const CONSUL_JOIN_TAG = "swarm-platform-consul-server";
const LB_CHECK_PATH = "/usr/local/bin/check_haproxy.sh";

/** How each role exists on an instance: Debian packages, systemd services, host-network containers. */
export interface RoleRuntime {
    readonly packages: string[];
    readonly services: string[];
    readonly containers: HostContainer[];
    /** The command that runs a script (on stdin) where the role's tools are, passing these env variables. */
    readonly exec: (env: readonly string[]) => string;
}

/** What a node is placed on and in: decided by the platform for the whole stack. */
export interface NodePlacement {
    readonly ami: pulumi.Input<string>;
    readonly privateSubnets: readonly aws.ec2.Subnet[];
    readonly securityGroups: (role: NodeRole) => aws.ec2.SecurityGroup[];
    readonly instanceProfiles: Record<NodeRole, aws.iam.InstanceProfile>;
    /** Resources every instance is created after: its way out (NAT, routes, egress rule). */
    readonly bootDependencies: readonly pulumi.Resource[];
}

export function roleRuntime(role: NodeRole, withAgent: boolean, consulVersion: string): RoleRuntime {
    const consulImage = `hashicorp/consul:${consulVersion}`;
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

function instanceType(ctx: AwsContext, role: NodeRole): string {
    const types = ctx.args.aws.instanceTypes;
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

/** Files every node of a role gets from the platform itself. */
function platformFiles(role: NodeRole): NodeFile[] {
    switch (role) {
        case "swarm-manager":
        case "swarm-worker":
            // Nodes pull app images from ECR with the instance role, no docker login.
            return [{ path: "/root/.docker/config.json", content: JSON.stringify({ credsStore: "ecr-login" }) + "\n", mode: "0600" }];
        case "lb":
            return [
                { path: LB_CHECK_PATH, content: fs.readFileSync(path.join(REPO_ROOT, "images/lb/check_haproxy.sh"), "utf8"), mode: "0755" },
            ];
        case "consul-server":
            return [];
        default:
            return assertNever(role);
    }
}

export function createNode(ctx: AwsContext, placement: NodePlacement, args: NodeArgs, parent: pulumi.Resource): PlatformNode {
    const zone = ctx.args.plan.zoneOf[args.address];
    if (zone === undefined) throw new Error(`aws platform: ${args.name}'s address ${args.address} is not in the address plan`);
    const files = [...platformFiles(args.role), ...args.files, ...(args.consulAgent?.files ?? [])];
    // Every file is a SecureString: whether a given config holds a secret is not known here.
    const parameters = files.map((file, i) => {
        const parameterName = `${ctx.parameterRoot}/${args.role}/${args.name}/file-${i}`;
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
    const runtime = roleRuntime(args.role, args.consulAgent !== undefined, ctx.args.consulVersion);
    const userData = ctx.region.apply((region) =>
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
            ami: placement.ami,
            instanceType: instanceType(ctx, args.role),
            subnetId: placement.privateSubnets[zone].id,
            privateIp: args.address,
            associatePublicIpAddress: false,
            vpcSecurityGroupIds: placement.securityGroups(args.role).map((sg) => sg.id),
            iamInstanceProfile: placement.instanceProfiles[args.role].name,
            userData,
            userDataReplaceOnChange: true,
            // IMDSv2 only; hop limit 2 so containers on the node (Consul auto-join) reach it.
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: ctx.args.aws.rootVolumeGb, deleteOnTermination: true },
            // The LB pair routes the overlay VIP, which is not this instance's own address.
            sourceDestCheck: args.role !== "lb",
            maintenanceOptions: { autoRecovery: "default" },
            tags: {
                Name: `${ctx.args.namePrefix}${args.name}`,
                "swarm-platform:stack": ctx.args.stack,
                "swarm-platform:role": args.role,
                ...(args.role === "consul-server" ? { [CONSUL_JOIN_TAG]: ctx.args.stack } : {}),
            },
        },
        {
            parent,
            dependsOn: [...parameters.map((p) => p.resource), ...placement.bootDependencies, ...(args.dependsOn ?? [])],
            // The fixed private address must be free before the replacement takes it.
            deleteBeforeReplace: true,
        },
    );
    return { name: args.name, role: args.role, address: args.address, resource: instance, instanceId: instance.id };
}
