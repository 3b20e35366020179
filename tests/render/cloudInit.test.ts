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

describe("VIP route notify script", () => {
    test("acts only on MASTER and rewrites the /32 route in every table", () => {
        const script = renderVipRouteNotifyScript({ vip: "192.168.255.10", routeTableIds: ["rtb-1", "rtb-2"], region: "eu-west-1" });
        expect(script).toContain('[ "${3:-}" = MASTER ] || exit 0');
        expect(script).toContain("for rt in rtb-1 rtb-2; do");
        expect(script).toContain("--destination-cidr-block 192.168.255.10/32");
        expect(script).toContain("X-aws-ec2-metadata-token");
    });
});
