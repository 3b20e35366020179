import { shellQuote } from "./shell";

// Consul agent configuration and the ACL bootstrap script: pure functions of typed inputs, used by
// every platform. Output is deterministic (fixed key order, sorted lists) so previews stay quiet.

/** What every agent (server or client) needs to join the cluster. */
export interface ConsulAgentBase {
    /** Node name in the catalog, e.g. "consul-server-0" or "swarm-manager-1". */
    readonly nodeName: string;
    readonly datacenter: string;
    /** The address the agent binds and advertises (nodes with a VIP have more than one). */
    readonly advertiseAddr: string;
    /** `retry_join` entries: container names locally, `provider=aws tag_key=… tag_value=…` on AWS. */
    readonly retryJoin: readonly string[];
    /** Gossip encryption key (32 bytes, base64). Secret. */
    readonly encryptKey: string;
    /** Token the agent uses for its own catalog updates (node write). Secret. */
    readonly agentToken: string;
}

export interface ConsulServerConfigInput extends ConsulAgentBase {
    /** = the number of servers; servers wait for this many before electing a leader. */
    readonly bootstrapExpect: number;
    /** The initial management token (ACL bootstrap). Secret. */
    readonly managementToken: string;
    /** How far TLS is switched on (CONSUL_TLS_MODES). Defaults to "off". */
    readonly tls?: ConsulTlsMode;
}

export interface ConsulClientConfigInput extends ConsulAgentBase {
    /** How far TLS is switched on (CONSUL_TLS_MODES). Defaults to "off". */
    readonly tls?: ConsulTlsMode;
    /**
     * Token for requests that carry none, e.g. DNS lookups from HAProxy on the LB nodes. Secret.
     * Omitted: anonymous requests get the deny-all default.
     */
    readonly defaultToken?: string;
}

/** Ports shared by every agent; the AWS security groups are derived from the same numbers. */
export const CONSUL_PORTS = { http: 8500, https: 8501, dns: 8600, serverRpc: 8300, serfLan: 8301 } as const;

/**
 * How far Consul's TLS is switched on — the steps of Consul's procedure for an existing datacenter
 * ("Enable TLS encryption for existing datacenters",
 * https://developer.hashicorp.com/consul/docs/secure/encryption/tls/enable/existing/vm: 1. servers get
 * their certificates with every `verify_*` false, "restart each server, one at a time"; 2. clients get
 * `auto_encrypt`, `verify_outgoing` and `verify_server_hostname`; 3. servers get every `verify_*`
 * true). The procedure's step 3 is a `consul reload` of all servers at about the same time; here every
 * change replaces servers one at a time, and a server that verifies incoming connections refuses the
 * plaintext Raft traffic of one that does not verify outgoing yet. So between 1 and 3 sits one more
 * step in which servers already speak TLS to each other but still accept plaintext:
 *
 * | mode | servers | client agents |
 * |---|---|---|
 * | `off` | no TLS (stacks made before Consul TLS) | no TLS |
 * | `accept` | certificates, HTTPS, `auto_encrypt.allow_tls`; every `verify_*` false (step 1): accept TLS, send plaintext | no TLS |
 * | `permissive` | send TLS and check the peer is a server (`verify_outgoing`, `verify_server_hostname`); accept plaintext | step 2: `auto_encrypt`, `verify_outgoing`, `verify_server_hostname` |
 * | `enforce` | step 3: `verify_incoming` too — mutual TLS only; plain HTTP only on loopback | as `permissive` |
 *
 * Each neighbour pair is compatible while a `pulumi up` rolls one node at a time (servers first:
 * client agents wait for the ACL bootstrap, which waits for every server); tests/unit/day2.test.ts
 * checks every pair of agents at every step of each plan (tests/harness/consulTls.ts planTlsProblems).
 */
export const CONSUL_TLS_MODES = ["off", "accept", "permissive", "enforce"] as const;
export type ConsulTlsMode = (typeof CONSUL_TLS_MODES)[number];

