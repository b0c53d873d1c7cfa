"""Caption tracks against the fake: one track per video, a 409 on retry updates it in place, and
every request is charged to the real quota ledger (PostgreSQL) at its own cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import YouTubeQuotaUsage
from app.youtube.captions import CAPTION_NAME, put_caption_track
from app.youtube.client import YouTubeApiError, YouTubeClient
from app.youtube.ledger import CLASSIC_COSTS, LedgerMeter, QuotaLedger
from tests.clients.test_youtube_client import FAST, Rig, rig
from tests.fakes.youtube import Video
from tests.routes.factories import add_channel

__all__ = ["rig"]  # the client tests' fixture, reused

SRT = b"1\n00:00:00,000 --> 00:00:02,500\nWhales sing at dusk.\n\n"
FIXED = b"1\n00:00:00,000 --> 00:00:02,500\nWhales sing at dawn.\n\n"
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def _metered(rig: Rig, meter: LedgerMeter) -> YouTubeClient:
    return YouTubeClient(
        rig.http,
        rig.tokens,
        base_url=f"{rig.url}/youtube/v3",
        upload_base_url=f"{rig.url}/upload/youtube/v3",
        backoff=FAST,
        meter=meter,
    )


async def _units(channel_id: object) -> int:
    async with session_scope() as session:
        used = await session.scalar(
            select(YouTubeQuotaUsage.units_used).where(YouTubeQuotaUsage.channel_id == channel_id)
        )
    return int(used or 0)


async def test_a_retry_updates_the_one_track_and_each_call_is_charged(
    rig: Rig, app_db: AsyncEngine
) -> None:
    rig.fake.videos["vid00000001"] = Video("vid00000001", {}, 1, "", "", published_at=NOW)
    channel = await add_channel("captions")
    ledger = QuotaLedger(costs=CLASSIC_COSTS, daily_limit=10_000, clock=lambda: NOW)
    client = _metered(rig, LedgerMeter(ledger, "fleet", channel.id))

    first = await put_caption_track(client, video_id="vid00000001", srt=SRT, language="en")
    assert first.updated is False
    assert [(c.video_id, c.language, c.name, c.body) for c in rig.fake.captions.values()] == [
        ("vid00000001", "en", CAPTION_NAME, SRT)
    ]
    assert await _units(channel.id) == 400  # captions.insert

    # the worker died after YouTube stored the track: the retry gets 409 and updates it
    again = await put_caption_track(client, video_id="vid00000001", srt=FIXED, language="en")
    assert again.updated is True and again.id == first.id
    assert len(rig.fake.captions) == 1 and rig.fake.captions[first.id].body == FIXED
    assert (rig.fake.calls["captions.insert"], rig.fake.calls["captions.update"]) == (2, 1)
    assert await _units(channel.id) == 400 + 400 + 50 + 450  # insert, refused insert, list, update
    assert rig.fake.calls["videos.insert"] == 0  # the video is never re-uploaded


async def test_another_language_is_its_own_track_and_a_missing_video_is_refused(
    rig: Rig,
) -> None:
    rig.fake.videos["vid00000002"] = Video("vid00000002", {}, 1, "", "", published_at=NOW)
    client = rig.client()
    english = await put_caption_track(client, video_id="vid00000002", srt=SRT, language="en")
    german = await put_caption_track(client, video_id="vid00000002", srt=FIXED, language="de")
    assert english.id != german.id and len(rig.fake.captions) == 2
    with pytest.raises(YouTubeApiError) as refused:
        await put_caption_track(client, video_id="nope", srt=SRT, language="en")
    assert refused.value.status == 404
