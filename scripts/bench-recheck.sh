#!/usr/bin/env bash
# Re-check benchmark (part of `make bench`): recheck-bench (Benchmarks/RecheckBench, release build) times,
# on SQLite and on a throwaway PostgreSQL, the first setup of a generated repository served
# over smart HTTP (clone, backfill, the bundled repowatch-scorecard, report) against a re-check of the
# unchanged repository (target ≤ 5 %), and the scheduler's pass over 10 000 repositories (target < 100 ms).
# Writes Benchmarks/results/recheck-<date>.md with the machine's details.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

swift build -c release --product recheck-bench
swift build -c release --product repowatch-scorecard
bin_dir=$(swift build -c release --show-bin-path)
out=.build/bench
mkdir -p "$out"

pg_dir=$(mktemp -d)
cleanup() {
    scripts/pg-throwaway.sh stop "$pg_dir" || log "could not stop PostgreSQL in $pg_dir"
    rm -rf "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
url=$(scripts/pg-throwaway.sh start "$pg_dir")

# A re-check's cost is fixed (one ls-remote, one report); the first setup grows with the repository. Both a
# 10 000-commit repository (the backfill keeps its newest 1 000) and a small 2 000-commit one are measured.
log "recheck-bench on SQLite"
"$bin_dir/recheck-bench" --scorecard "$bin_dir/repowatch-scorecard" --commits 10000 | tee "$out/recheck-sqlite.txt"
"$bin_dir/recheck-bench" --scorecard "$bin_dir/repowatch-scorecard" --commits 2000 --repositories 10000 | tee -a "$out/recheck-sqlite.txt"
log "recheck-bench on PostgreSQL"
"$bin_dir/recheck-bench" --scorecard "$bin_dir/repowatch-scorecard" --commits 10000 --database-url "$url" | tee "$out/recheck-postgres.txt"

result=Benchmarks/results/recheck-$(date -u +%Y-%m-%d).md
{
    echo "# Re-check benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "First setup = add → ready (clone over smart HTTP on loopback, backfill, bundled repowatch-scorecard, report), in the"
    echo "pipeline's real handlers and workers. Re-check = the scheduler's job started → ready again with a new report, for an"
    echo "unchanged repository (one ls-remote, no fetch, no Scorecard run). Scheduler pass = the query that finds due repositories."
    echo
    echo '```'
    cat "$out/recheck-sqlite.txt" "$out/recheck-postgres.txt"
    echo '```'
    echo
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);"
    echo "$(. /etc/os-release && echo "$PRETTY_NAME"), $(swift --version 2>/dev/null | head -1); commit $(git rev-parse --short HEAD)."
} >"$result"
log "wrote $result"
