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
}

export interface ConsulClientConfigInput extends ConsulAgentBase {
    /**
     * Token for requests that carry none, e.g. DNS lookups from HAProxy on the LB nodes. Secret.
     * Omitted: anonymous requests get the deny-all default.
     */
    readonly defaultToken?: string;
}

/** Ports shared by every agent; the AWS security groups are derived from the same numbers. */
export const CONSUL_PORTS = { http: 8500, dns: 8600, serverRpc: 8300, serfLan: 8301 } as const;

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
    };
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";

export function renderConsulServerConfig(input: ConsulServerConfigInput): string {
    const quorum = Math.floor(input.bootstrapExpect / 2) + 1;
    return json({
        ...agentCommon(input),
        server: true,
        bootstrap_expect: input.bootstrapExpect,
        // The UI and API are reachable on the node's network (the edge/ELB forwards to them); ACLs guard them.
        client_addr: "0.0.0.0",
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
        // Only processes on the node (HAProxy, the node's own tasks) talk to its agent.
        client_addr: "127.0.0.1",
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
        "CONSUL_HTTP_ADDR=http://127.0.0.1:8500",
        "export CONSUL_HTTP_ADDR",
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
        "CONSUL_HTTP_ADDR=http://127.0.0.1:8500",
        "export CONSUL_HTTP_ADDR",
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
