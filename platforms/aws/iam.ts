// One IAM role and instance profile per node role, each allowed only what that role does.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NodeRole } from "../types";
import { AwsContext, stackTags } from "./context";
import { ecrNamespace } from "./names";
import { tokenPathFor } from "./scripts";

export function createInstanceProfiles(
    ctx: AwsContext,
    routeTables: readonly aws.ec2.RouteTable[],
    logGroupStreamsArn: pulumi.Input<string>,
): Record<NodeRole, aws.iam.InstanceProfile> {
    const name = ctx.platformName;
    const tags = (resourceName: string) => stackTags(ctx.args, resourceName);
    const child = { parent: ctx.component };
    const arn = (service: string, resource: pulumi.Input<string>) =>
        pulumi.interpolate`arn:aws:${service}:${ctx.region}:${ctx.accountId}:${resource}`;
    const parameters = (prefix: string) => arn("ssm", `parameter${ctx.parameterRoot}/${prefix}/*`);
    const tokens = (consumer: NodeRole) => arn("ssm", `parameter${tokenPathFor(ctx.parameterRoot, consumer)}/*`);
    const roles: NodeRole[] = ["consul-server", "swarm-manager", "swarm-worker", "lb", "monitoring"];
    const profiles = {} as Record<NodeRole, aws.iam.InstanceProfile>;
    for (const role of roles) {
        const statements: pulumi.Input<object>[] = [
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
            // Every node ships its logs (dockerd's awslogs driver, Fluent Bit: node.ts) to the stack's log
            // group, and only there: streams and events, never the group itself (it is Pulumi's). The
            // two actions both need: Docker, "logs:CreateLogStream and logs:PutLogEvents"
            // (https://docs.docker.com/engine/logging/drivers/awslogs/#credentials); Fluent Bit's
            // cloudwatch_logs calls CreateLogStream and PutLogEvents, and CreateLogGroup only with
            // auto_create_group (fluent/fluent-bit plugins/out_cloudwatch_logs/cloudwatch_api.c) — no
            // DescribeLogStreams.
            { Sid: "ShipLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: logGroupStreamsArn },
        ];
        if (role === "swarm-manager" || role === "swarm-worker") {
            // Join tokens travel manager → Parameter Store (SecureString) → joining node. Each role reads
            // only the tokens published for it: a worker (whose web tasks face the internet) can never
            // read the manager token and join as a manager.
            statements.push({ Sid: "JoinTokensRead", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: tokens(role) });
            statements.push({ Sid: "PullAppImages", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" });
            statements.push({
                Sid: "PullAppImagesFromOwnRepos",
                Effect: "Allow",
                Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                Resource: arn("ecr", `repository/${ecrNamespace(ctx.args.project, ctx.args.stack)}/*`),
            });
        }
        if (role === "swarm-manager") {
            // Managers publish both roles' tokens.
            statements.push({
                Sid: "JoinTokensWrite",
                Effect: "Allow",
                Action: ["ssm:PutParameter"],
                Resource: [tokens("swarm-manager"), tokens("swarm-worker")],
            });
        }
        if (role === "lb") {
            // Moving the overlay VIP: point its /32 route at this node, in this stack's route tables only.
            statements.push({
                Sid: "MoveVipRoute",
                Effect: "Allow",
                Action: ["ec2:ReplaceRoute", "ec2:CreateRoute"],
                Resource: routeTables.map((rt) => arn("ec2", pulumi.interpolate`route-table/${rt.id}`)),
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
        const policy = new aws.iam.RolePolicy(
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
            // An instance boots with its profile and reads Parameter Store at once: the grant comes first.
            { ...child, dependsOn: [policy] },
        );
    }
    return profiles;
}
