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
else
    swift package benchmark thresholds check --target FanoutAllocations --no-progress --path "$PWD/Thresholds"
fi
