#!/usr/bin/env bash
# HTTP API benchmark (part of `make bench`): a release build of repowatch, served on SQLite and on a
# throwaway PostgreSQL server; on each, wrk measures GET /v1/watchlist/{id}/status (an authenticated
# read of one entry) and GET /health/live (no auth, no store: the framework's floor), one after the
# other against the same server — and the status read again on a server with the status cache off
# (api.status_cache_ms=0), where every request is a query. Prints a markdown table and writes it, with the
# machine's details, to Benchmarks/results/http-<date>.md.
# Knobs (environment): SERVER_BIN (skip the build and use this binary), WRK_DURATION (10s).
# (Not REPOWATCH_*: repowatch refuses to start on a REPOWATCH_ variable it does not know.)
# Note: wrk and the server share this machine's cores, so the figures are for comparing runs on
# the same kind of machine, not absolute capacity.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

if [[ -n ${SERVER_BIN:-} ]]; then
    bin=$SERVER_BIN
    build_desc="the binary $bin (SERVER_BIN)"
else
    swift build -c release --product repowatch
    bin=$(swift build -c release --show-bin-path)/repowatch
    build_desc="a release build of repowatch"
fi
[[ -x $bin ]] || die "$bin not found"

duration=${WRK_DURATION:-10s}
wrk_args=(-t2 -c32 -d"$duration" --latency)

