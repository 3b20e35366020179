// The ConsulCluster contract: its defaults and its argument rules. components/consulCluster.ts
// resolves and checks its arguments with them; config/ reads the consul.* keys through them.
import { CONSUL_TLS_MODES, ConsulTlsMode } from "../../render/consul";
import { check, Issue, KeyNames, LIMITS, limitsIssues, ODD_QUORUM, ownKeys, present, ResourceLimits, Rule } from "./common";

// The TLS modes are the renderer's (it renders each); config/ reads them from here.
export { CONSUL_TLS_MODES };
export type { ConsulTlsMode };

export const CONSUL_CLUSTER_DEFAULTS = {
    servers: 3,
    datacenter: "dc1",
    resources: { cpus: 0.5, memoryMb: 256 },
    agentResources: { cpus: 0.25, memoryMb: 128 },
    /** New stacks start with mutual TLS; stacks made before it step up to it (docs/day2.md). */
    tls: "enforce" as ConsulTlsMode,
} as const;

/** Consul datacenter names are DNS labels (they appear in `<service>.service.<dc>.consul`). */
export const DATACENTER: Rule<string> = {
    text: "must be a lowercase DNS label",
    holds: (s) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s),
};

/** One of the steps of Consul's procedure for switching TLS on (render/consul.ts CONSUL_TLS_MODES). */
export const TLS_MODE: Rule<string> = {
    text: `must be one of ${CONSUL_TLS_MODES.join(", ")} (the steps of switching TLS on, in this order: docs/day2.md)`,
    holds: (s) => (CONSUL_TLS_MODES as readonly string[]).includes(s),
};

export const CONSUL_CLUSTER_RULES = {
    servers: ODD_QUORUM,
    datacenter: DATACENTER,
    resources: LIMITS,
    agentResources: LIMITS,
    tls: TLS_MODE,
} as const;

/** The arguments the rules look at, defaults resolved. */
export interface ConsulClusterSettings {
    readonly servers: number;
    readonly datacenter: string;
    readonly resources: ResourceLimits;
    readonly agentResources: ResourceLimits;
    readonly tls: string;
}

export function consulClusterIssues(s: ConsulClusterSettings, key: KeyNames = ownKeys): Issue[] {
    const r = CONSUL_CLUSTER_RULES;
    return present([
        check(key("servers"), s.servers, r.servers),
        check(key("datacenter"), s.datacenter, r.datacenter),
        ...limitsIssues(key("resources"), s.resources),
        ...limitsIssues(key("agentResources"), s.agentResources),
        check(key("tls"), s.tls, r.tls),
    ]);
}
