"""Rows for API tests, written through the app's own session scope (committed, visible to requests)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.core.database import session_scope
from app.core.time import utc_now
from app.models import Channel, Task, TaskStatus


async def add_channel(slug: str = "demo", *, active: bool = True, **fields: Any) -> Channel:
    channel = Channel(slug=slug, name=fields.pop("name", slug.title()), active=active, **fields)
    async with session_scope() as session:
        session.add(channel)
    return channel


async def add_task(
    channel: Channel,
    *,
    title: str = "A task",
    status: TaskStatus = TaskStatus.QUEUED,
    created_at: datetime | None = None,
    **fields: Any,
) -> Task:
    task = Task(
        channel_id=channel.id,
        title=title,
        status=status,
        created_at=created_at or utc_now(),
        **{"total_cost_usd": Decimal(0), **fields},
    )
    async with session_scope() as session:
        session.add(task)
    return task


async def add_rows(*rows: Any) -> None:
    async with session_scope() as session:
        session.add_all(rows)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
