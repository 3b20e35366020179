// The fake `docker` the swarm scripts run against in tests/render/swarm*.test.ts: keeps swarm state
// in files of a fresh temp dir per world and records every argv.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const REPO = path.resolve(__dirname, "../..");
export const WORKER_TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";
export const MANAGER_TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p8nmwb4b0rqm0x6dqj2quzq1";

/** The worker join the swarm tests render (two managers, the second with an explicit port). */
export const WORKER_JOIN_INPUT = {
    role: "worker" as const,
    nodeName: "node-0",
    advertiseAddr: "10.213.0.20",
    managerAddrs: ["10.213.0.10", "10.213.0.11:2377"],
    tokenEnv: "SWARM_JOIN_TOKEN",
    joinTimeoutSeconds: 3,
};

// ---------------------------------------------------------------------------
// A rendered script's own text (tests/render/{swarm,webService}Scripts.test.ts)
// ---------------------------------------------------------------------------

/** The last line of the shared prelude (render/shell.ts) and the blank line after it. */
const PRELUDE_END = 'swarm_field() { docker info --format "$1"; }\n\n';

/** The script's lines after the shared prelude (whose text render/shell.ts's tests own). */
export function scriptBody(text: string): string[] {
    const at = text.indexOf(PRELUDE_END);
    expect(at).toBeGreaterThan(0);
    return text.slice(at + PRELUDE_END.length).split("\n");
}

/** The prelude lines the renderer fills in: the title comment (third line) and the log tag. */
export function scriptHeader(text: string): string[] {
    const prelude = text.slice(0, text.indexOf(PRELUDE_END)).split("\n");
    return [prelude[2], ...prelude.filter((l) => l.startsWith("LOG_TAG="))];
}

// ---------------------------------------------------------------------------
// A fake `docker` that keeps swarm state in files and records every argv
// ---------------------------------------------------------------------------

export const FAKE_DOCKER = `#!/bin/sh
F="$FAKE_DIR"
n=$(($(cat "$F/n" 2>/dev/null || echo 0) + 1))
echo "$n" >"$F/n"
printf '%s\\0' "$@" >"$F/call.$n"
for last; do :; done
val() { if [ -f "$F/$1" ]; then cat "$F/$1"; else printf '%s\\n' "$2"; fi; }
[ -f "$F/engine-down" ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
# A token in docker's environment would reach every child process: record it.
env | grep -q SWMTKN && : >"$F/env-leak"
case "$1 $2" in
  "info ") echo "fake engine"; exit 0 ;;
  "info --format")
    case "$3" in
      "{{.Name}}") val name node-0 ;;
      "{{.Swarm.LocalNodeState}}") val state inactive ;;
      "{{.Swarm.ControlAvailable}}") val control false ;;
      "{{.Swarm.NodeID}}") val node-id self-id ;;
      "{{.Swarm.Cluster.ID}}") val cluster-id cluster-1 ;;
      *RemoteManagers*) val remote-addr "" ;;
      *) echo "fake docker: unexpected format $3" >&2; exit 2 ;;
    esac
    exit 0 ;;
  "swarm init")
    echo "Swarm initialized: current node (self-id) is now a manager."
    echo "    docker swarm join --token ${WORKER_TOKEN} 10.213.0.10:2377"
    echo active >"$F/state"; echo true >"$F/control"; exit 0 ;;
  "swarm join-token")
    if [ -f "$F/join-token-error" ]; then cat "$F/join-token-error" >&2; exit 1; fi
    # --rotate: a new token for the role, the old one no longer valid (printed like -q does).
    if [ "$3" = --rotate ]; then
      r=$(($(cat "$F/rotations" 2>/dev/null || echo 0) + 1)); echo "$r" >"$F/rotations"
      printf 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-rotated%s%s\n' "$r" "$last" >"$F/$last-token"
      cat "$F/$last-token"; exit 0
    fi
    case "$last" in worker) val worker-token "${WORKER_TOKEN}" ;; manager) val manager-token "${MANAGER_TOKEN}" ;; esac
    exit 0 ;;
  "swarm join") echo "fake docker: the scripts join through the engine API (curl), never with the token in argv" >&2; exit 3 ;;
  "swarm leave") echo inactive >"$F/state"; echo false >"$F/control"; exit 0 ;;
  "node ls")
    case "$*" in *role=manager*) val managers-q "" ;; *) val node-lines "" ;; esac
    exit 0 ;;
  "node inspect")
    if [ "$last" = self ]; then val self-health "ready reachable"; exit 0; fi
    grep "^$last " "$F/node-details" || exit 1; exit 0 ;;
  "node update") echo "$last" >>"$F/drained"; exit 0 ;;
  "node ps")
    case "$*" in *"{{.Name}}"*) val "node-ps-names-$3" "" ;; *) val "node-ps-$3" "" ;; esac
    exit 0 ;;
  "service inspect") val "service-mode-$last" ""; exit 0 ;;
  "service update")
    [ -f "$F/update-hangs" ] && sleep 10
    echo "$last" >>"$F/forced"; exit 0 ;;
  "config inspect") [ -f "$F/config-$last" ] || { echo "Error: No such config: $last" >&2; exit 1; }; cat "$F/config-$last"; exit 0 ;;
  "config create")
    eval "name=\\\${$(($# - 1))}"
    [ "$last" = - ] || { echo "fake docker: config create reads stdin only" >&2; exit 2; }
    [ -f "$F/config-$name" ] && { echo "Error response from daemon: config $name already exists" >&2; exit 1; }
    cat >"$F/config-$name"; echo "config-id"; exit 0 ;;
  "node demote") [ "$last" = self-id ] && echo false >"$F/control"; exit 0 ;;
  "node rm")
    if grep -qxF "$last" "$F/not-found" 2>/dev/null; then
      echo "Error response from daemon: node $last not found" >&2; exit 1
    fi
    echo "$last"; exit 0 ;;
esac
echo "fake docker: unexpected call: $*" >&2
exit 3
`;

