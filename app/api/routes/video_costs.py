"""The cost ledger: filtered rows, or sums per channel, service, day or step."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.core.envelope import Envelope, ErrorEnvelope, Pagination
from app.models import PipelineStep
from app.pipeline import service as task_service
from app.pipeline.schemas import DateOrDateTime
from app.spend import report as cost_report
from app.spend.schemas import (
    CostGroupBy,
    CostGroupResponse,
    CostSumsResponse,
    VideoCostReportResponse,
    VideoCostRowResponse,
)

router = APIRouter(prefix="/video-costs", tags=["costs"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_RESPONSE,
    400: {"model": ErrorEnvelope, "description": "Bad cursor or date range"},
}


@router.get("", responses=_ERRORS)
async def get_video_costs(
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    channel_id: Annotated[str | None, Query(description="Channel id or slug.")] = None,
    service: Annotated[str | None, Query(max_length=32)] = None,
    step: PipelineStep | None = None,
    date_from: Annotated[
        DateOrDateTime | None, Query(description="At or after (a date means its start, UTC).")
    ] = None,
    date_to: Annotated[
        DateOrDateTime | None, Query(description="At or before (a date means its end, UTC).")
    ] = None,
    group_by: Annotated[
        CostGroupBy | None, Query(description="Sum per channel, service, UTC day or step.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[
        int, Query(ge=1, le=task_service.MAX_PAGE_SIZE)
    ] = task_service.DEFAULT_PAGE_SIZE,
) -> Envelope[VideoCostReportResponse]:
    """Paid calls matching the filters: `totals` always; with `group_by`, one sum per group;
    without it, the rows newest first (pass `pagination.next_cursor` back as `cursor`)."""
    report = await cost_report.cost_report(
        session,
        task_id=task_id,
        channel_ref=channel_id,
        service=service,
        step=step,
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        cursor=cursor,
        limit=limit,
    )
    return ok(
        VideoCostReportResponse(
            totals=CostSumsResponse.model_validate(report.totals),
            group_by=report.group_by,
            groups=None
            if report.groups is None
            else [CostGroupResponse.model_validate(g, from_attributes=True) for g in report.groups],
            items=None
            if report.items is None
            else [VideoCostRowResponse.model_validate(row) for row in report.items],
            pagination=None
            if report.items is None
            else Pagination(next_cursor=report.next_cursor, limit=limit),
        )
    )
