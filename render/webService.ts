/**
 * Pure renderers for the web service's Swarm deployment: a script that
 * creates or updates the service (rolling update under the declared policy)
 * and one that removes it. Both run on a manager as
 * `docker exec -i MANAGER sh -s` with the script on stdin (it carries the
 * Consul token, so the program marks it secret).
 *
 * Networking: tasks use the HOST network (the dev kernel has no IPVS, so no
 * routing mesh and no VIP); each task binds a free port of its node and
 * registers itself in Consul. Hence no `--publish` and `--endpoint-mode dnsrr`.
 *
 * Secret rotation: Swarm secrets are immutable. A secret is stored as
 * `<name>-v<version>` and mounted at `/run/secrets/<target>`; to rotate, change
 * the value AND bump `version` — the update swaps the secret in a rolling
 * update and afterwards deletes older versions no task uses.
 */
import { renderShellPrelude, shellQuote } from "./shell";

/** Health check run inside each task. */
export interface HealthcheckSpec {
    /**
     * Exit 0 = healthy. A string is a shell command; an array is one argv,
     * quoted into a shell command (`docker service` only has the CMD-SHELL
     * form, so the image needs `/bin/sh` either way).
     */
    readonly cmd: string | readonly string[];
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly retries: number;
    /** Failures during this initial period do not count. */
    readonly startPeriodSeconds: number;
}

/**
 * How Swarm replaces tasks on an update (or a rollback). Every field is given: the policy is the
 * caller's (components/contracts/webService.ts holds the web service's), never a default here.
 */
export interface RolloutPolicy {
    /** Tasks replaced at once. */
    readonly parallelism: number;
    /** Pause between batches, seconds. */
    readonly delaySeconds: number;
    /** `start-first` starts the new task before stopping the old one (zero downtime). */
    readonly order: "start-first" | "stop-first";
    /** What to do if a new task fails. */
    readonly failureAction: "pause" | "continue" | "rollback";
    /** How long each new task is watched for failure, seconds. */
    readonly monitorSeconds: number;
    /** Fraction (0–1) of tasks allowed to fail. */
    readonly maxFailureRatio: number;
}

/**
 * A Swarm secret given to the tasks (e.g. the Consul registration token).
 * The value is not part of the spec (which is plain, exportable config): it is
 * passed to {@link renderServiceDeployScript} separately.
 */
export interface ServiceSecretSpec {
    /** Logical name, e.g. `consul-web-token`; the Swarm secret is `<name>-v<version>`. */
    readonly name: string;
    /** Bump it (with a new value) to rotate: Swarm secrets are immutable. */
    readonly version: number;
    /** File name under /run/secrets in the task. */
    readonly target: string;
    /** Owner uid of the file in the task. Defaults to "0". */
    readonly uid?: string;
    /** Owner gid of the file in the task. Defaults to "0". */
    readonly gid?: string;
    /** File mode (octal). Defaults to 0o444. */
    readonly mode?: number;
}

