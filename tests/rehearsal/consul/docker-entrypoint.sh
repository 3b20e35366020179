#!/bin/sh
# Entrypoint of the Consul stand-in image, behaving as the official image's docker-entrypoint.sh
# does for what the program uses (see Dockerfile): `agent ARGS` runs
# `consul agent -data-dir=/consul/data -config-dir=/consul/config ARGS` as the consul user, after
# chowning those two directories to it when they are owned by another user — without ignoring a
# failed chown (the official script runs under `set -e`: a read-only config mount owned by root
# stops the container there, as it would the official image).
set -e
CONSUL_DATA_DIR=${CONSUL_DATA_DIR:-/consul/data}
CONSUL_CONFIG_DIR=${CONSUL_CONFIG_DIR:-/consul/config}
case "${1:-}" in
  -*) set -- consul "$@" ;;
  agent)
    shift
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$@"
    ;;
  version | members | operator | acl | info | leave | join | kv | catalog | services) set -- consul "$@" ;;
esac
if [ "$1" = consul ] && [ -z "${CONSUL_DISABLE_PERM_MGMT+x}" ]; then
  uid=${CONSUL_UID:-$(id -u consul)}
  gid=${CONSUL_GID:-$(id -g consul)}
  [ "$(stat -c %u "$CONSUL_DATA_DIR")" = "$uid" ] || chown "$uid:$gid" "$CONSUL_DATA_DIR"
  [ "$(stat -c %u "$CONSUL_CONFIG_DIR")" = "$uid" ] || chown "$uid:$gid" "$CONSUL_CONFIG_DIR"
  # The official image uses su-exec UID:GID, which needs no passwd entry; BusyBox's su needs a name
  # (root needs no password): a uid the image does not know (the host's consul user, CONSUL_UID on
  # AWS) gets one.
  user=$(awk -F: -v u="$uid" '$3 == u { print $1; exit }' /etc/passwd)
  if [ -z "$user" ]; then
    user=consul-$uid
    echo "$user:x:$uid:$gid:consul:/consul:/sbin/nologin" >>/etc/passwd
  fi
  # shellcheck disable=SC2016 # expanded by the user's shell
  set -- su -s /bin/sh -c 'exec "$0" "$@"' -- "$user" "$@"
fi
exec "$@"
