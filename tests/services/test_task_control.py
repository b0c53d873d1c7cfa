"""Retry resumes a failed task where it failed; cancel stops it at the next item boundary."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.core.errors import ConflictError
from app.models import AuditLog, ItemStatus, PipelineStep, TaskStatus
from app.pipeline import control as task_control
from app.pipeline.dispatcher import dispatch_pending
from app.pipeline.jobs import _claim, _record_failure
from app.pipeline.outcome import ItemFailedError
from tests.e2e.harness import short_plan
from tests.services.review_support import (
    WORKER,
    add_channel,
    add_task,
    claim,
    drive,
    items,
    load,
    starts,
    succeed,
)


async def _queued_at(task_id: uuid.UUID, step: PipelineStep) -> list[uuid.UUID]:
    found = await items(task_id, step)
    return [item.id for key, item in sorted(found.items()) if item.status == ItemStatus.QUEUED]


async def _running_at_videos(tmp_path: Path) -> uuid.UUID:
    """A task whose four clips are queued (no gate before videos, so nothing stops it there)."""
    channel_id = await add_channel(tmp_path, gates="[assembly]")
    task_id = await add_task(channel_id, short_plan(4))
    await drive_until(task_id, PipelineStep.VIDEOS)
    return task_id


async def drive_until(task_id: uuid.UUID, step: PipelineStep) -> None:
    await dispatch_pending()
    while (await load(task_id)).step != step:
        task = await load(task_id)
        [first, *_] = await _queued_at(task_id, task.step)
        await succeed(await claim(first))


async def test_retry_resumes_at_the_failed_step_keeping_finished_items(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    task_id = await _running_at_videos(tmp_path)
    first, second, *_ = await _queued_at(task_id, PipelineStep.VIDEOS)
    await succeed(await claim(first))
    broken = await claim(second)
    failure = ItemFailedError("INPUT_MISSING", "input composite does not exist", retryable=False)
    assert await _record_failure(broken, failure) is None
    failed = await load(task_id)
    assert (failed.status, failed.step, failed.error_code) == (
        TaskStatus.FAILED,
        PipelineStep.VIDEOS,
        "INPUT_MISSING",
    )

    async with session_scope() as session:
        await task_control.retry(session, task_id=task_id, actor="operator", notes="fixed it")
    queued = await load(task_id)
    assert (queued.status, queued.step, queued.error_code) == (
        TaskStatus.QUEUED,
        PipelineStep.VIDEOS,
        None,
    )

    done = await drive(task_id)  # the dispatcher releases it at its failed step
    assert (done.status, done.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.ASSEMBLY)
    counts = await starts(task_id)
    assert counts["videos:scene-02"] == 2  # the failed clip, once more
    assert {key for key, count in counts.items() if count != 1} == {"videos:scene-02"}
    assert counts["videos:scene-01"] == 1 and counts["assets:hero"] == 1
    async with session_scope() as session:
        [row] = await session.scalars(select(AuditLog).where(AuditLog.action == "task.retried"))
    assert row.actor == "operator"
    assert row.details["failed_items"] == ["scene-02"] and row.details["notes"] == "fixed it"


async def test_only_a_failed_task_can_be_retried(app_db: AsyncEngine, tmp_path: Path) -> None:
    task_id = await _running_at_videos(tmp_path)
    async with session_scope() as session:
        with pytest.raises(ConflictError, match="only a failed task can be retried"):
            await task_control.retry(session, task_id=task_id, actor="operator")


async def test_cancel_lets_running_items_finish_and_starts_nothing_new(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    task_id = await _running_at_videos(tmp_path)
    first, second, *_ = await _queued_at(task_id, PipelineStep.VIDEOS)
    running = await claim(first)

    async with session_scope() as session:
        await task_control.cancel(session, task_id=task_id, actor="operator", reason="wrong topic")
    cancelled = await load(task_id)
    assert cancelled.status == TaskStatus.CANCELLED
    assert cancelled.status_reason == (
        "cancelled by operator: wrong topic; 1 item(s) already running finish their current "
        "script, nothing new starts"
    )

    await succeed(running)  # the script that was running is recorded...
    assert await _claim(second, WORKER) is None  # ...but a queued job claims nothing
    clips = await items(task_id, PipelineStep.VIDEOS)
    assert clips["scene-01"].status == ItemStatus.COMPLETED
    assert clips["scene-02"].status == ItemStatus.QUEUED
    assert (await load(task_id)).step == PipelineStep.VIDEOS  # and the step did not move on
    assert (await starts(task_id))["videos:scene-02"] == 0

    async with session_scope() as session:  # cancelling twice changes nothing
        await task_control.cancel(session, task_id=task_id, actor="someone else")
    assert (await load(task_id)).status_reason == cancelled.status_reason


async def test_cancel_is_refused_while_the_upload_runs(app_db: AsyncEngine, tmp_path: Path) -> None:
    channel_id = await add_channel(tmp_path, gates="[]")
    task_id = await add_task(channel_id, short_plan(1))
    await drive_until(task_id, PipelineStep.UPLOAD)
    [upload] = await _queued_at(task_id, PipelineStep.UPLOAD)
    uploading = await claim(upload)

    async with session_scope() as session:
        with pytest.raises(ConflictError) as refused:
            await task_control.cancel(session, task_id=task_id, actor="operator")
    assert refused.value.code == "UPLOAD_IN_PROGRESS"
    assert (await load(task_id)).status == TaskStatus.RUNNING

    await succeed(uploading)
    assert (await load(task_id)).status == TaskStatus.PUBLISHED
    async with session_scope() as session:
        with pytest.raises(ConflictError, match="cannot be cancelled"):
            await task_control.cancel(session, task_id=task_id, actor="operator")
        audits = await session.scalar(
            text("SELECT count(*) FROM audit_logs WHERE action = 'task.cancelled'")
        )
    assert audits == 0
