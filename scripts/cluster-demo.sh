#!/usr/bin/env bash
# Cluster mode on one machine: a throwaway redis-server and three gateway nodes sharing it,
# node 1 running the demo stream. Prints each node's viewer page and a viewer token; open
# them side by side, then stop a node (kill -9 its pid) and watch its viewers move on.
# Ctrl-C stops everything.
#
#   scripts/cluster-demo.sh                # ports 8081-8083, Redis on 6390
#   BASE_PORT=9081 REDIS_PORT=6391 scripts/cluster-demo.sh
#
# Needs redis-server (apt-get install redis-server, or HAWKER_REDIS_SERVER=path).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE_PORT:-8081}
redis_port=${REDIS_PORT:-6390}
dir=$(mktemp -d /tmp/hawker-cluster-demo.XXXXXX)
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-cluster-demo-secret-0123456789abcdef}
redis_server=${HAWKER_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
[ -x "$redis_server" ] || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }

swift build --product hawker >/dev/null
hawker=$(swift build --show-bin-path)/hawker

pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap stop EXIT INT TERM

# Every write on disk before Redis answers: what the gateway acknowledges survives Redis.
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir "$dir" --logfile redis.log &
pids+=($!)

for n in 1 2 3; do
    port=$((base + n - 1))
    demo=()
    [ "$n" = 1 ] && demo=(--demo)
    HAWKER_CLUSTER_REDIS_URL="redis://127.0.0.1:$redis_port" HAWKER_CLUSTER_NODE_ID="node-$n" HAWKER_CLUSTER_LEASE_MS=3000 \
        "$hawker" serve --port "$port" --data-dir "$dir/node-$n" "${demo[@]}" >"$dir/node-$n.log" 2>&1 &
    pids+=($!)
    echo "node-$n: pid $!, http://127.0.0.1:$port (log: $dir/node-$n.log)"
done
for n in 1 2 3; do
    for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$((base + n - 1))/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done

token=$("$hawker" token --role viewer --stream demo --sub demo-viewer --ttl 86400)
echo
echo "The demo stream runs on node-1 and is mirrored by the nodes its viewers use:"
for n in 1 2 3; do echo "  http://127.0.0.1:$((base + n - 1))/watch/demo#token=$token"; done
echo
echo "kill -9 node-1's pid: node-2 or node-3 takes the stream over within 3 s and goes on."
wait
