"""An item's life in few statements, and a task's first item enqueued with its release.

Statements are counted with SQLAlchemy's cursor hook over the real database: every query the
claim or the record sends through the session is one round trip to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import plain_dsn, session_scope
from app.models import ItemStatus, PipelineStep, StepStatus, TaskStatus
from app.pipeline.dispatcher import dispatch_one
from app.pipeline.jobs import _claim
from tests.e2e.harness import short_plan
from tests.services.review_support import (
    WORKER,
    add_channel,
    add_task,
    claim,
    items,
    load,
    succeed,
)
from tests.services.test_task_control import _running_at_videos


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(str(args[2]).split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_claim_and_record_of_an_item_are_four_statements_each(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    task_id = await _running_at_videos(tmp_path)
    clips = await items(task_id, PipelineStep.VIDEOS)
    first, last = clips["scene-01"].id, clips["scene-04"].id
    with _statements(app_db) as sent:
        claimed = await claim(first)
    # lock task and item (one SELECT), count the start, the item's UPDATE, the audit row
    assert sorted(sent) == ["INSERT", "SELECT", "UPDATE", "UPDATE"], sent
    with _statements(app_db) as sent:
        await succeed(claimed)
    # lock, the item's UPDATE, the audit row, one count of the step's unfinished items: no
    # rebuild of the step from the plan, no re-read of the channel or of every item
    assert sorted(sent) == ["INSERT", "SELECT", "SELECT", "UPDATE"], sent
    async with session_scope() as session:
        step = await session.scalar(
            text("SELECT starts FROM task_steps WHERE task_id = :t AND step = 'videos'"),
            {"t": task_id},
        )
    assert step == 1  # the claim's start was counted without reading the row

    for key in ("scene-02", "scene-03"):
        await succeed(await claim(clips[key].id))
    assert (await load(task_id)).step == PipelineStep.VIDEOS
    await succeed(await claim(last))  # the last one completes the step and starts the next
    task = await load(task_id)
    assert (task.status, task.step) == (TaskStatus.RUNNING, PipelineStep.NARRATION)
    assert {i.status for i in (await items(task_id, PipelineStep.VIDEOS)).values()} == {
        ItemStatus.COMPLETED
    }
    assert await _claim(last, WORKER) is None  # a re-handed job of a done item claims nothing


async def test_the_first_item_is_enqueued_in_the_transaction_that_releases_the_task(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[assembly]")
    task_id = await add_task(channel_id, short_plan(2))
    observer = await asyncpg.connect(plain_dsn())
    try:
        jobs = "SELECT count(*) FROM pgqueuer WHERE convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'"
        async with session_scope() as session:
            released = await dispatch_one(session)
            assert released == task_id
            # not committed yet: neither the release nor its job is visible to anyone else
            status = await observer.fetchval("SELECT status FROM tasks WHERE id = $1", task_id)
            assert status == TaskStatus.QUEUED.value
            assert await observer.fetchval("SELECT count(*) FROM pgqueuer") == 0
        status = await observer.fetchval("SELECT status FROM tasks WHERE id = $1", task_id)
        assert status == TaskStatus.RUNNING.value
        plan = (await items(task_id, PipelineStep.PLAN))["plan"]
        assert plan.status == ItemStatus.QUEUED
        assert await observer.fetchval(jobs, str(plan.id)) == 1  # committed with the release
        step = await observer.fetchval(
            "SELECT status FROM task_steps WHERE task_id = $1 AND step = 'plan'", task_id
        )
        assert step == StepStatus.RUNNING.value
    finally:
        await observer.close()
