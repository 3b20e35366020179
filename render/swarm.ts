/**
 * Pure renderers for Docker Swarm node bootstrap: the scripts the program runs
 * inside each node (`docker exec -i NODE sh -s`, script text on stdin) and the
 * inner engine's daemon.json.
 *
 * Every script is POSIX sh (dash), idempotent, bounded in time, logs to stderr
 * only and keeps secrets (join tokens) out of stdout, stderr and `set -x`
 * traces: the runner streams both outputs into Pulumi's logs. No script text
 * holds a secret: the join script reads its token from an environment variable
 * the caller fills at run time (from a live manager), and the init script only
 * checks the tokens, never prints them.
 *
 * No Pulumi imports: every function is a deterministic function of its input.
 */
import * as ipaddr from "ipaddr.js";
import { renderShellPrelude, shellQuote } from "./shell";

/** The Swarm cluster-management port (raft + API between managers). */
export const SWARM_MANAGER_PORT = 2377;
/** Every port a swarm node's engine listens on (Docker's "Use overlay networks" page): TCP 2377, TCP/UDP 7946, UDP 4789. */
export const SWARM_PORTS = { management: SWARM_MANAGER_PORT, gossip: 7946, overlay: 4789 } as const;

// ---------------------------------------------------------------------------
// Validation helpers (errors never echo secret values)
// ---------------------------------------------------------------------------

/** Variables the rendered join script uses itself (a tokenEnv must not clash). */
const RESERVED_VARS = new Set([
    "NODE_NAME",
    "ROLE",
    "ADVERTISE_ADDR",
    "MANAGERS",
    "JOIN_TOKEN",
    "JOIN_TIMEOUT",
    "LOG_TAG",
    "PATH",
    "HOME",
    "IFS",
    "state",
    "err_file",
    "deadline",
    "attempt",
    "manager",
    "remaining",
    "wfd_deadline",
    "engine_name",
    "wm_deadline",
    "code",
]);

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A strict dotted quad (ipaddr.js, as in config/): four decimal octets, no leading zeros, no hex or octal forms. */
function isIpv4(text: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** A CIDR's network address and prefix length. */
type Cidr = readonly [ipaddr.IPv4, number];

function parseCidr(text: string): Cidr | undefined {
    const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
    if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) return undefined;
    // Host bits set: ambiguous, refuse.
    if (ipaddr.IPv4.networkAddressFromCIDR(text).toString() !== m[1]) return undefined;
    return ipaddr.IPv4.parseCIDR(text);
}

/** Two CIDRs overlap when they agree on the shorter prefix. */
function cidrsOverlap([aBase, aPrefix]: Cidr, [bBase, bPrefix]: Cidr): boolean {
    return aBase.match(bBase, Math.min(aPrefix, bPrefix));
}

function checkNodeName(errors: string[], field: string, value: string): void {
    if (!HOSTNAME.test(value)) {
        errors.push(`${field} ${JSON.stringify(value)} is not a valid hostname label (letters, digits, '-', 1-63 chars)`);
    }
}

function checkIpv4(errors: string[], field: string, value: string): void {
    if (!isIpv4(value)) {
        errors.push(`${field} ${JSON.stringify(value)} is not an IPv4 address`);
    }
}

function checkSeconds(errors: string[], field: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        errors.push(`${field} ${value} must be an integer from ${min} to ${max}`);
    }
}

/** Checks address pools: valid CIDRs, pool size fits, no overlap with `avoid`. */
function checkPools(errors: string[], field: string, pools: readonly string[], maskLength: number, avoid: readonly string[]): void {
    if (pools.length === 0) errors.push(`${field} must name at least one CIDR`);
    const avoidParsed = avoid.map((text) => ({ text, cidr: parseCidr(text) }));
    for (const { text, cidr } of avoidParsed) {
        if (cidr === undefined) errors.push(`avoidSubnets entry ${JSON.stringify(text)} is not an IPv4 CIDR (a.b.c.d/n, no host bits)`);
    }
    for (const p of pools) {
        const c = parseCidr(p);
        if (!c) {
            errors.push(`${field} entry ${JSON.stringify(p)} is not an IPv4 CIDR (a.b.c.d/n, no host bits)`);
            continue;
        }
        const [, prefix] = c;
        if (!Number.isInteger(maskLength) || maskLength < prefix || maskLength > 29) {
            errors.push(`${field} entry ${p}: subnet size /${maskLength} must be from /${prefix} to /29`);
        }
        for (const { text, cidr } of avoidParsed) {
            if (cidr !== undefined && cidrsOverlap(cidr, c)) errors.push(`${field} entry ${p} overlaps ${text}`);
        }
    }
}

/** `outerSubnet` and `avoidSubnets` together. */
function subnetsToAvoid(input: { readonly outerSubnet?: string; readonly avoidSubnets?: readonly string[] }): string[] {
    return [...(input.outerSubnet === undefined ? [] : [input.outerSubnet]), ...(input.avoidSubnets ?? [])];
}

function throwIfErrors(what: string, errors: readonly string[]): void {
    if (errors.length > 0) {
        throw new Error(`${what}: invalid input:\n  - ${errors.join("\n  - ")}`);
    }
}

// ---------------------------------------------------------------------------
// Pieces shared by the init (bootstrap) and join scripts
// ---------------------------------------------------------------------------

/** Parses `ip` or `ip:port` manager addresses (port defaults to 2377); records errors. */
function parseManagerAddrs(errors: string[], field: string, addrs: readonly string[]): string[] {
    return addrs.map((addr) => {
        const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(addr);
        const port = m?.[2] === undefined ? SWARM_MANAGER_PORT : Number(m[2]);
        if (!m || !isIpv4(m[1]) || port < 1 || port > 65535) {
            errors.push(`${field} entry ${JSON.stringify(addr)} must be an IPv4 address with an optional :port`);
            return addr;
        }
        return `${m[1]}:${port}`;
    });
}

function checkTokenEnv(errors: string[], tokenEnv: unknown): void {
    if (typeof tokenEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv) || RESERVED_VARS.has(tokenEnv)) {
        errors.push(`tokenEnv ${JSON.stringify(tokenEnv)} must be a shell variable name not used by the script`);
    }
}

/**
 * Shell functions `check_role` (the engine is in the swarm as $ROLE), `wait_member SECONDS` (a
 * manager until `docker node inspect self` says ready + reachable: it counts in the Raft quorum; a
 * worker until its engine reports the swarm active) and `join_swarm` (tries every manager in
 * $MANAGERS with $JOIN_TOKEN until $JOIN_TIMEOUT; exits the script on success, fails on timeout).
 * Expects ROLE, MANAGERS, JOIN_TOKEN, JOIN_TIMEOUT, ADVERTISE_ADDR and `err_file`.
 */
