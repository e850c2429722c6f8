#!/usr/bin/env bash
# Peer job queues' own benchmarks on the PostgreSQL server whose URL is given, so that RepoWatch's
# queue benchmark can be compared with them on the same server in the same `make bench` run.
# Workload: drain 20 000 pre-enqueued no-op jobs at concurrency 1, 2 and 4 (one process each), plus
# each tool's benchmark in its standard mode.
#
#   PgQueuer 1.3.2: the UPSTREAM tools/benchmark.py, unmodified. It is not in the wheel but it is in
#     the sdist on PyPI (identical to the v1.3.2 tag's file), so this script `pip download`s the
#     sdist once into .build/bench-src/ and runs the file from there:
#       drain:      benchmark.py --driver apg --strategy drain --jobs 20000 --dequeue C   (C = 1, 2, 4)
#       standard:   benchmark.py --driver apg --strategy throughput -t 30  (its CI command)
#   procrastinate 3.9.0: OUR DRIVER, scripts/bench-queue-peers.py. Its tests/benchmarks are in
#     neither the sdist (which holds only the package) nor the wheel, and only PyPI is reachable, so
#     the driver calls procrastinate's public API the way those tests do:
#       drain:      batch_defer_async 20 000 no-op async tasks, then one
#                   run_worker_async(wait=False, concurrency=C) until the queue is empty (capped)
#       standard:   a replica of tests/benchmarks/test_benchmark_async.py (psycopg and aiopg
#                   connectors x 1 000 jobs deferred singly or in one batch, concurrency-1 worker),
#                   3 timed rounds instead of pytest-benchmark's 5, to stay within time
#
# Usage: scripts/bench-queue-peers.sh POSTGRES_URL
#   POSTGRES_URL: postgres://USER[:PASSWORD]@HOST:PORT/DB?sslmode=... (e.g. from
#   scripts/pg-throwaway.sh). The role must be able to CREATE DATABASE: the script works only in
#   databases named peers_* that it creates, one fresh database per run, and drops them all at the
#   end (also on failure or Ctrl-C); the URL's own database and the server's settings are untouched.
# Writes .build/bench/peers.json and .build/bench/peers.md; logs in .build/bench/peers-logs/.
# Python packages live in .build/bench-venv (made once, pinned; remade when the pins change).
# Needs python3 with venv (scripts/install-deps.sh test) and PyPI. About 5 minutes on 2 cores.
# Knobs (environment): PEERS_JOBS (20000), PEERS_CONCURRENCY ("1 2 4"), PEERS_PGQ_TIME (30, seconds
#   of the throughput run), PEERS_PRO_CAP (45, seconds per procrastinate drain run, after which the
#   rate is completed jobs / elapsed and the run is marked capped), PEERS_PRO_ROUNDS (3).
# Exit status: 0 when every run produced a figure, 1 otherwise (the reports are written anyway).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

