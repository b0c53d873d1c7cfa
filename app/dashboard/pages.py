"""Dashboard pages: the board (and its live fragment), review, task detail, channels, performance.

Routes only read the query, call the view-model services and render; no queries here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.api.deps import get_app_settings, get_artifact_store
from app.channels.service import list_channels
from app.core.database import session_scope
from app.core.errors import BadRequestError
from app.core.time import utc_now
from app.dashboard.board import COLUMNS, BoardFilters, build_board
from app.dashboard.common import DASHBOARD, authenticate, render
from app.dashboard.detail import build_channels, build_task_page
from app.dashboard.performance import build_performance
from app.dashboard.review import build_review
from app.models import TaskStatus
from app.notion.problems import board_problems
from app.review.queue import list_waiting
from app.spend.performance import PerformanceSort

router = APIRouter(prefix=DASHBOARD, include_in_schema=False)

NOTICES = {
    "approved": "Approved. It moves on to its next step.",
    "rejected": "Rejected. The items you named are being made again.",
    "retried": "Queued again: it resumes at its failed step.",
    "cancelled": "Cancelled.",
    "queue-empty": "Nothing else is waiting for review.",
}


FilterQuery = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class _BoardQuery:
    """The board's filter fields as given, for the page and the fragment it polls alike."""

    channel: str | None
    status: str | None
    date_from: str | None
    date_to: str | None

    def filters(self) -> BoardFilters:
        """Form values as filters; an empty field means "any". Called after authentication, so a
        stranger is turned away before a bad filter is reported."""
        try:
            return BoardFilters(
                channel=self.channel or None,
                status=TaskStatus(self.status) if self.status else None,
                date_from=date.fromisoformat(self.date_from) if self.date_from else None,
                date_to=date.fromisoformat(self.date_to) if self.date_to else None,
            )
        except ValueError as exc:
            raise BadRequestError(f"bad filter: {exc}", code="INVALID_FILTER") from None


def _board_query(
    channel: FilterQuery = None,
    status: FilterQuery = None,
    date_from: FilterQuery = None,
    date_to: FilterQuery = None,
) -> _BoardQuery:
    return _BoardQuery(channel, status, date_from, date_to)


BoardQuery = Annotated[_BoardQuery, Depends(_board_query)]


@router.get("", response_class=HTMLResponse)
async def board_page(
    request: Request, query: BoardQuery, notice: FilterQuery = None
) -> HTMLResponse:
    viewer = authenticate(request)
    filters = query.filters()
    async with session_scope() as session:
        board = await build_board(session, filters)
        channels = await list_channels(session)
    return render(
        request,
        "board.html",
        {
            "board": board,
            "filters": filters,
            "channels": channels,
            "statuses": [s.value for s in TaskStatus],
            "columns": COLUMNS,
            "notice": NOTICES.get(notice or ""),
            "page": "board",
        },
        viewer=viewer,
    )


@router.get("/board/cards", response_class=HTMLResponse)
async def board_fragment(request: Request, query: BoardQuery) -> HTMLResponse:
    """The board's lanes alone: what the page's script polls to update without reloading."""
    viewer = authenticate(request)
    async with session_scope() as session:
        board = await build_board(session, query.filters())
    return render(request, "_board_lanes.html", {"board": board}, viewer=viewer)


@router.get("/review", response_class=HTMLResponse)
async def review_queue_head(request: Request) -> RedirectResponse:
    """Open the longest-waiting task, or the board when nothing waits."""
    authenticate(request)
    async with session_scope() as session:
        page = await list_waiting(session, limit=1)
    if page.entries:
        return RedirectResponse(f"{DASHBOARD}/review/{page.entries[0].task_id}", status_code=303)
    return RedirectResponse(f"{DASHBOARD}?notice=queue-empty", status_code=303)


@router.get("/review/{task_id}", response_class=HTMLResponse)
async def review_page(
    request: Request, task_id: uuid.UUID, notice: FilterQuery = None
) -> HTMLResponse:
    viewer = authenticate(request)
    async with session_scope() as session:
        view = await build_review(session, task_id=task_id, store=get_artifact_store(request))
    return render(
        request,
        "review.html",
        {"view": view, "notice": NOTICES.get(notice or ""), "form": {}, "page": "review"},
        viewer=viewer,
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(
    request: Request, task_id: uuid.UUID, notice: FilterQuery = None
) -> HTMLResponse:
    viewer = authenticate(request)
    async with session_scope() as session:
        view = await build_task_page(session, task_id=task_id)
    return render(
        request,
        "task.html",
        {"view": view, "notice": NOTICES.get(notice or ""), "page": "board"},
        viewer=viewer,
    )


@router.get("/channels", response_class=HTMLResponse)
async def channels_page(request: Request) -> HTMLResponse:
    viewer = authenticate(request)
    async with session_scope() as session:
        views, resets_at = await build_channels(session, get_app_settings(request))
        boards = await board_problems(session)
    return render(
        request,
        "channels.html",
        {"channels": views, "resets_at": resets_at, "boards": boards, "page": "channels"},
        viewer=viewer,
    )


@router.get("/performance", response_class=HTMLResponse)
async def performance_page(
    request: Request,
    channel: FilterQuery = None,
    sort: PerformanceSort = PerformanceSort.PUBLISHED,
    descending: bool = True,
) -> HTMLResponse:
    """One channel's published videos, their views over time and what each view cost."""
    viewer = authenticate(request)
    async with session_scope() as session:
        view = await build_performance(
            session, channel_ref=channel, now=utc_now(), sort=sort, descending=descending
        )
    return render(request, "performance.html", {"view": view, "page": "performance"}, viewer=viewer)
