"""The quota ledger: Pacific-time days, atomic reservations, deferral to the next reset."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.models import Channel, YouTubeQuotaUsage
from app.youtube.quota import (
    CLASSIC_COSTS,
    QuotaDeferredError,
    QuotaLedger,
    next_reset,
    quota_costs,
    quota_day,
)

P = "fleet"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def ledger(now: datetime, limit: int = 10_000) -> QuotaLedger:
    return QuotaLedger(costs=CLASSIC_COSTS, daily_limit=limit, clock=lambda: now)


async def channel(session: AsyncSession) -> uuid.UUID:
    channel_id = uuid.uuid4()
    session.add(Channel(id=channel_id, slug=f"c{channel_id.hex[:8]}", name="C"))
    await session.commit()
    return channel_id


def test_the_day_is_pacific_and_resets_at_pacific_midnight_across_dst() -> None:
    assert quota_day(at(2026, 3, 8, 7, 59)) == date(2026, 3, 7)  # 23:59 PST
    assert quota_day(at(2026, 3, 8, 8, 0)) == date(2026, 3, 8)
    # the spring-forward day is 23 hours long: its midnight is PDT, 07:00 UTC
    assert next_reset(at(2026, 3, 8, 12, 0)) == at(2026, 3, 9, 7, 0)
    # the fall-back day is 25 hours long: Nov 1 00:00 is PDT, Nov 2 00:00 is PST
    assert next_reset(at(2026, 10, 31, 20, 0)) == at(2026, 11, 1, 7, 0)
    assert next_reset(at(2026, 11, 1, 20, 0)) == at(2026, 11, 2, 8, 0)


def test_costs_default_to_the_classic_table_and_take_overrides() -> None:
    assert quota_costs(Settings()) == {"videos.insert": 1600, "videos.update": 50, "videos.list": 1, "thumbnails.set": 50, "captions.list": 50, "captions.insert": 400, "captions.update": 450}  # fmt: skip
    granular = Settings(youtube_quota_costs={"videos.insert": 100})
    assert quota_costs(granular)["videos.insert"] == 100
    with pytest.raises(ValueError, match=r"unknown call 'search\.list'"):
        quota_costs(Settings(youtube_quota_costs={"search.list": 100}))


async def test_reservations_add_up_and_refuse_what_does_not_fit(db_session: AsyncSession) -> None:
    channel_id = await channel(db_session)
    now = at(2026, 6, 1, 18, 0)
    book = ledger(now)
    assert await book.reserve(db_session, P, channel_id, "videos.insert") == 1600
    assert await book.reserve(db_session, P, channel_id, "thumbnails.set") == 1650
    for _ in range(5):
        await book.reserve(db_session, P, channel_id, "videos.insert")
    assert await book.used_today(db_session, P) == 9650
    with pytest.raises(QuotaDeferredError) as deferred:
        await book.reserve(db_session, P, channel_id, "videos.insert")
    assert deferred.value.resume_at == at(2026, 6, 2, 7, 1)  # PDT midnight + 1 min
    assert deferred.value.delay == at(2026, 6, 2, 7, 1) - now
    assert (
        "videos.insert needs 1600 units but 350 of 10000 are left today" in deferred.value.message
    )
    assert await book.used_today(db_session, P) == 9650  # a refusal spends nothing
    with pytest.raises(QuotaDeferredError, match=r"\+400 for the calls after it"):
        await book.reserve(db_session, P, channel_id, "thumbnails.set", headroom=400)
    assert await book.reserve(db_session, P, channel_id, "thumbnails.set", headroom=300) == 9700
    # the next Pacific day starts from zero
    assert (
        await ledger(at(2026, 6, 2, 7, 0)).reserve(db_session, P, channel_id, "videos.insert")
        == 1600
    )
    assert await ledger(at(2026, 6, 2, 6, 59)).used_today(db_session, P) == 9700


async def test_parallel_reservations_of_one_project_never_overspend(
    db_engine: AsyncEngine,
) -> None:
    """Two channels of one project race for the same units: the project total still holds."""
    async with AsyncSession(db_engine) as session:
        channels = [await channel(session), await channel(session)]
    book = ledger(at(2026, 6, 1, 18, 0))

    async def one(n: int) -> bool:
        async with AsyncSession(db_engine) as session, session.begin():
            try:
                await book.reserve(session, P, channels[n % 2], "videos.insert")
            except QuotaDeferredError:
                return False
            return True

    results = await asyncio.gather(*(one(n) for n in range(10)))
    assert sum(results) == 6  # 6 x 1,600 = 9,600 <= 10,000 < 7 x 1,600
    async with AsyncSession(db_engine) as session:
        rows = (await session.execute(select(YouTubeQuotaUsage.channel_id, YouTubeQuotaUsage.units_used))).all()  # fmt: skip
    assert sum(units for _, units in rows) == 9600 and len(rows) == 2


async def test_projects_are_separate_and_a_refund_gives_units_back(
    db_session: AsyncSession,
) -> None:
    alpha, bravo = await channel(db_session), await channel(db_session)
    book = ledger(at(2026, 6, 1, 18, 0), limit=2000)
    await book.reserve(db_session, P, alpha, "videos.insert")
    with pytest.raises(QuotaDeferredError, match=r"400 of 2000 are left today .* project fleet"):
        await book.reserve(db_session, P, bravo, "videos.insert")  # same project: shared
    assert await book.reserve(db_session, "own-client", bravo, "videos.insert") == 1600
    await book.release(db_session, P, alpha, "videos.insert", day=quota_day(book.now()))
    assert await book.used_today(db_session, P) == 0
    assert await book.reserve(db_session, P, bravo, "videos.insert") == 1600


async def test_exhaust_spends_the_whole_project_for_the_day(db_session: AsyncSession) -> None:
    alpha, bravo = await channel(db_session), await channel(db_session)
    book = ledger(at(2026, 6, 1, 18, 0), limit=500)
    await book.reserve(db_session, P, alpha, "videos.list")
    await book.exhaust(db_session, P, alpha)
    assert await book.project_today(db_session, P) == (1, True)  # units stay what was sent
    with pytest.raises(QuotaDeferredError, match="quotaExceeded for project fleet"):
        await book.reserve(db_session, P, bravo, "videos.list")  # the other channel waits too
    assert await book.reserve(db_session, "own-client", bravo, "videos.list") == 1
    assert book.defer("x", "why").delay < timedelta(hours=24)
