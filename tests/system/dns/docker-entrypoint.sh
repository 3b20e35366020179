#!/bin/sh
# Stand-in for the official Consul image's docker-entrypoint.sh, so the system tests can run the
# Consul agent container's declared entrypoint and command unchanged: `docker-entrypoint.sh agent`
# starts the agent there; here it starts the DNS stand-in (the agent's DNS interface is all the LB
# node uses).
set -u
if [ "${1:-}" != agent ]; then
    echo "consul-dns: only 'docker-entrypoint.sh agent' is stood in for (got: $*)" >&2
    exit 64
fi
exec /usr/local/bin/consul-dns
