// The stack-config contract: types and defaults. A key that feeds a component argument takes its
// default (and, in validate.ts, its rules) from that component's contract (components/contracts/);
// what is set here is the stack's own: platform choices, the address plan, the edge, AWS.
// Pure: no Pulumi imports, so it is unit-tested directly and reused by tests and tools.
import {
    CONSUL_CLUSTER_DEFAULTS,
    Issue,
    LOAD_BALANCER_PAIR_DEFAULTS,
    ResourceLimits,
    SWARM_CLUSTER_DEFAULTS,
    WEB_SERVICE_DEFAULTS,
    ConsulTlsMode,
} from "../components/contracts";

export { formatIssue, MAX_QUORUM } from "../components/contracts";
export type { ResourceLimits } from "../components/contracts";

/** Where the nodes run. */
export type PlatformName = "local" | "aws";
export const PLATFORMS: readonly PlatformName[] = ["local", "aws"];

// Each key's default and rule, as users read them: config/docs.ts (the README's table).

export interface ConsulConfig {
    /** Consul server count; odd, 1–7 (≥ 3 on platform aws and on stacks named prod/production). */
    readonly servers: number;
    /** Official Consul image tag (local) / release (aws). */
    readonly version: string;
    /** Consul datacenter name. */
    readonly datacenter: string;
    /** Limits of each Consul server. */
    readonly resources: ResourceLimits;
    /** Limits of each Consul client agent beside a node. */
    readonly agentResources: ResourceLimits;
    /** How far Consul's TLS is switched on: off, accept, permissive, enforce (docs/day2.md). */
    readonly tls: ConsulTlsMode;
}

export interface SwarmConfig {
    /** Swarm manager count; odd, 1–7 (≥ 3 on platform aws and on stacks named prod/production). */
    readonly managers: number;
    /** Swarm worker count; integer ≥ 0. */
    readonly workers: number;
    /** Limits of each swarm node (local: the Docker-in-Docker container). */
    readonly nodeResources: ResourceLimits;
}

export interface WebConfig {
    /** Web service tasks; integer ≥ 1. */
    readonly replicas: number;
    /** Web image version/tag; required, non-empty. */
    readonly version: string;
    /** Limits of each web task. */
    readonly resources: ResourceLimits;
    /** Tasks use host networking and bind the first free port in [portMin, portMax]. */
    readonly portMin: number;
    readonly portMax: number;
    /** Seconds a stopping task keeps serving after leaving Consul (LB discovery + in-flight). */
    readonly drainSeconds: number;
    /** Swarm stop grace period; at least drainSeconds + 2. */
    readonly stopGraceSeconds: number;
}

export interface LbConfig {
    /** The virtual IP the HAProxy pair shares. */
    readonly vip: string;
    /** VRRP version: 3 allows sub-second adverts (no auth in the protocol); 2 allows PASS auth, whole seconds only. */
    readonly vrrpVersion: 2 | 3;
    /** VRRP advert interval in seconds; master-down ≈ 3 × this. */
    readonly advertIntervalSeconds: number;
    /** VRRP virtual router id, 1–255, unique on the network. */
    readonly virtualRouterId: number;
    /** Limits of each LB node. */
    readonly resources: ResourceLimits;
}

export interface NetworkConfig {
    /** IPv4 subnet of the nodes: local, the Docker network; aws, the VPC. */
    readonly subnet: string;
}

export interface EdgeConfig {
    /** Host address the edge listens on (local stand-in for the ELB). */
    readonly bindAddress: string;
    /** Host port for the web service: HTTPS, with the edge's own certificate. */
    readonly webPort: number;
    /** Host port that answers plain HTTP with a redirect to `webPort`. */
    readonly httpPort: number;
    /** Host port for the Consul UI. */
    readonly consulUiPort: number;
    /** Host port for the HAProxy stats page. */
    readonly statsPort: number;
    /** Host port for Prometheus (its UI and API). */
    readonly prometheusPort: number;
    /** Limits of the edge container. */
    readonly resources: ResourceLimits;
}

/**
 * Day-2 secret rotations: generation counters. Raising one (`pulumi config set --path
 * rotation.statsPassword 2`) makes the next `pulumi up` rotate that secret once while the platform
 * keeps serving; leaving it alone changes nothing (docs/security.md, "Rotation").
 */