function joinFunctions(role: SwarmRole, healthTimeoutSeconds: number): string[] {
    const wantControl = role === "manager" ? "true" : "false";
    const healthy =
        role === "manager"
            ? `[ "$(docker node inspect --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' self 2>/dev/null)" = 'ready reachable' ]`
            : `[ "$(swarm_field '{{.Swarm.LocalNodeState}}')" = active ]`;
    return [
        "# check_role: after joining, the engine's role must be the one asked for.",
        "check_role() {",
        `  if [ "$(swarm_field '{{.Swarm.ControlAvailable}}')" != ${wantControl} ]; then`,
        '    fail "this node is in the swarm but not as a $ROLE (wrong token for the role?)"',
        "  fi",
        "}",
        "",
        "# wait_member: a member counts only once the swarm sees it healthy (a rolling replacement takes",
        "# the next member away only after this one is back: at most one missing at a time).",
        "wait_member() {",
        `  wm_deadline=$(($(date +%s) + ${healthTimeoutSeconds}))`,
        `  until ${healthy}; do`,
        '    if [ "$(date +%s)" -ge "$wm_deadline" ]; then',
        `      fail "joined, but the swarm did not report this $ROLE healthy within ${healthTimeoutSeconds} s"`,
        "    fi",
        "    sleep 1",
        "  done",
        '  log "healthy swarm $ROLE"',
        "}",
        "",
        "join_swarm() {",
        "  deadline=$(($(date +%s) + JOIN_TIMEOUT))",
        "  attempt=0",
        "  while :; do",
        "    for manager in $MANAGERS; do",
        '      if [ "$attempt" -gt 0 ] && [ "$(date +%s)" -ge "$deadline" ]; then',
        '        fail "could not join the swarm as a $ROLE via any of: $MANAGERS (gave up after $JOIN_TIMEOUT s, $attempt attempts)"',
        "      fi",
        "      attempt=$((attempt + 1))",
        "      remaining=$((deadline - $(date +%s)))",
        '      [ "$remaining" -ge 5 ] || remaining=5',
        '      [ "$remaining" -le 30 ] || remaining=30',
        ...joinRequestLines(),
        '      if [ "$code" = 200 ]; then',
        "        check_role",
        '        log "joined the swarm as a $ROLE via $manager (attempt $attempt)"',
        "        return 0",
        "      fi",
        "      # A join that timed out on our side may still have completed.",
        "      state=$(swarm_field '{{.Swarm.LocalNodeState}}')",
        '      if [ "$state" = active ]; then',
        "        check_role",
        '        log "joined the swarm as a $ROLE via $manager (attempt $attempt)"',
        "        return 0",
        "      fi",
        "      log \"join via $manager failed (attempt $attempt, HTTP $code): $(sed 's/SWMTKN-[A-Za-z0-9-]*/<redacted>/g' \"$err_file\" | tr '\\n' ' ')\"",
        '      if [ "$state" != inactive ]; then',
        "        docker swarm leave --force >/dev/null 2>&1 || true",
        "      fi",
        "    done",
        "    sleep 2",
        "  done",
        "}",
        "",
    ];
}