/** Desired state of the web service. */
export interface WebServiceSpec {
    /** Swarm service name. */
    readonly name: string;
    /** Image reference, e.g. `swarm-platform/web:1.4.2`. */
    readonly image: string;
    /** Number of tasks (0 allowed). */
    readonly replicas: number;
    /** Environment variables (non-secret). `TASK_NAME` is reserved: always set to the Swarm task name. */
    readonly env?: Readonly<Record<string, string>>;
    /** CPU limit in cores, e.g. 0.5. */
    readonly cpuLimit: number;
    /** Memory limit in MiB. */
    readonly memoryLimitMiB: number;
    /** CPU reservation in cores. Defaults to none. */
    readonly cpuReservation?: number;
    /** Memory reservation in MiB. Defaults to none. */
    readonly memoryReservationMiB?: number;
    readonly healthcheck: HealthcheckSpec;
    readonly updatePolicy: RolloutPolicy;
    readonly rollbackPolicy: RolloutPolicy;
    /** Time between the stop signal and SIGKILL, seconds. */
    readonly stopGracePeriodSeconds: number;
    /** Defaults to "SIGTERM". */
    readonly stopSignal?: string;
    /** Only host networking is supported (see the module comment). Set at creation only. */
    readonly network: "host";
    /** Placement constraints, e.g. `["node.role==worker"]`. Defaults to none. */
    readonly placementConstraints?: readonly string[];
    /** Swarm secrets. Defaults to none. */
    readonly secrets?: readonly ServiceSecretSpec[];
    /** Service labels. Defaults to none. */
    readonly labels?: Readonly<Record<string, string>>;
    /** Run an init process as PID 1 in each task. Defaults to true. */
    readonly init?: boolean;
    /**
     * Ask the registry for the image digest (pins one digest on every node).
     * Defaults to true; set false when images are loaded into the nodes
     * without a registry (the local stack).
     */
    readonly resolveImage?: boolean;
    /**
     * Send the deploying manager's registry credentials with the service (`--with-registry-auth`), so
     * every node's daemon can pull a private image: a credential helper serves the docker CLI on the
     * manager, never another node's daemon. Defaults to false (the local stack loads images instead).
     */
    readonly registryAuth?: boolean;
    /**
     * Bound on `docker service create/update --detach=false`. Defaults to
     * 60 s + batches × (delay + monitor + start period + interval × (retries + 1)
     * + stop grace period), batches = ceil(replicas / parallelism).
     */
    readonly convergeTimeoutSeconds?: number;
    /** How long to wait for the local engine / manager role. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
}

/** Label put on every secret the deploy script creates (value: service name). */
export const SERVICE_LABEL = "swarm-platform.service";
/** Label put on every secret the deploy script creates (value: logical secret name). */
export const SECRET_LABEL = "swarm-platform.secret";

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,54}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;
const SIGNAL = /^(SIG)?[A-Z][A-Z0-9+-]*$|^\d+$/;

/**
 * The bounds this renderer holds a task's spec to, exported so the component contracts (and through
 * them the stack config) refuse a value before any resource exists instead of here, inside an
 * `apply`, after the swarm was built. `cores()` writes CPUs in thousandths, so a limit is a multiple
 * of 0.001 ≥ 0.001; 4 TiB of memory and 1000 tasks are past anything this platform runs; an hour is
 * past any stop grace a rolling update should wait through.
 */
export const TASK_BOUNDS = {
    cpus: { min: 0.001, max: 1024, decimals: 3 },
    memoryMiB: { min: 6, max: 4194304 },
    replicas: { min: 0, max: 1000 },
    stopGraceSeconds: { min: 0, max: 3600 },
} as const;

function isInt(n: number, min: number, max: number): boolean {
    return Number.isInteger(n) && n >= min && n <= max;
}

/** Decimal text for a number of cores (no exponent notation). */
function cores(n: number): string {
    const scale = 10 ** TASK_BOUNDS.cpus.decimals;
    return String(Math.round(n * scale) / scale);
}

function validatePolicy(errors: string[], field: string, p: RolloutPolicy): void {
    if (!isInt(p.parallelism, 1, 1000)) errors.push(`${field}.parallelism ${p.parallelism} must be an integer from 1 to 1000`);
    if (!isInt(p.delaySeconds, 0, 3600)) errors.push(`${field}.delaySeconds ${p.delaySeconds} must be an integer from 0 to 3600`);
    if (!isInt(p.monitorSeconds, 0, 3600)) errors.push(`${field}.monitorSeconds ${p.monitorSeconds} must be an integer from 0 to 3600`);
    if (!(p.maxFailureRatio >= 0 && p.maxFailureRatio <= 1))
        errors.push(`${field}.maxFailureRatio ${p.maxFailureRatio} must be from 0 to 1`);
    if (p.order !== "start-first" && p.order !== "stop-first")
        errors.push(`${field}.order ${JSON.stringify(p.order)} must be "start-first" or "stop-first"`);
    if (!["pause", "continue", "rollback"].includes(p.failureAction)) {
        errors.push(`${field}.failureAction ${JSON.stringify(p.failureAction)} must be "pause", "continue" or "rollback"`);
    }
}

