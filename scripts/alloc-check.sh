#!/usr/bin/env bash
# The allocation threshold: Benchmarks/ (ordo-one/benchmark, its own package) runs a real
# gateway in process with 1,000 viewers and counts every malloc per 1,000,000 deliveries;
# the check fails when the count passes the limit checked in under Benchmarks/Thresholds/.
#
#   scripts/alloc-check.sh          # check (CI)
#   scripts/alloc-check.sh run      # just run and print the figures
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
if [ "${1:-check}" = run ]; then
    swift package benchmark --target FanoutAllocations --no-progress
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift package benchmark thresholds check --target FanoutAllocations --no-progress --path "$PWD/Thresholds" 2>&1 | tee "$log" || status=$?
# The tool reports a failed setup and then compares nothing with the thresholds as "EQUAL":
# a check that measured nothing must fail, not pass.
if grep -q "setup failed" "$log"; then
    echo "alloc-check: the benchmark did not run (setup failed): nothing was measured" >&2
    exit 1
fi
if ! grep -q "FanoutMallocs" "$log"; then
    echo "alloc-check: no FanoutMallocs result in the output: nothing was measured" >&2
    exit 1
fi
exit "$status"
