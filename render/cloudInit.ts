// Cloud-init user-data and boot scripts for EC2 nodes: pure functions of typed inputs.
//
// User-data carries no secret: every node file (configs with tokens and keys included) lives in
// SSM Parameter Store as a SecureString, and the boot script fetches the node's own files with
// the instance role, then starts the role's services.
import * as yaml from "js-yaml";
import { shellQuote } from "./shell";

/** A file the boot script fetches from SSM and writes before services start. */
export interface ParameterFile {
    /** Absolute path on the node. */
    readonly path: string;
    /** Octal mode, e.g. "0600". */
    readonly mode: string;
    /** SSM parameter name holding the content (SecureString). */
    readonly parameter: string;
}

/** A container the node runs with host networking (Consul agents and servers). */
export interface HostContainer {
    readonly name: string;
    readonly image: string;
    /** Extra `docker run` flags, e.g. volumes. */
    readonly flags: readonly string[];
    readonly command: readonly string[];
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
}

/** The boot script: fetch files, start services and containers. Idempotent (runs on every boot). */
export function renderNodeBootScript(input: NodeBootInput): string {
    const lines = [
        "#!/bin/sh",
        `# Boot of ${input.nodeName}: fetch this node's files from SSM, then start its services.`,
        "set -eu",
        `export AWS_DEFAULT_REGION=${shellQuote(input.region)}`,
        "",
        "# fetch PARAMETER PATH MODE: write the SecureString's value to PATH, atomically, with MODE.",
        "fetch() {",
        '  mkdir -p "$(dirname "$2")"',
        '  tmp="$2.tmp.$$"',
        '  ( umask 077; aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text >"$tmp" )',
        '  chmod "$3" "$tmp"',
        '  mv -f "$tmp" "$2"',
        "}",
        "",
    ];
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
    for (const f of input.files) lines.push(`fetch ${shellQuote(f.parameter)} ${shellQuote(f.path)} ${shellQuote(f.mode)}`);
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
            ...c.flags,
            c.image,
            ...c.command,
        ];
        lines.push("", `docker rm -f ${shellQuote(c.name)} >/dev/null 2>&1 || true`, run.map(shellQuote).join(" "));
    }
    lines.push("", `echo "boot: ${input.nodeName} is up"`, "");
    return lines.join("\n");
}

/** `#cloud-config` that installs the role's packages and runs the boot script on every boot. */
export function renderCloudConfig(input: NodeBootInput): string {
    const bootPath = "/usr/local/sbin/swarm-platform-boot";
    const doc = {
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
        'mac=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/mac)',
        'eni=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $imds_token" "http://169.254.169.254/latest/meta-data/network/interfaces/macs/$mac/interface-id")',
        `for rt in ${input.routeTableIds.map(shellQuote).join(" ")}; do`,
        `  aws ec2 replace-route --route-table-id "$rt" --destination-cidr-block ${shellQuote(`${input.vip}/32`)} --network-interface-id "$eni" \\`,
        `    || aws ec2 create-route --route-table-id "$rt" --destination-cidr-block ${shellQuote(`${input.vip}/32`)} --network-interface-id "$eni"`,
        "done",
        'logger -t vip-notify "VIP route now points at $eni"',
        "",
    ].join("\n");
}