export interface RotationConfig {
    /** Swarm worker and manager join tokens (`docker swarm join-token --rotate`); a whole number ≥ 0. */
    readonly swarmJoinTokens: number;
    /** The HAProxy stats password (a new random password, rolled to the LB nodes one at a time); a whole number ≥ 0. */
    readonly statsPassword: number;
}

/** EC2 instance type per node role. */
export interface InstanceTypes {
    readonly consulServer: string;
    readonly manager: string;
    readonly worker: string;
    readonly lb: string;
    readonly monitoring: string;
}

/**
 * Prod monitoring: CloudWatch alarms and where they notify, CloudWatch Logs retention
 * (README: Prod monitoring). Read on every stack, used on platform aws only.
 */
export interface AwsMonitoringConfig {
    /**
     * The SNS topic every alarm notifies (ALARM and OK), e.g. a team's paging topic. "" (the default):
     * the stack makes its own topic, `<project>-<stack>-alarms`, for operators to subscribe to.
     */
    readonly alarmTopicArn: string;
    /** Days CloudWatch Logs keeps the nodes' container and daemon logs; one of LOG_RETENTION_DAYS. */
    readonly logRetentionDays: number;
}

/** The aws platform (prod). */
export interface AwsConfig {
    /** Availability zones to spread nodes over, 2–6 (the region must have as many). */
    readonly zones: number;
    /** Instance types by role. */
    readonly instanceTypes: InstanceTypes;
    /**
     * AMI of every node, by id (region-specific). One of amiId / amiName is required: the AMI is
     * pinned, never "the newest", so a Debian release never replaces nodes by surprise.
     */
    readonly amiId?: string;
    /** AMI of every node, by the official Debian image name (the same in every region), e.g. debian-12-amd64-20250316-2053. */
    readonly amiName?: string;
    /** CIDRs that may reach nodes on SSH (22); never 0.0.0.0/0. */
    readonly operatorCidrs: readonly string[];
    /** Encrypted gp3 root volume size, GiB (≥ 8). */
    readonly rootVolumeGb: number;
    /** Primary network interface name on the AMI (Nitro Debian: ens5). */
    readonly interface: string;
    /** NAT gateways: one per zone (survives a zone outage) or a single one (cheaper). */
    readonly natGateways: "perZone" | "single";
    /**
     * Amazon SSM agent release installed at first boot (Debian's AMIs ship none): "latest" (default;
     * AWS's own recommendation, the agent is backward compatible) or a pinned release such as 3.3.1611.0.
     */
    readonly ssmAgentVersion: string;
    /**
     * The web service's public name: the load balancer's ACM certificate is issued for it (DNS
     * validation) and `webUrl` is `https://<domain>`. Required on platform aws.
     */
    readonly domain: string;
    /**
     * A Route 53 public hosted zone holding `domain`: when set, the certificate's validation record
     * and the domain's alias to the load balancer are created there; when absent, they are stack
     * outputs for the operator's DNS. "" (the default) for none.
     */
    readonly route53ZoneId: string;
    /** Alarms and logs (aws.monitoring.*). */
    readonly monitoring: AwsMonitoringConfig;
}

/** The whole, validated stack config with every default resolved. */
export interface StackConfig {
    readonly stack: string;
    readonly platform: PlatformName;
    readonly consul: ConsulConfig;
    readonly swarm: SwarmConfig;
    readonly web: WebConfig;
    readonly lb: LbConfig;
    readonly network: NetworkConfig;
    readonly edge: EdgeConfig;
    readonly rotation: RotationConfig;
    readonly aws: AwsConfig;
}

/** What the stack config holds before validation: any key may be missing or of the wrong type. */
export interface RawStackConfig {
    readonly platform?: unknown;
    readonly consul?: unknown;
    readonly swarm?: unknown;
    readonly web?: unknown;
    readonly lb?: unknown;
    readonly network?: unknown;
    readonly edge?: unknown;
    readonly rotation?: unknown;
    readonly aws?: unknown;
}

/** Stacks whose name marks them as production get the production quorum floor on any platform (platform aws always does). */
export const PRODUCTION_STACKS: readonly string[] = ["prod", "production"];

/** Production keeps quorum through one failure: at least 3 members. */
export const PROD_MIN_QUORUM = 3;

