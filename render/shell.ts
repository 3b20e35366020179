// Shell quoting shared by every renderer that writes scripts or command lines.

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes `value` as ONE word for POSIX sh. Plain words (letters, digits and
 * `_@%+=:,./-`) are returned as they are so scripts stay readable; anything
 * else is single-quoted with embedded `'` written as `'\''`. Inside single
 * quotes sh expands nothing (`$`, backquotes, `\`, newlines are literal).
 * @throws if the value contains a NUL character (no shell word can hold one).
 */
export function shellQuote(value: string): string {
    if (value.includes("\0")) {
        throw new Error("shellQuote: a shell word cannot contain a NUL character");
    }
    if (SHELL_SAFE.test(value)) {
        return value;
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Options of {@link renderShellPrelude}. */
export interface ShellPreludeInput {
    /** First comment line: what the script does. */
    readonly title: string;
    /** Prefix of every log line on stderr, e.g. `swarm-join[worker-0]`. */
    readonly logTag: string;
}

/**
 * Common head of every rendered script: shebang, `set -eu`, tracing forced
 * off (the text may hold secrets), `log`/`fail` to stderr, and
 * `wait_for_docker SECONDS`, which waits (bounded) until the local engine
 * answers. Building block for the renderers in `render/`.
 */
export function renderShellPrelude(input: ShellPreludeInput): string {
    if (/[\r\n]/.test(input.title)) {
        throw new Error("renderShellPrelude: title must be a single line");
    }
    return [
        "#!/bin/sh",
        "# shellcheck disable=SC1003,SC2016 # rendered values are single-quoted literals on purpose",
        `# ${input.title}`,
        "# Rendered by swarm-platform (render/); run as `sh -s` with this text on stdin.",
        "# The text may hold secrets: tracing is switched off before any of them.",
        "set +xv",
        "set -eu",
        "umask 077",
        `LOG_TAG=${shellQuote(input.logTag)}`,
        "",
        'log() { printf \'%s: %s\\n\' "$LOG_TAG" "$*" >&2; }',
        "fail() {",
        '  log "error: $*"',
        "  exit 1",
        "}",
        "",
        "# wait_for_docker SECONDS: until the local Docker engine answers.",
        "wait_for_docker() {",
        "  wfd_deadline=$(($(date +%s) + $1))",
        "  until timeout 10 docker info >/dev/null 2>&1; do",
        '    if [ "$(date +%s)" -ge "$wfd_deadline" ]; then',
        '      fail "the local Docker engine did not answer within $1 s"',
        "    fi",
        "    sleep 1",
        "  done",
        "}",
        "",
        "# swarm_field GO-TEMPLATE: one field of `docker info`.",
        'swarm_field() { docker info --format "$1"; }',
        "",
    ].join("\n");
}
