"""GET /api/v1/youtube-quota: today's units per channel and the uploads waiting."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.core.database import session_scope
from app.core.time import utc_now
from app.models import (
    ChannelCredential,
    ItemStatus,
    PipelineStep,
    TaskItem,
    TaskStatus,
    YouTubeQuotaUsage,
)
from app.pipeline.queue import ItemJob, enqueue_items
from app.youtube.quota import quota_day
from tests.routes.factories import add_channel, add_rows, add_task


async def test_quota_view_shows_usage_reauth_and_waiting_uploads(client: httpx.AsyncClient) -> None:
    alpha = await add_channel("alpha")
    bravo = await add_channel("bravo")
    reason = (
        "YouTube quota: videos.insert needs 1600 units but 50 of 10000 are left today (Pacific)"
    )
    task = await add_task(alpha, title="Whales", status=TaskStatus.RUNNING, step=PipelineStep.UPLOAD, status_reason=reason)  # fmt: skip
    item = TaskItem(
        task_id=task.id,
        step=PipelineStep.UPLOAD,
        item_key="upload",
        status=ItemStatus.QUEUED,
        inputs={"pool": "upload"},
        error_code="YOUTUBE_QUOTA",
        error_message=reason,
    )
    await add_rows(
        YouTubeQuotaUsage(channel_id=alpha.id, date=quota_day(utc_now()), units_used=9950),
        YouTubeQuotaUsage(
            channel_id=bravo.id, date=quota_day(utc_now()) - timedelta(days=1), units_used=3200
        ),
        ChannelCredential(
            channel_id=bravo.id, provider="youtube", secret_encrypted="x", needs_reauth=True
        ),
        item,
    )
    async with session_scope() as session:
        await enqueue_items(session, [ItemJob(item_id=item.id, pool="upload", delay=timedelta(hours=5))])  # fmt: skip

    response = await client.get("/api/v1/youtube-quota")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["timezone"] == "America/Los_Angeles"
    assert data["date"] == quota_day(utc_now()).isoformat()
    assert data["costs"]["videos.insert"] == 1600
    by_slug = {c["slug"]: c for c in data["channels"]}
    assert by_slug["alpha"] | {"channel_id": None} == {"channel_id": None, "slug": "alpha", "project": "fleet", "units_used": 9950, "daily_limit": 10000, "remaining": 50, "needs_reauth": False}  # fmt: skip
    assert by_slug["bravo"]["units_used"] == 0  # yesterday's units do not count today
    assert by_slug["bravo"]["remaining"] == 50  # but alpha's do: both spend the fleet's quota
    [fleet] = data["projects"]
    assert fleet["project"] == "fleet" and fleet["units_used"] == 9950 and not fleet["exhausted"]
    assert {c["slug"]: c["units_used"] for c in fleet["channels"]} == {"alpha": 9950, "bravo": 0}
    assert by_slug["bravo"]["needs_reauth"] is True
    [waiting] = data["waiting"]
    assert waiting["task_id"] == str(task.id) and waiting["channel_slug"] == "alpha"
    assert waiting["code"] == "YOUTUBE_QUOTA" and waiting["reason"] == reason
    assert waiting["resume_at"] is not None


async def test_quota_view_needs_the_token(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/api/v1/youtube-quota")
    assert response.status_code == 401
