#!/usr/bin/env bash
# Backfill benchmark (part of `make bench`): backfill-bench (Benchmarks/BackfillBench, release build)
# generates a 10 000-commit repository, clones it, and in one run times on that clone:
# `git log --numstat`, RepoWatch's whole backfill (walk, stats, writes) into SQLite and into a
# throwaway PostgreSQL, and PyDriller reading the same stats. Writes
# Benchmarks/results/backfill-<date>.md with the machine's details.
# Targets (issue 4): backfill ≤ 2× git log's time, ≥ 10× faster than PyDriller.
# Knobs (environment): BACKFILL_COMMITS (10000), BACKFILL_RUNS (3), SKIP_PYDRILLER=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

swift build -c release --product backfill-bench
bin=$(swift build -c release --show-bin-path)/backfill-bench
commits=${BACKFILL_COMMITS:-10000}
runs=${BACKFILL_RUNS:-3}
out=.build/bench
mkdir -p "$out"

# PyDriller in a venv of its own, pinned.
readonly pydriller_pin="pydriller==2.12"
venv=$PWD/.build/bench-pydriller
pydriller_args=()
if [[ ${SKIP_PYDRILLER:-0} != 1 ]]; then
    if [[ ! -x $venv/bin/python || $(cat "$venv/.pin" 2>/dev/null || true) != "$pydriller_pin" ]]; then
        log "installing $pydriller_pin into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" || die "python3 -m venv failed; run scripts/install-deps.sh test (python3-venv)"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$pydriller_pin" || die "pip install $pydriller_pin failed"
        echo "$pydriller_pin" >"$venv/.pin"
    fi
    pydriller_args=(--pydriller "$venv/bin/python")
fi

pg_dir=$(mktemp -d)
cleanup() {
    scripts/pg-throwaway.sh stop "$pg_dir" || log "could not stop PostgreSQL in $pg_dir"
    rm -rf "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
url=$(scripts/pg-throwaway.sh start "$pg_dir")

log "backfill-bench: $commits commits, median of $runs runs"
"$bin" --commits "$commits" --runs "$runs" --database-url "$url" "${pydriller_args[@]}" --json "$out/backfill.json" | tee "$out/backfill.txt"

date=$(date -u +%Y-%m-%d)
result=Benchmarks/results/backfill-$date.md
{
    echo "# Backfill benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "One generated repository of $commits commits over 360 days, cloned completely; every system reads that clone."
    echo "Wall time of the whole operation (process start included for git and PyDriller), median of $runs runs (PyDriller: one)."
    echo "RepoWatch's row is the commit-backfill job's own code (Ingestion.backfill): walk, stats in batches of 500, each"
    echo "batch stored with its progress in one transaction. Peak memory: the bench process (RepoWatch) / the Python process."
    echo
    grep '^|' "$out/backfill.txt"
    echo
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);"
    echo "$(. /etc/os-release && echo "$PRETTY_NAME"), $(swift --version 2>/dev/null | head -1), $(git --version);"
    echo "PostgreSQL: throwaway cluster of scripts/pg-throwaway.sh; commit $(git rev-parse --short HEAD)."
} >"$result"
log "wrote $result"
