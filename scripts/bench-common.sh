# Sourced by the bench scripts: release builds, and the gateway under test pinned to
# CPU 0 with one event loop (the generator goes on CPU 1).
#
#   serve [--set key=value ...]   start it; $server is its pid
#   stop                          stop it
out=artifacts/bench
mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}

swift build -c release --product hawker >/dev/null
swift build -c release --product hawker-load >/dev/null

serve() {
    taskset -c 0 .build/release/hawker serve --port "$port" --data-dir "$out/data" \
        --set event_loops=1 --set log.level=warning "$@" >"$out/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 1200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "server did not start" >&2; exit 1
}

stop() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
