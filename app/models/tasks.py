"""A task (one video), its steps and items, its review decisions and its append-only audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.time import utc_now
from app.models.base import Base, TimestampMixin, pg_enum
from app.models.channels import Channel
from app.models.enums import ItemStatus, PipelineStep, ReviewDecision, StepStatus, TaskStatus


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
        pg_enum(TaskStatus, "task_status"), default=TaskStatus.DRAFT
    )
    step: Mapped[PipelineStep] = mapped_column(
        pg_enum(PipelineStep, "pipeline_step"), default=PipelineStep.PLAN
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
    step: Mapped[PipelineStep] = mapped_column(pg_enum(PipelineStep, "pipeline_step"))
    status: Mapped[StepStatus] = mapped_column(
        pg_enum(StepStatus, "step_status"), default=StepStatus.PENDING
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
    step: Mapped[PipelineStep] = mapped_column(pg_enum(PipelineStep, "pipeline_step"))
    item_key: Mapped[str] = mapped_column(String(200))
    scene_number: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ItemStatus] = mapped_column(
        pg_enum(ItemStatus, "item_status"), default=ItemStatus.PENDING
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
    gate: Mapped[PipelineStep] = mapped_column(pg_enum(PipelineStep, "pipeline_step"))
    decision: Mapped[ReviewDecision] = mapped_column(pg_enum(ReviewDecision, "review_decision"))
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