(($# == 1)) || die "usage: $0 POSTGRES_URL"
url=$1

readonly pgq_version=1.3.2
readonly pro_version=3.9.0
# The packages whose versions shape the figures are pinned; the rest follow from these.
readonly pins=(
    "pgqueuer[asyncpg,psycopg]==$pgq_version"
    "procrastinate[aiopg,psycopg2]==$pro_version"
    "asyncpg==0.32.0"
    "psycopg[binary,pool]==3.3.9"
    "psycopg-pool==3.3.3"
    "aiopg==1.4.0"
    "psycopg2-binary==2.9.13"
    "uvloop==0.23.0"
    "pydantic==2.14.3"
    "typer==0.29.2"
    "tabulate==0.10.0"
    # tools/benchmark.py imports tqdm, which is only in pgqueuer's dev extra.
    "tqdm==4.70.1"
)
readonly venv=$PWD/.build/bench-venv
readonly src_dir=$PWD/.build/bench-src
readonly out_dir=$PWD/.build/bench
readonly logs=$out_dir/peers-logs
readonly helper=$PWD/scripts/bench-queue-peers.py

jobs=${PEERS_JOBS:-20000}
read -r -a levels <<<"${PEERS_CONCURRENCY:-1 2 4}"
pgq_time=${PEERS_PGQ_TIME:-30}
pro_cap=${PEERS_PRO_CAP:-45}
pro_rounds=${PEERS_PRO_ROUNDS:-3}
# Hard limits per process (timeout(1)), well above a normal run, so that nothing hangs make bench.
readonly pgq_drain_limit=120 setup_limit=120

start_seconds=$SECONDS
failures=()

# --- the venv ----------------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "python3 not found; run scripts/install-deps.sh test"
stamp=$venv/.peers-pins
if [[ ! -x $venv/bin/python || $(cat "$stamp" 2>/dev/null || true) != "${pins[*]}" ]]; then
    log "installing PgQueuer $pgq_version and procrastinate $pro_version into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed; run scripts/install-deps.sh test (python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" ||
        die "pip install into $venv failed"
    printf '%s' "${pins[*]}" >"$stamp"
fi
py=$venv/bin/python

# --- PgQueuer's benchmark script, from its sdist on PyPI ---------------------------------------
pgq_tree=$src_dir/pgqueuer-$pgq_version
benchmark_py=$pgq_tree/tools/benchmark.py
if [[ ! -f $benchmark_py ]]; then
    log "downloading the pgqueuer $pgq_version sdist for tools/benchmark.py"
    dl=$(mktemp -d)
    "$py" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$dl" "pgqueuer==$pgq_version" || { rm -rf "$dl"; die "pip download of the pgqueuer sdist failed"; }
    mkdir -p "$src_dir"
    rm -rf "$pgq_tree"
    tar --no-same-owner -xzf "$dl/pgqueuer-$pgq_version.tar.gz" -C "$src_dir" || { rm -rf "$dl"; die "cannot unpack the pgqueuer sdist"; }
    rm -rf "$dl"
    [[ -f $benchmark_py ]] || die "the pgqueuer $pgq_version sdist has no tools/benchmark.py"
fi

# --- the server --------------------------------------------------------------------------------
# libpq environment for every client here (asyncpg, psycopg, psycopg2 and pgq all read it);
# PGDATABASE is set per command.
env_lines=$(
    python3 - "$url" <<'EOF'
import shlex, sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
if p.scheme not in ("postgres", "postgresql") or not p.hostname:
    sys.exit(f"not a postgres://USER@HOST:PORT/DB URL: {sys.argv[1]}")
q = dict(u.parse_qsl(p.query))
env = {
    "PGHOST": p.hostname,
    "PGPORT": str(p.port or 5432),
    "PGUSER": u.unquote(p.username or "postgres"),
    "PGSSLMODE": q.get("sslmode", "prefer"),
}
if p.password:
    env["PGPASSWORD"] = u.unquote(p.password)
print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items()))
EOF
) || die "bad URL: $url"
eval "$env_lines"
unset PGDATABASE PGSERVICE PGOPTIONS
export PEERS_ADMIN_URL=$url
# benchmark.py prints its tables in this format (into the logs).
export PGQUEUER_TABLEFMT=github

# Each run gets a fresh database, copied from a template that holds the tool's schema.
readonly pgq_tpl=peers_pgqueuer_tpl pgq_db=peers_pgqueuer
readonly pro_tpl=peers_procrastinate_tpl pro_db=peers_procrastinate
all_dbs=("$pgq_db" "$pgq_tpl" "$pro_db" "$pro_tpl")

child=
# run_bounded LIMIT LOG CMD...: CMD under timeout(1), appending its output to LOG. It runs in the
# background and is waited for, so that a signal to this script is handled at once (the EXIT trap
# stops CMD before it drops the databases). Returns CMD's exit status (124: stopped at LIMIT).
run_bounded() {
    local limit=$1 logfile=$2 rc=0
    shift 2
    timeout --kill-after=10 "$limit" "$@" >>"$logfile" 2>&1 </dev/null &
    child=$!
    wait "$child" || rc=$?
    child=
    return "$rc"
}
# run_helper LOG SUBCOMMAND ARGS...: a short step of the helper.
run_helper() {
    local logfile=$1
    shift
    run_bounded "$setup_limit" "$logfile" "$py" "$helper" "$@"
}

