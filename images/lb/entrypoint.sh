#!/bin/bash
# Entrypoint of the LB node image (images/lb): HAProxy + keepalived in one container.
#
# Run with `docker run --init --cap-add NET_ADMIN …` (--init reaps a killed
# haproxy, otherwise pgrep still finds the zombie; NET_ADMIN lets keepalived add
# the VIP — without it the VIP is silently never added). The program uploads
# /etc/haproxy/haproxy.cfg and /etc/keepalived/keepalived.conf before start.
#
# Process layout (this script stays the parent so it can order the shutdown):
#   entrypoint ─┬─ consul-agent-supervise ── consul agent  (node-local Consul
#               │                                          client, restarted)
#               ├─ supervisor loop ── haproxy -db   (restarted when it dies)
#               └─ keepalived --dont-fork --vrrp     (the main process: when it
#                                                     exits, the container exits)
# Start:  validate both configs → start the Consul agent (no-op without its
#         config) → start HAProxy → wait until it answers its
#         monitor URI → start keepalived (init_fail in the rendered config also
#         keeps the node from taking the VIP before its check passes).
# Stop (SIGTERM from `docker stop`, forwarded by --init):
#   1. keepalived first: it sends a priority-0 advert and drops the VIP, so the
#      peer takes over at once while this HAProxy still serves everything that
#      already reached it;
#   2. then HAProxy soft stop (SIGUSR1): stop listening, finish in-flight
#      requests, exit (bounded by hard-stop-after in haproxy.cfg);
#   3. then the Consul agent leaves the cluster.
# Keep `docker stop --time` above a few seconds (default 10 s is fine).
#
# Environment:
#   HAPROXY_CFG, KEEPALIVED_CONF   config paths (defaults below)
#   HAPROXY_RESTART_DELAY          seconds to wait before restarting a dead
#                                  HAProxy (default 3). Must exceed the tracked
#                                  check's interval × fall (1 s × 2 by default):
#                                  a faster restart can come back before
#                                  keepalived declares FAULT, leaving the VIP on a
#                                  node that refuses connections meanwhile.
#   LB_MONITOR_PORT, LB_MONITOR_URI  where HAProxy answers its own health
#                                  (default 80 and /lb-health, as rendered).
#   HAPROXY_DOWN_FILE              keepalived's track_file (render/keepalived.ts):
#                                  1 while HAProxy is not running, else 0; keepalived
#                                  watches it with inotify, so a dead HAProxy releases
#                                  the VIP at once instead of after interval × fall.
#   HANDOVER_GRACE_SECONDS         on stop, after keepalived has handed the VIP over:
#                                  how long HAProxy keeps listening and serving before
#                                  its soft stop (default 1), so requests already
#                                  here finish and late packets are still answered.
set -uo pipefail

HAPROXY_CFG=${HAPROXY_CFG:-/etc/haproxy/haproxy.cfg}
KEEPALIVED_CONF=${KEEPALIVED_CONF:-/etc/keepalived/keepalived.conf}
HAPROXY_RESTART_DELAY=${HAPROXY_RESTART_DELAY:-3}
LB_MONITOR_PORT=${LB_MONITOR_PORT:-80}
LB_MONITOR_URI=${LB_MONITOR_URI:-/lb-health}
CHECK_SCRIPT=${CHECK_SCRIPT:-/usr/local/bin/check_haproxy.sh}
KEEPALIVED_RUN_DIR=/run/keepalived
HAPROXY_DOWN_FILE=${HAPROXY_DOWN_FILE:-$KEEPALIVED_RUN_DIR/haproxy.down}
HANDOVER_GRACE_SECONDS=${HANDOVER_GRACE_SECONDS:-1}

log() {
    printf '%s lb-entrypoint[%d]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$BASHPID" "$*" >&2
}

die() {
    log "FATAL: $*"
    exit 1
}

# HAProxy under a restart loop. Runs in a background subshell; SIGTERM to the
# subshell soft-stops HAProxy and ends the loop once HAProxy has exited.
supervise_haproxy() {
    local stopping=0 pid=0 rc=0
    trap 'stopping=1; if ((pid > 0)); then kill -USR1 "$pid" 2>/dev/null; fi' TERM
    while ((stopping == 0)); do
        haproxy -db -f "$HAPROXY_CFG" &
        pid=$!
        echo 0 >"$HAPROXY_DOWN_FILE"
        log "haproxy started (pid $pid)"
        # `wait` returns early when the TERM trap runs: keep waiting until HAProxy itself is gone.
        while :; do
            rc=0
            wait "$pid" || rc=$?
            kill -0 "$pid" 2>/dev/null || break
        done
        pid=0
        echo 1 >"$HAPROXY_DOWN_FILE"
        if ((stopping)); then
            log "haproxy stopped (status $rc)"
            break
        fi
        log "haproxy exited (status $rc); restarting in ${HAPROXY_RESTART_DELAY}s"
        sleep "$HAPROXY_RESTART_DELAY" &
        wait $! || true
    done
}

KEEPALIVED_PID=0
SUPERVISOR_PID=0
AGENT_PID=0
SHUTTING_DOWN=0

