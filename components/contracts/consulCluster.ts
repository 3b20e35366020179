// The ConsulCluster contract: its defaults and its argument rules. components/consulCluster.ts
// resolves and checks its arguments with them; config/ reads the consul.* keys through them.
import { check, Issue, KeyNames, LIMITS, limitsIssues, ODD_QUORUM, ownKeys, present, ResourceLimits, Rule } from "./common";

export const CONSUL_CLUSTER_DEFAULTS = {
    servers: 3,
    datacenter: "dc1",
    resources: { cpus: 0.5, memoryMb: 256 },
    agentResources: { cpus: 0.25, memoryMb: 128 },
} as const;

/** Consul datacenter names are DNS labels (they appear in `<service>.service.<dc>.consul`). */
export const DATACENTER: Rule<string> = {
    text: "must be a lowercase DNS label",
    holds: (s) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s),
};

export const CONSUL_CLUSTER_RULES = {
    servers: ODD_QUORUM,
    datacenter: DATACENTER,
    resources: LIMITS,
    agentResources: LIMITS,
} as const;

/** The arguments the rules look at, defaults resolved. */
export interface ConsulClusterSettings {
    readonly servers: number;
    readonly datacenter: string;
    readonly resources: ResourceLimits;
    readonly agentResources: ResourceLimits;
}

export function consulClusterIssues(s: ConsulClusterSettings, key: KeyNames = ownKeys): Issue[] {
    const r = CONSUL_CLUSTER_RULES;
    return present([
        check(key("servers"), s.servers, r.servers),
        check(key("datacenter"), s.datacenter, r.datacenter),
        ...limitsIssues(key("resources"), s.resources),
        ...limitsIssues(key("agentResources"), s.agentResources),
    ]);
}
