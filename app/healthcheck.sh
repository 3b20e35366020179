#!/bin/bash
# Docker HEALTHCHECK for the web service: exit 0 if GET /health answers 200, else 1.
#
# Why bash and not node or curl: Docker runs this every 2 s inside the task's cgroup, so it is paid
# from the task's own CPU limit (web.resources.cpus, 0.25 by default). `node healthcheck.js` cost
# ~0.3 s of CPU per run — 1.0–2.3 s of wall time under a 0.25 quota, during which the server in the
# same cgroup waited for quota and answered in up to 1.2 s (the swarm suite's timeouts). By
# themselves curl costs ~40 ms (its shared libraries) and this script ~2 ms; Docker's exec of any
# check adds ~45 ms: bench/experiments/2026-12-06-healthcheck-cost.md.
#
# The server picks its port at runtime (host networking, see server.js), so the port is read from
# PORT_FILE. What this prints ends up in `docker inspect` (.State.Health.Log), so failures say why.
#
# Environment: PORT_FILE (default /tmp/web.port), BIND_ADDR (the server's; used as the target
# unless it is a wildcard, then loopback), HEALTHCHECK_TIMEOUT_SECONDS (default 2; fractions
# allowed): how long to wait for the answer. The connect is to the task's own address and is
# answered at once (accepted or refused); Docker's own --timeout bounds the whole run anyway.
set -u

fail() {
    echo "$*"
    exit 1
}

port_file=${PORT_FILE:-/tmp/web.port}
timeout=${HEALTHCHECK_TIMEOUT_SECONDS:-}
[[ $timeout =~ ^[0-9]+(\.[0-9]+)?$ && ! $timeout =~ ^0+(\.0+)?$ ]] || timeout=2

case ${BIND_ADDR:-} in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    ::) host=::1 ;;
    *) host=$BIND_ADDR ;;
esac

port=$(cat -- "$port_file" 2>&1) || fail "cannot read $port_file: ${port#cat: }"
port=${port#"${port%%[![:space:]]*}"} # trim, as the file ends with a newline
port=${port%"${port##*[![:space:]]}"}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
    fail "$port_file does not hold a port number"
fi
port=$((10#$port))

# bash opens the TCP connection itself (no child process). The group keeps bash's own error text
# out of the output; the reason is printed below instead.
{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || fail "request failed: cannot connect to $host:$port"
# A server that has closed the connection makes the write fail (not kill this script: SIGPIPE ignored).
trap '' PIPE
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' 2>/dev/null >&3 ||
    fail "request failed: connection closed before the request was sent"

status=
IFS= read -r -t "$timeout" -u 3 status 2>/dev/null
rc=$?
((rc > 128)) && fail "no answer within ${timeout}s"
[[ -n $status ]] || fail "request failed: connection closed without an answer"
status=${status%$'\r'}
[[ $status =~ ^HTTP/1\.[01]\ ([0-9]{3})( |$) ]] || fail "request failed: not an HTTP answer: ${status:0:80}"
[[ ${BASH_REMATCH[1]} == 200 ]] || fail "/health answered ${BASH_REMATCH[1]}"
echo ok
