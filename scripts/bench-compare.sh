#!/usr/bin/env bash
# Two gateway builds side by side in the same run: the fan-out, connect-storm and idle
# scenarios of the benchmark suite against build A and build B, alternating run by run (A, B, A, B ...) so that the
# machine's drift falls on both, then each figure's median per side and the ratio B/A.
#
#   scripts/bench-compare.sh BASE_REV [RUNS]       # A: hawker built at git revision BASE_REV
#                                                  # (in .build-base/), B: this tree
#   BASE_BIN=/path/to/hawker scripts/bench-compare.sh - [RUNS]   # A: a binary you built
#   BENCH_SCENARIOS="fanout-1k-100 fanout-1k-2000" ...             # only these scenarios
#                         (fanout-1k-100 fanout-1k-2000 fanout-10k-5 connect-storm-10k idle-19k
#                          many-streams chat-50k flash-sale-10k checkouts-5k; by default the first five)
#
# The gateway runs pinned to CPU 0 with one event loop, the generator (this tree's
# hawker-load) on CPU 1, as in scripts/bench.sh. Results: artifacts/bench-compare/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base_rev=${1:?usage: scripts/bench-compare.sh BASE_REV [RUNS]}
runs=${2:-5}
out=artifacts/bench-compare
rm -rf "$out" && mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}
port=${BENCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

swift build -c release --product hawker >/dev/null
swift build -c release --product hawker-load >/dev/null
cp .build/release/hawker "$out/hawker-b"
if [ "$base_rev" = - ]; then
    cp "${BASE_BIN:?BASE_BIN must name the baseline binary}" "$out/hawker-a"
else
    # A worktree of the base revision with its own build folder, kept between runs.
    base=.build-base
    if [ ! -d "$base/src" ]; then git worktree add --detach "$base/src" "$base_rev" >/dev/null; fi
    git -C "$base/src" checkout -q --detach "$base_rev"
    swift build -c release --product hawker --package-path "$base/src" --scratch-path "$root/$base/build" >/dev/null
    cp "$base/build/release/hawker" "$out/hawker-a"
fi
ulimit -n "$(ulimit -Hn)"
publisher=(--set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000)
# Chat and checkouts: the per-user and per-connection limits raised as in scripts/bench.sh.
limits=(--set session.commands_per_second=100000 --set session.command_burst=100000
    --set chat.user_messages_per_minute=6000 --set chat.user_burst=100 --set orders.demo_delay_ms=20
    --set quota.chat_per_minute=600000 --set quota.chat_burst=100000
    --set quota.checkouts_per_minute=600000 --set quota.checkout_burst=100000)

run() { # SIDE NAME RUN hawker-load args...
    local side=$1 name=$2 run=$3
    shift 3
    mkdir -p "$out/$side/$name"
    rm -rf "$out/data"
    local extra=()
    case $name in chat-* | flash-sale-* | checkouts-*) extra=("${limits[@]}") ;; esac
    taskset -c 0 "$out/hawker-$side" serve --port "$port" --data-dir "$out/data" \
        --set event_loops=1 --set log.level=warning "${publisher[@]}" ${extra[@]+"${extra[@]}"} >"$out/server-$side.log" 2>&1 &
    local server=$!
    for _ in $(seq 1 1200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    kill -0 "$server" 2>/dev/null || { echo "gateway $side did not start (see $out/server-$side.log)" >&2; exit 1; }
    taskset -c 1 .build/release/hawker-load "$@" --url "ws://127.0.0.1:$port" --server-pid "$server" \
        --json "$out/$side/$name/run-$run.json" >"$out/$side/$name/run-$run.txt" 2>&1 \
        || echo "   ($side $name run $run failed, see $out/$side/$name/run-$run.txt)" >&2
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}

scenarios=(
    "fanout-1k-100|fanout --viewers 1000 --events 1000 --rate 100 --payload 100"
    "fanout-1k-2000|fanout --viewers 1000 --events 6000 --rate 2000 --payload 100"
    "fanout-10k-5|fanout --viewers 10000 --events 150 --rate 5 --warmup 10 --payload 100"
    "connect-storm-10k|connect-storm --viewers 10000 --processes 2"
    "idle-19k|idle --viewers 19000 --hold 10"
    "many-streams|many-streams --streams 4900 --viewers-per-stream 4 --events 25000 --rate 2500"
    "chat-50k|chat --senders 1000 --viewers 1000 --rate 50000 --duration 10"
    "flash-sale-10k|flash-sale --buyers 10000 --units 100"
    "checkouts-5k|checkouts --buyers 200 --rate 5000 --duration 10"
)
# Without BENCH_SCENARIOS: the fan-out, connect-storm and idle ones, as before.
default_scenarios="fanout-1k-100 fanout-1k-2000 fanout-10k-5 connect-storm-10k idle-19k"
for entry in "${scenarios[@]}"; do
    name=${entry%%|*}
    # BENCH_SCENARIOS="fanout-1k-100 fanout-1k-2000": only these.
    if [[ " ${BENCH_SCENARIOS:-$default_scenarios} " != *" $name "* ]]; then continue; fi
    read -r -a args <<<"${entry#*|}"
    for n in $(seq 1 "$runs"); do
        echo "== $name, run $n of $runs (a, then b)" >&2
        run a "$name" "$n" "${args[@]}"
        run b "$name" "$n" "${args[@]}"
    done
done

python3 - "$out" "${scenarios[@]%%|*}" <<'EOF' | tee "$out/summary.md"
import json, statistics, sys, glob
out, names = sys.argv[1], sys.argv[2:]
figures = ["server_cpu_us_per_delivery", "deliveries_per_second", "latency_p50", "latency_p99", "server_rss_kib", "lost", "reordered",
    "handshakes_per_second", "server_cpu_us_per_handshake", "rss_kib_per_connection", "server_cpu_us_per_event_ingest",
    "server_cpu_us_per_delivery_fanout_only", "accepted", "accepted_per_second", "ack_p50_ms", "ack_p99_ms", "server_cpu_us_per_checkout",
    "server_cpu_us_per_message"]
def load(side, name):
    runs = []
    for path in sorted(glob.glob(f"{out}/{side}/{name}/run-*.json")):
        result = json.load(open(path))
        values = {f["name"]: f["value"] for f in result.get("figures", [])}
        latency = result.get("latency") or {}
        if latency:
            values["latency_p50"] = latency.get("p50Micros", 0) / 1000
            values["latency_p99"] = latency.get("p99Micros", 0) / 1000
        runs.append(values)
    return runs
print("| scenario | figure | a (median) | b (median) | b/a | runs |")
print("|---|---|---|---|---|---|")
for name in names:
    a, b = load("a", name), load("b", name)
    for figure in figures:
        va = [r[figure] for r in a if figure in r]
        vb = [r[figure] for r in b if figure in r]
        if not va or not vb:
            continue
        ma, mb = statistics.median(va), statistics.median(vb)
        ratio = f"×{mb / ma:.2f}" if ma else "n/a"
        unit = " ms" if figure.startswith("latency") else ""
        print(f"| {name} | {figure}{unit} | {ma:,.2f} | {mb:,.2f} | {ratio} | {len(va)}/{len(vb)} |")
EOF
echo "each run: $out/{a,b}/<scenario>/run-N.json (hawker-load compare a.json b.json for one pair)" >&2
