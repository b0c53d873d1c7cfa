"""Inbound webhooks. Authenticated by the sender's signature, not by the API bearer token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from app.api.deps import SessionDep, get_app_settings
from app.api.responses import ok
from app.core.config import Settings
from app.core.envelope import Envelope, ErrorEnvelope
from app.notion import webhook as notion_webhook

router = APIRouter(prefix="/webhook", tags=["webhooks"])


class WebhookAck(BaseModel):
    received: Literal["verification", "event", "duplicate"]
    event_id: str | None = None


@router.post(
    "/notion",
    responses={
        400: {"model": ErrorEnvelope, "description": "Not a Notion event"},
        401: {"model": ErrorEnvelope, "description": "Signature missing or wrong"},
        503: {"model": ErrorEnvelope, "description": "No verification token received yet"},
    },
)
async def notion_webhook_delivery(
    request: Request,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_app_settings)],
    x_notion_signature: Annotated[str | None, Header()] = None,
) -> Envelope[WebhookAck]:
    """Notion's deliveries: the one-time verification token, then signed events.

    The event is recorded and followed up by the sync leader (which fetches the page): this
    answers at once, and a repeated event id is acknowledged without being processed again.
    """
    receipt = await notion_webhook.receive(
        session, body=await request.body(), signature=x_notion_signature, settings=settings
    )
    return ok(WebhookAck(received=receipt.kind, event_id=receipt.event_id))
