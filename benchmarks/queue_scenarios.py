"""Phases (b) throughput, (c) dispatch latency and (d) makespan, each on a running fleet."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from benchmarks.queue_db import BenchDatabase, machine_busy_ticks, process_cpu_s
from benchmarks.queue_fleet import BenchFleet
from benchmarks.queue_latency import LatencyResult, latencies, picked_times
from benchmarks.queue_makespan import KlingUse, kling_slot_hold_s, kling_use
from benchmarks.queue_tasks import (
    audit_rows,
    bench_plan,
    completed_at,
    create_one,
    wait_done,
)


@dataclass
class CpuUse:
    """CPU seconds per process class over one phase, and the share of both cores busy."""

    workers_s: float = 0.0
    web_s: float = 0.0
    server_s: float = 0.0
    machine_busy: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)


class CpuMeter:
    def __init__(self, db: BenchDatabase, fleet: BenchFleet) -> None:
        self.db, self.fleet = db, fleet

    def _sample(self) -> tuple[float, float, float, tuple[int, int]]:
        return (
            process_cpu_s(self.fleet.pids("worker")),
            process_cpu_s(self.fleet.pids("web")),
            self.db.server_cpu_s(),
            machine_busy_ticks(),
        )

    async def __aenter__(self) -> CpuMeter:
        await asyncio.sleep(1.2)  # let pg_stat_database catch up with earlier phases
        self._start = self._sample()
        self._counters = await self.db.xact_counters()
        self.use = CpuUse()
        return self

    async def __aexit__(self, *_: object) -> None:
        end = self._sample()
        (w0, web0, s0, b0), (w1, web1, s1, b1) = self._start, end
        self.use.workers_s, self.use.web_s, self.use.server_s = w1 - w0, web1 - web0, s1 - s0
        self.use.machine_busy = (b1[0] - b0[0]) / max(b1[1] - b0[1], 1)
        await asyncio.sleep(1.2)  # backends report their counters within about a second
        after = await self.db.xact_counters()
        self.use.counters = {k: after[k] - self._counters.get(k, 0) for k in after}


@dataclass
class ThroughputResult:
    tasks: int
    wall_s: float
    steps: int
    items: int
    cpu: CpuUse

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.wall_s

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_s

    @property
    def items_per_s(self) -> float:
        return self.items / self.wall_s


async def run_throughput(
    db: BenchDatabase, fleet: BenchFleet, *, tasks: int, scenes: int
) -> ThroughputResult:
    """(b): ``tasks`` no-op tasks queued back to back; wall time to the last one published."""
    plan = bench_plan(scenes)
    conn = await db.connect()
    try:
        async with CpuMeter(db, fleet) as meter:
            ids: list[uuid.UUID] = []
            first_commit: datetime | None = None
            for n in range(tasks):
                task_id, committed = await create_one(plan, f"throughput {n}")
                ids.append(task_id)
                first_commit = first_commit or committed
            await wait_done(conn, ids, fleet, timeout_s=600)
        assert first_commit is not None
        wall = (await completed_at(conn, ids) - first_commit).total_seconds()
        rows = await audit_rows(conn, ids)
    finally:
        await conn.close()
    return ThroughputResult(
        tasks=tasks,
        wall_s=wall,
        steps=sum(r.action == "step.completed" for r in rows),
        items=sum(r.action == "item.completed" for r in rows),
        cpu=meter.use,
    )


async def run_latency(
    db: BenchDatabase, fleet: BenchFleet, *, tasks: int, scenes: int, gap_s: float, warmup: int
) -> LatencyResult:
    """(c): one task at a time on an idle fleet; each waits for the previous to publish."""
    plan = bench_plan(scenes)
    conn = await db.connect()
    try:
        for n in range(warmup):
            task_id, _ = await create_one(plan, f"warm-up {n}")
            await wait_done(conn, [task_id], fleet, timeout_s=60, poll_s=0.02)
        commits: dict[uuid.UUID, datetime] = {}
        for n in range(tasks):
            await asyncio.sleep(gap_s)
            task_id, committed = await create_one(plan, f"latency {n}")
            commits[task_id] = committed
            await wait_done(conn, [task_id], fleet, timeout_s=60, poll_s=0.02)
        rows = await audit_rows(conn, list(commits))
        picks = await picked_times(conn, min(commits.values()))
    finally:
        await conn.close()
    return latencies(rows, commits, picks)


@dataclass
class MakespanResult:
    videos: int
    scenes: int
    makespan_s: float
    kling: KlingUse
    cpu: CpuUse


async def run_makespan(
    db: BenchDatabase, fleet: BenchFleet, *, videos: int, scenes: int, kling_limit: int
) -> MakespanResult:
    """(d): ``videos`` tasks queued at once; makespan from the first commit to the last publish."""
    plan = bench_plan(scenes)
    conn = await db.connect()
    try:
        async with CpuMeter(db, fleet) as meter:
            ids: list[uuid.UUID] = []
            first_commit: datetime | None = None
            for n in range(videos):
                task_id, committed = await create_one(plan, f"video {n}")
                ids.append(task_id)
                first_commit = first_commit or committed
            await wait_done(conn, ids, fleet, timeout_s=max(600, 20 * videos * scenes))
        assert first_commit is not None
        makespan = (await completed_at(conn, ids) - first_commit).total_seconds()
        rows = await audit_rows(conn, ids)
        kling = kling_use(rows, first_commit, kling_limit)
        kling = replace(kling, slot_hold_s=await kling_slot_hold_s(conn, first_commit))
    finally:
        await conn.close()
    return MakespanResult(
        videos=videos, scenes=scenes, makespan_s=makespan, kling=kling, cpu=meter.use
    )
