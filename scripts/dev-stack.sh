#!/usr/bin/env bash
# Brings the dev stack up (or previews / tears it down) with a local file:// state backend:
# no Pulumi Cloud account, no cloud credentials. Usage: scripts/dev-stack.sh up|preview|down|outputs
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-up}"
for tool in pulumi docker; do
    command -v "$tool" >/dev/null || { echo "dev-stack: '$tool' is not installed (see README: Prerequisites)" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "dev-stack: the Docker engine is not reachable (is dockerd running? are you in the docker group?)" >&2; exit 1; }

# State lives in the repo's .pulumi-state/ (git-ignored) unless the caller chose a backend.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
mkdir -p .pulumi-state
# The file backend encrypts secrets with a passphrase; an empty one is fine for a laptop stack.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"

pulumi stack select dev 2>/dev/null || pulumi stack init dev
case "$action" in
    up) pulumi up --stack dev --yes ;;
    preview) pulumi preview --stack dev --diff ;;
    down) pulumi destroy --stack dev --yes ;;
    outputs) pulumi stack output --stack dev --show-secrets ;;
    *) echo "usage: $0 up|preview|down|outputs" >&2; exit 2 ;;
esac
