#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, all of it inside one folder:
#   DIR/data  cluster          DIR/sock  Unix socket      DIR/pg.log  server log
#   DIR/url   connection URL (also printed on stdout by start)
# Usage: scripts/pg-throwaway.sh start DIR | stop DIR | restart DIR [fast|immediate]
#   restart stops the server in the given mode (default fast) and starts it again on the same port and
#   data, as a database failover or upgrade would: clients see their connections closed, then the same URL.
# Tuned for speed, not durability (fsync off; commits asynchronous unless PG_DURABLE=1): never point it at data
# you want to keep.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# initdb and postgres refuse to run as root, so root runs them as this system user.
readonly PG_USER=repowatch-pg

usage() { die "usage: $0 start DIR | stop DIR | restart DIR [fast|immediate]"; }
[[ $# == 2 || ($# == 3 && $1 == restart) ]] || usage
action=$1
dir=$2
mode=${3:-fast}
[[ $mode == fast || $mode == immediate ]] || usage
[[ $dir == /* ]] || dir="$PWD/$dir"

# The newest server installed by Debian's postgresql-<ver> packages.
pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $pg_bin && -x $pg_bin/pg_ctl && -x $pg_bin/initdb ]] ||
    die "no PostgreSQL server under /usr/lib/postgresql/*/bin; run scripts/install-deps.sh test"

as_pg=()
if ((EUID == 0)); then
    as_pg=(runuser -u "$PG_USER" --)
fi

pg_ctl() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" "$@"; }

# The server outlives this script: it must not keep the caller's descriptors open (a caller waiting for
# them to close — Foundation's Process does, for the exit of its child — would wait for the server's).
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null || true
done

is_running() {
    [[ -f $dir/data/postmaster.pid ]] && pg_ctl status >/dev/null 2>&1
}

start() {
    if ((EUID == 0)); then
        id -u "$PG_USER" >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
    fi

    mkdir -p "$dir"
    if is_running && [[ -s $dir/url ]]; then
        log "already running in $dir"
        cat "$dir/url"
        return 0
    fi

    mkdir -p "$dir/data" "$dir/sock"
    touch "$dir/pg.log"
    if ((EUID == 0)); then
        chown "$PG_USER" "$dir/data" "$dir/sock" "$dir/pg.log"
        # mktemp -d makes 0700 folders: the server user must at least pass through DIR.
        chmod a+x "$dir"
        "${as_pg[@]}" test -w "$dir/data" ||
            die "user $PG_USER cannot reach $dir/data (a parent folder is closed to others?)"
    fi
    chmod 700 "$dir/data"

    if [[ ! -f $dir/data/PG_VERSION ]]; then
        "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
            -E UTF8 --locale=C.UTF-8 >>"$dir/pg.log" 2>&1 ||
            { tail -n 20 "$dir/pg.log" >&2; die "initdb failed (log: $dir/pg.log)"; }
    fi

    local port=${1:-}
    [[ -n $port ]] || port=$(free_port)
    # The socket path has a hard limit of 107 bytes.
    ((${#dir} + 25 < 107)) || die "DIR is too long for a Unix socket path: $dir"
    [[ $dir != *[[:space:]]* ]] || die "DIR must not contain spaces (pg_ctl -o splits on them): $dir"

    # Fast by default: no fsync and asynchronous commits (a crash of the server may lose the last commits).
    # PG_DURABLE=1 (remembered for restarts) keeps commits synchronous, so that a server killed by `restart DIR
    # immediate` loses no committed transaction, as in production; fsync stays off (the OS keeps what was written).
    [[ ${PG_DURABLE:-} == 1 ]] && touch "$dir/durable"
    local commit=off
    [[ -f $dir/durable ]] && commit=on
    pg_ctl -l "$dir/pg.log" -w -t 60 start -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock \
-c fsync=off -c synchronous_commit=$commit -c full_page_writes=off -c max_connections=300" >/dev/null ||
        { tail -n 20 "$dir/pg.log" >&2; die "pg_ctl start failed (log: $dir/pg.log)"; }

    local url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    printf '%s\n' "$url" >"$dir/url"
    printf '%s\n' "$url"
}

stop() {
    if [[ ! -f $dir/data/postmaster.pid ]]; then
        return 0 # never started, or already stopped
    fi
    local pid
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    if ! pg_ctl -m fast -w -t 60 stop >/dev/null 2>&1; then
        # A stale pid file (server killed) makes pg_ctl fail; anything still alive is ended hard.
        if is_running; then
            log "fast shutdown failed; trying immediate"
            pg_ctl -m immediate -w -t 30 stop >/dev/null
        fi
    fi
    # pg_ctl returns once the pid file is gone, a moment before the postmaster itself exits
    # (it outlives its children): wait for it so that nothing is left running.
    local i
    if [[ $pid =~ ^[0-9]+$ ]]; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$dir/url"
}

restart() {
    [[ -s $dir/url ]] || die "no server was started in $dir"
    local url port
    url=$(cat "$dir/url")
    port=${url##*127.0.0.1:}
    port=${port%%/*}
    pg_ctl -m "$mode" -w -t 60 stop >/dev/null || die "pg_ctl stop -m $mode failed (log: $dir/pg.log)"
    start "$port" >/dev/null
    printf '%s\n' "$url"
}

case $action in
    start) start ;;
    restart) restart ;;
    stop) stop ;;
    *) usage ;;
esac
