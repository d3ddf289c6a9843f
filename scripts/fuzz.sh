#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, a separate package) and runs each Fuzz/Sources/Fuzz*
# target for FUZZ_SECONDS, with its dictionary (Fuzz/Dictionaries/<Name>.dict) and its
# committed seed corpus (Fuzz/Corpus/<Name>, read only: new inputs go to
# artifacts/fuzz/<Name>/corpus). Writes a summary line per target to stdout and
# artifacts/fuzz/summary.txt. Fails when a target crashed, timed out or ran out of memory
# (with the input that did it and how to reproduce), and when a target is missing or ran
# no input at all. See Fuzz/README.md.
#
# Environment:
#   FUZZ_SECONDS=60     seconds per target
#   FUZZ_TARGETS="..."  only these targets (names, space-separated); default all
#   FUZZ_JOBS=1         targets fuzzed at once (each uses one core)
#   FUZZ_MERGE=1        afterwards, merge what was found into Fuzz/Corpus/<Name>: named seeds
#                       (seed-*) stay; the other files are replaced by a minimised set of them
#                       and the new inputs: the fewest that reach every code edge the seeds
#                       do not (libFuzzer -set_cover_merge=1, hit counts ignored), smallest
#                       first up to FUZZ_CORPUS_MAX files per target (seeds included, 200)
#   FUZZ_SKIP_BUILD=1   use the binaries already in Fuzz/.build/release
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
# libFuzzer reads -max_total_time=0 as "no limit".
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "error: FUZZ_SECONDS must be a whole number of seconds, at least 1 (got '$seconds')" >&2
    exit 2
fi
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [ "$jobs" -lt 1 ]; then
    echo "error: FUZZ_JOBS must be at least 1 (got '$jobs')" >&2
    exit 2
fi
out="$root/artifacts/fuzz"
build=(swift build -c release --package-path Fuzz --sanitize=fuzzer)

if [ "${FUZZ_SKIP_BUILD:-0}" != "1" ]; then
    echo "=== building Fuzz/ (release, --sanitize=fuzzer)"
    "${build[@]}"
fi
bin=$("${build[@]}" --show-bin-path)

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    for dir in Fuzz/Sources/Fuzz*/; do targets+=("$(basename "$dir")"); done
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "error: no fuzz targets under Fuzz/Sources/Fuzz*" >&2
    exit 1
fi

# Swift traps must reach libFuzzer (a crash-* file, exit 77), not the Swift runtime's
# backtracer (each target also resets SIGILL/SIGTRAP in LLVMFuzzerInitialize).
export SWIFT_BACKTRACE=enable=no

mkdir -p "$out"

# Runs one target; leaves its log in $out/<name>/fuzz.log and its exit code in .../status.
fuzz_one() {
    local name=$1 dir="$out/$1"
    mkdir -p "$dir/corpus" "Fuzz/Corpus/$name"
    rm -f "$dir/status" "$dir/fuzz.log"
    if [ ! -x "$bin/$name" ]; then
        echo "missing binary $bin/$name" >"$dir/fuzz.log"
        echo 127 >"$dir/status"
        return
    fi
    local args=(-max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/")
    [ -f "Fuzz/Dictionaries/$name.dict" ] && args+=(-dict="Fuzz/Dictionaries/$name.dict")
    local rc=0
    # New inputs go to the first directory (scratch); the committed corpus is only read.
    "$bin/$name" "${args[@]}" "$dir/corpus" "Fuzz/Corpus/$name" >"$dir/fuzz.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/status"
}

echo "=== fuzzing ${#targets[@]} targets for ${seconds}s each (${jobs} at a time)"
running=0
for name in "${targets[@]}"; do
    fuzz_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

final_stat() { # final_stat <log> <name>: a libFuzzer final stat, or "?"
    local value
    value=$(grep -E "^stat::$2:" "$1" 2>/dev/null | tail -1 | awk '{print $2}')
    echo "${value:-?}"
}

status=0
summary="$out/summary.txt"
{
    echo "# scripts/fuzz.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds}s per target"
    printf '%-24s %12s %10s %8s  %s\n' target executions new_units crashes result
} >"$summary"
failures=()
for name in "${targets[@]}"; do
    dir="$out/$name"
    log="$dir/fuzz.log"
    rc=$(cat "$dir/status" 2>/dev/null || echo 127)
    executions=$(final_stat "$log" number_of_executed_units)
    new_units=$(final_stat "$log" new_units_added)
    # The inputs this run wrote: "Test unit written to <path>".
    mapfile -t found < <(grep -oE 'Test unit written to .*' "$log" 2>/dev/null | sed 's/^Test unit written to //' || true)
    result=ok
    if [ "$rc" = 127 ] && grep -q '^missing binary' "$log" 2>/dev/null; then
        result="MISSING BINARY"
    elif [ "$rc" != 0 ]; then
        result="FAILED (exit $rc)"
        for file in "${found[@]}"; do
            case "$(basename "$file")" in
            crash-*) result="CRASH" ;;
            timeout-*) result="TIMEOUT" ;;
            oom-*) result="OUT OF MEMORY" ;;
            leak-*) result="LEAK" ;;
            esac
        done
    elif [ "$executions" = "?" ] || [ "$executions" = 0 ]; then
        result="NO EXECUTIONS"
    fi
    printf '%-24s %12s %10s %8s  %s\n' "$name" "$executions" "$new_units" "${#found[@]}" "$result" >>"$summary"
    if [ "$result" != ok ]; then
        status=1
        failures+=("$name")
    fi
