"""The upload step on YouTube, run the way a worker runs it (``run_item_job``), on a real database
and against the fake YouTube server: one video per task, resumed after a worker dies, deferred
(never failed) for quota and re-auth.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from structlog.testing import capture_logs

from app.core.config import PROJECT_ROOT, get_settings
from app.core.database import session_scope
from app.core.encryption import decrypt
from app.models import ChannelCredential, ItemStatus, TaskStatus, YouTubeQuotaUsage
from app.pipeline.outcome import ItemRun
from app.youtube import uploader as youtube_uploader
from app.youtube.auth import store_youtube_authorisation
from app.youtube.quota import quota_day
from app.youtube.uploader import REMOTE_SESSION
from tests.fakes.youtube import YouTubeFake
from tests.services import youtube_support
from tests.services.youtube_support import CHUNK, reload, run_until_settled, upload_task

fake_env = youtube_support.fake_env  # the fixtures, shared with the other upload tests
tube = youtube_support.tube


async def test_upload_publishes_once_with_metadata_thumbnail_and_ids(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    assert await run_until_settled(job.item_id) is None

    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED and task.status_reason is None
    [video] = tube.videos.values()
    assert task.youtube_video_id == video.id
    assert task.youtube_url == f"https://www.youtube.com/watch?v={video.id}"
    assert video.sha256 == job.sha256
    assert video.resource["snippet"] == {
        "title": "Whales sing | Tube Tests",
        "description": "About whale song.",
        "categoryId": "22",
        "defaultLanguage": "en",
        "defaultAudioLanguage": "en",
        "tags": ["tests"],
    }
    assert video.resource["status"]["privacyStatus"] == "private"
    assert video.resource["status"]["containsSyntheticMedia"] is True
    assert video.resource["status"]["selfDeclaredMadeForKids"] is False
    assert tube.thumbnails[video.id].startswith(b"\xff\xd8\xff")  # a JPEG frame
    assert item.result["thumbnail"] == "set"
    # the session URI is stored, encrypted: the plaintext upload id appears nowhere in the row
    [session_id] = tube.sessions
    assert session_id not in json.dumps(item.remote_ids)
    assert session_id in decrypt(item.remote_ids[REMOTE_SESSION])
    async with session_scope() as session:
        used = await session.scalar(select(YouTubeQuotaUsage.units_used))
    assert used == 1600 + 50  # insert + thumbnail

    # the job re-delivered after success does nothing, and a re-run of the step sees the video id
    assert await run_until_settled(job.item_id) is None
    await youtube_uploader.publish_to_youtube(
        ItemRun(job.task_id, job.channel_id, item.inputs, remote_ids={}, on_remote_ids=_no_ids)
    )
    assert tube.videos_created == 1 and tube.calls["videos.insert"] == 1


async def _no_ids(ids: dict[str, str]) -> None:
    raise AssertionError(f"nothing should be recorded: {sorted(ids)}")


async def test_worker_killed_mid_upload_resumes_the_same_session(
    tube: YouTubeFake, fake_env: tuple[YouTubeFake, dict[str, str]], tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs", seconds=1.2, noisy=True)
    total = job.video.stat().st_size
    assert total > 8 * CHUNK
    tube.hold_at = 3 * CHUNK  # the fake stores 3 chunks, then keeps the worker waiting
    env = {**os.environ, **fake_env[1], "VIDGEN_ITEM_LEASE_S": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.services.worker_child", str(job.item_id)],
        cwd=PROJECT_ROOT,
        env=env,
    )
    try:
        for _ in range(1200):
            if tube.holding:
                break
            assert child.poll() is None, "the worker finished or died before it was killed"
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker never got 3 chunks through")
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait, 10)
    finally:
        if child.poll() is None:
            child.kill()
    tube.hold_at = None
    for _ in range(200):  # let the fake finish with the dead worker's request
        if tube.in_flight == 0:
            break
        await asyncio.sleep(0.05)
    [session_id] = tube.sessions
    held = tube.received(session_id)
    assert held == 3 * CHUNK and held < total and tube.videos_created == 0
    sent_before = len(tube.chunk_starts)

    # the next worker takes over once the dead one's lease runs out
    for _ in range(100):
        retry = await run_until_settled(job.item_id, worker="test:2")
        if retry is None:
            break
        assert retry.reason == "lease held by a live worker"
        await asyncio.sleep(min(retry.delay.total_seconds(), 0.5))
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED
    assert list(tube.sessions) == [session_id]  # the same session, resumed
    assert tube.calls["videos.insert"] == 1 and tube.videos_created == 1
    assert tube.calls["session.status"] >= 1  # asked the server where it stood
    assert tube.chunk_starts[sent_before] == held  # and went on from there, not from byte 0
    [video] = tube.videos.values()
    assert video.sha256 == job.sha256 and video.session_id == session_id
    assert task.youtube_video_id == video.id
    assert item.attempts == 2  # the killed start and the resumed one


async def test_quota_short_defers_to_just_after_pacific_midnight(
    tube: YouTubeFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = datetime(2026, 3, 7, 22, 30, tzinfo=UTC)  # 14:30 PST on Mar 7; DST starts Mar 8
    monkeypatch.setattr("app.youtube.ledger.utc_now", lambda: frozen)
    job = await upload_task(tmp_path / "configs")
    async with session_scope() as session:
        session.add(
            YouTubeQuotaUsage(channel_id=job.channel_id, date=quota_day(frozen), units_used=9000)
        )

    retry = await run_until_settled(job.item_id)

    assert retry is not None and retry.reason == "YOUTUBE_QUOTA"
    # midnight Pacific (08:00 UTC on Mar 8, PST) plus the one-minute margin
    assert retry.delay == datetime(2026, 3, 8, 8, 1, tzinfo=UTC) - frozen
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.RUNNING  # waiting, not failed
    assert task.status_reason is not None
    assert (
        "videos.insert needs 1600 units (+50 for the calls after it) but 1000 of 10000"
        in task.status_reason
    )
    assert "2026-03-08 00:01 PST" in task.status_reason
    assert item.status == ItemStatus.QUEUED and item.attempts == 0
    assert tube.calls["videos.insert"] == 0 and tube.calls["token.refresh_token"] == 0
    async with session_scope() as session:
        assert await session.scalar(select(YouTubeQuotaUsage.units_used)) == 9000  # nothing spent


async def test_quota_exceeded_from_google_defers_and_marks_the_day_spent(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    tube.quota_exceeded = True
    retry = await run_until_settled(job.item_id)
    assert retry is not None and retry.reason == "YOUTUBE_QUOTA"
    assert timedelta(minutes=1) < retry.delay <= timedelta(hours=24, minutes=2)
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.RUNNING and "Google answered quotaExceeded" in (
        task.status_reason or ""
    )
    assert item.attempts == 0
    async with session_scope() as session:
        row = (await session.scalars(select(YouTubeQuotaUsage))).one()
    assert row.project == "fleet" and row.exhausted_at is not None  # the project waits today
    assert row.units_used == 1600  # the refused insert was sent, so Google counted it


async def test_invalid_grant_parks_the_channel_alerts_once_and_never_storms(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    tube.revoke()
    with capture_logs() as logs:
        first = await run_until_settled(job.item_id)
        again = [await run_until_settled(job.item_id) for _ in range(3)]  # the job waking up

    assert first is not None and first.reason == "YOUTUBE_REAUTH"
    assert first.delay == timedelta(hours=1)
    assert all(r is not None and r.reason == "YOUTUBE_REAUTH" for r in again)
    assert tube.calls["token.refresh_token"] == 1  # one attempt, then no calls at all
    alerts = [entry for entry in logs if entry["event"] == "alert"]
    assert (
        len(alerts) == 1
        and alerts[0]["kind"] == "youtube_reauth"
        and alerts[0]["channel"] == "tube"
    )
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.RUNNING
    assert task.status_reason == "YouTube needs re-authorisation: run vidgen oauth youtube tube"
    assert item.attempts == 0 and item.status == ItemStatus.QUEUED
    async with session_scope() as session:
        credential = (await session.scalars(select(ChannelCredential))).one()
        assert credential.needs_reauth is True
        # parked jobs wait long; a new authorisation wakes them at once
        await session.execute(text("UPDATE pgqueuer SET execute_after = now() + interval '1 hour'"))
    fresh = f"1//fresh-{os.urandom(8).hex()}"
    tube.refresh_tokens.add(fresh)
    async with session_scope() as session:
        _, woken = await store_youtube_authorisation(
            session, channel_ref="tube", refresh_token=fresh, scope=""
        )
    assert woken == 1
    async with session_scope() as session:
        assert await session.scalar(text("SELECT execute_after <= now() FROM pgqueuer")) is True

    assert await run_until_settled(job.item_id) is None
    task, _ = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED and tube.videos_created == 1


async def test_recorded_video_id_means_done_without_uploading(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE tasks SET youtube_video_id = 'abcdefghijk', youtube_url = 'https://www.youtube.com/watch?v=abcdefghijk'"
            )
        )
    assert await run_until_settled(job.item_id) is None
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED and task.youtube_video_id == "abcdefghijk"
    assert item.result["already_published"] is True
    assert tube.calls.total() == 0  # not even a token refresh


async def test_title_over_the_limit_fails_naming_the_template(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs", title="A very long title " * 5)
    assert await run_until_settled(job.item_id) is None
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.FAILED and task.error_code == "YOUTUBE_METADATA_INVALID"
    assert "channel tube: youtube.title_template renders a title of 102 characters" in (
        task.error_message or ""
    )
    assert item.attempts == 1 and tube.calls.total() == 0


async def test_channel_without_youtube_token_publishes_offline(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs", authorised=False)
    assert await run_until_settled(job.item_id) is None
    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED and task.youtube_video_id is None
    published = Path(get_settings().workspace_root) / item.output_keys["published"]
    assert published.read_bytes() == job.video.read_bytes()
    assert tube.calls.total() == 0


async def test_session_lost_on_a_fresh_upload_starts_a_new_one(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs", seconds=1.2, noisy=True)
    tube.vanish_sessions(CHUNK)  # the first session is gone (404) once it holds one chunk
    assert await run_until_settled(job.item_id) is None

    task, item = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED, task.error_message
    first, second = tube.sessions  # a second session, started in the same run
    assert tube.sessions[first].gone_status == 404 and tube.calls["session.gone"] >= 1
    [video] = tube.videos.values()
    assert video.session_id == second and video.sha256 == job.sha256
    assert task.youtube_video_id == video.id and item.attempts == 1
    assert second in decrypt(item.remote_ids[REMOTE_SESSION])  # the new session was recorded
    async with session_scope() as session:
        used = await session.scalar(select(func.sum(YouTubeQuotaUsage.units_used)))
    assert used == 2 * 1600 + 50  # both initiations reached Google
