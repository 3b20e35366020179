// A node: an EC2 instance in a private subnet with a fixed address, IMDSv2, an encrypted root
// volume, no public IP and its role's instance profile. Its files live in SSM Parameter Store
// (SecureString) and are fetched at boot, so user data holds no secret.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HostContainer, ParameterFile, renderCloudConfig, withAwsLogsDriver } from "../../render/cloudInit";
import { LB_CHECK_SCRIPT_SOURCE, LB_KEEPALIVED_METRICS_SOURCES, LB_NODE_PATHS } from "../../render/lbNode";
import {
    CONSUL_HTTP_SD_PATH,
    CONSUL_HTTP_SD_PORT,
    CONSUL_HTTP_SD_SOURCE,
    PROMETHEUS_PATHS,
    PROMETHEUS_PORT,
    PROMETHEUS_RETENTION,
} from "../../render/prometheus";
import { renderDockerDaemonConfig, renderRegistryAuthRefreshScript } from "../../render/swarm";
import { plannedAddress, REPO_ROOT } from "../shared";
import {
    assertNever,
    DeployedMarksCheck,
    deployedMarksRefusal,
    NodeArgs,
    nodeMarksAndDependencies,
    NodeFile,
    NodeRole,
    PlatformNode,
} from "../types";
import { AwsContext, stackTags } from "./context";
import { AwsMonitoring, instanceAlarms } from "./monitoring";
import { storedText } from "./parameters";

/**
 * Only root may reach the instance metadata service (and so the instance role's credentials). Web
 * tasks use the host network (see render/webService.ts) and run as uid 10001, so the hop limit alone
 * (1, below) does not keep them out; this rule does. Root is the SSM agent, the scripts it runs,
 * dockerd and keepalived's notify script. The Consul agents join by address and need no metadata.
 */
