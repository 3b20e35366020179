#!/usr/bin/env bash
# Brings the dev stack up (or previews / tears it down) with a local file:// state backend:
# no Pulumi Cloud account, no cloud credentials.
# Usage: scripts/dev-stack.sh up|preview|down|outputs
#        scripts/dev-stack.sh pulumi ARGS...   any pulumi command against the dev stack and this backend,
#                                              e.g. `scripts/dev-stack.sh pulumi config set --path web.replicas 7`
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-up}"
[ $# -gt 0 ] && shift
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
    # The day-2 commands (config set, preview --diff, up --refresh, stack history…) with the same backend.
    pulumi) pulumi "$@" --stack dev ;;
    *) echo "usage: $0 up|preview|down|outputs|pulumi ARGS..." >&2; exit 2 ;;
esac
