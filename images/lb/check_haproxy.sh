#!/bin/bash
# keepalived's tracked health check for this LB node (images/lb, rendered as
# vrrp_script "check_haproxy.sh <port> <monitor-uri>" by render/keepalived.ts).
#
# Exit 0 only if HAProxy is running AND answers its monitor-uri on 127.0.0.1.
# Runs every interval, so it stays cheap (no curl, one bash) and can never take
# longer than ~0.5 s: the whole probe runs under coreutils' timeout.
#
# Usage: check_haproxy.sh [port (default 80)] [monitor uri (default /lb-health)]
# CHECK_HAPROXY_HOST=ADDR probes another node's HAProxy instead (no process check): the rolling-
# replacement gate asks whether the peer serves (render/keepalived.ts, renderLbReadyScript).
set -u

port=${1:-80}
uri=${2:-/lb-health}
budget=${CHECK_HAPROXY_TIMEOUT:-0.5}
host=${CHECK_HAPROXY_HOST:-127.0.0.1}

if [[ -z ${CHECK_HAPROXY_PROBE:-} ]]; then
    # Cheapest test first: no process, no need to probe.
    [[ $host != 127.0.0.1 ]] || pgrep -x haproxy >/dev/null || exit 1
    # Re-run this script as the bounded probe; timeout exits 124 (failure) when it expires.
    CHECK_HAPROXY_PROBE=1 exec timeout --kill-after=0.2 "$budget" "$0" "$port" "$uri"
fi

# Probe: HTTP/1.0 request over bash's /dev/tcp, expect "HTTP/1.x 200" on the status line.
{ exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: check_haproxy\r\n\r\n' "$uri" >&3 || exit 1
IFS= read -r status <&3 || exit 1
exec 3>&-
[[ $status == HTTP/1.[01]\ 200\ * || $status == HTTP/1.[01]\ 200$'\r' ]]