/** The Docker engine's API socket on a swarm node (dockerd's default `-H unix:///var/run/docker.sock`). */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * `docker swarm join` through the engine's API instead of the CLI: the CLI takes the token only as
 * the value of `--token` (a plain string flag, docker/cli cli/command/swarm/join.go), i.e. in argv,
 * where `ps` and /proc/PID/cmdline show it to every process on the node. The same request the CLI
 * sends — POST /swarm/join with JoinToken, RemoteAddrs, ListenAddr, AdvertiseAddr, DataPathAddr
 * (Docker Engine API, "Join an existing swarm",
 * https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Swarm/operation/SwarmJoin) — goes over the engine's socket with curl, its JSON
 * body (token included) on curl's stdin, written by printf, a shell builtin: no process argument
 * holds the token. The path carries no API version: the engine then serves its own ("If you omit
 * the version-prefix, the current version of the API is used", Docker Engine API docs, "Versioned
 * API and SDK"). Like the CLI, the call returns once the node has joined or the engine's own join
 * timeout (20 s) passed. Sets `code` to the HTTP status (000: no answer); the engine's error
 * message is left in $err_file. curl is on every swarm node: images/swarm-node installs it, and on
 * AWS it is a base package of every role (platforms/aws/node.ts).
 */
function joinRequestLines(): string[] {
    return [
        `      code=$(printf '{"JoinToken":"%s","RemoteAddrs":["%s"],"ListenAddr":"%s:${SWARM_MANAGER_PORT}","AdvertiseAddr":"%s","DataPathAddr":"%s"}' \\`,
        '        "$JOIN_TOKEN" "$manager" "$ADVERTISE_ADDR" "$ADVERTISE_ADDR" "$ADVERTISE_ADDR" |',
        `        timeout "$remaining" curl -s -o "$err_file" -w '%{http_code}' --unix-socket ${DOCKER_SOCKET} \\`,
        "          -X POST -H 'Content-Type: application/json' --data-binary @- http://localhost/swarm/join) || code=000",
    ];
}

// ---------------------------------------------------------------------------
// swarm init
// ---------------------------------------------------------------------------

/** Address pool from which Swarm allocates overlay-network subnets. */
export interface SwarmAddressPool {
    /** CIDRs to carve overlay subnets from, e.g. `["10.214.0.0/16"]`. */
    readonly cidrs: readonly string[];
    /** Prefix length of each allocated subnet. Defaults to 24. */
    readonly maskLength?: number;
}

/** Default overlay address pool (Swarm's own default, 10.0.0.0/8, overlaps most VPCs and dev networks). */
export const DEFAULT_SWARM_ADDRESS_POOL: SwarmAddressPool = { cidrs: ["10.214.0.0/16"], maskLength: 24 };

/** Input of {@link renderSwarmInitScript}. */
export interface SwarmInitScriptInput {
    /** IPv4 address of this node that other nodes reach (manager API, gossip and VXLAN data path). */
    readonly advertiseAddr: string;
    /** This node's hostname; the engine must report the same name (`docker node ls` shows it). */
    readonly nodeName: string;
    /**
     * Pool for overlay networks (including `ingress`). Must not overlap the
     * network the nodes live on. Defaults to {@link DEFAULT_SWARM_ADDRESS_POOL}.
     */
    readonly defaultAddrPool?: SwarmAddressPool;
    /** CIDR of the network the nodes live on (dev Docker network, VPC); the pool must not overlap it. Defaults to none. */
    readonly outerSubnet?: string;
    /** Further subnets the pool must not overlap. Defaults to none. */
    readonly avoidSubnets?: readonly string[];
    /** How long to wait for the local engine to answer. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
    /**
     * The other managers, for when this node is REPLACED after the swarm exists: if the variable
     * `tokenEnv` holds a manager join token when the script runs (the caller reads it from a live
     * manager; empty on the first `pulumi up`, when no swarm exists), the node joins that swarm as a
     * manager instead of initialising a second one. Defaults to none: always initialise.
     */
    readonly joinExisting?: { readonly managerAddrs: readonly string[]; readonly tokenEnv: string };
    /** Total time for join attempts (with `joinExisting`). Defaults to 60 s. */
    readonly joinTimeoutSeconds?: number;
    /** How long to wait until the swarm reports this manager ready and reachable. Defaults to 60 s. */
    readonly healthTimeoutSeconds?: number;
}

/**
 * What the init script prints on stdout (one JSON line with exactly these
 * keys). Not a secret: join tokens are never part of it; joining nodes read
 * theirs from a live manager at join time.
 */
export interface SwarmInitResult {
    /** `ip:2377` of the initialised manager. */
    readonly managerAddr: string;
    /** The engine's swarm node ID (`docker info` `.Swarm.NodeID`). */
    readonly nodeId: string;
    /** The swarm's ID (`.Swarm.Cluster.ID`): the same for every manager, new only for a new swarm. */
    readonly clusterId: string;
}

/**
 * Script for the first manager: waits for the engine; if it already is an
 * active swarm manager does nothing, otherwise `docker swarm init` (no
 * autolock, explicit listen/advertise/data-path address, address pool chosen
 * to avoid the outer network). Then checks that the manager hands out
 * well-formed worker and manager join tokens (proof that it works) without
 * printing them anywhere. Prints exactly one line on stdout, the JSON
 * {@link SwarmInitResult} (no secrets); everything else goes to stderr. Fails if
 * the node is a worker of some swarm, locked, or its hostname differs from
 * `nodeName`.
 */
export function renderSwarmInitScript(input: SwarmInitScriptInput): string {
    const pool = input.defaultAddrPool ?? DEFAULT_SWARM_ADDRESS_POOL;
    const maskLength = pool.maskLength ?? 24;
    const readyTimeout = input.readyTimeoutSeconds ?? 60;
    const joinTimeout = input.joinTimeoutSeconds ?? 60;
    const healthTimeout = input.healthTimeoutSeconds ?? 60;
    const errors: string[] = [];
    checkIpv4(errors, "advertiseAddr", input.advertiseAddr);
    checkNodeName(errors, "nodeName", input.nodeName);
    checkPools(errors, "defaultAddrPool", pool.cidrs, maskLength, subnetsToAvoid(input));
    checkSeconds(errors, "readyTimeoutSeconds", readyTimeout, 1, 3600);
    checkSeconds(errors, "joinTimeoutSeconds", joinTimeout, 1, 3600);
    checkSeconds(errors, "healthTimeoutSeconds", healthTimeout, 1, 3600);
    const join = input.joinExisting;
    const managers = join === undefined ? [] : parseManagerAddrs(errors, "joinExisting.managerAddrs", join.managerAddrs);
    if (join !== undefined) {
        if (managers.length === 0) errors.push("joinExisting.managerAddrs must list at least one manager");
        checkTokenEnv(errors, join.tokenEnv);
    }
    throwIfErrors("renderSwarmInitScript", errors);

    const poolArgs = pool.cidrs.map((c) => `        --default-addr-pool ${shellQuote(c)} \\`);
    return [
        renderShellPrelude({
            title: `Initialise the Docker Swarm on ${input.nodeName} (idempotent).`,
            logTag: `swarm-init[${input.nodeName}]`,
        }),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        "ROLE=manager",
        `ADVERTISE_ADDR=${shellQuote(input.advertiseAddr)}`,
        `MANAGERS=${shellQuote(managers.join(" "))}`,
        // Copy the token (if any) out of the environment so `docker` children do not inherit it.
        ...(join === undefined ? ["JOIN_TOKEN="] : ["JOIN_TOKEN=${" + join.tokenEnv + ":-}", `unset ${join.tokenEnv}`]),
        'case "$JOIN_TOKEN" in',
        // Letters, digits and dashes only: the token is spliced into the join request's JSON.
        "  *[!A-Za-z0-9-]*) fail 'the join token variable does not hold a Swarm join token' ;;",
        "  '' | SWMTKN-1-*) ;;",
        "  *) fail 'the join token variable does not hold a Swarm join token' ;;",
        "esac",
        `JOIN_TIMEOUT=${joinTimeout}`,
        "err_file=$(mktemp)",
        "trap 'rm -f \"$err_file\"' EXIT",
        "",
        `wait_for_docker ${readyTimeout}`,
        "",
        "engine_name=$(swarm_field '{{.Name}}')",
        'if [ "$engine_name" != "$NODE_NAME" ]; then',
        "  fail \"the engine's hostname is '$engine_name', expected '$NODE_NAME' (start the node with --hostname $NODE_NAME)\"",
        "fi",
        "",
        ...joinFunctions("manager", healthTimeout),
        "state=$(swarm_field '{{.Swarm.LocalNodeState}}')",
        'case "$state" in',
        "  active)",
        "    if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
        "      fail 'this engine is a worker of an existing swarm; refusing to initialise a new one'",
        "    fi",
        "    log 'already an active swarm manager; nothing to initialise'",
        "    ;;",
        "  inactive | pending | error)",
        '    if [ -n "$JOIN_TOKEN" ]; then',
        "      # A live manager handed out a token: the swarm exists and this node replaces a member of it.",
        '      [ "$state" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true',
        '      log "a swarm exists (a manager answered): joining it instead of initialising a new one"',
        "      join_swarm",
        "    else",
        `      [ "$state" = inactive ] || fail "unexpected swarm state '$state' and no manager answers (run docker swarm leave --force and retry)"`,
        '      log "initialising the swarm (advertise $ADVERTISE_ADDR)"',
        "      # stdout of `swarm init` holds a join command with the worker token: discard it.",
        "      docker swarm init \\",
        '        --advertise-addr "$ADVERTISE_ADDR" \\',
        `        --listen-addr "$ADVERTISE_ADDR:${SWARM_MANAGER_PORT}" \\`,
        '        --data-path-addr "$ADVERTISE_ADDR" \\',
        ...poolArgs,
        `        --default-addr-pool-mask-length ${maskLength} \\`,
        "        --autolock=false >/dev/null",
        "      log 'swarm initialised'",
        "    fi",
        "    ;;",
        "  locked)",
        "    fail 'the swarm is locked (autolock); unlock it with docker swarm unlock'",
        "    ;;",
        "  *)",
        "    fail \"unexpected swarm state '$state'\"",
        "    ;;",
        "esac",
        "wait_member",
        "",
        "# The manager must hand out well-formed join tokens (proof that it works).",
        "# They are checked and dropped here, never printed: stdout and stderr end up in logs.",
        "check_join_token() {",
        '  if ! cjt_token=$(docker swarm join-token -q "$1" 2>"$err_file"); then',
        "    cjt_token=",
        "    fail \"docker swarm join-token -q $1 failed: $(sed 's/SWMTKN-[A-Za-z0-9-]*/<redacted>/g' \"$err_file\" | tr '\\n' ' ')\"",
        "  fi",
        "  # Well-formed: SWMTKN-1-<letters/digits>-<letters/digits>, nothing else.",
        "  cjt_ok=false",
        '  case "$cjt_token" in',
        "    *[!A-Za-z0-9-]*) ;;",
        "    SWMTKN-1-*-*-* | SWMTKN-1--* | SWMTKN-1-*-) ;;",
        "    SWMTKN-1-?*-?*) cjt_ok=true ;;",
        "  esac",
        "  cjt_token=",
        '  [ "$cjt_ok" = true ] || fail "docker swarm join-token -q $1 returned something that is not a join token"',
        "}",
        "check_join_token worker",
        "check_join_token manager",
        "log 'the manager hands out worker and manager join tokens'",
        "",
        "node_id=$(swarm_field '{{.Swarm.NodeID}}')",
        'case "$node_id" in',
        "  '' | *[!A-Za-z0-9_-]*) fail 'docker info reports no usable swarm node ID' ;;",
        "esac",
        `manager_addr=$(swarm_field '{{range .Swarm.RemoteManagers}}{{if eq .NodeID $.Swarm.NodeID}}{{.Addr}}{{end}}{{end}}')`,
        `[ -n "$manager_addr" ] || manager_addr="$ADVERTISE_ADDR:${SWARM_MANAGER_PORT}"`,
        'case "$manager_addr" in',
        "  *[!0-9.:]* | *:*:* | :* | *:) fail \"unexpected manager address '$manager_addr'\" ;;",
        "  *:*) ;;",
        "  *) fail \"unexpected manager address '$manager_addr'\" ;;",
        "esac",
        "cluster_id=$(swarm_field '{{.Swarm.Cluster.ID}}')",
        'case "$cluster_id" in',
        "  '' | *[!A-Za-z0-9_-]*) fail 'docker info reports no usable swarm cluster ID' ;;",
        "esac",
        'printf \'{"managerAddr":"%s","nodeId":"%s","clusterId":"%s"}\\n\' "$manager_addr" "$node_id" "$cluster_id"',
        "",
    ].join("\n");
}

/**
 * Parses the init script's stdout into a {@link SwarmInitResult}. Accepts
 * exactly the keys `managerAddr` and `nodeId`: any other key (e.g. a token
 * printed by an older script) is an error.
 * @throws with a message that never contains the text (should it ever hold a
 * secret, it must not reach logs).
 */
export function parseSwarmInitOutput(stdout: string): SwarmInitResult {
    const fail = (why: string): never => {
        throw new Error(`swarm init output is not the expected JSON line: ${why}`);
    };
    const lines = stdout.split("\n").filter((l) => l.trim() !== "");
    if (lines.length !== 1) fail(`expected 1 non-empty line, got ${lines.length}`);
    let value: unknown;
    try {
        value = JSON.parse(lines[0]);
    } catch {
        return fail("not JSON");
    }
    if (typeof value !== "object" || value === null) return fail("not an object");
    if (Array.isArray(value)) return fail("not an object");
    const v = value as Record<string, unknown>;
    const extra = Object.keys(v).filter((k) => k !== "managerAddr" && k !== "nodeId" && k !== "clusterId");
    if (extra.length > 0) fail(`${extra.length} unexpected key(s); only managerAddr, nodeId and clusterId are allowed`);
    const { managerAddr, nodeId, clusterId } = v;
    if (typeof managerAddr !== "string" || !/^[0-9.]+:\d+$/.test(managerAddr)) fail("managerAddr missing or malformed");
    if (typeof nodeId !== "string" || !/^[A-Za-z0-9_-]+$/.test(nodeId)) fail("nodeId missing or malformed");
    if (typeof clusterId !== "string" || !/^[A-Za-z0-9_-]+$/.test(clusterId)) fail("clusterId missing or malformed");
    return { managerAddr: managerAddr as string, nodeId: nodeId as string, clusterId: clusterId as string };
}

// ---------------------------------------------------------------------------
// swarm join
// ---------------------------------------------------------------------------

/** A swarm node's role. */
export type SwarmRole = "manager" | "worker";

/** Input of {@link renderSwarmJoinScript}. */
export interface SwarmJoinScriptInput {
    /** Role to join as; must match the role of the token in `tokenEnv`. */
    readonly role: SwarmRole;
    /** This node's hostname; the engine must report the same name. */
    readonly nodeName: string;
    /** IPv4 address of this node that other nodes reach. */
    readonly advertiseAddr: string;
    /** Managers to try, in order: `ip` or `ip:port` (port defaults to 2377). At least one. */
    readonly managerAddrs: readonly string[];
    /**
     * Name of the environment variable that holds the join token for `role` when
     * the script runs (e.g. `docker exec -e NAME`, the value taken from the
     * caller's environment, never from argv; the program reads it from a live
     * manager at join time). The token is never part of the script text.
     */
    readonly tokenEnv: string;
    /** How long to wait for the local engine to answer. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
    /** Total time for join attempts over all managers. Defaults to 60 s. */
    readonly joinTimeoutSeconds?: number;
    /** How long to wait until the swarm reports this node healthy (a manager: ready and reachable). Defaults to 60 s. */
    readonly healthTimeoutSeconds?: number;
}

/**
 * Script that joins this node to the swarm: waits for the engine; exits 0 if
 * already an active member; otherwise tries `docker swarm join` against each
 * manager in turn, retrying until `joinTimeoutSeconds`, and fails with a clear
 * message if none worked. A half-finished join (state `pending`/`error`) is
 * reset with `docker swarm leave --force` first. Join managers one at a time.
 * The token is copied from `tokenEnv` into an unexported shell variable (and
 * `tokenEnv` unset, so `docker` children do not inherit it); error text is
 * redacted of tokens.
 */
export function renderSwarmJoinScript(input: SwarmJoinScriptInput): string {
    const readyTimeout = input.readyTimeoutSeconds ?? 60;
    const joinTimeout = input.joinTimeoutSeconds ?? 60;
    const healthTimeout = input.healthTimeoutSeconds ?? 60;
    const errors: string[] = [];
    if (input.role !== "manager" && input.role !== "worker") {
        errors.push(`role ${JSON.stringify(input.role)} must be "manager" or "worker"`);
    }
    checkNodeName(errors, "nodeName", input.nodeName);
    checkIpv4(errors, "advertiseAddr", input.advertiseAddr);
    if (input.managerAddrs.length === 0) errors.push("managerAddrs must list at least one manager");
    const managers = parseManagerAddrs(errors, "managerAddrs", input.managerAddrs);
    // Guard for untyped callers: a token must never be embedded in the script text.
    if (Object.prototype.hasOwnProperty.call(input, "token")) {
        errors.push("token is not accepted: pass the join token in the environment variable named by tokenEnv");
    }
    checkTokenEnv(errors, input.tokenEnv);
    checkSeconds(errors, "readyTimeoutSeconds", readyTimeout, 1, 3600);
    checkSeconds(errors, "joinTimeoutSeconds", joinTimeout, 1, 3600);
    checkSeconds(errors, "healthTimeoutSeconds", healthTimeout, 1, 3600);
    throwIfErrors("renderSwarmJoinScript", errors);

    return [
        renderShellPrelude({
            title: `Join ${input.nodeName} to the Docker Swarm as a ${input.role} (idempotent).`,
            logTag: `swarm-join[${input.nodeName}]`,
        }),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        `ROLE=${input.role}`,
        `ADVERTISE_ADDR=${shellQuote(input.advertiseAddr)}`,
        `MANAGERS=${shellQuote(managers.join(" "))}`,
        // Copy the token out of the environment so `docker` children do not inherit it.
        "JOIN_TOKEN=${" + input.tokenEnv + ":-}",
        `unset ${input.tokenEnv}`,
        'case "$JOIN_TOKEN" in',
        // Letters, digits and dashes only: the token is spliced into the join request's JSON.
        `  *[!A-Za-z0-9-]*) fail 'environment variable ${input.tokenEnv} does not hold a Swarm join token' ;;`,
        "  SWMTKN-1-*) ;;",
        `  *) fail 'environment variable ${input.tokenEnv} does not hold a Swarm join token' ;;`,
        "esac",
        `JOIN_TIMEOUT=${joinTimeout}`,
        "",
        `wait_for_docker ${readyTimeout}`,
        "",
        "engine_name=$(swarm_field '{{.Name}}')",
        'if [ "$engine_name" != "$NODE_NAME" ]; then',
        "  fail \"the engine's hostname is '$engine_name', expected '$NODE_NAME' (start the node with --hostname $NODE_NAME)\"",
        "fi",
        "",
        "err_file=$(mktemp)",
        "trap 'rm -f \"$err_file\"' EXIT",
        ...joinFunctions(input.role, healthTimeout),
        "state=$(swarm_field '{{.Swarm.LocalNodeState}}')",
        'case "$state" in',
        "  active)",
        "    check_role",
        '    log "already an active swarm $ROLE"',
        "    ;;",
        "  inactive)",
        "    join_swarm",
        "    ;;",
        "  pending | error)",
        "    log \"swarm state is '$state' after an earlier attempt; resetting it\"",
        "    docker swarm leave --force >/dev/null 2>&1 || true",
        "    join_swarm",
        "    ;;",
        "  locked) fail 'the swarm is locked (autolock); unlock it with docker swarm unlock' ;;",
        "  *) fail \"unexpected swarm state '$state'\" ;;",
        "esac",
        "wait_member",
        "",
    ].join("\n");
}

// ---------------------------------------------------------------------------
// swarm leave / node rm
// ---------------------------------------------------------------------------

/** Input of {@link renderSwarmLeaveScript}. */
export interface SwarmLeaveScriptInput {
    /** Role the node was created with (a manager is demoted before it leaves). */
    readonly role: SwarmRole;
    /** This node's hostname. */
    readonly nodeName: string;
    /** How long to wait for the local engine. Defaults to 30 s; if it never answers the script gives up with exit 0 (the node is going away; the remove script cleans up). */
    readonly readyTimeoutSeconds?: number;
    /** How long to wait for a demotion to take effect. Defaults to 60 s. */
    readonly demoteTimeoutSeconds?: number;
}

/**
 * Script run ON a node that is being deleted. A manager first demotes itself
 * (so the raft membership shrinks instead of counting an absent member against
 * quorum) and waits until it no longer has control; then `docker swarm leave`.
 * The last manager of a swarm leaves with `--force` (the swarm ends with it).
 * Idempotent: a node that is not in a swarm exits 0.
 * Follow it with {@link renderSwarmNodeRemoveScript} on a remaining manager.
 */
export function renderSwarmLeaveScript(input: SwarmLeaveScriptInput): string {
    const readyTimeout = input.readyTimeoutSeconds ?? 30;
    const demoteTimeout = input.demoteTimeoutSeconds ?? 60;
    const errors: string[] = [];
    if (input.role !== "manager" && input.role !== "worker") {
        errors.push(`role ${JSON.stringify(input.role)} must be "manager" or "worker"`);
    }
    checkNodeName(errors, "nodeName", input.nodeName);
    checkSeconds(errors, "readyTimeoutSeconds", readyTimeout, 1, 3600);
    checkSeconds(errors, "demoteTimeoutSeconds", demoteTimeout, 1, 3600);
    throwIfErrors("renderSwarmLeaveScript", errors);

    return [
        renderShellPrelude({
            title: `Take ${input.nodeName} (${input.role}) out of the Docker Swarm before it is deleted.`,
            logTag: `swarm-leave[${input.nodeName}]`,
        }),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        `ROLE=${input.role}`,
        `DEMOTE_TIMEOUT=${demoteTimeout}`,
        "",
        `wfd_deadline=$(($(date +%s) + ${readyTimeout}))`,
        "until timeout 10 docker info >/dev/null 2>&1; do",
        '  if [ "$(date +%s)" -ge "$wfd_deadline" ]; then',
        "    log 'warning: the local Docker engine does not answer; leaving the clean-up to the remove script'",
        "    exit 0",
        "  fi",
        "  sleep 1",
        "done",
        "",
        "state=$(swarm_field '{{.Swarm.LocalNodeState}}')",
        'if [ "$state" = inactive ]; then',
        "  log 'not part of a swarm; nothing to do'",
        "  exit 0",
        "fi",
        "engine_name=$(swarm_field '{{.Name}}')",
        'if [ "$engine_name" != "$NODE_NAME" ]; then',
        "  log \"warning: the engine's hostname is '$engine_name', expected '$NODE_NAME'\"",
        "fi",
        "",
        'if [ "$state" = active ] && [ "$(swarm_field \'{{.Swarm.ControlAvailable}}\')" = true ]; then',
        "  [ \"$ROLE\" = manager ] || log 'warning: created as a worker but is a manager now; demoting it'",
        "  node_id=$(swarm_field '{{.Swarm.NodeID}}')",
        "  managers=$(docker node ls --filter role=manager -q | wc -l)",
        '  if [ "$managers" -le 1 ]; then',
        "    log 'last manager of the swarm: leaving with --force (this ends the swarm)'",
        "    docker swarm leave --force >/dev/null",
        "    log 'left the swarm'",
        "    exit 0",
        "  fi",
        '  log "demoting this manager ($managers managers before; the raft quorum shrinks with it)"',
        '  docker node demote "$node_id" >/dev/null ||',
        "    fail 'docker node demote failed (has the swarm lost its quorum?); not leaving, to keep the raft membership consistent'",
        "  deadline=$(($(date +%s) + DEMOTE_TIMEOUT))",
        "  while [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" = true ]; do",
        '    if [ "$(date +%s)" -ge "$deadline" ]; then',
        '      fail "the demotion did not take effect within $DEMOTE_TIMEOUT s"',
        "    fi",
        "    sleep 1",
        "  done",
        "  log 'demoted'",
        "fi",
        "",
        "docker swarm leave >/dev/null 2>&1 || docker swarm leave --force >/dev/null",
        "log 'left the swarm'",
        "",
    ].join("\n");
}

