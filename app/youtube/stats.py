"""The statistics collector: how each published video does, fetched on a schedule, kept as history.

Run by the dispatcher's leader (one web process fleet-wide), so a video is never fetched twice
for one mark; the unique (task, mark) key makes even a race between two leaders harmless. A
video is due at each mark of ``MARKS_HOURS`` after publication: 1 h, then every 24 h up to
90 days (so the 24 h, 7 d and 28 d marks the Performance page shows are marks too). A fetch
answers the latest mark passed: a leader that was down for three days records one row, not
three stale ones.

Due videos are fetched per channel in batches of 50 ids, one ``videos.list`` (1 unit) each,
charged through the channel's project ledger like every other call. Uploads keep a reserved
share: a statistics call needs ``YOUTUBE_UPLOAD_RESERVED_UNITS`` to stay free after it, so
statistics stop for the day long before an upload would be refused. Analytics figures (watch
time, average view %) come with the same pass when the channel's token allows it; a token
without the scope is reported once, by a flag on the credential that a new consent clears.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.alerts.service import send_alert
from app.channels.credentials import CredentialProvider, get_credential, mark_needs_reauth
from app.channels.sync import get_channel_config
from app.core.config import Settings, get_settings
from app.core.database import session_scope
from app.core.leader import BackgroundPass
from app.core.logging import get_logger
from app.core.time import Backoff
from app.models import Channel, ChannelCredential, Task, TaskStatus, VideoStat
from app.youtube.analytics import (
    ANALYTICS_FLAG,
    ANALYTICS_SCOPE,
    RECONNECT_HINT,
    AnalyticsScopeMissingError,
    VideoAnalytics,
    fetch_video_analytics,
)
from app.youtube.client import DEFAULT_TIMEOUT, YouTubeClient, YouTubeError
from app.youtube.client import YouTubeQuotaExceededError as QuotaExceeded
from app.youtube.ledger import Clock, LedgerMeter, QuotaDeferredError, QuotaLedger, quota_day
from app.youtube.oauth import InvalidGrantError, OAuthApp, OAuthError, TokenSource
from app.youtube.projects import YouTubeClientMissingError, channel_client

log = get_logger("youtube_stats")

MARKS_HOURS: tuple[int, ...] = (1, *range(24, 90 * 24 + 1, 24))
HORIZON = timedelta(hours=MARKS_HOURS[-1] + 24)
BATCH = 50


def due_mark(published_at: datetime, now: datetime, last_mark: int | None) -> int | None:
    """The latest mark passed at ``now`` if it is newer than the last one recorded."""
    age_h = (now - published_at).total_seconds() / 3600
    passed = bisect.bisect_right(MARKS_HOURS, age_h)
    if passed == 0:
        return None
    mark = MARKS_HOURS[passed - 1]
    return mark if last_mark is None or mark > last_mark else None


@dataclass(frozen=True)
class DueVideo:
    task_id: uuid.UUID
    channel_id: uuid.UUID
    video_id: str
    published_at: datetime
    mark: int


@dataclass
class StatsReport:
    """What one pass did: rows written, calls sent, channels whose calls had to wait."""

    rows: int = 0
    calls: int = 0
    deferred: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    task_ids: list[uuid.UUID] = field(default_factory=list)


async def due_videos(now: datetime) -> list[DueVideo]:
    """Published videos younger than 90 days (and a day) with a mark not yet recorded."""
    last = (
        select(VideoStat.task_id, func.max(VideoStat.mark_hours).label("last"))
        .group_by(VideoStat.task_id)
        .subquery()
    )
    query = (
        select(Task.id, Task.channel_id, Task.youtube_video_id, Task.completed_at, last.c.last)
        .outerjoin(last, last.c.task_id == Task.id)
        .where(
            Task.status == TaskStatus.PUBLISHED,
            Task.youtube_video_id.is_not(None),
            Task.completed_at >= now - HORIZON,
        )
        .order_by(Task.channel_id, Task.completed_at)
    )
    async with session_scope() as session:
        rows = (await session.execute(query)).all()
    due = []
    for task_id, channel_id, video_id, published_at, last_mark in rows:
        mark = due_mark(published_at, now, last_mark)
        if mark is not None and video_id:
            due.append(DueVideo(task_id, channel_id, str(video_id), published_at, mark))
    return due


def _count(statistics: dict[str, Any], name: str) -> int | None:
    """Google sends the counts as strings, and leaves out those the owner hid."""
    value = statistics.get(name)
    return int(value) if isinstance(value, str) and value.isdigit() else None


async def _record(
    batch: list[DueVideo],
    items: list[dict[str, Any]],
    analytics: dict[str, VideoAnalytics],
    now: datetime,
) -> list[uuid.UUID]:
    """One row per video of the batch (views NULL for a video gone from YouTube)."""
    by_id = {str(item.get("id")): item.get("statistics") or {} for item in items}
    rows = []
    for video in batch:
        stats = by_id.get(video.video_id)
        extra = analytics.get(video.video_id)
        rows.append(
            {
                "id": uuid.uuid4(),
                "task_id": video.task_id,
                "channel_id": video.channel_id,
                "youtube_video_id": video.video_id,
                "mark_hours": video.mark,
                "fetched_at": now,
                "views": None if stats is None else _count(stats, "viewCount"),
                "likes": None if stats is None else _count(stats, "likeCount"),
                "comments": None if stats is None else _count(stats, "commentCount"),
                "average_view_duration_s": extra.average_view_duration_s if extra else None,
                "average_view_percentage": extra.average_view_percentage if extra else None,
                "estimated_minutes_watched": extra.estimated_minutes_watched if extra else None,
                "subscribers_gained": extra.subscribers_gained if extra else None,
            }
        )
    stmt = (
        insert(VideoStat)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["task_id", "mark_hours"])
        .returning(VideoStat.task_id)
    )
    async with session_scope() as session:
        written = list((await session.scalars(stmt)).all())
    return written


class _ChannelPass:
    """One channel's share of a pass: its token, its project's meter, its batches."""

    def __init__(
        self,
        found: tuple[Channel, ChannelCredential, str],
        ledger: QuotaLedger,
        settings: Settings,
    ) -> None:
        self.channel, self.credential, self.token = found
        self.ledger = ledger
        self.settings = settings

    def _analytics_allowed(self) -> bool:
        meta = self.credential.meta or {}
        scope = meta.get("scope")
        if meta.get(ANALYTICS_FLAG):
            return False
        return not isinstance(scope, str) or not scope or ANALYTICS_SCOPE in scope.split()

    async def _flag_analytics_missing(self) -> None:
        async with session_scope() as session:
            await session.execute(
                update(ChannelCredential)
                .where(ChannelCredential.id == self.credential.id)
                .values(meta=ChannelCredential.meta.op("||")({ANALYTICS_FLAG: True}))
            )
        log.warning("youtube.analytics_scope_missing", channel=self.channel.slug)
        await send_alert(
            "youtube_analytics_scope",
            f"YouTube analytics for {self.channel.slug}: {RECONNECT_HINT}",
            "The channel's token was granted without yt-analytics.readonly; views still come. "
            f"Run: vidgen oauth youtube {self.channel.slug}",
            key=f"youtube_analytics_scope:{self.channel.id}",
            channel=self.channel.slug,
        )

    async def _analytics(
        self, http: httpx.AsyncClient, tokens: TokenSource, batch: list[DueVideo], now: datetime
    ) -> dict[str, VideoAnalytics]:
        if not self._analytics_allowed() or all(v.mark < 24 for v in batch):
            return {}
        try:
            return await fetch_video_analytics(
                http,
                tokens,
                base_url=self.settings.youtube_analytics_base_url,
                video_ids=[v.video_id for v in batch],
                start=quota_day(min(v.published_at for v in batch)),
                end=quota_day(now),
            )
        except AnalyticsScopeMissingError:
            self.credential.meta = {**(self.credential.meta or {}), ANALYTICS_FLAG: True}
            await self._flag_analytics_missing()
        except (YouTubeError, httpx.HTTPError, ValueError) as exc:
            log.warning("youtube.analytics_failed", channel=self.channel.slug, error=str(exc))
        return {}

    async def run(self, due: list[DueVideo], report: StatsReport, now: datetime) -> None:
        settings = self.settings
        config = get_channel_config(self.channel)
        try:
            oauth = channel_client(config, settings)
        except YouTubeClientMissingError as exc:
            report.skipped.append(self.channel.slug)
            log.warning("youtube.stats_skipped", channel=self.channel.slug, error=exc.message)
            return
        app = OAuthApp(oauth.client_id, oauth.client_secret, token_url=settings.google_token_url)
        reserve = {"videos.list": settings.youtube_upload_reserved_units}
        meter = LedgerMeter(self.ledger, oauth.project, self.channel.id, headroom=reserve)
        backoff = Backoff(attempts=3, base_s=settings.youtube_retry_base_s)
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            tokens = TokenSource(http, app, self.token, backoff=backoff)
            client = YouTubeClient.from_settings(
                http, tokens, settings, backoff=backoff, meter=meter
            )
            for start in range(0, len(due), BATCH):
                batch = due[start : start + BATCH]
                try:
                    report.calls += 1
                    items = await client.list_videos(
                        [v.video_id for v in batch], part="statistics,status"
                    )
                except QuotaDeferredError:
                    report.calls -= 1  # refused by our ledger: never sent
                    report.deferred.append(self.channel.slug)
                    log.info("youtube.stats_waiting_for_quota", channel=self.channel.slug)
                    return
                except QuotaExceeded:
                    async with session_scope() as session:
                        await self.ledger.exhaust(session, oauth.project, self.channel.id)
                    report.deferred.append(self.channel.slug)
                    return
                except InvalidGrantError:
                    async with session_scope() as session:
                        await mark_needs_reauth(session, self.channel.id, "youtube")
                    report.skipped.append(self.channel.slug)
                    return
                except (YouTubeError, OAuthError) as exc:
                    report.skipped.append(self.channel.slug)
                    log.warning("youtube.stats_failed", channel=self.channel.slug, error=str(exc))
                    return
                analytics = await self._analytics(http, tokens, batch, now)
                written = await _record(batch, items, analytics, now)
                report.rows += len(written)
                report.task_ids.extend(written)


async def _channel_token(channel_id: uuid.UUID) -> tuple[Channel, ChannelCredential, str] | None:
    async with session_scope() as session:
        channel = await session.get(Channel, channel_id)
        credential = await session.scalar(
            select(ChannelCredential).where(
                ChannelCredential.channel_id == channel_id,
                ChannelCredential.provider == CredentialProvider.YOUTUBE.value,
            )
        )
        if channel is None or credential is None or credential.needs_reauth:
            return None
        token = await get_credential(session, channel_id, CredentialProvider.YOUTUBE.value)
    return (channel, credential, token) if token else None


async def collect_stats(
    clock: Clock | None = None, settings: Settings | None = None
) -> StatsReport:
    """One pass over every due video of every channel; see the module doc."""
    settings = settings or get_settings()
    ledger = QuotaLedger.from_settings(settings, clock)
    now = ledger.now()
    per_channel: dict[uuid.UUID, list[DueVideo]] = defaultdict(list)
    for video in await due_videos(now):
        per_channel[video.channel_id].append(video)
    report = StatsReport()
    for channel_id, due in per_channel.items():
        found = await _channel_token(channel_id)
        if found is None:
            report.skipped.append(str(channel_id))
            continue
        await _ChannelPass(found, ledger, settings).run(due, report, now)
    if report.rows or report.deferred:
        log.info(
            "youtube.stats_collected",
            rows=report.rows,
            calls=report.calls,
            deferred=len(report.deferred),
        )
    return report


_stats_pass = BackgroundPass("youtube-stats")


async def _collect_logged() -> None:
    try:
        await collect_stats()
    except Exception:
        log.exception("youtube.stats_pass_failed")


def schedule_stats_if_due(settings: Settings | None = None) -> None:
    """The leader's hook: a pass in the background every ``YOUTUBE_STATS_INTERVAL_S`` (the
    dispatcher never waits for it, and two never overlap)."""
    settings = settings or get_settings()
    _stats_pass.start_if_due(settings.youtube_stats_interval_s, _collect_logged)
