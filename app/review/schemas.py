"""Review actions in and out: approve, reject with a partial redo, bulk, and the review queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.models import PipelineStep, TaskStatus
from app.planning.plan import MAX_SCENES

MAX_BULK_REVIEWS = 100
Notes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SceneReplacement(_In):
    """New text for one scene; each field given regenerates what it feeds (even if unchanged)."""

    scene: int = Field(ge=1, le=MAX_SCENES)
    motion_prompt: str | None = Field(default=None, description="Regenerates the scene's clip.")
    narration: str | None = Field(default=None, description="Regenerates its narration track.")
    sfx_prompt: str | None = Field(default=None, description="Regenerates its sound effect.")

    @model_validator(mode="after")
    def _something(self) -> SceneReplacement:
        if self.motion_prompt is None and self.narration is None and self.sfx_prompt is None:
            raise ValueError("give at least one of motion_prompt, narration, sfx_prompt")
        return self


class AssetReplacement(_In):
    asset: str = Field(min_length=1, max_length=64)
    prompt: str = Field(description="The asset's new image prompt; regenerates the asset.")


class RedoRequest(_In):
    """What a rejection regenerates. Named items are redone with everything built from them
    (an asset → composites → clips → segments → final); all else is kept. Naming nothing redoes
    every item of the gate's step."""

    step: PipelineStep | None = Field(
        default=None,
        description=(
            "The step whose items `scenes` names (default: the gate's step); any step from "
            "composites up to the gate. Given without `scenes`, every item of that step."
        ),
    )
    scenes: list[Annotated[int, Field(ge=1, le=MAX_SCENES)]] = Field(
        default_factory=list, max_length=MAX_SCENES
    )
    assets: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=60
    )
    scene_replacements: list[SceneReplacement] = Field(default_factory=list, max_length=MAX_SCENES)
    asset_replacements: list[AssetReplacement] = Field(default_factory=list, max_length=60)

    @model_validator(mode="after")
    def _no_repeats(self) -> RedoRequest:
        named: list[tuple[str, list[str]]] = [
            ("scenes", [str(n) for n in self.scenes]),
            ("assets", list(self.assets)),
            ("scene_replacements", [str(r.scene) for r in self.scene_replacements]),
            ("asset_replacements", [r.asset for r in self.asset_replacements]),
        ]
        for label, values in named:
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{label} names {', '.join(repeated)} more than once")
        return self

    def names_nothing(self) -> bool:
        return not (
            self.step
            or self.scenes
            or self.assets
            or self.scene_replacements
            or self.asset_replacements
        )


class RejectRequest(RedoRequest):
    notes: Notes = Field(description="What is wrong; kept with the review, sent to the planner.")


class ApproveRequest(_In):
    notes: str | None = Field(default=None, max_length=5000)


class CancelRequest(_In):
    reason: str | None = Field(default=None, max_length=2000)


class RetryRequest(_In):
    notes: str | None = Field(default=None, max_length=2000)


class BulkReviewEntry(RedoRequest):
    task_id: uuid.UUID
    decision: Literal["approve", "reject"]
    notes: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _fits_decision(self) -> BulkReviewEntry:
        if self.decision == "reject" and not (self.notes and self.notes.strip()):
            raise ValueError("a rejection needs notes")
        if self.decision == "approve" and not self.names_nothing():
            raise ValueError("an approval takes no step, scenes, assets or replacements")
        return self

    def as_reject(self) -> RejectRequest:
        data = self.model_dump(exclude={"task_id", "decision"})
        return RejectRequest.model_validate(data)


class BulkReviewRequest(_In):
    reviews: list[BulkReviewEntry] = Field(min_length=1, max_length=MAX_BULK_REVIEWS)

    @model_validator(mode="after")
    def _one_per_task(self) -> BulkReviewRequest:
        ids = [str(entry.task_id) for entry in self.reviews]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"task {', '.join(repeated)} is reviewed more than once")
        return self


class BulkReviewResult(BaseModel):
    task_id: uuid.UUID
    decision: Literal["approve", "reject"]
    status: TaskStatus
    step: PipelineStep
    status_reason: str | None


class ArtifactLink(BaseModel):
    step: PipelineStep
    item_key: str
    scene_number: int | None
    name: str = Field(description="The output's role (`output`, `published`, ...).")
    key: str
    url: str


class ReviewQueueEntry(BaseModel):
    task_id: uuid.UUID
    title: str
    channel_id: uuid.UUID
    channel_slug: str
    priority: int
    gate: PipelineStep
    kind: Literal["review", "budget"] = Field(
        description="`review`: a gate after its step; `budget`: the step waits for an overspend."
    )
    status_reason: str | None
    waiting_since: datetime
    artifacts: list[ArtifactLink]


def redo_record(request: RedoRequest) -> dict[str, Any]:
    """The request as stored with its review (only what was asked)."""
    return request.model_dump(
        mode="json", exclude_defaults=True, exclude={"notes", "task_id", "decision"}
    )
