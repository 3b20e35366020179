// Every stack-config rule, called directly through validateStackConfig (no program evaluation): each
// bad value is refused with one message naming the key, the value and the rule — written out
// literally — and the values at each bound are accepted. tests/unit/config.test.ts proves end to end
// that the program creates nothing when these refuse.
import * as fc from "fast-check";
import { formatValue } from "../../components/contracts";
import { assertNever, formatIssue, StackConfig } from "../../config/schema";
import { validateStackConfig } from "../../config/validate";
import { propertyRuns } from "./propertyRuns";

/** An official Debian 12 image name, as the prod stack pins it. */
const AMI_NAME = "debian-12-amd64-20250316-2053";
const LOCAL = { platform: "local", web: { version: "1.0.0" } };
const AWS = { platform: "aws", web: { version: "1.0.0" }, aws: { amiName: AMI_NAME, domain: "www.example.com" } };

type Raw = Record<string, unknown>;
/** `base` with `override`'s sections merged in, one level deep (`{ web: { replicas: 0 } }` keeps web.version). */
function merge(base: Raw, override: Raw): Raw {
    const out: Raw = { ...base };
    for (const [k, v] of Object.entries(override)) {
        const b = base[k];
        const bothObjects = [b, v].every((x) => typeof x === "object" && x !== null && !Array.isArray(x));
        out[k] = bothObjects ? { ...(b as Raw), ...(v as Raw) } : v;
    }
    return out;
}
/** The messages the CLI would print, one per broken rule, in order. */
const problems = (raw: Raw, stack = "dev"): string[] => validateStackConfig(raw, stack).issues.map(formatIssue);
const local = (override: Raw, stack = "dev") => problems(merge(LOCAL, override), stack);
const aws = (override: Raw, stack = "prod") => problems(merge(AWS, override), stack);
const localConfig = (override: Raw, stack = "dev"): StackConfig => {
    const { config, issues } = validateStackConfig(merge(LOCAL, override), stack);
    expect(issues).toEqual([]);
    return config!;
};
const awsConfig = (override: Raw, stack = "prod"): StackConfig => {
    const { config, issues } = validateStackConfig(merge(AWS, override), stack);
    expect(issues).toEqual([]);
    return config!;
};

const ODD = "must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)";
const NOT_DECIMAL = "is not a decimal number (digits, an optional leading - and .fraction: no hex, exponent, Infinity or spaces)";
const CPUS = "must be a number of CPUs from 0.001 to 64, at most 3 decimals";
const MIB = "must be a whole number of MiB from 6 (Docker's minimum) to 4194304";
const OBJECT = "must be an object (set its keys with `pulumi config set --path`)";
const PORT = "must be a TCP port, a whole number from 1 to 65535";
const UNPRIVILEGED = "must be an unprivileged TCP port, 1024–65535";
const WEB_TAG = "must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)";
const CIDR = "must be an IPv4 CIDR such as 10.77.0.0/24";

describe("defaults: a minimal config resolves to the documented values", () => {
    test("local (the dev stack)", () => {
        const { config, issues } = validateStackConfig(LOCAL, "dev");
        expect(issues).toEqual([]);
        expect(config).toEqual({
            stack: "dev",
            platform: "local",
            consul: {
                servers: 3,
                version: "1.20.2",
                datacenter: "dc1",
                resources: { cpus: 0.5, memoryMb: 256 },
                agentResources: { cpus: 0.25, memoryMb: 128 },
                tls: "enforce",
            },
            swarm: { managers: 3, workers: 2, nodeResources: { cpus: 1, memoryMb: 1024 } },
            web: {
                replicas: 3,
                version: "1.0.0",
                resources: { cpus: 0.25, memoryMb: 128 },
                portMin: 20000,
                portMax: 20099,
                drainSeconds: 3,
                stopGraceSeconds: 15,
            },
            lb: {
                vip: "10.77.0.10",
                vrrpVersion: 3,
                advertIntervalSeconds: 0.1,
                virtualRouterId: 51,
                resources: { cpus: 0.5, memoryMb: 128 },
            },
            network: { subnet: "10.77.0.0/24" },
            edge: {
                bindAddress: "127.0.0.1",
                webPort: 8443,
                httpPort: 8080,
                consulUiPort: 8500,
                statsPort: 8404,
                prometheusPort: 9090,
                resources: { cpus: 0.5, memoryMb: 64 },
            },
            rotation: { swarmJoinTokens: 0, statsPassword: 0 },
            aws: {
                zones: 3,
                instanceTypes: {
                    consulServer: "t3.small",
                    manager: "t3.medium",
                    worker: "t3.medium",
                    lb: "t3.small",
                    monitoring: "t3.small",
                },
                amiId: undefined,
                amiName: undefined,
                operatorCidrs: [],
                rootVolumeGb: 20,
                interface: "ens5",
                natGateways: "perZone",
                ssmAgentVersion: "latest",
                domain: "",
                route53ZoneId: "",
                monitoring: { alarmTopicArn: "", logRetentionDays: 30 },
            },
        });
    });

    test("aws: a /16 VPC, an overlay VIP outside it, 3 zones", () => {
        const config = awsConfig({});
        expect(config.platform).toBe("aws");
        expect(config.network.subnet).toBe("10.20.0.0/16");
        expect(config.lb.vip).toBe("192.168.255.10");
        expect(config.aws.zones).toBe(3);
        expect(config.aws.amiName).toBe(AMI_NAME);
        expect(config.aws.amiId).toBeUndefined();
    });

    test("the local VIP defaults to the 10th address of whatever subnet is set", () => {
        expect(localConfig({ network: { subnet: "192.168.4.0/24" } }).lb.vip).toBe("192.168.4.10");
    });

    test("VRRPv2 defaults its advert interval to whole seconds", () => {
        expect(localConfig({ lb: { vrrpVersion: 2 } }).lb.advertIntervalSeconds).toBe(1);
    });

    test("zero is a value, not a missing key: swarm.workers 0 stays 0", () => {
        expect(localConfig({ swarm: { workers: 0 } }).swarm.workers).toBe(0);
    });

    test("numbers may arrive as strings (YAML): decimal text is read as a number", () => {
        const config = localConfig({ consul: { servers: "5" }, web: { replicas: "7", drainSeconds: "2.5" } });
        expect(config.consul.servers).toBe(5);
        expect(config.web.replicas).toBe(7);
        expect(config.web.drainSeconds).toBe(2.5);
        expect(local({ swarm: { workers: "-1" } })).toEqual(['swarm.workers = "-1": must be a whole number ≥ 0']);
    });

    test('a blank string is not a number (not 0): swarm.workers " " and "" are refused', () => {
        expect(local({ swarm: { workers: " " } })).toEqual([`swarm.workers = " ": ${NOT_DECIMAL}; must be a whole number ≥ 0`]);
        expect(local({ swarm: { workers: "" } })).toEqual([`swarm.workers = "": ${NOT_DECIMAL}; must be a whole number ≥ 0`]);
    });

    // Number() reads all of these, and each passed the workers rule before: 16, 1000, 3, 7, 5, 5.
    test.each(["0x10", "1e3", "1E3", "0b11", "0o7", " 7 ", "+5", "5.", ".5", "1_000", "Infinity", "-Infinity", "NaN"])(
        "%p is not a number: hex, exponent, spaces, Infinity are refused",
        (workers) => {
            expect(local({ swarm: { workers } })).toEqual([
                `swarm.workers = ${JSON.stringify(workers)}: ${NOT_DECIMAL}; must be a whole number ≥ 0`,
            ]);
        },
    );

    test("a section given as null is an empty section", () => {
        expect(localConfig({ consul: null }).consul.servers).toBe(3);
    });

    test("a config with a broken rule carries no config, only the issues", () => {
        expect(validateStackConfig(merge(LOCAL, { web: { replicas: 0 } }), "dev").config).toBeUndefined();
    });
});

