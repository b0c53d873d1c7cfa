"""The cost ledger read back: filtered rows (keyset-paginated) or sums per channel/service/day/step.

Sums are SQL aggregates over the whole filtered ledger, so a report over a year of paid calls
costs one grouped query, not a Python loop over rows. A day is a UTC calendar day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import get_channel
from app.core import keyset
from app.core.keyset import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.models import Channel, PipelineStep, VideoCost
from app.spend.schemas import CostGroupBy


@dataclass(frozen=True)
class CostFilters:
    """Which ledger rows a report covers: one object, so the route hands its query string's filters
    to the totals, groups and rows alike instead of restating them at every layer."""

    task_id: uuid.UUID | None = None
    channel_ref: str | None = None
    service: str | None = None
    step: PipelineStep | None = None
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None


@dataclass(frozen=True)
class CostSums:
    cost_usd: Decimal
    units: Decimal
    count: int


@dataclass(frozen=True)
class CostGroup:
    """One group's sums; ``key`` is the slug, service, ISO day or step name."""

    key: str
    channel_id: uuid.UUID | None
    cost_usd: Decimal
    units: Decimal
    count: int


@dataclass(frozen=True)
class CostReport:
    totals: CostSums
    group_by: CostGroupBy | None
    groups: list[CostGroup] | None
    items: list[VideoCost] | None
    next_cursor: str | None


def _sums() -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    return (
        func.coalesce(func.sum(VideoCost.cost_usd), literal(Decimal(0))).label("cost_usd"),
        func.coalesce(func.sum(VideoCost.units), literal(Decimal(0))).label("units"),
        func.count(VideoCost.id).label("calls"),
    )


async def _filters(session: AsyncSession, filters: CostFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.task_id is not None:
        conditions.append(VideoCost.task_id == filters.task_id)
    if filters.channel_ref is not None:
        channel = await get_channel(session, channel_ref=filters.channel_ref)
        conditions.append(VideoCost.channel_id == channel.id)
    if filters.service is not None:
        conditions.append(VideoCost.service == filters.service)
    if filters.step is not None:
        conditions.append(VideoCost.step == filters.step)
    conditions += keyset.created_within(VideoCost.created_at, filters.date_from, filters.date_to)
    return conditions


def _grouped_query(group_by: CostGroupBy) -> Select[Any]:
    if group_by is CostGroupBy.CHANNEL:
        return (
            select(Channel.slug.label("key"), VideoCost.channel_id, *_sums())
            .join(Channel, Channel.id == VideoCost.channel_id)
            .group_by(VideoCost.channel_id, Channel.slug)
            .order_by(Channel.slug)
        )
    if group_by is CostGroupBy.DAY:
        day = func.date(func.timezone("UTC", VideoCost.created_at))
        return select(day.label("key"), literal(None).label("channel_id"), *_sums()).group_by(day)
    column = VideoCost.service if group_by is CostGroupBy.SERVICE else VideoCost.step
    return select(column.label("key"), literal(None).label("channel_id"), *_sums()).group_by(column)


async def cost_report(
    session: AsyncSession,
    filters: CostFilters,
    *,
    group_by: CostGroupBy | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> CostReport:
    """Totals of the filtered ledger, plus its groups (``group_by``) or a page of its rows.

    Rows come newest first, keyset-paginated on (created_at, id); groups come sorted by key and
    are not paginated (a group per channel, service, step or day stays small).
    """
    keyset.check_limit(limit, MAX_PAGE_SIZE)
    conditions = await _filters(session, filters)
    total_row = (await session.execute(select(*_sums()).where(*conditions))).one()
    totals = CostSums(
        cost_usd=total_row.cost_usd, units=total_row.units, count=int(total_row.calls)
    )
    if group_by is not None:
        query = _grouped_query(group_by).where(*conditions)
        if group_by is not CostGroupBy.CHANNEL:
            query = query.order_by("key")
        groups = [
            CostGroup(
                key=row.key.isoformat() if isinstance(row.key, date) else str(row.key),
                channel_id=row.channel_id,
                cost_usd=row.cost_usd,
                units=row.units,
                count=int(row.calls),
            )
            for row in (await session.execute(query)).all()
        ]
        return CostReport(
            totals=totals, group_by=group_by, groups=groups, items=None, next_cursor=None
        )
    page, next_cursor = await keyset.newest_first(
        session,
        select(VideoCost).where(*conditions),
        (VideoCost.created_at, VideoCost.id),
        cursor=cursor,
        limit=limit,
    )
    return CostReport(
        totals=totals, group_by=None, groups=None, items=list(page), next_cursor=next_cursor
    )
