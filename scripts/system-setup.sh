#!/usr/bin/env bash
# Prepares this machine for the system tests and the benchmark (tests/system, `npm run test:system`,
# `npm run bench`): installs Docker and the tools, starts the engine, makes the debian:bookworm-slim
# base image locally when it is missing (no registry needed), and builds the images the tests run:
# the LB image, the web image, the swarm-node image (the swarm suite's Docker-in-Docker nodes) and the
# Consul DNS stand-ins. Idempotent: re-running only rebuilds what changed (Docker's layer cache).
#
# Usage: scripts/system-setup.sh            (as root on Debian 12; CI machines are)
# Env:   BASE_IMAGE    name of the base image to make when missing (default debian:bookworm-slim,
#                      which the Dockerfiles use; another name only to test this script)
#        WEB_VERSION   web image version to pre-build (default: Pulumi.dev.yaml's web.version)
#        SKIP_APT=1    do not apt-get install (tools already there)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'system-setup: %s\n' "$*" >&2; }

# --- packages -------------------------------------------------------------------------------------
need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v curl >/dev/null || need_pkgs+=(curl)
# `npm run bench` draws bench/requests-over-time.png with gnuplot (cairo PNG terminal, no X11).
command -v gnuplot >/dev/null || need_pkgs+=(gnuplot-nox)
# debootstrap --variant=minbase needs these on the host.
command -v gpgv >/dev/null || need_pkgs+=(gpgv)
[[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || need_pkgs+=(debian-archive-keyring)
if ((${#need_pkgs[@]} > 0)); then
    if [[ ${SKIP_APT:-0} == 1 ]]; then
        log "missing ${need_pkgs[*]} and SKIP_APT=1"
        exit 1
    fi
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- engine ---------------------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || {
        log "dockerd did not come up; see /var/log/dockerd.log"
        exit 1
    }
fi

# --- base image -----------------------------------------------------------------------------------
# Docker Hub is not reachable here: build debian:bookworm-slim from Debian's own mirror.
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /tmp/bookworm-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase bookworm ($mirror), ~30 s"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
    # Like the official slim image: no apt caches or docs kept inside layers built on top.
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'Acquire::GzipIndexes "true";\n' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
    printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    # debootstrap leaves the downloaded .debs behind (~30 MB).
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    log "imported $BASE_IMAGE"
fi

# --- images ---------------------------------------------------------------------------------------
# The tests build the images again from the program's graph (same Dockerfiles and build args, so
# this is a cache hit); building here makes the first test run fast and fails early on a bad build.
web_version=${WEB_VERSION:-$(sed -n 's/^ *version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' Pulumi.dev.yaml | head -n 1)}
web_version=${web_version:-1.0.0}
log "building images (consul and consul-dns stand-ins, lb, swarm-node, prometheus, web $web_version)"
# The build context is the repo root, sent as a tar on stdin without node_modules/.git (~250 MB
# that would make every cached build take ~30 s): the same directories .dockerignore keeps out of
# the program's own builds, left out here by tar because a context on stdin is sent whole.
build() {
    local dockerfile=$1 tag=$2
    shift 2
    tar -C . --exclude=./node_modules --exclude=./.git --exclude=./.pulumi-state --exclude=./bench/tmp -c . |
        docker build -q -f "$dockerfile" -t "$tag" "$@" - >/dev/null
}
# Consul cannot be pulled here: the node images take their consul binary from a stand-in.
build tests/system/consul/Dockerfile swarm-platform-systest/consul-standin:local
build images/lb/Dockerfile swarm-platform-systest/lb:local --build-arg CONSUL_IMAGE=swarm-platform-systest/consul-standin:local
build images/swarm-node/Dockerfile swarm-platform-systest/swarm-node:local --build-arg CONSUL_IMAGE=swarm-platform-systest/consul-standin:local
# The monitoring node the data-plane suite runs beside the plane (Debian's prometheus and nodejs).
build images/prometheus/Dockerfile swarm-platform-systest/prometheus:local --build-arg CONSUL_IMAGE=swarm-platform-systest/consul-standin:local
build images/web/Dockerfile "swarm-platform-systest/web:$web_version" --build-arg "APP_VERSION=$web_version"
# The Consul agent DNS stand-in (Consul's answer shape) runs on the web image's Node.js.
build tests/system/consul/dns.Dockerfile swarm-platform-systest/consul-dns:local --build-arg "NODE_IMAGE=swarm-platform-systest/web:$web_version"

# --- boot rehearsal (tests/rehearsal, `npm run test:rehearsal`) --------------------------------------
# The rehearsal's "AMI" (Debian 12 with systemd, cloud-init, awscli and the roles' packages) and its
# Consul stand-in (hashicorp/consul cannot be pulled here). Cached after the first build (~2 min).
log "building the boot rehearsal images (node, consul stand-in)"
build tests/rehearsal/node/Dockerfile swarm-platform-rehearsal/node:local
build tests/rehearsal/consul/Dockerfile swarm-platform-rehearsal/consul-standin:local
log "ready"
