// Cloud-init user-data and boot scripts for EC2 nodes: pure functions of typed inputs.
//
// User-data carries no secret: every node file (configs with tokens and keys included) lives in
// SSM Parameter Store as a SecureString (gzip + base64, see platforms/aws/parameters.ts), and the
// boot script fetches the node's own files with the instance role, then starts the role's services,
// and installs the SSM agent last — so no association (join, deploy) runs before the node is set up.
import * as yaml from "js-yaml";
import { shellQuote } from "./shell";
import { DECODE_STORED_TEXT } from "./storedForm";

/** A file the boot script fetches from SSM and writes before services start. */
export interface ParameterFile {
    /** Absolute path on the node. */
    readonly path: string;
    /** Octal mode, e.g. "0600". */
    readonly mode: string;
    /** SSM parameter name holding the content (SecureString, gzip + base64). */
    readonly parameter: string;
    /** The system user that owns it (created when missing): the daemon that reads it. Defaults to root. */
    readonly owner?: string;
}

/** A container the node runs with host networking (Consul agents and servers). */
export interface HostContainer {
    readonly name: string;
    readonly image: string;
    /** Extra `docker run` flags, e.g. volumes. */
    readonly flags: readonly string[];
    readonly command: readonly string[];
    /**
     * Run the container's daemon as this host user, whose uid and gid the image's entrypoint reads
     * from the two variables: host files it owns (mode 0600) are then readable by the daemon alone.
     */
    readonly runAs?: { readonly user: string; readonly uidVariable: string; readonly gidVariable: string };
}

export interface NodeBootInput {
    readonly nodeName: string;
    readonly region: string;
    /** Debian packages the role needs (docker.io, haproxy, keepalived, awscli, …). */
    readonly packages: readonly string[];
    readonly files: readonly ParameterFile[];
    /** systemd services to (re)start after the files are in place, in order. */
    readonly services: readonly string[];
    readonly containers: readonly HostContainer[];
    /**
     * Digest of the files' contents. The files are read once, at first boot; user data carrying their
     * digest makes a changed file replace the instance (userDataReplaceOnChange), one node at a time
     * through the same rolling chains as a new AMI — a changed config never silently stays behind.
     */
    readonly filesDigest: string;
    /**
     * The Amazon SSM agent to install: Debian's AMIs ship none (their EC2 package set is awscli,
     * cloud-init, cloud-guest-utils, amazon-ec2-utils) and Debian packages none. "latest" or a version.
     */
    readonly ssmAgentVersion: string;
}

/**
 * Where AWS publishes the SSM agent's Debian package, per version ("latest" included): AWS's
 * "Manually installing SSM Agent on Debian Server instances"
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html).
 */
export function ssmAgentPackageUrl(version: string): string {
    return `https://s3.amazonaws.com/ec2-downloads-windows/SSMAgent/${version}/debian_amd64/amazon-ssm-agent.deb`;
}

/** The boot script: fetch files, start services and containers, then the SSM agent. Runs once per instance (first boot); idempotent. */
export function renderNodeBootScript(input: NodeBootInput): string {
    const lines = [
        "#!/bin/sh",
        `# Boot of ${input.nodeName}: fetch this node's files from SSM, start its services, then the SSM agent.`,
        `# Files digest: ${input.filesDigest}`,
        "set -eu",
        `export AWS_DEFAULT_REGION=${shellQuote(input.region)}`,
        "",
        "# fetch PARAMETER PATH MODE [OWNER]: write the SecureString's value to PATH, atomically, with MODE",
        "# (and OWNER): it is never readable by anyone else, not even while it is written.",
        "fetch() {",
        '  mkdir -p "$(dirname "$2")"',
        '  tmp="$2.tmp.$$"',
        `  ( umask 077; aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text | ${DECODE_STORED_TEXT} >"$tmp" )`,
        '  chmod "$3" "$tmp"',
        '  [ -z "${4:-}" ] || chown "$4:$4" "$tmp"',
        '  mv -f "$tmp" "$2"',
        "}",
        "",
    ];
    const owners = [...new Set([...input.files.flatMap((f) => f.owner ?? []), ...input.containers.flatMap((c) => c.runAs?.user ?? [])])];
    if (owners.length > 0) {
        lines.push("# The daemons' own system users: each owns the files only it may read.");
        for (const user of owners) {
            lines.push(
                `id -u ${shellQuote(user)} >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${shellQuote(user)}`,
            );
        }
        lines.push("");
    }
    if (input.files.length > 0) {
        lines.push(
            "# The instance role may be a few seconds behind the instance: retry the first fetch.",
            "for attempt in 1 2 3 4 5 6 7 8 9 10; do",
            `  if aws ssm get-parameter --name ${shellQuote(input.files[0].parameter)} --query Parameter.Name --output text >/dev/null 2>&1; then break; fi`,
            '  echo "boot: SSM not reachable yet (attempt $attempt)" >&2',
            "  sleep 3",
            "done",
            "",
        );
    }
    for (const f of input.files) {
        lines.push(`fetch ${[f.parameter, f.path, f.mode, ...(f.owner === undefined ? [] : [f.owner])].map(shellQuote).join(" ")}`);
    }
    if (input.services.length > 0) {
        lines.push("", ...input.services.map((s) => `systemctl enable ${shellQuote(s)} && systemctl restart ${shellQuote(s)}`));
    }
    for (const c of input.containers) {
        const run = [
            "docker",
            "run",
            "-d",
            "--name",
            c.name,
            "--network",
            "host",
            "--restart",
            "unless-stopped",
            ...(c.runAs === undefined ? [] : ["-e", c.runAs.uidVariable, "-e", c.runAs.gidVariable]),
            ...c.flags,
            c.image,
            ...c.command,
        ];
        lines.push("", `docker rm -f ${shellQuote(c.name)} >/dev/null 2>&1 || true`);
        if (c.runAs !== undefined) {
            const { user, uidVariable, gidVariable } = c.runAs;
            lines.push(
                `${uidVariable}=$(id -u ${shellQuote(user)})`,
                `${gidVariable}=$(id -g ${shellQuote(user)})`,
                `export ${uidVariable} ${gidVariable}`,
            );
        }
        lines.push(run.map(shellQuote).join(" "));
    }
    lines.push(
        "",
        "# Last: the SSM agent. Associations (swarm join, deploys) reach the node only once it is set up.",
        "if ! dpkg -s amazon-ssm-agent >/dev/null 2>&1; then",
        `  curl -fsSL --retry 5 -o /tmp/amazon-ssm-agent.deb ${shellQuote(ssmAgentPackageUrl(input.ssmAgentVersion))}`,
        "  dpkg -i /tmp/amazon-ssm-agent.deb",
        "  rm -f /tmp/amazon-ssm-agent.deb",
        "fi",
        "systemctl enable amazon-ssm-agent && systemctl restart amazon-ssm-agent",
        "",
        `echo "boot: ${input.nodeName} is up"`,
        "",
    );
    return lines.join("\n");
}