describe("platform", () => {
    test("is required", () => {
        expect(problems({ web: { version: "1" } })).toEqual(["platform = (missing): is required; one of local, aws"]);
    });
    test("is local or aws", () => {
        expect(local({ platform: "gcp" })).toEqual(['platform = "gcp": must be one of local, aws']);
    });
});

describe("sections and keys", () => {
    test.each([
        ["a string", "7", 'consul = "7": '],
        ["a list", [1], "consul = [1]: "],
        ["a number", 3, "consul = 3: "],
    ])("a section given as %s is refused", (_label, value, prefix) => {
        expect(local({ consul: value })).toEqual([prefix + OBJECT]);
    });

    test.each([
        [
            "consul",
            { server: 3 },
            "consul.server = 3: is not a known key (known: agentResources, datacenter, resources, servers, tls, version)",
        ],
        ["swarm", { worker: 3 }, "swarm.worker = 3: is not a known key (known: managers, nodeResources, workers)"],
        [
            "web",
            { replica: 3 },
            "web.replica = 3: is not a known key (known: drainSeconds, portMax, portMin, replicas, resources, stopGraceSeconds, version)",
        ],
        [
            "lb",
            { vipp: "x" },
            'lb.vipp = "x": is not a known key (known: advertIntervalSeconds, resources, vip, virtualRouterId, vrrpVersion)',
        ],
        ["network", { cidr: "x" }, 'network.cidr = "x": is not a known key (known: subnet)'],
        [
            "edge",
            { port: 1 },
            "edge.port = 1: is not a known key (known: bindAddress, consulUiPort, httpPort, prometheusPort, resources, statsPort, webPort)",
        ],
        [
            "aws",
            { zone: 3 },
            "aws.zone = 3: is not a known key (known: amiId, amiName, domain, instanceTypes, interface, monitoring, natGateways, operatorCidrs, rootVolumeGb, route53ZoneId, ssmAgentVersion, zones)",
        ],
    ])("a misspelt %s key is named with the known ones (on any platform)", (section, value, message) => {
        expect(local({ [section]: value })).toEqual([message]);
    });

    test("resource limits: unknown keys, and a limits section that is not an object", () => {
        expect(local({ consul: { resources: { cpu: 1 } } })).toEqual([
            "consul.resources.cpu = 1: is not a known key (known: cpus, memoryMb)",
        ]);
        expect(local({ swarm: { nodeResources: "big" } })).toEqual([`swarm.nodeResources = "big": ${OBJECT}`]);
    });

    test("every broken rule is reported at once, in section order", () => {
        expect(problems({ platform: "x", consul: { servers: 2 }, swarm: { managers: 4, workers: -1 }, web: { replicas: 0 } })).toEqual([
            'platform = "x": must be one of local, aws',
            `consul.servers = 2: ${ODD}`,
            `swarm.managers = 4: ${ODD}`,
            "swarm.workers = -1: must be a whole number ≥ 0",
            "web.replicas = 0: must be a whole number from 1 to 1000",
            `web.version = (missing): is required; ${WEB_TAG}`,
        ]);
    });
});

describe("quorum groups: consul.servers and swarm.managers", () => {
    test.each([1, 3, 5, 7, "7"])("%p is accepted on a dev stack", (n) => {
        expect(local({ consul: { servers: n }, swarm: { managers: n } })).toEqual([]);
    });

    test.each([0, 2, 4, 6, 8, 9, -1, 3.5, " ", "", "three", true, null])("%p is refused", (n) => {
        expect(local({ consul: { servers: n }, swarm: { managers: n } })).toEqual([
            `consul.servers = ${JSON.stringify(n)}: ${typeof n === "string" ? `${NOT_DECIMAL}; ` : ""}${ODD}`,
            `swarm.managers = ${JSON.stringify(n)}: ${typeof n === "string" ? `${NOT_DECIMAL}; ` : ""}${ODD}`,
        ]);
    });

    test.each([
        ["prod", "local", "on the prod stack"],
        ["production", "local", "on the production stack"],
        ["dev", "aws", "on platform aws"],
        ["staging", "aws", "on platform aws"],
    ])("stack %s on platform %s needs at least 3 of each", (stack, platform, reason) => {
        const raw = { consul: { servers: 1 }, swarm: { managers: 1 } };
        const found = platform === "aws" ? aws(raw, stack) : local(raw, stack);
        expect(found).toEqual([
            `consul.servers = 1: must be at least 3 ${reason} (survives one failure)`,
            `swarm.managers = 1: must be at least 3 ${reason} (survives one failure)`,
        ]);
        const three = { consul: { servers: 3 }, swarm: { managers: 3 } };
        expect(platform === "aws" ? aws(three, stack) : local(three, stack)).toEqual([]);
    });

    test("a stack whose name merely contains prod is not production on the local platform", () => {
        expect(local({ consul: { servers: 1 }, swarm: { managers: 1 } }, "production-eu")).toEqual([]);
        expect(local({ consul: { servers: 1 }, swarm: { managers: 1 } }, "preprod")).toEqual([]);
    });

    test("an even count on a production stack gets the one rule it breaks, not the floor too", () => {
        expect(local({ consul: { servers: 2 } }, "prod")).toEqual([`consul.servers = 2: ${ODD}`]);
    });
});

describe("consul", () => {
    test.each(["1.20.2", "_", "A9_.-", "a".repeat(128)])("version %s is accepted", (version) => {
        expect(local({ consul: { version } })).toEqual([]);
    });
    test.each([".1", "-1", "1.0 beta", " 1.0", "a".repeat(129), "", 120])("version %p is refused", (version) => {
        expect(local({ consul: { version } })).toEqual([
            `consul.version = ${formatValue(version)}: must be a Consul release such as 1.20.2`,
        ]);
    });
    test.each(["dc1", "a", "a-b", "0", "a".repeat(63)])("datacenter %s is accepted", (datacenter) => {
        expect(local({ consul: { datacenter } })).toEqual([]);
    });
    test.each(["DC1", "-dc", "dc-", "dc_1", "dc 1", " dc", "dc ", "a".repeat(64), ""])("datacenter %p is refused", (datacenter) => {
        expect(local({ consul: { datacenter } })).toEqual([
            `consul.datacenter = ${formatValue(datacenter)}: must be a lowercase DNS label`,
        ]);
    });
    test.each(["off", "accept", "permissive", "enforce"])("tls %s is accepted", (tls) => {
        expect(validateStackConfig({ ...LOCAL, consul: { tls } }, "dev").config?.consul.tls).toBe(tls);
    });
    test.each(["on", "Enforce", "strict", "", true, 1])("tls %p is refused, naming the steps", (tls) => {
        expect(local({ consul: { tls } })).toEqual([
            `consul.tls = ${formatValue(tls)}: must be one of off, accept, permissive, enforce (the steps of switching TLS on, in this order: docs/day2.md)`,
        ]);
    });
});

