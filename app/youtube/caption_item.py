"""The upload step's caption item: the task's SRT as a caption track on its published video.

Runs after the publish item (``after=``), so the task already holds ``youtube_video_id``; the
video is only read from there (or the publish item's result), never uploaded here. A track id in
the item's ``remote_ids`` means done; otherwise ``put_caption_track`` inserts, and a retry after
a crash between Google's write and our record of it gets 409 and updates that same track. Quota,
re-auth and outages are handled like the video upload: deferred or retried, never a second video.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from app.artifacts.configured import fetch_path
from app.core.config import get_settings
from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import PipelineStep, TaskItem
from app.pipeline.outcome import ItemFailedError, ItemOutcome, ItemRun
from app.youtube.captions import put_caption_track
from app.youtube.ledger import Clock, LedgerMeter, QuotaLedger
from app.youtube.uploader import _item_client, _load, _oauth_app, _reauth_deferral

log = get_logger("youtube_captions")

REMOTE_CAPTION = "youtube_caption_id"
PUBLISH_ITEM = "upload"


async def _video_id(task_id: uuid.UUID, on_task: str | None) -> str | None:
    if on_task:
        return on_task
    async with session_scope() as session:
        result = await session.scalar(
            select(TaskItem.result).where(
                TaskItem.task_id == task_id,
                TaskItem.step == PipelineStep.UPLOAD,
                TaskItem.item_key == PUBLISH_ITEM,
            )
        )
    return str((result or {}).get("youtube_video_id") or "") or None


def _done(track_id: str, video_id: str, **result: Any) -> ItemOutcome:
    return ItemOutcome(
        result={"caption_track_id": track_id, "youtube_video_id": video_id, **result},
        remote_ids={REMOTE_CAPTION: track_id},
        service="youtube",
    )


async def upload_captions(run: ItemRun, *, clock: Clock | None = None) -> ItemOutcome:
    """Put the task's SRT on its video (once: see the module doc)."""
    settings = get_settings()
    job = await _load(run.task_id, run.channel_id)
    video_id = await _video_id(run.task_id, job.task.youtube_video_id)
    if video_id is None:
        raise ItemFailedError(
            "YOUTUBE_NOT_PUBLISHED", "the video is not on YouTube yet", retryable=True
        )
    if run.remote_ids.get(REMOTE_CAPTION):
        return _done(str(run.remote_ids[REMOTE_CAPTION]), video_id, already_uploaded=True)
    if job.needs_reauth:
        raise _reauth_deferral(job, settings)
    path = await asyncio.to_thread(fetch_path, run.inputs["srt_key"])
    if not path.is_file() or path.stat().st_size == 0:
        raise ItemFailedError(
            "INPUT_MISSING", f"captions {run.inputs['srt_key']} do not exist", retryable=False
        )
    srt = path.read_bytes()
    ledger = QuotaLedger.from_settings(settings, clock)
    oauth_client, app = _oauth_app(job, settings)
    meter = LedgerMeter(ledger, oauth_client.project, run.channel_id)
    async with _item_client(job, settings, app, meter, "captions.insert") as client:
        track = await put_caption_track(
            client, video_id=video_id, srt=srt, language=str(run.inputs.get("language") or "en")
        )
    await run.on_remote_ids({REMOTE_CAPTION: track.id})
    log.info("youtube.captions_uploaded", video_id=video_id, updated=track.updated)
    return _done(track.id, video_id, updated=track.updated)
