#!/usr/bin/env bash
# Membership add/remove, 20 trials, at a given commit, with or without busy loops on the host.
# Usage (from the repository root, after scripts/system-setup.sh; run alone: it measures timings):
#   bench/experiments/2026-12-05-membership-add/run.sh <commit> <busy loops, 0 for none>
# The commit is exported to a temporary folder (git archive) that uses this checkout's node_modules,
# so the working tree is not touched; the busy loops run in their own process group for at most
# 25 min and end with the run.
set -euo pipefail
commit=$1
loops=$2
repo=$(git rev-parse --show-toplevel)
tree=$(mktemp -d /tmp/membership-add.XXXXXX)
trap 'rm -rf "$tree"; [[ -n ${hog:-} ]] && kill -- "-$hog" 2>/dev/null || true' EXIT
git -C "$repo" archive "$commit" | tar -x -C "$tree"
ln -s "$repo/node_modules" "$tree/node_modules"
echo "commit=$(git -C "$repo" rev-parse "$commit") loops=$loops start=$(date -Is) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
if ((loops > 0)); then
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid timeout 1500 sh -c 'for i in $(seq "$0"); do (while :; do :; done) & done; wait' "$loops" </dev/null >/dev/null 2>&1 &
    hog=$!
    sleep 45
    echo "busy loops running: loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
fi
cd "$tree"
SYSTEM_TEST_MEMBERSHIP_TRIALS=20 npx jest -c tests/system/jest.config.js --runInBand tests/system/dataplane -t membership 2>&1 |
    grep -E '^\[system\]|^(PASS|FAIL) '
echo "end=$(date -Is) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
