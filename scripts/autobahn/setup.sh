#!/usr/bin/env bash
# Create (once) a Python 2.7 virtualenv holding Autobahn|Testsuite's `wstest`
# and print the path of the wstest executable on stdout (everything else goes
# to stderr), so callers can do:  WSTEST=$(scripts/autobahn/setup.sh)
#
# Idempotent: if the venv exists, was built from the current
# requirements-py27.txt and `wstest` runs, nothing is installed again.
# An interrupted or outdated venv is deleted and rebuilt.
#
# Environment:
#   AUTOBAHN_VENV     venv location (default: $HOME/.cache/hawker/autobahn-venv)
#   AUTOBAHN_PYTHON2  a Python 2.7 interpreter to use (default: found via pyenv)
#
# Needs: a CPython 2.7 (pyenv's 2.7.x), PyPI, gcc + the 2.7 headers (for
# wsaccel/ujson; pyenv-built Pythons ship their headers).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/requirements-py27.txt"
venv=${AUTOBAHN_VENV:-$HOME/.cache/hawker/autobahn-venv}
stamp="$venv/.hawker-autobahn-stamp"

log() { printf 'autobahn-setup: %s\n' "$*" >&2; }
die() { printf 'autobahn-setup: ERROR: %s\n' "$*" >&2; exit 1; }

# True if "$1" is a working CPython 2.7 interpreter. (A pyenv *shim* named
# python2.7 exists on PATH even when 2.7 is not the selected version, and then
# fails when run, so the interpreter is always executed, never just located.)
is_py27() {
    [ -n "$1" ] && [ -x "$1" ] &&
        "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' >/dev/null 2>&1
}

find_python2() {
    if [ -n "${AUTOBAHN_PYTHON2:-}" ]; then
        is_py27 "$AUTOBAHN_PYTHON2" || die "AUTOBAHN_PYTHON2=$AUTOBAHN_PYTHON2 is not a working Python 2.7"
        echo "$AUTOBAHN_PYTHON2"; return
    fi
    local roots=() r c
    if command -v pyenv >/dev/null 2>&1; then
        r=$(pyenv root 2>/dev/null || true)
        [ -n "$r" ] && roots+=("$r")
    fi
    roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /usr/local/pyenv /opt/pyenv)
    for r in "${roots[@]}"; do
        [ -n "$r" ] && [ -d "$r/versions" ] || continue
        # highest 2.7.x first
        while IFS= read -r c; do
            if is_py27 "$c"; then echo "$c"; return; fi
        done < <(ls -d "$r"/versions/2.7*/bin/python2.7 2>/dev/null | sort -rV)
    done
    for c in python2.7 python2; do
        c=$(command -v "$c" 2>/dev/null || true)
        if is_py27 "$c"; then echo "$c"; return; fi
    done
    die "no Python 2.7 found (looked at \$AUTOBAHN_PYTHON2, \$(pyenv root)/versions/2.7*, ${roots[*]}, python2.7/python2 on PATH); install one, e.g. 'pyenv install 2.7.18'"
}

wstest_ok() {
    [ -x "$venv/bin/wstest" ] && "$venv/bin/wstest" -a >/dev/null 2>&1
}

# Stamp = what the venv was built from; a change means rebuild.
want_stamp() {
    local h
    h=$(sha256sum "$req" | cut -d' ' -f1)
    printf 'requirements=%s\npython=%s\n' "$h" "$py"
}

py=$(find_python2)
want=$(want_stamp)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && wstest_ok; then
    log "venv up to date: $venv"
    echo "$venv/bin/wstest"
    exit 0
fi

start=$(date +%s)
log "building venv $venv with $py ($("$py" -V 2>&1))"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"

work=$(mktemp -d "${TMPDIR:-/tmp}/hawker-autobahn-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
pip_log="$work/pip.log"

# Quiet pip, but on failure show what went wrong.
run_pip() {
    if ! "$@" >"$pip_log" 2>&1; then
        echo "autobahn-setup: ERROR: command failed: $*" >&2
        echo "----- pip output (last 150 lines) -----" >&2
        tail -n 150 "$pip_log" >&2
        echo "---------------------------------------" >&2
        exit 1
    fi
    # Succeeded: still surface any ERROR lines (e.g. dependency conflicts).
    grep -E '^ERROR' "$pip_log" >&2 || true
}

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_PYTHON_VERSION_WARNING=1 PIP_NO_INPUT=1

# 1. virtualenv (last release line that runs on Python 2.7), into a throwaway
#    --target dir, using the Python 2.7's own pip (bootstrapped with ensurepip,
#    which is offline, if that Python has no pip).
if ! "$py" -m pip --version >/dev/null 2>&1; then
    log "$py has no pip; bootstrapping it with ensurepip"
    run_pip "$py" -m ensurepip --default-pip
fi
run_pip "$py" -m pip install -q --no-warn-script-location --target "$work/virtualenv" 'virtualenv<20.22'

# 2. the venv (virtualenv seeds pip 20.3.4/setuptools/wheel from its bundled wheels)
run_pip env PYTHONPATH="$work/virtualenv" "$py" -m virtualenv -q "$venv"

# 3. the test suite, fully pinned
run_pip "$venv/bin/python" -m pip install -q --no-warn-script-location -r "$req"

wstest_ok || die "venv built but '$venv/bin/wstest -a' does not run"
echo "$want" >"$stamp"
log "installed $("$venv/bin/wstest" -a 2>&1 | tr '\n' ' ')in $(( $(date +%s) - start ))s"
echo "$venv/bin/wstest"
