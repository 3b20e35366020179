#!/usr/bin/env bash
# `npm run test:mutation [-- --force]`: StrykerJS's two passes (tests/mutation/*.stryker.mjs), then
# the score per folder against the goal (tools/mutation/score.ts). Arguments go to both passes:
# `--force` reruns every mutant instead of only those whose code or tests changed (incremental).
# Prints each pass's wall time: the whole run is meant to stay near 30 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
for pass in layers components; do
    start=$(date +%s)
    npx stryker run "tests/mutation/$pass.stryker.mjs" "$@" || exit 1
    echo "mutation pass $pass: $(($(date +%s) - start)) s"
done
npx ts-node --transpile-only tools/mutation/score.ts
