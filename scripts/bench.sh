#!/usr/bin/env bash
# The benchmark suite: every standard scenario against a release build, RUNS runs each,
# then BENCHMARKS.md regenerated from the results (medians, the targets of
# ../PERFORMANCE.md, the commands) and one HTML report with every run.
#
#   scripts/bench.sh                      # everything (about 30 minutes), RUNS=3
#   scripts/bench.sh fanout idle          # some groups; BENCHMARKS.md is rewritten from
#                                         # every result present in artifacts/bench/results
#   WRITE=0 scripts/bench.sh slow         # measure only
#
# Groups: fanout fanout-10k sweep many-streams idle connect-storm slow chat checkout
# aggregators allocations; loops: fanout-1k-100, fanout-10k-5 and flash-sale-10k with
# event_loops=2 on both CPUs; and uws-fanout uws-fanout-10k uws-idle (or uws: all three):
# fanout-1k-100, fanout-10k-5 and idle-19k against a uWebSockets peer
# (scripts/bench/uws_peer.py, socketify in a venv under artifacts/bench), for Hawker ÷ uWS
# in BENCHMARKS.md. The gateway (or the peer) runs pinned to CPU 0 with one event loop, the
# generator (hawker-load, and its worker processes) on CPU 1; a fresh gateway and data
# directory for every run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
port=${PORT:-19090}
groups=("$@")
# Each uWS group right after its Hawker one, so that the two are measured close together.
[ ${#groups[@]} -eq 0 ] && groups=(fanout uws-fanout fanout-10k uws-fanout-10k sweep many-streams idle uws-idle connect-storm slow chat
    checkout aggregators allocations loops)
. scripts/bench-common.sh
results="$out/results"
mkdir -p "$results"
# One process holds at most ~20,000 sockets here; the generator spreads beyond that.
ulimit -n "$(ulimit -Hn)"
load=(taskset -c 1 "$bin/hawker-load")
# Hosts publish every event as a command: no command limit in the way.
publisher=(--set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000)
# Chat and checkouts: per-user and per-connection rates raised, so the cost decides.
limits=(--set session.commands_per_second=100000 --set session.command_burst=100000
    --set chat.user_messages_per_minute=6000 --set chat.user_burst=100 --set orders.demo_delay_ms=20
    --set quota.chat_per_minute=600000 --set quota.chat_burst=100000
    --set quota.checkouts_per_minute=600000 --set quota.checkout_burst=100000)

# The scenarios the uWebSockets peer runs too: one definition for both.
fanout_1k_100=(fanout --viewers 1000 --events 1000 --rate 100 --payload 100)
fanout_10k_5=(fanout --viewers 10000 --events 150 --rate 5 --warmup 10 --payload 100)
idle_19k=(idle --viewers 19000 --hold 10)

# measure NAME RUNS [serve args] -- hawker-load args: RUNS runs, each against a fresh
# gateway, results in $results/NAME/run-N.json (earlier results of NAME are replaced).
# With peer=uws, against a fresh uWebSockets peer instead (serve args unused).
measure() {
    local name=$1 count=$2
    shift 2
    local serve_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do serve_args+=("$1"); shift; done
    shift
    rm -rf "${results:?}/$name"
    mkdir -p "$results/$name"
    for run in $(seq 1 "$count"); do
        echo "== $name, run $run of $count: hawker-load $*" >&2
        rm -rf "$out/data"
        if [ "${peer:-hawker}" = uws ]; then serve_uws; else serve "${serve_args[@]}"; fi
        "${load[@]}" "$@" --url "ws://127.0.0.1:$port" --server-pid "$server" \
            --json "$results/$name/run-$run.json" >"$results/$name/run-$run.txt" 2>&1 \
            || echo "   (run failed, see $results/$name/run-$run.txt)" >&2
        stop
    done
    # The command and the commit measured (with "+" when the tree had changes), for BENCHMARKS.md.
    echo "hawker-load $*" >"$results/$name/command"
    echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources LoadTests Package.swift || echo +)" >"$results/$name/commit"
    if [ "${peer:-hawker}" = uws ]; then echo "socketify $uws_version" >"$results/$name/peer"; fi
}

