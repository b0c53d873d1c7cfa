"""Phase (c)'s arithmetic: latencies from audit rows, split at PgQueuer's hand-over.

On an idle fleet only one task runs, so the first ``picked`` row PgQueuer logs after a moment is
the job the fleet started next. That splits each latency in two: up to the pick (our record or
dispatch transaction, its commit, NOTIFY, the worker's dequeue) and from the pick to the
``item.started`` row (the handler's claim transaction).
"""

from __future__ import annotations

import bisect
import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from app.models import PIPELINE_ORDER
from benchmarks.queue_tasks import AuditRow


@dataclass
class LatencyResult:
    create_to_plan_ms: list[float] = field(default_factory=list)
    create_to_dispatch_ms: list[float] = field(default_factory=list)  # -> step.started(plan)
    create_to_pick_ms: list[float] = field(default_factory=list)
    step_to_next_ms: list[float] = field(default_factory=list)
    step_to_pick_ms: list[float] = field(default_factory=list)
    pick_to_start_ms: list[float] = field(default_factory=list)
    per_transition_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


async def picked_times(conn: asyncpg.Connection, since: datetime) -> list[datetime]:
    rows = await conn.fetch(
        "SELECT created FROM pgqueuer_log WHERE status = 'picked' AND created >= $1"
        " ORDER BY created",
        since,
    )
    return [r["created"] for r in rows]


def _ms(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() * 1000


def _first_after(times: list[datetime], moment: datetime) -> datetime | None:
    index = bisect.bisect_left(times, moment)
    return times[index] if index < len(times) else None


def latencies(
    rows: list[AuditRow], commits: dict[uuid.UUID, datetime], picks: list[datetime]
) -> LatencyResult:
    by_task: dict[uuid.UUID, list[AuditRow]] = defaultdict(list)
    for row in rows:
        by_task[row.task_id].append(row)
    result = LatencyResult()
    steps = [s.value for s in PIPELINE_ORDER]
    for task_id, task_rows in by_task.items():
        first_start: dict[str, datetime] = {}
        completed: dict[str, datetime] = {}
        dispatched: datetime | None = None
        for row in task_rows:  # ordered by time
            if row.action == "item.started":
                first_start.setdefault(row.step, row.at)
            elif row.action == "step.completed":
                completed.setdefault(row.step, row.at)
            elif row.action == "step.started" and row.step == "plan":
                dispatched = dispatched or row.at
        commit = commits[task_id]
        result.create_to_plan_ms.append(_ms(first_start["plan"], commit))
        if dispatched is not None:
            result.create_to_dispatch_ms.append(_ms(dispatched, commit))
        starts = [(commit, first_start["plan"], None)]
        starts += [(completed[s], first_start[n], f"{s}→{n}") for s, n in itertools.pairwise(steps)]
        for origin, started, name in starts:
            pick = _first_after(picks, origin)
            if pick is not None and pick <= started:
                waits = result.create_to_pick_ms if name is None else result.step_to_pick_ms
                waits.append(_ms(pick, origin))
                result.pick_to_start_ms.append(_ms(started, pick))
            if name is not None:
                result.step_to_next_ms.append(_ms(started, origin))
                result.per_transition_ms[name].append(_ms(started, origin))
    return result
