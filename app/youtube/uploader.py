"""The upload step on YouTube: one video per task, never two, whatever crashes on the way.

Three records make a re-run safe. A video id on the task means published: nothing is sent. A
video id in the item's ``remote_ids`` means uploaded but not yet recorded: the step completes
with it. An encrypted session URI (with the file's size and hash) in ``remote_ids``, written
before the first byte is sent, means an upload is under way: the next run asks the session how
much it holds and continues from there, and starts a new session whenever Google says the one
in use is gone (404/410, on a resumed or a fresh upload alike), which also means it never became
a video.

Quota is charged to the channel's Cloud project (``app.youtube.projects``) per request actually
sent: the access token is fetched first, so a token endpoint that is down or a revoked refresh
token costs nothing, and a request that could not connect is refunded.

Waiting is not failing: a spent quota or a channel whose refresh token was revoked defers the
item (``ItemDeferredError``) instead of burning its retries. The access token, refresh token
and session URI never reach a log line or an error message.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.alerts.service import send_alert
from app.artifacts.configured import fetch_path
from app.channels.config import ChannelConfig
from app.channels.credentials import CredentialProvider, get_credential, mark_needs_reauth
from app.channels.sync import get_channel_config
from app.core.config import Settings, get_settings
from app.core.database import session_scope
from app.core.encryption import SecretDecryptionError, secret_box
from app.core.logging import get_logger
from app.core.time import Backoff
from app.models import Channel, ChannelCredential, PipelineStep, Task, TaskItem
from app.pipeline.items import asset_key
from app.pipeline.outcome import (
    ItemDeferredError,
    ItemFailedError,
    ItemOutcome,
    ItemRun,
    RemoteIdsCallback,
)
from app.youtube.client import (
    DEFAULT_TIMEOUT,
    YouTubeAuthError,
    YouTubeClient,
    YouTubeError,
    YouTubeQuotaExceededError,
    YouTubeTransientError,
    YouTubeUploadSessionGoneError,
)
from app.youtube.ledger import Clock, LedgerMeter, QuotaDeferredError, QuotaLedger
from app.youtube.metadata import MetadataError, build_video_resource, clip_credits
from app.youtube.oauth import (
    InvalidGrantError,
    OAuthApp,
    OAuthError,
    OAuthTransientError,
    TokenSource,
)
from app.youtube.projects import ChannelClient, YouTubeClientMissingError, channel_client
from app.youtube.thumbnail import make_thumbnail

log = get_logger("youtube_uploader")

REMOTE_SESSION = "youtube_upload_session"  # Fernet token of the session URI
REMOTE_SIZE = "youtube_upload_size"
REMOTE_SHA256 = "youtube_upload_sha256"
REMOTE_VIDEO = "youtube_video_id"
REMOTE_THUMBNAIL = "youtube_thumbnail"
# New sessions one run may start after Google lost the one in use; then the item retries later.
MAX_NEW_SESSIONS = 2


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def reauth_reason(slug: str) -> str:
    return f"YouTube needs re-authorisation: run vidgen oauth youtube {slug}"


async def youtube_publishing_enabled(channel_id: uuid.UUID) -> bool:
    """True when the channel has a YouTube token (even one that needs re-auth: such a channel
    waits for its operator instead of publishing offline) and an OAuth client: the fleet's, or
    one of its own. A channel that names its own client publishes even if the client's
    variables are unset, so that the upload fails naming them instead of going offline."""
    settings = get_settings()
    async with session_scope() as session:
        channel = await session.get(Channel, channel_id)
    own_client = channel is not None and bool(
        ((channel.config or {}).get("youtube") or {}).get("oauth_client")
    )
    if not own_client and (not settings.youtube_client_id or not settings.youtube_client_secret):
        return False
    async with session_scope() as session:
        found = await session.scalar(
            select(ChannelCredential.id).where(
                ChannelCredential.channel_id == channel_id,
                ChannelCredential.provider == CredentialProvider.YOUTUBE.value,
            )
        )
    if found is None:
        log.warning("youtube.channel_not_authorised", detail="publishing offline instead")
    return found is not None


@dataclass(frozen=True)
class _Job:
    task: Task
    channel: Channel
    config: ChannelConfig
    refresh_token: str
    needs_reauth: bool
    credits: tuple[str, ...] = ()


async def _load(task_id: uuid.UUID, channel_id: uuid.UUID) -> _Job:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        channel = await session.get(Channel, channel_id)
        if task is None or channel is None:
            raise ItemFailedError("TASK_MISSING", "the task no longer exists", retryable=False)
        credential = await session.scalar(
            select(ChannelCredential).where(
                ChannelCredential.channel_id == channel_id,
                ChannelCredential.provider == CredentialProvider.YOUTUBE.value,
            )
        )
        clips = await session.scalars(
            select(TaskItem.result)
            .where(TaskItem.task_id == task_id, TaskItem.step == PipelineStep.VIDEOS)
            .order_by(TaskItem.scene_number)
        )
        credits = tuple(clip_credits(list(clips)))
        try:
            token = await get_credential(session, channel_id, CredentialProvider.YOUTUBE.value)
        except SecretDecryptionError as exc:
            raise ItemFailedError("CREDENTIALS_UNREADABLE", str(exc), retryable=False) from None
    if credential is None or token is None:
        raise ItemFailedError(
            "CREDENTIALS_MISSING",
            f"channel {channel.slug} has no YouTube authorisation: run vidgen oauth youtube "
            f"{channel.slug}",
            retryable=False,
        )
    config = get_channel_config(channel)
    return _Job(task, channel, config, token, credential.needs_reauth, credits)


def _fingerprint(path: Path) -> tuple[int, str]:
    """Size and SHA-256: a stored session is resumed only for the very same file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