export const IMDS_GUARD_UNIT = "swarm-platform-imds-guard";
const IMDS_GUARD_RULE = "OUTPUT -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j REJECT";
const IMDS_GUARD_UNIT_FILE = [
    "[Unit]",
    "Description=Only root reaches the instance metadata service (tasks share the host network)",
    "Before=docker.service amazon-ssm-agent.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/sbin/iptables -w -I ${IMDS_GUARD_RULE}`,
    `ExecStop=/usr/sbin/iptables -w -D ${IMDS_GUARD_RULE}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
].join("\n");

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
    /** Resources every instance is created after: its way out (NAT, routes, egress rule), its log group. */
    readonly bootDependencies: readonly pulumi.Resource[];
    /** Where its logs go and its alarms notify. */
    readonly monitoring: AwsMonitoring;
}

/** Every role: curl (IMDS calls in every SSM script, the agent download) and iptables (the IMDS guard). */
const BASE_PACKAGES = ["curl", "iptables"];

/**
 * The official image's entrypoint (`set -e`) chowns /consul/config to its consul user when another
 * user owns it (hashicorp/consul .release/docker/docker-entrypoint.sh): a read-only mount of the
 * root-owned directory makes every start fail ("chown: /consul/config: Read-only file system"),
 * found by the boot rehearsal (tests/rehearsal). So the directory is mounted read-write; its files
 * stay root's.
 */
const CONSUL_CONFIG_MOUNT = "/consul/config:/consul/config";

/**
 * The Consul agent runs as the host's own `consul` system user, which owns its config files (mode
 * 0600, NodeFile.owner): the official entrypoint drops to the uid and gid in CONSUL_UID/CONSUL_GID
 * when set, else to the image's consul user (hashicorp/consul .release/docker/docker-entrypoint.sh:
 * `CONSUL_UID="$(id -u consul)"` only `if [ -z "$CONSUL_UID" ]`, then `su-exec ${CONSUL_UID}:${CONSUL_GID}`),
 * and chowns /consul/data and /consul/config to them. The image's uid means nothing on the host
 * (another daemon may hold it there): the host's user is the one the files are given to.
 */
const CONSUL_RUN_AS = { user: "consul", uidVariable: "CONSUL_UID", gidVariable: "CONSUL_GID" } as const;

export function roleRuntime(role: NodeRole, withAgent: boolean, consulVersion: string): RoleRuntime {
    const consulImage = `hashicorp/consul:${consulVersion}`;
    const agent: HostContainer[] = withAgent
        ? [
              {
                  name: "consul-agent",
                  image: consulImage,
                  flags: ["-v", CONSUL_CONFIG_MOUNT, "-v", "consul-data:/consul/data"],
                  command: ["agent"],
                  runAs: CONSUL_RUN_AS,
              },
          ]
        : [];
    switch (role) {
        case "consul-server":
            return {
                packages: ["docker.io", "awscli", ...BASE_PACKAGES],
                services: [IMDS_GUARD_UNIT, "docker"],
                containers: [
                    {
                        name: "consul",
                        image: consulImage,
                        flags: ["-v", CONSUL_CONFIG_MOUNT, "-v", "consul-data:/consul/data", "--stop-timeout", "30"],
                        command: ["agent"],
                        runAs: CONSUL_RUN_AS,
                    },
                ],
                exec: (env) => ["docker exec -i", ...env.map((v) => `-e ${v}`), "consul sh -s"].join(" "),
            };
        case "swarm-manager":
        case "swarm-worker":
            // The instance's own engine is the swarm node; daemon.json is in place before docker starts.
            return {
                packages: ["docker.io", "awscli", "amazon-ecr-credential-helper", ...BASE_PACKAGES],
                services: [IMDS_GUARD_UNIT, "docker", ...(role === "swarm-manager" ? [`${REGISTRY_AUTH_TIMER}.timer`] : [])],
                containers: agent,
                exec: () => "sh -s",
            };
        case "lb":
            // HAProxy and keepalived from Debian, run by systemd with the same rendered configs as the dev stack.
            return {
                packages: ["haproxy", "keepalived", "awscli", "docker.io", ...BASE_PACKAGES],
                services: [IMDS_GUARD_UNIT, "docker", "haproxy", "keepalived"],
                containers: agent,
                exec: () => "sh -s",
            };
        case "monitoring":
            // Debian's Prometheus (run by its own unit with ARGS from /etc/default/prometheus), and the
            // catalog bridge it discovers targets through (nodejs; images/prometheus/consul-http-sd.js).
            return {
                packages: ["prometheus", "nodejs", "awscli", "docker.io", ...BASE_PACKAGES],
                services: [IMDS_GUARD_UNIT, "docker", CONSUL_HTTP_SD_UNIT, "prometheus"],
                containers: agent,
                exec: () => "sh -s",
            };
        default:
            return assertNever(role);
    }
}

const DAEMON_JSON = "/etc/docker/daemon.json";

/**
 * The node's files with its containers' logs going to the stack's log group (withAwsLogsDriver):
 * every role runs dockerd (Consul in containers, the swarm's tasks). A swarm node's daemon.json is
 * the swarm's (SwarmCluster), given its log settings here, because where logs go is the platform's
 * to say (dev keeps json-file); the other roles get the same engine settings (address pools clear
 * of the VPC, live-restore off) with them. Added last: the files' parameters are named by position
 * (`<node>-file-<i>`), and the existing ones keep their names.
 */
function withContainerLogs(ctx: AwsContext, monitoring: AwsMonitoring, nodeName: string, files: readonly NodeFile[]): NodeFile[] {
    const given = files.find((f) => f.path === DAEMON_JSON);
    const base = given?.content ?? renderDockerDaemonConfig({ outerSubnet: ctx.args.plan.vpcCidr });
    const content = pulumi
        .all([pulumi.output(base), ctx.region])
        .apply(([text, region]) => withAwsLogsDriver(text, { nodeName, region, logGroup: monitoring.logGroupName }));
    return given === undefined
        ? [...files, { path: DAEMON_JSON, content, mode: "0644" }]
        : files.map((f) => (f === given ? { ...f, content } : f));
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
        case "monitoring":
            return types.monitoring;
        default:
            return assertNever(role);
    }
}

/** The Prometheus node's catalog bridge, as a systemd unit (the dev image's entrypoint supervises it there). */
export const CONSUL_HTTP_SD_UNIT = "swarm-platform-consul-http-sd";
const PROMETHEUS_NODE_FILES: NodeFile[] = [
    { path: CONSUL_HTTP_SD_PATH, content: fs.readFileSync(path.join(REPO_ROOT, CONSUL_HTTP_SD_SOURCE), "utf8"), mode: "0644" },
    {
        path: `/etc/systemd/system/${CONSUL_HTTP_SD_UNIT}.service`,
        content: [
            "[Unit]",
            "Description=Consul's catalog as Prometheus HTTP service discovery (loopback only)",
            "After=network-online.target docker.service",
            "",
            "[Service]",
            "User=prometheus",
            `Environment=CONSUL_HTTP_TOKEN_FILE=${PROMETHEUS_PATHS.consulToken}`,
            `Environment=LISTEN_PORT=${CONSUL_HTTP_SD_PORT}`,
            `ExecStart=/usr/bin/node ${CONSUL_HTTP_SD_PATH}`,
            "Restart=always",
            "RestartSec=1",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ].join("\n"),
        mode: "0644",
    },
    {
        // Debian's prometheus.service runs `prometheus $ARGS` with this file as its environment.
        path: "/etc/default/prometheus",
        content: `ARGS="--storage.tsdb.path=${PROMETHEUS_PATHS.data} --storage.tsdb.retention.time=${PROMETHEUS_RETENTION} --web.listen-address=:${PROMETHEUS_PORT}"\n`,
        mode: "0644",
    },
];

/** The managers' timer that keeps the services' registry credentials fresh (render/swarm.ts renderRegistryAuthRefreshScript). */
export const REGISTRY_AUTH_TIMER = "swarm-platform-registry-auth";
const REGISTRY_AUTH_SCRIPT = "/usr/local/sbin/swarm-platform-registry-auth";
const REGISTRY_AUTH_FILES: NodeFile[] = [
    { path: REGISTRY_AUTH_SCRIPT, content: renderRegistryAuthRefreshScript(), mode: "0755" },
    {
        path: `/etc/systemd/system/${REGISTRY_AUTH_TIMER}.service`,
        content: [
            "[Unit]",
            "Description=Re-send fresh registry credentials with the swarm's services",
            "After=docker.service",
            "",
            "[Service]",
            "Type=oneshot",
            `ExecStart=/bin/sh ${REGISTRY_AUTH_SCRIPT}`,
            "",
        ].join("\n"),
        mode: "0644",
    },
    {
        path: `/etc/systemd/system/${REGISTRY_AUTH_TIMER}.timer`,
        content: [
            "[Unit]",
            "Description=Refresh the swarm services' registry credentials (ECR tokens last 12 hours)",
            "",
            "[Timer]",
            "OnBootSec=15min",
            "OnUnitActiveSec=6h",
            "RandomizedDelaySec=5min",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ].join("\n"),
        mode: "0644",
    },
];

/** Files every node of a role gets from the platform itself. */
function platformFiles(role: NodeRole): NodeFile[] {
    const guard: NodeFile = { path: `/etc/systemd/system/${IMDS_GUARD_UNIT}.service`, content: IMDS_GUARD_UNIT_FILE, mode: "0644" };
    switch (role) {
        case "swarm-manager":
        case "swarm-worker": {
            // The docker CLI on a node gets ECR credentials from the helper with the instance role, no
            // docker login; a deploy sends them on to the other nodes' daemons (--with-registry-auth).
            const dockerConfig = {
                path: "/root/.docker/config.json",
                content: JSON.stringify({ credsStore: "ecr-login" }) + "\n",
                mode: "0600",
            };
            return role === "swarm-manager" ? [guard, dockerConfig, ...REGISTRY_AUTH_FILES] : [guard, dockerConfig];
        }
        case "lb":
            return [
                guard,
                {
                    path: LB_NODE_PATHS.checkScript,
                    content: fs.readFileSync(path.join(REPO_ROOT, LB_CHECK_SCRIPT_SOURCE), "utf8"),
                    mode: "0755",
                },
                // keepalived's state hook and the Lua service HAProxy serves its file with (as in images/lb).
                {
                    path: LB_NODE_PATHS.keepalivedStateHook,
                    content: fs.readFileSync(path.join(REPO_ROOT, LB_KEEPALIVED_METRICS_SOURCES.stateHook), "utf8"),
                    mode: "0755",
                },
                {
                    path: LB_NODE_PATHS.keepalivedMetricsLua,
                    content: fs.readFileSync(path.join(REPO_ROOT, LB_KEEPALIVED_METRICS_SOURCES.lua), "utf8"),
                    mode: "0644",
                },
            ];
        case "consul-server":
            return [guard];
        case "monitoring":
            return [guard, ...PROMETHEUS_NODE_FILES];
        default:
            return assertNever(role);
    }
}

export function createNode(ctx: AwsContext, placement: NodePlacement, args: NodeArgs, parent: pulumi.Resource): PlatformNode {
    const address = plannedAddress(ctx.args.plan, args.role, args.index);
    const zone = ctx.args.plan.zoneOf[address];
    const { marks, dependsOn } = nodeMarksAndDependencies(args);
    const files = withContainerLogs(ctx, placement.monitoring, args.name, [
        ...platformFiles(args.role),
        ...args.files,
        ...(args.consulAgent?.files ?? []),
    ]);
    // Every file is a SecureString: whether a given config holds a secret is not known here.
    const parameters = files.map((file, i) => {
        const parameterName = `${ctx.parameterRoot}/${args.role}/${args.name}/file-${i}`;
        const resource = storedText(`${args.name}-file-${i}`, parameterName, file.content, `${args.name}:${file.path}`, parent);
        const owner = file.owner === undefined ? {} : { owner: file.owner };
        return { file: { path: file.path, mode: file.mode, parameter: parameterName, ...owner } as ParameterFile, resource };
    });
    // The files' digest goes into user data: a changed file replaces the node (see NodeBootInput).
    // A hash of the contents, never the contents: user data stays free of secrets.
    const filesDigest = pulumi.unsecret(
        pulumi.all(files.map((f) => pulumi.output(f.content))).apply((contents) => {
            const hash = crypto.createHash("sha256");
            files.forEach((f, i) => {
                hash.update(`${f.path}\0${f.mode}\0${contents[i]}\0`);
                // Only when set: files without an owner keep the digest they had before owners existed.
                if (f.owner !== undefined) hash.update(`owner\0${f.owner}\0`);
            });
            return hash.digest("hex");
        }),
    );
    const runtime = roleRuntime(args.role, args.consulAgent !== undefined, ctx.args.consulVersion);
    const userData = pulumi.all([ctx.region, filesDigest]).apply(([region, digest]) =>
        renderCloudConfig({
            nodeName: args.name,
            region,
            packages: runtime.packages,
            files: parameters.map((p) => p.file),
            services: runtime.services,
            containers: runtime.containers,
            filesDigest: digest,
            ssmAgentVersion: ctx.args.aws.ssmAgentVersion,
            hostLogs: { logGroup: placement.monitoring.logGroupName },
        }),
    );
    const type = instanceType(ctx, args.role);
    const instance = new aws.ec2.Instance(
        args.name,
        {
            ami: placement.ami,
            instanceType: type,
            subnetId: placement.privateSubnets[zone].id,
            privateIp: address,
            associatePublicIpAddress: false,
            vpcSecurityGroupIds: placement.securityGroups(args.role).map((sg) => sg.id),
            iamInstanceProfile: placement.instanceProfiles[args.role].name,
            userData,
            userDataReplaceOnChange: true,
            // IMDSv2 only, hop limit 1: a container on a bridge network (one hop more) gets no token.
            // Host-network processes are kept out by the IMDS guard (IMDS_GUARD_UNIT).
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: ctx.args.aws.rootVolumeGb, deleteOnTermination: true },
            // The LB pair routes the overlay VIP, which is not this instance's own address.
            sourceDestCheck: args.role !== "lb",
            maintenanceOptions: { autoRecovery: "default" },
            // Detailed monitoring: the instance's EC2 metrics every minute instead of every five, so an
            // alarm and an operator see a node in trouble in minutes. An update in place
            // (MonitorInstances), not a replacement: `monitoring` is not ForceNew in the provider's
            // aws_instance schema (hashicorp/terraform-provider-aws internal/service/ec2/ec2_instance.go).
            // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-detailed-monitoring.html
            monitoring: true,
            tags: {
                ...stackTags(ctx.args, args.name),
                "swarm-platform:role": args.role,
                ...Object.fromEntries(Object.entries(marks).map(([key, value]) => [markTag(key), value])),
            },
        },
        {
            parent,
            dependsOn: [...parameters.map((p) => p.resource), ...placement.bootDependencies, ...dependsOn],
            // The fixed private address must be free before the replacement takes it.
            deleteBeforeReplace: true,
        },
    );
    instanceAlarms(ctx, placement.monitoring, { name: args.name, instance, instanceType: type }, parent);
    return { name: args.name, role: args.role, address, resource: instance, instanceId: instance.id };
}

/** The instance tag that holds a node's mark (NodeArgs.marks). */
function markTag(key: string): string {
    return `swarm-platform:${key}`;
}

/**
 * The marks of the checked nodes as they run now, by node name ("" = no mark): the tags of this
 * stack's instances of those nodes (EC2 DescribeInstances through the provider's data sources, which
 * run in preview too; a terminated instance does not count, a node with no instance is absent).
 */
export function readDeployedMarks(ctx: AwsContext, check: DeployedMarksCheck, parent: pulumi.Resource): pulumi.Output<Map<string, string>> {
    const byName = new Map(check.nodes.map((n) => [stackTags(ctx.args, n.name).Name, n.name]));
    const instances = aws.ec2.getInstancesOutput(
        {
            filters: [
                { name: "tag:swarm-platform:stack", values: [ctx.args.stack] },
                { name: "tag:Name", values: [...byName.keys()] },
            ],
            instanceStateNames: ["pending", "running", "stopping", "stopped"],
        },
        { parent },
    );
    return instances.ids.apply(async (ids) => {
        const found = await Promise.all(ids.map((instanceId) => aws.ec2.getInstance({ instanceId }, { parent })));
        return new Map(
            found.flatMap((instance) => {
                const node = byName.get(instance.tags.Name ?? "");
                return node === undefined ? [] : [[node, instance.tags[markTag(check.key)] ?? ""] as const];
            }),
        );
    });
}

/**
 * Platform.requireDeployedMarks on AWS: fails the program with the refusal, in preview as in `up`,
 * unless every node's mark as it runs now is allowed. What depends on the result waits for the
 * read: `after` once it passed.
 */
export function requireDeployedMarks(
    ctx: AwsContext,
    check: DeployedMarksCheck,
    after: pulumi.Resource,
    parent: pulumi.Resource,
): pulumi.Output<pulumi.Resource> {
    return readDeployedMarks(ctx, check, parent).apply((deployed) => {
        const refusal = deployedMarksRefusal(check, deployed);
        if (refusal !== undefined) throw new pulumi.RunError(refusal);
        return after;
    });
}
