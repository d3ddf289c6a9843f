#!/usr/bin/env bash
# The whole test suite: Swift tests (unit, EmbeddedChannel, real sockets, the
# Protocol/ vectors), every server frame those tests received validated against
# Protocol/schemas, and the Autobahn|Testsuite against `hawker serve --conformance-echo`.
#
# Installs what it needs (a Python venv with jsonschema; the Autobahn venv) on first use.
# Starts a throwaway PostgreSQL (scripts/postgres.sh, into artifacts/postgres) for the Swift
# tests and hands them its URL as HAWKER_TEST_POSTGRES_URL; it needs the server binaries
# (Debian: apt-get install postgresql). If it cannot start, CI=true fails here; locally the
# run goes on with a warning and the PostgreSQL tests skip.
# The Redis tests (client, Redis state store, cluster) start their own redis-server on free
# loopback ports (Debian: apt-get install redis-server; or HAWKER_REDIS_SERVER=path). Without
# one they skip locally and fail under CI=true.
#
# Environment:
#   (the formatter's lint runs first: scripts/test.sh fails on an unformatted file)
#   HAWKER_SKIP_AUTOBAHN=1       skip the Autobahn run (quick local iterations)
#   HAWKER_SKIP_BROWSER=1        skip the browser tests (they need chromium and chromedriver)
#   HAWKER_SKIP_BENCHMARKS=1     skip the allocation threshold (a release build of Benchmarks/)
#   HAWKER_SKIP_FUZZ=1           skip the short fuzzer run (scripts/fuzz.sh: a release build of Fuzz/)
#   HAWKER_FUZZ_SECONDS          seconds per fuzz target in that run (default 10)
#   HAWKER_SKIP_SOAK=1           skip the short soak (scripts/soak.sh on the debug build)
#   HAWKER_SOAK_SECONDS          length of that soak (default 60; the script's own default is an hour)
#   HAWKER_SKIP_POSTGRES=1       start no PostgreSQL: the tests that need one skip, unless
#                                HAWKER_TEST_POSTGRES_URL already points at one
#   HAWKER_TEST_POSTGRES_PORT    port of the throwaway PostgreSQL (default 54329, 127.0.0.1 only)
#   AUTOBAHN_COMPRESSION=sample  also run a sample of groups 12/13 (permessage-deflate);
#                                =full runs all of them (~35 min)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
artifacts="$root/artifacts"
mkdir -p "$artifacts"
step() { printf '\n=== %s\n' "$*"; }

