/**
 * render/webService.ts, the rendered scripts' text (in-process, run per mutant): each script after
 * the shared prelude (render/shell.ts) written out line by line — the exact `docker` commands and
 * flags, the create/update decision, the list reconciliation and the secret handling that
 * webServiceRun.live.test.ts runs against a fake `docker`. No shell is spawned, so a mutant of the
 * text costs milliseconds.
 */
import { renderServiceDeployScript, renderServiceRemoveScript, WebServiceSpec } from "../../render/webService";
import { SPEC, VALUES } from "./serviceFakes";
import { scriptBody as body, scriptHeader as header } from "./swarmFakes";

/** The flags SPEC gives both `docker service create` and `docker service update`. */
const SPEC_COMMON_FLAGS = [
    "    --limit-cpu 0.5 \\",
    "    --limit-memory 128MiB \\",
    "    --reserve-cpu 0.25 \\",
    "    --reserve-memory 64MiB \\",
    "    --health-cmd 'wget -qO- http://127.0.0.1:$PORT/health || exit 1' \\",
    "    --health-interval 2s \\",
    "    --health-timeout 1s \\",
    "    --health-retries 3 \\",
    "    --health-start-period 5s \\",
    "    --update-parallelism 1 \\",
    "    --update-delay 5s \\",
    "    --update-order start-first \\",
    "    --update-failure-action rollback \\",
    "    --update-monitor 10s \\",
    "    --update-max-failure-ratio 0 \\",
    "    --rollback-parallelism 1 \\",
    "    --rollback-delay 0s \\",
    "    --rollback-order start-first \\",
    "    --rollback-failure-action pause \\",
    "    --rollback-monitor 10s \\",
    "    --rollback-max-failure-ratio 0 \\",
    "    --restart-condition any \\",
    "    --restart-delay 5s \\",
    "    --stop-grace-period 20s \\",
    "    --stop-signal SIGTERM \\",
    "    --init \\",
    "    --no-resolve-image \\",
];

