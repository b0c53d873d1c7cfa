"""Dashboard form actions: approve, reject (with per-scene redo), retry, cancel.

Each one is a plain form POST (works without JavaScript), CSRF-checked, and calls the same
service the API calls, in its own committed transaction, before redirecting: after a review the
next task waiting opens, so a reviewer can work through the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_artifact_store
from app.core.database import session_scope
from app.core.errors import AppError
from app.dashboard.common import DASHBOARD, Viewer, authenticate_form, first, render
from app.dashboard.detail import build_task_page
from app.dashboard.review import build_review, next_waiting
from app.pipeline import control as task_control
from app.review import service as review_service
from app.review.schemas import RejectRequest

router = APIRouter(prefix=f"{DASHBOARD}/tasks", include_in_schema=False)

Form = dict[str, list[str]]
REPLACEABLE = ("motion_prompt", "narration", "sfx_prompt")


def reject_request(form: Form) -> RejectRequest:
    """The rejection a review form describes. Ticked scenes are redone at the chosen step (the
    gate's by default); a non-empty new prompt or narration replaces the plan's text (and so
    redoes what it feeds). The step is only sent with scenes: a step alone would redo it all."""
    scenes = sorted({int(v) for v in form.get("scene", []) if v.strip().isdigit()})
    replacements: list[dict[str, Any]] = []
    numbers = sorted(
        {
            int(name.rsplit("_", 1)[1])
            for name in form
            if name.rsplit("_", 1)[0] in REPLACEABLE and name.rsplit("_", 1)[1].isdigit()
        }
    )
    for number in numbers:
        change = {
            field: first(form, f"{field}_{number}")
            for field in REPLACEABLE
            if first(form, f"{field}_{number}")
        }
        if change:
            replacements.append({"scene": number, **change})
    data: dict[str, Any] = {
        "notes": first(form, "notes"),
        "scenes": scenes,
        "assets": sorted({v.strip() for v in form.get("asset", []) if v.strip()}),
        "scene_replacements": replacements,
    }
    step = first(form, "redo_step")
    if scenes and step:
        data["step"] = step
    return RejectRequest.model_validate(data)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "form"
        if where == "notes":
            parts.append("Say what is wrong in the notes: a rejection needs them.")
        else:
            parts.append(f"{where}: {error['msg']}")
    return " ".join(parts)


ErrorPage = Callable[[Request, Viewer, uuid.UUID, Form, str, int], Awaitable[Response]]


def _error_page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    message: str,
    status: int,
) -> Response:
    """The page the action came from, again, with the service's refusal on it."""
    return render(
        request, template, {**context, "error": message}, viewer=viewer, status_code=status
    )


async def _review_error(
    request: Request, viewer: Viewer, task_id: uuid.UUID, form: Form, message: str, status: int
) -> Response:
    async with session_scope() as session:
        view = await build_review(session, task_id=task_id, store=get_artifact_store(request))
    context = {"view": view, "form": form, "page": "review"}
    return _error_page(request, viewer, "review.html", context, message, status)


async def _task_error(
    request: Request, viewer: Viewer, task_id: uuid.UUID, form: Form, message: str, status: int
) -> Response:
    async with session_scope() as session:
        view = await build_task_page(session, task_id=task_id)
    context = {"view": view, "page": "board"}
    return _error_page(request, viewer, "task.html", context, message, status)


async def _after_review(task_id: uuid.UUID, notice: str) -> RedirectResponse:
    async with session_scope() as session:
        following = await next_waiting(session, task_id)
    target = f"{DASHBOARD}/review/{following}" if following else DASHBOARD
    return RedirectResponse(f"{target}?notice={notice}", status_code=303)


async def _to_task(task_id: uuid.UUID, notice: str) -> Response:
    return RedirectResponse(f"{DASHBOARD}/tasks/{task_id}?notice={notice}", status_code=303)


Work = Callable[[AsyncSession], Awaitable[object]]
# Reads the form (a rejection may not validate) before any session opens; returns the service call.
Plan = Callable[[uuid.UUID, Viewer, Form], Work]


@dataclass(frozen=True)
class _Action:
    """One form action: the service call, the page its refusal re-renders, where success goes."""

    plan: Plan
    failed: ErrorPage
    done: Callable[[uuid.UUID, str], Awaitable[Response]]
    notice: str


def _noted(call: Callable[..., Awaitable[object]], field: str) -> Plan:
    """A service call that takes the acting person and one optional free-text field of the form."""
    return lambda task_id, viewer, form: partial(
        call, task_id=task_id, actor=viewer.actor, **{field: first(form, field) or None}
    )


def _rejection(task_id: uuid.UUID, viewer: Viewer, form: Form) -> Work:
    return partial(
        review_service.reject, task_id=task_id, actor=viewer.actor, request=reject_request(form)
    )


ACTIONS: dict[str, _Action] = {
    "approve": _Action(
        _noted(review_service.approve, "notes"), _review_error, _after_review, "approved"
    ),
    "reject": _Action(_rejection, _review_error, _after_review, "rejected"),
    "retry": _Action(_noted(task_control.retry, "notes"), _task_error, _to_task, "retried"),
    "cancel": _Action(_noted(task_control.cancel, "reason"), _task_error, _to_task, "cancelled"),
}


async def _act(request: Request, task_id: uuid.UUID, action: _Action) -> Response:
    """Run the action in its own committed transaction: a refusal re-renders, success redirects."""
    viewer, form = await authenticate_form(request)
    try:
        work = action.plan(task_id, viewer, form)
    except ValidationError as exc:
        message = _validation_message(exc)
        return await action.failed(request, viewer, task_id, form, message, 422)
    try:
        async with session_scope() as session:
            await work(session)
    except AppError as exc:
        return await action.failed(request, viewer, task_id, form, exc.message, exc.status_code)
    return await action.done(task_id, action.notice)


def _endpoint(action: _Action) -> Callable[[Request, uuid.UUID], Awaitable[Response]]:
    async def endpoint(request: Request, task_id: uuid.UUID) -> Response:
        return await _act(request, task_id, action)

    return endpoint


for _name, _action in ACTIONS.items():
    router.add_api_route(f"/{{task_id}}/{_name}", _endpoint(_action), methods=["POST"], name=_name)
