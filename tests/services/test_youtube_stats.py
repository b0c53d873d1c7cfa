"""The statistics collector against the fake YouTube over loopback and a real database.

Videos are published by the real upload step; simulated time moves the fake's clock and the
collector's together, so the figures grow as they would on YouTube. What must hold: a row per
video at each mark (1 h, 24 h, 7 d), one videos.list per 50 ids, analytics figures only once
they exist, and statistics never taking the units an upload needs that day.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.config import get_settings
from app.core.database import session_scope
from app.core.time import utc_now
from app.models import ChannelCredential, Task, TaskStatus, VideoStat
from app.youtube.stats import MARKS_HOURS, collect_stats, due_mark
from tests.fakes.youtube import REFRESH_TOKEN, Video, YouTubeFake
from tests.services import youtube_support
from tests.services.youtube_support import run_until_settled, units_charged, upload_task

fake_env = youtube_support.fake_env
tube = youtube_support.tube


class SimClock:
    """Simulated time shared by the fake (its ``clock_offset_s``) and the collector."""

    def __init__(self, fake: YouTubeFake) -> None:
        self.fake = fake
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
        self.fake.clock_offset_s = self.offset.total_seconds()


async def stats_rows() -> list[VideoStat]:
    async with session_scope() as session:
        return list((await session.scalars(select(VideoStat).order_by(VideoStat.fetched_at))).all())


def test_the_schedule_is_one_hour_then_daily_to_ninety_days() -> None:
    published = datetime(2026, 1, 1, 12, 0, tzinfo=utc_now().tzinfo)
    assert MARKS_HOURS[:3] == (1, 24, 48) and MARKS_HOURS[-1] == 90 * 24
    assert {24, 7 * 24, 28 * 24} <= set(MARKS_HOURS)
    assert due_mark(published, published + timedelta(minutes=59), None) is None
    assert due_mark(published, published + timedelta(hours=1), None) == 1
    assert due_mark(published, published + timedelta(hours=23), 1) is None
    # A leader down for three days records the latest mark once, not three stale ones.
    assert due_mark(published, published + timedelta(days=7, hours=2), 24) == 168
    assert due_mark(published, published + timedelta(days=95), 2160) is None


async def test_published_videos_get_a_row_at_each_mark_in_batched_calls(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    clock = SimClock(tube)
    jobs = [await upload_task(tmp_path / "configs", title=f"Whales {n}") for n in range(3)]
    for job in jobs:
        assert await run_until_settled(job.item_id) is None
    units_after_uploads = await units_charged()

    clock.advance(timedelta(minutes=30))
    report = await collect_stats(clock)
    assert report.rows == 0 and tube.calls["videos.list"] == 0  # nothing due yet

    views: dict[int, list[int]] = {}
    for mark, at in ((1, timedelta(hours=1)), (24, timedelta(hours=24)), (168, timedelta(days=7))):
        clock.advance(at - clock.offset + timedelta(minutes=5))
        calls_before = tube.calls["videos.list"]
        report = await collect_stats(clock)
        assert report.rows == 3 and tube.calls["videos.list"] == calls_before + 1  # one batch
        rows = [r for r in await stats_rows() if r.mark_hours == mark]
        assert len(rows) == 3
        views[mark] = sorted(r.views or 0 for r in rows)
        assert all(r.likes is not None and r.comments is not None for r in rows)
        if mark < 48:  # analytics lag two days: the report has no rows yet
            assert all(r.average_view_percentage is None for r in rows)
        else:
            assert all(0 < (r.average_view_percentage or 0) < 100 for r in rows)
            assert all((r.estimated_minutes_watched or 0) > 0 for r in rows)
        again = await collect_stats(clock)  # the same mark is never fetched twice
        assert again.rows == 0 and tube.calls["videos.list"] == calls_before + 1
    assert all(a < b < c for a, b, c in zip(views[1], views[24], views[168], strict=True))
    assert await units_charged() == units_after_uploads + 3  # 1 unit per videos.list
    assert tube.calls["analytics.reports"] == 2  # not at 1 h (nothing to ask for yet)


async def test_a_token_without_the_analytics_scope_is_reported_once_and_views_still_come(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    clock = SimClock(tube)
    tube.refresh_scopes[REFRESH_TOKEN] = "https://www.googleapis.com/auth/youtube.upload"
    job = await upload_task(tmp_path / "configs")
    assert await run_until_settled(job.item_id) is None
    for days in (1, 2, 3):
        clock.advance(timedelta(days=days) - clock.offset + timedelta(minutes=5))
        assert (await collect_stats(clock)).rows == 1
    assert tube.calls["analytics.reports"] == 1  # refused once, then not asked again
    rows = await stats_rows()
    assert [r.mark_hours for r in rows] == [24, 48, 72] and all(r.views for r in rows)
    async with session_scope() as session:
        credential = await session.scalar(select(ChannelCredential))
    assert credential is not None and credential.meta.get("analytics_missing") is True


async def _published_elsewhere(fake: YouTubeFake, channel_id: uuid.UUID, count: int) -> None:
    """``count`` videos published earlier in the channel (known to the fake and the database)."""
    published = utc_now() - timedelta(hours=2)
    async with session_scope() as session:
        for n in range(count):
            video_id = hashlib.sha256(f"old-{n}".encode()).hexdigest()[:11]
            fake.videos[video_id] = Video(video_id, {}, 1, "", "", published_at=published)
            session.add(
                Task(
                    channel_id=channel_id,
                    title=f"Old {n}",
                    status=TaskStatus.PUBLISHED,
                    youtube_video_id=video_id,
                    completed_at=published,
                )
            )


async def test_statistics_stay_within_their_share_when_uploads_compete(
    tube: YouTubeFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limit 3,303 with 1,650 reserved for uploads: after one upload, statistics may spend 3
    units; the other batches wait for tomorrow and the second upload still fits today."""
    monkeypatch.setenv("YOUTUBE_QUOTA_DAILY_LIMIT", "3303")
    monkeypatch.setenv("YOUTUBE_UPLOAD_RESERVED_UNITS", "1650")
    get_settings.cache_clear()
    first = await upload_task(tmp_path / "configs", title="First")
    assert await run_until_settled(first.item_id) is None
    await _published_elsewhere(tube, first.channel_id, 249)  # 250 due videos: 5 batches
    second = await upload_task(tmp_path / "configs", title="Second")

    report = await collect_stats()
    assert tube.calls["videos.list"] == 3 and report.rows == 150
    assert report.deferred == ["tube"]
    assert await units_charged() == 1650 + 3

    assert await run_until_settled(second.item_id) is None  # the upload was not crowded out
    async with session_scope() as session:
        task = await session.get(Task, second.task_id)
    assert task is not None and task.status == TaskStatus.PUBLISHED
    assert await units_charged() == 3303

    await collect_stats()  # nothing left today: not a single call is sent
    assert tube.calls["videos.list"] == 3
