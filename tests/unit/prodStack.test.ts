// The real index.ts for the prod stack (Pulumi.prod.yaml, platform aws) under Pulumi's mock runtime.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { decodeStoredText } from "../../render/storedForm";
import {
    dependsOnTransitively,
    isSecretMarked,
    MOCK_ZONES,
    ProgramRun,
    RecordedResource,
    REPO_ROOT,
    runProgram,
    runProgramExpectingError,
    setMockDeployedInstances,
    tryProgram,
} from "../harness/program";

const INSTANCE = "aws:ec2/instance:Instance";
const SUBNET = "aws:ec2/subnet:Subnet";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

let prod: ProgramRun;
beforeAll(async () => {
    prod = await runProgram("prod");
});

const instances = (run: ProgramRun, pattern: RegExp) => run.ofType(INSTANCE).filter((i) => pattern.test(i.name));
/** Zone of an instance: its subnet's availability zone. */
const zoneOf = (run: ProgramRun, instance: RecordedResource): string => {
    const subnet = run.ofType(SUBNET).find((s) => `${s.name}-id` === instance.inputs.subnetId);
    if (!subnet) throw new Error(`${instance.name}: subnet ${instance.inputs.subnetId} not found`);
    return subnet.inputs.availabilityZone;
};
/** Security group resource name from a mock id ("aws-lb-sg-id" → "aws-lb-sg"). */
const sgName = (id: string | undefined) => (id ?? "").replace(/-id$/, "");
const userDataOf = (i: RecordedResource): string => String(i.inputs.userData);
/** A node file or script parameter's text (stored gzip + base64). */
const stored = (p: RecordedResource): string => decodeStoredText(String(p.inputs.value));

describe("topology follows the stack config", () => {
    test("Pulumi.prod.yaml's counts: 3 Consul servers, 3 managers, 3 workers, 2 LB nodes", () => {
        expect(instances(prod, /^consul-server-\d+$/)).toHaveLength(3);
        expect(instances(prod, /^swarm-manager-\d+$/)).toHaveLength(3);
        expect(instances(prod, /^swarm-worker-\d+$/)).toHaveLength(3);
        expect(instances(prod, /^lb-\d+$/)).toHaveLength(2);
        expect(prod.outputs.quorum).toEqual({
            consulServers: 3,
            consulFailuresTolerated: 1,
            swarmManagers: 3,
            swarmManagerFailuresTolerated: 1,
        });
    });

    test("changing the counts changes the graph", async () => {
        const run = await runProgram("prod", { consul: { servers: 5 }, swarm: { managers: 5, workers: 7 }, web: { replicas: 12 } });
        expect(instances(run, /^consul-server-\d+$/)).toHaveLength(5);
        expect(instances(run, /^swarm-manager-\d+$/)).toHaveLength(5);
        expect(instances(run, /^swarm-worker-\d+$/)).toHaveLength(7);
        expect(run.outputs.webReplicas).toBe(12);
    });

    test("the prod stack refuses a quorum that cannot survive one failure", async () => {
        await expect(runProgram("prod", { consul: { servers: 1 } })).rejects.toThrow(/consul\.servers = 1: must be at least 3/);
    });
});

