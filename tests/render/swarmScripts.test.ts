/**
 * render/swarm.ts, the rendered scripts' text (in-process, run per mutant): each script after the
 * shared prelude (render/shell.ts) written out line by line. These are the commands, guards and
 * messages the scripts of swarmRun.live.test.ts run against a fake `docker` (and swarm.live.test.ts
 * puts through shellcheck); here every line is pinned without spawning a shell, so a mutant of the
 * text costs milliseconds.
 */
import {
    renderRegistryAuthRefreshScript,
    renderSwarmInitScript,
    renderSwarmJoinScript,
    renderSwarmLeaveScript,
    renderSwarmNodeDrainScript,
    renderSwarmNodeRemoveScript,
} from "../../render/swarm";
import { scriptBody as body, scriptHeader as header, WORKER_JOIN_INPUT } from "./swarmFakes";

const MANAGER_HEALTHY = `[ "$(docker node inspect --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' self 2>/dev/null)" = 'ready reachable' ]`;
const WORKER_HEALTHY = `[ "$(swarm_field '{{.Swarm.LocalNodeState}}')" = active ]`;

/** check_role, wait_member and join_swarm, shared by the init and join scripts. */
function joinFunctions(control: "true" | "false", healthy: string, seconds: number): string[] {
    return [
        "# check_role: after joining, the engine's role must be the one asked for.",
        "check_role() {",
        `  if [ "$(swarm_field '{{.Swarm.ControlAvailable}}')" != ${control} ]; then`,
        '    fail "this node is in the swarm but not as a $ROLE (wrong token for the role?)"',
        "  fi",
        "}",
        "",
        "# wait_member: a member counts only once the swarm sees it healthy (a rolling replacement takes",
        "# the next member away only after this one is back: at most one missing at a time).",
        "wait_member() {",
        `  wm_deadline=$(($(date +%s) + ${seconds}))`,
        `  until ${healthy}; do`,
        '    if [ "$(date +%s)" -ge "$wm_deadline" ]; then',
        `      fail "joined, but the swarm did not report this $ROLE healthy within ${seconds} s"`,
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
        '      code=$(printf \'{"JoinToken":"%s","RemoteAddrs":["%s"],"ListenAddr":"%s:2377","AdvertiseAddr":"%s","DataPathAddr":"%s"}\' \\',
        '        "$JOIN_TOKEN" "$manager" "$ADVERTISE_ADDR" "$ADVERTISE_ADDR" "$ADVERTISE_ADDR" |',
        '        timeout "$remaining" curl -s -o "$err_file" -w \'%{http_code}\' --unix-socket /var/run/docker.sock \\',
        "          -X POST -H 'Content-Type: application/json' --data-binary @- http://localhost/swarm/join) || code=000",
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

describe("renderSwarmInitScript", () => {
    it("renders the whole script: checks, swarm init with explicit addresses and pool, token checks, one JSON line", () => {
        const text = renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "node-0", avoidSubnets: ["10.213.0.0/24"] });
        expect(header(text)).toEqual(["# Initialise the Docker Swarm on node-0 (idempotent).", "LOG_TAG='swarm-init[node-0]'"]);
        expect(body(text)).toEqual([
            "NODE_NAME=node-0",
            "ROLE=manager",
            "ADVERTISE_ADDR=10.213.0.10",
            "MANAGERS=''",
            "JOIN_TOKEN=",
            'case "$JOIN_TOKEN" in',
            "  *[!A-Za-z0-9-]*) fail 'the join token variable does not hold a Swarm join token' ;;",
            "  '' | SWMTKN-1-*) ;;",
            "  *) fail 'the join token variable does not hold a Swarm join token' ;;",
            "esac",
            "JOIN_TIMEOUT=60",
            "err_file=$(mktemp)",
            "trap 'rm -f \"$err_file\"' EXIT",
            "",
            "wait_for_docker 60",
            "",
            "engine_name=$(swarm_field '{{.Name}}')",
            'if [ "$engine_name" != "$NODE_NAME" ]; then',
            "  fail \"the engine's hostname is '$engine_name', expected '$NODE_NAME' (start the node with --hostname $NODE_NAME)\"",
            "fi",
            "",
            ...joinFunctions("true", MANAGER_HEALTHY, 60),
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
            '      [ "$state" = inactive ] || fail "unexpected swarm state \'$state\' and no manager answers (run docker swarm leave --force and retry)"',
            '      log "initialising the swarm (advertise $ADVERTISE_ADDR)"',
            "      # stdout of `swarm init` holds a join command with the worker token: discard it.",
            "      docker swarm init \\",
            '        --advertise-addr "$ADVERTISE_ADDR" \\',
            '        --listen-addr "$ADVERTISE_ADDR:2377" \\',
            '        --data-path-addr "$ADVERTISE_ADDR" \\',
            "        --default-addr-pool 10.214.0.0/16 \\",
            "        --default-addr-pool-mask-length 24 \\",
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
            "manager_addr=$(swarm_field '{{range .Swarm.RemoteManagers}}{{if eq .NodeID $.Swarm.NodeID}}{{.Addr}}{{end}}{{end}}')",
            '[ -n "$manager_addr" ] || manager_addr="$ADVERTISE_ADDR:2377"',
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
        ]);
    });
});

