"""Receiving Notion webhooks: the verification handshake, signatures, de-duplication.

Notion first posts ``{"verification_token": ...}``: we keep it (encrypted) so the operator can
paste it back into Notion (``vidgen notion webhook-token``), and log only its fingerprint. Every
later delivery must carry ``X-Notion-Signature: sha256=<hmac of the raw body>`` keyed with that
token (or with ``NOTION_WEBHOOK_SECRET`` when set, which always wins); the first token received is
the one trusted, so a stranger posting another cannot take over. An event is recorded once by its
id (Notion retries up to 8 times; a replay is acknowledged and ignored) and the sync leader is
woken to follow it up: the request itself does no Notion call and answers at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.encryption import SecretDecryptionError, secret_box
from app.core.errors import AppError, BadRequestError, ServiceUnavailableError
from app.core.logging import get_logger, register_secret
from app.core.time import utc_now
from app.models import WebhookEvent

log = get_logger("notion.webhook")

SOURCE = "notion"
VERIFICATION_TYPE = "verification"
VERIFICATION_PREFIX = "notion-verification:"
MAX_VERIFICATION_TOKENS = 5
MAX_BODY_BYTES = 1_000_000
MAX_EVENT_AGE = timedelta(days=2)  # Notion retries for about a day; older is a replay
NOTION_CHANNEL = "vidgen_notion"


class InvalidSignatureError(AppError):
    status_code = 401
    code = "INVALID_SIGNATURE"


@dataclass(frozen=True)
class WebhookReceipt:
    kind: Literal["verification", "event", "duplicate"]
    event_id: str | None = None
    event_type: str | None = None


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def signature_for(body: bytes, key: str) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, key: str) -> bool:
    """Constant-time comparison on the raw bytes (never re-serialised JSON)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), signature_for(body, key).encode())


async def verification_tokens(
    session: AsyncSession, settings: Settings
) -> list[tuple[datetime, str]]:
    """Tokens Notion sent, oldest first, decrypted (those no configured key opens are skipped)."""
    rows = await session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.source == SOURCE, WebhookEvent.event_type == VERIFICATION_TYPE)
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    )
    tokens = []
    box = secret_box(settings)
    for row in rows:
        try:
            tokens.append((row.received_at, box.decrypt(str(row.payload["token_encrypted"]))))
        except (SecretDecryptionError, KeyError):
            log.warning("notion.webhook.token_unreadable", event_id=row.id)
    return tokens


async def _store_verification(session: AsyncSession, token: str, settings: Settings) -> None:
    register_secret(token)
    stored = await session.scalar(
        text("SELECT count(*) FROM webhook_events WHERE source = :s AND event_type = :t"),
        {"s": SOURCE, "t": VERIFICATION_TYPE},
    )
    mark = fingerprint(token)
    if (stored or 0) >= MAX_VERIFICATION_TOKENS:
        log.warning("notion.webhook.verification_ignored", fingerprint=mark, reason="too many")
        return
    await session.execute(
        insert(WebhookEvent)
        .values(
            id=VERIFICATION_PREFIX + mark,
            source=SOURCE,
            event_type=VERIFICATION_TYPE,
            payload={"token_encrypted": secret_box(settings).encrypt(token), "fingerprint": mark},
            processed_at=utc_now(),
        )
        .on_conflict_do_nothing()
    )
    log.info("notion.webhook.verification_received", fingerprint=mark, first=not stored)


async def _signing_key(session: AsyncSession, settings: Settings) -> str:
    if settings.notion_webhook_secret is not None:
        return settings.notion_webhook_secret.get_secret_value()
    tokens = await verification_tokens(session, settings)
    if not tokens:
        raise ServiceUnavailableError(
            "the Notion webhook is not verified yet: create the subscription in Notion so it sends "
            "its verification token, or set NOTION_WEBHOOK_SECRET",
            code="WEBHOOK_NOT_VERIFIED",
        )
    return tokens[0][1]


def _parse(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise BadRequestError("webhook body too large", code="PAYLOAD_TOO_LARGE", status_code=413)
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequestError("webhook body is not JSON", code="INVALID_JSON") from None
    if not isinstance(payload, dict):
        raise BadRequestError("webhook body must be a JSON object", code="INVALID_JSON")
    return payload


def _event_fields(payload: dict[str, Any]) -> tuple[str, str, datetime]:
    event_id, event_type = payload.get("id"), payload.get("type")
    entity = payload.get("entity")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 80:
        raise BadRequestError("webhook event has no valid id", code="INVALID_EVENT")
    if not isinstance(event_type, str) or not isinstance(entity, dict) or "id" not in entity:
        raise BadRequestError("webhook event needs a type and an entity id", code="INVALID_EVENT")
    try:
        stamp = datetime.fromisoformat(str(payload.get("timestamp")).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(
            "webhook event has no valid timestamp", code="INVALID_EVENT"
        ) from None
    if stamp.tzinfo is None:
        raise BadRequestError("webhook event timestamp has no offset", code="INVALID_EVENT")
    return event_id, event_type[:64], stamp


async def receive(
    session: AsyncSession, *, body: bytes, signature: str | None, settings: Settings
) -> WebhookReceipt:
    """Check and record one delivery in the caller's transaction (the leader is notified on commit)."""
    payload = _parse(body)
    if "verification_token" in payload and "type" not in payload:
        token = payload["verification_token"]
        if not isinstance(token, str) or not token:
            raise BadRequestError("verification_token must be a string", code="INVALID_EVENT")
        await _store_verification(session, token, settings)
        return WebhookReceipt(kind="verification")
    if not signature_matches(body, signature, await _signing_key(session, settings)):
        log.warning("notion.webhook.bad_signature", has_header=bool(signature))
        raise InvalidSignatureError("X-Notion-Signature does not match the request body")
    event_id, event_type, stamp = _event_fields(payload)
    if utc_now() - stamp > MAX_EVENT_AGE:
        log.warning("notion.webhook.too_old", event_id=event_id, timestamp=stamp.isoformat())
        raise BadRequestError("webhook event is too old to accept", code="EVENT_TOO_OLD")
    inserted = await session.scalar(
        insert(WebhookEvent)
        .values(id=f"{SOURCE}:{event_id}", source=SOURCE, event_type=event_type, payload=payload)
        .on_conflict_do_nothing()
        .returning(WebhookEvent.id)
    )
    if inserted is None:
        log.info("notion.webhook.duplicate", event_id=event_id, type=event_type)
        return WebhookReceipt(kind="duplicate", event_id=event_id, event_type=event_type)
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTION_CHANNEL, "p": event_type})
    log.info("notion.webhook.received", event_id=event_id, type=event_type)
    return WebhookReceipt(kind="event", event_id=event_id, event_type=event_type)