/** The env entry every task gets: Swarm expands the template per task. */
const TASK_NAME_ENV = "TASK_NAME={{.Task.Name}}";

/** Byte-wise order of the UTF-8 text, as Go's sort.Strings orders it. */
function byteOrder(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sortedEntries(record: Readonly<Record<string, string>> | undefined): Array<[string, string]> {
    return Object.entries(record ?? {}).sort(([a], [b]) => byteOrder(a, b));
}

/** Validates the spec; collects every problem and throws once. Never echoes secret values. */
function validateSpec(spec: WebServiceSpec, secretValues: Readonly<Record<string, string>>): void {
    const errors: string[] = [];
    if (!SERVICE_NAME.test(spec.name)) errors.push(`name ${JSON.stringify(spec.name)} must match ${SERVICE_NAME}`);
    if (!/^[^\s]+$/.test(spec.image)) errors.push(`image ${JSON.stringify(spec.image)} must be a non-empty reference without whitespace`);
    const { cpus, memoryMiB, replicas } = TASK_BOUNDS;
    if (!isInt(spec.replicas, replicas.min, replicas.max))
        errors.push(`replicas ${spec.replicas} must be an integer from ${replicas.min} to ${replicas.max}`);
    for (const [k, v] of sortedEntries(spec.env)) {
        if (!ENV_KEY.test(k)) errors.push(`env key ${JSON.stringify(k)} must match ${ENV_KEY}`);
        if (k === "TASK_NAME") errors.push("env key TASK_NAME is reserved (always the Swarm task name)");
        // One variable per line in `docker service inspect` output: no newlines.
        if (/[\0\n\r]/.test(v)) errors.push(`env ${k} must not contain NUL or newline characters`);
    }
    if (!(spec.cpuLimit >= cpus.min && spec.cpuLimit <= cpus.max))
        errors.push(`cpuLimit ${spec.cpuLimit} must be from ${cpus.min} to ${cpus.max} cores`);
    if (!isInt(spec.memoryLimitMiB, memoryMiB.min, memoryMiB.max))
        errors.push(`memoryLimitMiB ${spec.memoryLimitMiB} must be an integer from ${memoryMiB.min} to ${memoryMiB.max}`);
    if (spec.cpuReservation !== undefined && !(spec.cpuReservation >= cpus.min && spec.cpuReservation <= spec.cpuLimit)) {
        errors.push(`cpuReservation ${spec.cpuReservation} must be from ${cpus.min} to cpuLimit (${spec.cpuLimit})`);
    }
    if (spec.memoryReservationMiB !== undefined && !isInt(spec.memoryReservationMiB, 1, spec.memoryLimitMiB)) {
        errors.push(
            `memoryReservationMiB ${spec.memoryReservationMiB} must be an integer from 1 to memoryLimitMiB (${spec.memoryLimitMiB})`,
        );
    }
    const hc = spec.healthcheck;
    const hcParts = typeof hc.cmd === "string" ? [hc.cmd] : hc.cmd;
    if (hcParts.length === 0 || hcParts[0].trim() === "" || hcParts.some((p) => /[\0\n\r]/.test(p))) {
        errors.push("healthcheck.cmd must be a non-empty single-line command");
    }
    if (!isInt(hc.intervalSeconds, 1, 3600))
        errors.push(`healthcheck.intervalSeconds ${hc.intervalSeconds} must be an integer from 1 to 3600`);
    if (!isInt(hc.timeoutSeconds, 1, 3600))
        errors.push(`healthcheck.timeoutSeconds ${hc.timeoutSeconds} must be an integer from 1 to 3600`);
    if (!isInt(hc.retries, 1, 100)) errors.push(`healthcheck.retries ${hc.retries} must be an integer from 1 to 100`);
    if (!isInt(hc.startPeriodSeconds, 0, 3600))
        errors.push(`healthcheck.startPeriodSeconds ${hc.startPeriodSeconds} must be an integer from 0 to 3600`);
    validatePolicy(errors, "updatePolicy", spec.updatePolicy);
    validatePolicy(errors, "rollbackPolicy", spec.rollbackPolicy);
    if (spec.rollbackPolicy.failureAction === "rollback") errors.push('rollbackPolicy.failureAction cannot be "rollback"');
    const grace = spec.stopGracePeriodSeconds;
    const graceBounds = TASK_BOUNDS.stopGraceSeconds;
    if (!isInt(grace, graceBounds.min, graceBounds.max))
        errors.push(`stopGracePeriodSeconds ${grace} must be an integer from ${graceBounds.min} to ${graceBounds.max}`);
    const signal = spec.stopSignal ?? "SIGTERM";
    if (!SIGNAL.test(signal)) errors.push(`stopSignal ${JSON.stringify(signal)} must be a signal name like SIGTERM`);
    if (spec.network !== "host") errors.push(`network ${JSON.stringify(spec.network)} must be "host"`);
    for (const c of spec.placementConstraints ?? []) {
        if (!/^[^\0\n\r]+$/.test(c) || !/(==|!=)/.test(c))
            errors.push(`placement constraint ${JSON.stringify(c)} must be one line with == or !=`);
    }
    const seenSecrets = new Set<string>();
    const seenTargets = new Set<string>();
    for (const s of spec.secrets ?? []) {
        if (!SECRET_NAME.test(s.name)) errors.push(`secret name ${JSON.stringify(s.name)} must match ${SECRET_NAME}`);
        if (!isInt(s.version, 1, 1_000_000)) errors.push(`secret ${s.name}: version ${s.version} must be an integer of at least 1`);
        if (!/^[A-Za-z0-9_.-]+$/.test(s.target))
            errors.push(`secret ${s.name}: target ${JSON.stringify(s.target)} must be a file name (letters, digits, _ . -)`);
        const value: unknown = Object.prototype.hasOwnProperty.call(secretValues, s.name) ? secretValues[s.name] : undefined;
        if (typeof value !== "string") errors.push(`secret ${s.name}: no value given in secretValues`);
        else if (value === "" || value.includes("\0"))
            errors.push(`secret ${s.name}: value must be non-empty and contain no NUL character`);
        if (s.uid !== undefined && !/^\d+$/.test(s.uid)) errors.push(`secret ${s.name}: uid must be numeric`);
        if (s.gid !== undefined && !/^\d+$/.test(s.gid)) errors.push(`secret ${s.name}: gid must be numeric`);
        if (s.mode !== undefined && !isInt(s.mode, 0, 0o777)) errors.push(`secret ${s.name}: mode must be from 0 to 0o777`);
        if (seenSecrets.has(s.name)) errors.push(`secret ${s.name} is listed twice`);
        if (seenTargets.has(s.target)) errors.push(`secret target ${s.target} is used twice`);
        seenSecrets.add(s.name);
        seenTargets.add(s.target);
    }
    const declared = new Set((spec.secrets ?? []).map((s) => s.name));
    for (const key of Object.keys(secretValues).sort(byteOrder)) {
        if (!declared.has(key)) errors.push(`secretValues has ${JSON.stringify(key)}, which is not a declared secret`);
    }
    for (const [k, v] of sortedEntries(spec.labels)) {
        if (!LABEL_KEY.test(k)) errors.push(`label key ${JSON.stringify(k)} must match ${LABEL_KEY}`);
        if (v.includes("\0")) errors.push(`label ${k} must not contain a NUL character`);
    }
    if (spec.convergeTimeoutSeconds !== undefined && !isInt(spec.convergeTimeoutSeconds, 1, 86400)) {
        errors.push(`convergeTimeoutSeconds ${spec.convergeTimeoutSeconds} must be an integer from 1 to 86400`);
    }
    if (spec.readyTimeoutSeconds !== undefined && !isInt(spec.readyTimeoutSeconds, 1, 3600)) {
        errors.push(`readyTimeoutSeconds ${spec.readyTimeoutSeconds} must be an integer from 1 to 3600`);
    }
    if (errors.length > 0) {
        throw new Error(`web service ${JSON.stringify(spec.name)}: invalid spec:\n  - ${errors.join("\n  - ")}`);
    }
}

/** The default bound on a create/update (see {@link WebServiceSpec.convergeTimeoutSeconds}). */
export function defaultConvergeTimeoutSeconds(spec: WebServiceSpec): number {
    const update = spec.updatePolicy;
    const hc = spec.healthcheck;
    const batches = Math.max(1, Math.ceil(spec.replicas / update.parallelism));
    const perBatch =
        update.delaySeconds +
        update.monitorSeconds +
        hc.startPeriodSeconds +
        hc.intervalSeconds * (hc.retries + 1) +
        spec.stopGracePeriodSeconds;
    // Twice over: a failed update is followed by a rollback of the same shape.
    return 60 + 2 * batches * perBatch;
}

/** The Swarm secret name of a versioned secret: `<name>-v<version>`. */
export function versionedSecretName(secret: Pick<ServiceSecretSpec, "name" | "version">): string {
    return `${secret.name}-v${secret.version}`;
}

/** Renders `sh` lines appending `flag value` pairs to "$@" (never empty: the create and update lists both start with a flag). */
function appendArgs(args: ReadonlyArray<readonly [string, string?]>): string[] {
    return [
        'set -- "$@" \\',
        ...args.map(([flag, value], i) => {
            const end = i === args.length - 1 ? "" : " \\";
            return value === undefined ? `  ${flag}${end}` : `  ${flag} ${shellQuote(value)}${end}`;
        }),
    ];
}

/** Renders `NAME() { case "$1" in 'a' | 'b') return 0 ;; esac; return 1; }`. */
function membershipFunction(name: string, values: readonly string[]): string[] {
    if (values.length === 0) return [`${name}() { return 1; }`];
    return [
        `${name}() {`,
        '  case "$1" in',
        `    ${values.map((v) => `'${v.replace(/'/g, `'\\''`)}'`).join(" | ")}) return 0 ;;`,
        "  esac",
        "  return 1",
        "}",
    ];
}

