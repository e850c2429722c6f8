#!/usr/bin/env bash
# Job queue benchmark (part of `make bench`): queue-bench (Benchmarks/QueueBench, release build) drains
# 20 000 no-op jobs with 1, 2 and 4 concurrent workers and measures the latency of one claim with
# 10 000 and 1 000 000 rows in the jobs table, on SQLite and on a throwaway PostgreSQL; then, on the
# same PostgreSQL in the same run, scripts/bench-queue-peers.sh runs PgQueuer's and procrastinate's
# benchmarks. Writes Benchmarks/results/queue-<date>.md with the machine's details.
# Knobs (environment): QUEUE_BENCH_JOBS (20000), QUEUE_BENCH_CLAIM_ROWS (10000,1000000), SKIP_PEERS=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

swift build -c release --product queue-bench
bin=$(swift build -c release --show-bin-path)/queue-bench
jobs=${QUEUE_BENCH_JOBS:-20000}
claim_rows=${QUEUE_BENCH_CLAIM_ROWS:-10000,1000000}
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

log "queue-bench on SQLite"
"$bin" --jobs "$jobs" --claim-rows "$claim_rows" --json "$out/queue-sqlite.json" | tee "$out/queue-sqlite.txt"
log "queue-bench on PostgreSQL"
"$bin" --database-url "$url" --jobs "$jobs" --claim-rows "$claim_rows" --json "$out/queue-postgres.json" | tee "$out/queue-postgres.txt"

if [[ ${SKIP_PEERS:-0} != 1 ]]; then
    log "PgQueuer and procrastinate on the same PostgreSQL"
    scripts/bench-queue-peers.sh "$url" || log "a peer benchmark run produced no figure; see .build/bench/peers-logs"
fi

date=$(date -u +%Y-%m-%d)
result=Benchmarks/results/queue-$date.md
python3 - "$out" "$result" "$jobs" <<'PY'
import json, os, subprocess, sys, datetime
out, result, jobs = sys.argv[1], sys.argv[2], sys.argv[3]
ours = {e: json.load(open(f"{out}/queue-{e}.json")) for e in ("sqlite", "postgres")}
peers = json.load(open(f"{out}/peers.json")) if os.path.exists(f"{out}/peers.json") else {}
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"): return line.split(":", 1)[1].strip()
    return "?"
mem = next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
lines = [f"# Job queue benchmark, {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}", "",
         f"Drain {jobs} pre-enqueued no-op jobs with N concurrent workers in one process (jobs/s, higher is better);",
         "PgQueuer and procrastinate measured on the same throwaway PostgreSQL in the same run (see scripts/bench-queue-peers.sh).", "",
         "| system | engine | 1 worker | 2 workers | 4 workers |", "| --- | --- | ---: | ---: | ---: |"]
for e in ("sqlite", "postgres"):
    d = ours[e]["drain_jobs_per_second"]
    lines.append(f"| RepoWatch | {e} | " + " | ".join(f"{d.get(k, 0):.0f}" for k in ("1", "2", "4")) + " |")
best_peer = 0.0
for name, r in peers.items():
    d = r.get("drain", {})
    vals = [d.get(k) for k in ("1", "2", "4")]
    best_peer = max([best_peer] + [v for v in vals if isinstance(v, (int, float))])
    lines.append(f"| {name} {r.get('version', '')} | postgres | " + " | ".join(f"{v:.0f}" if isinstance(v, (int, float)) else "–" for v in vals) + " |")
if best_peer:
    ourbest = max(ours["postgres"]["drain_jobs_per_second"].values())
    lines += ["", f"RepoWatch on PostgreSQL, best of 1/2/4 workers: {ourbest:.0f} jobs/s; the faster peer's best: {best_peer:.0f} jobs/s; ratio {ourbest / best_peer:.2f}×."]
lines += ["", "Claim latency (one job claimed and completed at a time, 1 000 samples; ms):", "",
          "| engine | rows in the table | median | p99 |", "| --- | ---: | ---: | ---: |"]
for e in ("sqlite", "postgres"):
    for rows, v in sorted(ours[e]["claim_latency"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {e} | {int(rows):,} | {v['median_ms']:.3f} | {v['p99_ms']:.3f} |")
w = ours["postgres"].get("wakeup_latency_ms")
if w:
    lines += ["", f"Wake-up on PostgreSQL: from an enqueue's commit to an idle worker (polling only every 10 s) starting the job, over 100 enqueues: median {w['median']:.2f} ms, p99 {w['p99']:.2f} ms (LISTEN/NOTIFY)."]
for name, r in peers.items():
    if r.get("notes"): lines += ["", f"{name}: {r['notes']}"]
lines += ["", "## Machine", "", f"- nproc: {os.cpu_count()}", f"- CPU: {cpu()}", f"- memory: {int(mem) / 1048576:.1f} GiB",
          f"- git commit: {commit}", "- PostgreSQL 15, throwaway cluster: fsync=off, synchronous_commit=off, full_page_writes=off (the same for every system measured)",
          "- SQLite: WAL, synchronous=NORMAL, the bundled SQLite of sqlite-nio"]
open(result, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "written to $result"
