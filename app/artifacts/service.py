"""Artifacts of a task: which keys belong to it, and reading them from the artifact store.

An artifact key is a workspace-relative path (``channels/<c>/projects/<t>/videos/scene-01.mp4``),
also usable as a bucket key. The stores themselves (local workspace, S3 bucket) live in
``app.artifacts.store``; this module only decides which keys a task owns.

Only keys the database ties to the task are served: an item's ``output_keys`` or the task's
``final_video_key``. A key is never taken from the request itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts.schemas import ArtifactKind
from app.artifacts.store import ArtifactMissingError, ArtifactStat, describe_type
from app.artifacts.store import ArtifactStore as ArtifactStore  # re-exported for callers
from app.core.errors import NotFoundError
from app.models import PipelineStep, Task, TaskItem
from app.pipeline.items import task_prefix
from app.pipeline.service import get_task

FINAL_OUTPUT = "final_video"


@dataclass(frozen=True)
class Artifact:
    """One file of a task; ``path`` is what follows ``/artifacts/`` in its URL."""

    step: PipelineStep
    item_id: uuid.UUID | None
    item_key: str | None
    scene_number: int | None
    output: str
    key: str
    path: str
    kind: ArtifactKind
    content_type: str
    size: int | None


def artifact_path(task: Task, key: str) -> str:
    """The URL path of a key: relative to the task's prefix when under it, else the whole key."""
    prefix = task_prefix(task) + "/"
    return key.removeprefix(prefix) if key.startswith(prefix) else key


async def _task_items(session: AsyncSession, task_id: uuid.UUID) -> list[TaskItem]:
    query = (
        select(TaskItem)
        .where(TaskItem.task_id == task_id)
        .order_by(TaskItem.step, TaskItem.scene_number.nulls_first(), TaskItem.item_key)
    )
    return list((await session.scalars(query)).all())


def _entries(task: Task, items: list[TaskItem]) -> list[Artifact]:
    """Every key the database ties to the task, first claim wins (a key listed once)."""
    found: dict[str, Artifact] = {}

    def add(key: object, step: PipelineStep, output: str, item: TaskItem | None) -> None:
        if not isinstance(key, str) or not key or key in found:
            return
        kind, content_type = describe_type(key)
        found[key] = Artifact(
            step=step,
            item_id=item.id if item else None,
            item_key=item.item_key if item else None,
            scene_number=item.scene_number if item else None,
            output=output,
            key=key,
            path=artifact_path(task, key),
            kind=kind,
            content_type=content_type,
            size=None,
        )

    for item in items:
        for output, key in sorted(item.output_keys.items()):
            add(key, item.step, output, item)
    add(task.final_video_key, PipelineStep.ASSEMBLY, FINAL_OUTPUT, None)
    return list(found.values())


def _with_size(store: ArtifactStore, artifact: Artifact) -> Artifact:
    try:
        size: int | None = store.stat(artifact.key).size
    except ArtifactMissingError:
        size = None
    return replace(artifact, size=size)


async def list_artifacts(
    session: AsyncSession, *, task_id: uuid.UUID, store: ArtifactStore
) -> list[Artifact]:
    """The task's artifacts in pipeline order; ``size`` is None when the file is not there."""
    task = await get_task(session, task_id=task_id)
    entries = _entries(task, await _task_items(session, task_id))
    return await anyio.to_thread.run_sync(lambda: [_with_size(store, a) for a in entries])


async def find_artifact(
    session: AsyncSession, *, task_id: uuid.UUID, path: str, store: ArtifactStore
) -> tuple[Artifact, ArtifactStat]:
    """The artifact at ``path`` of this task with its current size; 404 for anything else."""
    task = await get_task(session, task_id=task_id)
    matches = [a for a in _entries(task, await _task_items(session, task_id)) if a.path == path]
    if not matches:
        raise NotFoundError(
            f"task {task_id} has no artifact {path!r}",
            code="ARTIFACT_NOT_FOUND",
            details={"task_id": str(task_id), "path": path},
        )
    artifact = matches[0]
    try:
        stat = await anyio.to_thread.run_sync(store.stat, artifact.key)
    except ArtifactMissingError as exc:
        raise NotFoundError(
            f"artifact {path!r} of task {task_id} is not available: {exc.reason}",
            code="ARTIFACT_MISSING",
            details={"task_id": str(task_id), "path": path},
        ) from None
    return artifact, stat


async def read_range(
    store: ArtifactStore, key: str, *, start: int, length: int
) -> AsyncIterator[bytes]:
    """``length`` bytes of ``key`` from ``start``, each chunk read off the event loop."""
    chunks = await anyio.to_thread.run_sync(store.iter_range, key, start, length)
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
            yield chunk
    finally:
        await anyio.to_thread.run_sync(chunks.close)