describe("renderServiceDeployScript", () => {
    it("renders the whole script for SPEC: secrets from the text, update (reconciling every list) or create, then wait and prune", () => {
        const text = renderServiceDeployScript(SPEC, VALUES);
        expect(header(text)).toEqual([
            "# Create or update the Swarm service web (idempotent; rolling update).",
            "LOG_TAG='service-deploy[web]'",
        ]);
        expect(body(text)).toEqual([
            "SERVICE=web",
            "IMAGE=swarm-platform/web:1.2.3",
            "CONVERGE_TIMEOUT=348",
            "",
            "wait_for_docker 60",
            "if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
            "  fail 'this engine is not a swarm manager'",
            "fi",
            "",
            "# ensure_secret NAME LOGICAL-NAME VALUE: create the (immutable) secret once.",
            "ensure_secret() {",
            '  if docker secret inspect "$1" >/dev/null 2>&1; then',
            "    return 0",
            "  fi",
            '  log "creating secret $1"',
            "  # printf is a shell builtin: the value never reaches an argument list.",
            '  if ! printf \'%s\' "$3" | docker secret create --label "swarm-platform.service=$SERVICE" --label "swarm-platform.secret=$2" "$1" - >/dev/null; then',
            '    docker secret inspect "$1" >/dev/null 2>&1 || fail "could not create secret $1"',
            "  fi",
            "}",
            "",
            "SECRET_VALUE_0='c0nsul-t0ken-'\\''\"$HOME`id`\\ end'",
            'ensure_secret consul-web-token-v2 consul-web-token "$SECRET_VALUE_0"',
            "unset SECRET_VALUE_0",
            "",
            "# converge COMMAND...: run a --detach=false create/update, bounded; its progress goes to stderr.",
            "converge() {",
            '  if timeout "$CONVERGE_TIMEOUT" "$@" >&2; then',
            "    return 0",
            "  else",
            "    cv_status=$?",
            "  fi",
            '  if [ "$cv_status" -eq 124 ]; then',
            '    fail "service $SERVICE did not converge within $CONVERGE_TIMEOUT s"',
            "  fi",
            '  fail "service $SERVICE did not converge (docker exited with $cv_status; rolled back or failed)"',
            "}",
            "",
            "converge_deadline=$(($(date +%s) + CONVERGE_TIMEOUT))",
            "set --",
            'if docker service inspect "$SERVICE" >/dev/null 2>&1; then',
            "  want_env() {",
            '    case "$1" in',
            "      'TASK_NAME' | 'CONSUL_HTTP_ADDR' | 'GREETING' | 'PORT_RANGE') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  want_label() {",
            '    case "$1" in',
            "      'note' | 'swarm-platform.component') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  want_constraint() {",
            '    case "$1" in',
            "      'node.role==worker') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  want_secret() {",
            '    case "$1" in',
            "      'consul-web-token-v2') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  current_env=$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' \"$SERVICE\")",
            "  while IFS= read -r item; do",
            "    key=${item%%=*}",
            '    [ -z "$item" ] || want_env "$key" || set -- "$@" --env-rm "$key"',
            "  done <<EOF",
            "$current_env",
            "EOF",
            "  current_labels=$(docker service inspect --format '{{range $k, $v := .Spec.Labels}}{{println $k}}{{end}}' \"$SERVICE\")",
            "  while IFS= read -r item; do",
            '    [ -z "$item" ] || want_label "$item" || set -- "$@" --label-rm "$item"',
            "  done <<EOF",
            "$current_labels",
            "EOF",
            "  current_constraints=$(docker service inspect --format '{{with .Spec.TaskTemplate.Placement}}{{range .Constraints}}{{println .}}{{end}}{{end}}' \"$SERVICE\")",
            "  while IFS= read -r item; do",
            '    [ -z "$item" ] || want_constraint "$item" || set -- "$@" --constraint-rm "$item"',
            "  done <<EOF",
            "$current_constraints",
            "EOF",
            "  current_secrets=$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{println .SecretName}}{{end}}' \"$SERVICE\")",
            "  while IFS= read -r item; do",
            '    [ -z "$item" ] || want_secret "$item" || set -- "$@" --secret-rm "$item"',
            "  done <<EOF",
            "$current_secrets",
            "EOF",
            '  printf \'%s\\n\' "$current_env" | grep -qxF -- CONSUL_HTTP_ADDR=127.0.0.1:8500 || set -- "$@" --env-add CONSUL_HTTP_ADDR=127.0.0.1:8500',
            "  printf '%s\\n' \"$current_env\" | grep -qxF -- 'GREETING=it'\\''s \"quoted\" $HOME `id` $(id) \\ * ~ {{.Node.ID}}' || set -- \"$@\" --env-add 'GREETING=it'\\''s \"quoted\" $HOME `id` $(id) \\ * ~ {{.Node.ID}}'",
            '  printf \'%s\\n\' "$current_env" | grep -qxF -- PORT_RANGE=8000-8099 || set -- "$@" --env-add PORT_RANGE=8000-8099',
            "  printf '%s\\n' \"$current_env\" | grep -qxF -- 'TASK_NAME={{.Task.Name}}' || set -- \"$@\" --env-add 'TASK_NAME={{.Task.Name}}'",
            '  printf \'%s\\n\' "$current_constraints" | grep -qxF -- node.role==worker || set -- "$@" --constraint-add node.role==worker',
            '  printf \'%s\\n\' "$current_secrets" | grep -qxF -- consul-web-token-v2 || set -- "$@" --secret-add source=consul-web-token-v2,target=consul-token,uid=0,gid=0,mode=0444',
            '  set -- "$@" \\',
            "    --image swarm-platform/web:1.2.3 \\",
            "    --replicas 3 \\",
            ...SPEC_COMMON_FLAGS,
            "    --label-add 'note=a b' \\",
            "    --label-add swarm-platform.component=web",
            '  log "updating service $SERVICE: image $IMAGE, 3 replicas"',
            '  converge docker service update --detach=false "$@" "$SERVICE"',
            "else",
            '  set -- "$@" \\',
            "    --name web \\",
            "    --mode replicated \\",
            "    --replicas 3 \\",
            "    --network host \\",
            "    --endpoint-mode dnsrr \\",
            ...SPEC_COMMON_FLAGS,
            "    --env CONSUL_HTTP_ADDR=127.0.0.1:8500 \\",
            "    --env 'GREETING=it'\\''s \"quoted\" $HOME `id` $(id) \\ * ~ {{.Node.ID}}' \\",
            "    --env PORT_RANGE=8000-8099 \\",
            "    --env 'TASK_NAME={{.Task.Name}}' \\",
            "    --label 'note=a b' \\",
            "    --label swarm-platform.component=web \\",
            "    --constraint node.role==worker \\",
            "    --secret source=consul-web-token-v2,target=consul-token,uid=0,gid=0,mode=0444",
            '  log "creating service $SERVICE: image $IMAGE, 3 replicas"',
            '  converge docker service create --detach=false "$@" "$IMAGE"',
            "fi",
            "",
            "# The CLI may report convergence while Swarm still monitors the last batch:",
            "# wait for the update to finish, and fail if it was rolled back or paused.",
            "while :; do",
            "  update_state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' \"$SERVICE\")",
            '  case "$update_state" in',
            "    updating | rollback_started) ;;",
            "    rollback_* | paused) fail \"the update of $SERVICE ended in state '$update_state'\" ;;",
            "    *) break ;;",
            "  esac",
            '  if [ "$(date +%s)" -ge "$converge_deadline" ]; then',
            "    fail \"the update of $SERVICE is still '$update_state' after $CONVERGE_TIMEOUT s\"",
            "  fi",
            "  sleep 1",
            "done",
            "",
            "# Older versions of our secrets: delete those no task uses any more.",
            "keep_secret() {",
            '  case "$1" in',
            "    'consul-web-token-v2') return 0 ;;",
            "  esac",
            "  return 1",
            "}",
            'for id in $(docker secret ls -q --filter "label=swarm-platform.service=$SERVICE"); do',
            "  name=$(docker secret inspect --format '{{.Spec.Name}}' \"$id\")",
            '  keep_secret "$name" && continue',
            '  if docker secret rm "$id" >/dev/null 2>&1; then log "deleted old secret $name"; fi',
            "done",
            'log "service $SERVICE is converged"',
            "",
        ]);
    });
});

