"""The user's own media for a scene: an image, a clip or a narration file instead of a provider's.

A file is checked (it must decode as what it claims to be) and stored under the task's
``user-media/`` prefix, and the task's plan names it in the scene's ``media``; the step that would
have made that file then copies it (``copy`` items, no call, no cost) and the steps it replaces
(the scene's image, its composite) make nothing. Media is accepted only while the step that uses
it has not started, so a running step never sees its inputs change under it.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts.media_probe import MediaUnreadableError, check_media
from app.artifacts.store import ArtifactStore
from app.core.errors import BadRequestError, ConflictError, NotFoundError
from app.models import PIPELINE_ORDER, PipelineStep, Task, TaskStatus
from app.pipeline.items import user_media_key
from app.pipeline.orchestrator import audit
from app.planning.plan import PlanValidationError, parse_plan

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
