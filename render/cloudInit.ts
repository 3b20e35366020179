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
    /** When set, the node's journal (host daemons, this boot) goes to this CloudWatch Logs group. */
    readonly hostLogs?: HostLogShipping;
}

/** Where a node's host logs go: its systemd journal, shipped by Fluent Bit (FLUENT_BIT). */
export interface HostLogShipping {
    /** The CloudWatch Logs group (it exists before the node boots: nothing here creates one). */
    readonly logGroup: string;
}

/**
 * Fluent Bit, the journal's shipper. Debian 12 packages no CloudWatch agent, and Amazon's own agent
 * reads journald only since 2026 (aws/amazon-cloudwatch-agent#2121, merged 2026-05-13; before, files
 * only: #382); Fluent Bit's `systemd` input reads the journal directly and its `cloudwatch_logs`
 * output is the one AWS builds into aws-for-fluent-bit. Pinned like everything a node installs:
 * - the release: 5.1.4 (github.com/fluent/fluent-bit/releases/tag/v5.1.4); Debian 12 is a build
 *   target of its packages (packaging/build-config.json: debian/bookworm);
 * - the source: Fluent Bit's apt repository, whose Release file apt checks against the repository
 *   key, and each package against the Release file's SHA256
 *   (https://docs.fluentbit.io/manual/installation/downloads/linux/debian, signed-by per
 *   https://wiki.debian.org/DebianRepository/UseThirdParty);
 * - the key: downloaded, and trusted only when its one primary key has the fingerprint Fluent Bit
 *   publishes, "C3C0 A285 34B9 293E AF51 FABD 9F9D DC08 3888 C1CD — Fluentbit releases (Releases
 *   signing key)" (fluent/fluent-bit-docs installation/linux/README.md, since 1.9.0).
 * A new release or key is a change to this program, reviewed: it replaces the nodes one at a time.
 */
export const FLUENT_BIT = {
    version: "5.1.4",
    keyUrl: "https://packages.fluentbit.io/fluentbit.key",
    keyFingerprint: "C3C0A28534B9293EAF51FABD9F9DDC083888C1CD",
    aptSource: "https://packages.fluentbit.io/debian/bookworm bookworm main",
    /** The package's binary (its unit runs /opt/fluent-bit/bin/fluent-bit with the package's own config). */
    binary: "/opt/fluent-bit/bin/fluent-bit",
    config: "/etc/fluent-bit/swarm-platform.conf",
    /** The systemd input's journal cursor: a restarted Fluent Bit resumes where it was, it does not resend. */
    cursorDb: "/var/lib/fluent-bit/journal.db",
} as const;

/**
 * Fluent Bit's config (classic format): the whole journal — haproxy, keepalived, dockerd, the SSM
 * agent, cloud-init's run of the boot script, the kernel (OOM kills) — into the node's streams of
 * the log group, one per systemd unit: `<node>/host.<unit>` (the systemd input expands `host.*` with
 * the unit, `host.unknown` without one:
 * https://docs.fluentbit.io/manual/pipeline/inputs/systemd). Each event is the entry's MESSAGE
 * (`log_key`); the unit is in the stream's name. The group is never created here
 * (`auto_create_group` off: the instance role may not, IAM grants streams and events only).
 * Options: https://docs.fluentbit.io/manual/pipeline/outputs/cloudwatch.
 */
export function renderFluentBitConfig(input: { readonly nodeName: string; readonly region: string; readonly logGroup: string }): string {
    return [
        "[SERVICE]",
        "    Flush              5",
        "    Log_Level          warn",
        "",
        "[INPUT]",
        "    Name               systemd",
        "    Tag                host.*",
        `    DB                 ${FLUENT_BIT.cursorDb}`,
        "    Strip_Underscores  On",
        "",
        "[OUTPUT]",
        "    Name               cloudwatch_logs",
        "    Match              host.*",
        `    region             ${input.region}`,
        `    log_group_name     ${input.logGroup}`,
        `    log_stream_prefix  ${input.nodeName}/`,
        "    log_key            MESSAGE",
        "    auto_create_group  Off",
        "",
    ].join("\n");
}

/**
 * The boot script's part that installs and starts the journal's shipper (FLUENT_BIT). Not fatal: a
 * node whose log shipper cannot be installed (the package host down, a rotated key) still boots and
 * joins — the rolling replacement deletes a node before its successor boots, so a failed boot would
 * leave a quorum group a member short for a logging outage. The failure is said on the console and
 * in cloud-init's log; container logs do not depend on it (dockerd's awslogs driver).
 */
