"""Task bodies: what the API accepts to create a task and what it returns about one."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.models import ItemStatus, PipelineStep, StepStatus, TaskStatus
from app.planning.plan import ProductionPlan

MAX_PRIORITY = 100


def _date_or_datetime(value: object) -> object:
    """Keep ``2026-01-01`` a date (a whole day) instead of letting pydantic read it as midnight."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return date.fromisoformat(value.strip())
    return value


DateOrDateTime = Annotated[datetime | date, BeforeValidator(_date_or_datetime)]


class TaskCreate(BaseModel):
    """A new video. Name the channel by ``channel_id`` or by ``channel_slug`` (exactly one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel_id: uuid.UUID | None = None
    channel_slug: str | None = Field(default=None, min_length=1, max_length=64)
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    topic: str | None = Field(default=None, max_length=5000)
    story_direction: str | None = Field(default=None, max_length=10000)
    priority: int = Field(default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    plan: ProductionPlan | None = Field(
        default=None, description="A hand-written plan, used as is instead of running the planner."
    )
    queue: bool = Field(
        default=True,
        description="true: the task is queued for production; false: it stays a draft.",
    )

    @model_validator(mode="after")
    def _one_channel_reference(self) -> TaskCreate:
        if (self.channel_id is None) == (self.channel_slug is None):
            raise ValueError("give exactly one of channel_id and channel_slug")
        return self


class TaskResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: uuid.UUID
    status: TaskStatus
    step: PipelineStep
    status_reason: str | None
    priority: int
    title: str
    topic: str | None
    story_direction: str | None
    plan_source: str | None
    error_code: str | None
    error_message: str | None
    notion_page_id: str | None
    youtube_video_id: str | None
    youtube_url: str | None
    final_video_key: str | None
    total_cost_usd: Decimal
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskStepResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: PipelineStep
    status: StepStatus
    attempts: int
    error_code: str | None
    error_message: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None


class TaskItemResponse(BaseModel):
    """One artifact. Remote ids are left out: an upload session URI works as a credential."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    step: PipelineStep
    item_key: str
    scene_number: int | None
    status: ItemStatus
    attempts: int
    output_keys: dict[str, Any]
    cost_usd: Decimal
    error_code: str | None
    error_message: str | None
    started_at: datetime | None
    completed_at: datetime | None


class VideoCostResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    step: PipelineStep
    item_key: str | None
    service: str
    model: str | None
    units: Decimal
    unit_label: str | None
    cost_usd: Decimal
    created_at: datetime


class TaskTotals(BaseModel):
    cost_usd: Decimal
    cost_by_step: dict[str, Decimal]
    cost_by_service: dict[str, Decimal]
    paid_calls: int
    items_total: int
    items_completed: int


class TaskDetailResponse(TaskResponse):
    plan: dict[str, Any] | None
    steps: list[TaskStepResponse]
    items: list[TaskItemResponse]
    costs: list[VideoCostResponse]
    totals: TaskTotals
