import * as yaml from "js-yaml";
import { renderCloudConfig, renderNodeBootScript, renderVipRouteNotifyScript } from "../../render/cloudInit";

const input = {
    nodeName: "swarm-worker-0",
    region: "eu-west-1",
    packages: ["docker.io", "awscli"],
    files: [
        { path: "/etc/docker/daemon.json", mode: "0644", parameter: "/swarm-platform/prod/swarm-worker/swarm-worker-0/file-0" },
        { path: "/consul/config/client.json", mode: "0644", parameter: "/swarm-platform/prod/swarm-worker/swarm-worker-0/file-1" },
    ],
    services: ["docker"],
    containers: [
        { name: "consul-agent", image: "hashicorp/consul:1.20.2", flags: ["-v", "/consul/config:/consul/config:ro"], command: ["agent"] },
    ],
    filesDigest: "0f".repeat(32),
    ssmAgentVersion: "latest",
};

describe("cloud-config user-data", () => {
    let text: string;
    beforeEach(() => {
        text = renderCloudConfig(input);
    });
    let doc: any;
    beforeEach(() => {
        doc = yaml.load(text.replace(/^#cloud-config\n/, "")) as any;
    });

    test("is a #cloud-config document that installs the role's packages and runs the boot script once", () => {
        expect(text.startsWith("#cloud-config\n")).toBe(true);
        expect(doc.packages).toEqual(["docker.io", "awscli"]);
        expect(doc.write_files[0].path).toBe("/usr/local/sbin/swarm-platform-boot");
        expect(doc.runcmd).toEqual([["/usr/local/sbin/swarm-platform-boot"]]);
    });

    test("the boot script fetches each file from its SecureString parameter with its mode, then starts services and containers", () => {
        const boot = doc.write_files[0].content as string;
        expect(boot).toContain("fetch /swarm-platform/prod/swarm-worker/swarm-worker-0/file-0 /etc/docker/daemon.json 0644");
        expect(boot).toMatch(/systemctl enable docker && systemctl restart docker/);
        expect(boot).toMatch(
            /docker run -d --name consul-agent --network host --restart unless-stopped -v \/consul\/config:\/consul\/config:ro hashicorp\/consul:1\.20\.2 agent/,
        );
        expect(boot.indexOf("fetch /swarm")).toBeLessThan(boot.indexOf("systemctl restart docker"));
    });

    test("sets the hostname to the node name, so the engine's name is the one the swarm scripts check", () => {
        expect(doc.hostname).toBe("swarm-worker-0");
        expect(doc.preserve_hostname).toBe(false);
        expect(doc.manage_etc_hosts).toBe(true);
    });

    test("installs and starts the SSM agent last, after every file, service and container", () => {
        const boot = renderNodeBootScript(input);
        const agent = boot.indexOf("dpkg -i /tmp/amazon-ssm-agent.deb");
        expect(agent).toBeGreaterThan(0);
        expect(boot).toContain("https://s3.amazonaws.com/ec2-downloads-windows/SSMAgent/latest/debian_amd64/amazon-ssm-agent.deb");
        for (const earlier of ["fetch ", "systemctl restart 'docker'", "docker run"]) expect(boot.lastIndexOf(earlier)).toBeLessThan(agent);
        expect(boot.indexOf("systemctl enable amazon-ssm-agent")).toBeGreaterThan(agent);
        expect(renderNodeBootScript({ ...input, ssmAgentVersion: "3.3.1611.0" })).toContain("/SSMAgent/3.3.1611.0/debian_amd64/");
    });

    test("files are decoded as stored (gzip + base64), and user data carries their digest so a changed file changes it", () => {
        expect(renderNodeBootScript(input)).toContain("| base64 -d | gunzip >");
        expect(renderCloudConfig({ ...input, filesDigest: "1e".repeat(32) })).not.toBe(text);
    });

    test("is deterministic", () => {
        expect(renderCloudConfig(input)).toBe(text);
    });
});

describe("files owned by a daemon's user", () => {
    const owned = {
        ...input,
        files: [{ path: "/consul/config/client.json", mode: "0600", parameter: "/p/file-1", owner: "consul" }],
        containers: [
            {
                name: "consul-agent",
                image: "hashicorp/consul:1.20.2",
                flags: ["-v", "/consul/config:/consul/config"],
                command: ["agent"],
                runAs: { user: "consul", uidVariable: "CONSUL_UID", gidVariable: "CONSUL_GID" },
            },
        ],
    };

    test("the user exists before the fetch, which gives the file to it; the container's daemon runs as that user", () => {
        const lines = renderNodeBootScript(owned).split("\n");
        const useradd = lines.indexOf(
            "id -u consul >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin consul",
        );
        const fetch = lines.indexOf("fetch /p/file-1 /consul/config/client.json 0600 consul");
        expect(useradd).toBeGreaterThan(0);
        expect(fetch).toBeGreaterThan(useradd);
        const run = lines.findIndex((l) => l.startsWith("docker run "));
        expect(lines.slice(run - 3, run + 1)).toEqual([
            "CONSUL_UID=$(id -u consul)",
            "CONSUL_GID=$(id -g consul)",
            "export CONSUL_UID CONSUL_GID",
            "docker run -d --name consul-agent --network host --restart unless-stopped -e CONSUL_UID -e CONSUL_GID -v /consul/config:/consul/config hashicorp/consul:1.20.2 agent",
        ]);
    });

    test("without owners, no user is made and the fetch takes three arguments", () => {
        expect(renderNodeBootScript(input)).not.toContain("useradd");
        expect(renderNodeBootScript(input)).not.toContain("CONSUL_UID");
    });
});

describe("VIP route notify script", () => {
    test("acts only on MASTER and rewrites the /32 route in every table", () => {
        const script = renderVipRouteNotifyScript({ vip: "192.168.255.10", routeTableIds: ["rtb-1", "rtb-2"], region: "eu-west-1" });
        expect(script).toContain('[ "${3:-}" = MASTER ] || exit 0');
        expect(script).toContain("for rt in rtb-1 rtb-2; do");
        expect(script).toContain("--destination-cidr-block 192.168.255.10/32");
        expect(script).toContain("X-aws-ec2-metadata-token");
    });
});

describe("the boot script, whole: the exact commands a node runs at first boot", () => {
    /** The blank line before and after `fetch()`, and the function itself. */
    const FETCH_FUNCTION = [
        "",
        "# fetch PARAMETER PATH MODE [OWNER]: write the SecureString's value to PATH, atomically, with MODE",
        "# (and OWNER): it is never readable by anyone else, not even while it is written.",
        "fetch() {",
        '  mkdir -p "$(dirname "$2")"',
        '  tmp="$2.tmp.$$"',
        '  ( umask 077; aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text | base64 -d | gunzip >"$tmp" )',
        '  chmod "$3" "$tmp"',
        '  [ -z "${4:-}" ] || chown "$4:$4" "$tmp"',
        '  mv -f "$tmp" "$2"',
        "}",
        "",
    ];
    const ssmAgentTail = (curl: string, node: string) => [
        "# Last: the SSM agent. Associations (swarm join, deploys) reach the node only once it is set up.",
        "if ! dpkg -s amazon-ssm-agent >/dev/null 2>&1; then",
        curl,
        "  dpkg -i /tmp/amazon-ssm-agent.deb",
        "  rm -f /tmp/amazon-ssm-agent.deb",
        "fi",
        "systemctl enable amazon-ssm-agent && systemctl restart amazon-ssm-agent",
        "",
        `echo "boot: ${node} is up"`,
        "",
    ];
    test("with files, services and containers", () => {
        expect(renderNodeBootScript(input)).toBe(
            [
                "#!/bin/sh",
                "# Boot of swarm-worker-0: fetch this node's files from SSM, start its services, then the SSM agent.",
                "# Files digest: 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",
                "set -eu",
                "export AWS_DEFAULT_REGION=eu-west-1",
                ...FETCH_FUNCTION,
                "# The instance role may be a few seconds behind the instance: retry the first fetch.",
                "for attempt in 1 2 3 4 5 6 7 8 9 10; do",
                "  if aws ssm get-parameter --name /swarm-platform/prod/swarm-worker/swarm-worker-0/file-0 --query Parameter.Name --output text >/dev/null 2>&1; then break; fi",
                '  echo "boot: SSM not reachable yet (attempt $attempt)" >&2',
                "  sleep 3",
                "done",
                "",
                "fetch /swarm-platform/prod/swarm-worker/swarm-worker-0/file-0 /etc/docker/daemon.json 0644",
                "fetch /swarm-platform/prod/swarm-worker/swarm-worker-0/file-1 /consul/config/client.json 0644",
                "",
                "systemctl enable docker && systemctl restart docker",
                "",
                "docker rm -f consul-agent >/dev/null 2>&1 || true",
                "docker run -d --name consul-agent --network host --restart unless-stopped -v /consul/config:/consul/config:ro hashicorp/consul:1.20.2 agent",
                "",
                ...ssmAgentTail(
                    "  curl -fsSL --retry 5 -o /tmp/amazon-ssm-agent.deb https://s3.amazonaws.com/ec2-downloads-windows/SSMAgent/latest/debian_amd64/amazon-ssm-agent.deb",
                    "swarm-worker-0",
                ),
            ].join("\n"),
        );
    });

    test("with nothing to fetch, enable or run: no retry loop, no service or container lines; values are shell-quoted", () => {
        const script = renderNodeBootScript({
            ...input,
            nodeName: "lb-0",
            region: "eu west",
            files: [],
            services: [],
            containers: [],
            filesDigest: "d",
            ssmAgentVersion: "3.3 x",
        });
        expect(script).toBe(
            [
                "#!/bin/sh",
                "# Boot of lb-0: fetch this node's files from SSM, start its services, then the SSM agent.",
                "# Files digest: d",
                "set -eu",
                "export AWS_DEFAULT_REGION='eu west'",
                ...FETCH_FUNCTION,
                "",
                ...ssmAgentTail(
                    "  curl -fsSL --retry 5 -o /tmp/amazon-ssm-agent.deb 'https://s3.amazonaws.com/ec2-downloads-windows/SSMAgent/3.3 x/debian_amd64/amazon-ssm-agent.deb'",
                    "lb-0",
                ),
            ].join("\n"),
        );
    });

    test("each service is enabled and restarted in the order given, quoted", () => {
        expect(renderNodeBootScript({ ...input, services: ["haproxy", "keep alived"] })).toContain(
            "\n\nsystemctl enable haproxy && systemctl restart haproxy\nsystemctl enable 'keep alived' && systemctl restart 'keep alived'\n",
        );
    });
});

describe("cloud-config user-data, whole", () => {
    test("sets the node's hostname, installs its packages and runs the boot script once", () => {
        const text = renderCloudConfig(input);
        expect(text.split("\nwrite_files:\n")[0]).toBe(
            [
                "#cloud-config",
                "hostname: swarm-worker-0",
                "preserve_hostname: false",
                "prefer_fqdn_over_hostname: false",
                "manage_etc_hosts: true",
                "package_update: true",
                "package_upgrade: false",
                "packages:",
                "  - docker.io",
                "  - awscli",
            ].join("\n"),
        );
        expect(yaml.load(text.replace(/^#cloud-config\n/, ""))).toStrictEqual({
            hostname: "swarm-worker-0",
            preserve_hostname: false,
            prefer_fqdn_over_hostname: false,
            manage_etc_hosts: true,
            package_update: true,
            package_upgrade: false,
            packages: ["docker.io", "awscli"],
            write_files: [
                {
                    path: "/usr/local/sbin/swarm-platform-boot",
                    permissions: "0755",
                    owner: "root:root",
                    content: renderNodeBootScript(input),
                },
            ],
            runcmd: [["/usr/local/sbin/swarm-platform-boot"]],
        });
        // One line per list item, the boot script as a literal block: no wrapping, no anchors.
        expect(text).toContain("\nruncmd:\n  - - /usr/local/sbin/swarm-platform-boot\n");
        expect(text).toContain("\n    content: |\n      #!/bin/sh\n");
    });
});

describe("VIP route notify script, whole", () => {
    test("on MASTER only: finds this instance's interface through IMDSv2, then points the /32 route in each table at it", () => {
        expect(renderVipRouteNotifyScript({ vip: "192.168.255.10", routeTableIds: ["rtb-1", "rtb-2"], region: "eu west" })).toBe(
            [
                "#!/bin/sh",
                "# keepalived notify: TYPE NAME STATE PRIORITY. Moves the VIP route on MASTER.",
                "set -eu",
                '[ "${3:-}" = MASTER ] || exit 0',
                "export AWS_DEFAULT_REGION='eu west'",
                'imds_token=$(curl -fsS -m 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)',
                "mac=$(printf 'X-aws-ec2-metadata-token: %s\\n' \"$imds_token\" | curl -fsS -m 2 -H @- http://169.254.169.254/latest/meta-data/mac)",
                'eni=$(printf \'X-aws-ec2-metadata-token: %s\\n\' "$imds_token" | curl -fsS -m 2 -H @- "http://169.254.169.254/latest/meta-data/network/interfaces/macs/$mac/interface-id")',
                "for rt in rtb-1 rtb-2; do",
                '  aws ec2 replace-route --route-table-id "$rt" --destination-cidr-block 192.168.255.10/32 --network-interface-id "$eni" \\',
                '    || aws ec2 create-route --route-table-id "$rt" --destination-cidr-block 192.168.255.10/32 --network-interface-id "$eni"',
                "done",
                'logger -t vip-notify "VIP route now points at $eni"',
                "",
            ].join("\n"),
        );
    });
});
