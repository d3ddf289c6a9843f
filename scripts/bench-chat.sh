#!/usr/bin/env bash
# Chat ingress: SENDERS users chat into one stream at RATE messages/s while VIEWERS
# viewers receive the batches. Release build; the gateway pinned to CPU 0 with one event
# loop, the generator (hawker-load) on CPU 1. Per-user and per-connection rates are
# raised so that the gateway's own cost, not a limit, decides. Prints medians of RUNS
# runs per rate, then the in-process cost per message of each aggregator.
#
#   scripts/bench-chat.sh              # RUNS=3 VIEWERS=1000 SENDERS=1000 RATES="10000 30000 50000"
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
viewers=${VIEWERS:-1000}
senders=${SENDERS:-1000}
rates=${RATES:-"10000 30000 50000"}
duration=${DURATION:-10}
port=${PORT:-19091}
. scripts/bench-common.sh
# Results of earlier runs would mix into the medians.
rm -f "$out"/chat-r*.json "$out"/chat-r*.txt
# Per-user and per-connection rates raised: the gateway's cost decides, not a limit.
limits=(--set session.commands_per_second=100000 --set session.command_burst=100000
    --set chat.user_messages_per_minute=6000 --set chat.user_burst=100)

for rate in $rates; do
    for run in $(seq 1 "$runs"); do
        serve "${limits[@]}"
        taskset -c 1 .build/release/hawker-load chat --url "ws://127.0.0.1:$port" --senders "$senders" --viewers "$viewers" \
            --rate "$rate" --duration "$duration" --server-pid "$server" \
            --json "$out/chat-r$rate-$run.json" >"$out/chat-r$rate-$run.txt" 2>&1 || true
        stop
    done
done

python3 - "$out" "$rates" <<'PY'
import json, statistics, sys, glob
out, rates = sys.argv[1], sys.argv[2].split()
print("| offered (messages/s) | accepted/s (median) | refused | batches per viewer per s | server CPU-µs per accepted message | runs |")
print("|---|---|---|---|---|---|")
for rate in rates:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/chat-r{rate}-*.json"))]
    if not rs:
        print(f"| {rate} | (no result) |"); continue
    med = lambda key: statistics.median(r[key] for r in rs if r.get(key) is not None)
    print(f"| {int(rate):,} | {med('acceptedPerSecond'):,.0f} | {sum(r['refused'] for r in rs)} | {med('batchesPerViewerPerSecond'):.1f} | {med('serverCPUMicrosecondsPerAcceptedMessage'):.1f} | {len(rs)} |")
PY
echo
taskset -c 1 .build/release/hawker-load aggregators --messages 200000 --runs 5 --json "$out/aggregators.json"
