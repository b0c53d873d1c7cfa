"""Storing a channel's YouTube authorisation, and waking the uploads that waited for it."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.credentials import CredentialProvider, set_credential
from app.channels.service import get_channel
from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import Channel

log = get_logger(__name__)

# Upload jobs parked for re-auth run again now instead of at the end of their long delay.
_WAKE_SQL = text(
    """
    UPDATE pgqueuer AS q SET execute_after = now()
    FROM task_items AS i
    JOIN tasks AS t ON t.id = i.task_id
    WHERE q.dedupe_key = 'item:' || i.id::text AND q.status = 'queued'
      AND t.channel_id = :channel_id AND i.step = 'upload' AND i.error_code = 'YOUTUBE_REAUTH'
    """
)


async def store_youtube_authorisation(
    session: AsyncSession, *, channel_ref: str, refresh_token: str, scope: str
) -> tuple[Channel, int]:
    """Store the refresh token (encrypted; clears ``needs_reauth``); returns uploads woken."""
    channel = await get_channel(session, channel_ref=channel_ref)
    await set_credential(
        session,
        channel.id,
        CredentialProvider.YOUTUBE.value,
        refresh_token,
        meta={"scope": scope, "authorised_at": utc_now().isoformat()},
    )
    woken = await wake_parked_uploads(session, channel.id)
    log.info("youtube.authorised", channel=channel.slug, uploads_woken=woken)
    return channel, woken


async def wake_parked_uploads(session: AsyncSession, channel_id: uuid.UUID) -> int:
    result = await session.execute(_WAKE_SQL, {"channel_id": channel_id})
    return int(getattr(result, "rowcount", 0) or 0)
