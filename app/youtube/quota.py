"""The YouTube quota ledger: units per channel per Pacific-time day, and what waits for the reset.

Google resets the daily quota at midnight Pacific Time, so the ledger's day is the Pacific date.
A call reserves its cost before it is made, checking and adding in one statement so two workers
cannot both spend the last 1,600 units; Google charges refused calls too, so a reservation is
never given back. When the units would run out, or Google answers ``quotaExceeded`` anyway (other
clients share the project), the upload is deferred to just after the next Pacific midnight.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, get_settings
from app.core.time import utc_now
from app.models import Channel, ChannelCredential, YouTubeQuotaUsage

PACIFIC = ZoneInfo("America/Los_Angeles")
# The classic cost table (the conservative one; see external-apis.md, "granular quota").
CLASSIC_COSTS: dict[str, int] = {
    "videos.insert": 1600,
    "videos.update": 50,
    "videos.list": 1,
    "thumbnails.set": 50,
}
RESET_MARGIN = timedelta(minutes=1)
DEFERRED_CODES = ("YOUTUBE_QUOTA", "YOUTUBE_REAUTH")

Clock = Callable[[], datetime]


def quota_day(now: datetime) -> date:
    return now.astimezone(PACIFIC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight in Pacific Time (DST-aware), as an aware datetime."""
    tomorrow = quota_day(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=PACIFIC)


def describe_time(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M %Z")


class QuotaDeferredError(Exception):
    """Not enough units today; ``resume_at`` is just after the next reset."""

    def __init__(self, message: str, *, operation: str, resume_at: datetime, delay: timedelta):
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.resume_at = resume_at
        self.delay = delay


def quota_costs(settings: Settings | None = None) -> dict[str, int]:
    """The classic table with ``YOUTUBE_QUOTA_COSTS`` entries laid over it."""
    overrides = (settings or get_settings()).youtube_quota_costs
    unknown = sorted(set(overrides) - set(CLASSIC_COSTS))
    if unknown:
        raise ValueError(
            f"YOUTUBE_QUOTA_COSTS names unknown call {unknown[0]!r}; use "
            + ", ".join(CLASSIC_COSTS)
        )
    return {**CLASSIC_COSTS, **overrides}


class QuotaLedger:
    """Reservations against one day's units; ``clock`` is injectable so tests can freeze time."""

    def __init__(
        self, *, costs: Mapping[str, int], daily_limit: int, clock: Clock | None = None
    ) -> None:
        self.costs = dict(costs)
        self.daily_limit = daily_limit
        self._clock = clock or utc_now

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, clock: Clock | None = None
    ) -> QuotaLedger:
        settings = settings or get_settings()
        return cls(
            costs=quota_costs(settings), daily_limit=settings.youtube_quota_daily_limit, clock=clock
        )

    def now(self) -> datetime:
        return self._clock()

    def defer(self, operation: str, why: str) -> QuotaDeferredError:
        now = self.now()
        resume_at = next_reset(now) + RESET_MARGIN
        message = f"YouTube quota: {why}; the upload waits until {describe_time(resume_at)}"
        return QuotaDeferredError(
            message, operation=operation, resume_at=resume_at, delay=resume_at - now
        )

    async def used_today(self, session: AsyncSession, channel_id: uuid.UUID) -> int:
        used = await session.scalar(
            select(YouTubeQuotaUsage.units_used).where(
                YouTubeQuotaUsage.channel_id == channel_id,
                YouTubeQuotaUsage.date == quota_day(self.now()),
            )
        )
        return int(used or 0)

    async def reserve(
        self, session: AsyncSession, channel_id: uuid.UUID, operation: str, *, headroom: int = 0
    ) -> int:
        """Spend ``operation``'s cost if it (plus ``headroom`` for calls to follow) fits today.

        Returns the units used after it; raises ``QuotaDeferredError`` and spends nothing if not.
        """
        cost = self.costs[operation]
        limit = self.daily_limit
        now = self.now()
        if cost + headroom <= limit:
            stmt = (
                insert(YouTubeQuotaUsage)
                .values(
                    channel_id=channel_id,
                    date=quota_day(now),
                    units_used=cost,
                    daily_limit=limit,
                    updated_at=now,
                )
                .on_conflict_do_update(
                    index_elements=[YouTubeQuotaUsage.channel_id, YouTubeQuotaUsage.date],
                    set_={
                        "units_used": YouTubeQuotaUsage.units_used + cost,
                        "daily_limit": limit,
                        "updated_at": now,
                    },
                    where=YouTubeQuotaUsage.units_used + cost + headroom <= limit,
                )
                .returning(YouTubeQuotaUsage.units_used)
            )
            used = await session.scalar(stmt)
            if used is not None:
                return int(used)
        left = max(limit - await self.used_today(session, channel_id), 0)
        extra = f" (+{headroom} for the calls after it)" if headroom else ""
        raise self.defer(
            operation,
            f"{operation} needs {cost} units{extra} but {left} of {limit} are left today (Pacific)",
        )

    async def exhaust(self, session: AsyncSession, channel_id: uuid.UUID) -> None:
        """Google said ``quotaExceeded``: count today as spent so no one tries before the reset."""
        now = self.now()
        stmt = (
            insert(YouTubeQuotaUsage)
            .values(
                channel_id=channel_id,
                date=quota_day(now),
                units_used=self.daily_limit,
                daily_limit=self.daily_limit,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[YouTubeQuotaUsage.channel_id, YouTubeQuotaUsage.date],
                set_={"units_used": self.daily_limit, "updated_at": now},
            )
        )
        await session.execute(stmt)