describe("resource limits (every container and task)", () => {
    test.each([
        ["consul", "resources"],
        ["consul", "agentResources"],
        ["swarm", "nodeResources"],
        ["web", "resources"],
        ["lb", "resources"],
        ["edge", "resources"],
    ])("%s.%s: cpus 0.001–64 in thousandths (the task renderer's), memoryMb a whole number 6–4194304", (section, k) => {
        const at = (limits: Raw) => local({ [section]: { [k]: limits } });
        expect(at({ cpus: 0.01, memoryMb: 6 })).toEqual([]);
        expect(at({ cpus: 0.001, memoryMb: 4194304 })).toEqual([]);
        expect(at({ cpus: 1.125 })).toEqual([]);
        // Below the renderer's floor, or finer than it writes (a limit rendered 1e-7, or silently rounded).
        expect(at({ cpus: 0.0009, memoryMb: 4194305 })).toEqual([
            `${section}.${k}.cpus = 0.0009: ${CPUS}`,
            `${section}.${k}.memoryMb = 4194305: ${MIB}`,
        ]);
        expect(at({ cpus: 1e-7 })).toEqual([`${section}.${k}.cpus = 1e-7: ${CPUS}`]);
        expect(at({ cpus: 0.0015 })).toEqual([`${section}.${k}.cpus = 0.0015: ${CPUS}`]);
        expect(at({ cpus: 64, memoryMb: 100000 })).toEqual([]);
        expect(at({ cpus: 0, memoryMb: 5 })).toEqual([`${section}.${k}.cpus = 0: ${CPUS}`, `${section}.${k}.memoryMb = 5: ${MIB}`]);
        expect(at({ cpus: 64.5, memoryMb: 6.5 })).toEqual([
            `${section}.${k}.cpus = 64.5: ${CPUS}`,
            `${section}.${k}.memoryMb = 6.5: ${MIB}`,
        ]);
        expect(at({ cpus: -1 })).toEqual([`${section}.${k}.cpus = -1: ${CPUS}`]);
    });

    test("a value that is not a number is refused, even where the rule's comparisons would coerce it (true > 0)", () => {
        expect(local({ web: { resources: { cpus: true } } })).toEqual([`web.resources.cpus = true: ${CPUS}`]);
        expect(local({ web: { resources: { cpus: [1] } } })).toEqual([`web.resources.cpus = [1]: ${CPUS}`]);
    });

    test("a limit left out keeps its own default", () => {
        expect(localConfig({ lb: { resources: { cpus: 2 } } }).lb.resources).toEqual({ cpus: 2, memoryMb: 128 });
    });
});

describe("swarm.workers", () => {
    test.each([0, 1, 100])("%p is accepted", (workers) => {
        expect(local({ swarm: { workers } })).toEqual([]);
    });
    test.each([-1, 1.5])("%p is refused", (workers) => {
        expect(local({ swarm: { workers } })).toEqual([`swarm.workers = ${workers}: must be a whole number ≥ 0`]);
    });
});

describe("web", () => {
    test("version is required", () => {
        expect(local({ web: { version: undefined } })).toEqual([`web.version = (missing): is required; ${WEB_TAG}`]);
    });
    test.each(["", ".1", "-1", "1 0", 7])("version %p is refused", (version) => {
        expect(local({ web: { version } })).toEqual([`web.version = ${JSON.stringify(version)}: ${WEB_TAG}`]);
    });

    test("replicas: a whole number ≥ 1", () => {
        expect(local({ web: { replicas: 1 } })).toEqual([]);
        expect(local({ web: { replicas: 0 } })).toEqual(["web.replicas = 0: must be a whole number from 1 to 1000"]);
        expect(local({ web: { replicas: 2.5 } })).toEqual(["web.replicas = 2.5: must be a whole number from 1 to 1000"]);
    });

    test("the port range: unprivileged ports, 1024–65535", () => {
        expect(local({ web: { portMin: 1024, portMax: 1100 } })).toEqual([]);
        expect(local({ web: { portMin: 65000, portMax: 65535 } })).toEqual([]);
        expect(local({ web: { portMin: 1023 } })).toEqual([`web.portMin = 1023: ${UNPRIVILEGED}`]);
        expect(local({ web: { portMin: 65000, portMax: 65536 } })).toEqual([
            `web.portMax = 65536: ${UNPRIVILEGED}`,
            // The refused portMax falls back to its default 20099, below portMin.
            "web.portMax = 20099: must not be below web.portMin = 65000",
            "web.portMax = 20099: must leave at least web.replicas + 1 = 4 ports from web.portMin = 65000",
        ]);
        expect(local({ web: { portMin: 20000.5 } })).toEqual([`web.portMin = 20000.5: ${UNPRIVILEGED}`]);
    });

    test("an inverted range is refused", () => {
        expect(local({ web: { portMin: 30000, portMax: 29000 } })).toEqual([
            "web.portMax = 29000: must not be below web.portMin = 30000",
            "web.portMax = 29000: must leave at least web.replicas + 1 = 4 ports from web.portMin = 30000",
        ]);
    });

    test("the range holds every replica plus the surge task: replicas + 1 ports", () => {
        expect(local({ web: { portMin: 30000, portMax: 30003 } })).toEqual([]);
        expect(local({ web: { portMin: 30000, portMax: 30002 } })).toEqual([
            "web.portMax = 30002: must leave at least web.replicas + 1 = 4 ports from web.portMin = 30000",
        ]);
        expect(local({ web: { replicas: 1, portMin: 30000, portMax: 30001 } })).toEqual([]);
        expect(local({ web: { replicas: 1, portMin: 30000, portMax: 30000 } })).toEqual([
            "web.portMax = 30000: must leave at least web.replicas + 1 = 2 ports from web.portMin = 30000",
        ]);
    });

    test.each([
        [2377, 2378, 2377, "Swarm cluster management"],
        [2376, 2377, 2377, "Swarm cluster management"],
        [7945, 7946, 7946, "Swarm gossip"],
        [4789, 4790, 4789, "Swarm overlay (VXLAN)"],
        [8299, 8300, 8300, "Consul server RPC"],
        [8301, 8302, 8301, "Consul LAN gossip"],
        [8302, 8303, 8302, "Consul WAN gossip"],
        [8499, 8500, 8500, "Consul HTTP API"],
        [8600, 8601, 8600, "Consul DNS"],
    ])("web ports %i–%i hold the node's own port %i (%s): refused", (portMin, portMax, port, what) => {
        expect(local({ web: { replicas: 1, portMin, portMax } })).toEqual([
            `web.portMax = ${portMax}: web.portMin–web.portMax (${portMin}–${portMax}) must not include ${port}, the ${what} port on every swarm node`,
        ]);
    });

    test.each([
        [2378, 2400],
        [2300, 2376],
        [8303, 8499],
        [8501, 8599],
        [8601, 8700],
    ])("web ports %i–%i next to the node's own ports are accepted", (portMin, portMax) => {
        expect(local({ web: { replicas: 1, portMin, portMax } })).toEqual([]);
    });

    test("a single-port range on a node port gets both rules", () => {
        expect(local({ web: { replicas: 1, portMin: 2377, portMax: 2377 } })).toEqual([
            "web.portMax = 2377: web.portMin–web.portMax (2377–2377) must not include 2377, the Swarm cluster management port on every swarm node",
            "web.portMax = 2377: must leave at least web.replicas + 1 = 2 ports from web.portMin = 2377",
        ]);
    });

    test("drainSeconds: from HAProxy's discovery lag (2 s) to 60 s", () => {
        expect(local({ web: { drainSeconds: 2, stopGraceSeconds: 4 } })).toEqual([]);
        expect(local({ web: { drainSeconds: 60, stopGraceSeconds: 62 } })).toEqual([]);
        // The component's own bound (0–60 s) and the stack's (at least the LB pair's discovery lag).
        expect(local({ web: { drainSeconds: 1.99 } })).toEqual([
            "web.drainSeconds = 1.99: must be at least 2 seconds (HAProxy drops a deregistered task within 2 s)",
        ]);
        expect(local({ web: { drainSeconds: 60.5, stopGraceSeconds: 100 } })).toEqual(["web.drainSeconds = 60.5: must be 0–60 seconds"]);
    });

    test("stopGraceSeconds: a whole number ≥ 1, at least drainSeconds + 2", () => {
        expect(local({ web: { drainSeconds: 3, stopGraceSeconds: 5 } })).toEqual([]);
        expect(local({ web: { drainSeconds: 3, stopGraceSeconds: 4 } })).toEqual([
            "web.stopGraceSeconds = 4: must be at least web.drainSeconds + 2 = 5 so a draining task is not killed mid-request",
        ]);
        expect(local({ web: { drainSeconds: 2.5, stopGraceSeconds: 4 } })).toEqual([
            "web.stopGraceSeconds = 4: must be at least web.drainSeconds + 2 = 4.5 so a draining task is not killed mid-request",
        ]);
        // A refused stopGraceSeconds falls back to its default 15 for the cross-check.
        expect(local({ web: { stopGraceSeconds: 0 } })).toEqual([
            "web.stopGraceSeconds = 0: must be a whole number of seconds from 1 to 3600",
        ]);
        expect(local({ web: { stopGraceSeconds: 6.5 } })).toEqual([
            "web.stopGraceSeconds = 6.5: must be a whole number of seconds from 1 to 3600",
        ]);
    });

    // The task renderer (render/webService.ts) refuses these: before, config passed them and the
    // deploy script's `apply` failed after the whole swarm was registered, naming stopGracePeriodSeconds.
    test("stopGraceSeconds: at most the task renderer's 3600", () => {
        expect(local({ web: { stopGraceSeconds: 3600 } })).toEqual([]);
        expect(local({ web: { stopGraceSeconds: 3601 } })).toEqual([
            "web.stopGraceSeconds = 3601: must be a whole number of seconds from 1 to 3600",
        ]);
    });

    test("replicas: at most the task renderer's 1000", () => {
        const wide = { portMin: 10000, portMax: 65535 };
        expect(local({ web: { ...wide, replicas: 1000 } })).toEqual([]);
        expect(local({ web: { ...wide, replicas: 1001 } })).toEqual(["web.replicas = 1001: must be a whole number from 1 to 1000"]);
    });
});

