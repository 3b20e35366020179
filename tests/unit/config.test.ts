// The stack-config contract: defaults, and refusal of bad config with one message naming every
// bad key, its value and the rule — before any resource exists. The rules are checked as pure calls
// (validateStackConfig, and readStackConfig on the stack file's own text as Pulumi hands it over);
// the real program is evaluated only where what matters is that it creates nothing.
import { DEFAULTS, readStackConfig, validateStackConfig } from "../../config";
import { runProgramExpectingError, stackConfig } from "../harness/program";

const valid = { platform: "local", web: { version: "1.0.0" } };
const issuesFor = (raw: object, stack = "dev") => validateStackConfig(raw, stack).issues;
const keysOf = (raw: object, stack = "dev") => issuesFor(raw, stack).map((i) => i.key);
/** An official Debian 12 image name, as the prod stack pins it. */
const AMI_NAME = "debian-12-amd64-20250316-2053";

/** The stack's own file with this override, read as the program reads it, is refused by key. */
function expectRefusedFromStackFile(stack: string, override: object, key: string): void {
    const { config, issues } = readStackConfig(stackConfig(stack, override as Record<string, unknown>), "swarm-platform", stack);
    expect(config).toBeUndefined();
    expect(issues.map((i) => i.key)).toContain(key);
}

describe("defaults", () => {
    test("a minimal config resolves every default", () => {
        const { config, issues } = validateStackConfig(valid, "dev");
        expect(issues).toEqual([]);
        expect(config?.consul.servers).toBe(DEFAULTS.consul.servers);
        expect(config?.swarm.workers).toBe(DEFAULTS.swarm.workers);
        expect(config?.web.replicas).toBe(DEFAULTS.web.replicas);
        expect(config?.lb.vip).toBe("10.77.0.10");
        expect(config?.lb.advertIntervalSeconds).toBe(0.1);
    });

    test("zero is a value, not a missing key (no `||` defaults): swarm.workers 0 stays 0", () => {
        expect(validateStackConfig({ ...valid, swarm: { workers: 0 } }, "dev").config?.swarm.workers).toBe(0);
    });

    test("VRRPv2 defaults its advert interval to whole seconds", () => {
        expect(validateStackConfig({ ...valid, lb: { vrrpVersion: 2 } }, "dev").config?.lb.advertIntervalSeconds).toBe(1);
    });
});