@dataclass(eq=False)
class _Publisher:
    """One run of the upload item: holds the client, the ledger and the job's facts."""

    job: _Job
    client: YouTubeClient
    meter: LedgerMeter
    settings: Settings
    on_remote_ids: RemoteIdsCallback
    _logged_tenth: int = field(default=-1, init=False)

    def _progress(self, received: int, total: int) -> None:
        tenth = received * 10 // total
        if tenth > self._logged_tenth:
            self._logged_tenth = tenth
            log.info("youtube.upload_progress", received=received, total=total)

    async def _new_session(self, metadata: dict[str, Any], size: int, sha: str) -> str:
        """Initiate videos.insert once the project can afford it (asked before any token)."""
        meter = self.meter
        async with session_scope() as session:
            await meter.ledger.check(
                session,
                meter.project,
                "videos.insert",
                headroom=meter.headroom.get("videos.insert", 0),
            )
        uri = await self.client.start_upload(metadata, size=size, content_type="video/mp4")
        # Persisted before a byte is sent: after a crash the next run resumes this session.
        await self.on_remote_ids(
            {REMOTE_SESSION: secret_box().encrypt(uri), REMOTE_SIZE: str(size), REMOTE_SHA256: sha}
        )
        log.info(
            "youtube.upload_started",
            total=size,
            chunk_bytes=self.settings.youtube_upload_chunk_bytes,
        )
        return uri

    async def upload(
        self, path: Path, metadata: dict[str, Any], remote_ids: dict[str, Any]
    ) -> dict[str, Any]:
        size, sha = await asyncio.to_thread(_fingerprint, path)
        chunk = self.settings.youtube_upload_chunk_bytes
        stored = remote_ids.get(REMOTE_SESSION)
        same_file = (
            remote_ids.get(REMOTE_SIZE) == str(size) and remote_ids.get(REMOTE_SHA256) == sha
        )
        if stored and same_file:
            uri = secret_box().decrypt(str(stored))
            try:
                log.info("youtube.upload_resuming", total=size)
                return await self.client.upload(
                    uri, path, total=size, chunk_size=chunk, resume=True, on_progress=self._progress
                )
            except YouTubeUploadSessionGoneError:
                log.warning("youtube.upload_session_gone", detail="starting a new session")
        elif stored:
            log.warning("youtube.upload_session_discarded", detail="the final video changed")
        for _ in range(MAX_NEW_SESSIONS):
            uri = await self._new_session(metadata, size, sha)
            try:
                return await self.client.upload(
                    uri,
                    path,
                    total=size,
                    chunk_size=chunk,
                    resume=False,
                    on_progress=self._progress,
                )
            except YouTubeUploadSessionGoneError:
                log.warning("youtube.upload_session_gone", detail="starting a new session")
        raise YouTubeTransientError(
            f"YouTube lost {MAX_NEW_SESSIONS} new upload sessions in a row; trying again later"
        )

    async def thumbnail(self, video_id: str, video_path: Path) -> str:
        """Best effort: the video is already up, so a refused thumbnail is logged, not fatal."""
        choice = self.job.config.youtube.thumbnail
        if not choice.enabled:
            return "disabled"
        image = None
        if choice.asset is not None:
            image = await asyncio.to_thread(fetch_path, asset_key(self.job.task, choice.asset))
            if not image.is_file():
                log.warning("youtube.thumbnail_asset_missing", asset=choice.asset)
                image = None
        try:
            data = await asyncio.to_thread(
                make_thumbnail, video=video_path, frame_at_s=choice.frame_at_s, image=image
            )
            await self.client.set_thumbnail(video_id, data)  # the meter charges it as sent
        except (YouTubeError, QuotaDeferredError, OAuthError, OSError, ValueError) as exc:
            reason = getattr(exc, "message", None) or type(exc).__name__
            log.warning("youtube.thumbnail_failed", error=reason)
            return f"failed: {reason}"
        return "set"


