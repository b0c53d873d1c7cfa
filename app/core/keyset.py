"""Keyset pagination and date windows, shared by every list that pages on ``(created_at, id)``.

Tasks, audit rows and cost rows are listed newest first and the review queue oldest first; all
hand out the same opaque cursor (the last row's time and id, base64 JSON), so a client treats
every ``next_cursor`` alike and a malformed one is the same 400 everywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import BadRequestError

# One page size for every list (tasks, reviews, audit rows, costs), so a client pages them alike.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Keyed(Protocol):
    """A row that a cursor can point after."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=Keyed)
K = TypeVar("K", bound=Keyed)


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) a cursor points after; a malformed cursor is the client's error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, id_text = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("cursor time has no offset")
        return at, uuid.UUID(id_text)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadRequestError(
            "invalid cursor: pass back the next_cursor of a previous page unchanged",
            code="INVALID_CURSOR",
        ) from exc


def check_limit(limit: int, maximum: int) -> None:
    """Refuse a page size out of range before any query runs (so it is reported first)."""
    if not 1 <= limit <= maximum:
        raise BadRequestError(f"limit must be between 1 and {maximum}", code="INVALID_LIMIT")


def _utc_clamped(value: datetime, *, plus: timedelta = timedelta()) -> datetime:
    """``value + plus`` in UTC (naive means UTC), clamped to what ``datetime`` can hold.

    ``9999-12-31`` as an end date, or year 1 with a positive offset, would overflow; clamping
    keeps the filter's meaning (everything up to the end of time) instead of failing the request.
    """
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        return (aware + plus).astimezone(UTC)
    except OverflowError:
        edge = datetime.max if value.year > 1 else datetime.min
        return edge.replace(tzinfo=UTC)


def created_at_bounds(
    date_from: date | datetime | None, date_to: date | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(inclusive lower, exclusive upper) bounds on ``created_at``.

    A plain date covers its whole UTC day at either end; a datetime is exact (``date_to`` included);
    a datetime without an offset is read as UTC.
    """
    lower = upper = None
    if isinstance(date_from, datetime):
        lower = _utc_clamped(date_from)
    elif date_from is not None:
        lower = datetime.combine(date_from, time(), tzinfo=UTC)
    if isinstance(date_to, datetime):
        upper = _utc_clamped(date_to, plus=timedelta(microseconds=1))  # PostgreSQL keeps µs
    elif date_to is not None:
        upper = _utc_clamped(datetime.combine(date_to, time()), plus=timedelta(days=1))
    if lower is not None and upper is not None and lower >= upper:
        raise BadRequestError(
            "date_from must not be after date_to",
            code="INVALID_DATE_RANGE",
            details={"date_from": str(date_from), "date_to": str(date_to)},
        )
    return lower, upper


def created_within(
    column: InstrumentedAttribute[datetime],
    date_from: date | datetime | None,
    date_to: date | datetime | None,
) -> list[ColumnElement[bool]]:
    """The conditions that keep ``column`` inside the requested window (none when open)."""
    lower, upper = created_at_bounds(date_from, date_to)
    conditions: list[ColumnElement[bool]] = []
    if lower is not None:
        conditions.append(column >= lower)
    if upper is not None:
        conditions.append(column < upper)
    return conditions


def _newest_first_query(
    query: Select[Any],
    keys: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[uuid.UUID]],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    created_at, row_id = keys
    query = query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    if cursor:
        after_created_at, after_id = decode_cursor(cursor)
        query = query.where(tuple_(created_at, row_id) < tuple_(after_created_at, after_id))
    return query


def _cut(rows: list[K], limit: int) -> tuple[list[K], str | None]:
    """The page (``limit`` of the ``limit + 1`` rows fetched) and the next page's cursor."""
    items = rows[:limit]
    more = len(rows) > limit
    return items, encode_cursor(items[-1].created_at, items[-1].id) if more else None


async def newest_first(
    session: AsyncSession,
    query: Select[R],
    keys: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[uuid.UUID]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[R], str | None]:
    """One page of ``query`` (ORM objects) newest first after ``cursor``, and the next cursor.

    Paging on (created_at, id) rather than an offset keeps a page stable while rows are added.
    """
    query = _newest_first_query(query, keys, cursor, limit)
    return _cut(list((await session.scalars(query)).all()), limit)


async def newest_first_rows(
    session: AsyncSession,
    query: Select[Any],
    keys: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[uuid.UUID]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row[Any]], str | None]:
    """``newest_first`` for a select of columns (which must include both keys): plain rows, no
    ORM objects to build and track, for a list that only reads them."""
    query = _newest_first_query(query, keys, cursor, limit)
    return _cut(list((await session.execute(query)).all()), limit)
