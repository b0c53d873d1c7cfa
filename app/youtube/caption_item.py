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
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.artifacts.configured import fetch_path
from app.core.config import get_settings
from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import PipelineStep, TaskItem
from app.pipeline.outcome import ItemDeferredError, ItemFailedError, ItemOutcome, RemoteIdsCallback
from app.youtube.captions import put_caption_track
from app.youtube.client import (
    DEFAULT_TIMEOUT,
    YouTubeAuthError,
    YouTubeClient,
    YouTubeError,
    YouTubeQuotaExceededError,
    YouTubeTransientError,
)
from app.youtube.ledger import Clock, LedgerMeter, QuotaDeferredError, QuotaLedger
from app.youtube.oauth import (
    Backoff,
    InvalidGrantError,
    OAuthError,
    OAuthTransientError,
    TokenSource,
)
from app.youtube.uploader import _load, _oauth_app, _park_for_reauth, reauth_reason

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


async def upload_captions(
    *,
    task_id: uuid.UUID,
    channel_id: uuid.UUID,
    inputs: dict[str, Any],
    remote_ids: dict[str, Any],
    on_remote_ids: RemoteIdsCallback,
    clock: Clock | None = None,
) -> ItemOutcome:
    """Put the task's SRT on its video (once: see the module doc)."""
    settings = get_settings()
    job = await _load(task_id, channel_id)
    video_id = await _video_id(task_id, job.task.youtube_video_id)
    if video_id is None:
        raise ItemFailedError(
            "YOUTUBE_NOT_PUBLISHED", "the video is not on YouTube yet", retryable=True
        )
    if remote_ids.get(REMOTE_CAPTION):
        return _done(str(remote_ids[REMOTE_CAPTION]), video_id, already_uploaded=True)
    if job.needs_reauth:
        raise ItemDeferredError(
            "YOUTUBE_REAUTH",
            reauth_reason(job.channel.slug),
            delay=timedelta(seconds=settings.youtube_reauth_park_s),
        )
    path = await asyncio.to_thread(fetch_path, inputs["srt_key"])
    if not path.is_file() or path.stat().st_size == 0:
        raise ItemFailedError(
            "INPUT_MISSING", f"captions {inputs['srt_key']} do not exist", retryable=False
        )
    srt = path.read_bytes()
    ledger = QuotaLedger.from_settings(settings, clock)
    backoff = Backoff(base_s=settings.youtube_retry_base_s)
    oauth_client, app = _oauth_app(job, settings)
    meter = LedgerMeter(ledger, oauth_client.project, channel_id)
    async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
        tokens = TokenSource(http, app, job.refresh_token, backoff=backoff)
        client = YouTubeClient.from_settings(http, tokens, settings, backoff=backoff, meter=meter)
        try:
            track = await put_caption_track(
                client, video_id=video_id, srt=srt, language=str(inputs.get("language") or "en")
            )
        except InvalidGrantError:
            raise await _park_for_reauth(job, settings) from None
        except QuotaDeferredError as exc:
            raise ItemDeferredError("YOUTUBE_QUOTA", exc.message, delay=exc.delay) from None
        except YouTubeQuotaExceededError:
            async with session_scope() as session:
                await ledger.exhaust(session, oauth_client.project, channel_id)
            deferral = ledger.defer("captions.insert", "Google answered quotaExceeded")
            raise ItemDeferredError(
                "YOUTUBE_QUOTA", deferral.message, delay=deferral.delay
            ) from None
        except (YouTubeTransientError, YouTubeAuthError, OAuthTransientError) as exc:
            raise ItemFailedError("YOUTUBE_UNAVAILABLE", str(exc), retryable=True) from None
        except (YouTubeError, OAuthError) as exc:
            raise ItemFailedError("YOUTUBE_REFUSED", str(exc), retryable=False) from None
    await on_remote_ids({REMOTE_CAPTION: track.id})
    log.info("youtube.captions_uploaded", video_id=video_id, updated=track.updated)
    return _done(track.id, video_id, updated=track.updated)
