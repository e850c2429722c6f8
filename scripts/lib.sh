# shellcheck shell=bash
# Helpers shared by the scripts in this folder; sourced, never run.

# Print a message to stderr, prefixed with the calling script's name.
log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Swift toolchain is not a Debian package; the machines here ship it in /opt/swift.
ensure_swift_on_path() {
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        PATH="/opt/swift/usr/bin:$PATH"
        export PATH
    fi
    command -v swift >/dev/null 2>&1 || die "swift is not on PATH and /opt/swift/usr/bin/swift does not exist; install a Swift 6 toolchain (it cannot come from apt) and put its usr/bin on PATH"
}

# A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it for port 0).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http_ok URL TIMEOUT_SECONDS [PID]: wait until URL answers 200; fail early if PID died.
wait_http_ok() {
    local url=$1 timeout=$2 pid=${3:-} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            log "process $pid exited before $url answered"
            return 1
        fi
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true) == 200 ]]; then
            return 0
        fi
        sleep 0.2
    done
    log "$url did not answer 200 within ${timeout}s"
    return 1
}

# stop_pid PID: TERM, wait up to 10 s, then KILL; quiet if it is already gone.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid ignored SIGTERM for 10 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# start_throwaway_postgres: starts a PostgreSQL server in a new temporary folder, stopped and removed when the
# calling script exits (normally, on failure, or on INT/TERM), and sets pg_url to its URL.
start_throwaway_postgres() {
    pg_work=$(mktemp -d)
    # EXIT covers failures and normal ends; INT/TERM turn into an exit so the EXIT trap runs too.
    trap 'scripts/pg-throwaway.sh stop "$pg_work" || log "could not stop PostgreSQL in $pg_work"; rm -rf "$pg_work"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The server's files go straight into $pg_work (data/, sock/, pg.log, url).
    pg_url=$(scripts/pg-throwaway.sh start "$pg_work")
}
