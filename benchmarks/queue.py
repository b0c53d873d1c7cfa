"""Queue and fleet benchmark: ``uv run python benchmarks/queue.py`` (about 5 minutes).

In one run, on one fresh database (embedded server in ``workspace/bench-postgres``, or
``DATABASE_URL``'s server), it measures and prints as a markdown table:

(a) PgQueuer's raw no-op throughput: N preloaded jobs drained by 3 consumer processes
    (``QueueManager``, asyncpg driver) with PgQueuer's defaults, and (a') N/2 with our worker's
    settings (batch 1, 8 in flight per worker, a fleet-wide slot limit on the entrypoint);
(b) no-op tasks through the whole 8-step pipeline on the real fleet (``vidgen web`` running the
    dispatcher, 3 ``vidgen worker`` processes; ``VIDGEN_BENCH_FAKE_LATENCIES="*=0"`` makes every
    script item return at once): tasks/s, step transitions/s, item jobs/s, and (b)/(a);
(c) dispatch latency on an idle fleet, p50/p99: task creation commit -> plan item start, and a
    step's completion -> the next step's first item start (audit rows' timestamps);
(d) makespan of 10 videos x 16 scenes against fixed provider latencies and limits, next to the
    lower bound those limits allow (see ``queue_makespan``).

Diagnostics under the table say where the time goes (CPU per item job by process, commits per
item job, latency split at PgQueuer's pick, Kling slot use). ``--profile`` runs the workers under
a CPU-time cProfile; ``--no-sync-commit`` shows what the WAL flush at each commit costs. The
fleet's logs (and profiles) stay in ``workspace/bench-runs/<time>/``; the fleet logs at INFO
because readiness is read from its log lines. Figures move with other load on the machine: the
1-minute load average as each phase began is printed with them. ``--json`` adds the figures as
one JSON object on the last stdout line; ``--quick`` runs every phase at its smallest.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # This file shares its name with the stdlib module ``queue``: running it puts its own folder
    # first on sys.path, where it would shadow that module. Put the project root there instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import asyncio
import json
import time

from app.core.config import PROJECT_ROOT
from app.core.database import dispose_engine, init_engine
from app.pipeline.queue import DEFAULT_POOL_LIMITS
from benchmarks.queue_db import BenchDatabase, create_bench_database
from benchmarks.queue_fleet import BenchFleet
from benchmarks.queue_makespan import makespan_bound, parse_latencies
from benchmarks.queue_raw import OUR_WORKER_SHAPE, PGQ_DEFAULTS, run_raw
from benchmarks.queue_report import Report
from benchmarks.queue_scenarios import run_latency, run_makespan, run_throughput
from benchmarks.queue_tasks import bench_plan

D_LATENCIES = "kling=3,elevenlabs=0.5,gemini=1,*=0"
D_LIMITS = {"kling": 5, "elevenlabs": 3, "gemini": 4}


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _phase(report: Report, name: str, message: str) -> None:
    report.loads[name] = os.getloadavg()[0]
    _say(f"({name}) {message} [load {report.loads[name]:.2f}]")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="abcd", help="which of a, b, c, d to run")
    parser.add_argument("--raw-jobs", type=int, default=5000)
    parser.add_argument("--consumers", type=int, default=3, help="raw consumers and workers")
    parser.add_argument("--tasks", type=int, default=50, help="(b) tasks")
    parser.add_argument("--scenes", type=int, default=4, help="(b)/(c) scenes per task")
    parser.add_argument("--latency-tasks", type=int, default=110, help="(c) tasks, one by one")
    parser.add_argument("--videos", type=int, default=10, help="(d) tasks")
    parser.add_argument("--video-scenes", type=int, default=16, help="(d) scenes per task")
    parser.add_argument("--profile", action="store_true", help="workers under cProfile")
    parser.add_argument(
        "--no-sync-commit",
        action="store_true",
        help="what-if: synchronous_commit=off for the database (commits skip the WAL flush)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--quick", action="store_true", help="every phase at its smallest (a smoke run, ~1 min)"
    )
    parser.add_argument(
        "--json", action="store_true", help="last stdout line: the figures as one JSON object"
    )
    ns = parser.parse_args()
    if ns.quick:
        ns.raw_jobs, ns.tasks, ns.scenes, ns.latency_tasks = 200, 3, 2, 6
        ns.videos, ns.video_scenes = 1, 2
    return ns


async def _with_fleet(
    db: BenchDatabase, run_dir: str, name: str, env: dict[str, str], ns: argparse.Namespace
) -> BenchFleet:
    fleet = BenchFleet(
        run_dir=PROJECT_ROOT / run_dir / name,
        database_url=db.url,
        env_extra=env,
        workers=ns.consumers,
        profile=ns.profile,
    )
    _say(f"starting fleet {name} (web + {ns.consumers} workers), logs in {fleet.run_dir}/logs")
    await asyncio.to_thread(fleet.start)
    return fleet


async def _main(ns: argparse.Namespace) -> None:
    run_dir = f"workspace/bench-runs/{time.strftime('%Y%m%d-%H%M%S')}"
    db = await create_bench_database()
    if ns.no_sync_commit:
        await db.set_option("synchronous_commit", "off")
    init_engine(application_name="bench")
    report = Report(db_settings=db.settings, consumers=ns.consumers, run_dir=run_dir)
    fleet: BenchFleet | None = None
    try:
        if "a" in ns.phases:
            # our worker's shape is ~10x slower per job: fewer jobs keep the phase short
            for config, jobs in ((PGQ_DEFAULTS, ns.raw_jobs), (OUR_WORKER_SHAPE, ns.raw_jobs // 2)):
                _phase(report, config.tag, f"{jobs} raw no-op jobs, {config.label}")
                report.raw.append(await run_raw(db, config, jobs=jobs, consumers=ns.consumers))
        if "b" in ns.phases or "c" in ns.phases:
            env = {"VIDGEN_BENCH_FAKE_LATENCIES": "*=0"}
            fleet = await _with_fleet(db, run_dir, "noop", env, ns)
            if "b" in ns.phases:
                _phase(report, "b", f"{ns.tasks} no-op tasks of {ns.scenes} scenes at once")
                report.throughput = await run_throughput(
                    db, fleet, tasks=ns.tasks, scenes=ns.scenes
                )
            if "c" in ns.phases:
                _phase(report, "c", f"{ns.latency_tasks} tasks one at a time on an idle fleet")
                report.latency = await run_latency(
                    db, fleet, tasks=ns.latency_tasks, scenes=ns.scenes, gap_s=0.05, warmup=3
                )
            await asyncio.to_thread(fleet.stop)
            fleet = None
        if "d" in ns.phases:
            env = {"VIDGEN_BENCH_FAKE_LATENCIES": D_LATENCIES}
            env.update({f"POOL_LIMIT_{pool.upper()}": str(n) for pool, n in D_LIMITS.items()})
            fleet = await _with_fleet(db, run_dir, "makespan", env, ns)
            limits = {**DEFAULT_POOL_LIMITS, **D_LIMITS}
            plan = bench_plan(ns.video_scenes)
            report.bound = makespan_bound(plan, ns.videos, parse_latencies(D_LATENCIES), limits)
            _phase(report, "d", f"{ns.videos} videos x {ns.video_scenes} scenes, {D_LATENCIES}")
            report.makespan = await run_makespan(
                db, fleet, videos=ns.videos, scenes=ns.video_scenes, kling_limit=D_LIMITS["kling"]
            )
            await asyncio.to_thread(fleet.stop)
            fleet = None
    finally:
        if fleet is not None:
            await asyncio.to_thread(fleet.stop)
        await dispose_engine()
        if not ns.keep_db:
            await db.drop()
    print(report.markdown())
    if ns.json:
        print(json.dumps(report.figures()), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(_args()))
