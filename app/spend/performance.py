"""How each published video did against what it cost: the Performance page's and API's data.

Cost and outcome meet here because the person deciding what to make next wants both in one row:
the video's ledger total (``tasks.total_cost_usd``, kept from ``video_costs``) over its views.
Views "at 24 h" and "at 7 d" are the rows of those schedule marks (``app.youtube.stats``);
a mark the collector missed (its leader down all that day) shows as unknown, never as a
neighbouring figure passed off as it. The channel's 28-day totals are the spend recorded in
those 28 days against the views gained in them (the latest count less the last one before).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import get_channel
from app.core.errors import NotFoundError
from app.models import Channel, ChannelCredential, Task, TaskStatus, VideoCost, VideoStat
from app.youtube.analytics import ANALYTICS_FLAG

WINDOW = timedelta(days=28)


class PerformanceSort(StrEnum):
    PUBLISHED = "published"
    TITLE = "title"
    VIEWS = "views"
    VIEWS_24H = "views_24h"
    VIEWS_7D = "views_7d"
    AVG_VIEW_PCT = "avg_view_pct"
    COST = "cost"
    COST_PER_1K = "cost_per_1k"


@dataclass(frozen=True)
class ViewPoint:
    hours: float  # since publication
    views: int


@dataclass
class VideoPerformance:
    task_id: uuid.UUID
    title: str
    youtube_video_id: str | None
    youtube_url: str | None
    published_at: datetime | None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    views_24h: int | None = None
    views_7d: int | None = None
    average_view_percentage: float | None = None
    cost_usd: Decimal = Decimal(0)
    cost_per_1k_views: Decimal | None = None
    stats_updated_at: datetime | None = None
    series: list[ViewPoint] = field(default_factory=list)


@dataclass(frozen=True)
class PerformanceTotals:
    spend_usd: Decimal
    views: int
    cost_per_1k_views: Decimal | None


@dataclass(frozen=True)
class ChannelPerformance:
    channel: Channel
    videos: list[VideoPerformance]
    totals_28d: PerformanceTotals
    analytics_missing: bool


def cost_per_1k(cost: Decimal, views: int | None) -> Decimal | None:
    """The ledger total ÷ views × 1000, to the cent's hundredth; unknown without views."""
    if not views:
        return None
    return (cost / views * 1000).quantize(Decimal("0.0001"))


def _apply(video: VideoPerformance, stats: list[VideoStat]) -> None:
    """Fold a video's fetches (oldest first) into its row and its chart series."""
    for stat in stats:
        if stat.mark_hours == 24:
            video.views_24h = stat.views
        elif stat.mark_hours == 24 * 7:
            video.views_7d = stat.views
        if stat.average_view_percentage is not None:
            video.average_view_percentage = stat.average_view_percentage
        if stat.views is not None:
            video.views, video.likes, video.comments = stat.views, stat.likes, stat.comments
            if video.published_at is not None:
                hours = (stat.fetched_at - video.published_at).total_seconds() / 3600
                video.series.append(ViewPoint(round(hours, 2), stat.views))
        video.stats_updated_at = stat.fetched_at
    video.cost_per_1k_views = cost_per_1k(video.cost_usd, video.views)


def _sort_key(sort: PerformanceSort) -> Callable[[VideoPerformance], tuple[bool, Any]]:
    """Unknown figures sort below every known one (last when descending)."""

    def key(video: VideoPerformance) -> tuple[bool, Any]:
        value: Any = {
            PerformanceSort.PUBLISHED: video.published_at,
            PerformanceSort.TITLE: video.title.casefold(),
            PerformanceSort.VIEWS: video.views,
            PerformanceSort.VIEWS_24H: video.views_24h,
            PerformanceSort.VIEWS_7D: video.views_7d,
            PerformanceSort.AVG_VIEW_PCT: video.average_view_percentage,
            PerformanceSort.COST: video.cost_usd,
            PerformanceSort.COST_PER_1K: video.cost_per_1k_views,
        }[sort]
        return (value is not None, value)

    return key


async def video_stats_history(session: AsyncSession, task_id: uuid.UUID) -> list[VideoStat]:
    """Every fetch of one task's video, oldest first (empty until it is published and due)."""
    if await session.get(Task, task_id) is None:
        raise NotFoundError(
            f"no task {task_id}", code="TASK_NOT_FOUND", details={"task_id": str(task_id)}
        )
    query = select(VideoStat).where(VideoStat.task_id == task_id).order_by(VideoStat.fetched_at)
    return list((await session.scalars(query)).all())


async def _totals(
    session: AsyncSession, channel_id: uuid.UUID, videos: list[VideoPerformance], now: datetime
) -> PerformanceTotals:
    since = now - WINDOW
    spend = await session.scalar(
        select(func.coalesce(func.sum(VideoCost.cost_usd), 0)).where(
            VideoCost.channel_id == channel_id, VideoCost.created_at >= since
        )
    )
    before = select(VideoStat.task_id, func.max(VideoStat.views).label("views")).where(
        VideoStat.channel_id == channel_id, VideoStat.fetched_at < since
    )
    earlier = {
        task_id: int(views or 0)
        for task_id, views in (await session.execute(before.group_by(VideoStat.task_id))).all()
    }
    gained = sum(max((v.views or 0) - earlier.get(v.task_id, 0), 0) for v in videos)
    spent = Decimal(spend or 0)
    return PerformanceTotals(spent, gained, cost_per_1k(spent, gained))


async def channel_performance(
    session: AsyncSession,
    *,
    channel_ref: str | uuid.UUID,
    now: datetime,
    sort: PerformanceSort = PerformanceSort.PUBLISHED,
    descending: bool = True,
) -> ChannelPerformance:
    """Every published video of the channel with its figures, sorted; and the 28-day totals."""
    channel = await get_channel(session, channel_ref=channel_ref)
    tasks = (
        await session.scalars(
            select(Task).where(Task.channel_id == channel.id, Task.status == TaskStatus.PUBLISHED)
        )
    ).all()
    videos = {
        task.id: VideoPerformance(
            task_id=task.id,
            title=task.title,
            youtube_video_id=task.youtube_video_id,
            youtube_url=task.youtube_url,
            published_at=task.completed_at,
            cost_usd=Decimal(task.total_cost_usd or 0),
        )
        for task in tasks
    }
    stats: dict[uuid.UUID, list[VideoStat]] = defaultdict(list)
    query = select(VideoStat).where(VideoStat.channel_id == channel.id)
    for stat in (await session.scalars(query.order_by(VideoStat.fetched_at))).all():
        stats[stat.task_id].append(stat)
    for task_id, video in videos.items():
        _apply(video, stats.get(task_id, []))
    ordered = sorted(videos.values(), key=_sort_key(sort), reverse=descending)
    totals = await _totals(session, channel.id, ordered, now)
    missing = await _analytics_missing(session, channel.id)
    return ChannelPerformance(channel, ordered, totals, missing)


async def _analytics_missing(session: AsyncSession, channel_id: uuid.UUID) -> bool:
    """The channel's token lacks the analytics scope (flagged by the collector)."""
    meta = await session.scalar(
        select(ChannelCredential.meta).where(
            ChannelCredential.channel_id == channel_id, ChannelCredential.provider == "youtube"
        )
    )
    return bool((meta or {}).get(ANALYTICS_FLAG))
