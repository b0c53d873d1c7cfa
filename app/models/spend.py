"""What a video cost, the YouTube quota it used, and how it did after publication."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utc_now
from app.models.base import Base, pg_enum
from app.models.enums import PipelineStep


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
    step: Mapped[PipelineStep] = mapped_column(pg_enum(PipelineStep, "pipeline_step"))
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
