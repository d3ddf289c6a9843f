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
# The tool reports a benchmark whose setup failed, or that did not build, and then compares
# nothing with the thresholds as "EQUAL": a check that measured nothing must fail, not pass.
# (It names a benchmark only when it deviates.)
if grep -qE "setup failed|failed to run|Benchmark failed" "$log" || ! grep -q "Running Benchmarks" "$log"; then
    echo "alloc-check: the benchmarks did not run: nothing was measured" >&2
    exit 1
fi
exit "$status"
