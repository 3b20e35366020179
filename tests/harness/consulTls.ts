// Whether two Consul agents can talk, read off their rendered configs: the rules of Consul's TLS as
// its docs state them, used by the artifact checker (one graph: every agent with every server) and by
// the day-2 plan tests (every moment of a rolling `pulumi up`: old and new configs side by side).
//
// - An agent with a certificate configured accepts TLS on its RPC port; one without refuses a TLS
//   connection. `verify_outgoing` makes an agent dial servers over TLS only; `verify_incoming` makes
//   a server refuse any connection that is not TLS with a client certificate from its CA
//   (https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/tls).
// - `auto_encrypt.tls` on a client needs `auto_encrypt.allow_tls` on every server it may ask; its
//   certificate comes from them ("This requires that every server to have auto_encrypt.allow_tls
//   enabled", https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/encryption).
// - `verify_server_hostname` needs the server's certificate to name `server.<dc>.<domain>`: the
//   artifact checker proves the certificates do (tests/artifacts, consulTlsCheck).
import { EnginePlan, Step } from "./engine";
import { RecordedResource } from "./program";

/** What one agent does with TLS, from its config. */
export interface TlsPosture {
    readonly name: string;
    readonly server: boolean;
    /** A certificate of the stack's CA is configured: the agent accepts TLS, and presents it when it dials. */
    readonly certificate: boolean;
    /** A client that gets its certificate from the servers (auto_encrypt.tls). */
    readonly autoEncrypt: boolean;
    /** A server that hands clients certificates (auto_encrypt.allow_tls). */
    readonly allowsAutoEncrypt: boolean;
    readonly verifyOutgoing: boolean;
    readonly verifyIncoming: boolean;
    readonly verifyServerHostname: boolean;
}

/** The posture of an agent from its config (Consul 1.12+ `tls` block; the flat pre-1.12 keys are refused). */
export function tlsPosture(name: string, config: Record<string, any>): TlsPosture {
    for (const flat of ["verify_incoming", "verify_outgoing", "verify_server_hostname", "ca_file", "cert_file", "key_file"]) {
        if (config[flat] !== undefined) throw new Error(`${name}: ${flat} outside the tls block (deprecated since Consul 1.12)`);
    }
    const defaults = config.tls?.defaults ?? {};
    const rpc = { ...defaults, ...(config.tls?.internal_rpc ?? {}) };
    return {
        name,
        server: config.server === true,
        certificate: typeof rpc.cert_file === "string" && typeof rpc.key_file === "string" && typeof rpc.ca_file === "string",
        autoEncrypt: config.auto_encrypt?.tls === true,
        allowsAutoEncrypt: config.auto_encrypt?.allow_tls === true,
        verifyOutgoing: rpc.verify_outgoing === true,
        verifyIncoming: rpc.verify_incoming === true,
        verifyServerHostname: rpc.verify_server_hostname === true,
    };
}

/** Why `from` cannot use server `to` over RPC (server-to-server Raft and RPC, client-to-server RPC), or undefined when it can. */
export function rpcProblem(from: TlsPosture, to: TlsPosture): string | undefined {
    if (!to.server) throw new Error(`rpcProblem: ${to.name} is not a server`);
    const presents = from.certificate || from.autoEncrypt;
    if (from.autoEncrypt && !to.allowsAutoEncrypt)
        return `${from.name} wants its certificate from ${to.name}, which has no auto_encrypt.allow_tls`;
    if (from.verifyOutgoing) {
        if (!to.certificate) return `${from.name} dials over TLS, ${to.name} has no certificate and refuses TLS`;
        if (to.verifyIncoming && !presents) return `${from.name} has no client certificate, ${to.name} requires one`;
    } else if (to.verifyIncoming) {
        return `${from.name} dials in plaintext, ${to.name} requires TLS with a client certificate`;
    }
    if (from.verifyServerHostname && !from.verifyOutgoing) return `${from.name} sets verify_server_hostname without verify_outgoing`;
    if ((from.verifyOutgoing || from.autoEncrypt) && !from.certificate && !from.autoEncrypt && from.server)
        return `${from.name} is a server without a certificate but dials over TLS`;
    return undefined;
}

/** Every problem between these agents: each agent (server or client) with each server other than itself. */
export function clusterTlsProblems(agents: readonly TlsPosture[]): string[] {
    const servers = agents.filter((a) => a.server);
    return agents.flatMap((from) => servers.filter((to) => to !== from).flatMap((to) => rpcProblem(from, to) ?? []));
}

/** The Consul agent config a container or instance declaration carries (its uploaded server.json / client.json), if any. */
function agentConfigOf(r: RecordedResource): Record<string, any> | undefined {
    const upload = ((r.inputs.uploads ?? []) as { file?: string; content?: string }[]).find((u) =>
        /^\/consul\/config\/(server|client)\.json$/.test(u.file ?? ""),
    );
    return upload?.content === undefined ? undefined : JSON.parse(upload.content);
}

/** One version of an agent during a plan: the config, and the steps that bring it in and take it away. */
interface AgentVersion {
    readonly posture: TlsPosture;
    /** The step that creates it (undefined: it is there from the start). */
    readonly from?: Step;
    /** The step that deletes it (undefined: it is there to the end). */
    readonly until?: Step;
}

/**
 * Every pair of agent versions that can run at the same time during the plan, whatever the
 * engine's parallelism — an old copy until its delete step, a new one from its create step — and
 * what keeps an agent of the pair from using the other when it is a server. Versions cannot overlap
 * when one's end is ordered before the other's start (EnginePlan.before).
 */
export function planTlsProblems(plan: EnginePlan): string[] {
    const versions: AgentVersion[] = [];
    for (const d of plan.dispositions.values()) {
        const steps = plan.stepsOf(d.name);
        for (const s of steps) {
            const config = agentConfigOf(s.resource);
            if (config === undefined) continue;
            if (s.kind === "same" || s.kind === "update") versions.push({ posture: tlsPosture(`${d.name}`, config) });
            else if (s.kind === "delete") versions.push({ posture: tlsPosture(`${d.name} (old)`, config), until: s });
            else versions.push({ posture: tlsPosture(`${d.name} (new)`, config), from: s });
        }
    }
    const overlap = (a: AgentVersion, b: AgentVersion) =>
        !(a.until !== undefined && b.from !== undefined && plan.before(a.until, b.from)) &&
        !(b.until !== undefined && a.from !== undefined && plan.before(b.until, a.from));
    const problems = new Set<string>();
    for (const a of versions)
        for (const b of versions) {
            if (a === b || !b.posture.server || a.posture.name.split(" ")[0] === b.posture.name.split(" ")[0] || !overlap(a, b)) continue;
            const problem = rpcProblem(a.posture, b.posture);
            if (problem !== undefined) problems.add(problem);
        }
    return [...problems].sort();
}