describe("network.subnet", () => {
    test.each(["10.77.0.0/33", "10.77.0.0", "10.77.0/24", "10.77.0.0/ab", "10.77.0.0/024", "10.77.0.0/", "/24", "10.77.0.0/24/1"])(
        "%s is not a CIDR",
        (subnet) => {
            expect(local({ network: { subnet } })).toEqual([`network.subnet = ${JSON.stringify(subnet)}: ${CIDR}`]);
        },
    );

    test("a refused subnet is reported alone: the plan and the VIP are not checked against the default it falls back to", () => {
        expect(local({ network: { subnet: "192.168.1.0/24x" }, lb: { vip: "192.168.1.10" } })).toEqual([
            `network.subnet = "192.168.1.0/24x": ${CIDR}`,
        ]);
        expect(local({ network: { subnet: "192.168.0.0/16/1" }, swarm: { workers: 300 } })).toEqual([
            `network.subnet = "192.168.0.0/16/1": ${CIDR}`,
        ]);
        expect(aws({ network: { subnet: "10.20.0.0" }, lb: { vip: "10.20.1.10" } })).toEqual([`network.subnet = "10.20.0.0": ${CIDR}`]);
    });

    test("a subnet that is not a string is refused with the CIDR rule", () => {
        expect(local({ network: { subnet: 5 } })).toEqual([`network.subnet = 5: ${CIDR}`]);
    });

    test("host bits must be zero", () => {
        expect(local({ network: { subnet: "10.77.0.5/24" } })).toEqual([
            'network.subnet = "10.77.0.5/24": must name the network address (host bits zero): 10.77.0.0/24',
        ]);
    });

    test.each(["8.8.8.0/24", "100.64.0.0/24", "169.254.0.0/24"])("%s is not private (RFC 1918)", (subnet) => {
        expect(local({ network: { subnet } })).toEqual([`network.subnet = "${subnet}": must be a private (RFC 1918) range`]);
    });

    test.each(["10.0.0.0/9", "172.16.0.0/12", "192.168.77.0/24"])("%s is private and large enough", (subnet) => {
        expect(local({ network: { subnet } })).toEqual([]);
    });

    // render/swarm.ts refuses a nodes' subnet that overlaps the pools the engines allocate from
    // (daemon.json's default-address-pools, `swarm init --default-addr-pool`); before, config passed
    // 10.0.0.0/8 and the program failed in the swarm component, after the Consul cluster was registered.
    test.each([
        ["local", "10.0.0.0/8", "10.214.0.0/16, the address pool of Swarm's overlay networks"],
        ["local", "10.214.7.0/24", "10.214.0.0/16, the address pool of Swarm's overlay networks"],
        ["local", "10.215.0.0/24", "10.215.0.0/16, the address pool of each swarm node engine's bridge networks"],
        ["aws", "10.214.0.0/16", "10.214.0.0/16, the address pool of Swarm's overlay networks"],
        ["aws", "10.215.0.0/16", "10.215.0.0/16, the address pool of each swarm node engine's bridge networks"],
    ])("%s: %s overlaps a swarm address pool", (platform, subnet, pool) => {
        const refused = platform === "local" ? local({ network: { subnet }, lb: { vip: undefined } }) : aws({ network: { subnet } });
        expect(refused).toEqual([`network.subnet = "${subnet}": overlaps ${pool}: pick a range outside it`]);
    });

    test.each([
        ["local", "10.213.255.0/24"],
        ["local", "10.216.0.0/24"],
        ["aws", "10.213.0.0/16"],
        ["aws", "10.216.0.0/16"],
    ])("%s: %s, beside the pools, is accepted", (platform, subnet) => {
        expect(platform === "local" ? local({ network: { subnet }, lb: { vip: undefined } }) : aws({ network: { subnet } })).toEqual([]);
    });

    test("local: the subnet must hold the plan up to the last worker", () => {
        expect(local({ network: { subnet: "10.77.0.0/27" } })).toEqual([
            'network.subnet = "10.77.0.0/27": is too small: the address plan needs host offsets up to 41 (workers start at 40); use a larger subnet or fewer swarm.workers',
        ]);
        // A /26's last host is offset 62: 23 workers end there, 24 would need 63 (the broadcast address).
        expect(local({ network: { subnet: "10.77.0.0/26" }, swarm: { workers: 23 } })).toEqual([]);
        expect(local({ network: { subnet: "10.77.0.0/26" }, swarm: { workers: 24 } })).toEqual([
            'network.subnet = "10.77.0.0/26": is too small: the address plan needs host offsets up to 63 (workers start at 40); use a larger subnet or fewer swarm.workers',
        ]);
        // Without workers a /27 holds one server (.20) and one manager (.30).
        expect(local({ network: { subnet: "10.77.0.0/27" }, consul: { servers: 1 }, swarm: { managers: 1, workers: 0 } })).toEqual([]);
    });

    test("aws: a /16–/24 VPC", () => {
        const rule = "must be a /16–/24 VPC range (each zone gets a public and a private subnet 4 bits longer)";
        expect(aws({ network: { subnet: "10.20.0.0/25" } })).toEqual([`network.subnet = "10.20.0.0/25": ${rule}`]);
        expect(aws({ network: { subnet: "10.0.0.0/15" } })).toEqual([`network.subnet = "10.0.0.0/15": ${rule}`]);
        expect(aws({ network: { subnet: "10.0.0.0/16" } })).toEqual([]);
    });

    test("aws: each zone's private subnet (4 bits longer) must hold its share of the plan", () => {
        // /24 → /28 zone subnets: 16 addresses, far too few.
        expect(aws({ network: { subnet: "10.20.0.0/24" } })).toEqual([
            'network.subnet = "10.20.0.0/24": is too small: each zone\'s private subnet (/28) must hold host offsets up to 40',
        ]);
        // /22 → /26 zone subnets; over 2 zones, 44 workers put 22 in each (offsets 40–61).
        expect(aws({ network: { subnet: "10.20.0.0/22" }, aws: { zones: 2 }, swarm: { workers: 44 } })).toEqual([]);
        // 48 workers put 24 in each: offset 63 is the zone subnet's broadcast address, which AWS reserves.
        expect(aws({ network: { subnet: "10.20.0.0/22" }, aws: { zones: 2 }, swarm: { workers: 48 } })).toEqual([
            'network.subnet = "10.20.0.0/22": is too small: each zone\'s private subnet (/26) must hold host offsets up to 63',
        ]);
        // Over 3 zones the same /22 holds 66 workers (22 per zone), as spread by the plan.
        expect(aws({ network: { subnet: "10.20.0.0/22" }, aws: { zones: 3 }, swarm: { workers: 66 } })).toEqual([]);
    });
});