describe("renderSwarmJoinScript", () => {
    it("renders the whole script: token from the environment, unset, then join one manager at a time", () => {
        const text = renderSwarmJoinScript(WORKER_JOIN_INPUT);
        expect(header(text)).toEqual(["# Join node-0 to the Docker Swarm as a worker (idempotent).", "LOG_TAG='swarm-join[node-0]'"]);
        expect(body(text)).toEqual([
            "NODE_NAME=node-0",
            "ROLE=worker",
            "ADVERTISE_ADDR=10.213.0.20",
            "MANAGERS='10.213.0.10:2377 10.213.0.11:2377'",
            "JOIN_TOKEN=${SWARM_JOIN_TOKEN:-}",
            "unset SWARM_JOIN_TOKEN",
            'case "$JOIN_TOKEN" in',
            "  *[!A-Za-z0-9-]*) fail 'environment variable SWARM_JOIN_TOKEN does not hold a Swarm join token' ;;",
            "  SWMTKN-1-*) ;;",
            "  *) fail 'environment variable SWARM_JOIN_TOKEN does not hold a Swarm join token' ;;",
            "esac",
            "JOIN_TIMEOUT=3",
            "",
            "wait_for_docker 60",
            "",
            "engine_name=$(swarm_field '{{.Name}}')",
            'if [ "$engine_name" != "$NODE_NAME" ]; then',
            "  fail \"the engine's hostname is '$engine_name', expected '$NODE_NAME' (start the node with --hostname $NODE_NAME)\"",
            "fi",
            "",
            "err_file=$(mktemp)",
            "trap 'rm -f \"$err_file\"' EXIT",
            ...joinFunctions("false", WORKER_HEALTHY, 60),
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
        ]);
    });
});

describe("renderSwarmLeaveScript", () => {
    it("renders the whole script: a manager demotes itself (or leaves with --force if last), then leaves", () => {
        const text = renderSwarmLeaveScript({ role: "manager", nodeName: "node-0" });
        expect(header(text)).toEqual([
            "# Take node-0 (manager) out of the Docker Swarm before it is deleted.",
            "LOG_TAG='swarm-leave[node-0]'",
        ]);
        expect(body(text)).toEqual([
            "NODE_NAME=node-0",
            "ROLE=manager",
            "DEMOTE_TIMEOUT=60",
            "",
            "wfd_deadline=$(($(date +%s) + 30))",
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
        ]);
    });
});

describe("renderSwarmNodeRemoveScript", () => {
    it("renders the whole script: waits for the entries to go down, demotes managers, rm --force, 'not found' is fine", () => {
        const text = renderSwarmNodeRemoveScript({ nodeName: "node-1" });
        expect(header(text)).toEqual([
            "# Remove the departed node node-1 from the Docker Swarm (run on a manager).",
            "LOG_TAG='swarm-node-rm[node-1]'",
        ]);
        expect(body(text)).toEqual([
            "NODE_NAME=node-1",
            "DOWN_TIMEOUT=60",
            "",
            "wait_for_docker 60",
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
        ]);
    });
});

describe("renderSwarmNodeDrainScript", () => {
    it("renders the whole script: pause, forced rolling update of replicated services, drain, wait", () => {
        const text = renderSwarmNodeDrainScript({ nodeName: "wrk-1" });
        expect(header(text)).toEqual(["# Drain wrk-1's tasks before it goes (run on a manager).", "LOG_TAG='swarm-drain[wrk-1]'"]);
        expect(body(text)).toEqual([
            "NODE_NAME=wrk-1",
            "DRAIN_TIMEOUT=120",
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
        ]);
    });
});

describe("renderRegistryAuthRefreshScript", () => {
    it("renders the whole script: only the leader re-sends credentials, only for ECR images", () => {
        expect(renderRegistryAuthRefreshScript().split("\n")).toEqual([
            "#!/bin/sh",
            "# Re-sends this manager's registry credentials with every service whose image is in a registry.",
            "set -eu",
            "[ \"$(docker node inspect self --format '{{.ManagerStatus.Leader}}')\" = true ] || exit 0",
            "docker service ls --format '{{.Name}} {{.Image}}' | while read -r name image; do",
            '  case "$image" in',
            '    *.dkr.ecr.*) docker service update --with-registry-auth --detach=true --quiet "$name" >/dev/null ;;',
            "  esac",
            "done",
            "",
        ]);
    });
});

