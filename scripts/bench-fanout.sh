#!/usr/bin/env bash
# First fan-out measurement: 1,000 viewers of one stream on this machine.
# Release build; the gateway pinned to CPU 0 with one event loop, the generator
# (hawker-load) on CPU 1. Prints medians of RUNS runs for each rate, then the
# allocator calls per delivery measured under valgrind's callgrind.
#
#   scripts/bench-fanout.sh            # RUNS=3 VIEWERS=1000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
viewers=${VIEWERS:-1000}
out=artifacts/bench
mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}
port=${PORT:-19090}

swift build -c release --product hawker >/dev/null
swift build -c release --product hawker-load >/dev/null

serve() {
    "$@" .build/release/hawker serve --port "$port" --data-dir "$out/data" \
        --set event_loops=1 --set log.level=warning --set session.publisher_commands_per_second=1000000 \
        --set session.publisher_command_burst=1000000 >"$out/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "server did not start" >&2; exit 1
}

stop() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }

# rate (events/s) x events: 100/s is one message per flush per viewer; 2000/s
# offers 2M deliveries/s, more than one core can write, so writes batch.
for scenario in "100 1000" "2000 6000"; do
    set -- $scenario
    rate=$1 events=$2
    for run in $(seq 1 "$runs"); do
        serve taskset -c 0
        taskset -c 1 .build/release/hawker-load fanout --url "ws://127.0.0.1:$port" --viewers "$viewers" \
            --events "$events" --rate "$rate" --payload 100 --server-pid "$server" \
            --json "$out/fanout-r$rate-$run.json" >"$out/fanout-r$rate-$run.txt" 2>&1 || true
        stop
    done
done

python3 - "$out" "$runs" <<'PY'
import json, statistics, sys, glob, os
out, runs = sys.argv[1], int(sys.argv[2])
print("| rate (events/s) | deliveries | delivered/s (median) | server CPU-µs per delivery (median) | p50 | p99 | p99.9 | lost | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for rate in (100, 2000):
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/fanout-r{rate}-*.json"))]
    if not rs:
        print(f"| {rate} | (no result) |"); continue
    med = lambda key: statistics.median(r[key] for r in rs if r.get(key) is not None)
    pct = lambda p: statistics.median(next(x["micros"] for x in r["latencyMicroseconds"] if x["percentile"] == p) for r in rs)
    lost = sum(r["expected"] - r["delivered"] for r in rs)
    print(f"| {rate} | {rs[0]['expected']} | {med('deliveriesPerSecond'):,.0f} | {med('serverCPUMicrosecondsPerDelivery'):.2f} | {pct(50)/1000:.1f} ms | {pct(99)/1000:.1f} ms | {pct(99.9)/1000:.1f} ms | {lost} | {len(rs)} |")
PY

# Allocations: callgrind counts every call into the allocator, whoever makes it.
# Counters are zeroed once the viewers are connected and dumped after the last
# delivery, so the count covers publishing and fan-out only.
if command -v valgrind >/dev/null; then
    rm -f "$out"/callgrind.out.*
    serve valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" --collect-atstart=yes
    taskset -c 1 .build/release/hawker-load fanout --url "ws://127.0.0.1:$port" --viewers "$viewers" \
        --events 100 --rate 5 --payload 100 \
        --before-publish "callgrind_control -z $server >/dev/null" \
        --after-delivery "callgrind_control -d $server >/dev/null" \
        --json "$out/mallocs.json" >"$out/mallocs.txt" 2>&1 || true
    stop
    # The first dump (".1") is the one taken right after the last delivery.
    dump=$(ls "$out"/callgrind.out.*.1 2>/dev/null | head -1)
    delivered=$(python3 -c "import json;print(json.load(open('$out/mallocs.json'))['delivered'])")
    python3 scripts/count_mallocs.py "$dump" "$delivered"
else
    echo "valgrind not installed: no allocation count"
fi
