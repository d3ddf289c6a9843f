# Sourced by the bench scripts: release builds, and the gateway under test pinned to
# CPU 0 with one event loop (the generator goes on CPU 1), unless a group says otherwise.
#
#   serve [--set key=value ...]   start it; $server is its pid
#   serve_uws                     start the uWebSockets peer (scripts/bench/uws_peer.py)
#                                 instead, pinned the same way; $server is its pid
#   stop                          stop it (either)
out=artifacts/bench
mkdir -p "$out"
export HAWKER_JWT_SECRET=${HAWKER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789}

# BIN: where the release binaries are (default .build/release, built here); SKIP_BUILD=1
# uses them as they are (a build made elsewhere, e.g. with --scratch-path).
bin=${BIN:-.build/release}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --product hawker >/dev/null
    swift build -c release --product hawker-load >/dev/null
fi

# serve_cpus: the CPUs the gateway may run on (default 0; the loops group gives it both,
# with --set event_loops=2).
serve() {
    taskset -c "${serve_cpus:-0}" "$bin/hawker" serve --port "$port" --data-dir "$out/data" \
        --set event_loops=1 --set log.level=warning "$@" >"$out/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 1200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "server did not start" >&2; exit 1
}

stop() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }

# The uWebSockets peer runs in a venv of its own with socketify from PyPI, made on first
# use; socketify's prebuilt library links the system's libuv.
uws_venv=$out/uws-venv
uws_ready=0
uws_setup() {
    [ "$uws_ready" = 1 ] && return
    if ! ldconfig -p | grep -q 'libuv\.so\.1 '; then
        [ "$(id -u)" = 0 ] || { echo "socketify needs libuv1: apt-get install libuv1" >&2; exit 1; }
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq libuv1 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libuv1 >/dev/null; }
    fi
    if ! "$uws_venv/bin/python" -c 'import socketify' 2>/dev/null; then
        rm -rf "$uws_venv"
        python3 -m venv "$uws_venv"
        "$uws_venv/bin/pip" install -q socketify
    fi
    uws_version=$("$uws_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("socketify"))')
    uws_ready=1
}

serve_uws() {
    uws_setup
    taskset -c 0 "$uws_venv/bin/python" scripts/bench/uws_peer.py "$port" >"$out/uws-peer.log" 2>&1 &
    server=$!
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "uws peer did not start (see $out/uws-peer.log)" >&2; exit 1
}