/**
 * Script that makes the Swarm service match `spec` (run on a manager).
 * `secretValues` maps each declared secret's `name` to its value (required
 * for every secret; a secret of that name and version that already exists is
 * kept as it is — Swarm secrets are immutable, rotate by bumping `version`).
 *
 * The script creates missing versioned secrets from values in its text (via
 * `printf %s "$VAR" | docker secret create NAME -`, never argv); then
 * `docker service create` if the service is absent, else
 * `docker service update` with every declared field (`--image`,
 * `--replicas`, `--env-add`/`--env-rm`, limits, policies, constraints,
 * labels, secrets), so a new version rolls out under the update policy. Runs
 * with `--detach=false` bounded by `timeout`: fails if the rollout does not
 * converge or is rolled back. Nothing is printed on stdout.
 */
export function renderServiceDeployScript(spec: WebServiceSpec, secretValues: Readonly<Record<string, string>> = {}): string {
    validateSpec(spec, secretValues);
    const update = spec.updatePolicy;
    const rollback = spec.rollbackPolicy;
    const converge = spec.convergeTimeoutSeconds ?? defaultConvergeTimeoutSeconds(spec);
    const ready = spec.readyTimeoutSeconds ?? 60;
    const env = sortedEntries(spec.env);
    const labels = sortedEntries(spec.labels);
    const constraints = [...(spec.placementConstraints ?? [])];
    const secrets = [...(spec.secrets ?? [])].sort((a, b) => byteOrder(a.name, b.name));
    // Swarm compares the env list in order, and `docker service update
    // --env-add` (20.10 CLI) rebuilds it from a Go map: the order can change
    // even when no value does, which rolls every task. So the update passes
    // --env-add only for entries that differ from the running spec.
    const envWords = [TASK_NAME_ENV, ...env.map(([k, v]) => `${k}=${v}`)].sort(byteOrder);
    const hc = spec.healthcheck;
    const secretArg = (s: ServiceSecretSpec): string =>
        `source=${versionedSecretName(s)},target=${s.target},uid=${s.uid ?? "0"},gid=${s.gid ?? "0"},mode=${(s.mode ?? 0o444).toString(8).padStart(4, "0")}`;

    // Flags that have the same form for create and update.
    const common: Array<readonly [string, string?]> = [
        ["--limit-cpu", cores(spec.cpuLimit)],
        ["--limit-memory", `${spec.memoryLimitMiB}MiB`],
        ["--reserve-cpu", spec.cpuReservation === undefined ? "0" : cores(spec.cpuReservation)],
        ["--reserve-memory", `${spec.memoryReservationMiB ?? 0}MiB`],
        ["--health-cmd", typeof hc.cmd === "string" ? hc.cmd : hc.cmd.map(shellQuote).join(" ")],
        ["--health-interval", `${hc.intervalSeconds}s`],
        ["--health-timeout", `${hc.timeoutSeconds}s`],
        ["--health-retries", String(hc.retries)],
        ["--health-start-period", `${hc.startPeriodSeconds}s`],
        ["--update-parallelism", String(update.parallelism)],
        ["--update-delay", `${update.delaySeconds}s`],
        ["--update-order", update.order],
        ["--update-failure-action", update.failureAction],
        ["--update-monitor", `${update.monitorSeconds}s`],
        ["--update-max-failure-ratio", String(update.maxFailureRatio)],
        ["--rollback-parallelism", String(rollback.parallelism)],
        ["--rollback-delay", `${rollback.delaySeconds}s`],
        ["--rollback-order", rollback.order],
        ["--rollback-failure-action", rollback.failureAction],
        ["--rollback-monitor", `${rollback.monitorSeconds}s`],
        ["--rollback-max-failure-ratio", String(rollback.maxFailureRatio)],
        ["--restart-condition", "any"],
        ["--restart-delay", "5s"],
        ["--stop-grace-period", `${spec.stopGracePeriodSeconds}s`],
        ["--stop-signal", spec.stopSignal ?? "SIGTERM"],
        ...((spec.init ?? true) ? ([["--init"]] as const) : []),
        ...((spec.resolveImage ?? true) ? [] : ([["--no-resolve-image"]] as const)),
        ...(spec.registryAuth === true ? ([["--with-registry-auth"]] as const) : []),
    ];

    const createArgs: Array<readonly [string, string?]> = [
        ["--name", spec.name],
        ["--mode", "replicated"],
        ["--replicas", String(spec.replicas)],
        ["--network", "host"],
        ["--endpoint-mode", "dnsrr"],
        ...common,
        ...envWords.map((e) => ["--env", e] as const),
        ...labels.map(([k, v]) => ["--label", `${k}=${v}`] as const),
        ...constraints.map((c) => ["--constraint", c] as const),
        ...secrets.map((s) => ["--secret", secretArg(s)] as const),
    ];
    const updateArgs: Array<readonly [string, string?]> = [
        ["--image", spec.image],
        ["--replicas", String(spec.replicas)],
        ...common,
        ...labels.map(([k, v]) => ["--label-add", `${k}=${v}`] as const),
    ];

    const lines: string[] = [
        renderShellPrelude({
            title: `Create or update the Swarm service ${spec.name} (idempotent; rolling update).`,
            logTag: `service-deploy[${spec.name}]`,
        }),
        `SERVICE=${shellQuote(spec.name)}`,
        `IMAGE=${shellQuote(spec.image)}`,
        `CONVERGE_TIMEOUT=${converge}`,
        "",
        `wait_for_docker ${ready}`,
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
        `  if ! printf '%s' "$3" | docker secret create --label "${SERVICE_LABEL}=$SERVICE" --label "${SECRET_LABEL}=$2" "$1" - >/dev/null; then`,
        '    docker secret inspect "$1" >/dev/null 2>&1 || fail "could not create secret $1"',
        "  fi",
        "}",
        "",
    ];
    secrets.forEach((s, i) => {
        lines.push(`SECRET_VALUE_${i}=${shellQuote(secretValues[s.name])}`);
        lines.push(`ensure_secret ${shellQuote(versionedSecretName(s))} ${shellQuote(s.name)} "$SECRET_VALUE_${i}"`);
        lines.push(`unset SECRET_VALUE_${i}`);
    });
    lines.push(
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
        ...membershipFunction("want_env", ["TASK_NAME", ...env.map(([k]) => k)]).map((l) => `  ${l}`),
        ...membershipFunction(
            "want_label",
            labels.map(([k]) => k),
        ).map((l) => `  ${l}`),
        ...membershipFunction("want_constraint", constraints).map((l) => `  ${l}`),
        ...membershipFunction(
            "want_secret",
            secrets.map((s) => versionedSecretName(s)),
        ).map((l) => `  ${l}`),
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
        ...envWords.map((e) => `  printf '%s\\n' "$current_env" | grep -qxF -- ${shellQuote(e)} || set -- "$@" --env-add ${shellQuote(e)}`),
        ...constraints.map(
            (c) =>
                `  printf '%s\\n' "$current_constraints" | grep -qxF -- ${shellQuote(c)} || set -- "$@" --constraint-add ${shellQuote(c)}`,
        ),
        ...secrets.map(
            (s) =>
                `  printf '%s\\n' "$current_secrets" | grep -qxF -- ${shellQuote(versionedSecretName(s))} || set -- "$@" --secret-add ${shellQuote(secretArg(s))}`,
        ),
        ...appendArgs(updateArgs).map((l) => `  ${l}`),
        '  log "updating service $SERVICE: image $IMAGE, ' + `${spec.replicas} replicas` + '"',
        '  converge docker service update --detach=false "$@" "$SERVICE"',
        "else",
        ...appendArgs(createArgs).map((l) => `  ${l}`),
        '  log "creating service $SERVICE: image $IMAGE, ' + `${spec.replicas} replicas` + '"',
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
        ...membershipFunction(
            "keep_secret",
            secrets.map((s) => versionedSecretName(s)),
        ),
        `for id in $(docker secret ls -q --filter "label=${SERVICE_LABEL}=$SERVICE"); do`,
        "  name=$(docker secret inspect --format '{{.Spec.Name}}' \"$id\")",
        '  keep_secret "$name" && continue',
        '  if docker secret rm "$id" >/dev/null 2>&1; then log "deleted old secret $name"; fi',
        "done",
        'log "service $SERVICE is converged"',
        "",
    );
    return lines.join("\n");
}

