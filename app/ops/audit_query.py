"""Reading the audit log back for the API: filters and keyset pagination, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import get_channel
from app.core import keyset
from app.core.keyset import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.models import AuditLog


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
    keyset.check_limit(limit, MAX_PAGE_SIZE)
    query = select(AuditLog)
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
    query = query.where(*keyset.created_within(AuditLog.created_at, date_from, date_to))
    items, next_cursor = await keyset.newest_first(
        session, query, (AuditLog.created_at, AuditLog.id), cursor=cursor, limit=limit
    )
    return AuditPage(items=list(items), next_cursor=next_cursor)
