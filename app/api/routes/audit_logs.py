"""The audit log: every state change, review, retry, cancel and credential change, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.params import DEFAULT_LIMIT, ChannelRef, Cursor, DateFrom, DateTo, Limit
from app.api.responses import LISTING_ERRORS, page_of
from app.core.envelope import Envelope, Page
from app.ops.audit_query import list_audit_logs
from app.ops.schemas import AuditLogResponse

router = APIRouter(prefix="/audit-logs", tags=["audit"])


@router.get("", responses=LISTING_ERRORS)
async def get_audit_logs(
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    channel_id: ChannelRef = None,
    actor: Annotated[list[str] | None, Query(description="Repeat to match any of several.")] = None,
    action: Annotated[
        list[str] | None,
        Query(description="e.g. task.failed; repeat to match any of several."),
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[Page[AuditLogResponse]]:
    """Audit rows newest first. Pass `pagination.next_cursor` back as `cursor` for the next page."""
    result = await list_audit_logs(
        session,
        task_id=task_id,
        channel_ref=channel_id,
        actors=actor or (),
        actions=action or (),
        entity_type=entity_type,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )
    return page_of(AuditLogResponse, result, limit=limit)
