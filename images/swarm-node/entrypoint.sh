#!/usr/bin/env bash
# Entrypoint of the swarm-node image: Docker-in-Docker WITHOUT --privileged.
#
# The container runs with --init --cgroupns private --cap-add ALL
# --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
# --security-opt systempaths=unconfined and a volume at /var/lib/docker.
# Docker still mounts /sys and the cgroup hierarchies read-only, so before
# dockerd can start this script:
#   1. remounts /sys read-write;
#   2. mounts fresh, writable cgroup hierarchies of the container's own cgroup
#      namespace (cgroup v1: one mount per host hierarchy; cgroup v2: one
#      cgroup2 mount plus the "nesting" move so controllers can be delegated);
#   3. removes pid files a previous run of this container left behind;
#   4. starts the node-local Consul client agent (images/consul-agent; a no-op
#      without its config), which the node's tasks register with;
#   5. runs dockerd in the background, forwards SIGTERM/SIGINT to it and waits,
#      so `docker stop` shuts the inner engine (and its tasks) down cleanly;
#      then stops the agent (after the tasks, so they can deregister first).
#
# Arguments are passed to dockerd. Configuration belongs in
# /etc/docker/daemon.json (dockerd refuses a key given both ways).
set -euo pipefail

log() { printf 'swarm-node-entrypoint: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

# --- 1. sysfs ----------------------------------------------------------------
# dockerd writes under /sys (bridge and veth settings, cgroups).
if ! mount -o remount,rw /sys 2>/dev/null; then
  log "warning: cannot remount /sys read-write (need CAP_SYS_ADMIN and --security-opt systempaths=unconfined)"
fi
# AppArmor needs securityfs; harmless to skip where the host has no AppArmor.
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
  mount -t securityfs none /sys/kernel/security 2>/dev/null ||
    log "warning: cannot mount securityfs; AppArmor profiles are unavailable to the inner engine"
fi

# --- 2. cgroups --------------------------------------------------------------
setup_cgroup_v1() {
  local _id controllers _path dir opts part
  local -a parts
  # A tmpfs over Docker's read-only bind mounts; the mounts below are fresh,
  # writable and rooted at this container's cgroup namespace.
  mount -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup /sys/fs/cgroup ||
    die "cannot mount a tmpfs at /sys/fs/cgroup"
  # One line per hierarchy the host has: "ID:controller[,controller]:path".
  # Co-mounted controllers (e.g. cpu,cpuacct) must be mounted together.
  while IFS=: read -r _id controllers _path; do
    # "0::/" is the unified (v2) hierarchy of a hybrid host: not needed.
    [ -n "$controllers" ] || continue
    case "$controllers" in
      name=*)
        dir=${controllers#name=}
        opts="none,$controllers"
        ;;
      *)
        dir=$controllers
        opts=$controllers
        ;;
    esac
    mkdir -p "/sys/fs/cgroup/$dir"
    mount -t cgroup -o "$opts,nosuid,nodev,noexec" cgroup "/sys/fs/cgroup/$dir" ||
      die "cannot mount cgroup v1 hierarchy '$controllers'"
    if [[ $dir == *,* ]]; then
      IFS=, read -ra parts <<<"$dir"
      for part in "${parts[@]}"; do
        ln -sfn "$dir" "/sys/fs/cgroup/$part"
      done
    fi
  done </proc/self/cgroup
}

setup_cgroup_v2() {
  local root=/sys/fs/cgroup attempt controller pid ok
  local -a pids controllers
  # Replace the read-only mount by a fresh cgroup2 mount of our namespace.
  if mountpoint -q "$root"; then
    umount "$root" 2>/dev/null || true
  fi
  if ! mount -t cgroup2 -o nsdelegate,nosuid,nodev,noexec cgroup2 "$root" 2>/dev/null; then
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root" ||
      die "cannot mount cgroup2 at $root (is the container started with --cgroupns private?)"
  fi
  # "No internal processes": a cgroup that holds processes cannot hand
  # controllers to children. Move every process (us, tini) into a child, then
  # enable all available controllers for the subtree dockerd will create.
  mkdir -p "$root/init"
  for attempt in 1 2 3 4 5; do
    mapfile -t pids <"$root/cgroup.procs"
    for pid in "${pids[@]}"; do
      printf '%s\n' "$pid" >"$root/init/cgroup.procs" 2>/dev/null || true
    done
    ok=1
    read -ra controllers <"$root/cgroup.controllers" || true
    for controller in "${controllers[@]}"; do
      if ! printf '+%s\n' "$controller" >"$root/cgroup.subtree_control" 2>/dev/null; then
        ok=0
      fi
    done
    [ "$ok" -eq 1 ] && return 0
    log "enabling cgroup v2 controllers failed (attempt $attempt), retrying"
    sleep 0.2
  done
  log "warning: not every cgroup v2 controller could be enabled: $(cat "$root/cgroup.subtree_control")"
}

if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null || true)" = cgroup2fs ]; then
  log "cgroup v2 host"
  setup_cgroup_v2
else
  log "cgroup v1 host"
  setup_cgroup_v1
fi

# Nested mounts made by the inner engine (volumes, netns) must propagate.
mount --make-rshared / 2>/dev/null || log "warning: cannot make / rshared"

# --- 3. stale state from a previous run of this container ----------------------
# The rootfs (and so /run) survives `docker restart`; dockerd and containerd
# refuse to start while their old pid files exist.
rm -f /run/docker.pid /var/run/docker.pid \
  /run/docker/containerd/containerd.pid /var/run/docker/containerd/containerd.pid \
  /run/containerd/containerd.pid

# --- 4. Consul agent -------------------------------------------------------------
consul-agent-supervise &
agent_pid=$!

# --- 5. dockerd ----------------------------------------------------------------
dockerd "$@" &
dockerd_pid=$!
log "dockerd started (pid $dockerd_pid)"

# shellcheck disable=SC2317 # called from the traps below
forward() {
  log "received SIG$1, stopping dockerd"
  kill -s "$1" "$dockerd_pid" 2>/dev/null || true
}
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0
while :; do
  # wait returns early (status > 128) when a trapped signal arrives; keep
  # waiting until dockerd itself has exited.
  if wait "$dockerd_pid"; then status=0; else status=$?; fi
  kill -0 "$dockerd_pid" 2>/dev/null || break
done
log "dockerd exited with status $status"
# The tasks are gone (and deregistered): now the agent may leave the cluster.
kill -TERM "$agent_pid" 2>/dev/null || true
wait "$agent_pid" 2>/dev/null || true
exit "$status"