/** Options of {@link renderServiceRemoveScript}. */
export interface ServiceRemoveOptions {
    /** Bound on scaling to 0 (graceful stop of every task). Defaults to 120 s. */
    readonly drainTimeoutSeconds?: number;
    /** How long to wait for the local engine / manager role. Defaults to 60 s. */
    readonly readyTimeoutSeconds?: number;
}

/**
 * Script that removes the service (run on a manager): scales it to 0 with
 * `--detach=false` (tasks stop gracefully, bounded), `docker service rm`,
 * then deletes the secrets the deploy script created for it (label
 * `swarm-platform.service=<name>`), retrying while tasks still hold them.
 * Idempotent: an absent service is fine.
 */
export function renderServiceRemoveScript(name: string, options: ServiceRemoveOptions = {}): string {
    const drain = options.drainTimeoutSeconds ?? 120;
    const ready = options.readyTimeoutSeconds ?? 60;
    const errors: string[] = [];
    if (!SERVICE_NAME.test(name)) errors.push(`name ${JSON.stringify(name)} must match ${SERVICE_NAME}`);
    if (!isInt(drain, 1, 86400)) errors.push(`drainTimeoutSeconds ${drain} must be an integer from 1 to 86400`);
    if (!isInt(ready, 1, 3600)) errors.push(`readyTimeoutSeconds ${ready} must be an integer from 1 to 3600`);
    if (errors.length > 0) throw new Error(`renderServiceRemoveScript: invalid input:\n  - ${errors.join("\n  - ")}`);

    return [
        renderShellPrelude({
            title: `Remove the Swarm service ${name} and its secrets (idempotent).`,
            logTag: `service-remove[${name}]`,
        }),
        `SERVICE=${shellQuote(name)}`,
        `DRAIN_TIMEOUT=${drain}`,
        "",
        `wait_for_docker ${ready}`,
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
        `  ids=$(docker secret ls -q --filter "label=${SERVICE_LABEL}=$SERVICE")`,
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
    ].join("\n");
}