/** Where every agent keeps its TLS files: a subdirectory, so the agent does not try to load them as config. */
export const CONSUL_TLS_DIR = "/consul/config/tls";
export const CONSUL_TLS_FILES = {
    ca: `${CONSUL_TLS_DIR}/ca.pem`,
    cert: `${CONSUL_TLS_DIR}/server.pem`,
    key: `${CONSUL_TLS_DIR}/server-key.pem`,
} as const;

/** The name every server certificate carries and `verify_server_hostname` checks: `server.<datacenter>.<domain>`. */
export function consulServerName(datacenter: string, domain = "consul"): string {
    return `server.${datacenter}.${domain}`;
}

/**
 * The server's `tls` block (Consul 1.12+ syntax, "TLS configuration parameters",
 * https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/tls): `defaults`
 * apply to every interface (internal RPC, HTTPS) unless `internal_rpc`/`https` override them;
 * `verify_server_hostname` lives in `internal_rpc` only. In `enforce`, `verify_incoming` in defaults
 * makes both the RPC port and the HTTPS API require a client certificate from the CA.
 */
function serverTls(mode: Exclude<ConsulTlsMode, "off">) {
    const outgoing = mode !== "accept";
    return {
        tls: {
            defaults: {
                ca_file: CONSUL_TLS_FILES.ca,
                cert_file: CONSUL_TLS_FILES.cert,
                key_file: CONSUL_TLS_FILES.key,
                verify_incoming: mode === "enforce",
                verify_outgoing: outgoing,
            },
            internal_rpc: { verify_server_hostname: outgoing },
        },
        // Client agents get their certificates from the servers, signed by the service mesh CA
        // ("auto_encrypt … allow_tls … distribute certificates from the service mesh CA to the clients",
        // https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/encryption);
        // the mesh CA lives in the servers, so Connect stays on.
        auto_encrypt: { allow_tls: true },
        connect: { enabled: true },
    };
}

/** A client agent's TLS settings from `permissive` on (the procedure's step 2, auto-encryption method). */
function clientTls(mode: ConsulTlsMode) {
    if (mode === "off" || mode === "accept") return {};
    return {
        tls: {
            defaults: { ca_file: CONSUL_TLS_FILES.ca, verify_incoming: false, verify_outgoing: true },
            internal_rpc: { verify_server_hostname: true },
        },
        auto_encrypt: { tls: true },
    };
}

/** Whether a client agent of this mode needs the CA file on its node. */
export function clientNeedsCa(mode: ConsulTlsMode): boolean {
    return mode === "permissive" || mode === "enforce";
}

/**
 * The node mark (platforms/types.ts NodeArgs.marks) that records how an agent's TLS is set up, so the
 * next `pulumi up` can read it off the running nodes whatever config the stack had: a server's is
 * its mode, a client agent's whether it uses auto_encrypt; none ("") while off, so a stack made
 * before Consul TLS reads as `off` and a stack kept at `off` does not change.
 */
export const CONSUL_TLS_MARK = "consul-tls";
export function consulTlsMark(role: "server" | "client", mode: ConsulTlsMode): string {
    if (role === "server") return mode === "off" ? "" : mode;
    return clientNeedsCa(mode) ? "auto_encrypt" : "";
}

/**
 * The marks an agent may carry as it runs now for an update to `desired` to be safe: those of the
 * modes at most one step away. Each step is safe while its `up` rolls node by node
 * (tests/harness/consulTls.ts planTlsProblems); a jump of two steps is not — e.g. `off` → `enforce`
 * replaces a server with one that requires client certificates while the others still dial plaintext.
 */
export function consulTlsMarksAllowed(role: "server" | "client", desired: ConsulTlsMode): string[] {
    const at = CONSUL_TLS_MODES.indexOf(desired);
    const near = CONSUL_TLS_MODES.filter((_, i) => Math.abs(i - at) <= 1);
    return [...new Set(near.map((mode) => consulTlsMark(role, mode)))];
}

