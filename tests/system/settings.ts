// Where and under which names the system tests run (container prefix, subnet, host ports, image
// namespace, label), from the environment; and the VRRP settings a suite passes to the program.
import { SYSTEM_LABEL } from "./docker";

/** Where and under which names the system tests run. Every value can be overridden from the environment. */
export interface SystemSettings {
    /** Prefix of every container and network name (and of nothing else on the engine). */
    readonly namePrefix: string;
    /** Subnet of the test network; must not overlap anything on this machine. */
    readonly subnet: string;
    /** Host ports (on 127.0.0.1) of the edge's listeners. */
    /** web is the edge's HTTPS port, http the one that redirects to it. */
    readonly edgePorts: {
        readonly web: number;
        readonly http: number;
        readonly stats: number;
        readonly consulUi: number;
        readonly prometheus: number;
    };
    /** Web replicas to run (≥ 3). */
    readonly replicas: number;
    /** Repository namespace of the images the tests build, e.g. "swarm-platform-systest" → swarm-platform-systest/lb:local. */
    readonly imageNamespace: string;
    /**
     * Label key on every object the suite creates (cleanup removes by it). Defaults to SYSTEM_LABEL;
     * another suite sets its own so that neither suite's cleanup removes the other's objects.
     */
    readonly labelKey?: string;
}

/** The `key=1` label every object of a suite carries. */
export function objectLabel(settings: SystemSettings): string {
    return `${settings.labelKey ?? SYSTEM_LABEL}=1`;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemSettings {
    const portBase = Number(env.SYSTEM_TEST_PORT_BASE ?? 28000);
    return {
        namePrefix: env.SYSTEM_TEST_PREFIX ?? "spsys-",
        subnet: env.SYSTEM_TEST_SUBNET ?? "10.213.7.0/24",
        edgePorts: { web: portBase + 443, http: portBase + 80, stats: portBase + 404, consulUi: portBase + 500, prometheus: portBase + 90 },
        replicas: Number(env.SYSTEM_TEST_REPLICAS ?? 3),
        imageNamespace: env.SYSTEM_TEST_IMAGE_NS ?? "swarm-platform-systest",
    };
}

/** VRRP settings passed to the program as stack config (`lb.vrrpVersion`, `lb.advertIntervalSeconds`). */
export interface VrrpSetting {
    readonly vrrpVersion: 2 | 3;
    readonly advertIntervalSeconds?: number;
}
