#!/usr/bin/env bash
# Allocator calls per delivery in the gateway process, counted by perf uprobes on libc's
# malloc, calloc, realloc, posix_memalign and aligned_alloc during 8 s of publishing to
# 1,000 viewers at 100 events/s (800 events, after the viewers are connected and before
# they leave). Writes a LoadResult-shaped JSON.
# (valgrind 3.19 here cannot read Swift 6.3 binaries, hence perf.) Sourced environment:
# run from scripts/bench.sh, or alone: scripts/bench/allocations.sh DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-artifacts/bench/results/allocations}
port=${PORT:-19090}
. scripts/bench-common.sh
rm -rf "$dir" && mkdir -p "$dir"
libc=$(ldd "$bin/hawker" | awk '/libc.so.6/ {print $3}')
events=()
for fn in malloc calloc realloc posix_memalign aligned_alloc; do
    perf probe -q -x "$libc" "$fn" 2>/dev/null || true
    events+=("-e" "probe_libc:$fn")
done
if ! perf stat "${events[@]}" true >/dev/null 2>&1; then
    echo "perf uprobes unavailable: no allocation count" >&2
    exit 0
fi
# A fresh data directory: an outbox left by an earlier run would keep the order relay busy.
rm -rf "$out/data"
serve --set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000
taskset -c 1 "$bin/hawker-load" fanout --url "ws://127.0.0.1:$port" --viewers 1000 --events 1000 --rate 100 \
    --warmup 0 --payload 100 --server-pid "$server" --json "$dir/fanout.json" >"$dir/fanout.txt" 2>&1 &
generator=$!
until grep -q "phase 1 started" "$dir/fanout.txt" 2>/dev/null; do sleep 0.05; done
# 8 s inside the 10 s of publishing at 100/s: 800 events to 1,000 viewers. Connecting
# before and closing after are not fan-out, and stay outside the window.
perf stat "${events[@]}" -x, -o "$dir/mallocs.perf" -p "$server" -- sleep 8
wait "$generator" || true
stop
python3 - "$dir" <<'PY'
import json, sys, datetime
d = sys.argv[1]
calls = sum(int(l.split(",")[0]) for l in open(f"{d}/mallocs.perf") if "probe_libc" in l and l.split(",")[0].isdigit())
fanout = json.load(open(f"{d}/fanout.json"))
viewers = next(p["value"] for p in fanout["parameters"] if p["name"] == "viewers")
rate = next(p["value"] for p in fanout["parameters"] if p["name"] == "rate")
events = 8 * rate  # published inside the counting window
delivered = events * viewers
fig = lambda n, l, v, u, d: {"name": n, "label": l, "value": v, "unit": u, "direction": d}
result = {
    "scenario": "allocations", "startedAt": fanout["startedAt"], "machine": fanout["machine"], "failures": [],
    "parameters": fanout["parameters"],
    "figures": [
        fig("allocations", "allocator calls in the gateway", calls, "", "lower"),
        fig("deliveries", "deliveries", delivered, "", "neutral"),
        fig("allocations_per_delivery", "allocator calls per delivery", calls / delivered, "", "lower"),
        fig("allocations_per_event", "allocator calls per event", calls / events, "", "lower"),
    ],
}
json.dump(result, open(f"{d}/run-1.json", "w"), indent=2)
print(f"allocator calls {calls} for {delivered:.0f} deliveries: {calls / delivered:.4f} per delivery, {calls / events:.1f} per event")
PY
echo "perf stat -e probe_libc:{malloc,calloc,realloc,posix_memalign,aligned_alloc} -p <gateway> -- sleep 8, inside hawker-load fanout --viewers 1000 --events 1000 --rate 100 --payload 100" >"$dir/command"
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources LoadTests Package.swift || echo +)" >"$dir/commit"