describe("the lines each input sets", () => {
    it("init with joinExisting: the managers, the token copied out of the environment and unset, the pools and every bound", () => {
        const lines = body(
            renderSwarmInitScript({
                advertiseAddr: "10.213.0.10",
                nodeName: "node-0",
                defaultAddrPool: { cidrs: ["10.214.0.0/16", "10.216.0.0/16"], maskLength: 26 },
                joinExisting: { managerAddrs: ["10.213.0.11", "10.213.0.12:2378"], tokenEnv: "SWARM_JOIN_TOKEN" },
                readyTimeoutSeconds: 30,
                joinTimeoutSeconds: 40,
                healthTimeoutSeconds: 50,
            }),
        );
        expect(lines.slice(0, 12)).toEqual([
            "NODE_NAME=node-0",
            "ROLE=manager",
            "ADVERTISE_ADDR=10.213.0.10",
            "MANAGERS='10.213.0.11:2377 10.213.0.12:2378'",
            "JOIN_TOKEN=${SWARM_JOIN_TOKEN:-}",
            "unset SWARM_JOIN_TOKEN",
            'case "$JOIN_TOKEN" in',
            "  *[!A-Za-z0-9-]*) fail 'the join token variable does not hold a Swarm join token' ;;",
            "  '' | SWMTKN-1-*) ;;",
            "  *) fail 'the join token variable does not hold a Swarm join token' ;;",
            "esac",
            "JOIN_TIMEOUT=40",
        ]);
        expect(lines).toContain("wait_for_docker 30");
        const functions = joinFunctions("true", MANAGER_HEALTHY, 50);
        expect(lines.slice(lines.indexOf(functions[0]), lines.indexOf(functions[0]) + functions.length)).toEqual(functions);
        const init = lines.indexOf("      docker swarm init \\");
        expect(lines.slice(init + 4, init + 8)).toEqual([
            "        --default-addr-pool 10.214.0.0/16 \\",
            "        --default-addr-pool 10.216.0.0/16 \\",
            "        --default-addr-pool-mask-length 26 \\",
            "        --autolock=false >/dev/null",
        ]);
    });

    it("init with a pool that gives no mask length: /24", () => {
        const lines = body(
            renderSwarmInitScript({ advertiseAddr: "10.213.0.10", nodeName: "node-0", defaultAddrPool: { cidrs: ["10.216.0.0/16"] } }),
        );
        const init = lines.indexOf("      docker swarm init \\");
        expect(lines.slice(init + 4, init + 6)).toEqual([
            "        --default-addr-pool 10.216.0.0/16 \\",
            "        --default-addr-pool-mask-length 24 \\",
        ]);
    });

    it("join as a manager: the role, its control check and the manager health check, and every bound", () => {
        const lines = body(
            renderSwarmJoinScript({
                role: "manager",
                nodeName: "mgr-1",
                advertiseAddr: "10.213.0.11",
                managerAddrs: ["10.213.0.10"],
                tokenEnv: "T",
                readyTimeoutSeconds: 20,
                healthTimeoutSeconds: 25,
            }),
        );
        expect(lines.slice(0, 13)).toEqual([
            "NODE_NAME=mgr-1",
            "ROLE=manager",
            "ADVERTISE_ADDR=10.213.0.11",
            "MANAGERS=10.213.0.10:2377",
            "JOIN_TOKEN=${T:-}",
            "unset T",
            'case "$JOIN_TOKEN" in',
            "  *[!A-Za-z0-9-]*) fail 'environment variable T does not hold a Swarm join token' ;;",
            "  SWMTKN-1-*) ;;",
            "  *) fail 'environment variable T does not hold a Swarm join token' ;;",
            "esac",
            "JOIN_TIMEOUT=60",
            "",
        ]);
        expect(lines).toContain("wait_for_docker 20");
        const functions = joinFunctions("true", MANAGER_HEALTHY, 25);
        expect(lines.slice(lines.indexOf(functions[0]), lines.indexOf(functions[0]) + functions.length)).toEqual(functions);
    });

    it("leave as a worker with its own bounds", () => {
        const text = renderSwarmLeaveScript({ role: "worker", nodeName: "wrk-0", readyTimeoutSeconds: 12, demoteTimeoutSeconds: 34 });
        expect(header(text)).toEqual([
            "# Take wrk-0 (worker) out of the Docker Swarm before it is deleted.",
            "LOG_TAG='swarm-leave[wrk-0]'",
        ]);
        expect(body(text).slice(0, 5)).toEqual([
            "NODE_NAME=wrk-0",
            "ROLE=worker",
            "DEMOTE_TIMEOUT=34",
            "",
            "wfd_deadline=$(($(date +%s) + 12))",
        ]);
    });

    it("node remove and drain with their own bounds", () => {
        expect(
            body(renderSwarmNodeRemoveScript({ nodeName: "node-1", readyTimeoutSeconds: 7, downTimeoutSeconds: 0 })).slice(0, 4),
        ).toEqual(["NODE_NAME=node-1", "DOWN_TIMEOUT=0", "", "wait_for_docker 7"]);
        expect(body(renderSwarmNodeDrainScript({ nodeName: "wrk-1", drainTimeoutSeconds: 9 })).slice(0, 2)).toEqual([
            "NODE_NAME=wrk-1",
            "DRAIN_TIMEOUT=9",
        ]);
    });
});