/**
 * A fake `curl` for the engine API calls the scripts make over the engine's socket (render/swarm.ts
 * joinRequestLines): records its argv in the same call log as docker's (first word "curl") and the
 * request body it read on stdin; answers POST /swarm/join like the engine — 200 and the node active,
 * or 500 with the daemon's error message in the -o file for a manager listed in bad-managers.
 */
export const FAKE_CURL = `#!/bin/sh
F="$FAKE_DIR"
n=$(($(cat "$F/n" 2>/dev/null || echo 0) + 1))
echo "$n" >"$F/n"
printf '%s\\0' curl "$@" >"$F/call.$n"
val() { if [ -f "$F/$1" ]; then cat "$F/$1"; else printf '%s\\n' "$2"; fi; }
env | grep -q SWMTKN && : >"$F/env-leak"
out=/dev/null; url=; sock=
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift ;;
    --unix-socket) sock=$2; shift ;;
    -w | -X | -H | --data-binary) shift ;;
    http*) url=$1 ;;
  esac
  shift
done
cat >"$F/request.$n"
[ -f "$F/engine-down" ] && { printf 000; exit 7; }
case "$sock $url" in
  "/var/run/docker.sock http://localhost/swarm/join")
    manager=$(sed -n 's/.*"RemoteAddrs":\\["\\([^"]*\\)"\\].*/\\1/p' "$F/request.$n")
    if grep -qxF "$manager" "$F/bad-managers" 2>/dev/null; then
      token=$(sed -n 's/.*"JoinToken":"\\([^"]*\\)".*/\\1/p' "$F/request.$n")
      printf '{"message":"cannot join via %s with token %s"}\\n' "$manager" "$token" >"$out"
      printf 500; exit 0
    fi
    echo active >"$F/state"; val join-control false >"$F/control"
    : >"$out"; printf 200; exit 0 ;;
esac
echo "fake curl: unexpected call to $sock $url" >&2
exit 3
`;

/** A join request the scripts sent to the engine API (POST /swarm/join), its JSON body parsed. */
export interface JoinRequest {
    readonly JoinToken: string;
    readonly RemoteAddrs: string[];
    readonly ListenAddr: string;
    readonly AdvertiseAddr: string;
    readonly DataPathAddr: string;
}

export interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** argv of every docker call, in order; curl calls too, their first word "curl". */
    readonly calls: string[][];
    /** Bodies of the engine API requests curl sent (its stdin), in order. */
    readonly requests: string[];
    readonly ms: number;
}

export type RunFn = (script: string, shFlags?: string, env?: Record<string, string>) => Run;

/** A scratch fake-docker world; `files` pre-sets its state files. */
function fakeWorld(files: Record<string, string> = {}): { dir: string; state: string; run: RunFn } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    const bin = path.join(dir, "bin");
    const state = path.join(dir, "state");
    fs.mkdirSync(bin);
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "curl"), FAKE_CURL, { mode: 0o755 });
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(state, name), content);
    const run: RunFn = (script, shFlags = "-s", env = {}) => {
        const started = Date.now();
        const r = spawnSync("sh", [shFlags], {
            input: script,
            encoding: "utf8",
            timeout: 30_000,
            env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, FAKE_DIR: state, LANG: "C", ...env },
        });
        const ms = Date.now() - started;
        const n = fs.existsSync(path.join(state, "n")) ? Number(fs.readFileSync(path.join(state, "n"), "utf8")) : 0;
        const calls: string[][] = [];
        const requests: string[] = [];
        for (let i = 1; i <= n; i++) {
            const request = path.join(state, `request.${i}`);
            if (fs.existsSync(request)) requests.push(fs.readFileSync(request, "utf8"));
            calls.push(
                fs
                    .readFileSync(path.join(state, `call.${i}`), "utf8")
                    .split("\0")
                    .slice(0, -1),
            );
        }
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, requests, ms };
    };
    return { dir, state, run };
}

const worlds: string[] = [];
export function world(files: Record<string, string> = {}): RunFn {
    return worldWithState(files).run;
}

/** Like {@link world}, also giving the state directory (to look for `env-leak`). */
export function worldWithState(files: Record<string, string> = {}): { state: string; run: RunFn } {
    const w = fakeWorld(files);
    worlds.push(w.dir);
    return w;
}

/** The swarm join requests (POST /swarm/join) the run sent, in order. */
export function joinRequests(r: Run): JoinRequest[] {
    return r.requests.map((body) => JSON.parse(body) as JoinRequest);
}

export function callsOf(r: Run, ...prefix: string[]): string[][] {
    return r.calls.filter((c) => prefix.every((p, i) => c[i] === p));
}

/** Removes every world this test file made (call in afterAll). */
export function cleanupWorlds(): void {
    for (const d of worlds.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
