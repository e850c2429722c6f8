#!/usr/bin/env bash
# Dashboard benchmark (part of `make bench`): a release build of repowatch and dashboard-bench; on SQLite and on a
# throwaway PostgreSQL server, dashboard-bench seeds one user's watchlist of 500 entries (mostly ready, some processing
# at every stage, a few failed) and one repository with 1 000 commits of the last year and 100 health reports, starts
# `repowatch api` on it (the HTTP role alone: no worker, no scheduler; `serve` with every worker at 0 stops at start on
# this commit, see dashboard-bench --role), signs in as a browser does, and measures time to first byte (median,
# p99) and the transferred size of GET /watchlist and of that repository's page, one request at a time on a kept-alive
# connection, each with gzip accepted and with identity, after checking that both pages are the real ones (500 rows; 52 bars and 100 points). Prints a markdown
# table and writes it, with the machine's details, to Benchmarks/results/dashboard-<date>.md.
# Knobs (environment): SERVER_BIN and BENCH_BIN (skip the build and use these binaries), DASHBOARD_REQUESTS (200).
# (Not REPOWATCH_*: repowatch refuses to start on a REPOWATCH_ variable it does not know.)
# Note: the client and the server share this machine's cores; the figures are for comparing runs on the same kind of
# machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

if [[ -n ${SERVER_BIN:-} && -n ${BENCH_BIN:-} ]]; then
    bin=$SERVER_BIN
    bench=$BENCH_BIN
    build_desc="the binaries $bin (SERVER_BIN) and $bench (BENCH_BIN)"
else
    swift build -c release --product repowatch
    swift build -c release --product dashboard-bench
    bin=$(swift build -c release --show-bin-path)/repowatch
    bench=$(swift build -c release --show-bin-path)/dashboard-bench
    build_desc="a release build of repowatch"
fi
[[ -x $bin ]] || die "$bin not found"
[[ -x $bench ]] || die "$bench not found"

requests=${DASHBOARD_REQUESTS:-200}

work=$(mktemp -d)
# PostgreSQL gets a folder of its own: its server user must be able to enter it (mktemp's 0700
# folders are closed to it, and pg-throwaway.sh opens only the folder it is given).
pg_dir=$(mktemp -d)
cleanup() {
    scripts/pg-throwaway.sh stop "$pg_dir" || log "could not stop PostgreSQL in $pg_dir"
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_engine NAME [DATABASE_URL]
bench_engine() {
    local engine=$1 db_url=${2:-}
    local -a db_args=()
    [[ -n $db_url ]] && db_args=(--database-url "$db_url")
    mkdir -p "$work/$engine"
    log "$engine: dashboard-bench --requests $requests"
    "$bench" --server "$bin" --data-dir "$work/$engine" --requests "$requests" --rows "$work/rows.md" "${db_args[@]}" \
        >"$work/$engine.txt" || { cat "$work/$engine.txt" >&2; die "$engine: dashboard-bench failed"; }
    cat "$work/$engine.txt"
    grep '^- ' "$work/$engine.txt" >>"$work/notes.md" || true
}

bench_engine sqlite
pg_url=$(scripts/pg-throwaway.sh start "$pg_dir")
bench_engine postgres "$pg_url"
scripts/pg-throwaway.sh stop "$pg_dir"

table=$(
    echo "| engine | page | Accept-Encoding | requests | median TTFB | p99 TTFB | median last byte | server CPU / request | body bytes | transferred bytes (headers + body) | compressed |"
    echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    cat "$work/rows.md"
)
echo
echo "$table"

date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || commit="$commit (with uncommitted changes to Sources/ or Package.swift)"
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
mkdir -p Benchmarks/results
out=Benchmarks/results/dashboard-$(date -u +%Y-%m-%d).md
{
    echo "# Dashboard benchmark, $date_utc"
    echo
    echo "dashboard-bench against $build_desc (\`repowatch api --log-level warning\`: the HTTP role alone, no worker and"
    echo "no scheduler, so nothing changes under the measurement), signed in with a"
    echo "session cookie as a browser is: $requests requests per page, one at a time on one kept-alive connection, after"
    echo "a warm-up. TTFB = from the request's write to the first byte of the answer (a plain socket, no HTTP library);"
    echo "last byte = to the end of the answer. Transferred = every byte of the answer on the wire (status line, headers,"
    echo "body and any chunk framing). Each page is measured twice: with \`Accept-Encoding: gzip, deflate, br\`, as a"
    echo "browser asks (\"compressed\" says whether the server used it), then with \`identity\`. Server CPU = the server process's user + system time over the measured requests"
    echo "(/proc), divided by their number: what a page costs whatever else ran. The client runs on the same machine as the"
    echo "server and shares its cores; each page's note gives the load average before and after its requests."
    echo
    echo "$table"
    echo
    cat "$work/notes.md"
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
} >"$out"
echo
echo "written to $out"
