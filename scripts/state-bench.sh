#!/usr/bin/env bash
# What the state store costs and gives back, on a release build:
#  1. bytes written to disk per published event: /proc/<gateway>/io write_bytes around a
#     fan-out run (10 viewers, EVENTS events at RATE/s, group commits), and around
#     SPARSE events published one at a time over HTTP (one commit each);
#  2. restart time with STREAMS streams of state (a 20-product catalog, a pin, a running
#     sale, an announcement each): from launching the gateway to /healthz answering,
#     after SIGTERM and after kill -9, with the gateway's own "streams restored" time.
#
#   scripts/state-bench.sh                 # STREAMS=1000 EVENTS=20000 RATE=2000 SPARSE=500
# Results: artifacts/state-bench/summary.txt
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${STREAMS:-1000}
events=${EVENTS:-20000}
rate=${RATE:-2000}
sparse=${SPARSE:-500}
out=artifacts/state-bench
rm -rf "$out" && mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
swift build -c release --product hawker >/dev/null
swift build -c release --product hawker-load >/dev/null
hawker=.build/release/hawker
settings=(--set event_loops=1 --set log.level=info --set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000
    --set quota.streams_per_user=1000000 --set quota.http_requests_per_second=1000000 --set quota.http_request_burst=1000000
    --set http.requests_per_second=100000 --set http.request_burst=100000)

start() { # LOG
    taskset -c 0 "$hawker" serve --port "$port" --data-dir "$out/data" "${settings[@]}" >"$1" 2>&1 &
    server=$!
    started=$(date +%s.%N)
    for _ in $(seq 1 6000); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.01; done
    healthy=$(date +%s.%N)
    kill -0 "$server" 2>/dev/null || { echo "the gateway did not start (see $1)" >&2; exit 1; }
}
written() { awk '/^write_bytes/ {print $2}' "/proc/$server/io"; }

summary="$out/summary.txt"
start "$out/gateway-1.log"
host=$("$hawker" token --role host --stream '*' --sub bench-host --ttl 3600)

# 1a. Busy: a fan-out run, events sharing commits.
before=$(written)
taskset -c 1 .build/release/hawker-load fanout --viewers 10 --events "$events" --rate "$rate" --payload 100 --warmup 100 \
    --url "ws://127.0.0.1:$port" --server-pid "$server" --json "$out/fanout.json" >"$out/fanout.txt" 2>&1
after=$(written)
python3 -c "print(f'busy: {($after - $before) / ($events + 100):,.0f} bytes written per event ($events events at $rate/s, 10 viewers, group commits)')" | tee "$summary"

# 1b. Sparse, then 2. the streams of state: over HTTP, one request at a time.
python3 - "$port" "$host" "$streams" "$sparse" "$server" >>"$summary" <<'PY'
import http.client, json, sys
port, token, streams, sparse, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(stream, kind, data):
    conn.request("POST", f"/v1/streams/{stream}/events", json.dumps({"kind": kind, "data": data}),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse(); body = response.read()
    if response.status != 201: raise SystemExit(f"{kind} on {stream}: {response.status} {body[:200]}")
def written():
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes"): return int(line.split()[1])
post("sparse", "announcement", {"text": "first"})
before = written()
for i in range(sparse): post("sparse", "announcement", {"text": f"a hundred bytes of announcement text, as in the fan-out load test: {i:08d}xxxxxxxxxxxxxxxx"})
print(f"sparse: {(written() - before) / sparse:,.0f} bytes written per event ({sparse} events one at a time over HTTP, a commit each)")
products = [{"id": f"p{i}", "title": f"Product {i}", "merchant": "m1", "price": 1000 + i, "currency": "EUR", "stock": 50} for i in range(20)]
for s in range(streams):
    stream = f"state-{s}"
    post(stream, "catalog.set", {"products": products})
    post(stream, "product.pinned", {"product": "p0"})
    post(stream, "sale.started", {"sale": "flash", "items": [{"product": "p1", "price": 500}], "duration_ms": 3_600_000})
    post(stream, "announcement", {"text": "welcome"})
print(f"{streams} streams of state created (a 20-product catalog, a pin, a running sale, an announcement each)")
PY
sleep 2  # one save interval: every room saved
for stop in TERM KILL; do
    kill -"$stop" "$server"
    wait "$server" 2>/dev/null || true
    size=$(du -sk "$out/data" | cut -f1)
    start "$out/gateway-after-$stop.log"
    restored=$(grep -o 'streams=[0-9]*.*took=[^ ]*' "$out/gateway-after-$stop.log" | head -1 || true)
    count=$(curl -fs -H "Authorization: Bearer $host" "http://127.0.0.1:$port/v1/streams/state-$((streams - 1))" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["state"]["catalog"]))')
    python3 - "$stop" "$started" "$healthy" "$restored" "$size" "$count" <<'PY' | tee -a "$summary"
import sys
stop, started, healthy, restored, size, count = sys.argv[1:]
print(f"restart after SIG{stop}: healthy {float(healthy) - float(started):.2f} s after launch ({restored}; data directory {int(size) / 1024:.1f} MiB; the last stream shows {count} products)")
PY
done
kill -TERM "$server"; wait "$server" 2>/dev/null || true
cat "$summary"