describe("bad config is refused with the key, the value and the rule", () => {
    test.each([
        ["even consul.servers", { consul: { servers: 4 } }, "consul.servers", /odd/],
        ["zero consul.servers", { consul: { servers: 0 } }, "consul.servers", /odd/],
        ["even swarm.managers", { swarm: { managers: 2 } }, "swarm.managers", /odd/],
        ["9 managers", { swarm: { managers: 9 } }, "swarm.managers", /1 to 7/],
        ["negative workers", { swarm: { workers: -1 } }, "swarm.workers", /≥ 0/],
        ["zero replicas", { web: { version: "1", replicas: 0 } }, "web.replicas", /≥ 1/],
        ["fractional replicas", { web: { version: "1", replicas: 2.5 } }, "web.replicas", /whole number/],
        ["empty version", { web: { version: "" } }, "web.version", /non-empty/],
        ["unknown platform", { platform: "gcp" }, "platform", /one of local, aws/],
        ["VIP outside the subnet", { lb: { vip: "10.78.0.10" } }, "lb.vip", /inside network.subnet/],
        ["VIP on a node's address", { lb: { vip: "10.77.0.20" } }, "lb.vip", /collides with the address of consul-server-0/],
        ["VIP on the gateway", { lb: { vip: "10.77.0.1" } }, "lb.vip", /gateway/],
        ["malformed CIDR", { network: { subnet: "10.77.0.0/33" } }, "network.subnet", /IPv4 CIDR/],
        ["CIDR with host bits", { network: { subnet: "10.77.0.5/24" } }, "network.subnet", /host bits zero/],
        ["public CIDR", { network: { subnet: "8.8.8.0/24" } }, "network.subnet", /private/],
        ["subnet too small", { network: { subnet: "10.77.0.0/28" } }, "network.subnet", /too small/],
        ["zero CPU", { web: { version: "1", resources: { cpus: 0 } } }, "web.resources.cpus", /positive/],
        ["negative memory", { lb: { resources: { memoryMb: -5 } } }, "lb.resources.memoryMb", /MiB/],
        [
            "sub-second VRRPv2",
            { lb: { vrrpVersion: 2, advertIntervalSeconds: 0.5 } },
            "lb.advertIntervalSeconds",
            /whole number of seconds/,
        ],
        ["misspelt key", { web: { version: "1", replica: 3 } }, "web.replica", /not a known key/],
        ["drain shorter than HAProxy's discovery lag", { web: { version: "1", drainSeconds: 0.5 } }, "web.drainSeconds", /HAProxy/],
        ["clashing edge ports", { edge: { webPort: 8500 } }, "edge.consulUiPort", /must differ from edge.webPort/],
    ])("%s", (_label, override, key, rule) => {
        const raw = { ...valid, ...override, web: { ...valid.web, ...((override as any).web ?? {}) } };
        const issue = issuesFor(raw).find((i) => i.key === key);
        expect(issue).toBeDefined();
        expect(issue!.rule).toMatch(rule);
        expectRefusedFromStackFile("dev", override, key);
    });

    test.each([
        ["VIP inside the VPC", { lb: { vip: "10.20.1.10" } }, "lb.vip", /outside the VPC/],
        ["one zone", { aws: { zones: 1 } }, "aws.zones", /2 to 6/],
        ["SSH from the internet", { aws: { operatorCidrs: ["0.0.0.0/0"] } }, "aws.operatorCidrs[0]", /never open to the internet/],
        ["malformed operator CIDR", { aws: { operatorCidrs: ["10.0.0.1/33"] } }, "aws.operatorCidrs[0]", /IPv4 CIDR/],
        ["malformed AMI id", { aws: { amiId: "debian" } }, "aws.amiId", /AMI id/],
        ["bad instance type", { aws: { instanceTypes: { worker: "big" } } }, "aws.instanceTypes.worker", /instance type/],
        ["VPC too small", { network: { subnet: "10.20.0.0/26" } }, "network.subnet", /\/16–\/24/],
        ["misspelt aws key", { aws: { zone: 3 } }, "aws.zone", /not a known key/],
    ])("aws: %s", (_label, override, key, rule) => {
        const raw = { platform: "aws", web: { version: "1" }, ...override };
        const issue = issuesFor(raw, "prod").find((i) => i.key === key);
        expect(issue).toBeDefined();
        expect(issue!.rule).toMatch(rule);
        expectRefusedFromStackFile("prod", override, key);
    });

    test("aws defaults: a /16 VPC, 3 zones and an overlay VIP outside it", () => {
        const { config, issues } = validateStackConfig({ platform: "aws", web: { version: "1" }, aws: { amiName: AMI_NAME } }, "prod");
        expect(issues).toEqual([]);
        expect(config?.network.subnet).toBe("10.20.0.0/16");
        expect(config?.aws.zones).toBe(3);
        expect(config?.lb.vip).toBe("192.168.255.10");
    });

    test("an AWS stack must pin its AMI (by Debian image name or id), not float on the newest", () => {
        const issues = validateStackConfig({ platform: "aws", web: { version: "1" } }, "prod").issues;
        expect(issues).toEqual([expect.objectContaining({ key: "aws.amiName", value: undefined })]);
        expect(issues[0].rule).toMatch(/required with platform aws.*upstream release never replaces the nodes/);
        expect(keysOf({ platform: "aws", web: { version: "1" }, aws: { amiId: "ami-0123456789abcdef0" } }, "prod")).toEqual([]);
        expect(keysOf({ platform: "aws", web: { version: "1" }, aws: { amiName: "debian-12-amd64-latest" } }, "prod")).toEqual([
            "aws.amiName",
        ]);
        expect(
            keysOf({ platform: "aws", web: { version: "1" }, aws: { amiName: AMI_NAME, amiId: "ami-0123456789abcdef0" } }, "prod"),
        ).toEqual(["aws.amiName"]);
        // The dev stack does not need one.
        expect(keysOf({ platform: "local", web: { version: "1" } }, "dev")).toEqual([]);
    });

    test("a missing required key is named", () => {
        expect(keysOf({ web: {} })).toEqual(expect.arrayContaining(["platform", "web.version"]));
    });

    test("every AWS stack, whatever its name, needs at least 3 Consul servers and 3 managers", () => {
        const raw = { platform: "aws", web: { version: "1" }, consul: { servers: 1 }, swarm: { managers: 1 }, aws: { amiName: AMI_NAME } };
        for (const stack of ["prod", "staging", "production-eu-west-1", "dev"]) {
            const issues = issuesFor(raw, stack);
            expect(issues.map((i) => i.key)).toEqual(expect.arrayContaining(["consul.servers", "swarm.managers"]));
            expect(issues.find((i) => i.key === "consul.servers")!.rule).toBe("must be at least 3 on platform aws (survives one failure)");
        }
        // A stack named for production gets the floor on the local platform too; a local dev stack does not.
        const local = { ...raw, platform: "local", aws: undefined };
        expect(issuesFor(local, "production").find((i) => i.key === "swarm.managers")!.rule).toMatch(/at least 3 on the production stack/);
        expect(keysOf(local, "dev")).toEqual([]);
    });

    test.each([
        [2000, 3000, 2377, /Swarm cluster management/],
        [7900, 8000, 7946, /Swarm gossip/],
        [4000, 5000, 4789, /overlay/],
        [8200, 8400, 8300, /Consul server RPC/],
        [8500, 8599, 8500, /Consul HTTP API/],
    ])("web ports %i–%i overlapping the node's own port %i are refused", (portMin, portMax, port, what) => {
        const issue = issuesFor({ ...valid, web: { version: "1", portMin, portMax } }).find((i) => i.key === "web.portMax");
        expect(issue).toBeDefined();
        expect(issue!.rule).toContain(`must not include ${port}`);
        expect(issue!.rule).toMatch(what);
    });

    test("an inverted web port range is refused", () => {
        expect(keysOf({ ...valid, web: { version: "1", portMin: 30000, portMax: 29000 } })).toContain("web.portMax");
        expect(keysOf({ ...valid, web: { version: "1", portMin: 30000, portMax: 30099 } })).toEqual([]);
    });

    test("every broken rule is reported at once, not just the first", () => {
        expect(keysOf({ platform: "x", consul: { servers: 2 }, swarm: { managers: 4, workers: -1 }, web: { replicas: 0 } })).toEqual(
            expect.arrayContaining(["platform", "consul.servers", "swarm.managers", "swarm.workers", "web.replicas", "web.version"]),
        );
    });
});

