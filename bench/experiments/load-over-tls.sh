#!/bin/sh
# Experiment (bench/experiments/2026-12-06-load-over-tls.md): what the load generator and HAProxy
# spend on 100 requests/s over HTTPS, a new connection per request against connections kept alive,
# with plain HTTP beside it. A local HAProxy answers every request itself (`http-request return`), on
# a plain and a TLS bind with the dev edge's TLS settings and an ECDSA P-256 leaf from a throwaway CA.
#
# Run from the repository root: sh bench/experiments/load-over-tls.sh [seconds]
set -eu
if ss -ltn | grep -Eq "127.0.0.1:(39080|39443) "; then echo "ports 39080/39443 are in use" >&2; exit 1; fi
secs=${1:-10}
dir=$(mktemp -d)
trap 'kill "$(cat "$dir/pid")" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -subj /CN=experiment-ca -days 1 -out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
openssl req -new -key leaf.key -subj /CN=localhost -out leaf.csr
printf 'subjectAltName=IP:127.0.0.1\n' >ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out leaf.pem 2>/dev/null
cat leaf.pem leaf.key >edge.pem
cat >haproxy.cfg <<CFG
global
    maxconn 4096
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
defaults
    mode http
    timeout connect 250ms
    timeout client 5m
    timeout server 5m
frontend web
    bind 127.0.0.1:39443 ssl crt $dir/edge.pem
    bind 127.0.0.1:39080
    http-request return status 200 content-type text/plain string "ok task=experiment"
CFG
haproxy -f haproxy.cfg -D -p "$dir/pid"
sleep 0.5
cd - >/dev/null
pid=$(cat "$dir/pid")
tick=$(getconf CLK_TCK)
for url in http://127.0.0.1:39080/ https://127.0.0.1:39443/; do
    for connections in per-request keep-alive; do
        before=$(awk '{print $14+$15}' "/proc/$pid/stat")
        out=$(EXPERIMENT_CA="$dir/ca.pem" npx ts-node --transpile-only -e '
            import * as fs from "fs";
            import { runLoad, summarize } from "./tests/system/load";
            import { trustCa } from "./tests/system/probe";
            const [url, secs, connections] = process.argv.slice(1);
            trustCa(fs.readFileSync(process.env.EXPERIMENT_CA!, "utf8"));
            const cpu0 = process.cpuUsage(), t0 = performance.now();
            runLoad({ url, ratePerSecond: 100, durationMs: Number(secs) * 1000, connections: connections as "keep-alive" }).then((run) => {
                const cpu = process.cpuUsage(cpu0), wall = performance.now() - t0, s = summarize(run);
                console.log(`failed ${s.failed}/${s.requests} generator CPU ${Math.round(((cpu.user + cpu.system) / 10) / wall)} % p50 ${s.latencyMs.p50.toFixed(1)} ms p99 ${s.latencyMs.p99.toFixed(1)} ms stalls ${s.clientStalls.count}`);
            });' "$url" "$secs" "$connections")
        after=$(awk '{print $14+$15}' "/proc/$pid/stat")
        echo "$url $connections: $out; HAProxy CPU $(( (after - before) * 100 / tick / secs )) %"
    done
done
