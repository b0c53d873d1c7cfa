"""Dashboard form actions: approve, reject (with per-scene redo), retry, cancel.

Each one is a plain form POST (works without JavaScript), CSRF-checked, and calls the same
service the API calls, in its own committed transaction, before redirecting: after a review the
next task waiting opens, so a reviewer can work through the queue.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

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


async def _review_error(
    request: Request, viewer: Viewer, task_id: uuid.UUID, form: Form, message: str, status: int
) -> Response:
    async with session_scope() as session:
        view = await build_review(session, task_id=task_id, store=get_artifact_store(request))
    return render(
        request,
        "review.html",
        {"view": view, "error": message, "form": form, "page": "review"},
        viewer=viewer,
        status_code=status,
    )


async def _after_review(task_id: uuid.UUID, notice: str) -> RedirectResponse:
    async with session_scope() as session:
        following = await next_waiting(session, task_id)
    target = f"{DASHBOARD}/review/{following}" if following else DASHBOARD
    return RedirectResponse(f"{target}?notice={notice}", status_code=303)


@router.post("/{task_id}/approve")
async def approve(request: Request, task_id: uuid.UUID) -> Response:
    viewer, form = await authenticate_form(request)
    try:
        async with session_scope() as session:
            await review_service.approve(
                session, task_id=task_id, actor=viewer.actor, notes=first(form, "notes") or None
            )
    except AppError as exc:
        return await _review_error(request, viewer, task_id, form, exc.message, exc.status_code)
    return await _after_review(task_id, "approved")


@router.post("/{task_id}/reject")
async def reject(request: Request, task_id: uuid.UUID) -> Response:
    viewer, form = await authenticate_form(request)
    try:
        body = reject_request(form)
    except ValidationError as exc:
        message = _validation_message(exc)
        return await _review_error(request, viewer, task_id, form, message, 422)
    try:
        async with session_scope() as session:
            await review_service.reject(session, task_id=task_id, actor=viewer.actor, request=body)
    except AppError as exc:
        return await _review_error(request, viewer, task_id, form, exc.message, exc.status_code)
    return await _after_review(task_id, "rejected")


async def _task_error(
    request: Request, viewer: Viewer, task_id: uuid.UUID, message: str, status: int
) -> Response:
    async with session_scope() as session:
        view = await build_task_page(session, task_id=task_id)
    return render(
        request,
        "task.html",
        {"view": view, "error": message, "page": "board"},
        viewer=viewer,
        status_code=status,
    )


@router.post("/{task_id}/retry")
async def retry(request: Request, task_id: uuid.UUID) -> Response:
    viewer, form = await authenticate_form(request)
    try:
        async with session_scope() as session:
            await task_control.retry(
                session, task_id=task_id, actor=viewer.actor, notes=first(form, "notes") or None
            )
    except AppError as exc:
        return await _task_error(request, viewer, task_id, exc.message, exc.status_code)
    return RedirectResponse(f"{DASHBOARD}/tasks/{task_id}?notice=retried", status_code=303)


@router.post("/{task_id}/cancel")
async def cancel(request: Request, task_id: uuid.UUID) -> Response:
    viewer, form = await authenticate_form(request)
    try:
        async with session_scope() as session:
            await task_control.cancel(
                session, task_id=task_id, actor=viewer.actor, reason=first(form, "reason") or None
            )
    except AppError as exc:
        return await _task_error(request, viewer, task_id, exc.message, exc.status_code)
    return RedirectResponse(f"{DASHBOARD}/tasks/{task_id}?notice=cancelled", status_code=303)
