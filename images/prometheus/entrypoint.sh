#!/bin/bash
# Entrypoint of the Prometheus node image (images/prometheus).
#
# Process layout (this script stays the parent and orders the shutdown):
#   entrypoint ─┬─ consul-agent-supervise ── consul agent   (the node's Consul client: the catalog)
#               ├─ supervisor loop ── node consul-http-sd.js (the catalog as HTTP SD, loopback only)
#               └─ prometheus                                (the main process)
# All but the agent run as the `prometheus` user. The program's config script writes prometheus.yml,
# rules.yml and Prometheus's Consul credentials (render/prometheus.ts) and reloads it with SIGHUP.
#
# Environment: PROMETHEUS_CONFIG, PROMETHEUS_DATA (defaults below), PROMETHEUS_RETENTION (7d),
# PROMETHEUS_LISTEN (:9090), CONSUL_HTTP_TOKEN_FILE (the token the bridge reads the catalog with).
set -uo pipefail

PROMETHEUS_CONFIG=${PROMETHEUS_CONFIG:-/etc/prometheus/prometheus.yml}
PROMETHEUS_DATA=${PROMETHEUS_DATA:-/var/lib/prometheus/metrics2}
PROMETHEUS_RETENTION=${PROMETHEUS_RETENTION:-7d}
PROMETHEUS_LISTEN=${PROMETHEUS_LISTEN:-:9090}
export CONSUL_HTTP_TOKEN_FILE=${CONSUL_HTTP_TOKEN_FILE:-/etc/prometheus/consul.token}

log() {
    printf '%s prometheus-entrypoint[%d]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$BASHPID" "$*" >&2
}

as_prometheus() {
    setpriv --reuid=prometheus --regid=prometheus --init-groups -- "$@"
}

# Preflight: a config that does not load fails here, loudly, not in a restart loop.
if ! as_prometheus promtool check config "$PROMETHEUS_CONFIG" >&2; then
    log "promtool check config $PROMETHEUS_CONFIG failed"
    exit 1
fi

consul-agent-supervise &
agent=$!

# The bridge is stateless: restarted if it dies, after a second.
(
    trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM
    while true; do
        as_prometheus node /usr/local/lib/consul-http-sd.js &
        child=$!
        wait "$child"
        log "consul-http-sd exited ($?); restarting in 1 s"
        sleep 1
    done
) &
bridge=$!

# Not through as_prometheus: a function would run in a subshell, and $! would not be Prometheus's pid.
setpriv --reuid=prometheus --regid=prometheus --init-groups -- prometheus \
    --config.file="$PROMETHEUS_CONFIG" \
    --storage.tsdb.path="$PROMETHEUS_DATA" \
    --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
    --web.listen-address="$PROMETHEUS_LISTEN" \
    --web.console.templates=/etc/prometheus/consoles \
    --web.console.libraries=/etc/prometheus/console_libraries &
main=$!
# The config script reloads Prometheus with SIGHUP (render/prometheus.ts PROMETHEUS_PID_FILE).
echo "$main" >/run/prometheus.pid

# shellcheck disable=SC2317 # reached through the trap
stop() {
    log "stopping"
    kill -TERM "$main" 2>/dev/null
    wait "$main"
    kill -TERM "$bridge" "$agent" 2>/dev/null
    wait "$bridge" "$agent"
    exit 0
}
trap stop TERM INT

wait "$main"
status=$?
log "prometheus exited ($status)"
kill -TERM "$bridge" "$agent" 2>/dev/null
wait "$bridge" "$agent"
exit "$status"
