#!/usr/bin/env bash
# `npm run bench [-- <jest arguments>]`: the system suites (tests/system) in bench mode, then the
# tables generated from the results.
# - BENCH_WRITE=1: each figure is asserted against its goal (CI asserts correctness and wider
#   timing margins instead), and each suite writes bench/results.json and the chart
#   when it ends — only from a clean tree (commit first; BENCH_ALLOW_DIRTY=1 records the working
#   tree's hash instead), with the suite's settings and the machine measured at run time.
# - then `npm run bench:tables` writes bench/results.md and the tables of README.md and tests/system/README.md from
#   bench/results.json (tests/bench/tables.test.ts fails while they differ), even when a goal was
#   missed: the documents show what was measured. The exit status is the suites'.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BENCH_WRITE=1 npx jest -c tests/system/jest.config.js --runInBand "$@"
status=$?
npx ts-node --transpile-only tests/system/tables.ts || status=1
exit "$status"
