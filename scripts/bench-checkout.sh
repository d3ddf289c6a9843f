#!/usr/bin/env bash
# Checkout: (1) a flash sale of UNITS units hit by each of BUYERS buyers at once
# (accepted count and checkout ack latency), (2) durable checkouts per second at fixed offered RATES on a
# stock that does not run out (accepted/s, ack latency, checkouts per outbox commit).
# Release build; the gateway pinned to CPU 0 with one event loop and the demo backend
# (its relay shares the core), the generator on CPU 1. Medians of RUNS runs.
#
#   scripts/bench-checkout.sh     # RUNS=3 BUYERS="1000 10000" UNITS=100 RATES="2000 5000 8000"
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
buyers=${BUYERS:-"1000 10000"}
units=${UNITS:-100}
rates=${RATES:-"2000 5000 8000"}
duration=${DURATION:-10}
port=${PORT:-19092}
. scripts/bench-common.sh
rm -f "$out"/flash-*.json "$out"/flash-*.txt "$out"/checkouts-r*.json "$out"/checkouts-r*.txt
# 10,000 buyers need 10,000 sockets on each side.
ulimit -n "$(ulimit -Hn)"  # 20,000 here: enough for 10,000 per process
# The demo backend answers in 20 ms so that the relay keeps up and its work (delivery,
# outcome, the buyer's notice) is part of the measured cost per checkout.
limits=(--set session.commands_per_second=100000 --set session.command_burst=100000 --set orders.demo_delay_ms=20)

for count in $buyers; do
    for run in $(seq 1 "$runs"); do
        rm -rf "$out/data"
        serve "${limits[@]}"
        taskset -c 1 .build/release/hawker-load flash-sale --url "ws://127.0.0.1:$port" --buyers "$count" --units "$units" \
            --server-pid "$server" --json "$out/flash-b$count-$run.json" >"$out/flash-b$count-$run.txt" 2>&1 || true
        stop
    done
done
for rate in $rates; do
    for run in $(seq 1 "$runs"); do
        rm -rf "$out/data"
        serve "${limits[@]}"
        taskset -c 1 .build/release/hawker-load checkouts --url "ws://127.0.0.1:$port" --buyers 200 --rate "$rate" \
            --duration "$duration" --server-pid "$server" --json "$out/checkouts-r$rate-$run.json" >"$out/checkouts-r$rate-$run.txt" 2>&1 || true
        stop
    done
done

python3 - "$out" "$rates" "$buyers" "$units" <<'PY'
import json, statistics, sys, glob
out, rates, buyers, units = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
print(f"Flash sale on {units} units, every buyer checking out at once:")
print("| buyers | run | accepted | sold_out | other | unanswered | ack p50 (ms) | ack p99 (ms) | max (ms) | all answered in (s) | server CPU-µs per checkout |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for count in buyers.split():
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/flash-b{count}-*.json"))]
    for i, r in enumerate(rs, 1):
        l = r["ackLatency"]
        cpu = (r.get("serverCPUMilliseconds") or 0) * 1000 / r["buyers"]
        print(f"| {int(count):,} | {i} | {r['accepted']} | {r['soldOut']} | {sum(r['other'].values())} | {r['unanswered']} | {l['p50']:.1f} | {l['p99']:.1f} | {l['max']:.1f} | {r['seconds']:.2f} | {cpu:.0f} |")
    if rs:
        med = lambda f: statistics.median(f(r) for r in rs)
        print(f"| {int(count):,} | median | {med(lambda r: r['accepted']):.0f} | | | | {med(lambda r: r['ackLatency']['p50']):.1f} | {med(lambda r: r['ackLatency']['p99']):.1f} | {med(lambda r: r['ackLatency']['max']):.1f} | {med(lambda r: r['seconds']):.2f} | |")
print()
print("Durable checkouts (200 buyers, open loop):")
print("| offered (checkouts/s) | accepted/s (median) | refused | unanswered | ack p50 (ms) | ack p99 (ms) | outbox writes per commit | server CPU-µs per checkout | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for rate in rates:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/checkouts-r{rate}-*.json"))]
    if not rs:
        print(f"| {rate} | (no result) |"); continue
    med = lambda f: statistics.median(f(r) for r in rs)
    print(f"| {int(rate):,} | {med(lambda r: r['acceptedPerSecond']):,.0f} | {sum(r['refused'] for r in rs)} | {sum(r['unanswered'] for r in rs)} | "
          f"{med(lambda r: r['ackLatency']['p50']):.1f} | {med(lambda r: r['ackLatency']['p99']):.1f} | {med(lambda r: r.get('writesPerCommit') or 0):.1f} | "
          f"{med(lambda r: r.get('serverCPUMicrosecondsPerCheckout') or 0):.1f} | {len(rs)} |")
PY
