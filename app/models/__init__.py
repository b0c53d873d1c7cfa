"""All ORM models (seed naming: plural tables, UUID ``id``, ``{table}_id`` FKs, ``ix_`` indexes).

One module per group of tables; everything is re-exported here so ``from app.models import Task``
stays the one way to name a model, and importing the package registers every table on
``Base.metadata`` (Alembic and the drift test rely on that).
"""

from app.models.base import NAMING_CONVENTION, Base, TimestampMixin
from app.models.channels import Channel, ChannelCredential
from app.models.enums import (
    ACTIVE_TASK_STATUSES,
    PIPELINE_ORDER,
    TERMINAL_TASK_STATUSES,
    ItemStatus,
    PipelineStep,
    ReviewDecision,
    StepStatus,
    TaskStatus,
)
from app.models.spend import VideoCost, VideoStat, YouTubeQuotaUsage
from app.models.sync import (
    AlertDelivery,
    NotionPage,
    NotionRateLimit,
    NotionSyncState,
    WebhookEvent,
)
from app.models.tasks import AuditLog, Review, Task, TaskItem, TaskStep

__all__ = [
    "ACTIVE_TASK_STATUSES",
    "NAMING_CONVENTION",
    "PIPELINE_ORDER",
    "TERMINAL_TASK_STATUSES",
    "AlertDelivery",
    "AuditLog",
    "Base",
    "Channel",
    "ChannelCredential",
    "ItemStatus",
    "NotionPage",
    "NotionRateLimit",
    "NotionSyncState",
    "PipelineStep",
    "Review",
    "ReviewDecision",
    "StepStatus",
    "Task",
    "TaskItem",
    "TaskStatus",
    "TaskStep",
    "TimestampMixin",
    "VideoCost",
    "VideoStat",
    "WebhookEvent",
    "YouTubeQuotaUsage",
]