export const DEFAULTS = {
    consul: {
        servers: CONSUL_CLUSTER_DEFAULTS.servers,
        version: "1.20.2",
        datacenter: CONSUL_CLUSTER_DEFAULTS.datacenter,
        resources: CONSUL_CLUSTER_DEFAULTS.resources,
        agentResources: CONSUL_CLUSTER_DEFAULTS.agentResources,
        tls: CONSUL_CLUSTER_DEFAULTS.tls,
    },
    swarm: {
        managers: SWARM_CLUSTER_DEFAULTS.managers,
        workers: SWARM_CLUSTER_DEFAULTS.workers,
        nodeResources: SWARM_CLUSTER_DEFAULTS.nodeResources,
    },
    web: {
        replicas: WEB_SERVICE_DEFAULTS.replicas,
        resources: WEB_SERVICE_DEFAULTS.resources,
        portMin: WEB_SERVICE_DEFAULTS.portRange.min,
        portMax: WEB_SERVICE_DEFAULTS.portRange.max,
        drainSeconds: WEB_SERVICE_DEFAULTS.drainSeconds,
        stopGraceSeconds: WEB_SERVICE_DEFAULTS.stopGraceSeconds,
    },
    lb: {
        vrrpVersion: LOAD_BALANCER_PAIR_DEFAULTS.vrrpVersion,
        advertIntervalSeconds: LOAD_BALANCER_PAIR_DEFAULTS.advertIntervalSeconds,
        virtualRouterId: LOAD_BALANCER_PAIR_DEFAULTS.virtualRouterId,
        /** local: the VIP is this host of network.subnet. */
        vipHostOffset: 10,
        /** aws: an overlay address outside the VPC, routed to the MASTER. */
        awsOverlayVip: "192.168.255.10",
        resources: LOAD_BALANCER_PAIR_DEFAULTS.resources,
    },
    network: { subnet: { local: "10.77.0.0/24", aws: "10.20.0.0/16" } },
    edge: {
        bindAddress: "127.0.0.1",
        webPort: 8443,
        httpPort: 8080,
        consulUiPort: 8500,
        statsPort: 8404,
        prometheusPort: 9090,
        resources: { cpus: 0.5, memoryMb: 64 },
    },
    rotation: {
        swarmJoinTokens: SWARM_CLUSTER_DEFAULTS.joinTokenRotation,
        statsPassword: LOAD_BALANCER_PAIR_DEFAULTS.statsPasswordRotation,
    },
    aws: {
        zones: 3,
        instanceTypes: { consulServer: "t3.small", manager: "t3.medium", worker: "t3.medium", lb: "t3.small", monitoring: "t3.small" },
        operatorCidrs: [] as string[],
        rootVolumeGb: 20,
        interface: "ens5",
        natGateways: "perZone" as const,
        ssmAgentVersion: "latest",
        /** No Route 53 zone: the DNS records are outputs. */
        route53ZoneId: "",
        monitoring: {
            /** No topic given: the stack makes its own (platforms/aws/monitoring.ts). */
            alarmTopicArn: "",
            /** A month of logs: enough to look back over an incident and the `up` before it; raise it for audit rules. */
            logRetentionDays: 30,
        },
    },
} as const;

/** One broken rule: the key (as `pulumi config set --path` spells it), the value found, the rule. */
export type ConfigIssue = Issue;

/** The aws section's ranges (validate.ts checks them, config/docs.ts shows them). */
export const AWS_BOUNDS = {
    /** A quorum must survive a zone outage: at least 2 zones; at most 6 (AWS_ZONE_SUBNET_BITS leaves room for 8). */
    zones: { min: 2, max: 6 },
    /** gp3 volume sizes, GiB. */
    rootVolumeGb: { min: 8, max: 16384 },
    /** The VPC: big enough for 16 zone subnets of at least /28, small enough for the plan's offsets. */
    vpcPrefix: { min: 16, max: 24 },
} as const;

/**
 * The retention periods CloudWatch Logs accepts, in days (PutRetentionPolicy, retentionInDays:
 * "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
 * 2192, 2557, 2922, 3288, and 3653",
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html;
 * the aws provider's LogGroup.retentionInDays lists the same values plus 0, "never expire", which is
 * not offered here: a log group that never expires only grows).
 */
export const LOG_RETENTION_DAYS: readonly number[] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** For exhaustive switches on unions: a new member fails to compile until every switch handles it. */
export function assertNever(value: never): never {
    throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
