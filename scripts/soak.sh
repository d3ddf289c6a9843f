#!/usr/bin/env bash
# A soak: one gateway under steady legitimate load (fan-out, chat, checkouts, connect
# storms, slow viewers, from hawker-load) and every abuse probe on repeat
# (scripts/soak/abuse.py) for SOAK_SECONDS, its resident memory sampled every
# SOAK_SAMPLE_SECONDS into artifacts/soak/rss.csv and drawn in artifacts/soak/rss.svg.
#
# Every checkouts run has a stream of its own; the gateway retires ended streams after
# SOAK_STREAM_RETENTION_MS (2 minutes here, a day by default), so that what the graph
# shows is what the gateway keeps, not the retention setting.
#
# Fails if the gateway stops, a load run loses or reorders anything, its RSS passes
# SOAK_MAX_RSS_MB, or (runs of 10 minutes and more) RSS still grows over the second half
# by more than SOAK_MAX_GROWTH_PERCENT of the level reached at half time.
#
#   scripts/soak.sh                          # one hour, release build (BENCHMARKS.md)
#   SOAK_SECONDS=60 BUILD=debug scripts/soak.sh   # the short form scripts/test.sh runs
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SOAK_SECONDS:-3600}
sample=${SOAK_SAMPLE_SECONDS:-5}
build=${BUILD:-release}
max_rss=${SOAK_MAX_RSS_MB:-1024}
max_growth=${SOAK_MAX_GROWTH_PERCENT:-5}
out=artifacts/soak
rm -rf "$out" && mkdir -p "$out"
# A free port unless told: a second soak (or CI's short one) on the same machine must not
# find this gateway and publish into its streams.
port=${SOAK_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
secret=soak-secret-0123456789abcdef0123456789abcdef
export HAWKER_JWT_SECRET=$secret

if [ "$build" = release ]; then
    swift build -c release --product hawker >/dev/null
    swift build -c release --product hawker-load >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
bin=.build/$build
"$bin/hawker" serve --port "$port" --data-dir "$out/data" --set log.level=warning \
    --set session.publisher_commands_per_second=100000 --set session.publisher_command_burst=100000 \
    --set quota.checkouts_per_minute=100000 --set quota.checkout_burst=10000 --set orders.demo_delay_ms=20 \
    --set hub.stream_retention_ms="${SOAK_STREAM_RETENTION_MS:-120000}" \
    >"$out/server.log" 2>&1 &
server=$!
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    kill "$server" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# Healthy, and ours: not another process that holds the port.
kill -0 "$server" 2>/dev/null || { echo "the gateway did not start (see $out/server.log)" >&2; exit 1; }

start=$(date +%s)
until=$((start + seconds))

# Memory, every few seconds, until the end.
(
    echo "seconds,rss_kib"
    while [ "$(date +%s)" -lt "$until" ] && kill -0 "$server" 2>/dev/null; do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
        echo "$(( $(date +%s) - start )),$rss"
        sleep "$sample"
    done
) >"$out/rss.csv" &
pids+=($!)

# Abuse, on repeat.
python3 scripts/soak/abuse.py --port "$port" --secret "$secret" --until "$until" >"$out/abuse.log" 2>&1 &
abuse=$!
pids+=($abuse)

# Legitimate load, scenario after scenario, each small enough to end well before $until.
load() {
    "$bin/hawker-load" "$@" --url "ws://127.0.0.1:$port" --server-pid "$server" >>"$out/load.log" 2>&1 ||
        { echo "a load run failed: hawker-load $* (see $out/load.log)" >&2; return 1; }
}
runs=0
while [ $(( $(date +%s) + 40 )) -lt "$until" ]; do
    load fanout --viewers 400 --streams 8 --events 1500 --rate 100 --warmup 50
    load chat --senders 40 --viewers 200 --rate 40 --duration 10
    load checkouts --buyers 20 --rate 100 --duration 10
    load connect-storm --viewers 400
    load slow --viewers 100 --slow-percent 10 --events 300 --rate 100
    runs=$((runs + 1))
done
wait "$abuse" || { echo "the abuse probes failed (see $out/abuse.log)" >&2; exit 1; }
sleep "$sample"
kill -0 "$server" 2>/dev/null || { echo "the gateway exited (see $out/server.log)" >&2; exit 1; }

python3 scripts/soak/plot.py "$out/rss.csv" "$out/rss.svg" --max-rss-mb "$max_rss" --max-growth-percent "$max_growth" \
    --load-rounds "$runs" --abuse-rounds "$(grep -c '^round' "$out/abuse.log" || true)" | tee "$out/summary.txt"
