#!/bin/sh
# keepalived's state hook (notify_master/backup/fault/stop in render/keepalived.ts), run by keepalived
# as root on every state change of the VRRP instance:
#   keepalived_metrics.sh <INIT|BACKUP|MASTER|FAULT|STOP> <instance>
# Writes the instance's state and how often it entered each state, in Prometheus's text format, to
# one file that HAProxy's metrics frontend serves at /keepalived/metrics
# (images/lb/keepalived_metrics.lua). keepalived has no Prometheus endpoint of its own; its other
# state interfaces (SNMP, D-Bus) would need an SNMP agent or a D-Bus daemon on every LB node. Its
# notify hooks are the interface it documents for state changes (keepalived.conf(5), notify_master).
#
# The counters live beside the file and start from 0 when the node starts (the LB image's entrypoint
# clears /run/keepalived; Prometheus's increase() takes that as a counter reset).
# keepalived may start the next hook before this one ends: flock serialises them.
set -eu

state=${1:-}
instance=${2:-}
case "$state" in
INIT) code=0 ;;
BACKUP) code=1 ;;
MASTER) code=2 ;;
FAULT) code=3 ;;
STOP) code=4 ;;
*)
    echo "usage: $0 <INIT|BACKUP|MASTER|FAULT|STOP> <instance>" >&2
    exit 2
    ;;
esac
case "$instance" in
'' | *[!A-Za-z0-9_.-]*)
    echo "$0: instance must match [A-Za-z0-9_.-]+ (got '$instance')" >&2
    exit 2
    ;;
esac

file=${KEEPALIVED_METRICS_FILE:-/run/keepalived/vrrp.prom}
dir=$(dirname "$file")
mkdir -p "$dir"
exec 9>"$file.lock"
flock 9

backup=0 master=0 fault=0 stop=0
if [ -f "$file.counts" ]; then
    while read -r key value; do
        case "$value" in '' | *[!0-9]*) continue ;; esac
        case "$key" in
        backup) backup=$value ;;
        master) master=$value ;;
        fault) fault=$value ;;
        stop) stop=$value ;;
        esac
    done <"$file.counts"
fi
case "$state" in
BACKUP) backup=$((backup + 1)) ;;
MASTER) master=$((master + 1)) ;;
FAULT) fault=$((fault + 1)) ;;
STOP) stop=$((stop + 1)) ;;
esac
printf 'backup %s\nmaster %s\nfault %s\nstop %s\n' "$backup" "$master" "$fault" "$stop" >"$file.counts"

# Renamed into place: HAProxy never serves a half-written file.
tmp=$(mktemp "$dir/.vrrp.prom.XXXXXX")
{
    echo "# HELP keepalived_vrrp_state State of the VRRP instance: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP."
    echo "# TYPE keepalived_vrrp_state gauge"
    printf 'keepalived_vrrp_state{vrrp_instance="%s"} %s\n' "$instance" "$code"
    echo "# HELP keepalived_vrrp_transitions_total Times the VRRP instance entered each state since the node started."
    echo "# TYPE keepalived_vrrp_transitions_total counter"
    printf 'keepalived_vrrp_transitions_total{vrrp_instance="%s",state="BACKUP"} %s\n' "$instance" "$backup"
    printf 'keepalived_vrrp_transitions_total{vrrp_instance="%s",state="MASTER"} %s\n' "$instance" "$master"
    printf 'keepalived_vrrp_transitions_total{vrrp_instance="%s",state="FAULT"} %s\n' "$instance" "$fault"
    printf 'keepalived_vrrp_transitions_total{vrrp_instance="%s",state="STOP"} %s\n' "$instance" "$stop"
} >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$file"