describe("lb", () => {
    test("vrrpVersion: 2 or 3", () => {
        expect(local({ lb: { vrrpVersion: 1 } })).toEqual(["lb.vrrpVersion = 1: must be 2 or 3"]);
        expect(local({ lb: { vrrpVersion: 4 } })).toEqual(["lb.vrrpVersion = 4: must be 2 or 3"]);
        expect(localConfig({ lb: { vrrpVersion: 2 } }).lb.vrrpVersion).toBe(2);
    });

    test("VRRPv2 adverts: whole seconds, 1–255", () => {
        const rule = "must be a whole number of seconds from 1 to 255 with lb.vrrpVersion 2 (VRRPv2 cannot express sub-second adverts)";
        expect(local({ lb: { vrrpVersion: 2, advertIntervalSeconds: 1 } })).toEqual([]);
        expect(local({ lb: { vrrpVersion: 2, advertIntervalSeconds: 255 } })).toEqual([]);
        for (const v of [0.5, 0, 256, 1.5])
            expect(local({ lb: { vrrpVersion: 2, advertIntervalSeconds: v } })).toEqual([`lb.advertIntervalSeconds = ${v}: ${rule}`]);
    });

    test("VRRPv3 adverts: 0.01–40 s in centiseconds", () => {
        const rule = "must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)";
        for (const v of [0.01, 0.29, 1, 40]) expect(local({ lb: { advertIntervalSeconds: v } })).toEqual([]);
        for (const v of [0.009, 0, 40.01, 0.015, 1.001])
            expect(local({ lb: { advertIntervalSeconds: v } })).toEqual([`lb.advertIntervalSeconds = ${v}: ${rule}`]);
        expect(localConfig({ lb: { advertIntervalSeconds: 0.29 } }).lb.advertIntervalSeconds).toBe(0.29);
    });

    test("virtualRouterId: a whole number from 1 to 255", () => {
        expect(local({ lb: { virtualRouterId: 1 } })).toEqual([]);
        expect(local({ lb: { virtualRouterId: 255 } })).toEqual([]);
        for (const v of [0, 256, 1.5])
            expect(local({ lb: { virtualRouterId: v } })).toEqual([`lb.virtualRouterId = ${v}: must be a whole number from 1 to 255`]);
    });

    test.each(["10.77.0.300", "10.77.0", "vip", ""])("vip %p is not an IPv4 address", (vip) => {
        expect(local({ lb: { vip } })).toEqual([`lb.vip = ${JSON.stringify(vip)}: must be an IPv4 address`]);
    });

    test.each([
        ["10.78.0.10", "must be inside network.subnet 10.77.0.0/24"],
        ["10.77.0.0", "must not be the network or broadcast address of 10.77.0.0/24"],
        ["10.77.0.255", "must not be the network or broadcast address of 10.77.0.0/24"],
        ["10.77.0.1", "collides with the address of the network gateway; pick a free host of 10.77.0.0/24"],
        ["10.77.0.2", "collides with the address of the edge; pick a free host of 10.77.0.0/24"],
        ["10.77.0.12", "collides with the address of lb-1; pick a free host of 10.77.0.0/24"],
        ["10.77.0.20", "collides with the address of consul-server-0; pick a free host of 10.77.0.0/24"],
        ["10.77.0.32", "collides with the address of manager-2; pick a free host of 10.77.0.0/24"],
        ["10.77.0.41", "collides with the address of worker-1; pick a free host of 10.77.0.0/24"],
    ])("local vip %s is refused", (vip, rule) => {
        expect(local({ lb: { vip } })).toEqual([`lb.vip = "${vip}": ${rule}`]);
    });

    test.each(["10.77.0.3", "10.77.0.100", "10.77.0.254", "10.77.0.42"])("local vip %s, a free host, is accepted", (vip) => {
        expect(localConfig({ lb: { vip } }).lb.vip).toBe(vip);
    });

    test("aws: the VIP is a private overlay address outside the VPC", () => {
        expect(aws({ lb: { vip: "10.20.1.10" } })).toEqual([
            'lb.vip = "10.20.1.10": must lie outside the VPC 10.20.0.0/16: on aws the VIP is an overlay address routed to the MASTER',
        ]);
        expect(aws({ lb: { vip: "8.8.8.8" } })).toEqual(['lb.vip = "8.8.8.8": must be a private (RFC 1918) address']);
        expect(awsConfig({ lb: { vip: "172.31.0.10" } }).lb.vip).toBe("172.31.0.10");
    });
});

describe("edge", () => {
    test.each(["localhost", "127.0.0.256", ""])("bindAddress %p is refused", (bindAddress) => {
        expect(local({ edge: { bindAddress } })).toEqual([
            `edge.bindAddress = ${JSON.stringify(bindAddress)}: must be an IPv4 address of this host (127.0.0.1 keeps the platform private)`,
        ]);
    });

    test("ports: 1–65535", () => {
        expect(local({ edge: { webPort: 1, consulUiPort: 65535 } })).toEqual([]);
        expect(local({ edge: { webPort: 0 } })).toEqual([`edge.webPort = 0: ${PORT}`]);
        expect(local({ edge: { consulUiPort: 65536 } })).toEqual([`edge.consulUiPort = 65536: ${PORT}`]);
        expect(local({ edge: { statsPort: 80.5 } })).toEqual([`edge.statsPort = 80.5: ${PORT}`]);
    });

    test("the four ports differ; a clash names the port it clashes with", () => {
        expect(local({ edge: { webPort: 8500 } })).toEqual(["edge.consulUiPort = 8500: must differ from edge.webPort"]);
        expect(local({ edge: { statsPort: 8443 } })).toEqual(["edge.statsPort = 8443: must differ from edge.webPort"]);
        expect(local({ edge: { statsPort: 8080 } })).toEqual(["edge.statsPort = 8080: must differ from edge.httpPort"]);
        expect(local({ edge: { httpPort: 8443 } })).toEqual(["edge.httpPort = 8443: must differ from edge.webPort"]);
        expect(local({ edge: { httpPort: 65536 } })).toEqual([`edge.httpPort = 65536: ${PORT}`]);
        expect(local({ edge: { statsPort: 8500 } })).toEqual(["edge.statsPort = 8500: must differ from edge.consulUiPort"]);
        expect(local({ edge: { webPort: 9000, consulUiPort: 9000, statsPort: 9000 } })).toEqual([
            "edge.consulUiPort = 9000: must differ from edge.webPort",
            "edge.statsPort = 9000: must differ from edge.webPort",
        ]);
    });
});

