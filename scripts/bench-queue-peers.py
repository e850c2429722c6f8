"""Helper for scripts/bench-queue-peers.sh; runs inside .build/bench-venv, never on its own.

Subcommands:
  db-create NAME [--template T]     (re)create a database on the server in $PEERS_ADMIN_URL
  db-drop NAME...                   drop databases (WITH (FORCE)), quiet when absent
  procrastinate-schema DB           apply procrastinate's schema to DB
  procrastinate-drain ...           OUR driver: drain N pre-enqueued no-op jobs at concurrency C
  procrastinate-standard ...        OUR replica of procrastinate's tests/benchmarks/test_benchmark_async.py
  report ...                        assemble peers.json and peers.md from the result files

procrastinate's benchmark tests are not in its sdist or wheel (the sdist holds only the package), and
on a fresh machine only PyPI is reachable, so the two procrastinate subcommands are our own code that
calls procrastinate's public API the way its benchmark does. Connection parameters come from the
libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE) that the shell script exports, plus
the database name given here, as in procrastinate's own test fixtures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

NOOP_QUEUE = "peers_bench"


# --- databases -------------------------------------------------------------------------------


def _admin_connect():
    import psycopg

    return psycopg.connect(os.environ["PEERS_ADMIN_URL"], autocommit=True)


def _ident(name: str):
    from psycopg import sql

    return sql.Identifier(name)


def cmd_db_create(args: argparse.Namespace) -> None:
    from psycopg import sql

    with _admin_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_ident(args.name)))
        if args.template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    _ident(args.name), _ident(args.template)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(_ident(args.name)))


def cmd_db_drop(args: argparse.Namespace) -> None:
    from psycopg import sql

    with _admin_connect() as conn:
        for name in args.names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_ident(name)))


# --- procrastinate -----------------------------------------------------------------------------


def _psycopg_connector(dbname: str, pool_size: int | None = None):
    import psycopg.conninfo
    from procrastinate import PsycopgConnector

    kwargs = {"conninfo": psycopg.conninfo.make_conninfo(dbname=dbname)}
    if pool_size is not None:
        kwargs.update(min_size=pool_size, max_size=pool_size)
    return PsycopgConnector(**kwargs)


def cmd_procrastinate_schema(args: argparse.Namespace) -> None:
    import procrastinate

    app = procrastinate.App(connector=_psycopg_connector(args.db))

    async def apply() -> None:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    asyncio.run(apply())


async def _count_jobs(app, status: str) -> int:
    row = await app.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = %(status)s", status=status
    )
    return int(row["n"])


async def _procrastinate_drain(args: argparse.Namespace) -> dict:
    import procrastinate

    # psycopg_pool's default pool holds 4 connections; the worker needs one per running job, one
    # for fetching and one for LISTEN, so the pool is sized to the concurrency to keep it from
    # being the limit.
    pool_size = max(4, args.concurrency + 3)
    app = procrastinate.App(connector=_psycopg_connector(args.db, pool_size))

    @app.task(queue=NOOP_QUEUE, name="noop")
    async def noop() -> None:
        pass

    async with app.open_async():
        enqueue_start = time.perf_counter()
        left = args.jobs
        while left > 0:
            n = min(args.batch, left)
            await noop.batch_defer_async(*[{} for _ in range(n)])
            left -= n
        enqueue_s = time.perf_counter() - enqueue_start

        start = time.perf_counter()
        worker = asyncio.ensure_future(
            app.run_worker_async(
                queues=[NOOP_QUEUE],
                wait=False,
                concurrency=args.concurrency,
                install_signal_handlers=False,
            )
        )
        capped = False
        try:
            await asyncio.wait_for(asyncio.shield(worker), timeout=args.cap)
        except (asyncio.TimeoutError, TimeoutError):
            capped = True
            worker.cancel()  # procrastinate stops gracefully: running jobs finish first
            try:
                await worker
            except asyncio.CancelledError:
                pass
        elapsed = time.perf_counter() - start
        done = await _count_jobs(app, "succeeded")
        failed = await _count_jobs(app, "failed")

    return {
        "jobs": args.jobs,
        "concurrency": args.concurrency,
        "completed": done,
        "failed": failed,
        "elapsed_s": elapsed,
        "rate": done / elapsed if elapsed > 0 else 0.0,
        "capped": capped,
        "cap_s": args.cap,
        "enqueue_s": enqueue_s,
        "pool_size": pool_size,
        "connector": "PsycopgConnector (psycopg 3, async)",
    }


def cmd_procrastinate_drain(args: argparse.Namespace) -> None:
    result = asyncio.run(_procrastinate_drain(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(
        f"procrastinate drain: {result['completed']}/{args.jobs} jobs, concurrency "
        f"{args.concurrency}, {result['elapsed_s']:.2f} s, {result['rate']:.0f} jobs/s"
        + (" (capped)" if result["capped"] else "")
    )


# The cases of procrastinate 3.9.0's tests/benchmarks/test_benchmark_async.py: 1 000 no-op jobs
# deferred one by one or in one batch_defer, then run_worker_async(wait=False) at the default
# concurrency (1), with the psycopg or the aiopg connector; pytest-benchmark times each round.
STANDARD_CASES = [
    ("test_benchmark_1000_async_jobs[psycopg_connector]", "psycopg", False),
    ("test_benchmark_1000_async_batch_jobs[psycopg_connector]", "psycopg", True),
    ("test_benchmark_1000_async_jobs[aiopg_connector]", "aiopg", False),
    ("test_benchmark_1000_async_batch_jobs[aiopg_connector]", "aiopg", True),
]


async def _standard_case(dbname: str, connector_name: str, batch: bool, rounds: int) -> list[float]:
    import procrastinate

    if connector_name == "aiopg":
        from procrastinate.contrib import aiopg

        connector = aiopg.AiopgConnector(dbname=dbname)
    else:
        connector = _psycopg_connector(dbname)
    app = procrastinate.App(connector=connector)

    @app.task(queue="default", name="simple_task")
    async def simple_task() -> None:
        pass

    async def defer_and_process_jobs() -> None:
        if batch:
            await simple_task.batch_defer_async(*[{} for _ in range(1000)])
        else:
            for _ in range(1000):
                await simple_task.defer_async()
        await app.run_worker_async(queues=["default"], wait=False)

    times = []
    async with app.open_async():
        # pytest-benchmark first runs the function once to calibrate the timer (not reported),
        # then times `rounds` rounds of one iteration each.
        for i in range(rounds + 1):
            t0 = time.perf_counter()
            await defer_and_process_jobs()
            if i > 0:
                times.append(time.perf_counter() - t0)
        left = await app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status <> 'succeeded'"
        )
        if int(left["n"]):
            raise RuntimeError(f"{left['n']} jobs did not succeed")
    return times


def cmd_procrastinate_standard(args: argparse.Namespace) -> None:
    results = []
    for name, connector_name, batch in STANDARD_CASES:
        # Like the upstream fixtures: a fresh database from the schema template for each test.
        cmd_db_create(argparse.Namespace(name=args.db, template=args.template))
        times = asyncio.run(_standard_case(args.db, connector_name, batch, args.rounds))
        results.append(
            {
                "name": name,
                "rounds": len(times),
                "min_s": min(times),
                "mean_s": statistics.fmean(times),
                "median_s": statistics.median(times),
                "max_s": max(times),
                "jobs_per_s_mean": 1000 / statistics.fmean(times),
            }
        )
        print(
            f"procrastinate standard: {name}: mean {statistics.fmean(times):.3f} s "
            f"over {len(times)} rounds ({1000 / statistics.fmean(times):.0f} jobs/s)"
        )
    cmd_db_drop(argparse.Namespace(names=[args.db]))
    Path(args.out).write_text(json.dumps(results, indent=2))


# --- report ------------------------------------------------------------------------------------


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _iso_seconds(text: str) -> float | None:
    """PgQueuer writes elapsed as an ISO 8601 duration such as PT15.604081S."""
    import re

    m = re.fullmatch(r"P(?:T)?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", text or "")
    if not m:
        return None
    h, mnt, s = m.groups()
    return int(h or 0) * 3600 + int(mnt or 0) * 60 + float(s or 0)


def cmd_report(args: argparse.Namespace) -> None:
    res = Path(args.results)
    levels = [str(c) for c in args.concurrency]
    server = args.server_version

    # PgQueuer: the upstream tools/benchmark.py wrote these files with --output-json.
    pgq_drain, pgq_drain_detail = {}, {}
    for c in levels:
        data = _load(res / f"pgqueuer-drain-{c}.json")
        if data:
            pgq_drain[c] = round(data["rate"], 1)
            pgq_drain_detail[c] = {
                "elapsed_s": _iso_seconds(data.get("elapsed", "")),
                "jobs": data.get("steps"),
            }
        else:
            pgq_drain[c] = None
    tp = _load(res / "pgqueuer-throughput.json")
    pgq_std = None
    if tp:
        pgq_std = {
            "command": "tools/benchmark.py --driver apg --strategy throughput "
            f"-t {args.pgq_time:g} (defaults: 1 enqueuer x batch 10, 5 dequeuers x batch 10)",
            "rate": round(tp["rate"], 1),
            "processed": tp.get("steps"),
            "elapsed_s": _iso_seconds(tp.get("elapsed", "")),
            "left_queued": tp.get("queued"),
        }
    pgq = {
        "version": metadata.version("pgqueuer"),
        "benchmark_code": "upstream tools/benchmark.py from the pgqueuer "
        f"{metadata.version('pgqueuer')} sdist on PyPI, unmodified",
        "drain": pgq_drain,
        "drain_detail": pgq_drain_detail,
        "standard": pgq_std,
        "notes": (
            f"drain: tools/benchmark.py --driver apg --strategy drain --jobs {args.jobs} "
            "--dequeue C (C PgQueuer consumers, one asyncpg connection each, in one Python process, "
            "each claiming batches of 10, the script's default). The script enqueues all jobs in one "
            "call, then times from the consumers' start to the last job. A fresh database "
            "(pgq install + pgq autovac) for each run."
        ),
    }

    pro_drain, pro_detail, capped = {}, {}, []
    for c in levels:
        data = _load(res / f"procrastinate-drain-{c}.json")
        if data:
            pro_drain[c] = round(data["rate"], 1)
            pro_detail[c] = {
                k: data[k] for k in ("completed", "failed", "elapsed_s", "capped", "pool_size")
            }
            if data["capped"]:
                capped.append(c)
        else:
            pro_drain[c] = None
    std = _load(res / "procrastinate-standard.json")
    pro = {
        "version": metadata.version("procrastinate"),
        "benchmark_code": "our driver (scripts/bench-queue-peers.py): procrastinate's "
        "tests/benchmarks are not in its sdist or wheel",
        "drain": pro_drain,
        "drain_detail": pro_detail,
        "standard": std,
        "notes": (
            f"drain: our driver; batch_defer_async of {args.jobs} no-op async tasks in batches of "
            "1000, then one worker, app.run_worker_async(wait=False, concurrency=C), timed from the "
            "worker's start until it stops on an empty queue; PsycopgConnector with a pool of "
            "max(4, C+3) connections (procrastinate's default connector; in the standard cases below the "
            "aiopg connector is faster); jobs are kept (delete_jobs=never, the default). "
            f"Each run capped at {args.cap:g} s; a capped run reports completed jobs / elapsed time"
            + (f" (capped at concurrency {', '.join(capped)})" if capped else "")
            + ". standard: our replica of tests/benchmarks/test_benchmark_async.py (4 cases: "
            "psycopg and aiopg connectors, 1000 jobs deferred one by one or in one batch, then a "
            f"concurrency-1 worker until empty), {args.rounds} timed rounds after one "
            "calibration round (pytest-benchmark: 5 rounds). The 4 cases of test_benchmark_sync.py are not "
            "replicated: their worker runs on a second App that lacks the task, so every job ends in "
            "TaskNotFound and they time failing jobs."
        ),
    }

    # The top level holds only the tools (scripts/bench-queue.sh iterates over it); what they
    # share is repeated in each.
    environment = {
        "workload": f"drain {args.jobs} pre-enqueued no-op jobs at concurrency {', '.join(levels)}",
        "postgresql": server,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "loadavg_at_start": args.loadavg,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "client and server share this machine's cores; the server's settings are "
        "whatever the given URL's server runs with",
        "script_seconds": None,
    }
    out = {"pgqueuer": pgq, "procrastinate": pro}
    for entry in out.values():
        entry["environment"] = environment
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")

    def fmt(v):
        return "failed" if v is None else f"{v:,.0f}"

    lines = [
        f"### Peer queues on the same server ({server})",
        "",
        f"Drain {args.jobs:,} pre-enqueued no-op jobs; jobs/s by concurrency "
        "(one process in each case).",
        "",
        "| queue | version | benchmark code | " + " | ".join(f"C={c}" for c in levels) + " |",
        "|---|---|---|" + "---|" * len(levels),
        f"| PgQueuer | {pgq['version']} | upstream `tools/benchmark.py --strategy drain` "
        f"(`--dequeue C`, batch 10) | " + " | ".join(fmt(pgq_drain[c]) for c in levels) + " |",
        f"| procrastinate | {pro['version']} | our driver (`run_worker_async(concurrency=C)`) | "
        + " | ".join(
            fmt(pro_drain[c])
            + (
                f" (capped: {pro_detail[c]['completed']:,} jobs in {args.cap:g} s)"
                if c in capped
                else ""
            )
            for c in levels
        )
        + " |",
        "",
        "Their own benchmarks in standard mode:",
        "",
    ]
    if pgq_std:
        lines.append(
            f"- PgQueuer `{pgq_std['command']}`: **{pgq_std['rate']:,.0f} jobs/s** "
            f"({pgq_std['processed']:,} jobs processed)."
        )
    else:
        lines.append("- PgQueuer throughput run: failed (see the log).")
    if std:
        lines.append(
            f"- procrastinate `pytest -m benchmark` (our replica of the async cases, "
            f"{args.rounds} rounds, mean per 1 000 jobs):"
        )
        for r in std:
            lines.append(f"  - `{r['name']}`: {r['mean_s']:.2f} s ({r['jobs_per_s_mean']:,.0f} jobs/s)")
    else:
        lines.append("- procrastinate standard-mode replica: failed (see the log).")
    lines += [
        "",
        "Notes:",
        "",
        f"- PgQueuer: {pgq['notes']}",
        f"- procrastinate: {pro['notes']}",
        f"- The standard modes are not the drain workload: PgQueuer's throughput run enqueues and "
        "dequeues at once for a fixed time; procrastinate's cases time defer + drain of 1 000 jobs "
        "at concurrency 1.",
        f"- Load average at start: {args.loadavg} on {os.cpu_count()} cores; client and server "
        "share them.",
        "",
    ]
    Path(args.md).write_text("\n".join(lines))


def cmd_set_seconds(args: argparse.Namespace) -> None:
    path = Path(args.json)
    data = json.loads(path.read_text())
    for entry in data.values():
        entry["environment"]["script_seconds"] = args.seconds
    path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("db-create")
    s.add_argument("name")
    s.add_argument("--template")
    s.set_defaults(func=cmd_db_create)

    s = sub.add_parser("db-drop")
    s.add_argument("names", nargs="+")
    s.set_defaults(func=cmd_db_drop)

    s = sub.add_parser("procrastinate-schema")
    s.add_argument("db")
    s.set_defaults(func=cmd_procrastinate_schema)

    s = sub.add_parser("procrastinate-drain")
    s.add_argument("--db", required=True)
    s.add_argument("--jobs", type=int, default=20_000)
    s.add_argument("--batch", type=int, default=1_000)
    s.add_argument("--concurrency", type=int, required=True)
    s.add_argument("--cap", type=float, default=60.0)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_procrastinate_drain)

    s = sub.add_parser("procrastinate-standard")
    s.add_argument("--db", required=True)
    s.add_argument("--template", required=True)
    s.add_argument("--rounds", type=int, default=5)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_procrastinate_standard)

    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--json", required=True)
    s.add_argument("--md", required=True)
    s.add_argument("--jobs", type=int, required=True)
    s.add_argument("--concurrency", type=int, nargs="+", required=True)
    s.add_argument("--cap", type=float, required=True)
    s.add_argument("--rounds", type=int, required=True)
    s.add_argument("--pgq-time", type=float, required=True)
    s.add_argument("--server-version", required=True)
    s.add_argument("--loadavg", required=True)
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("set-seconds")
    s.add_argument("json")
    s.add_argument("seconds", type=int)
    s.set_defaults(func=cmd_set_seconds)

    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