describe("zones", () => {
    test("every quorum group and the LB pair span at least 2 zones; nodes spread round-robin", () => {
        for (const group of [/^consul-server-\d+$/, /^swarm-manager-\d+$/, /^swarm-worker-\d+$/, /^lb-\d+$/]) {
            const zones = new Set(instances(prod, group).map((i) => zoneOf(prod, i)));
            expect({ group: String(group), zones: zones.size >= 2 }).toEqual({ group: String(group), zones: true });
        }
        expect(instances(prod, /^consul-server-\d+$/).map((i) => zoneOf(prod, i))).toEqual(MOCK_ZONES);
    });

    test("the VPC spans the configured zones with a public and a private subnet in each", () => {
        const subnets = prod.ofType(SUBNET);
        expect(subnets.filter((s) => /public/.test(s.name)).map((s) => s.inputs.availabilityZone)).toEqual(MOCK_ZONES);
        expect(subnets.filter((s) => /private/.test(s.name)).map((s) => s.inputs.availabilityZone)).toEqual(MOCK_ZONES);
        expect(prod.ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(3);
    });
});

describe("instances", () => {
    test("no instance has a public IP and no subnet hands one out", () => {
        for (const i of prod.ofType(INSTANCE)) {
            expect({ name: i.name, public: i.inputs.associatePublicIpAddress }).toEqual({ name: i.name, public: false });
            expect(i.inputs.subnetId).toMatch(/^aws-private-\d+-id$/);
        }
        for (const s of prod.ofType(SUBNET)) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
    });

    test("IMDSv2 is required and root volumes are encrypted everywhere", () => {
        for (const i of prod.ofType(INSTANCE)) {
            expect({ name: i.name, tokens: i.inputs.metadataOptions.httpTokens }).toEqual({ name: i.name, tokens: "required" });
            expect({ name: i.name, encrypted: i.inputs.rootBlockDevice.encrypted }).toEqual({ name: i.name, encrypted: true });
        }
    });

    test("every node runs the AMI pinned in stack config (resolved by its exact name) and has an instance profile of its role", () => {
        const pinned = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8")) as any;
        const name = pinned.config["swarm-platform:aws"].amiName;
        expect(name).toMatch(/^debian-12-amd64-\d{8}-\d+$/);
        const id = `ami-0${crypto.createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
        for (const i of prod.ofType(INSTANCE)) {
            expect(i.inputs.ami).toBe(id);
            const role = i.inputs.tags["swarm-platform:role"];
            expect(i.inputs.iamInstanceProfile).toBe(`aws-${role}-profile`);
        }
    });

    test("every Consul agent joins the servers by their fixed addresses (no metadata service, no ec2:DescribeInstances)", () => {
        const servers = instances(prod, /^consul-server-\d+$/).map((s) => s.inputs.privateIp);
        const configs = prod
            .ofType("aws:ssm/parameter:Parameter")
            .filter((p) => /\/consul\/config\/(server|client)\.json$/.test(p.inputs.description));
        expect(configs.length).toBe(3 + 3 + 3 + 2 + 1);
        for (const p of configs) expect(JSON.parse(stored(p)).retry_join).toEqual(servers);
    });

    test("only root reaches the metadata service: hop limit 1, and every node runs the IMDS guard before docker", () => {
        for (const i of prod.ofType(INSTANCE)) {
            expect(i.inputs.metadataOptions.httpPutResponseHopLimit).toBe(1);
            const boot = userDataOf(i);
            const guard = boot.search(/systemctl restart '?swarm-platform-imds-guard'?\n/);
            expect({ node: i.name, guardBeforeDocker: guard >= 0 && guard < boot.search(/systemctl restart '?docker'?\n/) }).toEqual({
                node: i.name,
                guardBeforeDocker: true,
            });
            const unit = prod
                .ofType("aws:ssm/parameter:Parameter")
                .find((p) => p.inputs.description === `${i.name}:/etc/systemd/system/swarm-platform-imds-guard.service`);
            expect(stored(unit!)).toContain("-d 169.254.169.254/32 -m owner ! --uid-owner 0 -j REJECT");
        }
    });

    test("the hostname is the node name (the swarm scripts check the engine's name against it)", () => {
        for (const i of prod.ofType(INSTANCE)) expect(userDataOf(i)).toContain(`\nhostname: ${i.name}\n`);
    });

    test("user-data is cloud-config and holds no secret: configs come from SecureString parameters at boot", () => {
        for (const i of prod.ofType(INSTANCE)) {
            const text = userDataOf(i);
            expect(text.startsWith("#cloud-config\n")).toBe(true);
            expect(text).toContain("aws ssm get-parameter --with-decryption");
            for (const secret of [...prod.generatedSecrets, "MOCKSECRET"]) expect(text).not.toContain(secret);
            expect(text).not.toMatch(/SWMTKN-1-[A-Za-z0-9]{10,}/);
        }
        for (const p of prod.ofType("aws:ssm/parameter:Parameter")) expect(p.inputs.type).toBe("SecureString");
    });
});

describe("network", () => {
    test("every instance is created after its way out: NAT gateways, their routes, its subnet's route table association and the egress rule", () => {
        const urnsOf = (type: string, pattern = /.*/) =>
            prod
                .ofType(type)
                .filter((r) => pattern.test(r.name))
                .map((r) => r.urn);
        const egress = prod.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").find((r) => r.name === "aws-nodes-egress")!;
        for (const instance of prod.ofType(INSTANCE)) {
            const deps = dependsOnTransitively(prod.resources, instance);
            const subnet = sgName(instance.inputs.subnetId);
            const association = prod
                .ofType("aws:ec2/routeTableAssociation:RouteTableAssociation")
                .find((a) => a.inputs.subnetId === `${subnet}-id`)!;
            const missing = [
                ...urnsOf("aws:ec2/natGateway:NatGateway"),
                ...urnsOf("aws:ec2/route:Route", /private-\d+-default-route$/),
                association.urn,
                egress.urn,
            ].filter((u) => !deps.has(u));
            expect({ instance: instance.name, missing }).toEqual({ instance: instance.name, missing: [] });
        }
    });

    test("routes are their own resources and no route table ignores changes: the NAT routes follow the program, the VIP route is left alone", () => {
        const tables = prod.ofType("aws:ec2/routeTable:RouteTable");
        expect(tables).toHaveLength(1 + MOCK_ZONES.length);
        for (const t of tables) {
            // Omitting `routes` leaves routes Pulumi did not declare (the VIP's /32) unmanaged.
            expect({ table: t.name, routes: t.inputs.routes, ignoreChanges: t.ignoreChanges }).toEqual({
                table: t.name,
                routes: undefined,
                ignoreChanges: [],
            });
        }
        const routes = prod.ofType("aws:ec2/route:Route");
        const into = (table: string) => routes.filter((r) => r.inputs.routeTableId === `${table}-id`);
        expect(into("aws-public-rt").map((r) => [r.inputs.destinationCidrBlock, r.inputs.gatewayId])).toEqual([
            ["0.0.0.0/0", "aws-igw-id"],
        ]);
        MOCK_ZONES.forEach((_, z) =>
            expect(into(`aws-private-${z}-rt`).map((r) => [r.inputs.destinationCidrBlock, r.inputs.natGatewayId])).toEqual([
                ["0.0.0.0/0", `aws-nat-${z}-id`],
            ]),
        );
    });
});

describe("security groups", () => {
    const ingress = () => prod.ofType(INGRESS);

    test("nothing is open to the internet but the ALB's HTTPS listener and its HTTP redirect; no SSH from anywhere by default", () => {
        const open = ingress().filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0");
        expect(open.map((r) => ({ sg: sgName(r.inputs.securityGroupId), port: r.inputs.fromPort, to: r.inputs.toPort }))).toEqual([
            { sg: "aws-alb-sg", port: 443, to: 443 },
            { sg: "aws-alb-sg", port: 80, to: 80 },
        ]);
        expect(ingress().filter((r) => r.inputs.fromPort <= 22 && r.inputs.toPort >= 22)).toEqual([]);
    });

    test("operator SSH comes only from the configured CIDRs, and 0.0.0.0/0 is refused", async () => {
        const run = await runProgram("prod", { aws: { operatorCidrs: ["203.0.113.0/24"] } });
        const ssh = run.ofType(INGRESS).filter((r) => r.inputs.fromPort === 22);
        expect(ssh.map((r) => r.inputs.cidrIpv4)).toEqual(["203.0.113.0/24"]);
        await expect(runProgram("prod", { aws: { operatorCidrs: ["0.0.0.0/0"] } })).rejects.toThrow(
            /aws\.operatorCidrs\[0\] = "0\.0\.0\.0\/0"/,
        );
    });

    test("the HAProxy nodes admit web traffic only from the ALB's security group (VRRP only from each other, metrics only from Prometheus)", () => {
        const lbRules = ingress().filter((r) => sgName(r.inputs.securityGroupId) === "aws-lb-sg");
        expect(
            lbRules.map((r) => ({
                protocol: r.inputs.ipProtocol,
                port: r.inputs.fromPort,
                from: sgName(r.inputs.referencedSecurityGroupId),
                cidr: r.inputs.cidrIpv4,
            })),
        ).toEqual(
            expect.arrayContaining([
                { protocol: "tcp", port: 80, from: "aws-alb-sg", cidr: undefined },
                { protocol: "112", port: undefined, from: "aws-lb-sg", cidr: undefined },
                { protocol: "tcp", port: 8405, from: "aws-monitoring-sg", cidr: undefined },
            ]),
        );
        expect(lbRules).toHaveLength(3);
        const lbInstances = instances(prod, /^lb-\d+$/);
        for (const i of lbInstances) expect(i.inputs.vpcSecurityGroupIds.map(sgName).sort()).toEqual(["aws-lb-sg", "aws-nodes-sg"]);
    });

    test("every rule between nodes references a security group, never a CIDR", () => {
        const cidrRules = ingress().filter((r) => r.inputs.cidrIpv4 !== undefined && sgName(r.inputs.securityGroupId) !== "aws-alb-sg");
        expect(cidrRules).toEqual([]);
        for (const r of ingress().filter((r) => sgName(r.inputs.securityGroupId) !== "aws-alb-sg"))
            expect(r.inputs.referencedSecurityGroupId).toMatch(/-sg-id$/);
    });

    test("swarm ports are open between swarm nodes only; web task ports only from the LB nodes", () => {
        const swarmRules = ingress().filter((r) => sgName(r.inputs.securityGroupId) === "aws-swarm-sg");
        const bySource = (port: number) =>
            swarmRules.filter((r) => r.inputs.fromPort === port).map((r) => sgName(r.inputs.referencedSecurityGroupId));
        expect(bySource(2377)).toEqual(["aws-swarm-sg"]);
        expect(bySource(7946)).toEqual(["aws-swarm-sg", "aws-swarm-sg"]);
        expect(bySource(4789)).toEqual(["aws-swarm-sg"]);
        const web = swarmRules.find((r) => r.inputs.fromPort === 20000);
        expect(web?.inputs.toPort).toBe(20099);
        expect(sgName(web?.inputs.referencedSecurityGroupId)).toBe("aws-lb-sg");
    });
});

describe("IAM", () => {
    const SSM_AGENT = new Set([
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
    ]);
    // Every role: its own parameters, and its logs into the stack's log group (see "monitoring" below).
    const COMMON = ["ssm:GetParameter", "logs:CreateLogStream", "logs:PutLogEvents"];
    const allowed: Record<string, string[]> = {
        "consul-server": COMMON,
        "swarm-worker": [
            ...COMMON,
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ],
        "swarm-manager": [
            ...COMMON,
            "ssm:PutParameter",
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ],
        lb: [...COMMON, "ec2:ReplaceRoute", "ec2:CreateRoute"],
    };
    const statementsOf = (role: string) => JSON.parse(prod.byName(`aws-${role}-policy`).inputs.policy).Statement as any[];

    test.each(Object.keys(allowed))("the %s role may do only what that role does", (role) => {
        const actions = statementsOf(role)
            .flatMap((s) => s.Action as string[])
            .filter((a) => !SSM_AGENT.has(a));
        expect([...new Set(actions)].sort()).toEqual([...new Set(allowed[role])].sort());
        for (const s of statementsOf(role)) expect(s.Effect).toBe("Allow");
    });

    test("parameter reads are scoped to the role's own path; token writes to the swarm path; VIP route changes to this stack's route tables", () => {
        const read = (role: string) => statementsOf(role).find((s) => s.Sid === "OwnParameters").Resource;
        expect(read("lb")).toBe("arn:aws:ssm:eu-west-1:123456789012:parameter/swarm-platform/prod/lb/*");
        expect(statementsOf("swarm-manager").find((s) => s.Sid === "JoinTokensWrite").Resource).toEqual([
            "arn:aws:ssm:eu-west-1:123456789012:parameter/swarm-platform/prod/tokens/swarm-manager/*",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/swarm-platform/prod/tokens/swarm-worker/*",
        ]);
        const routes = statementsOf("lb").find((s) => s.Sid === "MoveVipRoute").Resource as string[];
        expect(routes).toHaveLength(4);
        for (const r of routes) expect(r).toMatch(/^arn:aws:ec2:eu-west-1:123456789012:route-table\/aws-(public|private-\d)-rt-id$/);
        expect(statementsOf("consul-server").some((s) => s.Action.includes("ssm:PutParameter"))).toBe(false);
    });
});

describe("swarm join tokens", () => {
    const policyOf = (role: string) => JSON.parse(prod.byName(`aws-${role}-policy`).inputs.policy).Statement as any[];
    /** Whether an IAM resource pattern (`*` matches anything, `/` included) covers an ARN. */
    const covers = (pattern: string, arn: string) =>
        new RegExp(
            `^${pattern
                .split("*")
                .map((p) => p.replace(/[.?+^$()[\]{}|\\]/g, "\\$&"))
                .join(".*")}$`,
        ).test(arn);
    const mayRead = (role: string, parameterName: string) =>
        policyOf(role)
            .filter((st) => st.Action.includes("ssm:GetParameter"))
            .flatMap((st) => [st.Resource].flat())
            .some((r: string) => covers(r, `arn:aws:ssm:eu-west-1:123456789012:parameter${parameterName}`));
    const tokenParameters = () => prod.ofType("aws:ssm/parameter:Parameter").filter((p) => /\/tokens\//.test(p.inputs.name));

    test("each token lives in a parameter Pulumi owns (deleted with the stack), whose value only a manager's script writes", () => {
        const tokens = tokenParameters();
        expect(tokens.map((t) => t.inputs.name.split("/")[4]).sort()).toEqual(["swarm-manager", "swarm-worker"]);
        for (const t of tokens) {
            expect(t.inputs.type).toBe("SecureString");
            expect(t.ignoreChanges).toEqual(["value"]);
        }
    });

    test("a worker can read the worker token and never the manager token; each role reads only its own", () => {
        const [manager, worker] = ["swarm-manager", "swarm-worker"].map(
            (role) => tokenParameters().find((t) => t.inputs.name.includes(`/tokens/${role}/`))!.inputs.name,
        );
        expect(mayRead("swarm-worker", worker)).toBe(true);
        expect(mayRead("swarm-worker", manager)).toBe(false);
        expect(mayRead("swarm-manager", manager)).toBe(true);
        expect(mayRead("swarm-manager", worker)).toBe(false);
        for (const role of ["lb", "consul-server"])
            expect([role, mayRead(role, manager), mayRead(role, worker)]).toEqual([role, false, false]);
    });

    test("every join reads the token of its own role", () => {
        for (const join of prod.ofType("aws:ssm/association:Association").filter((a) => /^swarm-(manager|worker)-\d+-join$/.test(a.name))) {
            const role = /^swarm-(manager|worker)/.exec(join.name)![0];
            expect(join.inputs.parameters.commands).toMatch(new RegExp(`/tokens/${role}/`));
        }
    });
});

describe("images from ECR", () => {
    const scriptOf = (run: ProgramRun, name: string) =>
        run.ofType("aws:ssm/parameter:Parameter").find((p) => p.name === name) !== undefined
            ? stored(run.byName(name))
            : String(run.byName(name).inputs.stdin ?? run.byName(name).inputs.create);

    test("the web service is deployed with the manager's registry credentials, so workers' daemons can pull from ECR", async () => {
        expect(scriptOf(prod, "web-deploy-script")).toContain("--with-registry-auth");
        const dev = await runProgram("dev");
        expect(scriptOf(dev, "web-deploy")).not.toContain("--with-registry-auth");
    });

    test("every manager runs a timer that re-sends fresh credentials (ECR tokens last 12 h), from the leader only", () => {
        for (const m of instances(prod, /^swarm-manager-\d+$/)) {
            expect(userDataOf(m)).toMatch(/systemctl restart '?swarm-platform-registry-auth\.timer'?\n/);
            const script = prod
                .ofType("aws:ssm/parameter:Parameter")
                .find((p) => p.inputs.description === `${m.name}:/usr/local/sbin/swarm-platform-registry-auth`)!;
            expect(stored(script)).toContain("docker service update --with-registry-auth --detach=true");
            expect(stored(script)).toContain("{{.ManagerStatus.Leader}}");
        }
        for (const w of instances(prod, /^swarm-worker-\d+$/)) expect(userDataOf(w)).not.toContain("registry-auth");
    });
});

describe("leaving (scale-down and replacement)", () => {
    const leaves = () => prod.ofType("command:local:Command").filter((c) => /-leave$/.test(c.name));

    test("every swarm node script has a leave command: delete only, replaced with its node, after its association", () => {
        const nodes = instances(prod, /^swarm-(manager|worker)-\d+$/);
        expect(leaves()).toHaveLength(nodes.length);
        for (const leave of leaves()) {
            const node = nodes.find((n) => leave.inputs.environment.NODE_INSTANCE === `${n.name}-id`)!;
            expect(node).toBeDefined();
            expect(leave.inputs.create).toBeUndefined();
            expect(leave.inputs.delete).toContain("ssm_run");
            expect(leave.inputs.triggers).toEqual([`${node.name}-id`]);
            expect(leave.deleteBeforeReplace).toBe(true);
            const association = prod.byName(leave.name.replace(/-leave$/, ""));
            expect(leave.dependencies).toEqual(expect.arrayContaining([association.urn, node.urn]));
        }
    });

    test("a manager drains on another manager, leaves itself, then is removed on another manager", () => {
        const leave = leaves().find((c) => c.name === "swarm-manager-1-join-leave")!;
        const steps = [...String(leave.inputs.delete).matchAll(/^ssm_run "\$step\d" (.*?) \|\|/gm)].map((m) => m[1]);
        expect(steps).toEqual(["$(others swarm-manager)", '"$NODE_INSTANCE"', "$(others swarm-manager)"]);
    });
});

describe("ingress", () => {
    test("an internet-facing ALB in the public subnets forwards HTTPS to both HAProxy nodes (active-active)", () => {
        const alb = prod.ofType("aws:lb/loadBalancer:LoadBalancer")[0];
        expect(alb.inputs).toMatchObject({ loadBalancerType: "application", internal: false });
        expect(alb.inputs.subnets).toEqual(["aws-public-0-id", "aws-public-1-id", "aws-public-2-id"]);
        const targets = prod.ofType("aws:lb/targetGroupAttachment:TargetGroupAttachment").map((t) => t.inputs.targetId);
        expect(targets).toEqual(instances(prod, /^lb-\d+$/).map((i) => i.inputs.privateIp));
        const group = prod.ofType("aws:lb/targetGroup:TargetGroup")[0];
        expect(group.inputs.healthCheck).toMatchObject({ protocol: "HTTP", path: "/lb-health" });
        expect(prod.outputs.webUrl).toBe("https://www.example.com");
        const listeners = prod.ofType("aws:lb/listener:Listener").map((l) => [l.inputs.port, l.inputs.protocol, l.inputs.sslPolicy]);
        expect(listeners.sort()).toEqual([
            [443, "HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06"],
            [80, "HTTP", undefined],
        ]);
    });

    test("the certificate is for aws.domain; without aws.route53ZoneId its DNS records are outputs, with one they are made in that zone", async () => {
        expect(prod.ofType("aws:acm/certificate:Certificate").map((c) => c.inputs.domainName)).toEqual(["www.example.com"]);
        expect(prod.outputs.ingressDnsRecords).toEqual([
            { name: "_0123456789abcdef.www.example.com.", type: "CNAME", value: "_fedcba9876543210.acm-validations.aws." },
            { name: "www.example.com", type: "CNAME", value: "aws-edge-alb.elb.eu-west-1.amazonaws.com" },
        ]);
        const zoned = await runProgram("prod", { aws: { route53ZoneId: "Z0123456789ABCDEFGHIJ", domain: "shop.example.org" } });
        expect(zoned.ofType("aws:route53/record:Record").map((r) => [r.inputs.name, r.inputs.type, r.inputs.zoneId])).toEqual([
            ["_0123456789abcdef.shop.example.org.", "CNAME", "Z0123456789ABCDEFGHIJ"],
            ["shop.example.org", "A", "Z0123456789ABCDEFGHIJ"],
        ]);
        expect(zoned.outputs.ingressDnsRecords).toBeUndefined();
        expect(zoned.outputs.webUrl).toBe("https://shop.example.org");
    });

    test("keepalived moves the overlay VIP with a route change on MASTER, and the LB instances may route it", () => {
        for (const lb of instances(prod, /^lb-\d+$/)) expect(lb.inputs.sourceDestCheck).toBe(false);
        const keepalived = prod.ofType("aws:ssm/parameter:Parameter").filter((p) => /keepalived\.conf$/.test(p.inputs.description));
        expect(keepalived).toHaveLength(2);
        for (const k of keepalived) expect(stored(k)).toMatch(/notify "?\/usr\/local\/sbin\/vip-notify"?/);
        const notify = prod.ofType("aws:ssm/parameter:Parameter").find((p) => /vip-notify$/.test(p.inputs.description))!;
        expect(stored(notify)).toContain("aws ec2 replace-route");
        expect(stored(notify)).toContain("192.168.255.10/32");
    });
});

describe("secrets", () => {
    test("every generated secret reaches AWS resources only as a secret input", () => {
        const leaks: string[] = [];
        const walk = (value: unknown, where: string): void => {
            if (typeof value === "string") {
                const text = decodeStoredText(value);
                for (const s of prod.generatedSecrets) if (text.includes(s)) leaks.push(`${where} holds ${s}`);
            } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`));
            else if (value !== null && typeof value === "object") {
                if (isSecretMarked(value)) return;
                for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
            }
        };
        for (const r of prod.resources) walk(r.rawInputs, r.name);
        expect(leaks).toEqual([]);
    });

    test("swarm join tokens go manager → SecureString parameter → joining node, never through Pulumi", () => {
        const publishes = prod.ofType("aws:ssm/association:Association").filter((a) => /-publish$/.test(a.name));
        expect(publishes.length).toBe(2 + 3);
        for (const p of publishes) {
            expect(p.inputs.parameters.commands).toMatch(/docker swarm join-token -q (manager|worker)/);
            expect(p.inputs.parameters.commands).toContain("--type SecureString");
        }
    });
});

