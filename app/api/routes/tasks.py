"""Tasks: create (optionally with a hand-written plan), list with filters, and the detail view."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import AuthDep, SessionDep
from app.api.params import DEFAULT_LIMIT, ChannelRef, Cursor, Limit
from app.api.responses import LISTING_ERRORS, NOT_FOUND_RESPONSE, JsonPage, ok
from app.core.envelope import Envelope, ErrorEnvelope, Page
from app.models import TaskStatus
from app.pipeline import service as task_service
from app.pipeline.schemas import (
    DateOrDateTime,
    TaskCreate,
    TaskDetailResponse,
    TaskItemResponse,
    TaskResponse,
    TaskStepResponse,
    VideoCostResponse,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])

_CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_RESPONSE,
    409: {"model": ErrorEnvelope, "description": "The channel is inactive (queue=true)"},
}


@router.post("", status_code=201, responses=_CREATE_ERRORS)
async def create_task(
    body: TaskCreate, session: SessionDep, actor: AuthDep
) -> Envelope[TaskResponse]:
    """Create a video task: queued for production, or a draft with `queue: false`.

    A `plan` given here is validated (422 naming the scene and field when it breaks a rule) and
    used as is instead of running the planner.
    """
    task = await task_service.create_task(session, data=body, actor=actor)
    return ok(TaskResponse.model_validate(task))


_TASK_PAGE = JsonPage(Envelope[Page[TaskResponse]])


@router.get("", responses=LISTING_ERRORS, response_model=_TASK_PAGE.response_model)
async def list_tasks(
    session: SessionDep,
    status: Annotated[
        list[TaskStatus] | None, Query(description="Repeat to match any of several statuses.")
    ] = None,
    channel_id: ChannelRef = None,
    date_from: Annotated[
        DateOrDateTime | None,
        Query(description="Created at or after (a date means its start, UTC)."),
    ] = None,
    date_to: Annotated[
        DateOrDateTime | None,
        Query(description="Created at or before (a date means its end, UTC)."),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Tasks newest first. Pass `pagination.next_cursor` back as `cursor` for the next page."""
    result = await task_service.list_tasks(
        session,
        statuses=status or (),
        channel_ref=channel_id,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )
    items = [row._mapping for row in result.rows]
    return _TASK_PAGE.response(items, next_cursor=result.next_cursor, limit=limit)


@router.get("/{task_id}", responses=NOT_FOUND_RESPONSE)
async def get_task(task_id: uuid.UUID, session: SessionDep) -> Envelope[TaskDetailResponse]:
    """One task with its plan, steps, items, cost ledger and totals."""
    detail = await task_service.get_task_detail(session, task_id=task_id)
    summary = TaskResponse.model_validate(detail.task).model_dump()
    return ok(
        TaskDetailResponse(
            **summary,
            plan=detail.task.plan,
            steps=[TaskStepResponse.model_validate(step) for step in detail.steps],
            items=[TaskItemResponse.model_validate(item) for item in detail.items],
            costs=[VideoCostResponse.model_validate(cost) for cost in detail.costs],
            totals=detail.totals,
        )
    )