describe("renderServiceRemoveScript", () => {
    it("renders the whole script: scale to 0 (bounded), rm, then delete the service's secrets, retrying while in use", () => {
        const text = renderServiceRemoveScript("web");
        expect(header(text)).toEqual(["# Remove the Swarm service web and its secrets (idempotent).", "LOG_TAG='service-remove[web]'"]);
        expect(body(text)).toEqual([
            "SERVICE=web",
            "DRAIN_TIMEOUT=120",
            "",
            "wait_for_docker 60",
            "if [ \"$(swarm_field '{{.Swarm.ControlAvailable}}')\" != true ]; then",
            "  fail 'this engine is not a swarm manager'",
            "fi",
            "",
            'if docker service inspect "$SERVICE" >/dev/null 2>&1; then',
            '  log "scaling $SERVICE to 0 (graceful stop, at most $DRAIN_TIMEOUT s)"',
            '  timeout "$DRAIN_TIMEOUT" docker service scale --detach=false "$SERVICE=0" >&2 ||',
            "    log 'warning: tasks did not all stop in time; removing anyway'",
            '  docker service rm "$SERVICE" >/dev/null',
            '  log "removed service $SERVICE"',
            "else",
            '  log "service $SERVICE does not exist"',
            "fi",
            "",
            "deadline=$(($(date +%s) + 60))",
            "while :; do",
            '  ids=$(docker secret ls -q --filter "label=swarm-platform.service=$SERVICE")',
            '  [ -n "$ids" ] || break',
            "  in_use=",
            "  for id in $ids; do",
            '    docker secret rm "$id" >/dev/null 2>&1 || in_use="$in_use $id"',
            "  done",
            '  [ -n "$in_use" ] || break',
            '  if [ "$(date +%s)" -ge "$deadline" ]; then',
            '    fail "secrets of $SERVICE are still in use after 60 s:$in_use"',
            "  fi",
            "  sleep 1",
            "done",
            "log 'done'",
            "",
        ]);
    });
});

