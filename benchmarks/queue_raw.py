"""Phase (a): PgQueuer alone, no-op jobs, drained by consumer processes (the ceiling for (b)).

The bench process preloads N jobs, starts K consumer processes (``python -m benchmarks.queue_raw``)
that connect and wait on stdin, then says "go" to all at once and times until the queue table is
empty (every job dequeued, run and logged, i.e. deleted by PgQueuer's log flush). Startup cost
(imports, connecting) is outside the timing; the consumers' first dequeue is inside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.models import Job
from pgqueuer.types import QueueExecutionMode

from app.core.config import PROJECT_ROOT
from benchmarks.queue_db import BenchDatabase, machine_busy_ticks, process_cpu_s

RAW_ENTRYPOINT = "bench.noop"


@dataclass(frozen=True)
class RawConfig:
    tag: str
    label: str
    batch_size: int
    max_concurrent_tasks: int | None  # None: PgQueuer's default (no per-worker cap)
    concurrency_limit: int  # 0: unlimited; >0 switches on PgQueuer's fleet-wide slot SQL


PGQ_DEFAULTS = RawConfig("a", "PgQueuer defaults (batch 10, no caps)", 10, None, 0)
# Our worker's shape: batch 1, 8 in flight per worker, a fleet-wide limit on the entrypoint
# (never reached here, but it selects the same, heavier, slot-gated dequeue SQL).
OUR_WORKER_SHAPE = RawConfig("a'", "our worker's settings (batch 1, max 8, slot-gated)", 1, 8, 24)


@dataclass(frozen=True)
class RawResult:
    config: RawConfig
    jobs: int
    consumers: int
    wall_s: float
    consumer_cpu_s: float
    server_cpu_s: float
    machine_busy: float  # share of all cores busy during the drain (0..1)

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.wall_s


async def _preload(conn: asyncpg.Connection, jobs: int) -> None:
    queries = Queries(AsyncpgDriver(conn))
    chunk = 1000
    for start in range(0, jobs, chunk):
        n = min(chunk, jobs - start)
        await queries.enqueue([RAW_ENTRYPOINT] * n, [None] * n, [0] * n)


async def run_raw(db: BenchDatabase, config: RawConfig, *, jobs: int, consumers: int) -> RawResult:
    conn = await db.connect()
    try:
        await conn.execute("DELETE FROM pgqueuer WHERE entrypoint = $1", RAW_ENTRYPOINT)
        await _preload(conn, jobs)
        args = [str(config.batch_size), str(config.max_concurrent_tasks or 0)]
        args.append(str(config.concurrency_limit))
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.queue_raw",
                *args,
                cwd=PROJECT_ROOT,
                env={**os.environ, "BENCH_DSN": db.dsn},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(consumers)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                if line.strip() != b"ready":
                    raise RuntimeError(f"raw consumer failed to start: {line!r}")
            pids = [p.pid for p in procs]
            cpu0, srv0, busy0 = process_cpu_s(pids), db.server_cpu_s(), machine_busy_ticks()
            started = time.perf_counter()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
            while await conn.fetchval(
                "SELECT count(*) FROM pgqueuer WHERE entrypoint = $1", RAW_ENTRYPOINT
            ):
                await asyncio.sleep(0.005)
            wall = time.perf_counter() - started
            cpu1, srv1, busy1 = process_cpu_s(pids), db.server_cpu_s(), machine_busy_ticks()
            done = 0
            for proc in procs:
                out, _ = await asyncio.wait_for(proc.communicate(), 60)
                done += int(json.loads(out.decode().strip().splitlines()[-1])["jobs"])
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    finally:
        await conn.close()
    if done != jobs:
        raise RuntimeError(f"raw phase ran {done} jobs, expected {jobs}")
    return RawResult(
        config=config,
        jobs=jobs,
        consumers=consumers,
        wall_s=wall,
        consumer_cpu_s=cpu1 - cpu0,
        server_cpu_s=srv1 - srv0,
        machine_busy=(busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1),
    )


async def _consume(batch_size: int, max_concurrent: int, limit: int) -> None:
    """One consumer process: connect, say ready, wait for go, drain, report its count."""
    conn = await asyncpg.connect(os.environ["BENCH_DSN"])
    qm = QueueManager(Queries(AsyncpgDriver(conn)))
    done = 0

    @qm.entrypoint(RAW_ENTRYPOINT, concurrency_limit=limit)
    async def noop(job: Job) -> None:
        nonlocal done
        done += 1

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await qm.run(
        mode=QueueExecutionMode.drain,
        batch_size=batch_size,
        max_concurrent_tasks=max_concurrent or None,
        dequeue_timeout=timedelta(seconds=0.5),
    )
    print(json.dumps({"jobs": done}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A raw PgQueuer consumer (started by the bench).")
    parser.add_argument("batch_size", type=int)
    parser.add_argument("max_concurrent", type=int)
    parser.add_argument("concurrency_limit", type=int)
    ns = parser.parse_args()
    asyncio.run(_consume(ns.batch_size, ns.max_concurrent, ns.concurrency_limit))
