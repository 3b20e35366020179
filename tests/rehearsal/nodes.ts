// The rehearsal's machines: one container per instance of the graph, booted by systemd and
// cloud-init from tests/rehearsal/node/Dockerfile, on a Docker network of the rehearsal's own.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";
import { CommandResult, docker, dockerResult, lines, runCommand } from "../system/docker";
import { RehearsalNode } from "./graph";

/** Label key of every container, network and volume the rehearsal creates (cleanup removes by it). */
export const REHEARSAL_LABEL = "swarm-platform.rehearsal";

export interface RehearsalSettings {
    /** Prefix of every container, network and volume name. */
    readonly prefix: string;
    /** The Docker network's subnet, and the program's VPC CIDR (network.subnet), so the graph's addresses are real here. */
    readonly subnet: string;
    readonly nodeImage: string;
    readonly consulImage: string;
    /** The name an EC2 Nitro instance gives its primary interface (the program's keepalived.conf names it). */
    readonly interfaceName: string;
    /** Leave everything running after the run (the next run removes it first). */
    readonly keep: boolean;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RehearsalSettings {
    return {
        prefix: env.REHEARSAL_PREFIX ?? "sprh-",
        // Not the system tests' 10.213.7.0/24 or 10.213.9.0/24, nor the program's swarm address pools.
        subnet: env.REHEARSAL_SUBNET ?? "10.213.64.0/20",
        nodeImage: env.REHEARSAL_NODE_IMAGE ?? "swarm-platform-rehearsal/node:local",
        consulImage: env.REHEARSAL_CONSUL_IMAGE ?? "swarm-platform-rehearsal/consul-standin:local",
        interfaceName: env.REHEARSAL_INTERFACE ?? "ens5",
        keep: env.REHEARSAL_KEEP === "1",
    };
}

/** The images the rehearsal runs, with how to build them (scripts/system-setup.sh builds them too). */
export function standInImages(s: RehearsalSettings): { tag: string; dockerfile: string }[] {
    return [
        { tag: s.nodeImage, dockerfile: "tests/rehearsal/node/Dockerfile" },
        { tag: s.consulImage, dockerfile: "tests/rehearsal/consul/Dockerfile" },
    ];
}

/** `docker build` from the repository root (sent without node_modules and .git), quietly. */
export async function buildImage(
    dockerfile: string,
    tag: string,
    buildArgs: Record<string, string> = {},
    context = REPO_ROOT,
): Promise<void> {
    // The context goes as a tar on stdin: -f names the Dockerfile inside it.
    const args = ["build", "-q", "-f", path.relative(context, path.resolve(context, dockerfile)), "-t", tag];
    for (const [k, v] of Object.entries(buildArgs)) args.push("--build-arg", `${k}=${v}`);
    const excludes = ["node_modules", ".git", ".pulumi-state", "bench/tmp"].map((e) => `--exclude=./${e}`).join(" ");
    const r = await runCommand(
        "sh",
        ["-c", `tar -C "$1" ${excludes} -c . | docker ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")} -`, "sh", context],
        {
            timeoutMs: 15 * 60_000,
        },
    );
    if (r.code !== 0) throw new Error(`docker build ${tag} (${dockerfile}) failed: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
}

export async function imageExists(tag: string): Promise<boolean> {
    return (await dockerResult(["image", "inspect", tag])).code === 0;
}

/** The n-th host address of an IPv4 CIDR (1 = the first usable one). */
export function hostAddress(cidr: string, n: number): string {
    const [base] = cidr.split("/");
    const value = base.split(".").reduce((acc, o) => acc * 256 + Number(o), 0) + n;
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export function containerName(s: RehearsalSettings, node: RehearsalNode): string {
    return `${s.prefix}${node.name}`;
}

/** EC2's own name for an instance before anything renames it: ip-10-0-1-2. */
export function ec2DefaultHostname(node: RehearsalNode): string {
    return `ip-${node.privateIp.replace(/\./g, "-")}`;
}

export interface NodeSeed {
    /** Access key id of the node's instance-role credentials (the AWS stand-in finds the caller by it). */
    readonly accessKeyId: string;
    readonly awsEndpoint: string;
    readonly accountId: string;
    readonly imagesDir: string;
}

/**
 * Creates (not starts) the node's container and puts in place what EC2 would hand the instance: its
 * user data and instance id (NoCloud seed), its metadata (for the IMDS stand-in) and the AWS API
 * stand-in's address (for the aws wrapper).
 */
export async function createNode(s: RehearsalSettings, network: string, node: RehearsalNode, seed: NodeSeed): Promise<string> {
    const name = containerName(s, node);
    await docker(
        [
            "create",
            "--name",
            name,
            "--label",
            `${REHEARSAL_LABEL}=1`,
            "--hostname",
            ec2DefaultHostname(node),
            // systemd as PID 1 with a Docker engine inside, without --privileged (test-machine.md).
            "--cgroupns",
            "private",
            "--cap-add",
            "ALL",
            "--cap-drop",
            "SYS_RESOURCE",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-e",
            `REHEARSAL_INTERFACE=${s.interfaceName}`,
            "--mount",
            `type=volume,source=${name}-docker,target=/var/lib/docker,volume-label=${REHEARSAL_LABEL}=1`,
            "-v",
            `${seed.imagesDir}:/var/lib/swarm-rehearsal/images:ro`,
            "--network",
            network,
            "--ip",
            node.privateIp,
            s.nodeImage,
        ],
        { timeoutMs: 60_000 },
    );
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), "sprh-seed-"));
    try {
        const put = (file: string, content: string, mode = 0o644) => {
            fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
            fs.writeFileSync(path.join(stage, file), content, { mode });
        };
        put("var/lib/cloud/seed/nocloud/user-data", node.userData);
        put("var/lib/cloud/seed/nocloud/meta-data", `instance-id: ${node.instanceId}\nlocal-hostname: ${ec2DefaultHostname(node)}\n`);
        put("etc/swarm-rehearsal/aws-endpoint", seed.awsEndpoint + "\n");
        put(
            "etc/swarm-rehearsal/imds.json",
            JSON.stringify(
                {
                    region: node.region,
                    availabilityZone: node.availabilityZone,
                    instanceId: node.instanceId,
                    instanceType: node.instanceType,
                    amiId: node.ami,
                    localIpv4: node.privateIp,
                    localHostname: `${ec2DefaultHostname(node)}.${node.region}.compute.internal`,
                    interface: s.interfaceName,
                    interfaceId: `eni-0${Buffer.from(node.name).toString("hex").slice(0, 16).padEnd(16, "0")}`,
                    roleName: node.iamRoleName,
                    instanceProfileArn: `arn:aws:iam::${seed.accountId}:instance-profile/${node.instanceProfileName}`,
                    accountId: seed.accountId,
                    httpTokens: node.metadataHttpTokens,
                    credentials: {
                        AccessKeyId: seed.accessKeyId,
                        SecretAccessKey: `rehearsal-secret-${node.name}`,
                        Token: `rehearsal-session-token-${node.name}`,
                    },
                },
                null,
                2,
            ),
            0o600,
        );
        const r = await runCommand("sh", ["-c", `tar -C "$1" --owner=0 --group=0 -c . | docker cp - "$2":/`, "sh", stage, name]);
        if (r.code !== 0) throw new Error(`seeding ${name}: ${r.stderr.trim()}`);
    } finally {
        fs.rmSync(stage, { recursive: true, force: true });
    }
    return name;
}

/** `docker exec -i NAME sh -s` with `script` on stdin; never rejects for a non-zero exit. */
export function execScript(
    container: string,
    script: string,
    opts: { timeoutMs?: number; envArgs?: string[] } = {},
): Promise<CommandResult> {
    return dockerResult(["exec", "-i", container, ...(opts.envArgs ?? ["sh", "-s"])], {
        input: script.endsWith("\n") ? script : script + "\n",
        timeoutMs: opts.timeoutMs ?? 60_000,
    });
}

/** Removes every container, volume and network of the rehearsal (by label and name prefix). Bounded. */
export async function removeRehearsalObjects(prefix: string): Promise<string[]> {
    const problems: string[] = [];
    const containers = new Set([
        ...lines((await dockerResult(["ps", "-aq", "--filter", `label=${REHEARSAL_LABEL}`])).stdout),
        ...lines((await dockerResult(["ps", "-aq", "--filter", `name=^/${prefix}`])).stdout),
    ]);
    // One at a time: removed all at once, Docker 20.10 may keep an endpoint and the network cannot be
    // removed until dockerd restarts (moby/moby#42119, tests/system/README.md).
    for (const id of containers) {
        const r = await dockerResult(["rm", "-f", "-v", id], { timeoutMs: 120_000 });
        if (r.code !== 0 && !/No such container/.test(r.stderr)) problems.push(`container ${id}: ${r.stderr.trim()}`);
    }
    const networks = new Set([
        ...lines((await dockerResult(["network", "ls", "-q", "--filter", `label=${REHEARSAL_LABEL}`])).stdout),
        ...lines((await dockerResult(["network", "ls", "-q", "--filter", `name=^${prefix}`])).stdout),
    ]);
    for (const n of networks) {
        let r = await dockerResult(["network", "rm", n], { timeoutMs: 30_000 });
        for (let i = 0; i < 5 && r.code !== 0 && /active endpoints/.test(r.stderr); i++) {
            await new Promise((res) => setTimeout(res, 1000));
            r = await dockerResult(["network", "rm", n], { timeoutMs: 30_000 });
        }
        if (r.code !== 0 && !/not found|No such network/i.test(r.stderr)) problems.push(`network ${n}: ${r.stderr.trim()}`);
    }
    const volumes = new Set([
        ...lines((await dockerResult(["volume", "ls", "-q", "--filter", `label=${REHEARSAL_LABEL}`])).stdout),
        ...lines((await dockerResult(["volume", "ls", "-q", "--filter", `name=${prefix}`])).stdout).filter((v) => v.startsWith(prefix)),
    ]);
    if (volumes.size > 0) {
        const r = await dockerResult(["volume", "rm", "-f", ...volumes], { timeoutMs: 120_000 });
        if (r.code !== 0) problems.push(`volumes: ${r.stderr.trim()}`);
    }
    return problems;
}
