"""Per-channel provider secrets, stored Fernet-encrypted in ``channel_credentials``.

A channel's stored secret takes precedence over the process-wide environment variable of the same
service. Plaintext exists only in memory: it is never returned by status queries, never logged
(every decrypted value is registered with the log redactor), and never put in an error message.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.config import ChannelConfig
from app.core.config import Settings
from app.core.encryption import SecretDecryptionError, secret_box
from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import ChannelCredential

log = get_logger(__name__)


class CredentialProvider(StrEnum):
    GEMINI = "gemini"
    OPENAI = "openai"
    KIE = "kie"
    ELEVENLABS = "elevenlabs"
    PEXELS = "pexels"
    PIXABAY = "pixabay"
    NOTION = "notion"
    YOUTUBE = "youtube"


# The environment variable each stored secret stands in for (scripts read these names).
# YouTube's stored secret is the channel's OAuth refresh token, which has no process-wide default.
ENV_VARS: dict[CredentialProvider, str] = {
    CredentialProvider.GEMINI: "GEMINI_API_KEY",
    CredentialProvider.OPENAI: "OPENAI_API_KEY",
    CredentialProvider.KIE: "KIE_API_KEY",
    CredentialProvider.ELEVENLABS: "ELEVENLABS_API_KEY",
    CredentialProvider.PEXELS: "PEXELS_API_KEY",
    CredentialProvider.PIXABAY: "PIXABAY_API_KEY",
    CredentialProvider.NOTION: "NOTION_API_TOKEN",
}

# Channel config provider names -> the credential each one needs.
CONFIG_PROVIDER_CREDENTIALS: dict[str, CredentialProvider] = {
    "gemini": CredentialProvider.GEMINI,
    "openai": CredentialProvider.OPENAI,
    "kling": CredentialProvider.KIE,
    "elevenlabs": CredentialProvider.ELEVENLABS,
    "pexels": CredentialProvider.PEXELS,
    "pixabay": CredentialProvider.PIXABAY,
}


# The channel-config roles whose provider may need a paid key.
PROVIDER_ROLES = ("planner", "image", "video", "voice", "sfx")


def needed_credentials(config: ChannelConfig) -> dict[CredentialProvider, list[str]]:
    """Which credential each paid provider of the channel needs, with the roles that use it."""
    needs: dict[CredentialProvider, list[str]] = defaultdict(list)
    for role in PROVIDER_ROLES:
        provider = getattr(config.providers, role).provider
        if provider == "openai" and role not in config.providers.openai_key_roles:
            continue  # a server on this machine needs no key
        credential = CONFIG_PROVIDER_CREDENTIALS.get(provider)
        if credential is not None:
            needs[credential].append(role)
    if config.notion.database_id:
        needs[CredentialProvider.NOTION].append("notion board")
    return needs


def env_has_key(settings: Settings, provider: CredentialProvider) -> bool:
    """Whether the process-wide variable standing in for ``provider`` is set (never its value)."""
    name = ENV_VARS.get(provider)
    value = getattr(settings, name.lower(), None) if name else None
    secret = value.get_secret_value() if value is not None else ""
    return bool(secret.strip())


@dataclass(frozen=True)
class CredentialStatus:
    provider: str
    present: bool
    needs_reauth: bool
    updated_at: datetime | None


def _provider(value: str) -> CredentialProvider:
    try:
        return CredentialProvider(value)
    except ValueError:
        allowed = ", ".join(p.value for p in CredentialProvider)
        raise ValueError(f"unknown credential provider {value!r}; use one of {allowed}") from None


async def set_credential(
    session: AsyncSession,
    channel_id: uuid.UUID,
    provider: str,
    secret: str,
    meta: dict[str, Any] | None = None,
) -> ChannelCredential:
    """Store (or replace) a channel's secret for one provider; clears ``needs_reauth``.

    ``meta`` (non-secret facts such as scopes or the account name) replaces the stored one when
    given and is kept otherwise.
    """
    name = _provider(provider)
    if not secret:
        raise ValueError("the secret is empty")
    now = utc_now()
    values: dict[str, Any] = {
        "secret_encrypted": secret_box().encrypt(secret),
        "needs_reauth": False,
        "updated_at": now,
    }
    if meta is not None:
        values["meta"] = meta
    stmt = (
        insert(ChannelCredential)
        .values(
            id=uuid.uuid4(),
            channel_id=channel_id,
            provider=name.value,
            meta=meta or {},
            created_at=now,
            **{k: v for k, v in values.items() if k != "meta"},
        )
        .on_conflict_do_update(index_elements=["channel_id", "provider"], set_=values)
        .returning(ChannelCredential)
    )
    credential = (await session.scalars(stmt, execution_options={"populate_existing": True})).one()
    log.info("credential.stored", channel_id=str(channel_id), provider=name.value)
    return credential


async def _find(
    session: AsyncSession, channel_id: uuid.UUID, provider: CredentialProvider
) -> ChannelCredential | None:
    return await session.scalar(
        select(ChannelCredential).where(
            ChannelCredential.channel_id == channel_id,
            ChannelCredential.provider == provider.value,
        )
    )


async def get_credential(session: AsyncSession, channel_id: uuid.UUID, provider: str) -> str | None:
    """The decrypted secret, or ``None`` when the channel has none for this provider."""
    name = _provider(provider)
    credential = await _find(session, channel_id, name)
    if credential is None:
        return None
    try:
        return secret_box().decrypt(credential.secret_encrypted)
    except SecretDecryptionError:
        raise SecretDecryptionError(
            f"the {name.value} credential of channel {channel_id} could not be decrypted with "
            "any key in FERNET_KEYS; store it again or restore the old key"
        ) from None


async def mark_needs_reauth(
    session: AsyncSession, channel_id: uuid.UUID, provider: str, *, needs_reauth: bool = True
) -> bool:
    """Flag a revoked or expired secret (e.g. YouTube ``invalid_grant``); False if none stored."""
    credential = await _find(session, channel_id, _provider(provider))
    if credential is None:
        return False
    credential.needs_reauth = needs_reauth
    await session.flush()
    return True


async def credential_status(
    session: AsyncSession, channel_id: uuid.UUID
) -> dict[str, CredentialStatus]:
    """Presence and re-auth flag per provider, for every provider; never the secret itself."""
    rows = (
        await session.scalars(
            select(ChannelCredential).where(ChannelCredential.channel_id == channel_id)
        )
    ).all()
    stored = {row.provider: row for row in rows}
    status = {}
    for provider in CredentialProvider:
        row = stored.get(provider.value)
        status[provider.value] = CredentialStatus(
            provider=provider.value,
            present=row is not None,
            needs_reauth=bool(row and row.needs_reauth),
            updated_at=row.updated_at if row else None,
        )
    return status


async def reencrypt_all(session: AsyncSession) -> int:
    """Re-encrypt every stored secret with the newest key; returns how many.

    All or nothing: rows are locked, and one that no key opens raises before the caller commits.
    """
    box = secret_box()
    rows = (
        await session.scalars(
            select(ChannelCredential).order_by(ChannelCredential.id).with_for_update()
        )
    ).all()
    for row in rows:
        try:
            row.secret_encrypted = box.rotate(row.secret_encrypted)
        except SecretDecryptionError:
            raise SecretDecryptionError(
                f"the {row.provider} credential of channel {row.channel_id} could not be "
                "decrypted with any key in FERNET_KEYS; nothing was re-encrypted"
            ) from None
    await session.flush()
    log.info("credentials.reencrypted", count=len(rows))
    return len(rows)