/** Input of {@link renderSwarmNodeRemoveScript}. */
export interface SwarmNodeRemoveScriptInput {
    /** Hostname of the departed node (as `docker node ls` shows it). */
    readonly nodeName: string;
    /** How long to wait for the local engine. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
    /** How long to wait for a node entry to turn `down` before leaving it alone. Defaults to 60 s. */
    readonly downTimeoutSeconds?: number;
}

/**
 * Script run on a REMAINING manager after a node was deleted: removes every
 * node entry whose hostname is `nodeName` and whose status is `down` (a node
 * that is still `ready` under that name — e.g. its replacement — is left
 * alone after `downTimeoutSeconds`). A manager entry is demoted before
 * `docker node rm --force`. "Not found" counts as success.
 */
export function renderSwarmNodeRemoveScript(input: SwarmNodeRemoveScriptInput): string {
    const readyTimeout = input.readyTimeoutSeconds ?? 60;
    const downTimeout = input.downTimeoutSeconds ?? 60;
    const errors: string[] = [];
    checkNodeName(errors, "nodeName", input.nodeName);
    checkSeconds(errors, "readyTimeoutSeconds", readyTimeout, 1, 3600);
    checkSeconds(errors, "downTimeoutSeconds", downTimeout, 0, 3600);
    throwIfErrors("renderSwarmNodeRemoveScript", errors);

    return [
        renderShellPrelude({
            title: `Remove the departed node ${input.nodeName} from the Docker Swarm (run on a manager).`,
            logTag: `swarm-node-rm[${input.nodeName}]`,
        }),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        `DOWN_TIMEOUT=${downTimeout}`,
        "",
        `wait_for_docker ${readyTimeout}`,
        "if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
        "  fail 'this engine is not a swarm manager; run the remove script on a manager'",
        "fi",
        "",
        "# node_lines: 'ID STATUS ROLE' of every node whose hostname is exactly NODE_NAME.",
        "node_lines() {",
        "  docker node ls --format '{{.ID}} {{.Hostname}}' | while read -r nl_id nl_host; do",
        '    [ "$nl_host" = "$NODE_NAME" ] || continue',
        "    docker node inspect --format '{{.ID}} {{.Status.State}} {{.Spec.Role}}' \"$nl_id\" 2>/dev/null || true",
        "  done",
        "}",
        "",
        "deadline=$(($(date +%s) + DOWN_TIMEOUT))",
        "while :; do",
        "  live=$(node_lines | awk '$2 != \"down\"' | wc -l)",
        '  [ "$live" -eq 0 ] && break',
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        '    log "warning: $live node(s) named $NODE_NAME still up after $DOWN_TIMEOUT s; leaving them (a replacement?)"',
        "    break",
        "  fi",
        "  sleep 1",
        "done",
        "",
        "removed=0",
        'for entry in $(node_lines | awk \'$2 == "down" { print $1 ":" $3 }\'); do',
        "  id=${entry%%:*}",
        "  role=${entry#*:}",
        '  if [ "$role" = manager ]; then',
        '    log "demoting departed manager $id"',
        '    docker node demote "$id" >/dev/null 2>&1 || log "warning: could not demote $id"',
        "  fi",
        '  if out=$(docker node rm --force "$id" 2>&1); then',
        "    removed=$((removed + 1))",
        '    log "removed node $id"',
        "  else",
        '    case "$out" in',
        "      *'not found'* | *'No such node'*) log \"node $id already gone\" ;;",
        '      *) fail "docker node rm $id failed: $out" ;;',
        "    esac",
        "  fi",
        "done",
        '[ "$removed" -gt 0 ] || log "no departed node named $NODE_NAME; nothing to remove"',
        "",
    ].join("\n");
}

