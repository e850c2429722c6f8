#!/usr/bin/env bash
# Live status and webhook benchmark (part of `make bench`), on a release build:
#  1. 1 000 Server-Sent Events streams on one `repowatch serve` (SQLite): the server's resident memory before and with
#     them, its CPU while they sit idle (30 s, heartbeats included), and the fan-out: the time until every stream has
#     the `deleted` event after the entry is deleted (the client, scripts/bench-sse-clients.py, is asyncio on plain
#     sockets on the same machine).
#  2. alert-bench (Benchmarks/AlertBench) on SQLite and on a throwaway PostgreSQL: the time from a report's commit to
#     its webhook's receipt, median and p99 over 200 events.
# Writes Benchmarks/results/live-<date>.md with the machine's details.
# Knobs (environment): SSE_CLIENTS (1000), ALERT_EVENTS (200), BIN_DIR (skip the release build and use the binaries in
# this folder).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

if [[ -n ${BIN_DIR:-} ]]; then
    bin_dir=$BIN_DIR
    build_desc="the binaries in $bin_dir"
else
    swift build -c release --product repowatch
    swift build -c release --product alert-bench
    bin_dir=$(swift build -c release --show-bin-path)
    build_desc="release build"
fi
clients=${SSE_CLIENTS:-1000}
events=${ALERT_EVENTS:-200}

work=$(mktemp -d)
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

# Streams and their connections: past the defaults of one process.
ulimit -n 16384

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

port=$(free_port)
base=http://127.0.0.1:$port
# No pipeline work (nothing is fetched): the streams, the API and the scheduler alone.
REPOWATCH_WORKERS_CONCURRENCY="repository-setup=0,commit-backfill=0,health-analysis=0,maintenance=1,webhook-delivery=0" \
    REPOWATCH_HTTP_MAX_CONNECTIONS=$((clients + 64)) \
    "$bin_dir/repowatch" serve --data-dir "$work/data" --port "$port" --log-level warning >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
wait_http_ok "$base/health/ready" 30 "$server_pid" || { tail -n 30 "$work/server.log" >&2; die "server not ready"; }
key=$(grep -E '^rw_' "$work/server.out" | head -n 1)
[[ -n $key ]] || die "no admin key printed"
body=$(curl -sS --fail-with-body -X POST "$base/v1/watchlist" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"repo_url":"https://github.com/bench/live"}')
entry=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$body")
sleep 2
rss_before=$(rss_kib "$server_pid")

log "opening $clients Server-Sent Events streams"
python3 scripts/bench-sse-clients.py 127.0.0.1 "$port" "$key" "$entry" "$clients" "$work/ready" "$work/go" "$work/sse.json" &
client_pid=$!
for ((i = 0; i < 1200; i++)); do
    [[ -f $work/ready ]] && break
    sleep 0.1
done
[[ -f $work/ready ]] || die "the streams did not open"
connected=$(cat "$work/ready")
sleep 2
rss_with=$(rss_kib "$server_pid")
ticks_a=$(cpu_ticks "$server_pid")
sleep 30
ticks_b=$(cpu_ticks "$server_pid")
hz=$(getconf CLK_TCK)
idle_cpu=$(python3 -c "print(f'{($ticks_b - $ticks_a) / $hz / 30 * 100:.2f}')")
python3 -c 'import time; print(time.monotonic())' >"$work/go"
curl -sS --fail -o /dev/null -X DELETE "$base/v1/watchlist/$entry" -H "Authorization: Bearer $key"
wait "$client_pid"
stop_pid "$server_pid"
server_pid=

sse=$(cat "$work/sse.json")
log "SSE: $sse; RSS ${rss_before} KiB → ${rss_with} KiB; idle CPU ${idle_cpu} %"

url=$(scripts/pg-throwaway.sh start "$pg_dir")
log "alert-bench on SQLite"
"$bin_dir/alert-bench" --events "$events" | tee "$work/alert.txt"
log "alert-bench on PostgreSQL"
"$bin_dir/alert-bench" --events "$events" --database-url "$url" | tee -a "$work/alert.txt"

result=Benchmarks/results/live-$(date -u +%Y-%m-%d).md
{
    echo "# Live status and webhook benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr); $build_desc."
    echo
    echo "## $clients Server-Sent Events streams on one server (SQLite)"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| streams open (first event received) | $connected |"
    echo "| server RSS before / with the streams | $((rss_before / 1024)) MiB / $((rss_with / 1024)) MiB ($(((rss_with - rss_before) / clients)) KiB a stream) |"
    echo "| server CPU with the streams idle (30 s, heartbeats every 15 s) | ${idle_cpu} % of one core |"
    fanout=$(python3 - "$sse" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1])
f = d["fanout_ms"]
if d["deleted_received"]:
    print("%d streams; median %.0f ms, p99 %.0f ms, max %.0f ms" % (d["deleted_received"], f["median"], f["p99"], f["max"]))
else:
    print("no stream received it")
PYEOF
)
    echo "| fan-out: entry deleted → \`deleted\` event on every stream | $fanout |"
    echo
    echo "## Report commit → webhook received ($events events, one after another)"
    echo
    echo "The time from the commit of the transaction that writes a report (and its alert, and the delivery job) to the"
    echo "receiver's handler seeing the signed POST: the real webhook-delivery worker, handler and sender, through the egress"
    echo "policy, to a receiver on loopback. Workers wake on PostgreSQL by LISTEN/NOTIFY; on SQLite they poll (jobs.poll_interval)."
    echo
    echo '```'
    cat "$work/alert.txt"
    echo '```'
} >"$result"
log "wrote $result"
cat "$result"
