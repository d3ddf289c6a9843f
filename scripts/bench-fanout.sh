#!/usr/bin/env bash
# First fan-out measurement: 1,000 viewers of one stream on this machine.
# Release build; the gateway pinned to CPU 0 with one event loop, the generator
# (hawker-load) on CPU 1. Prints medians of RUNS runs for each rate, then the
# allocator calls per delivery measured under valgrind's callgrind.
#
#   scripts/bench-fanout.sh            # RUNS=3 VIEWERS=1000 by default
#   ONLY_ALLOCATIONS=1 scripts/bench-fanout.sh   # just the allocation count
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
viewers=${VIEWERS:-1000}
port=${PORT:-19090}
. scripts/bench-common.sh
# Results of earlier runs would mix into the medians.
rm -f "$out"/fanout-r*.json "$out"/fanout-r*.txt
# The publisher sends every event as a command: no command limit in the way.
publisher=(--set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000)

if [ "${ONLY_ALLOCATIONS:-0}" != 1 ]; then
# rate (events/s) x events: 100/s is one message per flush per viewer; 2000/s
# offers 2M deliveries/s, more than one core can write, so writes batch.
for scenario in "100 1000" "2000 6000"; do
    set -- $scenario
    rate=$1 events=$2
    for run in $(seq 1 "$runs"); do
        serve "${publisher[@]}"
        taskset -c 1 .build/release/hawker-load fanout --url "ws://127.0.0.1:$port" --viewers "$viewers" \
            --events "$events" --rate "$rate" --payload 100 --server-pid "$server" \
            --json "$out/fanout-r$rate-$run.json" >"$out/fanout-r$rate-$run.txt" 2>&1 || true
        stop
    done
done

python3 - "$out" "$runs" <<'PY'
import json, statistics, sys, glob, os
out, runs = sys.argv[1], int(sys.argv[2])
print("| rate (events/s) | deliveries | delivered/s (median) | server CPU-µs per delivery (median) | p50 | p99 | p99.9 | coalesced | lost | runs |")
print("|---|---|---|---|---|---|---|---|---|---|")
for rate in (100, 2000):
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/fanout-r{rate}-*.json"))]
    if not rs:
        print(f"| {rate} | (no result) |"); continue
    med = lambda key: statistics.median(r[key] for r in rs if r.get(key) is not None)
    pct = lambda p: statistics.median(next(x["micros"] for x in r["latencyMicroseconds"] if x["percentile"] == p) for r in rs)
    coalesced = sum(r.get("coalesced", 0) for r in rs)
    lost = sum(r["expected"] - r["delivered"] - r.get("coalesced", 0) for r in rs)
    print(f"| {rate} | {rs[0]['expected']} | {med('deliveriesPerSecond'):,.0f} | {med('serverCPUMicrosecondsPerDelivery'):.2f} | {pct(50)/1000:.1f} ms | {pct(99)/1000:.1f} ms | {pct(99.9)/1000:.1f} ms | {coalesced} | {lost} | {len(rs)} |")
PY
fi

# Allocations: uprobes on libc's allocator entry points count every call the
# gateway makes (perf stat -p), whoever the caller. Counting starts once the
# viewers are connected and runs for the publishing window, so it covers
# publishing and fan-out (and two idle seconds). valgrind 3.19 cannot read
# Swift 6.3 binaries, hence perf.
libc=$(ldd .build/release/hawker | awk '/libc.so.6/ {print $3}')
events=()
for fn in malloc calloc realloc posix_memalign aligned_alloc; do
    perf probe -q -x "$libc" "$fn" 2>/dev/null || true
    events+=("-e" "probe_libc:$fn")
done
if perf stat "${events[@]}" true >/dev/null 2>&1; then
    serve "${publisher[@]}"
    rm -f "$out/mallocs.perf"
    taskset -c 1 .build/release/hawker-load fanout --url "ws://127.0.0.1:$port" --viewers "$viewers" \
        --events 1000 --rate 100 --payload 100 --server-pid "$server" \
        --json "$out/mallocs.json" >"$out/mallocs.txt" 2>&1 &
    load=$!
    until grep -q "publishing" "$out/mallocs.txt" 2>/dev/null; do sleep 0.05; done
    # 10 s of publishing at 100/s, plus slack for the last deliveries.
    perf stat "${events[@]}" -x, -o "$out/mallocs.perf" -p "$server" -- sleep 12
    wait "$load" || true
    stop
    python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
calls = sum(int(line.split(",")[0]) for line in open(f"{out}/mallocs.perf") if "probe_libc" in line and line.split(",")[0].isdigit())
delivered = json.load(open(f"{out}/mallocs.json"))["delivered"]
print(f"allocator calls {calls} for {delivered} deliveries: {calls / delivered:.4f} per delivery")
PY
else
    echo "perf uprobes unavailable: no allocation count"
fi
