"""Reading the audit log back for the API: filters and keyset pagination, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import get_channel
from app.core.errors import BadRequestError
from app.models import AuditLog
from app.pipeline.service import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    created_at_bounds,
    decode_cursor,
)
from app.spend.report import encode_keyset_cursor


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditLog]
    next_cursor: str | None


async def list_audit_logs(
    session: AsyncSession,
    *,
    task_id: uuid.UUID | None = None,
    channel_ref: str | None = None,
    actors: Sequence[str] = (),
    actions: Sequence[str] = (),
    entity_type: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> AuditPage:
    """Rows newest first, paginated on (created_at, id) so rows appended meanwhile never shift a
    page. ``actors`` and ``actions`` match any of the values given."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}", code="INVALID_LIMIT")
    query = (
        select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit + 1)
    )
    if task_id is not None:
        query = query.where(AuditLog.task_id == task_id)
    if channel_ref is not None:
        channel = await get_channel(session, channel_ref=channel_ref)
        query = query.where(AuditLog.channel_id == channel.id)
    if actors:
        query = query.where(AuditLog.actor.in_(list(actors)))
    if actions:
        query = query.where(AuditLog.action.in_(list(actions)))
    if entity_type is not None:
        query = query.where(AuditLog.entity_type == entity_type)
    lower, upper = created_at_bounds(date_from, date_to)
    if lower is not None:
        query = query.where(AuditLog.created_at >= lower)
    if upper is not None:
        query = query.where(AuditLog.created_at < upper)
    if cursor:
        after_created_at, after_id = decode_cursor(cursor)
        query = query.where(
            tuple_(AuditLog.created_at, AuditLog.id) < tuple_(after_created_at, after_id)
        )
    rows = list((await session.scalars(query)).all())
    items = rows[:limit]
    next_cursor = (
        encode_keyset_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    )
    return AuditPage(items=items, next_cursor=next_cursor)