async def _park_for_reauth(job: _Job, settings: Settings) -> ItemDeferredError:
    async with session_scope() as session:
        await mark_needs_reauth(session, job.channel.id, CredentialProvider.YOUTUBE.value)
    await send_alert(
        "youtube_reauth",
        f"YouTube needs re-authorisation for {job.channel.slug}",
        f"Google refused the channel's refresh token (invalid_grant); its uploads wait. "
        f"Run: vidgen oauth youtube {job.channel.slug}",
        channel=job.channel.slug,
    )
    return _reauth_deferral(job, settings)


def _reauth_deferral(job: _Job, settings: Settings) -> ItemDeferredError:
    """Parked, not failed: the item can do nothing until the operator re-authorises the channel."""
    return ItemDeferredError(
        "YOUTUBE_REAUTH",
        reauth_reason(job.channel.slug),
        delay=timedelta(seconds=settings.youtube_reauth_park_s),
    )


@asynccontextmanager
async def _item_client(
    job: _Job, settings: Settings, app: OAuthApp, meter: LedgerMeter, operation: str
) -> AsyncIterator[YouTubeClient]:
    """The channel's metered client for one item run, and the one reading of its failures.

    Every YouTube item waits, retries or fails alike: a revoked token parks the channel, spent
    quota defers the item (``operation`` names the call Google refused), outages retry.
    """
    backoff = Backoff(base_s=settings.youtube_retry_base_s)
    async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
        tokens = TokenSource(http, app, job.refresh_token, backoff=backoff)
        client = YouTubeClient.from_settings(http, tokens, settings, backoff=backoff, meter=meter)
        try:
            yield client
        except InvalidGrantError:
            raise await _park_for_reauth(job, settings) from None
        except QuotaDeferredError as exc:
            raise ItemDeferredError("YOUTUBE_QUOTA", exc.message, delay=exc.delay) from None
        except YouTubeQuotaExceededError:
            async with session_scope() as session:
                await meter.ledger.exhaust(session, meter.project, job.channel.id)
            deferral = meter.ledger.defer(operation, "Google answered quotaExceeded")
            raise ItemDeferredError(
                "YOUTUBE_QUOTA", deferral.message, delay=deferral.delay
            ) from None
        except (YouTubeTransientError, YouTubeAuthError, OAuthTransientError) as exc:
            raise ItemFailedError("YOUTUBE_UNAVAILABLE", str(exc), retryable=True) from None
        except (YouTubeError, OAuthError) as exc:
            raise ItemFailedError("YOUTUBE_REFUSED", str(exc), retryable=False) from None


