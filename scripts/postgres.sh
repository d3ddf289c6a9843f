#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite.
#
#   scripts/postgres.sh start <dir> <port>   initdb into <dir>, start on 127.0.0.1:<port>, create
#                                            the database hawker_test; prints the connection URL
#                                            postgres://postgres@127.0.0.1:<port>/hawker_test
#                                            as the last line of stdout (progress goes to stderr)
#   scripts/postgres.sh stop <dir>           fast shutdown; a no-op when nothing runs there
#
# <dir> is wiped first if an earlier run left it behind (its server is stopped first); the
# script refuses to wipe a non-empty directory it did not create. Layout: <dir>/data (the
# cluster), <dir>/socket (the Unix socket), <dir>/server.log.
#
# Auth is `trust`, for the Unix socket and loopback only; the server listens on 127.0.0.1
# alone. The superuser is named `postgres` whoever runs the script.
#
# Binaries: initdb and pg_ctl from PATH, else the newest /usr/lib/postgresql/*/bin (Debian's
# `postgresql` package). PostgreSQL refuses to run as root, so as root the server runs as
# the system user `postgres` if it exists, else as `hawkerpg` (created on first use). When
# that user cannot reach <dir> (say, a checkout under /root), the cluster lives in
# /tmp/hawker-postgres.XXXXXX and <dir> is a symlink to it. HAWKER_POSTGRES_USER=name picks
# another (existing, non-root) user for the root case.
set -euo pipefail

db=hawker_test
superuser=postgres
export LC_ALL=C LANG=C   # no locale surprises from the environment (initdb also gets --locale=C)
unset PGDATA PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS 2>/dev/null || true

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { die "usage: $0 start <dir> <port> | stop <dir>"; }

# Sets $bindir to a directory holding initdb, pg_ctl and postgres.
find_bindir() {
    bindir=
    local i p
    i=$(command -v initdb 2>/dev/null || true)
    p=$(command -v pg_ctl 2>/dev/null || true)
    if [ -n "$i" ] && [ -n "$p" ]; then
        i=$(dirname "$(readlink -f "$i")")
        p=$(dirname "$(readlink -f "$p")")
        if [ "$i" = "$p" ] && [ -x "$p/postgres" ]; then bindir=$p; return 0; fi
    fi
    local d
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then bindir=$d; return 0; fi
    done
    return 1
}

# Sets $runas to the user that runs the server ("" = the current, non-root, user).
pick_user() {
    runas=
    [ "$(id -u)" -eq 0 ] || return 0
    if [ -n "${HAWKER_POSTGRES_USER:-}" ]; then
        id -u "$HAWKER_POSTGRES_USER" >/dev/null 2>&1 || die "no such user: $HAWKER_POSTGRES_USER"
        [ "$(id -u "$HAWKER_POSTGRES_USER")" -ne 0 ] || die "HAWKER_POSTGRES_USER must not be root"
        runas=$HAWKER_POSTGRES_USER
    elif id -u postgres >/dev/null 2>&1; then
        runas=postgres
    else
        if ! id -u hawkerpg >/dev/null 2>&1; then
            say "creating system user hawkerpg (PostgreSQL does not run as root)"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin hawkerpg >/dev/null 2>&1 ||
                id -u hawkerpg >/dev/null 2>&1 || die "could not create the system user hawkerpg"
        fi
        runas=hawkerpg
    fi
}

# Runs a command as $runas, from / (PostgreSQL's tools fail when they cannot read the
# current directory, e.g. a cwd under /root).
as_pg() {
    if [ -z "$runas" ]; then
        "$@"
    elif command -v runuser >/dev/null; then
        (cd / && runuser -u "$runas" -- "$@")
    elif command -v setpriv >/dev/null; then
        (cd / && HOME=/ setpriv --reuid="$runas" --regid="$runas" --init-groups -- "$@")
    else
        die "running as root, but neither runuser nor setpriv is available"
    fi
}

# The real directory behind <dir> (it may be a symlink into /tmp).
real_dir() { readlink -f -- "$1"; }

# Whether a process runs (a killed postmaster may linger as a zombie until reaped).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ "$state" != Z ] && [ -n "$state" ]
}

