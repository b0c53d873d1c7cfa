"""Releases queued tasks into the pipeline, fairly across channels.

Round-robin over channels (least recently served first), within each channel's ``max_concurrent``
running tasks, and inside a channel by priority then age. One dispatcher runs fleet-wide: the
leader holds a PostgreSQL advisory lock on its own connection, so a second web replica waits.
It wakes on ``NOTIFY vidgen_dispatch`` (task queued or finished) and on a periodic tick; the
tick also starts the fleet-wide background work (retention, video statistics).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts.retention import schedule_purge_if_due
from app.core.database import session_scope
from app.core.leader import LeaderLoop
from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import Channel, PipelineStep, Task, TaskStatus
from app.pipeline.queue import DISPATCH_CHANNEL
from app.pipeline.reconciler import requeue_orphans
from app.pipeline.state import ensure_transition
from app.youtube.stats import schedule_stats_if_due

log = get_logger("dispatcher")

DISPATCHER_LOCK_KEY = 0x76_69_64_67_01  # "vidg" + 1: any fixed 64-bit key unique to us

# Both lock queries load whole rows as ORM objects: the task needs no second SELECT, and
# start_step finds the channel in the session instead of selecting it again.
_NEXT_CHANNEL_SQL = text(
    """
    SELECT c.*
    FROM channels AS c
    WHERE c.active
      AND EXISTS (SELECT 1 FROM tasks AS q WHERE q.channel_id = c.id AND q.status = 'queued')
      AND (SELECT count(*) FROM tasks AS r WHERE r.channel_id = c.id AND r.status = 'running')
          < c.max_concurrent
    ORDER BY c.last_dispatched_at ASC NULLS FIRST, c.priority DESC, c.id
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
    """
)
_NEXT_TASK_SQL = text(
    """
    SELECT * FROM tasks
    WHERE channel_id = :channel_id AND status = 'queued'
    ORDER BY priority DESC, queued_at ASC NULLS LAST, created_at ASC, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
    """
)


async def dispatch_one(session: AsyncSession) -> uuid.UUID | None:
    """Move the next fair task from queued to running and start its plan step; None if none."""
    from app.pipeline.orchestrator import start_step

    channel = (
        await session.execute(select(Channel).from_statement(_NEXT_CHANNEL_SQL))
    ).scalar_one_or_none()
    if channel is None:
        return None
    task = (
        await session.execute(
            select(Task).from_statement(_NEXT_TASK_SQL), {"channel_id": channel.id}
        )
    ).scalar_one_or_none()
    if task is None:
        return None
    ensure_transition(task.status, TaskStatus.RUNNING)
    now = utc_now()
    task.status = TaskStatus.RUNNING
    task.status_reason = None
    task.started_at = task.started_at or now
    await session.execute(  # not through the ORM: that would also bump channels.updated_at
        text("UPDATE channels SET last_dispatched_at = :now WHERE id = :id"),
        {"now": now, "id": channel.id},
    )
    await start_step(
        session, task, task.step if task.plan is not None else PipelineStep.PLAN, actor="dispatcher"
    )
    return uuid.UUID(str(task.id))


async def dispatch_pending(max_tasks: int = 1000) -> list[uuid.UUID]:
    """Dispatch until no channel has both capacity and a queued task; one transaction each."""
    dispatched: list[uuid.UUID] = []
    while len(dispatched) < max_tasks:
        async with session_scope() as session:
            task_id = await dispatch_one(session)
        if task_id is None:
            break
        dispatched.append(task_id)
        log.info("dispatch.released", task_id=str(task_id))
    return dispatched


class Dispatcher(LeaderLoop):
    """The leader loop; ``run()`` until ``stop()``; survives PostgreSQL restarts."""

    _log = log
    _event = "dispatch"
    _application_name = "dispatcher"
    _lock_key = DISPATCHER_LOCK_KEY

    def __init__(self, *, tick_seconds: float = 5.0, retry_seconds: float = 2.0) -> None:
        super().__init__(retry_seconds=retry_seconds)
        self.tick_seconds = tick_seconds

    def wake(self) -> None:
        self._wake.set()

    async def _serve(self, conn: Any) -> None:
        log.info("dispatch.leader_acquired")
        await conn.add_listener(DISPATCH_CHANNEL, lambda *_: self._wake.set())
        next_reconcile = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            await dispatch_pending()
            if time.monotonic() >= next_reconcile:
                await requeue_orphans()
                schedule_purge_if_due()  # artifact retention, in the background
                schedule_stats_if_due()  # video statistics, in the background
                next_reconcile = time.monotonic() + self.tick_seconds
            if conn.is_closed():
                raise OSError("dispatcher connection closed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_seconds)
            await conn.fetchval("SELECT 1")  # notice a dead server within one tick