/** Input of {@link renderSwarmNodeDrainScript}. */
export interface SwarmNodeDrainScriptInput {
    /** Hostname of the node about to go (as `docker node ls` shows it). */
    readonly nodeName: string;
    /** How long to wait for its tasks to stop (they drain on SIGTERM). Defaults to 120 s. */
    readonly drainTimeoutSeconds?: number;
}

/**
 * Script run on a manager BEFORE a node is deleted or replaced. It moves the node's tasks away
 * without a moment in which a service has none serving:
 *
 * 1. `pause` the node (no new task is placed on it; the running ones keep serving);
 * 2. each replicated service with a task on it gets a forced rolling update (`docker service update
 *    --force`): the service's own update_config — one task at a time, start-first, health-gated —
 *    starts each replacement on another node and only then stops the old task. A plain `drain` stops
 *    every task on the node at once and starts the replacements in parallel: when all replicas sit on
 *    this node (its peer was replaced just before, which moved them here) the service has none
 *    passing until the new ones pass their checks (the swarm system test counted 411 of 12,000
 *    requests failing, 9 s of 503s, replacing both workers that way). The forced update restarts
 *    the service's tasks on other nodes too: the price of a graceful move;
 * 3. `drain`, and wait until no task runs on it (each stopping task leaves Consul and drains on SIGTERM).
 *
 * Best effort when the node is not in the swarm (nothing to drain: exit 0). A forced update that does
 * not finish within the timeout (e.g. no other node can take the tasks) is logged and the drain goes
 * on; the script fails when tasks still run at the deadline, so the caller can decide (the node's
 * delete goes on: a stuck task must not wedge the stack).
 */