# On exit, whatever way: stop the Autobahn echo server and the test PostgreSQL.
server=
pg_dir=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    if [ -n "$pg_dir" ]; then "$root/scripts/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step "format (swift format lint --strict, the toolchain's formatter, configured in .swift-format)"
# Fix what it reports with: git ls-files '*.swift' | xargs swift format format -i
git ls-files '*.swift' | xargs swift format lint --strict

if ! command -v redis-server >/dev/null && [ -z "${HAWKER_REDIS_SERVER:-}" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "error: redis-server is not installed; CI runs the Redis tests (apt-get install redis-server)" >&2
        exit 1
    fi
    echo "warning: redis-server is not installed: the Redis and cluster tests will skip" >&2
fi

step "build (debug, with tests)"
swift build --build-tests

if [ "${HAWKER_SKIP_POSTGRES:-0}" = "1" ]; then
    step "PostgreSQL skipped (HAWKER_SKIP_POSTGRES=1)"
else
    step "PostgreSQL for the tests"
    pg_dir="$artifacts/postgres"
    if pg_url=$(scripts/postgres.sh start "$pg_dir" "${HAWKER_TEST_POSTGRES_PORT:-54329}"); then
        export HAWKER_TEST_POSTGRES_URL="${pg_url##*$'\n'}"
        echo "HAWKER_TEST_POSTGRES_URL=$HAWKER_TEST_POSTGRES_URL"
    elif [ "${CI:-}" = "true" ]; then
        echo "error: could not start PostgreSQL (see above); CI runs the PostgreSQL tests" >&2
        exit 1
    else
        unset HAWKER_TEST_POSTGRES_URL
        echo "warning: could not start PostgreSQL (see above); the PostgreSQL tests will skip" >&2
    fi
fi

step "swift test"
frames="$artifacts/server-frames.jsonl"
rm -f "$frames"
# Load-heavy suites (names ending in "Storm": a 10,000-checkout flash sale, kill -9 in a
# checkout storm) run on their own after the rest, so that their CPU load does not
# starve the timers of unrelated tests on a 2-core machine.
HAWKER_FRAME_LOG="$frames" swift test --skip-build --skip 'Storm' 2>&1 | tee "$artifacts/swift-test.log"
HAWKER_FRAME_LOG="$frames" swift test --skip-build --filter 'Storm' 2>&1 | tee -a "$artifacts/swift-test.log"
# Nothing after the Swift tests uses PostgreSQL.
if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; fi

step "schema check of real server output"
venv="${HAWKER_PY_VENV:-$HOME/.cache/hawker/py-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jsonschema' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'jsonschema>=4.18'
fi
"$venv/bin/python" scripts/validate_frames.py --check-schemas
"$venv/bin/python" scripts/validate_frames.py "$frames"

if [ "${HAWKER_SKIP_BROWSER:-0}" = "1" ]; then
    step "browser tests skipped (HAWKER_SKIP_BROWSER=1)"
else
    step "browser tests (headless Chromium + Selenium) against hawker serve"
    browser_venv="${HAWKER_BROWSER_VENV:-$HOME/.cache/hawker/browser-venv}"
    if [ ! -x "$browser_venv/bin/python" ] || ! "$browser_venv/bin/python" -c 'import selenium' 2>/dev/null; then
        python3 -m venv "$browser_venv"
        "$browser_venv/bin/pip" install --quiet --disable-pip-version-check 'selenium>=4.10'
    fi
    "$browser_venv/bin/python" scripts/browser/test_pages.py --binary .build/debug/hawker
fi

if [ "${HAWKER_SKIP_FUZZ:-0}" = "1" ]; then
    step "fuzzers skipped (HAWKER_SKIP_FUZZ=1)"
else
    step "fuzzers (short run; scripts/fuzz.sh for longer)"
    FUZZ_JOBS=2 FUZZ_SECONDS=${HAWKER_FUZZ_SECONDS:-10} scripts/fuzz.sh
fi

step "load generator smoke test (hawker-load, every scenario small, worker processes)"
scripts/load-smoke.sh

if [ "${HAWKER_SKIP_SOAK:-0}" = "1" ]; then
    step "soak skipped (HAWKER_SKIP_SOAK=1)"
else
    step "soak, short form (load and every abuse probe against one gateway; scripts/soak.sh runs an hour)"
    SOAK_SECONDS=${HAWKER_SOAK_SECONDS:-60} BUILD=debug scripts/soak.sh
fi

if [ "${HAWKER_SKIP_BENCHMARKS:-0}" = "1" ]; then
    step "allocation threshold skipped (HAWKER_SKIP_BENCHMARKS=1)"
else
    step "allocation threshold (Benchmarks/, ordo-one/benchmark, release build)"
    scripts/alloc-check.sh
fi

if [ "${HAWKER_SKIP_AUTOBAHN:-0}" = "1" ]; then
    step "Autobahn skipped (HAWKER_SKIP_AUTOBAHN=1)"
    exit 0
fi

step "Autobahn|Testsuite (groups 1-7, 9, 10) against hawker serve --conformance-echo"
scripts/autobahn/setup.sh >/dev/null
port=${HAWKER_AUTOBAHN_PORT:-19001}
# Group 9 sends 16 MiB messages: raise the message limit for this run only, and the
# outbound budget with it (an echo owes the peer a whole message while the next arrives).
.build/debug/hawker serve --port "$port" --data-dir "$artifacts/autobahn-data" --conformance-echo \
    --set ws.max_message_bytes=20000000 --set session.outbound_budget_bytes=48000000 --set log.level=warning >"$artifacts/autobahn-server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
AUTOBAHN_OUT="$artifacts/autobahn" scripts/autobahn/run.sh "ws://127.0.0.1:$port/echo"