done
cat "$summary"

for name in "${failures[@]}"; do
    dir="$out/$name"
    echo
    echo "!!! $name failed; log: ${dir#"$root"/}/fuzz.log"
    grep -E 'ERROR: libFuzzer|Fatal error|[Pp]recondition failed|SUMMARY|^missing binary' "$dir/fuzz.log" | head -5 || true
    if ! grep -q '^stat::number_of_executed_units: *[1-9]' "$dir/fuzz.log" 2>/dev/null && ! grep -q 'Test unit written' "$dir/fuzz.log" 2>/dev/null; then
        echo "    libFuzzer reported no executed input: is it missing, or built without SwiftPM's --sanitize=fuzzer?"
    fi
    tail -n 3 "$dir/fuzz.log" | sed 's/^/    /'
    while read -r file; do
        [ -n "$file" ] || continue
        echo "    input: ${file#"$root"/}"
        echo "    reproduce: SWIFT_BACKTRACE=enable=no $bin/$name ${file#"$root"/}"
    done < <(grep -oE 'Test unit written to .*' "$dir/fuzz.log" 2>/dev/null | sed 's/^Test unit written to //')
done

if [ "${FUZZ_MERGE:-0}" = "1" ]; then
    max_files=${FUZZ_CORPUS_MAX:-200}
    echo
    echo "=== merging new inputs into Fuzz/Corpus (minimised; seed-* files kept; at most $max_files files)"
    for name in "${targets[@]}"; do
        [ -x "$bin/$name" ] || continue
        corpus="Fuzz/Corpus/$name"
        work=$(mktemp -d)
        mkdir "$work/merged" "$work/previous"
        find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec cp {} "$work/merged/" \;
        find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -exec cp {} "$work/previous/" \;
        seeds=$(find "$work/merged" -type f | wc -l)
        # Inputs that reach edges the seeds (and the inputs kept before them) do not.
        if "$bin/$name" -set_cover_merge=1 -use_counters=0 -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            "$work/merged" "$work/previous" "$out/$name/corpus" >"$out/$name/merge.log" 2>&1; then
            find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
            room=$((max_files > seeds ? max_files - seeds : 0))
            found=$(find "$work/merged" -maxdepth 1 -type f ! -name 'seed-*' | wc -l)
            # Smallest first, up to the bound.
            find "$work/merged" -maxdepth 1 -type f ! -name 'seed-*' -printf '%s %p\n' | sort -n |
                awk -v n="$room" 'NR <= n { sub(/^[0-9]+ /, ""); print }' | while read -r file; do cp "$file" "$corpus/"; done
            count=$(find "$corpus" -maxdepth 1 -type f | wc -l)
            note=""
            if [ "$found" -gt "$room" ]; then note=", $((found - room)) more over the bound left out"; fi
            echo "$name: $count files in $corpus ($seeds seeds, $((count - seeds)) merged$note)"
        else
            echo "!!! $name: merge failed; log: artifacts/fuzz/$name/merge.log" >&2
            status=1
        fi
        rm -rf "$work"
    done
fi

exit "$status"
