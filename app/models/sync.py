"""Bookkeeping of the outside integrations: Notion sync state and pages, its rate budget,
received webhooks, alert deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utc_now
from app.models.base import Base, TimestampMixin


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