export function renderSwarmNodeDrainScript(input: SwarmNodeDrainScriptInput): string {
    const drainTimeout = input.drainTimeoutSeconds ?? 120;
    const errors: string[] = [];
    checkNodeName(errors, "nodeName", input.nodeName);
    checkSeconds(errors, "drainTimeoutSeconds", drainTimeout, 1, 3600);
    throwIfErrors("renderSwarmNodeDrainScript", errors);
    return [
        renderShellPrelude({
            title: `Drain ${input.nodeName}'s tasks before it goes (run on a manager).`,
            logTag: `swarm-drain[${input.nodeName}]`,
        }),
        `NODE_NAME=${shellQuote(input.nodeName)}`,
        `DRAIN_TIMEOUT=${drainTimeout}`,
        "",
        "wait_for_docker 30",
        "if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
        "  fail 'this engine is not a swarm manager; run the drain script on a manager'",
        "fi",
        "ids=$(docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v n=\"$NODE_NAME\" '$2 == n && $3 != \"Down\" { print $1 }')",
        'if [ -z "$ids" ]; then',
        '  log "no live node named $NODE_NAME; nothing to drain"',
        "  exit 0",
        "fi",
        "deadline=$(($(date +%s) + DRAIN_TIMEOUT))",
        "for id in $ids; do",
        '  docker node update --availability pause "$id" >/dev/null',
        "done",
        "# Replicated services with a task running here (task names are <service>.<slot>).",
        "services=$(for id in $ids; do docker node ps \"$id\" --filter desired-state=running --format '{{.Name}}' 2>/dev/null; done | sed 's/\\.[0-9]*$//' | sort -u)",
        "for svc in $services; do",
        "  mode=$(docker service inspect --format '{{if .Spec.Mode.Replicated}}replicated{{end}}' \"$svc\" 2>/dev/null || true)",
        '  [ "$mode" = replicated ] || continue',
        "  left=$((deadline - $(date +%s)))",
        '  [ "$left" -gt 0 ] || break',
        '  log "moving $svc off $NODE_NAME: a forced rolling update (its update_config: one task at a time, start-first)"',
        '  if ! timeout "$left" docker service update --force --detach=false --quiet "$svc" >/dev/null; then',
        '    log "forced update of $svc did not finish in time; draining what is left"',
        "  fi",
        "done",
        "for id in $ids; do",
        '  docker node update --availability drain "$id" >/dev/null',
        "done",
        'log "draining $NODE_NAME"',
        "while :; do",
        "  running=0",
        "  for id in $ids; do",
        "    # Until they have STOPPED, not just been told to: leaving the swarm earlier would cut their drain short.",
        "    n=$(docker node ps \"$id\" --format '{{.CurrentState}}' 2>/dev/null | grep -c -E '^(Running|Starting|Preparing|Assigned|Accepted|Ready)' || true)",
        "    running=$((running + n))",
        "  done",
        '  [ "$running" -eq 0 ] && break',
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        '    fail "$running task(s) still running on $NODE_NAME after $DRAIN_TIMEOUT s"',
        "  fi",
        "  sleep 1",
        "done",
        'log "drained: no task runs on $NODE_NAME"',
        "",
    ].join("\n");
}