/** Why an update to `desired` is refused while some agent runs more than one step away (names the key, the value and the rule). */
export function consulTlsStepRefusal(desired: ConsulTlsMode): string {
    return [
        `consul.tls: "${desired}" cannot be reached in one pulumi up from how the Consul agents below run now.`,
        `Rule: consul.tls moves one step per pulumi up, ${CONSUL_TLS_MODES.join(" → ")} (or back); a stack made before`,
        'Consul TLS runs "off". No node was touched. Set consul.tls to the next step from where they are',
        "(pulumi config set --path consul.tls <step>) and run pulumi up once per step (docs/day2.md).",
    ].join("\n");
}

function agentCommon(input: ConsulAgentBase) {
    return {
        node_name: input.nodeName,
        datacenter: input.datacenter,
        data_dir: "/consul/data",
        bind_addr: input.advertiseAddr,
        advertise_addr: input.advertiseAddr,
        retry_join: [...input.retryJoin],
        retry_interval: "2s",
        encrypt: input.encryptKey,
        encrypt_verify_incoming: true,
        encrypt_verify_outgoing: true,
        ports: { http: CONSUL_PORTS.http, dns: CONSUL_PORTS.dns, grpc: -1 },
        // Only passing instances in DNS, and no caching: HAProxy must see a draining task leave at once.
        dns_config: { only_passing: true, service_ttl: { "*": "0s" }, node_ttl: "0s", allow_stale: true, max_stale: "5s" },
        log_level: "INFO",
        disable_update_check: true,
        // Prometheus reads each server's telemetry at /v1/agent/metrics?format=prometheus, which
        // answers only with prometheus_retention_time > 0 (how long a gauge that stopped being
        // updated is still exported); no hostname prefix, the node is a label already
        // (https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/telemetry).
        telemetry: { prometheus_retention_time: "1m", disable_hostname: true },
    };
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";

export function renderConsulServerConfig(input: ConsulServerConfigInput): string {
    const quorum = Math.floor(input.bootstrapExpect / 2) + 1;
    const mode = input.tls ?? "off";
    const common = agentCommon(input);
    return json({
        ...common,
        // HTTPS for the API; no gRPC over TLS (Consul 1.14+ opens `grpc_tls` on servers that have
        // certificates, for service mesh and peering, neither of which the platform uses).
        ...(mode === "off" ? {} : { ports: { ...common.ports, https: CONSUL_PORTS.https, grpc_tls: -1 } }),
        server: true,
        bootstrap_expect: input.bootstrapExpect,
        // The UI and API are reachable on the node's network (the edge forwards to them); ACLs guard them.
        client_addr: "0.0.0.0",
        // In `enforce` plain HTTP stays on loopback only, for whoever is already on the node (`docker
        // exec`, SSM): the platform's own scripts use HTTPS with the server's certificate, and from the
        // network the API is HTTPS with a client certificate or nothing. Until `enforce`, agents and
        // the edge that still speak plain HTTP need it on the node's address.
        ...(mode === "enforce" ? { addresses: { http: "127.0.0.1" } } : {}),
        ...(mode === "off" ? {} : serverTls(mode)),
        ui_config: { enabled: true },
        // A server that stops gracefully leaves the Raft peer set, so replacing servers one at a time
        // never leaves a dead voter counting against quorum (hashicorp/consul#4692).
        leave_on_terminate: true,
        skip_leave_on_interrupt: false,
        autopilot: {
            cleanup_dead_servers: true,
            last_contact_threshold: "1s",
            server_stabilization_time: "10s",
            // Never let dead-server cleanup shrink the peer set below a working majority.
            min_quorum: quorum,
        },
        performance: { raft_multiplier: 1 },
        acl: {
            enabled: true,
            default_policy: "deny",
            down_policy: "extend-cache",
            enable_token_persistence: false,
            tokens: { initial_management: input.managementToken, agent: input.agentToken },
        },
    });
}

export function renderConsulClientConfig(input: ConsulClientConfigInput): string {
    const tokens: Record<string, string> = { agent: input.agentToken };
    if (input.defaultToken !== undefined) tokens.default = input.defaultToken;
    return json({
        ...agentCommon(input),
        server: false,
        // Only processes on the node (HAProxy, the node's own tasks) talk to its agent, over plain HTTP
        // on loopback even with TLS on: its HTTPS certificate would come from auto_encrypt, signed by
        // the service mesh CA rather than the stack's (docs/decisions.md, "The web tasks reach their
        // agent over plain HTTP on loopback"). RPC to the servers is TLS from `permissive` on.
        client_addr: "127.0.0.1",
        ...clientTls(input.tls ?? "off"),
        leave_on_terminate: true,
        acl: { enabled: true, default_policy: "deny", down_policy: "extend-cache", enable_token_persistence: false, tokens },
    });
}

/** An ACL policy: name and HCL rules. */
export interface AclPolicy {
    readonly name: string;
    readonly description: string;
    readonly rules: string;
}

/** A token created with a known accessor and secret, so configs can carry it before it exists. */
export interface AclToken {
    readonly description: string;
    readonly accessorId: string;
    /** Secret. */
    readonly secretId: string;
    readonly policy: string;
}

/** Policies every platform needs: agents keep the catalog in sync, the LBs read it over DNS. */
export const BASE_ACL_POLICIES: readonly AclPolicy[] = [
    {
        name: "agent",
        description: "Consul agents: register their node and keep the catalog in sync",
        rules: 'node_prefix "" {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
    },
    {
        name: "dns-read",
        description: "DNS lookups from the load balancers: read services and nodes",
        rules: 'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
    },
];

/**
 * A service whose tasks register and deregister themselves may write that service only. It may also
 * read its node's agent: a task learns the address to register from GET /v1/agent/self (app/server.js),
 * which Consul answers only with agent:read on the agent's node name (any node a task may run on).
 */
export function serviceRegistrationPolicy(service: string): AclPolicy {
    return {
        name: `${service}-register`,
        description: `Tasks of the ${service} service register and deregister themselves`,
        rules: `service "${service}" {\n  policy = "write"\n}\nnode_prefix "" {\n  policy = "read"\n}\nagent_prefix "" {\n  policy = "read"\n}\n`,
    };
}

export interface AclBootstrapInput {
    /** The initial management token, used to create the rest. Secret. */
    readonly managementToken: string;
    /** The servers' TLS mode: from `accept` on the script talks HTTPS. Defaults to "off". */
    readonly tls?: ConsulTlsMode;
    readonly policies: readonly AclPolicy[];
    readonly tokens: readonly AclToken[];
    /** Seconds to wait for a leader before giving up. */
    readonly leaderTimeoutSeconds: number;
}

/**
 * A POSIX sh script, run on one Consul server once the servers are up: waits for a leader, then
 * creates the platform's policies and tokens if they do not exist yet. Idempotent (safe to re-run
 * after a server is replaced). Prints no secret, and puts none in a process's arguments (`ps` and
 * /proc/PID/cmdline show those to every process on the node): the management token reaches the
 * consul CLI in its environment (CONSUL_HTTP_TOKEN) and curl in a header file of mode 0600; a
 * token's secret travels in the body of the request on curl's stdin.
 */
export function renderAclBootstrapScript(input: AclBootstrapInput): string {
    const lines: string[] = [
        "#!/bin/sh",
        "# Creates the platform's Consul ACL policies and tokens (idempotent).",
        "set -eu",
        "# shellcheck disable=SC2089,SC2090 # quotes in the token are data: shellQuote() quoted it",
        `export CONSUL_HTTP_TOKEN=${shellQuote(input.managementToken)}`,
        ...consulApiEnvLines(input.tls),
        "",
        `deadline=$(( $(date +%s) + ${input.leaderTimeoutSeconds} ))`,
        "until consul operator raft list-peers 2>/dev/null | grep -q leader; do",
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        `    echo "acl-bootstrap: no Consul leader after ${input.leaderTimeoutSeconds}s" >&2`,
        "    exit 1",
        "  fi",
        "  sleep 1",
        "done",
        "",
        "rules=$(mktemp)",
        // mktemp creates the file 0600 (mkstemp(3)): only root, which runs this script, reads the header.
        "headers=$(mktemp)",
        'trap \'rm -f "$rules" "$headers"\' EXIT',
        // printf is a shell builtin (dash, BusyBox ash): no process gets the token as an argument.
        'printf \'X-Consul-Token: %s\\n\' "$CONSUL_HTTP_TOKEN" >"$headers"',
    ];
    for (const policy of input.policies) {
        lines.push(
            "",
            `if ! consul acl policy read -name ${shellQuote(policy.name)} >/dev/null 2>&1; then`,
            `  cat >"$rules" <<'RULES'`,
            policy.rules.trimEnd(),
            "RULES",
            `  consul acl policy create -name ${shellQuote(policy.name)} -description ${shellQuote(policy.description)} -rules @"$rules" >/dev/null`,
            `  echo "acl-bootstrap: created policy ${policy.name}"`,
            "fi",
        );
    }
    for (const token of input.tokens) {
        lines.push(
            "",
            `if ! consul acl token read -accessor-id ${shellQuote(token.accessorId)} >/dev/null 2>&1; then`,
            ...tokenCreateLines(token),
            `  echo "acl-bootstrap: created token '${token.description}' (accessor ${token.accessorId})"`,
            "fi",
        );
    }
    lines.push("", 'echo "acl-bootstrap: done"', "");
    return lines.join("\n");
}

/**
 * Creates a token with a known secret through the HTTP API (PUT /v1/acl/token: AccessorID, SecretID,
 * Description, Policies by name — Consul's "ACL Token HTTP API",
 * https://developer.hashicorp.com/consul/api-docs/acl/tokens), not `consul acl token create`:
 * that CLI takes the secret only as the `-secret` flag's value (a plain string flag:
 * hashicorp/consul command/acl/token/create/token_create.go), i.e. in argv. The body, secret
 * included, goes to curl on stdin (`--data-binary @-`, a here-document: no process argument holds
 * it); the management token in the header file (`-H @file`, curl ≥ 7.55). curl is in the official
 * image (hashicorp/consul Dockerfile: `apk add … curl`), which runs this script on every platform.
 * The response (it echoes the secret) is discarded. The CONSUL_* TLS variables the consul CLI reads
 * are honoured too, so the request follows CONSUL_HTTP_ADDR wherever the CLI goes.
 */
function tokenCreateLines(token: AclToken): string[] {
    const body = JSON.stringify({
        AccessorID: token.accessorId,
        SecretID: token.secretId,
        Description: token.description,
        Policies: [{ Name: token.policy }],
    });
    // JSON.stringify escapes every newline: the body is one line, never the here-document's end marker.
    return [
        '  curl -sS --fail -X PUT -H @"$headers" --data-binary @- \\',
        '    ${CONSUL_CACERT:+--cacert "$CONSUL_CACERT"} ${CONSUL_CLIENT_CERT:+--cert "$CONSUL_CLIENT_CERT"} ${CONSUL_CLIENT_KEY:+--key "$CONSUL_CLIENT_KEY"} \\',
        "    \"$CONSUL_HTTP_ADDR/v1/acl/token\" >/dev/null <<'TOKEN'",
        body,
        "TOKEN",
    ];
}

export interface ConsulServerReadyInput {
    /** The server's node name, as `consul operator raft list-peers` lists it. */
    readonly nodeName: string;
    /** The cluster's bootstrap_expect: fewer live servers than this means the cluster is still forming. */
    readonly bootstrapExpect: number;
    /** A token with operator:read and node:read (the management token). Secret: the text travels on stdin. */
    readonly token: string;
    /** Seconds to wait. Defaults to 180. */
    readonly timeoutSeconds?: number;
    /** The server's TLS mode: from `accept` on the script talks HTTPS. Defaults to "off". */
    readonly tls?: ConsulTlsMode;
}

/**
 * How a script on a server reaches that server's API: plain HTTP on loopback while TLS is off, else
 * HTTPS on loopback, checked against the stack's CA (the server certificate names 127.0.0.1), with the
 * server's own certificate as client certificate — in `enforce` the HTTPS listener verifies incoming
 * connections (tls.defaults.verify_incoming). The consul CLI reads CONSUL_CACERT, CONSUL_CLIENT_CERT
 * and CONSUL_CLIENT_KEY ("Environment variables", https://developer.hashicorp.com/consul/commands#environment-variables);
 * the curl of tokenCreateLines passes the same files. Paths only: no secret in any argument.
 * The scripts run as root (docker exec, SSM), which reads the consul user's 0600 files.
 */
export function consulApiEnvLines(mode: ConsulTlsMode = "off"): string[] {
    if (mode === "off") return [`CONSUL_HTTP_ADDR=http://127.0.0.1:${CONSUL_PORTS.http}`, "export CONSUL_HTTP_ADDR"];
    return [
        `CONSUL_HTTP_ADDR=https://127.0.0.1:${CONSUL_PORTS.https}`,
        `CONSUL_CACERT=${CONSUL_TLS_FILES.ca}`,
        `CONSUL_CLIENT_CERT=${CONSUL_TLS_FILES.cert}`,
        `CONSUL_CLIENT_KEY=${CONSUL_TLS_FILES.key}`,
        "export CONSUL_HTTP_ADDR CONSUL_CACERT CONSUL_CLIENT_CERT CONSUL_CLIENT_KEY",
    ];
}

/**
 * The gate of a rolling replacement, run inside a Consul server once its container is up: waits
 * until the server counts in the Raft quorum again — listed by `consul operator raft list-peers` as
 * a VOTER. Autopilot adds a (re)joining server as a non-voter and promotes it only after it has been
 * healthy for its stabilization time, so "voter" is autopilot's own "healthy and stable". The next
 * server of the cluster goes only after this script has passed: at most one missing at a time.
 * While no leader exists and fewer servers than bootstrap_expect are alive, the cluster is still
 * forming (the first `pulumi up`): the server being alive in the gossip pool is all there is to wait for.
 */
export function renderConsulServerReadyScript(input: ConsulServerReadyInput): string {
    const timeout = input.timeoutSeconds ?? 180;
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(input.nodeName))
        throw new Error(`renderConsulServerReadyScript: bad nodeName ${JSON.stringify(input.nodeName)}`);
    if (!Number.isInteger(input.bootstrapExpect) || input.bootstrapExpect < 1)
        throw new Error("renderConsulServerReadyScript: bootstrapExpect must be ≥ 1");
    if (!Number.isInteger(timeout) || timeout < 1)
        throw new Error("renderConsulServerReadyScript: timeoutSeconds must be a whole number ≥ 1");
    return [
        "#!/bin/sh",
        `# Waits until ${input.nodeName} is a voting member of the Consul cluster (rolling-replacement gate).`,
        "set -eu",
        "# shellcheck disable=SC2089,SC2090 # quotes in the token are data: shellQuote() quoted it",
        `export CONSUL_HTTP_TOKEN=${shellQuote(input.token)}`,
        ...consulApiEnvLines(input.tls),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        `EXPECT=${input.bootstrapExpect}`,
        `deadline=$(( $(date +%s) + ${timeout} ))`,
        "while :; do",
        "  if peers=$(consul operator raft list-peers 2>/dev/null); then",
        "    # Columns: Node ID Address State Voter RaftProtocol ...",
        '    if printf \'%s\\n\' "$peers" | awk -v n="$NODE_NAME" \'$1 == n && $5 == "true" { found = 1 } END { exit !found }\'; then',
        '      echo "consul-ready[$NODE_NAME]: a voter of the Raft quorum" >&2',
        "      exit 0",
        "    fi",
        "  else",
        "    alive=$(consul members -status=alive 2>/dev/null | awk '$4 == \"server\"' | wc -l)",
        "    self=$(consul members -status=alive 2>/dev/null | awk -v n=\"$NODE_NAME\" '$1 == n' | wc -l)",
        '    if [ "$self" -ge 1 ] && [ "$alive" -lt "$EXPECT" ]; then',
        '      echo "consul-ready[$NODE_NAME]: no leader yet and $alive of $EXPECT servers alive: the cluster is still forming" >&2',
        "      exit 0",
        "    fi",
        "  fi",
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        `    echo "consul-ready[$NODE_NAME]: not a voter after ${timeout} s" >&2`,
        "    exit 1",
        "  fi",
        "  sleep 1",
        "done",
        "",
    ].join("\n");
}
