// The fake `docker` (services and secrets) and the spec the tests/render/webService*.test.ts files
// run the deploy/remove scripts against: each run gets a fresh temp dir.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WebServiceSpec } from "../../render/webService";

export const SECRET = "c0nsul-t0ken-'\"$HOME`id`\\ end";
export const NASTY = 'it\'s "quoted" $HOME `id` $(id) \\ * ~ {{.Node.ID}}';

export const SPEC: WebServiceSpec = {
    name: "web",
    image: "swarm-platform/web:1.2.3",
    replicas: 3,
    env: { PORT_RANGE: "8000-8099", GREETING: NASTY, CONSUL_HTTP_ADDR: "127.0.0.1:8500" },
    cpuLimit: 0.5,
    memoryLimitMiB: 128,
    cpuReservation: 0.25,
    memoryReservationMiB: 64,
    healthcheck: {
        cmd: "wget -qO- http://127.0.0.1:$PORT/health || exit 1",
        intervalSeconds: 2,
        timeoutSeconds: 1,
        retries: 3,
        startPeriodSeconds: 5,
    },
    updatePolicy: {
        parallelism: 1,
        delaySeconds: 5,
        order: "start-first",
        failureAction: "rollback",
        monitorSeconds: 10,
        maxFailureRatio: 0,
    },
    rollbackPolicy: {
        parallelism: 1,
        delaySeconds: 0,
        order: "start-first",
        failureAction: "pause",
        monitorSeconds: 10,
        maxFailureRatio: 0,
    },
    stopGracePeriodSeconds: 20,
    stopSignal: "SIGTERM",
    network: "host",
    placementConstraints: ["node.role==worker"],
    secrets: [{ name: "consul-web-token", version: 2, target: "consul-token" }],
    labels: { "swarm-platform.component": "web", note: "a b" },
    resolveImage: false,
};
export const VALUES = { "consul-web-token": SECRET };

// ---------------------------------------------------------------------------
// A fake `docker` for services and secrets
// ---------------------------------------------------------------------------

export const FAKE_DOCKER = `#!/bin/sh
F="$FAKE_DIR"
n=$(($(cat "$F/n" 2>/dev/null || echo 0) + 1))
echo "$n" >"$F/n"
printf '%s\\0' "$@" >"$F/call.$n"
prev=
last=
for a; do prev=$last; last=$a; done
val() { if [ -f "$F/$1" ]; then cat "$F/$1"; else printf '%s\\n' "$2"; fi; }
case "$1 $2" in
  "info ") exit 0 ;;
  "info --format") val control true; exit 0 ;;
  "secret inspect")
    if [ "$3" = --format ]; then echo "$last"; exit 0; fi
    [ -f "$F/secrets/$last" ] && exit 0
    echo "Error: no such secret: $last" >&2; exit 1 ;;
  "secret create") cat >"$F/secrets/$prev"; echo "id-$prev"; exit 0 ;;
  "secret ls") ls "$F/secrets"; exit 0 ;;
  "secret rm")
    if grep -qxF "$last" "$F/secrets-in-use" 2>/dev/null; then echo "secret $last is in use" >&2; exit 1; fi
    rm -f "$F/secrets/$last"; echo "$last"; exit 0 ;;
  "service inspect")
    [ -f "$F/service" ] || { echo "Error: no such service: $last" >&2; exit 1; }
    if [ "$3" = --format ]; then
      case "$4" in
        *Env*) val env "" ;;
        *Labels*) val labels "" ;;
        *Placement*) val constraints "" ;;
        *Secrets*) val service-secrets "" ;;
        *UpdateStatus*) val update-state "" ;;
        *) echo "fake docker: unexpected format $4" >&2; exit 2 ;;
      esac
    fi
    exit 0 ;;
  "service create") touch "$F/service"; echo "overall progress: 3 out of 3 tasks"; exit 0 ;;
  "service update")
    [ -f "$F/update-sleep" ] && exec sleep "$(cat "$F/update-sleep")"
    echo "verify: Service converged"; exit "$(val update-exit 0)" ;;
  "service scale") exit 0 ;;
  "service rm") rm -f "$F/service"; echo "$last"; exit 0 ;;
esac
echo "fake docker: unexpected call: $*" >&2
exit 3
`;

export interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly calls: string[][];
    readonly ms: number;
    readonly secretFiles: Record<string, string>;
}

const dirs: string[] = [];

/** Runs `script` with `sh -s` against a fresh fake world pre-set with `files`. */
export function runFake(script: string, files: Record<string, string> = {}, secrets: Record<string, string> = {}): Run {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    dirs.push(dir);
    const bin = path.join(dir, "bin");
    const state = path.join(dir, "state");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(state, "secrets"), { recursive: true });
    fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(state, name), content);
    for (const [name, content] of Object.entries(secrets)) fs.writeFileSync(path.join(state, "secrets", name), content);
    const started = Date.now();
    const r = spawnSync("sh", ["-s"], {
        input: script,
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, FAKE_DIR: state, LANG: "C", HOME: "/nonexistent" },
    });
    const ms = Date.now() - started;
    const n = fs.existsSync(path.join(state, "n")) ? Number(fs.readFileSync(path.join(state, "n"), "utf8")) : 0;
    const calls: string[][] = [];
    for (let i = 1; i <= n; i++)
        calls.push(
            fs
                .readFileSync(path.join(state, `call.${i}`), "utf8")
                .split("\0")
                .slice(0, -1),
        );
    const secretFiles: Record<string, string> = {};
    for (const f of fs.readdirSync(path.join(state, "secrets"))) secretFiles[f] = fs.readFileSync(path.join(state, "secrets", f), "utf8");
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, ms, secretFiles };
}

export function call(r: Run, ...prefix: string[]): string[] {
    const found = r.calls.filter((c) => prefix.every((p, i) => c[i] === p));
    expect(found).toHaveLength(1);
    return found[0];
}

/** Value following each occurrence of `flag` in argv. */
export function flagValues(argv: readonly string[], flag: string): string[] {
    return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

/** Removes every fake world this test file made (call in afterAll). */
export function cleanupRuns(): void {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
