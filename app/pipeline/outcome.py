"""What an item run is handed, gives back, fails with or waits for, and the secrets a paid call runs with.

Shared by the runner and by the step handlers that live in other domains (the planner, the
YouTube uploader), so those never import the runner that dispatches to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.core.config import get_settings
from app.core.database import session_scope

RemoteIdsCallback = Callable[[dict[str, str]], Awaitable[None]]


@dataclass(frozen=True)
class ItemRun:
    """One item run as the runner hands it to a handler in another domain, passed on whole so
    that each handler's signature does not restate the runner's."""

    task_id: uuid.UUID
    channel_id: uuid.UUID
    inputs: dict[str, Any]
    remote_ids: dict[str, Any]
    on_remote_ids: RemoteIdsCallback


class ItemFailedError(Exception):
    """A failed item run; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class ItemDeferredError(Exception):
    """Run this item again after ``delay``; ``reason`` is shown on the task."""

    def __init__(self, code: str, reason: str, *, delay: timedelta) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.delay = delay


@dataclass
class ItemOutcome:
    output_keys: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    remote_ids: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0
    service: str = "offline"
    model: str | None = None
    units: float = 0.0
    unit_label: str | None = None
    plan: dict[str, Any] | None = None
    final_video_key: str | None = None
    youtube_video_id: str | None = None
    youtube_url: str | None = None


async def credential_env(
    channel_id: uuid.UUID, providers: list[str], *, optional: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Environment for the script: the channel's stored secret, else the process-wide one.

    A provider in ``optional`` (an OpenAI-compatible server on this machine needs no key) is left
    out when neither is set instead of failing the item.
    """
    if not providers:
        return {}
    from app.channels.credentials import ENV_VARS, CredentialProvider, get_credential

    settings = get_settings()
    fallback = {
        "gemini": settings.gemini_api_key,
        "openai": settings.openai_api_key,
        "kie": settings.kie_api_key,
        "elevenlabs": settings.elevenlabs_api_key,
        "pexels": settings.pexels_api_key,
        "pixabay": settings.pixabay_api_key,
    }
    env: dict[str, str] = {}
    async with session_scope() as session:
        for provider in providers:
            name = ENV_VARS[CredentialProvider(provider)]
            value = await get_credential(session, channel_id, provider)
            secret = fallback.get(provider)
            value = value or (secret.get_secret_value() if secret else None)
            if not value and provider in optional:
                continue
            if not value:
                raise ItemFailedError(
                    "CREDENTIALS_MISSING",
                    f"{name} is not set for this channel: store the {provider} key for the channel "
                    f"or set {name} for the fleet (the channel config names a paid provider)",
                    retryable=False,
                )
            env[name] = value
    return env
