"""A channel and its stored (encrypted) credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin


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