describe("renderServiceDeployScript: the lines each input sets", () => {
    const spec: WebServiceSpec = {
        ...SPEC,
        env: undefined,
        labels: undefined,
        placementConstraints: ["node.labels.zone!=it's"],
        secrets: [
            { name: "b-token", version: 1, target: "b", uid: "100", gid: "101", mode: 0o400 },
            { name: "a-token", version: 7, target: "a" },
        ],
        cpuLimit: 1.23456,
        cpuReservation: undefined,
        memoryReservationMiB: undefined,
        stopSignal: undefined,
        init: false,
        resolveImage: undefined,
        registryAuth: true,
        healthcheck: { ...SPEC.healthcheck, cmd: ["node", "/app/health check.js"] },
        convergeTimeoutSeconds: 90,
        readyTimeoutSeconds: 15,
    };
    // Rendered per test (not while jest collects the tests), so that a mutant counts as covered by
    // these tests only and not by every test of the file.
    let lines: string[];
    beforeEach(() => {
        lines = body(renderServiceDeployScript(spec, { "a-token": "x", "b-token": "y" }));
    });

    it("takes the bounds as given", () => {
        expect(lines.slice(0, 5)).toEqual([
            "SERVICE=web",
            "IMAGE=swarm-platform/web:1.2.3",
            "CONVERGE_TIMEOUT=90",
            "",
            "wait_for_docker 15",
        ]);
    });

    it("creates each secret in name order, its value in a variable that is unset right after", () => {
        const at = lines.indexOf("SECRET_VALUE_0=x");
        expect(lines.slice(at, at + 7)).toEqual([
            "SECRET_VALUE_0=x",
            'ensure_secret a-token-v7 a-token "$SECRET_VALUE_0"',
            "unset SECRET_VALUE_0",
            "SECRET_VALUE_1=y",
            'ensure_secret b-token-v1 b-token "$SECRET_VALUE_1"',
            "unset SECRET_VALUE_1",
            "",
        ]);
    });

    it("keeps only TASK_NAME and the declared lists, quoting a value with a quote", () => {
        const at = lines.indexOf("  want_env() {");
        expect(lines.slice(at, at + 20)).toEqual([
            "  want_env() {",
            '    case "$1" in',
            "      'TASK_NAME') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  want_label() { return 1; }",
            "  want_constraint() {",
            '    case "$1" in',
            "      'node.labels.zone!=it'\\''s') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  want_secret() {",
            '    case "$1" in',
            "      'a-token-v7' | 'b-token-v1') return 0 ;;",
            "    esac",
            "    return 1",
            "  }",
            "  current_env=$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' \"$SERVICE\")",
        ]);
        const adds = lines.filter((l) => l.startsWith("  printf '%s\\n'"));
        expect(adds).toEqual([
            "  printf '%s\\n' \"$current_env\" | grep -qxF -- 'TASK_NAME={{.Task.Name}}' || set -- \"$@\" --env-add 'TASK_NAME={{.Task.Name}}'",
            "  printf '%s\\n' \"$current_constraints\" | grep -qxF -- 'node.labels.zone!=it'\\''s' || set -- \"$@\" --constraint-add 'node.labels.zone!=it'\\''s'",
            '  printf \'%s\\n\' "$current_secrets" | grep -qxF -- a-token-v7 || set -- "$@" --secret-add source=a-token-v7,target=a,uid=0,gid=0,mode=0444',
            '  printf \'%s\\n\' "$current_secrets" | grep -qxF -- b-token-v1 || set -- "$@" --secret-add source=b-token-v1,target=b,uid=100,gid=101,mode=0400',
        ]);
        const keep = lines.indexOf("keep_secret() {");
        expect(lines.slice(keep, keep + 3)).toEqual(["keep_secret() {", '  case "$1" in', "    'a-token-v7' | 'b-token-v1') return 0 ;;"]);
    });

    it("renders defaults and options into the flags: no reservation, SIGTERM, no --init, registry auth, an argv health check", () => {
        const create = lines.slice(lines.indexOf("else") + 1, lines.indexOf("fi", lines.indexOf("else")));
        expect(create.slice(6, 10)).toEqual([
            "    --limit-cpu 1.235 \\",
            "    --limit-memory 128MiB \\",
            "    --reserve-cpu 0 \\",
            "    --reserve-memory 0MiB \\",
        ]);
        expect(create).toContain("    --health-cmd 'node '\\''/app/health check.js'\\''' \\");
        expect(create.slice(27, 36)).toEqual([
            "    --restart-condition any \\",
            "    --restart-delay 5s \\",
            "    --stop-grace-period 20s \\",
            "    --stop-signal SIGTERM \\",
            "    --with-registry-auth \\",
            "    --env 'TASK_NAME={{.Task.Name}}' \\",
            "    --constraint 'node.labels.zone!=it'\\''s' \\",
            "    --secret source=a-token-v7,target=a,uid=0,gid=0,mode=0444 \\",
            "    --secret source=b-token-v1,target=b,uid=100,gid=101,mode=0400",
        ]);
        const update = lines.slice(lines.indexOf('  set -- "$@" \\'), lines.indexOf("else"));
        expect(update.slice(-4)).toEqual([
            "    --stop-signal SIGTERM \\",
            "    --with-registry-auth",
            '  log "updating service $SERVICE: image $IMAGE, 3 replicas"',
            '  converge docker service update --detach=false "$@" "$SERVICE"',
        ]);
    });

    it("no secrets and no constraints given at all: none kept, none wanted", () => {
        const none = body(renderServiceDeployScript({ ...SPEC, secrets: undefined, placementConstraints: undefined }));
        expect(none).toContain("keep_secret() { return 1; }");
        expect(none).toContain("  want_constraint() { return 1; }");
        expect(none.filter((l) => l.includes("--constraint ") || l.includes("--secret "))).toEqual([]);
    });

    it("no secrets: nothing kept, nothing created", () => {
        const none = body(renderServiceDeployScript({ ...SPEC, secrets: [] }));
        expect(none).toContain("keep_secret() { return 1; }");
        expect(none).toContain("  want_secret() { return 1; }");
        expect(none.filter((l) => l.includes("SECRET_VALUE") || l.includes("--secret ") || l.includes("--secret-add"))).toEqual([]);
    });
});

describe("renderServiceRemoveScript: the lines each option sets", () => {
    it("takes the bounds as given", () => {
        const text = renderServiceRemoveScript("api", { drainTimeoutSeconds: 30, readyTimeoutSeconds: 5 });
        expect(header(text)).toEqual(["# Remove the Swarm service api and its secrets (idempotent).", "LOG_TAG='service-remove[api]'"]);
        expect(body(text).slice(0, 4)).toEqual(["SERVICE=api", "DRAIN_TIMEOUT=30", "", "wait_for_docker 5"]);
    });
});