/** `#cloud-config` that installs the role's packages and runs the boot script at the instance's first boot. */
export function renderCloudConfig(input: NodeBootInput): string {
    const bootPath = "/usr/local/sbin/swarm-platform-boot";
    const doc = {
        // The node's name is its hostname: the swarm scripts check the engine's name against it, and
        // dockerd takes its name from the hostname when it first starts (after this, in the packages
        // step). Without it the instance keeps EC2's ip-10-20-… name. /etc/hosts resolves it.
        hostname: input.nodeName,
        preserve_hostname: false,
        prefer_fqdn_over_hostname: false,
        manage_etc_hosts: true,
        package_update: true,
        package_upgrade: false,
        packages: [...input.packages],
        write_files: [{ path: bootPath, permissions: "0755", owner: "root:root", content: renderNodeBootScript(input) }],
        // runcmd runs once per instance; a reboot needs no rerun: the files stay on disk, the
        // services are enabled and the containers restart unless stopped.
        runcmd: [[bootPath]],
    };
    return "#cloud-config\n" + yaml.dump(doc, { lineWidth: -1, noRefs: true, sortKeys: false });
}

export interface VipRouteNotifyInput {
    /** Overlay VIP routed to the MASTER, e.g. 192.168.255.10. */
    readonly vip: string;
    /** Route tables that carry the VIP's /32 route (the private and public ones). */
    readonly routeTableIds: readonly string[];
    readonly region: string;
}

/**
 * keepalived notify script for AWS: on becoming MASTER, point the VIP's /32 route in every route
 * table at this instance's primary network interface (found through IMDSv2). VPC routing does
 * not see gratuitous ARP, so this API call is what moves the VIP; it works across zones.
 */
export function renderVipRouteNotifyScript(input: VipRouteNotifyInput): string {
    return [
        "#!/bin/sh",
        "# keepalived notify: TYPE NAME STATE PRIORITY. Moves the VIP route on MASTER.",
        "set -eu",
        '[ "${3:-}" = MASTER ] || exit 0',
        `export AWS_DEFAULT_REGION=${shellQuote(input.region)}`,
        'imds_token=$(curl -fsS -m 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)',
        // The session token opens IMDS (the instance role's keys): on curl's stdin (-H @-), never in argv.
        "mac=$(printf 'X-aws-ec2-metadata-token: %s\\n' \"$imds_token\" | curl -fsS -m 2 -H @- http://169.254.169.254/latest/meta-data/mac)",
        'eni=$(printf \'X-aws-ec2-metadata-token: %s\\n\' "$imds_token" | curl -fsS -m 2 -H @- "http://169.254.169.254/latest/meta-data/network/interfaces/macs/$mac/interface-id")',
        `for rt in ${input.routeTableIds.map(shellQuote).join(" ")}; do`,
        `  aws ec2 replace-route --route-table-id "$rt" --destination-cidr-block ${shellQuote(`${input.vip}/32`)} --network-interface-id "$eni" \\`,
        `    || aws ec2 create-route --route-table-id "$rt" --destination-cidr-block ${shellQuote(`${input.vip}/32`)} --network-interface-id "$eni"`,
        "done",
        'logger -t vip-notify "VIP route now points at $eni"',
        "",
    ].join("\n");
}
