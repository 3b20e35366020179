// render/shell.ts, fast set: the quoting rule and the exact prelude every rendered script starts with,
// read off the text in-process (swarm.test.ts runs the quoting through real shells, the scripts through fakes).
import { renderShellPrelude, shellQuote } from "../../render/shell";

describe("shellQuote", () => {
    test("plain words (letters, digits and _@%+=:,./-) stay as they are", () => {
        for (const word of ["plain", "A-Z_09", "user@host", "50%", "a+b=c", "10.0.0.1:2377", "a,b", "./dir/file", "-n"])
            expect(shellQuote(word)).toBe(word);
    });

    test("anything else is single-quoted, with a single quote written as '\\''", () => {
        expect(shellQuote("")).toBe("''");
        expect(shellQuote("a b")).toBe("'a b'");
        expect(shellQuote("$HOME")).toBe("'$HOME'");
        expect(shellQuote("x\ny")).toBe("'x\ny'");
        expect(shellQuote("it's")).toBe("'it'\\''s'");
        expect(shellQuote("''")).toBe("''\\'''\\'''");
        // The safe set is anchored at both ends: one unsafe character anywhere quotes the whole word.
        expect(shellQuote("ok;")).toBe("'ok;'");
        expect(shellQuote(";ok")).toBe("';ok'");
    });

    test("refuses NUL, which no shell word can hold", () => {
        expect(() => shellQuote("a\0b")).toThrow("shellQuote: a shell word cannot contain a NUL character");
    });
});

describe("renderShellPrelude", () => {
    // Rendered in each test, not while jest collects them: StrykerJS then knows which tests cover it.
    const prelude = () => renderShellPrelude({ title: "Joins node-0 to the swarm.", logTag: "swarm-join[node 0]" });

    test("is the exact script head: strict mode, no tracing, private umask, log/fail, wait_for_docker, swarm_field", () => {
        // Prose comments and blank lines (read by no program) are left out; the shebang and the shellcheck directive are not prose.
        const code = prelude()
            .split("\n")
            .filter((l) => l.startsWith("#!") || l.startsWith("# shellcheck") || (l !== "" && !l.startsWith("#")));
        expect(code).toEqual([
            "#!/bin/sh",
            "# shellcheck disable=SC1003,SC2016 # rendered values are single-quoted literals on purpose",
            "set +xv",
            "set -eu",
            "umask 077",
            "LOG_TAG='swarm-join[node 0]'",
            'log() { printf \'%s: %s\\n\' "$LOG_TAG" "$*" >&2; }',
            "fail() {",
            '  log "error: $*"',
            "  exit 1",
            "}",
            "wait_for_docker() {",
            "  wfd_deadline=$(($(date +%s) + $1))",
            "  until timeout 10 docker info >/dev/null 2>&1; do",
            '    if [ "$(date +%s)" -ge "$wfd_deadline" ]; then',
            '      fail "the local Docker engine did not answer within $1 s"',
            "    fi",
            "    sleep 1",
            "  done",
            "}",
            'swarm_field() { docker info --format "$1"; }',
        ]);
    });

    test("names what the script does in its third line", () => {
        expect(prelude().split("\n")[2]).toBe("# Joins node-0 to the swarm.");
    });

    test("refuses a title of more than one line (it is a comment line)", () => {
        expect(() => renderShellPrelude({ title: "a\nb", logTag: "t" })).toThrow("renderShellPrelude: title must be a single line");
        expect(() => renderShellPrelude({ title: "a\rb", logTag: "t" })).toThrow("renderShellPrelude: title must be a single line");
    });
});