// ---------------------------------------------------------------------------
// daemon.json
// ---------------------------------------------------------------------------

/** An address pool for an engine's local (bridge) networks. */
export interface DaemonAddressPool {
    /** CIDR to carve from, e.g. `10.215.0.0/16`. */
    readonly base: string;
    /** Prefix length of each allocated network, e.g. 24. */
    readonly size: number;
}

/** Default local address pool of swarm-node engines (docker0, docker_gwbridge, user bridges). */
export const DEFAULT_DAEMON_ADDRESS_POOLS: readonly DaemonAddressPool[] = [{ base: "10.215.0.0/16", size: 24 }];

/** Input of {@link renderDockerDaemonConfig}. */
export interface DockerDaemonConfigInput {
    /** Pools for the engine's local networks. Defaults to {@link DEFAULT_DAEMON_ADDRESS_POOLS}. */
    readonly defaultAddressPools?: readonly DaemonAddressPool[];
    /** CIDR of the network the nodes live on (dev Docker network, VPC); the pools must not overlap it. Defaults to none. */
    readonly outerSubnet?: string;
    /** Further subnets the pools must not overlap (e.g. the swarm overlay pool). Defaults to none. */
    readonly avoidSubnets?: readonly string[];
    /** json-file log rotation: size of one file in MiB. Defaults to 10. */
    readonly logMaxSizeMiB?: number;
    /** json-file log rotation: files kept per container. Defaults to 3. */
    readonly logMaxFiles?: number;
    /** Registries reached over plain HTTP (e.g. a local `registry:5000`). Defaults to none (key omitted). */
    readonly insecureRegistries?: readonly string[];
    /** Seconds dockerd gives containers to stop when it shuts down. Defaults to 10. */
    readonly shutdownTimeoutSeconds?: number;
    /**
     * `host:port` of the engine's Prometheus endpoint (`metrics-addr`; not experimental since Docker
     * 20.10, docker/cli#4391): the node's own address, so Prometheus reaches it and nothing outside
     * the nodes' network does. Defaults to none (no endpoint).
     */
    readonly metricsAddress?: string;
}

/**
 * `/etc/docker/daemon.json` for a swarm node, as JSON text with a fixed key
 * order and a trailing newline: overlay2, json-file logs with rotation,
 * `live-restore: false` (dockerd refuses swarm mode with live-restore on),
 * local address pools that avoid `outerSubnet`/`avoidSubnets`, the metrics endpoint
 * (`metrics-addr`) and `insecure-registries` only when asked for.
 */
