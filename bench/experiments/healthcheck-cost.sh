#!/bin/sh
# Experiment (bench/experiments/2026-12-06-healthcheck-cost.md): what the web task's Docker health
# check costs the task it checks. Docker runs the check inside the task's cgroup every 2 s, so it is
# paid from the task's own CPU limit (web.resources.cpus, 0.25 by default). One web container per
# variant, limited like a task (0.25 CPU, 64 MiB, host network), serving 20 requests/s (a task's share
# of the swarm suite's 50/s with headroom) for S seconds while Docker runs its health check every 2 s:
#   none  no health check (the baseline)
#   node  the old check, `node /app/healthcheck.js` (from git: 64b605d)
#   curl  `curl -fsS http://127.0.0.1:<port>/health` (curl added to the image)
#   bash  app/healthcheck.sh (bash's /dev/tcp), the check the image now runs
# Printed per variant: CPU per check run (the cgroup's CPU time minus the baseline's, per run), the
# share of 100 ms CFS periods in which the task was throttled, and the request latency p50 / p99 / max.
#
# Needs the systest web image (scripts/system-setup.sh). Run from the repository root:
#   sh bench/experiments/healthcheck-cost.sh [seconds] [quiet|busy]
set -eu
secs=${1:-30}
# busy: two busy loops on the host meanwhile, as a loaded 2-core machine (the swarm suite's nodes).
busy=${2:-quiet}
web=swarm-platform-systest/web:1.0.0
dir=$(mktemp -d)
hogs=
trap 'docker rm -f hc-exp >/dev/null 2>&1 || true; rm -rf "$dir"; [ -z "$hogs" ] || kill $hogs' EXIT
git show 64b605d:app/healthcheck.js >"$dir/healthcheck.js"
cp app/healthcheck.sh "$dir/healthcheck.sh"
cat >"$dir/Dockerfile" <<EOF
FROM $web
USER root
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY healthcheck.js healthcheck.sh /app/
USER web
EOF
docker build -q -t hc-exp:local "$dir" >/dev/null
port=20650
if [ "$busy" = busy ]; then
    for _ in 1 2; do
        sh -c 'while :; do :; done' &
        hogs="$hogs $!"
    done
fi
for variant in none node curl bash; do
    timing="--health-interval=2s --health-timeout=5s --health-retries=3 --health-start-period=5s"
    case $variant in
        none) hc="--no-healthcheck" timing= ;;
        node) hc="--health-cmd=node /app/healthcheck.js" ;;
        curl) hc="--health-cmd=curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:$port/health" ;;
        bash) hc="--health-cmd=bash /app/healthcheck.sh" ;;
    esac
    docker rm -f hc-exp >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # $timing is several flags, or none
    id=$(docker run -d --name hc-exp --network host --cpus 0.25 --memory 64m -e PORT_MIN=$port -e PORT_MAX=$port \
        "$hc" $timing hc-exp:local)
    sleep 3
    # cgroup v1 (this machine): cpu and cpuacct are separate hierarchies.
    cg=/sys/fs/cgroup/cpu/docker/$id acct=/sys/fs/cgroup/cpuacct/docker/$id
    usage0=$(cat "$acct/cpuacct.usage")
    periods0=$(awk '/^nr_periods/ {print $2}' "$cg/cpu.stat")
    throttled0=$(awk '/^nr_throttled/ {print $2}' "$cg/cpu.stat")
    # shellcheck disable=SC2016 # TypeScript, not shell
    out=$(npx ts-node --transpile-only -e '
        import { runLoad, summarize } from "./tests/system/load";
        const [url, secs] = process.argv.slice(1);
        runLoad({ url, ratePerSecond: 20, durationMs: Number(secs) * 1000, timeoutMs: 5000 }).then((run) => {
            const s = summarize(run);
            console.log(`failed ${s.failed}/${s.requests}, latency p50 ${s.latencyMs.p50.toFixed(1)} ms, p99 ${s.latencyMs.p99.toFixed(1)} ms, max ${s.latencyMs.max.toFixed(0)} ms`);
        });' "http://127.0.0.1:$port/" "$secs")
    usage1=$(cat "$acct/cpuacct.usage")
    periods1=$(awk '/^nr_periods/ {print $2}' "$cg/cpu.stat")
    throttled1=$(awk '/^nr_throttled/ {print $2}' "$cg/cpu.stat")
    cpu_ms=$(((usage1 - usage0) / 1000000))
    [ "$variant" = none ] && base_ms=$cpu_ms
    per_run="-"
    # Docker keeps the last 5 results only: the number of runs is the time over the interval.
    [ "$variant" != none ] && per_run="$(((cpu_ms - base_ms) * 2 / secs)) ms"
    echo "$variant: CPU ${cpu_ms} ms in ${secs} s (per check run: $per_run), throttled in $(((throttled1 - throttled0) * 100 / (periods1 - periods0 + 1))) % of periods; $out"
done
