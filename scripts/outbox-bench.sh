#!/usr/bin/env bash
# Durable checkouts on each outbox (release builds): `hawker-load checkouts` against one
# gateway with its SQLite outbox, one cluster node (Redis) with its SQLite outbox, and one
# cluster node with the shared PostgreSQL outbox (orders.outbox_url), RUNS runs each on
# fresh processes; medians of accepted checkouts/s, answer p50/p99 and the gateway's CPU
# per accepted checkout go to artifacts/outbox-bench/summary.md.
#
#   scripts/outbox-bench.sh               # RATE=3000 BUYERS=200 DURATION=10 RUNS=3
#   SKIP_BUILD=1 scripts/outbox-bench.sh  # with the release binaries already built
#
# Needs redis-server and the PostgreSQL server binaries (apt-get install redis-server postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${RATE:-3000}
buyers=${BUYERS:-200}
duration=${DURATION:-10}
runs=${RUNS:-3}
out=artifacts/outbox-bench
rm -rf "$out" && mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}
redis_server=${HAWKER_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
[ -x "$redis_server" ] || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
bin=${BIN:-.build/release}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --product hawker >/dev/null
    swift build -c release --product hawker-load >/dev/null
fi

pids=()
pg_dir="$out/postgres"
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap 'cleanup; scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
pg_url=$(scripts/postgres.sh start "$pg_dir" "$(free_port)" | tail -n 1)

# One run of LAYOUT (single, cluster-sqlite, cluster-postgres): the gateway on CPU 0 with
# Redis and PostgreSQL, the generator on CPU 1.
run() { # LAYOUT RUN
    local layout=$1 index=$2 dir="$out/$1-$2"
    mkdir -p "$dir"
    local settings=(--set event_loops=1 --set log.level=warning
        --set session.commands_per_second=100000 --set session.command_burst=100000
        --set quota.checkouts_per_minute=600000 --set quota.checkout_burst=100000)
    if [ "$layout" != single ]; then
        local redis_port
        redis_port=$(free_port)
        taskset -c 0 "$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir "$dir" \
            --daemonize no --logfile redis.log &
        pids+=($!)
        for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.05; done
        settings+=(--set cluster.redis_url="redis://127.0.0.1:$redis_port" --set cluster.node_id=node-1)
    fi
    if [ "$layout" = cluster-postgres ]; then
        settings+=(--set orders.outbox_url="$pg_url" --set orders.outbox_schema="bench_$index")
    fi
    local port
    port=$(free_port)
    taskset -c 0 "$bin/hawker" serve --port "$port" --data-dir "$dir/data" "${settings[@]}" >"$dir/node.log" 2>&1 &
    local server=$!
    pids+=($server)
    for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
    taskset -c 1 "$bin/hawker-load" checkouts --url "ws://127.0.0.1:$port" --server-pid "$server" --buyers "$buyers" --rate "$rate" \
        --duration "$duration" --json "$dir/result.json" >"$dir/result.txt" 2>&1 || echo "   (run failed, see $dir/result.txt)" >&2
    tail -n 12 "$dir/result.txt"
    cleanup
}

for index in $(seq 1 "$runs"); do
    for layout in single cluster-sqlite cluster-postgres; do
        echo "== $layout, run $index of $runs" >&2
        run "$layout" "$index"
    done
done

python3 - "$out" "$rate" "$buyers" "$duration" <<'PY'
import json, os, statistics, sys
out, rate, buyers, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def results(layout):
    found = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "result.json")
        if name.rsplit("-", 1)[0] == layout and os.path.exists(path):
            with open(path) as f:
                found.append(json.load(f))
    return found
def median(found, key):
    values = [f["value"] for r in found for f in r.get("figures", []) if f.get("name") == key and f.get("value") is not None]
    return statistics.median(values) if values else None
layouts = [("single", "one gateway, SQLite outbox"), ("cluster-sqlite", "cluster node, its SQLite outbox"), ("cluster-postgres", "cluster node, shared PostgreSQL outbox")]
rows = [("accepted checkouts/s", "accepted_per_second"), ("answer p50 (ms)", "ack_p50_ms"), ("answer p99 (ms)", "ack_p99_ms"),
        ("gateway CPU per accepted checkout (µs)", "server_cpu_us_per_checkout"), ("unanswered", "unanswered")]
def fmt(value):
    if value is None: return "—"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
found = {layout: results(layout) for layout, _ in layouts}
lines = [f"| {rate:,} checkouts/s offered by {buyers} buyers for {duration} s | " + " | ".join(label for _, label in layouts) + " |",
         "|---|" + "---|" * len(layouts)]
for label, key in rows:
    lines.append(f"| {label} | " + " | ".join(fmt(median(found[layout], key)) for layout, _ in layouts) + " |")
lines.append("")
lines.append("Runs per layout: " + ", ".join(f"{layout} {len(found[layout])}" for layout, _ in layouts) + " (medians).")
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
