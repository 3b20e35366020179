#!/bin/bash
# Experiment (bench/experiments/2026-12-06-engine-cpu-weight.md): does the swarm node's inner engine
# (dockerd, containerd, the shims) starve the node's web tasks while it works, and would a cgroup of
# its own (tried in images/swarm-node/entrypoint.sh, not kept) stop that?
#
# Each trial, on the kept swarm plane, with a busy loop on the host (the CI machine is a loaded 2-core
# one): 50 requests/s through the VIP for 60 s while both workers' engines start and remove
# containers back to back and a manager force-updates the web service (what a node's drain does).
# The variants alternate, so drift in the machine hits both:
#   equal   the engine's processes in the node's own cgroup, where the image puts them: on cgroup v1
#           each runnable engine thread competes one-to-one with each task's whole cgroup
#   engine  the engine's processes in <node>/engine at cpu.shares SHARES (1024 is one task's weight)
# The moves are done from the host (cgroup v1 host paths), so no image is rebuilt between variants.
#
# Needs a kept plane (cgroup v1 host):
#   SYSTEM_TEST_KEEP=1 npm run test:system -- tests/system/swarm -t "live (1|2)\."
#   bash bench/experiments/engine-cpu-weight.sh [rounds] [shares]
set -euo pipefail
rounds=${1:-3}
# The engine cgroup's cpu.shares: 1024 (a task's), or e.g. 102 (a tenth).
shares=${2:-1024}
prefix=spswarm
vip=http://10.213.9.10/
cg=/sys/fs/cgroup/cpu/docker

# place VARIANT: every process of each worker node's cpu cgroup into the variant's place.
place() {
  local w id from to
  for w in 0 1; do
    id=$(docker inspect -f '{{.Id}}' "$prefix-swarm-worker-$w")
    if [ "$1" = engine ]; then from=$cg/$id to=$cg/$id/engine; else from=$cg/$id/engine to=$cg/$id; fi
    mkdir -p "$cg/$id/engine" && echo "$shares" >"$cg/$id/engine/cpu.shares"
    # The node's own cgroup also holds its init, entrypoint and Consul agent: "engine" moves only the
    # inner engine's processes (dockerd and its descendants).
    while read -r p; do
      case "$(cat /proc/"$p"/comm 2>/dev/null)" in dockerd | containerd | containerd-shim* | runc | docker-proxy) echo "$p" >"$to/cgroup.procs" 2>/dev/null || true ;; esac
    done <"$from/cgroup.procs"
  done
}

trial() {
  local variant=$1 hog load mgr w
  place "$variant"
  (while :; do :; done) &
  hog=$!
  npx ts-node --transpile-only bench/experiments/engine-cpu-weight-load.ts "$vip" 60 >"/tmp/engine-cpu-weight.$variant" 2>&1 &
  load=$!
  sleep 4
  for w in 0 1; do
    (
      end=$((SECONDS + 50))
      while [ $SECONDS -lt $end ]; do docker exec "$prefix-swarm-worker-$w" docker run --rm --entrypoint true swarm-platform/web:1.0.0 >/dev/null 2>&1 || true; done
    ) &
  done
  mgr=$(for m in 0 1 2; do docker exec "$prefix-swarm-manager-$m" docker node ls >/dev/null 2>&1 && { echo "$prefix-swarm-manager-$m"; break; }; done)
  docker exec "$mgr" docker service update --force --detach=false --quiet web >/dev/null 2>&1 || true
  wait "$load"
  kill "$hog"
  wait 2>/dev/null || true
  echo "$variant: $(tail -1 "/tmp/engine-cpu-weight.$variant")"
}

for _ in $(seq "$rounds"); do
  trial equal
  trial engine
done
# Leave the plane as the image made it.
place equal
