"""All ORM models (seed naming: plural tables, UUID ``id``, ``{table}_id`` FKs, ``ix_`` indexes)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.core.time import utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], native_enum=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now, onupdate=utc_now
    )


class Channel(TimestampMixin, Base):
    __tablename__ = "channels"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=1)
    notion_database_id: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    last_dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    credentials: Mapped[list[ChannelCredential]] = relationship(
        back_populates="channel", lazy="raise", cascade="all, delete-orphan"
    )


class ChannelCredential(TimestampMixin, Base):
    """One provider's secret for one channel, Fernet-encrypted at rest."""

    __tablename__ = "channel_credentials"
    __table_args__ = (UniqueConstraint("channel_id", "provider"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    channel: Mapped[Channel] = relationship(back_populates="credentials", lazy="raise")


class Task(TimestampMixin, Base):
    """One video. Its state is ``status`` + ``step``; see ``app.pipeline.state``."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_channel_id_status", "channel_id", "status"),
        Index("ix_tasks_created_at_id", "created_at", "id"),
        Index(
            "ix_tasks_queued_dispatch",
            "channel_id",
            text("priority DESC"),
            "queued_at",
            postgresql_where=text("status = 'queued'"),
        ),
        Index(
            "ix_tasks_active_channel_id",
            "channel_id",
            postgresql_where=text("status IN ('running', 'awaiting_review')"),
        ),
        Index("ix_tasks_status_created_at", "status", "created_at"),
        Index(
            "ix_tasks_retention_due",
            "completed_at",
            postgresql_where=text("status = 'published' AND artifacts_purged_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="RESTRICT"))
    status: Mapped[TaskStatus] = mapped_column(
        _enum(TaskStatus, "task_status"), default=TaskStatus.DRAFT
    )
    step: Mapped[PipelineStep] = mapped_column(
        _enum(PipelineStep, "pipeline_step"), default=PipelineStep.PLAN
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(Text)
    story_direction: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    plan_source: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    notion_page_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    youtube_video_id: Mapped[str | None] = mapped_column(String(32))
    youtube_url: Mapped[str | None] = mapped_column(String(200))
    final_video_key: Mapped[str | None] = mapped_column(String(500))
    total_cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When retention removed the intermediate artifacts (issue 9); None while they are kept.
    artifacts_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    channel: Mapped[Channel] = relationship(lazy="raise")
    steps: Mapped[list[TaskStep]] = relationship(
        back_populates="task", lazy="raise", cascade="all, delete-orphan"
    )
    items: Mapped[list[TaskItem]] = relationship(
        back_populates="task", lazy="raise", cascade="all, delete-orphan"
    )


class TaskStep(Base):
    """One pipeline step of one task; ``starts`` counts handler starts (PgQueuer re-picks don't)."""

    __tablename__ = "task_steps"
    __table_args__ = (UniqueConstraint("task_id", "step"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    step: Mapped[PipelineStep] = mapped_column(_enum(PipelineStep, "pipeline_step"))
    status: Mapped[StepStatus] = mapped_column(
        _enum(StepStatus, "step_status"), default=StepStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    starts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)

    task: Mapped[Task] = relationship(back_populates="steps", lazy="raise")


class TaskItem(Base):
    """One artifact of one step (an asset, a scene's clip, ...), recorded as soon as it finishes."""

    __tablename__ = "task_items"
    __table_args__ = (
        UniqueConstraint("task_id", "step", "item_key"),
        Index(
            "ix_task_items_unfinished",
            "task_id",
            "step",
            postgresql_where=text("status <> 'completed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    step: Mapped[PipelineStep] = mapped_column(_enum(PipelineStep, "pipeline_step"))
    item_key: Mapped[str] = mapped_column(String(200))
    scene_number: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ItemStatus] = mapped_column(
        _enum(ItemStatus, "item_status"), default=ItemStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    output_keys: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    remote_ids: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Who runs the item now and until when: renewed while it runs, so a re-picked job can tell a
    # live run (wait) from a dead one (take over), independently of PgQueuer's own connection.
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    task: Mapped[Task] = relationship(back_populates="items", lazy="raise")


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_task_id_created_at", "task_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    gate: Mapped[PipelineStep] = mapped_column(_enum(PipelineStep, "pipeline_step"))
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision, "review_decision"))
    notes: Mapped[str | None] = mapped_column(Text)
    redo: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now
    )


class AuditLog(Base):
    """Append-only: a database trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_created_at_action", "created_at", "action"),
        Index("ix_audit_logs_task_id", "task_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now
    )
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class VideoCost(Base):
    """The cost ledger: one row per paid call; task totals derive from it."""

    __tablename__ = "video_costs"
    __table_args__ = (
        Index("ix_video_costs_channel_id_created_at", "channel_id", "created_at"),
        Index("ix_video_costs_task_id", "task_id"),
        UniqueConstraint("idempotency_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    step: Mapped[PipelineStep] = mapped_column(_enum(PipelineStep, "pipeline_step"))
    item_key: Mapped[str | None] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(100))
    units: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal(0))
    unit_label: Mapped[str | None] = mapped_column(String(32))
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now
    )


class YouTubeQuotaUsage(Base):
    """One channel's units on one Pacific day, charged to its Cloud project's shared quota.

    Google counts quota per project (OAuth client), so the limit applies to the sum of a
    project's rows; the per-channel rows say who spent it. ``project`` is ``fleet`` for the
    fleet's YOUTUBE_CLIENT_ID, else the channel's own client id. ``exhausted_at`` records that
    Google answered ``quotaExceeded`` to this channel: the whole project is spent for the day.
    """

    __tablename__ = "youtube_quota_usage"

    project: Mapped[str] = mapped_column(
        String(200), primary_key=True, server_default=text("'fleet'")
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    units_used: Mapped[int] = mapped_column(Integer, default=0)
    daily_limit: Mapped[int] = mapped_column(Integer, default=10_000)
    exhausted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now, onupdate=utc_now
    )


class VideoStat(Base):
    """One statistics fetch of a published video: the history the Performance page draws.

    ``mark_hours`` is the schedule mark the fetch answers (1, 24, 48 ... 2160 hours after
    publication); unique per task, so two leaders racing cannot record one mark twice. ``views``
    is NULL when the video was gone from YouTube (deleted): the schedule still moves on. The
    analytics figures stay NULL without the ``yt-analytics.readonly`` scope or before they exist.
    """

    __tablename__ = "video_stats"
    __table_args__ = (
        UniqueConstraint("task_id", "mark_hours"),
        Index("ix_video_stats_channel_id_fetched_at", "channel_id", "fetched_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    youtube_video_id: Mapped[str] = mapped_column(String(32))
    mark_hours: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    views: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    average_view_duration_s: Mapped[float | None] = mapped_column(Float)
    average_view_percentage: Mapped[float | None] = mapped_column(Float)
    estimated_minutes_watched: Mapped[float | None] = mapped_column(Float)
    subscribers_gained: Mapped[int | None] = mapped_column(Integer)


class NotionSyncState(Base):
    """Per Notion database: its data source, schema and the last-edited cursor of the poller."""

    __tablename__ = "notion_sync_state"

    database_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_source_id: Mapped[str | None] = mapped_column(String(64))
    last_edited_cursor: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    schema: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now, onupdate=utc_now
    )


class WebhookEvent(Base):
    """Received webhook deliveries, keyed by the sender's event id for de-duplication."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_received_at", "received_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertDelivery(Base):
    """When each operator alert (by key) last went out: de-duplicates alerts across the fleet."""

    __tablename__ = "alert_deliveries"

    alert_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now, onupdate=utc_now
    )


class NotionPage(TimestampMixin, Base):
    """One Notion row we have seen: what we read, what we wrote, and our complaint about it.

    ``pushed`` (values we last wrote) against ``observed`` (values last read) is how a field the
    user edited after our write is told apart from one we own; ``inputs_hash`` recognises a row
    already processed (poll overlap, our own writes); ``task_digest`` tells the pusher a linked
    task changed, however it was changed.
    """

    __tablename__ = "notion_pages"
    __table_args__ = (
        Index("ix_notion_pages_database_id", "database_id"),
        Index("ix_notion_pages_dirty", "page_id", postgresql_where=text("dirty")),
    )

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    database_id: Mapped[str] = mapped_column(String(64))
    last_edited_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inputs_hash: Mapped[str | None] = mapped_column(String(64))
    observed: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    pushed: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    written_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    row_error: Mapped[str | None] = mapped_column(Text)
    row_error_label: Mapped[str | None] = mapped_column(String(100))
    task_digest: Mapped[str | None] = mapped_column(String(64))
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    in_trash: Mapped[bool] = mapped_column(Boolean, default=False)


class NotionRateLimit(Base):
    """A fleet-wide request pacer: the next free send slot of one Notion integration."""

    __tablename__ = "notion_rate_limits"

    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utc_now, onupdate=utc_now
    )