dbs_touched=0
cleanup() {
    if [[ -n $child ]]; then
        stop_pid "$child"
    fi
    ((dbs_touched)) || return 0
    timeout 60 "$py" "$helper" db-drop "${all_dbs[@]}" >/dev/null 2>&1 ||
        log "could not drop the databases ${all_dbs[*]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$logs" "$out_dir/peers-results" "$out_dir/peers.json" "$out_dir/peers.md"
mkdir -p "$logs" "$out_dir/peers-results"
results=$out_dir/peers-results

server_version=$(
    timeout 60 "$py" - <<'EOF'
import os, psycopg
with psycopg.connect(os.environ["PEERS_ADMIN_URL"], connect_timeout=10) as c:
    v = c.execute("SHOW server_version").fetchone()[0]
    s = {k: c.execute(f"SHOW {k}").fetchone()[0] for k in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers")}
print(f"PostgreSQL {v} (" + ", ".join(f"{k}={x}" for k, x in s.items()) + ")")
EOF
) || die "cannot connect to $url"
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
log "server: $server_version; load average: $loadavg"
dbs_touched=1

# --- PgQueuer ----------------------------------------------------------------------------------
pgq_ok=1
setup_log=$logs/pgqueuer-setup.log
if ! { run_helper "$setup_log" db-create "$pgq_tpl" &&
    PGDATABASE=$pgq_tpl run_bounded "$setup_limit" "$setup_log" "$venv/bin/pgq" install &&
    PGDATABASE=$pgq_tpl run_bounded "$setup_limit" "$setup_log" "$venv/bin/pgq" autovac; }; then
    pgq_ok=0
    failures+=("pgqueuer setup (see $setup_log)")
fi

# pgq_run LABEL LIMIT ARGS...: one run of the upstream script in a fresh database.
pgq_run() {
    local label=$1 limit=$2 rc=0 run_log=$logs/pgqueuer-$1.log
    shift 2
    if ((!pgq_ok)); then
        return 0
    fi
    run_helper "$run_log" db-create "$pgq_db" --template "$pgq_tpl" || rc=$?
    if ((rc == 0)); then
        # From the sdist tree, as upstream runs it (python3 tools/benchmark.py in the checkout).
        PGDATABASE=$pgq_db run_bounded "$limit" "$run_log" env -C "$pgq_tree" \
            "$py" tools/benchmark.py --driver apg "$@" --output-json "$results/pgqueuer-$label.json" ||
            rc=$?
    fi
    if ((rc != 0)) || [[ ! -s $results/pgqueuer-$label.json ]]; then
        ((rc == 124)) && log "pgqueuer $label: stopped after ${limit}s"
        failures+=("pgqueuer $label (exit $rc; see $run_log)")
        rm -f "$results/pgqueuer-$label.json"
        return 0
    fi
    log "pgqueuer $label: $("$py" -c 'import json, sys; print("%.0f jobs/s" % json.load(open(sys.argv[1]))["rate"])' "$results/pgqueuer-$label.json")"
}

for c in "${levels[@]}"; do
    pgq_run "drain-$c" "$pgq_drain_limit" --strategy drain --jobs "$jobs" --dequeue "$c"
done
pgq_run throughput $((pgq_time + 60)) --strategy throughput -t "$pgq_time"

# --- procrastinate -----------------------------------------------------------------------------
pro_ok=1
setup_log=$logs/procrastinate-setup.log
if ! { run_helper "$setup_log" db-create "$pro_tpl" &&
    run_helper "$setup_log" procrastinate-schema "$pro_tpl"; }; then
    pro_ok=0
    failures+=("procrastinate setup (see $setup_log)")
fi

if ((pro_ok)); then
    for c in "${levels[@]}"; do
        rc=0
        run_log=$logs/procrastinate-drain-$c.log
        run_helper "$run_log" db-create "$pro_db" --template "$pro_tpl" || rc=$?
        if ((rc == 0)); then
            # The driver stops its worker at the cap itself; the outer limit is for a hang.
            run_bounded $((${pro_cap%.*} + 90)) "$run_log" "$py" "$helper" procrastinate-drain \
                --db "$pro_db" --jobs "$jobs" --concurrency "$c" --cap "$pro_cap" \
                --out "$results/procrastinate-drain-$c.json" || rc=$?
        fi
        if ((rc != 0)) || [[ ! -s $results/procrastinate-drain-$c.json ]]; then
            failures+=("procrastinate drain-$c (exit $rc; see $run_log)")
            rm -f "$results/procrastinate-drain-$c.json"
        else
            log "$(grep '^procrastinate drain' "$run_log")"
        fi
    done

    rc=0
    run_log=$logs/procrastinate-standard.log
    # 4 cases x (1 calibration + rounds) x 1 000 jobs, about 3 s each; the limit is for a hang.
    run_bounded $((60 * pro_rounds + 120)) "$run_log" "$py" "$helper" procrastinate-standard \
        --db "$pro_db" --template "$pro_tpl" --rounds "$pro_rounds" \
        --out "$results/procrastinate-standard.json" || rc=$?
    if ((rc != 0)) || [[ ! -s $results/procrastinate-standard.json ]]; then
        failures+=("procrastinate standard (exit $rc; see $run_log)")
        rm -f "$results/procrastinate-standard.json"
    else
        grep '^procrastinate standard' "$run_log" | while read -r line; do log "$line"; done
    fi
fi

# --- reports -----------------------------------------------------------------------------------
"$py" "$helper" report --results "$results" --json "$out_dir/peers.json" --md "$out_dir/peers.md" \
    --jobs "$jobs" --concurrency "${levels[@]}" --cap "$pro_cap" --rounds "$pro_rounds" \
    --pgq-time "$pgq_time" --server-version "$server_version" --loadavg "$loadavg"
"$py" "$helper" set-seconds "$out_dir/peers.json" $((SECONDS - start_seconds))
cat "$out_dir/peers.md"
log "wrote $out_dir/peers.json and $out_dir/peers.md in $((SECONDS - start_seconds)) s"

if ((${#failures[@]} > 0)); then
    for f in "${failures[@]}"; do log "failed: $f"; done
    exit 1
fi