# The virtual IPs of keepalived.conf that are configured on this node right now.
held_vips() {
    local vip
    awk '/virtual_ipaddress[[:space:]]*[{]/ { inside = 1; next } inside && /[}]/ { inside = 0 } inside { print $1 }' "$KEEPALIVED_CONF" |
        while read -r vip; do
            if ip -o addr show | grep -qF " ${vip%/*}/"; then printf '%s\n' "${vip%/*}"; fi
        done
}

# Order matters: VIP away first (graceful VRRP handover), then drain HAProxy.
shutdown() {
    ((SHUTTING_DOWN)) && return
    SHUTTING_DOWN=1
    log "stopping: keepalived first (VIP handover), then haproxy (soft stop)"
    # Requests that reached this node before the handover are answered from the VIP: keep it on lo
    # while HAProxy drains (keepalived removes it from the interface). The container's arp_ignore=1 /
    # arp_announce=2 keep this copy out of ARP, so it attracts no new traffic.
    local vips vip
    vips=$(held_vips)
    for vip in $vips; do
        ip addr add "$vip/32" dev lo 2>/dev/null && log "draining: $vip stays on lo until HAProxy has stopped"
    done
    if ((KEEPALIVED_PID > 0)) && kill -0 "$KEEPALIVED_PID" 2>/dev/null; then
        kill -TERM "$KEEPALIVED_PID" 2>/dev/null
        wait "$KEEPALIVED_PID" 2>/dev/null
    fi
    # The peer's gratuitous ARP redirects new connections; until it has landed, SYNs still arrive here.
    if [[ -n $vips ]]; then
        sleep "$HANDOVER_GRACE_SECONDS"
    fi
    if ((SUPERVISOR_PID > 0)) && kill -0 "$SUPERVISOR_PID" 2>/dev/null; then
        kill -TERM "$SUPERVISOR_PID" 2>/dev/null
        wait "$SUPERVISOR_PID" 2>/dev/null
    fi
    # Last: the Consul agent leaves the cluster (leave_on_terminate) once nothing here needs its DNS.
    if ((AGENT_PID > 0)) && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -TERM "$AGENT_PID" 2>/dev/null
        wait "$AGENT_PID" 2>/dev/null
    fi
    log "stopped"
}

on_signal() {
    shutdown
    exit 0
}

# Any arguments: run them instead of the LB node (the dev edge uses this image as
# plain HAProxy: `haproxy -db -f /etc/haproxy/haproxy.cfg`).
if (($# > 0)); then
    exec "$@"
fi

# --- preflight ----------------------------------------------------------------
# Stale pid files from a previous run of this container make keepalived exit at once.
rm -f /run/keepalived*.pid /run/vrrp.pid /run/checkers.pid /run/bfd.pid
rm -rf "$KEEPALIVED_RUN_DIR"
mkdir -p "$KEEPALIVED_RUN_DIR"
# Directory of HAProxy's runtime socket: root only (the socket itself is mode 600).
install -d -m 700 /run/haproxy

[[ -s $HAPROXY_CFG ]] || die "$HAPROXY_CFG is missing or empty"
# `keepalived -t` exits 0 on a missing file: check existence ourselves.
[[ -s $KEEPALIVED_CONF ]] || die "$KEEPALIVED_CONF is missing or empty"
haproxy -c -q -f "$HAPROXY_CFG" || die "haproxy -c rejected $HAPROXY_CFG"
keepalived -t -f "$KEEPALIVED_CONF" || die "keepalived -t rejected $KEEPALIVED_CONF"

trap on_signal TERM INT

# --- start ----------------------------------------------------------------------
# The node-local Consul agent first: HAProxy's resolvers ask it for the web service's servers
# (until it answers, `init-addr none` keeps the slots empty and the monitor URI keeps failing).
consul-agent-supervise &
AGENT_PID=$!

supervise_haproxy &
SUPERVISOR_PID=$!

# Wait (up to ~10 s) until HAProxy answers, so keepalived's first checks pass.
for _ in $(seq 1 50); do
    if "$CHECK_SCRIPT" "$LB_MONITOR_PORT" "$LB_MONITOR_URI"; then
        log "haproxy answers on :$LB_MONITOR_PORT$LB_MONITOR_URI"
        break
    fi
    sleep 0.2
done

keepalived --dont-fork --vrrp --log-console --log-detail --no-syslog \
    --pid "$KEEPALIVED_RUN_DIR/keepalived.pid" --vrrp_pid "$KEEPALIVED_RUN_DIR/vrrp.pid" \
    -f "$KEEPALIVED_CONF" &
KEEPALIVED_PID=$!
log "keepalived started (pid $KEEPALIVED_PID)"

# Main wait: returns when keepalived exits (or early, when a trapped signal arrives).
rc=0
wait "$KEEPALIVED_PID" || rc=$?
if ((SHUTTING_DOWN == 0)); then
    log "keepalived exited unexpectedly (status $rc): stopping the node"
    KEEPALIVED_PID=0
    shutdown
    exit "$((rc == 0 ? 1 : rc))"
fi
