#!/usr/bin/env bash
# Smoke test of the load generator (LoadTests/, hawker-load) against a debug gateway: each
# scenario at a small size, viewers spread over worker processes with their own source
# addresses, then `compare` and `report` on the results. Checks that the tool works and
# that its runs pass (no loss, no reordering, every handshake); it measures nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/load-smoke
rm -rf "$out" && mkdir -p "$out"
port=${HAWKER_LOAD_SMOKE_PORT:-19095}
export HAWKER_JWT_SECRET=smoke-secret-0123456789abcdef0123456789
.build/debug/hawker serve --port "$port" --data-dir "$out/data" --set log.level=warning \
    --set session.publisher_commands_per_second=100000 --set session.publisher_command_burst=100000 \
    >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
load() { .build/debug/hawker-load "$@" --url "ws://127.0.0.1:$port" --server-pid "$server"; }
load fanout --viewers 60 --streams 3 --events 60 --rate 100 --processes 2 --json "$out/fanout.json"
load fanout --viewers 40 --events 40 --rate 100 --measure-ingest --json "$out/fanout-ingest.json"
load many-streams --streams 20 --viewers-per-stream 2 --events 100 --rate 200 --warmup 20 --json "$out/many.json"
load slow --viewers 40 --slow-percent 10 --events 100 --rate 100 --json "$out/slow.json"
load idle --viewers 100 --hold 1 --processes 2 --json "$out/idle.json"
load connect-storm --viewers 200 --processes 2 --json "$out/storm.json"
.build/debug/hawker-load compare "$out/fanout.json" "$out/fanout-ingest.json"
.build/debug/hawker-load report -o "$out/report.html" "$out"/*.json
for file in fanout.html slow.html idle.html storm.html report.html; do
    grep -q "<svg" "$out/$file" || grep -q "<table" "$out/$file" || { echo "no report in $out/$file" >&2; exit 1; }
done
echo "load generator smoke test passed"
