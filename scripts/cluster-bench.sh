#!/usr/bin/env bash
# Cluster mode against one node, the same viewers (release builds): `hawker-load cluster`
# with the publisher on node 1 and the viewers spread over NODES nodes, against a fresh
# redis-server (appendonly yes, appendfsync always) and fresh nodes for every run, RUNS
# runs per layout; the medians of cross-node latency, the CPU of all nodes per delivery,
# and Redis's commands and bytes per event go to artifacts/cluster-bench/summary.md.
#
#   scripts/cluster-bench.sh               # VIEWERS=3000 EVENTS=600 RATE=20 RUNS=3 NODES=3
#   SKIP_BUILD=1 scripts/cluster-bench.sh  # with the release binaries already built
#
# Needs redis-server (apt-get install redis-server, or HAWKER_REDIS_SERVER=path).
set -euo pipefail
cd "$(dirname "$0")/.."
viewers=${VIEWERS:-3000}
events=${EVENTS:-600}
rate=${RATE:-20}
runs=${RUNS:-3}
nodes=${NODES:-3}
out=artifacts/cluster-bench
rm -rf "$out" && mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}
redis_server=${HAWKER_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
[ -x "$redis_server" ] || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --product hawker >/dev/null
    swift build -c release --product hawker-load >/dev/null
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap cleanup EXIT

# One run: NODES nodes (1 or more) on a fresh Redis; the generator on CPU 1, the nodes and
# Redis share CPU 0 (one node) or both CPUs (several: they are separate processes).
run() { # LAYOUT_NODES RUN
    local count=$1 index=$2 dir="$out/$1-nodes-$2"
    mkdir -p "$dir"
    local redis_port
    redis_port=$(free_port)
    "$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir "$dir" --daemonize no \
        --logfile redis.log &
    pids+=($!)
    for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.05; done
    local ports=() node_pids=()
    for n in $(seq 1 "$count"); do
        local port
        port=$(free_port)
        ports+=("$port")
        .build/release/hawker serve --port "$port" --data-dir "$dir/node-$n" --set event_loops=1 --set log.level=warning \
            --set cluster.redis_url="redis://127.0.0.1:$redis_port" --set cluster.node_id="node-$n" \
            --set session.publisher_commands_per_second=1000000 --set session.publisher_command_burst=1000000 >"$dir/node-$n.log" 2>&1 &
        pids+=($!)
        node_pids+=($!)
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
    done
    local joined_ports joined_pids
    joined_ports=$(IFS=,; echo "${ports[*]}")
    joined_pids=$(IFS=,; echo "${node_pids[*]}")
    taskset -c 1 .build/release/hawker-load cluster --url "ws://127.0.0.1:${ports[0]}" --ports "$joined_ports" --server-pids "$joined_pids" \
        --redis-url "redis://127.0.0.1:$redis_port" --viewers "$viewers" --events "$events" --rate "$rate" --warmup 50 \
        --json "$dir/result.json" >"$dir/result.txt" 2>&1 || true
    tail -n 20 "$dir/result.txt"
    cleanup
}

for index in $(seq 1 "$runs"); do
    run 1 "$index"
    run "$nodes" "$index"
done

python3 - "$out" "$nodes" "$viewers" "$events" "$rate" <<'PY'
import json, os, statistics, sys
out, nodes, viewers, events, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def figures(count):
    results = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "result.json")
        if name.startswith(f"{count}-nodes-") and os.path.exists(path):
            with open(path) as f:
                results.append(json.load(f))
    return results
def median(results, key):
    values = [f["value"] for r in results for f in r.get("figures", []) if f.get("name") == key and f.get("value") is not None]
    return statistics.median(values) if values else None
def latency(results, percentile):
    key = {50: "p50Micros", 99: "p99Micros"}[percentile]
    values = [r["latency"][key] / 1000 for r in results if r.get("latency")]
    return statistics.median(values) if values else None
one, many = figures(1), figures(nodes)
rows = [
    ("publish to delivery p50 (ms)", lambda r: latency(r, 50)),
    ("publish to delivery p99 (ms)", lambda r: latency(r, 99)),
    ("CPU of all nodes per delivery (µs)", lambda r: median(r, "server_cpu_us_per_delivery")),
    ("node 1 (publisher's) CPU per delivery to its viewers (µs)", lambda r: median(r, "server_cpu_us_per_delivery_node_1") or median(r, "server_cpu_us_per_delivery")),
    ("node 2 CPU per delivery to its viewers (µs)", lambda r: median(r, "server_cpu_us_per_delivery_node_2")),
    ("node 3 CPU per delivery to its viewers (µs)", lambda r: median(r, "server_cpu_us_per_delivery_node_3")),
    ("Redis commands per event", lambda r: median(r, "redis_commands_per_event")),
    ("Redis bytes in per event", lambda r: median(r, "redis_bytes_in_per_event")),
    ("Redis bytes out per event", lambda r: median(r, "redis_bytes_out_per_event")),
    ("lost or reordered deliveries", lambda r: sum((median([x], "lost") or 0) + (median([x], "reordered") or 0) for x in r)),
]
def fmt(value):
    if value is None: return "—"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
lines = [
    f"| {viewers:,} viewers, one stream, {rate} events/s × {events} | 1 node | {nodes} nodes | ratio |",
    "|---|---|---|---|",
]
for label, get in rows:
    a, b = get(one), get(many)
    ratio = f"×{b / a:.2f}" if a and b is not None and a > 0 else ""
    lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} |")
lines.append("")
lines.append(f"Runs: {len(one)} with one node, {len(many)} with {nodes} nodes (medians).")
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