# Stops whatever server runs in <dir>; succeeds when none does.
stop_dir() {
    local dir=$1 real data pid owner
    [ -e "$dir" ] || return 0
    real=$(real_dir "$dir")
    data="$real/data"
    [ -f "$data/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 0   # stale pid file: nothing runs
    owner=$(stat -c %U "$data")
    runas=
    if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then runas=$owner; fi
    if find_bindir; then
        as_pg "$bindir/pg_ctl" -D "$data" stop -m fast -w -t 60 >&2 && return 0
    fi
    # No pg_ctl, or it failed: SIGINT is the postmaster's fast shutdown.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        alive "$pid" || return 0
        sleep 0.1
    done
    say "warning: the server in $dir (pid $pid) did not stop; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Removes <dir> (and the /tmp directory it points to) if we made it.
wipe_dir() {
    local dir=$1 target
    if [ -L "$dir" ]; then
        target=$(readlink -- "$dir")
        case "$target" in
            /tmp/hawker-postgres.*) rm -rf -- "$target" ;;
        esac
        rm -f -- "$dir"
    elif [ -d "$dir" ]; then
        if [ -n "$(ls -A -- "$dir")" ] && [ ! -e "$dir/.hawker-postgres" ]; then
            die "$dir exists, is not empty and was not made by this script; refusing to wipe it"
        fi
        rm -rf -- "$dir"
    elif [ -e "$dir" ]; then
        die "$dir exists and is not a directory"
    fi
}

cmd_start() {
    local dir=$1 port=$2
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port: $port"
    case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac

    find_bindir || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH \
nor in /usr/lib/postgresql/*/bin. On Debian/Ubuntu: apt-get install postgresql"
    pick_user

    stop_dir "$dir"
    wipe_dir "$dir"

    # Make <dir>, owned by the server's user; fall back to /tmp when that user cannot reach it.
    mkdir -p -- "$dir"
    touch -- "$dir/.hawker-postgres"
    if [ -n "$runas" ]; then
        chown -R "$runas:" -- "$dir"
        if ! as_pg test -w "$dir" -a -x "$dir"; then
            rm -rf -- "$dir"
            local tmp
            tmp=$(mktemp -d /tmp/hawker-postgres.XXXXXX)
            touch "$tmp/.hawker-postgres"
            chown -R "$runas:" "$tmp"
            ln -s -- "$tmp" "$dir"
            say "user $runas cannot reach $dir; the cluster lives in $tmp ($dir links to it)"
        fi
    fi
    local real data sock log
    real=$(real_dir "$dir")
    data="$real/data"
    sock="$real/socket"
    log="$real/server.log"
    as_pg mkdir -p "$sock"
    # A Unix socket path must fit in 107 bytes; past that, TCP only.
    local sockdirs="$sock"
    if [ $(( ${#sock} + ${#port} + 11 )) -gt 107 ]; then
        say "warning: $sock is too long a path for a Unix socket; TCP only"
        sockdirs=
    fi

    local t0=$SECONDS   # initdb --no-sync: a throwaway cluster need not be flushed to disk
    say "initdb ($("$bindir/postgres" --version)) into $data${runas:+ as $runas}"
    as_pg "$bindir/initdb" -D "$data" -U "$superuser" --auth=trust -E UTF8 --locale=C --no-sync \
        >"$real/initdb.log" 2>&1 || { cat "$real/initdb.log" >&2; die "initdb failed"; }
    cat >>"$data/postgresql.conf" <<EOF

# scripts/postgres.sh: a throwaway test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '${sockdirs//\'/\'\'}'
max_connections = 200
EOF

    if ! as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null; then
        tail -n 30 "$log" >&2 2>/dev/null || true
        die "the server did not start (port $port in use? see $log)"
    fi

    # Create the database over TCP, as the tests will connect.
    local psql="$bindir/psql"
    [ -x "$psql" ] || psql=$(command -v psql || true)
    [ -n "$psql" ] || { stop_dir "$dir"; die "psql not found (apt-get install postgresql-client)"; }
    if ! "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres \
        -c "CREATE DATABASE $db" >&2; then
        stop_dir "$dir"
        die "could not create the database $db"
    fi
    say "ready on 127.0.0.1:$port in $((SECONDS - t0))s (log: $log)"
    echo "postgres://$superuser@127.0.0.1:$port/$db"
}

cmd_stop() {
    local dir=$1
    case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
    stop_dir "$dir"
}

case "${1:-}" in
    start) [ $# -eq 3 ] || usage; cmd_start "$2" "$3" ;;
    stop)  [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
    *) usage ;;
esac
