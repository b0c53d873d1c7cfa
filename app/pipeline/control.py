"""What a person does to a task: queue it, cancel it (at the next item boundary), retry it after a
failure, and bring their own media for a scene.

Cancel never interrupts a running script: items already running finish and are recorded (their
cost too), but a cancelled task's queued jobs claim nothing (``item_jobs`` only claims items of a
running task) and nothing new is enqueued. The one exception is the upload: while the YouTube
upload item runs, cancel is refused with 409, since stopping there would leave a half-made video
on the channel; once the upload finishes the task is published and can no longer be cancelled.

Retry puts a failed task back in the queue; the dispatcher releases it within its channel's
``max_concurrent`` and restarts its failed step, where ``start_step`` resets the failed items
and keeps the finished ones.

Queue starts a draft (or a cancelled task again).

The user's own media for a scene (an image, a clip or a narration file instead of a provider's)
is checked (it must decode as what it claims to be) and stored under the task's ``user-media/``
prefix, and the task's plan names it in the scene's ``media``; the step that would
have made that file then copies it (``copy`` items, no call, no cost) and the steps it replaces
(the scene's image, its composite) make nothing. Media is accepted only while the step that uses
it has not started, so a running step never sees its inputs change under it.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts.media_probe import MediaUnreadableError, check_media
from app.artifacts.store import ArtifactStore
from app.core.errors import BadRequestError, ConflictError, NotFoundError
from app.core.time import utc_now
from app.models import (
    PIPELINE_ORDER,
    Channel,
    ItemStatus,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
)
from app.pipeline.items import user_media_key
from app.pipeline.orchestrator import audit
from app.pipeline.queue import notify_dispatcher
from app.pipeline.state import ensure_transition
from app.planning.plan import PlanValidationError, parse_plan


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


MEDIA_KINDS: dict[str, tuple[PipelineStep, tuple[str, ...]]] = {
    "image": (PipelineStep.ASSETS, (".png", ".jpg", ".jpeg", ".webp")),
    "clip": (PipelineStep.VIDEOS, (".mp4", ".mov", ".webm", ".mkv")),
    "narration": (PipelineStep.NARRATION, (".mp3", ".wav", ".m4a", ".ogg", ".flac")),
}
_OPEN = (TaskStatus.DRAFT, TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.FAILED)


def media_suffix(kind: str, filename: str | None) -> str:
    """The stored file's ending, from the upload's name; refused when it is not one we play."""
    if kind not in MEDIA_KINDS:
        raise BadRequestError(
            f"kind '{kind}' is not one of {', '.join(MEDIA_KINDS)}", code="MEDIA_KIND_INVALID"
        )
    allowed = MEDIA_KINDS[kind][1]
    suffix = Path(filename or "").suffix.lower()
    if suffix not in allowed:
        raise BadRequestError(
            f"a {kind} must be a {', '.join(allowed)} file; got '{filename or 'no file name'}'",
            code="MEDIA_TYPE_INVALID",
            details={"kind": kind, "allowed": list(allowed)},
        )
    return suffix


def _check_open(task: Task, kind: str) -> None:
    step = MEDIA_KINDS[kind][0]
    started = task.status != TaskStatus.DRAFT and PIPELINE_ORDER.index(
        task.step
    ) >= PIPELINE_ORDER.index(step)
    if task.status not in _OPEN or started:
        raise ConflictError(
            f"task {task.id} is {task.status.value} at its {task.step.value} step: a {kind} is "
            f"used by the {step.value} step, which has already started or finished. Bring media "
            "to a draft (create the task with queue=false), then queue it",
            code="MEDIA_TOO_LATE",
            details={"status": task.status.value, "step": task.step.value, "uses": step.value},
        )
    if task.plan is None:
        raise ConflictError(
            f"task {task.id} has no plan yet: media belongs to a scene of a plan. Create the "
            "task with a plan (and queue=false), then upload its media",
            code="PLAN_MISSING",
        )


def _with_media(plan: dict[str, Any], scene_number: int, kind: str, key: str) -> dict[str, Any]:
    scenes = [dict(s) for s in plan["scenes"]]
    numbers = [s.get("number") for s in scenes]
    if scene_number not in numbers:
        raise NotFoundError(
            f"the plan has no scene {scene_number} (its scenes: "
            f"{', '.join(str(n) for n in numbers)})",
            code="SCENE_NOT_FOUND",
        )
    scene = scenes[numbers.index(scene_number)]
    scene["media"] = {**(scene.get("media") or {}), kind: key}
    try:
        return parse_plan({**plan, "scenes": scenes}).model_dump(mode="json")
    except PlanValidationError as exc:
        raise BadRequestError(str(exc), code="PLAN_INVALID") from None


async def attach_media(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    scene_number: int,
    kind: str,
    filename: str | None,
    upload: Path,
    store: ArtifactStore,
    actor: str,
) -> tuple[Task, str]:
    """Check ``upload``, store it as the scene's ``kind`` and record it in the plan; the caller
    commits. Returns the task and the stored key."""
    suffix = media_suffix(kind, filename)
    task = await session.scalar(select(Task).where(Task.id == task_id).with_for_update())
    if task is None:
        raise NotFoundError(f"task {task_id} not found", code="TASK_NOT_FOUND")
    _check_open(task, kind)
    try:
        duration = await asyncio.to_thread(check_media, upload, kind)
    except MediaUnreadableError as exc:
        raise BadRequestError(
            f"'{filename}' was sent as the scene's {kind} but {exc}: send a "
            f"{'/'.join(MEDIA_KINDS[kind][1])} file",
            code="MEDIA_UNREADABLE",
        ) from None
    key = user_media_key(task, scene_number, kind, suffix)
    assert task.plan is not None  # _check_open refuses a task without one
    plan = _with_media(task.plan, scene_number, kind, key)
    await asyncio.to_thread(store.put, key, upload)
    task.plan = plan
    audit(
        session,
        actor=actor,
        action="task.media_attached",
        task=task,
        details={"scene": scene_number, "kind": kind, "key": key, "duration_s": duration},
    )
    return task, key
