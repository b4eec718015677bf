#!/usr/bin/env bash
# pg_server.sh - a throwaway PostgreSQL server for the tests: its data,
# its log and its unix socket all in one directory, no TCP listener.
#
#   pg_server.sh start DIR     initdb (first time) + start; prints the URI
#   pg_server.sh stop DIR      fast shutdown (immediate with --kill)
#   pg_server.sh restart DIR   stop, then start again (same data)
#   pg_server.sh uri DIR       the libpq URI of the server in DIR
#
# PostgreSQL refuses to run as root: as root the server runs as the
# `postgres` user (Debian's package makes it), which gets DIR.  Exits 77
# (a skip) when no PostgreSQL is installed.
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop|restart|uri DIR}
dir=${2:?usage: pg_server.sh start|stop|restart|uri DIR}
mode=fast
[[ "${3:-}" == --kill ]] && mode=immediate

bindir=
for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/pg_ctl" ]] && bindir=$d
done
if [[ -z "$bindir" ]]; then
    command -v pg_ctl >/dev/null 2>&1 || {
        echo "SKIP: no PostgreSQL server installed (apt-get install postgresql)" >&2
        exit 77
    }
    bindir=$(dirname "$(command -v pg_ctl)")
fi

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

uri() {
    local user=postgres
    [[ $(id -u) -eq 0 ]] || user=$(id -un)
    echo "postgresql:///postgres?host=$dir&user=$user"
}

start() {
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$dir"
        chmod 0755 "$dir"
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        local user=postgres
        [[ $(id -u) -eq 0 ]] || user=$(id -un)
        as_owner "$bindir/initdb" -D "$dir/data" -A trust -U "$user" -N \
            >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-k $dir -c listen_addresses= -c max_connections=200" \
        start >/dev/null || {
        tail -20 "$dir/server.log" >&2
        exit 1
    }
    uri
}

stop() {
    [[ -f "$dir/data/postmaster.pid" ]] || return 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null
}

case "$cmd" in
start) start ;;
stop) stop ;;
restart) stop && start ;;
uri) uri ;;
*)
    echo "pg_server.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