for group in "${groups[@]}"; do
    case $group in
    fanout)
        # One message per flush per viewer, and batched (2M deliveries/s offered).
        measure fanout-1k-100 "$runs" "${publisher[@]}" -- "${fanout_1k_100[@]}"
        measure fanout-1k-2000 "$runs" "${publisher[@]}" -- fanout --viewers 1000 --events 6000 --rate 2000 --payload 100
        ;;
    fanout-10k)
        # Half load: 5 events/s to 10,000 viewers is 50,000 deliveries/s, half of what
        # one core writes at one message per flush.
        measure fanout-10k-5 "$runs" "${publisher[@]}" -- "${fanout_10k_5[@]}"
        ;;
    sweep)
        # Throughput and p99 against viewers, at 5 events/s.
        for viewers in 1000 2500 5000 15000; do
            measure "sweep-$viewers" 1 "${publisher[@]}" -- fanout --viewers "$viewers" --events 100 --rate 5 --warmup 10 --payload 100
        done
        ;;
    many-streams)
        # 4,900 streams x 4 viewers (19,600 sockets: one gateway process holds ~19,900),
        # and one stream of 1,000 viewers at the same 10,000 deliveries/s.
        measure many-streams "$runs" "${publisher[@]}" -- many-streams --streams 4900 --viewers-per-stream 4 --events 25000 --rate 2500
        measure fanout-1k-10 "$runs" "${publisher[@]}" -- fanout --viewers 1000 --events 200 --rate 10 --warmup 10 --payload 100 --measure-ingest
        ;;
    idle)
        measure idle-19k "$runs" -- "${idle_19k[@]}"
        ;;
    loops)
        # One stream over two event loops: the gateway on both CPUs (the generator shares
        # CPU 1 with the second loop), the same commands as fanout-1k-100, fanout-10k-5 and
        # flash-sale-10k. Each loop's share of the CPU is in the fan-out results.
        serve_cpus=0,1 measure loops2-fanout-1k-100 "$runs" "${publisher[@]}" --set event_loops=2 -- "${fanout_1k_100[@]}"
        serve_cpus=0,1 measure loops2-fanout-10k-5 "$runs" "${publisher[@]}" --set event_loops=2 -- "${fanout_10k_5[@]}"
        serve_cpus=0,1 measure loops2-flash-sale-10k "$runs" "${limits[@]}" --set event_loops=2 -- flash-sale --buyers 10000 --units 100
        ;;
    connect-storm)
        measure connect-storm-10k "$runs" -- connect-storm --viewers 10000 --processes 2
        ;;
    slow)
        measure slow-5pct "$runs" "${publisher[@]}" -- slow --viewers 1000 --slow-percent 5 --events 1000 --rate 100 --payload 500
        ;;
    chat)
        measure chat-50k "$runs" "${limits[@]}" -- chat --senders 1000 --viewers 1000 --rate 50000 --duration 10
        # Fire and forget (no id, no reply write per message), offered above the target.
        measure chat-60k-noid "$runs" "${limits[@]}" -- chat --senders 1000 --viewers 1000 --rate 60000 --duration 10 --without-id
        ;;
    checkout)
        measure flash-sale-1k "$runs" "${limits[@]}" -- flash-sale --buyers 1000 --units 100
        measure flash-sale-10k "$runs" "${limits[@]}" -- flash-sale --buyers 10000 --units 100
        measure checkouts-5k "$runs" "${limits[@]}" -- checkouts --buyers 200 --rate 5000 --duration 10
        measure checkouts-8k "$runs" "${limits[@]}" -- checkouts --buyers 200 --rate 8000 --duration 10
        ;;
    uws | uws-fanout | uws-fanout-10k | uws-idle)
        # The same commands as fanout-1k-100, fanout-10k-5 and idle-19k, against the peer.
        if [ "$group" = uws ] || [ "$group" = uws-fanout ]; then
            peer=uws measure uws-fanout-1k-100 "$runs" -- "${fanout_1k_100[@]}"
        fi
        if [ "$group" = uws ] || [ "$group" = uws-fanout-10k ]; then
            peer=uws measure uws-fanout-10k-5 "$runs" -- "${fanout_10k_5[@]}"
        fi
        if [ "$group" = uws ] || [ "$group" = uws-idle ]; then
            peer=uws measure uws-idle-19k "$runs" -- "${idle_19k[@]}"
        fi
        ;;
    aggregators)
        rm -rf "$results/aggregators" && mkdir -p "$results/aggregators"
        taskset -c 1 "$bin/hawker-load" aggregators --messages 200000 --runs 5 \
            --json "$results/aggregators/run-1.json" >"$results/aggregators/run-1.txt"
        echo "hawker-load aggregators --messages 200000 --runs 5" >"$results/aggregators/command"
        ;;
    allocations)
        scripts/bench/allocations.sh "$results/allocations"
        ;;
    *)
        echo "unknown group: $group" >&2
        exit 2
        ;;
    esac
done

"$bin/hawker-load" report -o "$out/report.html" "$results"/*/run-*.json >/dev/null
if [ "${WRITE:-1}" = 1 ]; then
    python3 scripts/bench/write_benchmarks.py "$results" BENCHMARKS.md
    echo "BENCHMARKS.md rewritten; every run in $out/report.html"
fi