describe("rotation (day-2 secret rotations)", () => {
    test("each generation counter is a whole number ≥ 0, on both platforms", () => {
        expect(localConfig({ rotation: { swarmJoinTokens: 3, statsPassword: "2" } }).rotation).toEqual({
            swarmJoinTokens: 3,
            statsPassword: 2,
        });
        expect(awsConfig({ rotation: { swarmJoinTokens: 0, statsPassword: 1 } }).rotation).toEqual({
            swarmJoinTokens: 0,
            statsPassword: 1,
        });
        expect(local({ rotation: { swarmJoinTokens: -1, statsPassword: 1.5 } })).toEqual([
            "rotation.swarmJoinTokens = -1: must be a whole number ≥ 0",
            "rotation.statsPassword = 1.5: must be a whole number ≥ 0",
        ]);
        expect(aws({ rotation: { statsPassword: "next" } })).toEqual([
            'rotation.statsPassword = "next": is not a decimal number (digits, an optional leading - and .fraction: no hex, exponent, Infinity or spaces); must be a whole number ≥ 0',
        ]);
    });

    test("a misspelt rotation key or a rotation set as a plain value is refused", () => {
        expect(local({ rotation: { joinTokens: 1 } })).toEqual([
            "rotation.joinTokens = 1: is not a known key (known: statsPassword, swarmJoinTokens)",
        ]);
        expect(local({ rotation: 2 })).toEqual([`rotation = 2: ${OBJECT}`]);
    });
});