describe("consul.tls moves one step per `pulumi up` (read off the instances' tags, in preview too)", () => {
    afterEach(() => setMockDeployedInstances([]));
    /** The instances of an earlier program, running with the tags it gave them. */
    const running = (run: ProgramRun) => run.ofType(INSTANCE).map((i, n) => ({ id: `i-${n}`, tags: i.inputs.tags }));

    test("each server's tag is its mode; a client agent's node is tagged auto_encrypt from permissive on; none while off", async () => {
        const tags = (run: ProgramRun, name: string) => run.ofType(INSTANCE).find((i) => i.name === name)!.inputs.tags;
        expect(tags(prod, "consul-server-0")["swarm-platform:consul-tls"]).toBe("enforce");
        expect(tags(prod, "swarm-worker-0")["swarm-platform:consul-tls"]).toBe("auto_encrypt");
        const off = await runProgram("prod", { consul: { tls: "off" } });
        for (const i of off.ofType(INSTANCE)) expect(Object.keys(i.inputs.tags)).not.toContain("swarm-platform:consul-tls");
    });

    // The refusal itself, read off tagged and untagged instances: tests/unit/awsMarks.test.ts.
    test("one step at a time passes: off → accept, then accept → permissive", async () => {
        setMockDeployedInstances(running(await runProgram("prod", { consul: { tls: "off" } })));
        expect((await tryProgram("prod", { consul: { tls: "accept" } })).error).toBeUndefined();
        setMockDeployedInstances(running(await runProgram("prod", { consul: { tls: "accept" } })));
        expect((await tryProgram("prod", { consul: { tls: "permissive" } })).error).toBeUndefined();
    });
});