@dataclass(frozen=True)
class ChannelQuota:
    channel_id: uuid.UUID
    slug: str
    units_used: int
    daily_limit: int
    remaining: int
    needs_reauth: bool


@dataclass(frozen=True)
class WaitingUpload:
    task_id: uuid.UUID
    channel_id: uuid.UUID
    channel_slug: str
    title: str
    item_status: str
    code: str | None
    reason: str | None
    resume_at: datetime | None


@dataclass(frozen=True)
class QuotaOverview:
    date: date
    timezone: str
    resets_at: datetime
    costs: dict[str, int]
    channels: list[ChannelQuota]
    waiting: list[WaitingUpload]


_WAITING_SQL = text(
    """
    SELECT t.id AS task_id, t.channel_id, c.slug, t.title, i.status::text AS item_status,
           i.error_code, t.status_reason, q.execute_after
    FROM task_items AS i
    JOIN tasks AS t ON t.id = i.task_id
    JOIN channels AS c ON c.id = t.channel_id
    LEFT JOIN pgqueuer AS q ON q.dedupe_key = 'item:' || i.id::text
    WHERE i.step = 'upload' AND i.status <> 'completed'
      AND t.status = 'running' AND t.step = 'upload'
    ORDER BY q.execute_after NULLS FIRST, t.created_at
    LIMIT 500
    """
)


async def quota_overview(
    session: AsyncSession, *, settings: Settings | None = None, clock: Clock | None = None
) -> QuotaOverview:
    """Today's units per channel and every upload not yet done, with why and until when."""
    ledger = QuotaLedger.from_settings(settings, clock)
    now = ledger.now()
    day = quota_day(now)
    used = dict(
        (
            await session.execute(
                select(YouTubeQuotaUsage.channel_id, YouTubeQuotaUsage.units_used).where(
                    YouTubeQuotaUsage.date == day
                )
            )
        ).all()
    )
    reauth = set(
        (
            await session.scalars(
                select(ChannelCredential.channel_id).where(
                    ChannelCredential.provider == "youtube",
                    ChannelCredential.needs_reauth.is_(True),
                )
            )
        ).all()
    )
    channels = [
        ChannelQuota(
            channel_id=channel.id,
            slug=channel.slug,
            units_used=used.get(channel.id, 0),
            daily_limit=ledger.daily_limit,
            remaining=max(ledger.daily_limit - used.get(channel.id, 0), 0),
            needs_reauth=channel.id in reauth,
        )
        for channel in (await session.scalars(select(Channel).order_by(Channel.slug))).all()
    ]
    waiting = [
        WaitingUpload(
            task_id=row.task_id,
            channel_id=row.channel_id,
            channel_slug=row.slug,
            title=row.title,
            item_status=row.item_status,
            code=row.error_code if row.error_code in DEFERRED_CODES else None,
            reason=row.status_reason,
            resume_at=row.execute_after,
        )
        for row in (await session.execute(_WAITING_SQL)).all()
    ]
    return QuotaOverview(
        date=day,
        timezone=PACIFIC.key,
        resets_at=next_reset(now),
        costs=ledger.costs,
        channels=channels,
        waiting=waiting,
    )
