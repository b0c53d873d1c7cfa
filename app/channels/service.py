"""Channel queries for the API (channels themselves are written by ``channel_sync``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError
from app.models import Channel


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def list_channels(session: AsyncSession, *, active: bool | None = None) -> list[Channel]:
    query = select(Channel).order_by(Channel.slug)
    if active is not None:
        query = query.where(Channel.active.is_(active))
    return list((await session.scalars(query)).all())


async def get_channel(session: AsyncSession, *, channel_ref: str | uuid.UUID) -> Channel:
    """A channel by id or by slug (people type slugs; programs keep ids)."""
    channel_uuid = channel_ref if isinstance(channel_ref, uuid.UUID) else _as_uuid(channel_ref)
    if channel_uuid is not None:
        channel = await session.get(Channel, channel_uuid)
    else:
        channel = await session.scalar(select(Channel).where(Channel.slug == channel_ref))
    if channel is None:
        raise NotFoundError(
            f"no channel '{channel_ref}'",
            code="CHANNEL_NOT_FOUND",
            details={"channel": str(channel_ref)},
        )
    return channel