work=$(mktemp -d)
# PostgreSQL gets a folder of its own: its server user must be able to enter it (mktemp's 0700
# folders are closed to it, and pg-throwaway.sh opens only the folder it is given).
pg_dir=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        stop_pid "$server_pid"
    fi
    scripts/pg-throwaway.sh stop "$pg_dir" || log "could not stop PostgreSQL in $pg_dir"
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wrk_fields FILE: prints "requests/s p99 non2xx socket_errors" from wrk's report.
wrk_fields() {
    awk '
        /^Requests\/sec:/ { rps = $2 }
        /^ +99%/ { p99 = $2 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { errors = $0; sub(/.*Socket errors: */, "", errors); gsub(/ /, "", errors) }
        END { printf "%s %s %s %s\n", rps, p99, (non2xx == "" ? 0 : non2xx), (errors == "" ? "none" : errors) }
    ' "$1"
}

rows=()
raw=()
bad=0
# bench_engine NAME [DATABASE_URL]
bench_engine() {
    local engine=$1 db_url=${2:-} data=$work/$1 key port base id= body
    local -a db_args=() auth=()
    if [[ -n $db_url ]]; then
        db_args=(--database-url "$db_url")
    fi
    mkdir -p "$data"

    key=$("$bin" keys create --user bench --data-dir "$data" "${db_args[@]}" 2>>"$work/$engine.log" | tail -n 1) ||
        { tail -n 20 "$work/$engine.log" >&2; die "$engine: keys create failed"; }
    local name path rps p99 non2xx errors mode
    local -A rps_of=() p99_of=()
    # Twice: with the status cache as configured by default, then with it off (every status read is a query).
    for mode in cached uncached; do
        port=$(free_port)
        base=http://127.0.0.1:$port
        local -a cache_env=()
        [[ $mode == uncached ]] && cache_env=(REPOWATCH_API_STATUS_CACHE_MS=0)
        # Log level warning: a line per request would measure the logger.
        env "${cache_env[@]}" "$bin" serve --data-dir "$data" --port "$port" --log-level warning "${db_args[@]}" \
            >>"$work/$engine.log" 2>&1 &
        server_pid=$!
        wait_http_ok "$base/health/ready" 30 "$server_pid" || { tail -n 30 "$work/$engine.log" >&2; die "$engine: server not ready"; }

        if [[ -z ${id:-} ]]; then
            body=$(curl -sS --fail-with-body -X POST "$base/v1/watchlist" \
                -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
                -d '{"repo_url":"https://github.com/apple/swift-nio"}') || die "$engine: POST /v1/watchlist failed: $body"
            id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$body")
        fi
        curl -sS --fail -o /dev/null -H "Authorization: Bearer $key" "$base/v1/watchlist/$id/status" ||
            die "$engine: GET /v1/watchlist/$id/status does not answer 2xx"

        for name in status live; do
            [[ $mode == uncached && $name == live ]] && continue
            if [[ $name == status ]]; then
                path=/v1/watchlist/$id/status
                auth=(-H "Authorization: Bearer $key")
            else
                path=/health/live
                auth=()
            fi
            # A short untimed warm-up, so that connection set-up and first-use caches are not measured.
            wrk -t2 -c32 -d2s "${auth[@]}" "$base$path" >/dev/null
            log "$engine ($mode): wrk ${wrk_args[*]} $path"
            wrk "${wrk_args[@]}" "${auth[@]}" "$base$path" >"$work/wrk-$engine-$mode-$name.txt"
            raw+=("### $engine ($mode): GET $path" '```' "$(cat "$work/wrk-$engine-$mode-$name.txt")" '```' "")
            read -r rps p99 non2xx errors < <(wrk_fields "$work/wrk-$engine-$mode-$name.txt")
            if [[ $non2xx != 0 || $errors != none ]]; then
                log "$engine $path: $non2xx non-2xx responses, socket errors: $errors"
                bad=1
            fi
            rps_of[$mode-$name]=$rps
            p99_of[$mode-$name]=$p99
        done
        stop_pid "$server_pid"
        server_pid=
    done
    local ratio ratio_uncached
    ratio=$(awk -v a="${rps_of[cached-status]}" -v b="${rps_of[cached-live]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    ratio_uncached=$(awk -v a="${rps_of[uncached-status]}" -v b="${rps_of[cached-live]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    rows+=("| $engine | GET /v1/watchlist/{id}/status (status cache on, the default) | ${rps_of[cached-status]} | ${p99_of[cached-status]} | $ratio |")
    rows+=("| $engine | GET /v1/watchlist/{id}/status (api.status_cache_ms=0: a query per request) | ${rps_of[uncached-status]} | ${p99_of[uncached-status]} | $ratio_uncached |")
    rows+=("| $engine | GET /health/live | ${rps_of[cached-live]} | ${p99_of[cached-live]} | |")
}

bench_engine sqlite
pg_url=$(scripts/pg-throwaway.sh start "$pg_dir")
bench_engine postgres "$pg_url"
scripts/pg-throwaway.sh stop "$pg_dir"

table=$(
    echo "| engine | endpoint | requests/s | p99 latency | status/live |"
    echo "| --- | --- | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
)
echo
echo "$table"

date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || commit="$commit (with uncommitted changes to Sources/ or Package.swift)"
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
mkdir -p Benchmarks/results
out=Benchmarks/results/http-$(date -u +%Y-%m-%d).md
{
    echo "# HTTP API benchmark, $date_utc"
    echo
    echo "wrk ${wrk_args[*]} against $build_desc (\`serve --log-level warning\`), one"
    echo "entry in the watchlist; status = \`GET /v1/watchlist/{id}/status\` with a bearer key,"
    echo "live = \`GET /health/live\`. wrk runs on the same machine as the server and shares its cores."
    echo
    echo "$table"
    echo
    echo "## Machine"
    echo
    echo "- date: $date_utc"
    echo "- git commit: $commit"
    echo "- nproc: $(nproc)"
    echo "- CPU: ${cpu:-unknown}"
    echo "- memory: $mem"
    echo "- kernel: $(uname -sr)"
    echo "- swift: $(swift --version 2>/dev/null | head -n 1)"
    echo "- PostgreSQL: $(basename "$(dirname "$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n 1)")") (fsync off, throwaway)"
    echo
    echo "## Raw wrk output"
    echo
    printf '%s\n' "${raw[@]}"
} >"$out"
echo
echo "written to $out"

((bad == 0)) || die "some requests failed (see above): the figures are not valid"
