"""The audit log: every state change, review, retry, cancel and credential change, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.responses import NOT_FOUND_RESPONSE, page
from app.core.envelope import Envelope, ErrorEnvelope, Page
from app.ops.audit_query import list_audit_logs
from app.ops.schemas import AuditLogResponse
from app.pipeline import service as task_service
from app.pipeline.schemas import DateOrDateTime

router = APIRouter(prefix="/audit-logs", tags=["audit"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_RESPONSE,
    400: {"model": ErrorEnvelope, "description": "Bad cursor or date range"},
}


@router.get("", responses=_ERRORS)
async def get_audit_logs(
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    channel_id: Annotated[str | None, Query(description="Channel id or slug.")] = None,
    actor: Annotated[list[str] | None, Query(description="Repeat to match any of several.")] = None,
    action: Annotated[
        list[str] | None,
        Query(description="e.g. task.failed; repeat to match any of several."),
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    date_from: Annotated[
        DateOrDateTime | None, Query(description="At or after (a date means its start, UTC).")
    ] = None,
    date_to: Annotated[
        DateOrDateTime | None, Query(description="At or before (a date means its end, UTC).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[
        int, Query(ge=1, le=task_service.MAX_PAGE_SIZE)
    ] = task_service.DEFAULT_PAGE_SIZE,
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
    items = [AuditLogResponse.model_validate(row) for row in result.items]
    return page(items, next_cursor=result.next_cursor, limit=limit)