describe("the program refuses bad config before creating anything", () => {
    test("one error lists every bad key with its value and rule, and no resource is registered", async () => {
        const { error, resources } = await runProgramExpectingError("dev", {
            consul: { servers: 4 },
            swarm: { workers: -2 },
            web: { replicas: 0 },
        });
        expect(error.message).toContain('Invalid stack config for stack "dev"');
        expect(error.message).toMatch(/consul\.servers = 4: must be an odd/);
        expect(error.message).toMatch(/swarm\.workers = -2: must be a whole number ≥ 0/);
        expect(error.message).toMatch(/web\.replicas = 0: must be a whole number ≥ 1/);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });
});

describe("reading the stack file", () => {
    const read = (override: Record<string, unknown>) => readStackConfig(stackConfig("dev", override), "swarm-platform", "dev");

    test("a misspelt top-level key is refused, not ignored", () => {
        expect(read({ webb: { replicas: 7 } }).issues).toEqual([
            {
                key: "webb",
                value: '{"replicas":7}',
                rule: "is not a known key (known: platform, consul, swarm, web, lb, network, edge, aws)",
            },
        ]);
    });

    test("a section set as a plain string is reported, not a JSON.parse crash", () => {
        expect(read({ web: "not json" }).issues).toContainEqual({
            key: "web",
            value: "not json",
            rule: "must be an object (set its keys with `pulumi config set --path`)",
        });
        expect(read({ web: "7" }).issues).toContainEqual({
            key: "web",
            value: 7,
            rule: "must be an object (set its keys with `pulumi config set --path`)",
        });
    });

    test("other namespaces are not this program's (aws:region)", () => {
        const prod = readStackConfig(stackConfig("prod"), "swarm-platform", "prod");
        expect(prod.issues).toEqual([]);
        expect(prod.config?.platform).toBe("aws");
    });
});
