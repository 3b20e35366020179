#!/bin/sh
# Runs dnsmasq in the foreground and restarts it whenever it exits: the system tests change the
# records by rewriting /etc/consul-dns/records.conf and killing dnsmasq (SIGHUP does not reread
# srv-host/host-record). Exits on SIGTERM (docker stop).
set -u
trap 'exit 0' TERM INT
while :; do
    dnsmasq --keep-in-foreground --conf-file=/etc/consul-dns/dnsmasq.conf &
    wait $! || true
    sleep 0.02
done
