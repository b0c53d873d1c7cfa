"""The cost ledger: filtered rows, or sums per channel, service, day or step."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.params import DEFAULT_LIMIT, ChannelRef, Cursor, DateFrom, DateTo, Limit
from app.api.responses import LISTING_ERRORS, ok
from app.core.envelope import Envelope, Pagination
from app.models import PipelineStep
from app.spend import report as cost_report
from app.spend.schemas import (
    CostGroupBy,
    CostGroupResponse,
    CostSumsResponse,
    VideoCostReportResponse,
    VideoCostRowResponse,
)

router = APIRouter(prefix="/video-costs", tags=["costs"])


@router.get("", responses=LISTING_ERRORS)
async def get_video_costs(
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    channel_id: ChannelRef = None,
    service: Annotated[str | None, Query(max_length=32)] = None,
    step: PipelineStep | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    group_by: Annotated[
        CostGroupBy | None, Query(description="Sum per channel, service, UTC day or step.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[VideoCostReportResponse]:
    """Paid calls matching the filters: `totals` always; with `group_by`, one sum per group;
    without it, the rows newest first (pass `pagination.next_cursor` back as `cursor`)."""
    filters = cost_report.CostFilters(
        task_id=task_id,
        channel_ref=channel_id,
        service=service,
        step=step,
        date_from=date_from,
        date_to=date_to,
    )
    report = await cost_report.cost_report(
        session,
        filters,
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
