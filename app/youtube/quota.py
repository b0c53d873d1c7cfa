"""The YouTube quota view: today's units per Cloud project and per channel, and what waits.

The ledger itself lives in ``app.youtube.ledger``; its names are re-exported here, where the
rest of the app has always looked for them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.config import ChannelConfig, ChannelConfigError
from app.channels.sync import get_channel_config
from app.core.config import Settings, get_settings
from app.models import Channel, ChannelCredential, YouTubeQuotaUsage
from app.youtube.ledger import (
    CLASSIC_COSTS,
    PACIFIC,
    RESET_MARGIN,
    Clock,
    LedgerMeter,
    QuotaDeferredError,
    QuotaLedger,
    describe_time,
    next_reset,
    quota_costs,
    quota_day,
)
from app.youtube.projects import FLEET_PROJECT, channel_project

DEFERRED_CODES = ("YOUTUBE_QUOTA", "YOUTUBE_REAUTH")

__all__ = [
    "CLASSIC_COSTS",
    "DEFERRED_CODES",
    "PACIFIC",
    "RESET_MARGIN",
    "ChannelQuota",
    "Clock",
    "LedgerMeter",
    "ProjectQuota",
    "QuotaDeferredError",
    "QuotaLedger",
    "QuotaOverview",
    "WaitingUpload",
    "describe_time",
    "next_reset",
    "quota_costs",
    "quota_day",
    "quota_overview",
]


@dataclass(frozen=True)
class ChannelQuota:
    """A channel's own units today; ``daily_limit`` and ``remaining`` are its project's."""

    channel_id: uuid.UUID
    slug: str
    project: str
    units_used: int
    daily_limit: int
    remaining: int
    needs_reauth: bool


@dataclass(frozen=True)
class ProjectQuota:
    """One Cloud project's day: the shared limit and every channel that spends from it."""

    project: str
    client_id: str | None
    units_used: int
    daily_limit: int
    remaining: int
    exhausted: bool
    channels: list[ChannelQuota]


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
    projects: list[ProjectQuota]
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


def _config(channel: Channel) -> ChannelConfig | None:
    try:
        return get_channel_config(channel)
    except ChannelConfigError:  # an unreadable stored config: count it under the fleet
        return None


async def quota_overview(
    session: AsyncSession, *, settings: Settings | None = None, clock: Clock | None = None
) -> QuotaOverview:
    """Today's units per project (and per channel inside it) and every upload not yet done."""
    settings = settings or get_settings()
    ledger = QuotaLedger.from_settings(settings, clock)
    now = ledger.now()
    rows = (
        await session.execute(
            select(
                YouTubeQuotaUsage.project,
                YouTubeQuotaUsage.channel_id,
                YouTubeQuotaUsage.units_used,
                YouTubeQuotaUsage.exhausted_at,
            ).where(YouTubeQuotaUsage.date == quota_day(now))
        )
    ).all()
    used: dict[tuple[str, uuid.UUID], int] = {(r.project, r.channel_id): r.units_used for r in rows}
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row.project] += row.units_used
    exhausted = {r.project for r in rows if r.exhausted_at is not None}
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
    limit = ledger.daily_limit
    members: dict[str, list[ChannelQuota]] = defaultdict(list)
    channels = []
    for channel in (await session.scalars(select(Channel).order_by(Channel.slug))).all():
        project = channel_project(_config(channel), settings)
        left = 0 if project in exhausted else max(limit - totals[project], 0)
        spent = sum(units for (p, c), units in used.items() if c == channel.id and p == project)
        entry = ChannelQuota(
            channel_id=channel.id,
            slug=channel.slug,
            project=project,
            units_used=spent,
            daily_limit=limit,
            remaining=left,
            needs_reauth=channel.id in reauth,
        )
        channels.append(entry)
        members[project].append(entry)
    projects = [
        ProjectQuota(
            project=project,
            client_id=settings.youtube_client_id if project == FLEET_PROJECT else project,
            units_used=totals[project],
            daily_limit=limit,
            remaining=0 if project in exhausted else max(limit - totals[project], 0),
            exhausted=project in exhausted,
            channels=members[project],
        )
        for project in sorted(set(members) | set(totals))
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
        date=quota_day(now),
        timezone=PACIFIC.key,
        resets_at=next_reset(now),
        costs=ledger.costs,
        projects=projects,
        channels=channels,
        waiting=waiting,
    )
