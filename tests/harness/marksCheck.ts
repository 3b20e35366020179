// The dev platform's deployed-marks check (platforms/local.ts requireDeployedMarks) run as `pulumi up`
// runs it: its create script under /bin/sh, against a fake `docker` whose `ps -a --format` lists the
// containers of an earlier state — each container's name and the label the format asks for — so a
// test sees what the check finds on the nodes an earlier `up` made.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RecordedResource } from "./program";

const CONTAINER = "docker:index/container:Container";

const FAKE_DOCKER = `#!/bin/sh
# Fake docker: only \`ps -a --format '{{.Names}} {{.Label "KEY"}}'\`, answered from $FAKE_CONTAINERS/NAME/KEY.
[ "$1 $2 $3" = "ps -a --format" ] || { echo "fake docker: unexpected call: $*" >&2; exit 2; }
key=$(printf '%s' "$4" | sed -n 's/^{{.Names}} {{.Label "\\(.*\\)"}}$/\\1/p')
[ -n "$key" ] || { echo "fake docker: unexpected format: $4" >&2; exit 2; }
for c in "$FAKE_CONTAINERS"/*; do
  [ -d "$c" ] || continue
  printf '%s %s\\n' "\${c##*/}" "$(cat "$c/$key" 2>/dev/null || true)"
done
`;

/** Runs a check's create script against the containers of `state`. */
export function runMarksCheck(script: string, state: readonly RecordedResource[]): { status: number | null; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "marks-check-"));
    try {
        const bin = path.join(dir, "bin");
        const containers = path.join(dir, "containers");
        fs.mkdirSync(bin);
        fs.mkdirSync(containers);
        fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
        for (const c of state.filter((r) => r.type === CONTAINER)) {
            const own = path.join(containers, c.inputs.name);
            fs.mkdirSync(own);
            for (const { label, value } of c.inputs.labels ?? []) fs.writeFileSync(path.join(own, label), value);
        }
        const result = spawnSync("/bin/sh", ["-c", script], {
            encoding: "utf8",
            env: { PATH: `${bin}:${process.env.PATH}`, FAKE_CONTAINERS: containers },
        });
        return { status: result.status, stderr: result.stderr };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