def _outcome(video_id: str, result: dict[str, Any]) -> ItemOutcome:
    url = watch_url(video_id)
    return ItemOutcome(
        result={"youtube_video_id": video_id, "youtube_url": url, **result},
        remote_ids={REMOTE_VIDEO: video_id},
        service="youtube",
        youtube_video_id=video_id,
        youtube_url=url,
    )


def _meter(job: _Job, ledger: QuotaLedger, project: str) -> LedgerMeter:
    thumbnail = ledger.costs["thumbnails.set"] if job.config.youtube.thumbnail.enabled else 0
    return LedgerMeter(ledger, project, job.channel.id, headroom={"videos.insert": thumbnail})


def _oauth_app(job: _Job, settings: Settings) -> tuple[ChannelClient, OAuthApp]:
    try:
        client = channel_client(job.config, settings)
    except YouTubeClientMissingError as exc:
        raise ItemFailedError("YOUTUBE_CLIENT_MISSING", exc.message, retryable=False) from None
    app = OAuthApp(client.client_id, client.client_secret, token_url=settings.google_token_url)
    return client, app


async def publish_to_youtube(run: ItemRun, *, clock: Clock | None = None) -> ItemOutcome:
    """Upload the task's final video (or find the upload already done); see the module doc."""
    settings = get_settings()
    job = await _load(run.task_id, run.channel_id)
    if job.task.youtube_video_id:
        log.info("youtube.already_published", video_id=job.task.youtube_video_id)
        return _outcome(job.task.youtube_video_id, {"already_published": True})
    if job.needs_reauth:
        raise _reauth_deferral(job, settings)
    ledger = QuotaLedger.from_settings(settings, clock)
    path = await asyncio.to_thread(fetch_path, run.inputs["final_key"])
    if not path.is_file():
        raise ItemFailedError(
            "INPUT_MISSING",
            f"final video {run.inputs['final_key']} does not exist",
            retryable=False,
        )
    try:
        metadata = build_video_resource(
            job.config,
            title=job.task.title,
            topic=job.task.topic,
            channel_name=job.channel.name,
            now=ledger.now(),
            credits=job.credits,
        )
    except MetadataError as exc:
        raise ItemFailedError("YOUTUBE_METADATA_INVALID", exc.message, retryable=False) from None

    oauth_client, app = _oauth_app(job, settings)
    meter = _meter(job, ledger, oauth_client.project)
    async with _item_client(job, settings, app, meter, "videos.insert") as client:
        publisher = _Publisher(job, client, meter, settings, run.on_remote_ids)
        video_id = str(run.remote_ids.get(REMOTE_VIDEO) or "")
        if not video_id:
            video = await publisher.upload(path, metadata, run.remote_ids)
            video_id = str(video["id"])
            await run.on_remote_ids({REMOTE_VIDEO: video_id})
            log.info("youtube.uploaded", video_id=video_id)
        thumbnail = str(run.remote_ids.get(REMOTE_THUMBNAIL) or "")
        if not thumbnail:
            thumbnail = await publisher.thumbnail(video_id, path)
            await run.on_remote_ids({REMOTE_THUMBNAIL: thumbnail})
    return _outcome(
        video_id,
        {
            "privacy": metadata["status"]["privacyStatus"],
            "publish_at": metadata["status"].get("publishAt"),
            "thumbnail": thumbnail,
        },
    )
