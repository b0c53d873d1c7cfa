"""The review page's view of one task: its plan scene by scene, with each scene's media.

Media come from ``artifacts.list_artifacts`` (only keys the database ties to the task) and are
linked through the artifacts route, which serves byte ranges so a ``<video>`` can seek. What a
reviewer may redo at this gate is worked out from the same rules the rejection applies
(``SCENE_STEPS``, steps up to the gate), so the form never offers what the service refuses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts import service as artifacts
from app.artifacts.service import FINAL_OUTPUT, Artifact, ArtifactStore
from app.core.keyset import MAX_PAGE_SIZE
from app.dashboard.board import step_label
from app.models import PIPELINE_ORDER, Channel, PipelineStep, Task, TaskStatus
from app.pipeline.assembly import FINAL_ITEM
from app.pipeline.service import get_task
from app.pipeline.state import notion_label
from app.review import queue as review_queue
from app.review.redo import SCENE_STEPS, step_index

MEDIA_KINDS = frozenset({"image", "video", "audio"})


@dataclass(frozen=True)
class Media:
    kind: str  # image | video | audio
    url: str
    content_type: str
    label: str


class _StepMedia:
    """A scene's media from one step, named for what the review template shows it as."""

    def __init__(self, step: PipelineStep) -> None:
        self._step = step

    def __get__(self, scene: SceneView, owner: type[SceneView] | None = None) -> Media | None:
        return scene.media.get(self._step)


@dataclass
class SceneView:
    number: int
    layout: str
    images: list[str]
    narration: str
    motion_prompt: str
    sfx_prompt: str
    duration_s: float | None
    media: dict[PipelineStep, Media] = field(default_factory=dict)

    composite = _StepMedia(PipelineStep.COMPOSITES)
    clip = _StepMedia(PipelineStep.VIDEOS)
    narration_audio = _StepMedia(PipelineStep.NARRATION)
    effect_audio = _StepMedia(PipelineStep.SOUND_EFFECTS)
    segment = _StepMedia(PipelineStep.ASSEMBLY)


@dataclass(frozen=True)
class AssetView:
    name: str
    kind: str
    prompt: str
    image: Media | None


@dataclass(frozen=True)
class ReviewView:
    task: Task
    channel: Channel
    waiting: bool
    kind: str  # "review" | "budget" | "none"
    gate_label: str
    label: str
    scenes: list[SceneView]
    assets: list[AssetView]
    final: Media | None
    redo_steps: list[PipelineStep]  # steps whose scene items may be named here
    can_redo_assets: bool
    queue_position: int | None
    queue_size: int
    prev_id: uuid.UUID | None
    next_id: uuid.UUID | None


def _media(task: Task, artifact: Artifact) -> Media | None:
    if artifact.kind not in MEDIA_KINDS or artifact.size is None:
        return None
    return Media(
        kind=artifact.kind,
        url=review_queue.artifact_url(task, artifact.key),
        content_type=artifact.content_type,
        label=f"{step_label(artifact.step)} {artifact.item_key or artifact.output}",
    )


def redo_steps_at(gate: PipelineStep) -> list[PipelineStep]:
    """Scene steps a rejection at ``gate`` may name (from composites up to the gate itself)."""
    return [s for s in PIPELINE_ORDER if s in SCENE_STEPS and step_index(s) <= step_index(gate)]


def queue_neighbours(
    ids: list[uuid.UUID], task_id: uuid.UUID
) -> tuple[int | None, uuid.UUID | None, uuid.UUID | None]:
    """(1-based position, previous, next) of the task in the review queue's order; a task not
    in the queue has no position and its "next" is the queue's head (what j opens)."""
    if task_id not in ids:
        return None, None, ids[0] if ids else None
    index = ids.index(task_id)
    prev_id = ids[index - 1] if index > 0 else None
    next_id = ids[index + 1] if index + 1 < len(ids) else None
    return index + 1, prev_id, next_id


async def next_waiting(session: AsyncSession, after: uuid.UUID) -> uuid.UUID | None:
    """The task to open after acting on ``after``: the longest-waiting other one."""
    page = await review_queue.list_waiting(session, limit=MAX_PAGE_SIZE)
    return next((e.task_id for e in page.entries if e.task_id != after), None)


async def build_review(
    session: AsyncSession, *, task_id: uuid.UUID, store: ArtifactStore
) -> ReviewView:
    task = await get_task(session, task_id=task_id)
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None  # a task's channel cannot be deleted (ON DELETE RESTRICT)
    plan: dict[str, Any] = task.plan or {}
    scenes = {
        int(s["number"]): SceneView(
            number=int(s["number"]),
            layout=str(s.get("layout", "")),
            images=[str(i) for i in s.get("images", [])],
            narration=str(s.get("narration", "")),
            motion_prompt=str(s.get("motion_prompt", "")),
            sfx_prompt=str(s.get("sfx_prompt", "")),
            duration_s=s.get("duration_s"),
        )
        for s in plan.get("scenes", [])
    }
    asset_media: dict[str, Media] = {}
    final: Media | None = None
    for artifact in await artifacts.list_artifacts(session, task_id=task.id, store=store):
        media = _media(task, artifact)
        if media is None:
            continue
        if artifact.output == FINAL_OUTPUT or artifact.item_key == FINAL_ITEM:
            final = final or media
        elif artifact.step == PipelineStep.ASSETS and artifact.item_key:
            asset_media.setdefault(artifact.item_key, media)
        elif artifact.scene_number in scenes:
            scenes[artifact.scene_number].media.setdefault(artifact.step, media)
    assets = [
        AssetView(
            name=str(a.get("name", "")),
            kind=str(a.get("kind", "")),
            prompt=str(a.get("prompt", "")),
            image=asset_media.get(str(a.get("name", ""))),
        )
        for a in plan.get("assets", [])
    ]
    waiting = task.status == TaskStatus.AWAITING_REVIEW
    queue = (await review_queue.list_waiting(session, limit=MAX_PAGE_SIZE)).entries
    position, prev_id, next_id = queue_neighbours([e.task_id for e in queue], task.id)
    entry = next((e for e in queue if e.task_id == task.id), None)
    kind = entry.kind if entry else ("review" if waiting else "none")
    gate = task.step
    return ReviewView(
        task=task,
        channel=channel,
        waiting=waiting,
        kind=kind,
        gate_label=step_label(gate),
        label=notion_label(task.status, gate),
        scenes=[scenes[n] for n in sorted(scenes)],
        assets=assets,
        final=final,
        redo_steps=redo_steps_at(gate) if gate != PipelineStep.PLAN else [],
        can_redo_assets=gate not in (PipelineStep.PLAN, PipelineStep.UPLOAD),
        queue_position=position,
        queue_size=len(queue),
        prev_id=prev_id,
        next_id=next_id,
    )
