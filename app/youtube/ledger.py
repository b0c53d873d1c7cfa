"""The YouTube quota ledger: units per Cloud project per Pacific day, and who spent them.

Google counts the daily quota per project (one OAuth client), whatever channel made the call,
and resets it at midnight Pacific Time, so the ledger's key is (project, Pacific date) and each
channel has its own row inside it. A request is charged right before it is sent, never for a
call that could not go out (no token, no connection): ``LedgerMeter`` charges per request sent
and refunds a request that provably never reached Google. Google charges refused and failed
calls too, so anything that was sent stays charged. Checking and adding happen under one
advisory lock per project and day, so two workers on two channels of one project cannot both
spend the last 1,600 units. When the units would run out, or Google answers ``quotaExceeded``
anyway (other clients may share the project), the upload waits until just after the reset.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, get_settings
from app.core.database import session_scope
from app.core.time import utc_now
from app.models import YouTubeQuotaUsage

PACIFIC = ZoneInfo("America/Los_Angeles")
# The classic cost table (the conservative one; see external-apis.md, "granular quota").
CLASSIC_COSTS: dict[str, int] = {
    "videos.insert": 1600,
    "videos.update": 50,
    "videos.list": 1,
    "thumbnails.set": 50,
    "captions.list": 50,
    "captions.insert": 400,
    "captions.update": 450,
}
RESET_MARGIN = timedelta(minutes=1)

Clock = Callable[[], datetime]

_LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


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


def _this_day(project: str, day: date) -> list[ColumnElement[bool]]:
    return [YouTubeQuotaUsage.project == project, YouTubeQuotaUsage.date == day]


class QuotaLedger:
    """Reservations against one project's day of units; ``clock`` is injectable for tests."""

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

    async def project_today(self, session: AsyncSession, project: str) -> tuple[int, bool]:
        """Units the whole project spent today, and whether Google said it is exhausted."""
        row = (
            await session.execute(
                select(
                    func.coalesce(func.sum(YouTubeQuotaUsage.units_used), 0),
                    func.bool_or(YouTubeQuotaUsage.exhausted_at.is_not(None)),
                ).where(*_this_day(project, quota_day(self.now())))
            )
        ).one()
        return int(row[0]), bool(row[1])

    async def used_today(self, session: AsyncSession, project: str) -> int:
        return (await self.project_today(session, project))[0]

    async def check(
        self, session: AsyncSession, project: str, operation: str, *, headroom: int = 0
    ) -> None:
        """Raise ``QuotaDeferredError`` if ``operation`` cannot fit today; spends nothing.

        Lets a caller wait for the reset before it asks Google for anything (even a token).
        """
        used, exhausted = await self.project_today(session, project)
        self._refuse_if_short(project, operation, used, exhausted, headroom)

    def _refuse_if_short(
        self, project: str, operation: str, used: int, exhausted: bool, headroom: int
    ) -> None:
        cost, limit = self.costs[operation], self.daily_limit
        if exhausted:
            raise self.defer(
                operation, f"Google answered quotaExceeded for project {project} today"
            )
        if used + cost + headroom > limit:
            left = max(limit - used, 0)
            extra = f" (+{headroom} for the calls after it)" if headroom else ""
            raise self.defer(
                operation,
                f"{operation} needs {cost} units{extra} but {left} of {limit} are left today "
                f"(Pacific) in project {project}",
            )

    async def reserve(
        self,
        session: AsyncSession,
        project: str,
        channel_id: uuid.UUID,
        operation: str,
        *,
        headroom: int = 0,
    ) -> int:
        """Charge ``operation`` to the channel if it (plus ``headroom``) fits the project today.

        Returns the project's units used after it; raises ``QuotaDeferredError`` and spends
        nothing if not. Holds the project-day lock until the caller's transaction ends.
        """
        now = self.now()
        day = quota_day(now)
        await session.execute(_LOCK_SQL, {"key": f"youtube_quota:{project}:{day.isoformat()}"})
        used, exhausted = await self.project_today(session, project)
        self._refuse_if_short(project, operation, used, exhausted, headroom)
        cost = self.costs[operation]
        await self._upsert(session, project, channel_id, now, add=cost)
        return used + cost

    async def _upsert(
        self,
        session: AsyncSession,
        project: str,
        channel_id: uuid.UUID,
        now: datetime,
        *,
        add: int = 0,
        exhausted: bool = False,
    ) -> None:
        changes: dict[str, object] = {"daily_limit": self.daily_limit, "updated_at": now}
        if add:
            changes["units_used"] = YouTubeQuotaUsage.units_used + add
        if exhausted:
            changes["exhausted_at"] = now
        stmt = (
            insert(YouTubeQuotaUsage)
            .values(
                project=project,
                date=quota_day(now),
                channel_id=channel_id,
                units_used=add,
                daily_limit=self.daily_limit,
                exhausted_at=now if exhausted else None,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[
                    YouTubeQuotaUsage.project,
                    YouTubeQuotaUsage.date,
                    YouTubeQuotaUsage.channel_id,
                ],
                set_=changes,
            )
        )
        await session.execute(stmt)

    async def release(
        self,
        session: AsyncSession,
        project: str,
        channel_id: uuid.UUID,
        operation: str,
        *,
        day: date,
    ) -> None:
        """Give back a charge for a request that never reached Google (on the day it was made)."""
        await session.execute(
            update(YouTubeQuotaUsage)
            .where(*_this_day(project, day), YouTubeQuotaUsage.channel_id == channel_id)
            .values(
                units_used=func.greatest(YouTubeQuotaUsage.units_used - self.costs[operation], 0),
                updated_at=self.now(),
            )
        )

    async def exhaust(self, session: AsyncSession, project: str, channel_id: uuid.UUID) -> None:
        """Google said ``quotaExceeded``: the project is spent for today, for every channel."""
        await self._upsert(session, project, channel_id, self.now(), exhausted=True)


class LedgerMeter:
    """Charges one channel's requests to its project, each in its own short transaction.

    ``headroom`` keeps units back for the calls an operation needs after it (the thumbnail
    after a video), so a video is not started that could not be finished today.
    """

    def __init__(
        self,
        ledger: QuotaLedger,
        project: str,
        channel_id: uuid.UUID,
        *,
        headroom: Mapping[str, int] | None = None,
    ) -> None:
        self.ledger = ledger
        self.project = project
        self.channel_id = channel_id
        self.headroom = dict(headroom or {})
        self._charged: list[tuple[str, date]] = []

    async def charge(self, operation: str) -> None:
        day = quota_day(self.ledger.now())
        async with session_scope() as session:
            await self.ledger.reserve(
                session,
                self.project,
                self.channel_id,
                operation,
                headroom=self.headroom.get(operation, 0),
            )
        self._charged.append((operation, day))

    async def refund(self, operation: str) -> None:
        day = next((d for op, d in reversed(self._charged) if op == operation), None)
        if day is None:
            return
        self._charged.remove((operation, day))
        async with session_scope() as session:
            await self.ledger.release(session, self.project, self.channel_id, operation, day=day)