describe("aws", () => {
    test("platform aws must pin its AMI", () => {
        expect(problems({ platform: "aws", web: { version: "1" }, aws: { domain: "www.example.com" } }, "prod")).toEqual([
            "aws.amiName = (missing): is required with platform aws (or aws.amiId): the AMI is pinned in stack config so an upstream release never " +
                "replaces the nodes by surprise; a new one rolls them one at a time (README: Updating the AMI)",
        ]);
        expect(
            problems(
                { platform: "aws", web: { version: "1" }, aws: { amiId: "ami-0123456789abcdef0", domain: "www.example.com" } },
                "prod",
            ),
        ).toEqual([]);
    });

    test("platform aws must name the domain its HTTPS certificate is for; local needs none", () => {
        expect(aws({ aws: { domain: undefined } })).toEqual([
            "aws.domain = (missing): is required with platform aws: the load balancer serves HTTPS with an ACM certificate for this name",
        ]);
        expect(local({})).toEqual([]);
        expect(awsConfig({}).aws).toMatchObject({ domain: "www.example.com", route53ZoneId: "" });
    });

    const DOMAIN_RULE = "must be a lowercase fully qualified host name such as www.example.com (RFC 1123 labels, ≤ 253 characters)";
    test.each([
        "example.com",
        "www.example.com",
        "a-b.c1.example.co",
        "1and1.example.io",
        `${"a".repeat(63)}.example.com`,
        // 253 characters in all: 3 labels of 63, one of 61, three dots.
        `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
    ])("domain %s is accepted", (domain) => {
        expect(awsConfig({ aws: { domain } }).aws.domain).toBe(domain);
    });
    test.each([
        "localhost",
        "Example.com",
        "-a.example.com",
        "a-.example.com",
        "a..example.com",
        "example.com.",
        "*.example.com",
        "www.example.123",
        "exa mple.com",
        "exa_mple.com",
        `${"a".repeat(64)}.example.com`,
        `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`,
        "",
        80,
    ])("domain %p is refused", (domain) => {
        expect(aws({ aws: { domain } })).toEqual([`aws.domain = ${formatValue(domain)}: ${DOMAIN_RULE}`]);
    });

    test.each(["Z1D633PJN98FT9", "Z0123456789ABCDEFGHIJ", "Z" + "A".repeat(31)])("route53ZoneId %s is accepted", (route53ZoneId) => {
        expect(awsConfig({ aws: { route53ZoneId } }).aws.route53ZoneId).toBe(route53ZoneId);
    });
    test.each(["z1D633PJN98FT9", "Z", "Z" + "A".repeat(32), "/hostedzone/Z1D633PJN98FT9", "Z1D633PJN98FT9 ", "", 7])(
        "route53ZoneId %p is refused",
        (route53ZoneId) => {
            expect(aws({ aws: { route53ZoneId } })).toEqual([
                `aws.route53ZoneId = ${JSON.stringify(route53ZoneId)}: must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ`,
            ]);
        },
    );

    test.each(["ami-01234567", "ami-0123456789abcdef0", "ami-" + "a".repeat(17)])("amiId %s is accepted", (amiId) => {
        expect(awsConfig({ aws: { amiId, amiName: undefined } }).aws.amiId).toBe(amiId);
    });
    test.each(["ami-0123456", "ami-" + "a".repeat(18), "xami-01234567", "ami-01234567x", "ami-0123456G", "debian", 7])(
        "amiId %p is refused",
        (amiId) => {
            expect(aws({ aws: { amiId, amiName: undefined } })).toEqual([
                `aws.amiId = ${JSON.stringify(amiId)}: must be an AMI id such as ami-0123456789abcdef0`,
            ]);
        },
    );

    test.each(["debian-12-amd64-20250316-2053", "debian-12-amd64-20250316-1", "debian-12-amd64-20250316-123456"])(
        "amiName %s is accepted",
        (amiName) => {
            expect(awsConfig({ aws: { amiName } }).aws.amiName).toBe(amiName);
        },
    );
    test.each([
        "debian-12-amd64-latest",
        "debian-12-amd64-2025031-2053",
        "debian-12-amd64-20250316-",
        "debian-12-amd64-20250316-1234567",
        "xdebian-12-amd64-20250316-2053",
        "debian-12-amd64-20250316-2053x",
        "debian-12-arm64-20250316-2053",
    ])("amiName %s is refused", (amiName) => {
        expect(aws({ aws: { amiName } })).toEqual([
            `aws.amiName = "${amiName}": must be an official Debian 12 amd64 image name such as debian-12-amd64-20250316-2053`,
        ]);
    });

    test("a refused amiId beside an amiName breaks both rules", () => {
        expect(aws({ aws: { amiId: "ami-x" } })).toEqual([
            'aws.amiId = "ami-x": must be an AMI id such as ami-0123456789abcdef0',
            `aws.amiName = "${AMI_NAME}": give aws.amiName or aws.amiId, not both`,
        ]);
    });

    test("a refused amiName beside an amiId: the 'not both' rule names the value given", () => {
        expect(aws({ aws: { amiId: "ami-0123456789abcdef0", amiName: "debian-x" } })).toEqual([
            'aws.amiName = "debian-x": must be an official Debian 12 amd64 image name such as debian-12-amd64-20250316-2053',
            'aws.amiName = "debian-x": give aws.amiName or aws.amiId, not both',
        ]);
    });

    test("amiName and amiId are exclusive", () => {
        expect(aws({ aws: { amiId: "ami-0123456789abcdef0" } })).toEqual([
            `aws.amiName = "${AMI_NAME}": give aws.amiName or aws.amiId, not both`,
        ]);
    });

    test("zones: 2–6", () => {
        expect(awsConfig({ aws: { zones: 2 } }).aws.zones).toBe(2);
        expect(awsConfig({ aws: { zones: 6 } }).aws.zones).toBe(6);
        for (const zones of [1, 7, 2.5])
            expect(aws({ aws: { zones } })).toEqual([
                `aws.zones = ${zones}: must be a whole number from 2 to 6 (a quorum must survive a zone outage)`,
            ]);
    });

    test.each(["t3.small", "m7g.large", "u-6tb1.metal", "c7i.48xlarge"])("instance type %s is accepted", (worker) => {
        expect(awsConfig({ aws: { instanceTypes: { worker } } }).aws.instanceTypes.worker).toBe(worker);
    });
    test.each(["big", "T3.small", "t3.", ".small", "3t.small", "t3.small!", "x t3.small", "t3.Small"])(
        "instance type %p is refused",
        (lb) => {
            expect(aws({ aws: { instanceTypes: { lb } } })).toEqual([
                `aws.instanceTypes.lb = "${lb}": must be an EC2 instance type such as t3.medium`,
            ]);
        },
    );
    test("instance types: each role keeps its default, a misspelt role is named", () => {
        expect(awsConfig({ aws: { instanceTypes: { manager: "m7g.large" } } }).aws.instanceTypes).toEqual({
            consulServer: "t3.small",
            manager: "m7g.large",
            worker: "t3.medium",
            lb: "t3.small",
            monitoring: "t3.small",
        });
        expect(aws({ aws: { instanceTypes: { web: "t3.small" } } })).toEqual([
            'aws.instanceTypes.web = "t3.small": is not a known key (known: consulServer, lb, manager, monitoring, worker)',
        ]);
    });

    test("operatorCidrs: a list of CIDRs, /8 or narrower, public ones allowed", () => {
        expect(awsConfig({ aws: { operatorCidrs: ["203.0.113.7/32", "10.0.0.0/8"] } }).aws.operatorCidrs).toEqual([
            "203.0.113.7/32",
            "10.0.0.0/8",
        ]);
        expect(aws({ aws: { operatorCidrs: ["10.0.0.0/8", "0.0.0.0/0", "8.0.0.0/7"] } })).toEqual([
            'aws.operatorCidrs[1] = "0.0.0.0/0": must be /8 or narrower: operator access is never open to the internet',
            'aws.operatorCidrs[2] = "8.0.0.0/7": must be /8 or narrower: operator access is never open to the internet',
        ]);
        expect(aws({ aws: { operatorCidrs: ["10.0.0.1/33", "10.0.0.1/24", 5] } })).toEqual([
            `aws.operatorCidrs[0] = "10.0.0.1/33": ${CIDR}`,
            'aws.operatorCidrs[1] = "10.0.0.1/24": must name the network address (host bits zero): 10.0.0.0/24',
            "aws.operatorCidrs[2] = 5: must be a string",
        ]);
        expect(aws({ aws: { operatorCidrs: ["10.0.0.0/8/1"] } })).toEqual([`aws.operatorCidrs[0] = "10.0.0.0/8/1": ${CIDR}`]);
        expect(aws({ aws: { operatorCidrs: "10.0.0.0/8" } })).toEqual(['aws.operatorCidrs = "10.0.0.0/8": must be a list']);
    });

    test("rootVolumeGb: a whole number from 8 to 16384", () => {
        expect(awsConfig({ aws: { rootVolumeGb: 8 } }).aws.rootVolumeGb).toBe(8);
        expect(awsConfig({ aws: { rootVolumeGb: 16384 } }).aws.rootVolumeGb).toBe(16384);
        for (const v of [7, 16385, 8.5])
            expect(aws({ aws: { rootVolumeGb: v } })).toEqual([`aws.rootVolumeGb = ${v}: must be a whole number of GiB from 8 to 16384`]);
    });

    test.each(["ens5", "eth0", "a" + "b".repeat(14), "en"])("interface %s is accepted", (iface) => {
        expect(awsConfig({ aws: { interface: iface } }).aws.interface).toBe(iface);
    });
    test.each(["e", "a" + "b".repeat(15), "Ens5", "ens-5", "5ens", " ens5", "ens5 "])("interface %p is refused", (iface) => {
        expect(aws({ aws: { interface: iface } })).toEqual([`aws.interface = "${iface}": must be a network interface name such as ens5`]);
    });

    test("natGateways: perZone or single", () => {
        expect(awsConfig({ aws: { natGateways: "single" } }).aws.natGateways).toBe("single");
        expect(awsConfig({ aws: { natGateways: "perZone" } }).aws.natGateways).toBe("perZone");
        expect(aws({ aws: { natGateways: "none" } })).toEqual(['aws.natGateways = "none": must be "perZone" or "single"']);
    });

    test.each(["latest", "3.3.1611.0", "10.12.1611.10"])("ssmAgentVersion %s is accepted", (ssmAgentVersion) => {
        expect(awsConfig({ aws: { ssmAgentVersion } }).aws.ssmAgentVersion).toBe(ssmAgentVersion);
    });
    test.each(["3.3.1611", "latest1", "xlatest", "x3.3.1611.0", "3.3.1611.0x", "3.3.a.0"])(
        "ssmAgentVersion %s is refused",
        (ssmAgentVersion) => {
            expect(aws({ aws: { ssmAgentVersion } })).toEqual([
                `aws.ssmAgentVersion = "${ssmAgentVersion}": must be "latest" or an SSM agent release such as 3.3.1611.0`,
            ]);
        },
    );

    test.each([
        "arn:aws:sns:eu-west-1:123456789012:platform-alarms",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:Ops_Pager",
        "arn:aws-cn:sns:cn-north-1:123456789012:a",
        `arn:aws:sns:ap-southeast-3:123456789012:${"t".repeat(256)}`,
        "arn:aws:sns:eu-west-1:123456789012:ordered.fifo",
    ])("monitoring.alarmTopicArn %s is accepted", (alarmTopicArn) => {
        expect(awsConfig({ aws: { monitoring: { alarmTopicArn } } }).aws.monitoring.alarmTopicArn).toBe(alarmTopicArn);
    });
    test.each([
        "",
        "platform-alarms",
        "arn:aws:sqs:eu-west-1:123456789012:platform-alarms",
        "arn:aws:sns:eu-west-1:12345678901:platform-alarms",
        "arn:aws:sns:eu-west-1:1234567890123:platform-alarms",
        "arn:aws:sns:eu-west:123456789012:platform-alarms",
        "arn:aws:sns::123456789012:platform-alarms",
        "arn:gcp:sns:eu-west-1:123456789012:platform-alarms",
        "arn:aws:sns:eu-west-1:123456789012:",
        "arn:aws:sns:eu-west-1:123456789012:has space",
        "arn:aws:sns:eu-west-1:123456789012:a:b",
        `arn:aws:sns:eu-west-1:123456789012:${"t".repeat(257)}`,
        " arn:aws:sns:eu-west-1:123456789012:platform-alarms",
    ])("monitoring.alarmTopicArn %p is refused, naming the key, the value and the rule", (alarmTopicArn) => {
        expect(aws({ aws: { monitoring: { alarmTopicArn } } })).toEqual([
            `aws.monitoring.alarmTopicArn = ${formatValue(alarmTopicArn)}: must be an SNS topic ARN, arn:aws[-partition]:sns:<region>:<12-digit account>:<topic name>, such as arn:aws:sns:eu-west-1:123456789012:platform-alarms`,
        ]);
    });
    test("monitoring.alarmTopicArn that is not a string is refused", () => {
        expect(aws({ aws: { monitoring: { alarmTopicArn: 42 } } })).toEqual([
            "aws.monitoring.alarmTopicArn = 42: must be an SNS topic ARN, arn:aws[-partition]:sns:<region>:<12-digit account>:<topic name>, such as arn:aws:sns:eu-west-1:123456789012:platform-alarms",
        ]);
    });

    const RETENTION =
        "must be a retention period CloudWatch Logs accepts, in days: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653";
    test.each([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653])(
        "monitoring.logRetentionDays %d (a period CloudWatch Logs accepts) is accepted",
        (logRetentionDays) => {
            expect(awsConfig({ aws: { monitoring: { logRetentionDays } } }).aws.monitoring.logRetentionDays).toBe(logRetentionDays);
        },
    );
    test("monitoring.logRetentionDays may arrive as text (YAML), in the number grammar", () => {
        expect(awsConfig({ aws: { monitoring: { logRetentionDays: "90" } } }).aws.monitoring.logRetentionDays).toBe(90);
    });
    test.each([0, 2, 31, 366, 3654, -30, 30.5, 1e9])(
        "monitoring.logRetentionDays %p is refused, naming the key, the value and the rule",
        (logRetentionDays) => {
            expect(aws({ aws: { monitoring: { logRetentionDays } } })).toEqual([
                `aws.monitoring.logRetentionDays = ${logRetentionDays}: ${RETENTION}`,
            ]);
        },
    );
    test("monitoring.logRetentionDays as a word or hex is refused with the number grammar too", () => {
        expect(aws({ aws: { monitoring: { logRetentionDays: "0x1e" } } })).toEqual([
            `aws.monitoring.logRetentionDays = "0x1e": ${NOT_DECIMAL}; ${RETENTION}`,
        ]);
        expect(aws({ aws: { monitoring: { logRetentionDays: "month" } } })).toEqual([
            `aws.monitoring.logRetentionDays = "month": ${NOT_DECIMAL}; ${RETENTION}`,
        ]);
    });
    test("a misspelt monitoring key, or monitoring set as a plain value, is refused with the known keys", () => {
        expect(aws({ aws: { monitoring: { alarmTopic: "x" } } })).toEqual([
            'aws.monitoring.alarmTopic = "x": is not a known key (known: alarmTopicArn, logRetentionDays)',
        ]);
        expect(aws({ aws: { monitoring: "on" } })).toEqual([`aws.monitoring = "on": ${OBJECT}`]);
    });
    test("monitoring is read on a local stack too: a bad value is refused there as anywhere, a good one is ignored (nothing is monitored in CloudWatch locally)", () => {
        expect(local({ aws: { monitoring: { logRetentionDays: 10 } } })).toEqual([`aws.monitoring.logRetentionDays = 10: ${RETENTION}`]);
        expect(localConfig({ aws: { monitoring: { logRetentionDays: 90 } } }).aws.monitoring.logRetentionDays).toBe(90);
    });

    test("the aws section is checked on a local stack too (a typo is caught anywhere), but the AMI is not required there", () => {
        expect(local({ aws: { zones: 9 } })).toEqual([
            "aws.zones = 9: must be a whole number from 2 to 6 (a quorum must survive a zone outage)",
        ]);
        expect(local({})).toEqual([]);
    });
});

describe("schema helpers", () => {
    test("formatIssue: key = JSON value: rule, or (missing)", () => {
        expect(formatIssue({ key: "a.b", value: "x", rule: "r" })).toBe('a.b = "x": r');
        expect(formatIssue({ key: "a.b", value: { c: 1 }, rule: "r" })).toBe('a.b = {"c":1}: r');
        expect(formatIssue({ key: "a.b", value: undefined, rule: "r" })).toBe("a.b = (missing): r");
        expect(formatIssue({ key: "a.b", value: null, rule: "r" })).toBe("a.b = null: r");
    });

    test("assertNever names the unhandled case", () => {
        expect(() => assertNever("gcp" as never)).toThrow(new Error('unhandled case: "gcp"'));
    });
});

describe("robustness", () => {
    /** Strings that look like addresses and CIDRs: an IPv4 address, then 0–3 slash-separated parts. */
    const addressLike = fc
        .tuple(fc.ipV4(), fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.string({ maxLength: 3 })), { maxLength: 3 }))
        .map(([ip, parts]) => [ip, ...parts].join("/"));
    const value = fc.oneof(
        addressLike,
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(addressLike, { maxLength: 3 }),
    );

    test("any value in any address or CIDR key yields issues, never an exception", () => {
        fc.assert(
            fc.property(fc.constantFrom("local", "aws"), value, value, value, value, (platform, subnet, vip, cidrs, bind) => {
                const raw = merge(AWS, {
                    platform,
                    network: { subnet },
                    lb: { vip },
                    aws: { operatorCidrs: cidrs },
                    edge: { bindAddress: bind },
                });
                expect(() => validateStackConfig(raw, "prod")).not.toThrow();
            }),
            propertyRuns(500),
        );
    });
});

describe("keys named like Object members are unknown keys, never read off the prototype", () => {
    const members = ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf", "isPrototypeOf"];
    /** `{ [key]: value }` with `key` an own property, as JSON.parse makes `__proto__`. */
    const own = (key: string, value: unknown): Raw => JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(value)}}`);
    test.each(members.flatMap((m) => ["consul", "swarm", "web", "lb", "network", "edge", "aws"].map((section) => [section, m])))(
        "%s.%s",
        (section, member) => {
            const issues = local({ [section]: own(member, 3) });
            expect(issues).toHaveLength(1);
            expect(issues[0]).toMatch(new RegExp(`^${section}\\.${member.replace(/\$/g, "\\$")} = 3: is not a known key \\(known: `));
        },
    );
    test.each(members)("web.resources.%s and aws.instanceTypes.%s", (member) => {
        expect(local({ web: { version: "1", resources: own(member, 1) }, aws: { instanceTypes: own(member, "t3.small") } })).toEqual([
            `web.resources.${member} = 1: is not a known key (known: cpus, memoryMb)`,
            `aws.instanceTypes.${member} = "t3.small": is not a known key (known: consulServer, lb, manager, monitoring, worker)`,
        ]);
    });
});

describe("a long value is echoed cut short, with its length", () => {
    test("a 5,000-character value gives a line of its first 60 characters and the count", () => {
        const version = "v".repeat(5000);
        const [line] = local({ web: { version } });
        expect(line).toBe(`web.version = "${"v".repeat(59)}… (5000 characters): ${WEB_TAG}`);
        expect(line.length).toBeLessThan(300);
    });
    test("a long list or object is cut the same way; a short value is whole", () => {
        const cidrs = Array.from({ length: 500 }, (_, i) => `10.${i % 256}.0.0/16`);
        expect(
            validateStackConfig(merge(AWS, { aws: { amiName: AMI_NAME, operatorCidrs: cidrs, zones: cidrs } }), "prod").issues.map(
                formatIssue,
            ),
        ).toEqual([
            `aws.zones = ${JSON.stringify(cidrs).slice(0, 60)}… (${JSON.stringify(cidrs).length} characters): must be a whole number from 2 to 6 (a quorum must survive a zone outage)`,
        ]);
        expect(local({ web: { version: "v".repeat(129) } })[0]).toContain("… (129 characters)");
        expect(local({ web: { version: "." + "v".repeat(57) } })).toEqual([`web.version = ".${"v".repeat(57)}": ${WEB_TAG}`]);
    });
    test("a long unknown key is cut the same way", () => {
        const key = "k".repeat(5000);
        const [line] = local({ web: { version: "1", [key]: 1 } });
        expect(line.startsWith(`web.${"k".repeat(56)}… (5004 characters) = 1: is not a known key`)).toBe(true);
    });
});