describe("monitoring (#16): detailed monitoring, alarms to the SNS topic, logs to CloudWatch Logs", () => {
    const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
    const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
    const TOPIC = "arn:aws:sns:eu-west-1:123456789012:platform-alarms";
    const withTopic = { aws: { monitoring: { alarmTopicArn: TOPIC } } };
    let topical: ProgramRun;
    beforeAll(async () => {
        topical = await runProgram("prod", withTopic);
    });
    const alarmsOf = (run: ProgramRun, metricName: string) => run.ofType(ALARM).filter((a) => a.inputs.metricName === metricName);
    /** The alarm on `metricName` whose InstanceId dimension is this instance's. */
    const instanceAlarm = (run: ProgramRun, instance: RecordedResource, metricName: string) =>
        alarmsOf(run, metricName).filter((a) => a.inputs.dimensions.InstanceId === `${instance.name}-id`);

    test("every instance has detailed monitoring (an update in place: `monitoring` is not ForceNew)", () => {
        // 3 Consul servers, 3 managers, 2 workers, 2 LB nodes, 1 Prometheus node (Pulumi.prod.yaml).
        expect(prod.ofType(INSTANCE).length).toBe(12);
        for (const i of prod.ofType(INSTANCE))
            expect({ node: i.name, monitoring: i.inputs.monitoring }).toEqual({ node: i.name, monitoring: true });
    });

    test("each instance has one status-check alarm on its own InstanceId, notifying the configured topic on ALARM and OK", () => {
        for (const i of topical.ofType(INSTANCE)) {
            const alarms = instanceAlarm(topical, i, "StatusCheckFailed");
            expect({ node: i.name, alarms: alarms.length }).toEqual({ node: i.name, alarms: 1 });
            expect(alarms[0].inputs).toMatchObject({
                name: `swarm-platform-prod-${i.name}-status-check`,
                namespace: "AWS/EC2",
                dimensions: { InstanceId: `${i.name}-id` },
                statistic: "Maximum",
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
                alarmActions: [TOPIC],
                okActions: [TOPIC],
                // A stopped or terminated instance sends no status checks: not a failure (monitoring.ts).
                treatMissingData: "notBreaching",
            });
        }
        expect(alarmsOf(topical, "StatusCheckFailed")).toHaveLength(topical.ofType(INSTANCE).length);
    });

    test("CPU credit alarms exist exactly for the instances of a burstable type (t2, t3, t3a, t4g), per role", async () => {
        // Pulumi.prod.yaml: every role on its default, a t3.
        for (const i of topical.ofType(INSTANCE))
            expect([i.name, instanceAlarm(topical, i, "CPUCreditBalance").length]).toEqual([i.name, 1]);
        const mixed = await runProgram("prod", {
            aws: {
                instanceTypes: {
                    consulServer: "t4g.small",
                    manager: "m7i.large",
                    worker: "c6i.xlarge",
                    lb: "t3a.small",
                    monitoring: "m7i.large",
                },
            },
        });
        const credited = alarmsOf(mixed, "CPUCreditBalance").map((a) => a.inputs.dimensions.InstanceId.replace(/-id$/, ""));
        expect(credited.sort()).toEqual(["consul-server-0", "consul-server-1", "consul-server-2", "lb-0", "lb-1"]);
        expect(alarmsOf(mixed, "StatusCheckFailed").map((a) => a.inputs.dimensions.InstanceId)).toContain("monitoring-prometheus-id");
        for (const a of alarmsOf(mixed, "CPUCreditBalance")) {
            expect(a.inputs).toMatchObject({
                namespace: "AWS/EC2",
                comparisonOperator: "LessThanThreshold",
                period: 300,
                treatMissingData: "notBreaching",
            });
        }
        // Every instance keeps its status-check alarm whatever its type.
        expect(alarmsOf(mixed, "StatusCheckFailed")).toHaveLength(mixed.ofType(INSTANCE).length);
    });

    test("one unhealthy-targets alarm per target group, by the target group's and the ALB's ARN suffixes", () => {
        const groups = topical.ofType("aws:lb/targetGroup:TargetGroup");
        const alarms = alarmsOf(topical, "UnHealthyHostCount");
        expect(alarms).toHaveLength(groups.length);
        expect(groups).toHaveLength(1);
        expect(alarms[0].inputs).toMatchObject({
            name: "swarm-platform-prod-edge-web-unhealthy-targets",
            namespace: "AWS/ApplicationELB",
            // The dimension values CloudWatch names them by: the ARNs' resource parts (tests/harness mock ARNs).
            dimensions: { TargetGroup: "targetgroup/aws-edge-web-tg", LoadBalancer: "app/aws-edge-alb" },
            alarmActions: [TOPIC],
            okActions: [TOPIC],
            treatMissingData: "notBreaching",
        });
    });

    test("every alarm is named like the stack's resources", () => {
        for (const a of topical.ofType(ALARM)) expect(a.inputs.name).toMatch(/^swarm-platform-prod-/);
        expect(new Set(topical.ofType(ALARM).map((a) => a.inputs.name)).size).toBe(topical.ofType(ALARM).length);
    });

    test("without aws.monitoring.alarmTopicArn the stack makes its own topic, and every alarm notifies it", () => {
        expect(topical.ofType("aws:sns/topic:Topic")).toEqual([]);
        const topics = prod.ofType("aws:sns/topic:Topic");
        expect(topics.map((t) => t.inputs.name)).toEqual(["swarm-platform-prod-alarms"]);
        expect(prod.ofType(ALARM).length).toBe(topical.ofType(ALARM).length);
        for (const a of prod.ofType(ALARM)) {
            expect({ alarm: a.name, alarm_: a.propertyDependencies.alarmActions, ok: a.propertyDependencies.okActions }).toEqual({
                alarm: a.name,
                alarm_: [topics[0].urn],
                ok: [topics[0].urn],
            });
        }
    });

    test("one log group for the stack, keeping logs for aws.monitoring.logRetentionDays", async () => {
        expect(prod.ofType(LOG_GROUP).map((g) => [g.inputs.name, g.inputs.retentionInDays])).toEqual([["/swarm-platform/prod", 30]]);
        const kept = await runProgram("prod", { aws: { monitoring: { logRetentionDays: 400 } } });
        expect(kept.ofType(LOG_GROUP).map((g) => g.inputs.retentionInDays)).toEqual([400]);
    });

    test("every node's containers log to the log group: dockerd's daemon.json sets the awslogs driver, one stream per container", () => {
        for (const i of prod.ofType(INSTANCE)) {
            const parameter = prod
                .ofType("aws:ssm/parameter:Parameter")
                .find((p) => p.inputs.description === `${i.name}:/etc/docker/daemon.json`);
            expect({ node: i.name, daemonJson: parameter !== undefined }).toEqual({ node: i.name, daemonJson: true });
            const daemon = JSON.parse(stored(parameter!));
            expect(daemon["log-driver"]).toBe("awslogs");
            expect(daemon["log-opts"]).toEqual({
                "awslogs-region": "eu-west-1",
                "awslogs-group": "/swarm-platform/prod",
                tag: `${i.name}/{{.Name}}`,
                mode: "non-blocking",
                "max-buffer-size": "4m",
            });
            // The engine's other settings stay (swarm nodes: the swarm's own; the others get the same).
            expect(daemon["live-restore"]).toBe(false);
            expect(daemon["default-address-pools"].length).toBeGreaterThan(0);
            // The rendered user data fetches it before dockerd is restarted.
            const boot = userDataOf(i);
            const fetch = boot.indexOf(`${parameter!.inputs.name} /etc/docker/daemon.json 0644`);
            expect({ node: i.name, fetchedBeforeDocker: fetch >= 0 && fetch < boot.search(/systemctl restart '?docker'?\n/) }).toEqual({
                node: i.name,
                fetchedBeforeDocker: true,
            });
        }
    });

    test("every node's host daemons log to the log group: the user data installs Fluent Bit, pinned, and ships the journal there", () => {
        for (const i of prod.ofType(INSTANCE)) {
            const boot = userDataOf(i);
            const cloudConfig = yaml.load(boot) as { packages: string[] };
            expect(cloudConfig.packages).toContain("gpg");
            expect(boot).toContain(" fluent-bit=5.1.4 ");
            expect(boot).toContain("C3C0A28534B9293EAF51FABD9F9DDC083888C1CD");
            expect(boot).toContain("log_group_name     /swarm-platform/prod\n");
            expect(boot).toContain(`log_stream_prefix  ${i.name}/\n`);
            expect(boot).toContain("region             eu-west-1\n");
            // After the SSM agent: a package host the node does not need to serve never delays its joins.
            expect(boot.indexOf("ship_host_logs ||")).toBeGreaterThan(boot.indexOf("systemctl restart amazon-ssm-agent"));
        }
    });

    test("the instance roles may create streams and put events in the stack's log group, nowhere else, and never create a group", () => {
        for (const role of ["consul-server", "swarm-manager", "swarm-worker", "lb"]) {
            const statements = JSON.parse(prod.byName(`aws-${role}-policy`).inputs.policy).Statement as any[];
            const logs = statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith("logs:")));
            expect(logs).toEqual([
                {
                    Sid: "ShipLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:/swarm-platform/prod:*",
                },
            ]);
        }
    });

    test("every instance boots after its log group exists (neither dockerd nor Fluent Bit creates it)", () => {
        const group = prod.ofType(LOG_GROUP)[0];
        for (const i of prod.ofType(INSTANCE))
            expect([i.name, dependsOnTransitively(prod.resources, i).has(group.urn)]).toEqual([i.name, true]);
    });

    test("a bad alarm topic or retention is refused before anything is created, naming the key, the value and the rule", async () => {
        const { error, resources } = await runProgramExpectingError("prod", {
            aws: { monitoring: { alarmTopicArn: "arn:aws:sqs:eu-west-1:123456789012:alarms", logRetentionDays: 10 } },
        });
        expect(error.message.split("\n").slice(1)).toEqual([
            '  - aws.monitoring.alarmTopicArn = "arn:aws:sqs:eu-west-1:123456789012:alarms": must be an SNS topic ARN, arn:aws[-partition]:sns:<region>:<12-digit account>:<topic name>, such as arn:aws:sns:eu-west-1:123456789012:platform-alarms',
            "  - aws.monitoring.logRetentionDays = 10: must be a retention period CloudWatch Logs accepts, in days: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ]);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });
});
