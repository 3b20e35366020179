// The LoadBalancerPair contract: its defaults, its argument rules, and how long its HAProxy takes to
// stop sending to a task that left Consul (what a stopping task must outlast).
import * as ipaddr from "ipaddr.js";
import { DEFAULT_HAPROXY_DNS_TIMINGS, haproxyDeregistrationLagMs } from "../../render/haproxy";
import { check, Issue, KeyNames, LIMITS, limitsIssues, ownKeys, PORT, present, ResourceLimits, Rule, wholeAtLeast } from "./common";

export const LOAD_BALANCER_PAIR_DEFAULTS = {
    vrrpVersion: 3 as 2 | 3,
    /** By VRRP version: VRRPv2 cannot express sub-second adverts. */
    advertIntervalSeconds: { 2: 1, 3: 0.1 },
    virtualRouterId: 51,
    webPort: 80,
    statsPort: 8404,
    resources: { cpus: 0.5, memoryMb: 128 },
    /** 0: the stats password the pair was created with; each change draws a new one. */
    statsPasswordRotation: 0,
} as const;

/**
 * Seconds from a task leaving Consul until the pair's HAProxy sends it nothing new: the pair renders
 * HAProxy with the default DNS discovery timings (render/haproxy.ts).
 */
export const LB_DEREGISTRATION_LAG_SECONDS = haproxyDeregistrationLagMs(DEFAULT_HAPROXY_DNS_TIMINGS) / 1000;

export const VRRP_VERSION: Rule<number> = { text: "must be 2 or 3", holds: (v) => v === 2 || v === 3 };

/** keepalived 2.2.7: VRRPv2 takes whole seconds 1–255, VRRPv3 centiseconds up to 40.95 s. */
export function advertInterval(vrrpVersion: 2 | 3, key: KeyNames = ownKeys): Rule<number> {
    return vrrpVersion === 2
        ? {
              text: `must be a whole number of seconds from 1 to 255 with ${key("vrrpVersion")} 2 (VRRPv2 cannot express sub-second adverts)`,
              holds: (v) => Number.isInteger(v) && v >= 1 && v <= 255,
          }
        : {
              text: "must be 0.01–40 seconds in steps of 0.01 (VRRPv3 centiseconds)",
              holds: (v) => v >= 0.01 && v <= 40 && Math.abs(v * 100 - Math.round(v * 100)) < 1e-9,
          };
}

export const VIRTUAL_ROUTER_ID: Rule<number> = {
    text: "must be a whole number from 1 to 255",
    holds: (v) => Number.isInteger(v) && v >= 1 && v <= 255,
};

export const IPV4: Rule<string> = { text: "must be an IPv4 address", holds: (s) => ipaddr.IPv4.isValidFourPartDecimal(s) };

export const LOAD_BALANCER_PAIR_RULES = {
    vrrpVersion: VRRP_VERSION,
    advertIntervalSeconds: advertInterval,
    virtualRouterId: VIRTUAL_ROUTER_ID,
    vip: IPV4,
    webPort: PORT,
    statsPort: PORT,
    resources: LIMITS,
    maxServers: wholeAtLeast(1),
    statsPasswordRotation: wholeAtLeast(0),
} as const;

/** The arguments the rules look at, defaults resolved. */
export interface LoadBalancerPairSettings {
    readonly vip: string;
    readonly vrrpVersion: 2 | 3;
    readonly advertIntervalSeconds: number;
    readonly virtualRouterId: number;
    readonly webPort: number;
    readonly statsPort: number;
    readonly resources: ResourceLimits;
    /** The two nodes' addresses. */
    readonly addresses: readonly string[];
    /** Server slots for the balanced service. */
    readonly maxServers: number;
    /** Optional for callers that predate rotation: the default then applies. */
    readonly statsPasswordRotation?: number;
}

export function loadBalancerPairIssues(s: LoadBalancerPairSettings, key: KeyNames = ownKeys): Issue[] {
    const r = LOAD_BALANCER_PAIR_RULES;
    const versionOk = r.vrrpVersion.holds(s.vrrpVersion);
    return present([
        check(key("vip"), s.vip, r.vip),
        s.addresses.includes(s.vip)
            ? { key: key("vip"), value: s.vip, rule: `must differ from the LB nodes' addresses (${s.addresses.join(", ")})` }
            : undefined,
        check(key("vrrpVersion"), s.vrrpVersion, r.vrrpVersion),
        versionOk ? check(key("advertIntervalSeconds"), s.advertIntervalSeconds, r.advertIntervalSeconds(s.vrrpVersion, key)) : undefined,
        check(key("virtualRouterId"), s.virtualRouterId, r.virtualRouterId),
        check(key("webPort"), s.webPort, r.webPort),
        check(key("statsPort"), s.statsPort, r.statsPort),
        s.statsPort === s.webPort ? { key: key("statsPort"), value: s.statsPort, rule: `must differ from ${key("webPort")}` } : undefined,
        ...limitsIssues(key("resources"), s.resources),
        check(key("service.maxServers"), s.maxServers, r.maxServers),
        check(
            key("statsPasswordRotation"),
            s.statsPasswordRotation ?? LOAD_BALANCER_PAIR_DEFAULTS.statsPasswordRotation,
            r.statsPasswordRotation,
        ),
    ]);
}