export function renderDockerDaemonConfig(input: DockerDaemonConfigInput = {}): string {
    const pools = input.defaultAddressPools ?? DEFAULT_DAEMON_ADDRESS_POOLS;
    const maxSize = input.logMaxSizeMiB ?? 10;
    const maxFiles = input.logMaxFiles ?? 3;
    const shutdownTimeout = input.shutdownTimeoutSeconds ?? 10;
    const errors: string[] = [];
    if (pools.length === 0) errors.push("defaultAddressPools must list at least one pool");
    for (const p of pools) {
        checkPools(errors, "defaultAddressPools", [p.base], p.size, subnetsToAvoid(input));
    }
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 1024) {
        errors.push(`logMaxSizeMiB ${maxSize} must be an integer from 1 to 1024`);
    }
    if (!Number.isInteger(maxFiles) || maxFiles < 1 || maxFiles > 100) {
        errors.push(`logMaxFiles ${maxFiles} must be an integer from 1 to 100`);
    }
    checkSeconds(errors, "shutdownTimeoutSeconds", shutdownTimeout, 1, 3600);
    if (input.metricsAddress !== undefined && !/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(input.metricsAddress)) {
        errors.push(`metricsAddress ${JSON.stringify(input.metricsAddress)} must be IPv4:port`);
    }
    for (const r of input.insecureRegistries ?? []) {
        if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(r)) {
            errors.push(`insecureRegistries entry ${JSON.stringify(r)} must be host or host:port`);
        }
    }
    throwIfErrors("renderDockerDaemonConfig", errors);

    const config: Record<string, unknown> = {
        "storage-driver": "overlay2",
        "log-driver": "json-file",
        "log-opts": { "max-size": `${maxSize}m`, "max-file": String(maxFiles) },
        "live-restore": false,
        "shutdown-timeout": shutdownTimeout,
        "default-address-pools": pools.map((p) => ({ base: p.base, size: p.size })),
    };
    if (input.metricsAddress !== undefined) config["metrics-addr"] = input.metricsAddress;
    if (input.insecureRegistries !== undefined && input.insecureRegistries.length > 0) {
        config["insecure-registries"] = [...input.insecureRegistries];
    }
    return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Run by a timer on every manager (aws): the registry credentials a service was deployed with
 * (`--with-registry-auth`) are the deploying manager's ECR token, valid 12 hours; a task scheduled
 * later onto a node without the image could not pull it. The swarm leader re-sends fresh credentials
 * for each service whose image is in a registry. Swarm ignores pull options when it compares running
 * tasks with the spec (docker/swarmkit#2351, Docker 17.06.2), so no task restarts.
 */
export function renderRegistryAuthRefreshScript(): string {
    return [
        "#!/bin/sh",
        "# Re-sends this manager's registry credentials with every service whose image is in a registry.",
        "set -eu",
        `[ "$(docker node inspect self --format '{{.ManagerStatus.Leader}}')" = true ] || exit 0`,
        "docker service ls --format '{{.Name}} {{.Image}}' | while read -r name image; do",
        '  case "$image" in',
        '    *.dkr.ecr.*) docker service update --with-registry-auth --detach=true --quiet "$name" >/dev/null ;;',
        "  esac",
        "done",
        "",
    ].join("\n");
}

/** Input of {@link renderSwarmJoinTokenRotateScript}. */
export interface SwarmJoinTokenRotateScriptInput {
    /** The rotation's generation (stack config `rotation.swarmJoinTokens`), ≥ 1: each one rotates once. */
    readonly generation: number;
    /** How long to wait for the local engine. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
}

/** Name of the swarm config object that records a rotation's generation (cluster-wide, in Raft). */
export function joinTokenRotationMarker(generation: number): string {
    return `swarm-platform-join-tokens-rotated-${generation}`;
}

/**
 * Cluster-wide work, run on a manager: rotates the worker and the manager join token ONCE per
 * generation. Docker (docs.docker.com/reference/cli/docker/swarm/join-token/): "Nodes use the join
 * token only when they join the swarm", and after `--rotate` only the new token is valid for joining
 * with that role — joined nodes are not touched, no task moves. Nodes joining later read the token
 * from a live manager at join time (SwarmCluster), so they get the new one.
 *
 * Exactly once: the generation is recorded as a swarm config object (stored in the managers' Raft
 * log, seen by every manager), checked before rotating. A platform that runs the script on every
 * manager in turn (aws: an association per role), or again for a replaced manager, rotates once.
 * The new tokens are never printed (`-q` to /dev/null; errors redacted): the runner logs both outputs.
 */
export function renderSwarmJoinTokenRotateScript(input: SwarmJoinTokenRotateScriptInput): string {
    const readyTimeout = input.readyTimeoutSeconds ?? 60;
    const errors: string[] = [];
    if (!Number.isInteger(input.generation) || input.generation < 1) {
        errors.push(`generation ${input.generation} must be a whole number ≥ 1 (0 means: never rotated, no script)`);
    }
    checkSeconds(errors, "readyTimeoutSeconds", readyTimeout, 1, 3600);
    throwIfErrors("renderSwarmJoinTokenRotateScript", errors);

    return [
        renderShellPrelude({
            title: `Rotate the swarm's worker and manager join tokens, generation ${input.generation} (run on a manager).`,
            logTag: "swarm-join-token-rotate",
        }),
        `GENERATION=${input.generation}`,
        `MARKER=${shellQuote(joinTokenRotationMarker(input.generation))}`,
        "err_file=$(mktemp)",
        "trap 'rm -f \"$err_file\"' EXIT",
        "",
        `wait_for_docker ${readyTimeout}`,
        "if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
        "  fail 'this engine is not a swarm manager; join tokens rotate on a manager'",
        "fi",
        'if docker config inspect "$MARKER" >/dev/null 2>&1; then',
        '  log "join tokens already rotated for generation $GENERATION; nothing to do"',
        "  exit 0",
        "fi",
        "for role in worker manager; do",
        '  if ! docker swarm join-token --rotate -q "$role" >/dev/null 2>"$err_file"; then',
        "    fail \"docker swarm join-token --rotate $role failed: $(sed 's/SWMTKN-[A-Za-z0-9-]*/<redacted>/g' \"$err_file\" | tr '\\n' ' ')\"",
        "  fi",
        '  log "rotated the $role join token (joined nodes are unaffected; new joins need the new token)"',
        "done",
        "# Recorded only after both rotated: a failure above rotates again on the next run.",
        'printf \'%s\\n\' "$GENERATION" | docker config create --label swarm-platform.rotation=join-tokens "$MARKER" - >/dev/null',
        'log "generation $GENERATION recorded"',
        "",
    ].join("\n");
}
