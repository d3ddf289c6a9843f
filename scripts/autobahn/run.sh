#!/usr/bin/env bash
# Run the Autobahn|Testsuite fuzzing client against a running WebSocket echo
# endpoint and fail (exit != 0) if any case fails.
#
# Usage:
#   scripts/autobahn/run.sh [--compression off|sample|full] URL [CASE_PATTERN...]
#   scripts/autobahn/run.sh ws://127.0.0.1:9001/echo                 # default groups
#   scripts/autobahn/run.sh ws://127.0.0.1:9001/echo "1.*" "2.*"     # chosen cases
#
# Default cases: "1.*" .. "7.*" "9.*" "10.*" (group 8 and 11 do not exist;
# 12/13 are permessage-deflate and are opt-in, see AUTOBAHN_COMPRESSION).
# The endpoint must echo every text/binary message back and must accept a
# handshake that offers no subprotocol (Hawker: /echo, not /ws which needs
# hawker.v1). Group 9 sends messages up to 16 MiB: start the server with a
# large enough max message size; this script does not start the server.
#
# Environment:
#   AUTOBAHN_OUT            report dir (default ./artifacts/autobahn); gets
#                           spec.json, wstest.log, expected-cases.txt,
#                           index.json/index.html and per-case reports
#   AUTOBAHN_CASES_EXCLUDE  case patterns to exclude, space/comma separated,
#                           e.g. "9.* 6.4.*"
#   AUTOBAHN_COMPRESSION    off (default) | sample ("12.1.*" "13.1.*") |
#                           full ("12.*" "13.*"); added to the case list.
#                           The --compression flag overrides it.
#   AUTOBAHN_TIMEOUT        seconds before wstest is killed (default 2400)
#   AUTOBAHN_VENV, AUTOBAHN_PYTHON2   passed on to setup.sh
#   PYTHON3                 Python 3 for check_results.py (default python3)
#
# Exit status: 0 all cases passed; 1 a case failed / did not run / no result;
# 2 usage error; 124 wstest timed out (wstest writes index.json only at the
# end, so a hung case means no results; see wstest.log for the last case).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'autobahn: %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

compression=${AUTOBAHN_COMPRESSION:-off}
while [ $# -gt 0 ]; do
    case "$1" in
        --compression) [ $# -ge 2 ] || usage; compression=$2; shift 2 ;;
        --compression=*) compression=${1#*=}; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) log "unknown option $1"; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
url=$1; shift
case "$url" in ws://*|wss://*) ;; *) log "URL must start with ws:// or wss://: $url"; exit 2 ;; esac

if [ $# -gt 0 ]; then
    cases=("$@")
else
    cases=("1.*" "2.*" "3.*" "4.*" "5.*" "6.*" "7.*" "9.*" "10.*")
fi
case "$compression" in
    ""|off|none|0) ;;
    sample) cases+=("12.1.*" "13.1.*") ;;
    full) cases+=("12.*" "13.*") ;;
    *) log "AUTOBAHN_COMPRESSION/--compression must be off, sample or full (got '$compression')"; exit 2 ;;
esac
read -r -a excludes <<<"$(printf '%s' "${AUTOBAHN_CASES_EXCLUDE:-}" | tr ',' ' ')"

py3=${PYTHON3:-python3}
out=${AUTOBAHN_OUT:-./artifacts/autobahn}
mkdir -p "$out"
out=$(cd "$out" && pwd)

wstest=$("$here/setup.sh")
venv_py="$(dirname "$wstest")/python"

# Remove results of an earlier run so they can never be mistaken for this one.
rm -f "$out/index.json" "$out/index.html" "$out"/*_case_*.json "$out"/*_case_*.html \
      "$out/spec.json" "$out/expected-cases.txt" "$out/wstest.log"

# spec.json (JSON written by Python so odd characters in URL/patterns are safe)
"$py3" - "$out" "$url" "${#cases[@]}" "${cases[@]}" "${excludes[@]+"${excludes[@]}"}" <<'EOF'
import json, os, sys
out, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cases, excludes = sys.argv[4:4 + n], sys.argv[4 + n:]
spec = {
    "outdir": out,
    "servers": [{"agent": "hawker", "url": url}],
    "cases": cases,
    "exclude-cases": excludes,
    "exclude-agent-cases": {},
}
with open(os.path.join(out, "spec.json"), "w") as f:
    json.dump(spec, f, indent=2)
    f.write("\n")
EOF

# Expand the patterns exactly as wstest will (its own CaseSet code), so that
# check_results.py can flag cases that never ran, and typos fail up front.
"$venv_py" - "$out/spec.json" >"$out/expected-cases.txt" <<'EOF'
import json, sys
from autobahntestsuite import case as C
from autobahntestsuite.caseset import CaseSet
spec = json.load(open(sys.argv[1]))
cs = CaseSet(C.CaseSetname, C.CaseBasename, C.Cases, C.CaseCategories, C.CaseSubCategories)
ids = cs.parseSpecCases(spec)
unknown = [c for c in ids if c not in cs.CasesIndices]
if unknown:
    sys.stderr.write("autobahn: ERROR: unknown case id(s): %s\n" % " ".join(unknown))
    sys.exit(2)
if not ids:
    sys.stderr.write("autobahn: ERROR: case patterns %s minus excludes %s select no case\n"
                     % (json.dumps(spec["cases"]), json.dumps(spec["exclude-cases"])))
    sys.exit(2)
for c in ids:
    print(c)
EOF

log "running $(wc -l <"$out/expected-cases.txt") cases against $url"
log "cases: ${cases[*]}${excludes[*]+ (excluding: ${excludes[*]})}"
log "reports: $out (wstest output: $out/wstest.log)"
start=$(date +%s)

# wstest prints two lines per case; keep them in the log, show a progress line
# every 25 cases plus anything that is not routine.
set +e
( cd "$out" && timeout --kill-after=30 "${AUTOBAHN_TIMEOUT:-2400}" \
      "$wstest" -m fuzzingclient -s "$out/spec.json" ) 2>&1 | tee "$out/wstest.log" |
    awk '/^Running test case ID/ { n++; if (n % 25 == 0) printf "autobahn: ... %d cases run\n", n; next }
         /^(Using |Loading spec|Autobahn Fuzzing|Ok, will run|Cases = |Servers = |[[:space:]]*$)/ { next }
         { print }' >&2
ws_status=${PIPESTATUS[0]}
set -e
log "wstest finished in $(( $(date +%s) - start ))s with status $ws_status"

set +e
"$py3" "$here/check_results.py" "$out" --agent hawker --expected "$out/expected-cases.txt"
check_status=$?
set -e

if [ "$ws_status" -eq 124 ] || [ "$ws_status" -eq 137 ]; then
    log "ERROR: wstest timed out after ${AUTOBAHN_TIMEOUT:-2400}s (AUTOBAHN_TIMEOUT)"
    exit 124
fi
if [ "$ws_status" -ne 0 ]; then
    log "ERROR: wstest exited with status $ws_status (see $out/wstest.log)"
    exit 1
fi
if [ "$check_status" -ne 0 ]; then
    log "FAILED (details per case: $out/index.html)"
    exit 1
fi
log "all cases passed"
exit 0
