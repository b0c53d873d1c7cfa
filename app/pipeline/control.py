"""Stopping and restarting tasks: cancel (at the next item boundary) and retry (a failed task).

Cancel never interrupts a running script: items already running finish and are recorded (their
cost too), but a cancelled task's queued jobs claim nothing (``item_jobs`` only claims items of a
running task) and nothing new is enqueued. The one exception is the upload: while the YouTube
upload item runs, cancel is refused with 409, since stopping there would leave a half-made video
on the channel; once the upload finishes the task is published and can no longer be cancelled.

Retry puts a failed task back in the queue; the dispatcher releases it within its channel's
``max_concurrent`` and restarts its failed step, where ``start_step`` resets the failed items
and keeps the finished ones.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError
from app.core.time import utc_now
from app.models import Channel, ItemStatus, PipelineStep, Task, TaskItem, TaskStatus
from app.pipeline.orchestrator import audit
from app.pipeline.queue import notify_dispatcher
from app.pipeline.state import ensure_transition


async def _locked_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    task = await session.scalar(select(Task).where(Task.id == task_id).with_for_update())
    if task is None:
        raise NotFoundError(
            f"task {task_id} not found", code="TASK_NOT_FOUND", details={"task_id": str(task_id)}
        )
    return task


async def _running_items(session: AsyncSession, task: Task) -> dict[PipelineStep, int]:
    rows = await session.execute(
        select(TaskItem.step, func.count())
        .where(TaskItem.task_id == task.id, TaskItem.status == ItemStatus.RUNNING)
        .group_by(TaskItem.step)
    )
    return {row[0]: int(row[1]) for row in rows}


async def cancel(
    session: AsyncSession, *, task_id: uuid.UUID, actor: str, reason: str | None = None
) -> Task:
    """Cancel the task; a task already cancelled is returned unchanged."""
    task = await _locked_task(session, task_id)
    if task.status == TaskStatus.CANCELLED:
        return task
    if task.status == TaskStatus.PUBLISHED:
        raise ConflictError(
            f"task {task.id} is published: a published video cannot be cancelled",
            code="ALREADY_PUBLISHED",
        )
    running = await _running_items(session, task)
    if running.get(PipelineStep.UPLOAD):
        raise ConflictError(
            f"task {task.id} is uploading to YouTube right now: cancelling mid-upload would leave "
            "a half-made video on the channel, so it is refused; the upload finishes within "
            "minutes (the video is then published: delete it on YouTube if unwanted)",
            code="UPLOAD_IN_PROGRESS",
            details={"step": task.step.value},
        )
    ensure_transition(task.status, TaskStatus.CANCELLED)
    previous = task.status
    task.status = TaskStatus.CANCELLED
    task.completed_at = utc_now()
    reason_text = f"cancelled by {actor}" + (f": {reason}" if reason else "")
    in_flight = sum(running.values())
    if in_flight:
        reason_text += (
            f"; {in_flight} item(s) already running finish their current script, nothing new starts"
        )
    task.status_reason = reason_text
    audit(
        session,
        actor=actor,
        action="task.cancelled",
        task=task,
        details={
            "from": previous.value,
            "step": task.step.value,
            "reason": reason,
            "running_items": in_flight,
        },
    )
    await notify_dispatcher(session, "task.cancelled")
    return task


async def queue(session: AsyncSession, *, task_id: uuid.UUID, actor: str) -> Task:
    """Start a draft (or a cancelled task again): the dispatcher releases it within its channel's
    ``max_concurrent``. Queuing a queued task changes nothing."""
    task = await _locked_task(session, task_id)
    if task.status == TaskStatus.QUEUED:
        return task
    if task.status not in (TaskStatus.DRAFT, TaskStatus.CANCELLED):
        raise ConflictError(
            f"task {task.id} is {task.status.value}: only a draft or a cancelled task can be "
            "queued" + (" (retry it instead)" if task.status == TaskStatus.FAILED else ""),
            code="NOT_QUEUEABLE",
            details={"status": task.status.value, "step": task.step.value},
        )
    channel = await session.get(Channel, task.channel_id)
    if channel is None or not channel.active:
        raise ConflictError(
            f"task {task.id}'s channel is inactive: activate it, then queue the task again",
            code="CHANNEL_INACTIVE",
        )
    ensure_transition(task.status, TaskStatus.QUEUED)
    audit(
        session, actor=actor, action="task.queued", task=task, details={"from": task.status.value}
    )
    task.status, task.status_reason, task.queued_at = TaskStatus.QUEUED, None, utc_now()
    task.completed_at = None
    await notify_dispatcher(session, "task.queued")
    return task


async def retry(
    session: AsyncSession, *, task_id: uuid.UUID, actor: str, notes: str | None = None
) -> Task:
    """Queue a failed task again; it resumes at its failed step, keeping finished items."""
    task = await _locked_task(session, task_id)
    if task.status != TaskStatus.FAILED:
        raise ConflictError(
            f"task {task.id} is {task.status.value}, not failed: only a failed task can be "
            "retried"
            + (" (queue it again instead)" if task.status == TaskStatus.CANCELLED else ""),
            code="NOT_FAILED",
            details={"status": task.status.value, "step": task.step.value},
        )
    failed = list(
        await session.scalars(
            select(TaskItem.item_key).where(
                TaskItem.task_id == task.id,
                TaskItem.step == task.step,
                TaskItem.status == ItemStatus.FAILED,
            )
        )
    )
    ensure_transition(task.status, TaskStatus.QUEUED)
    audit(
        session,
        actor=actor,
        action="task.retried",
        task=task,
        details={
            "step": task.step.value,
            "error_code": task.error_code,
            "error": task.error_message,
            "failed_items": failed,
            "notes": notes,
        },
    )
    task.status = TaskStatus.QUEUED
    task.queued_at = utc_now()
    task.completed_at = None
    task.error_code = task.error_message = None
    task.status_reason = f"retry by {actor}: resumes at the {task.step.value} step"
    await notify_dispatcher(session, "task.queued")
    return task