function hostLogShippingLines(input: NodeBootInput, logs: HostLogShipping): string[] {
    const key = "/usr/share/keyrings/fluentbit.asc";
    const dropIn = "/etc/systemd/system/fluent-bit.service.d/swarm-platform.conf";
    return [
        `# Host logs (the journal) to CloudWatch Logs ${logs.logGroup}: Fluent Bit ${FLUENT_BIT.version} from its signed apt`,
        "# repository, whose key is trusted only with the fingerprint Fluent Bit publishes.",
        "ship_host_logs() {",
        `  curl -fsSL --retry 3 --connect-timeout 10 -m 60 -o ${key}.tmp ${shellQuote(FLUENT_BIT.keyUrl)} || return 1`,
        "  gnupg_home=$(mktemp -d) || return 1",
        `  fingerprints=$(GNUPGHOME="$gnupg_home" gpg --batch --show-keys --with-colons ${key}.tmp | awk -F: '$1 == "pub" { getline; print $10 }')`,
        '  rm -rf "$gnupg_home"',
        `  if [ "$fingerprints" != ${FLUENT_BIT.keyFingerprint} ]; then`,
        '    echo "boot: the Fluent Bit repository key is not the published one (primary keys: $fingerprints)" >&2',
        "    return 1",
        "  fi",
        `  mv -f ${key}.tmp ${key} || return 1`,
        `  echo ${shellQuote(`deb [signed-by=${key}] ${FLUENT_BIT.aptSource}`)} >/etc/apt/sources.list.d/fluent-bit.list || return 1`,
        "  apt-get update -o Dir::Etc::sourcelist=sources.list.d/fluent-bit.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 || return 1",
        `  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${shellQuote(`fluent-bit=${FLUENT_BIT.version}`)} || return 1`,
        "  apt-mark hold fluent-bit >/dev/null || return 1",
        `  mkdir -p ${posixDirname(FLUENT_BIT.cursorDb)} ${posixDirname(FLUENT_BIT.config)} ${posixDirname(dropIn)} || return 1`,
        `  cat >${FLUENT_BIT.config} <<'FLUENT_BIT_CONFIG' || return 1`,
        renderFluentBitConfig({ nodeName: input.nodeName, region: input.region, logGroup: logs.logGroup }) + "FLUENT_BIT_CONFIG",
        "  # The package's unit, with this config instead of the package's example one.",
        `  printf '%s\\n' '[Service]' 'ExecStart=' ${shellQuote(`ExecStart=${FLUENT_BIT.binary} -c ${FLUENT_BIT.config}`)} >${dropIn} || return 1`,
        "  systemctl daemon-reload && systemctl enable fluent-bit && systemctl restart fluent-bit",
        "}",
        'ship_host_logs || echo "boot: WARNING: host logs do not reach CloudWatch Logs (Fluent Bit not installed); container logs do" >&2',
    ];
}

/** The directory of an absolute path. */
function posixDirname(path: string): string {
    return path.slice(0, path.lastIndexOf("/"));
}

/**
 * A node's `/etc/docker/daemon.json` with its containers' logs sent to CloudWatch Logs: Docker's
 * `awslogs` driver as the engine's default, so every container (Consul, the swarm's web tasks) logs
 * there without a flag of its own. `base` keeps every other setting; the json-file rotation options
 * go (the driver refuses options it does not know). Log options
 * (https://docs.docker.com/engine/logging/drivers/awslogs/):
 * - awslogs-region, awslogs-group: the stack's group, made before the node; never created by the
 *   driver (awslogs-create-group defaults to false, and the instance role may not);
 * - tag: the stream, `<node>/<container name>` — one stream per container, as the driver wants
 *   ("Log streams within a given log group should only be used by one container at a time");
 * - mode non-blocking, with a 4 MB buffer per container (the default is 1 MB): a container whose
 *   logs cannot be sent (the API unreachable, a throttle) still starts and never blocks on a write —
 *   the stream is created at the first log, not at start, in non-blocking mode (moby/moby#36522;
 *   in blocking mode, the default, such a container does not start: moby/moby#33803) — and lines
 *   beyond the buffer are dropped while the driver cannot send
 *   (https://docs.docker.com/engine/logging/configure/#configure-the-delivery-mode-of-log-messages-from-container-to-log-driver).
 * `docker logs` still works: dockerd keeps a local copy for any driver ("dual logging", Docker 20.10+;
 * Debian 12 ships 20.10: https://docs.docker.com/engine/logging/dual-logging/).
 */
export function withAwsLogsDriver(
    base: string,
    input: { readonly nodeName: string; readonly region: string; readonly logGroup: string },
): string {
    const config = JSON.parse(base) as Record<string, unknown>;
    config["log-driver"] = "awslogs";
    config["log-opts"] = {
        "awslogs-region": input.region,
        "awslogs-group": input.logGroup,
        tag: `${input.nodeName}/{{.Name}}`,
        mode: "non-blocking",
        "max-buffer-size": "4m",
    };
    return `${JSON.stringify(config, null, 2)}\n`;
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
        input.hostLogs === undefined
            ? "# Last: the SSM agent. Associations (swarm join, deploys) reach the node only once it is set up."
            : "# Then the SSM agent. Associations (swarm join, deploys) reach the node only once it is set up.",
        "if ! dpkg -s amazon-ssm-agent >/dev/null 2>&1; then",
        `  curl -fsSL --retry 5 -o /tmp/amazon-ssm-agent.deb ${shellQuote(ssmAgentPackageUrl(input.ssmAgentVersion))}`,
        "  dpkg -i /tmp/amazon-ssm-agent.deb",
        "  rm -f /tmp/amazon-ssm-agent.deb",
        "fi",
        "systemctl enable amazon-ssm-agent && systemctl restart amazon-ssm-agent",
        "",
    );
    // After the agent, last: the node serves and joins without waiting for a package host it does not need.
    if (input.hostLogs !== undefined) lines.push(...hostLogShippingLines(input, input.hostLogs), "");
    lines.push(`echo "boot: ${input.nodeName} is up"`, "");
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
        // gpg: the boot script checks the Fluent Bit repository key's fingerprint (hostLogShippingLines).
        packages: [...input.packages, ...(input.hostLogs === undefined ? [] : ["gpg"])],
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
