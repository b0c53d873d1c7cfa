"""Driving tasks through the fleet from the bench process: plans, creation, waiting, audit rows.

Tasks are created in-process through the product's own ``create_task`` (the API's code path, minus
HTTP), so the bench knows each creation's commit time to the microsecond; the web process's
dispatcher hears the NOTIFY like it would for an API call.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.core.database import session_scope
from app.core.time import utc_now
from app.pipeline.schemas import TaskCreate
from app.pipeline.service import create_task
from benchmarks.queue_fleet import BENCH_CHANNEL, BenchFleet


def bench_plan(scenes: int) -> dict[str, Any]:
    """A valid hand-written plan: a composite scene, a split scene, then singles; 3 assets."""
    layouts = [("composite", ["hero", "forest"]), ("split", ["forest", "city"])]
    return {
        "title": "Benchmark film",
        "aspect_ratio": "16:9",
        "assets": [
            {"name": "hero", "kind": "character", "prompt": "a small robot"},
            {"name": "forest", "kind": "environment", "prompt": "a forest at dawn"},
            {"name": "city", "kind": "environment", "prompt": "a city at night"},
        ],
        "scenes": [
            {
                "number": n,
                "layout": layouts[n - 1][0] if n <= 2 else "single",
                "images": layouts[n - 1][1] if n <= 2 else ["city"],
                "narration": f"This is scene number {n}.",
                "motion_prompt": "slow zoom in",
                "sfx_prompt": "wind",
                "duration_s": 4,
            }
            for n in range(1, scenes + 1)
        ],
        "music": None,
    }


async def create_one(plan: dict[str, Any], title: str) -> tuple[uuid.UUID, datetime]:
    """Create and queue one task; return its id and the time its transaction had committed."""
    data = TaskCreate(channel_slug=BENCH_CHANNEL, title=title, plan=plan)  # type: ignore[arg-type]
    async with session_scope() as session:
        task = await create_task(session, data=data, actor="bench")
        task_id = task.id
    return task_id, utc_now()


async def wait_done(
    conn: asyncpg.Connection,
    task_ids: Sequence[uuid.UUID],
    fleet: BenchFleet,
    *,
    timeout_s: float,
    poll_s: float = 0.1,
) -> None:
    """Until every task is published; a failed task or a dead fleet process stops the bench."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    ids = list(task_ids)
    while True:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'published') AS done,"
            " count(*) FILTER (WHERE status = 'failed') AS failed,"
            " max(error_message) AS error FROM tasks WHERE id = ANY($1)",
            ids,
        )
        assert row is not None
        if row["failed"]:
            raise RuntimeError(f"{row['failed']} task(s) failed: {row['error']}")
        if row["done"] == len(ids):
            return
        if dead := fleet.dead():
            raise RuntimeError(f"fleet process died: {dead}\n{fleet.tail(dead[0])}")
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"timed out: {row['done']}/{len(ids)} published")
        await asyncio.sleep(poll_s)


@dataclass(frozen=True)
class AuditRow:
    task_id: uuid.UUID
    action: str
    step: str
    item: str | None
    at: datetime


async def audit_rows(conn: asyncpg.Connection, task_ids: Sequence[uuid.UUID]) -> list[AuditRow]:
    rows = await conn.fetch(
        "SELECT task_id, action, details->>'step' AS step, details->>'item' AS item, created_at"
        " FROM audit_logs WHERE task_id = ANY($1) AND action IN"
        " ('step.started', 'step.completed', 'item.started', 'item.completed')"
        " ORDER BY created_at",
        list(task_ids),
    )
    return [
        AuditRow(r["task_id"], r["action"], r["step"], r["item"], r["created_at"]) for r in rows
    ]


async def completed_at(conn: asyncpg.Connection, task_ids: Sequence[uuid.UUID]) -> datetime:
    value = await conn.fetchval(
        "SELECT max(completed_at) FROM tasks WHERE id = ANY($1)", list(task_ids)
    )
    assert isinstance(value, datetime)
    return value


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): with 100 samples, p99 is the second largest."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
