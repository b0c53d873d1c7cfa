"""What a task, step, item and review can be; stored as PostgreSQL enums."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PUBLISHED = "published"


class PipelineStep(StrEnum):
    PLAN = "plan"
    ASSETS = "assets"
    COMPOSITES = "composites"
    VIDEOS = "videos"
    NARRATION = "narration"
    SOUND_EFFECTS = "sound_effects"
    ASSEMBLY = "assembly"
    UPLOAD = "upload"


PIPELINE_ORDER: tuple[PipelineStep, ...] = tuple(PipelineStep)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ItemStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ReviewDecision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


ACTIVE_TASK_STATUSES = frozenset(
    {TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.AWAITING_REVIEW}
)
TERMINAL_TASK_STATUSES = frozenset({TaskStatus.PUBLISHED, TaskStatus.CANCELLED})
