"""Actions on one task: queue a draft, approve or reject the gate it waits at, retry after a
failure, cancel."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from app.api.deps import AuthDep, SessionDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.core.envelope import Envelope, ErrorEnvelope
from app.pipeline import control as task_control
from app.pipeline.schemas import TaskResponse
from app.review import service as review_service
from app.review.schemas import ApproveRequest, CancelRequest, RejectRequest, RetryRequest

router = APIRouter(prefix="/tasks", tags=["reviews"])


def _conflict(description: str) -> dict[int | str, dict[str, Any]]:
    return {**NOT_FOUND_RESPONSE, 409: {"model": ErrorEnvelope, "description": description}}


@router.post("/{task_id}/approve", responses=_conflict("Not waiting for review"))
async def approve_task(
    task_id: uuid.UUID, session: SessionDep, actor: AuthDep, body: ApproveRequest | None = None
) -> Envelope[TaskResponse]:
    """Approve what the task waits for: at a gate the pipeline continues with the next step; at
    a budget stop the held step starts, spending over the budget (recorded as an override)."""
    task = await review_service.approve(
        session, task_id=task_id, actor=actor, notes=body.notes if body else None
    )
    return ok(TaskResponse.model_validate(task))


@router.post(
    "/{task_id}/reject",
    responses={
        **_conflict("Not at a review gate (or held by its budget: approve or cancel)"),
        422: {
            "model": ErrorEnvelope,
            "description": "Names scenes or assets the plan lacks, or makes the plan invalid",
        },
    },
)
async def reject_task(
    task_id: uuid.UUID, body: RejectRequest, session: SessionDep, actor: AuthDep
) -> Envelope[TaskResponse]:
    """Reject the gate the task waits at, regenerating only what is named and what depends on it.

    `scenes` (with `step`, default the gate's step) and `assets` name items to redo;
    `scene_replacements` and `asset_replacements` also change the plan (a new motion prompt
    redoes the clip, new narration the voice track, a new sfx prompt the effect, a new asset
    prompt the asset). Everything built from a redone item is redone too (asset → composites →
    clips → segments → final cut); the rest is kept. Naming nothing redoes the whole gate step.
    At the plan gate the planner writes a new plan with the notes (a hand-written plan is kept
    unless replacements are given).
    """
    task = await review_service.reject(session, task_id=task_id, actor=actor, request=body)
    return ok(TaskResponse.model_validate(task))


@router.post("/{task_id}/queue", responses=_conflict("Neither a draft nor cancelled"))
async def queue_task(
    task_id: uuid.UUID, session: SessionDep, actor: AuthDep
) -> Envelope[TaskResponse]:
    """Start a draft (for example after uploading its scenes' media), or a cancelled task again."""
    task = await task_control.queue(session, task_id=task_id, actor=actor)
    return ok(TaskResponse.model_validate(task))


@router.post("/{task_id}/retry", responses=_conflict("The task has not failed"))
async def retry_task(
    task_id: uuid.UUID, session: SessionDep, actor: AuthDep, body: RetryRequest | None = None
) -> Envelope[TaskResponse]:
    """Queue a failed task again: it resumes at its failed step; finished items are kept."""
    task = await task_control.retry(
        session, task_id=task_id, actor=actor, notes=body.notes if body else None
    )
    return ok(TaskResponse.model_validate(task))


@router.post(
    "/{task_id}/cancel",
    responses=_conflict("Published, or in the middle of its YouTube upload"),
)
async def cancel_task(
    task_id: uuid.UUID, session: SessionDep, actor: AuthDep, body: CancelRequest | None = None
) -> Envelope[TaskResponse]:
    """Cancel the task at the next item boundary: running items finish their current script,
    nothing new starts. Refused (409) while the YouTube upload runs, never cut mid-upload."""
    task = await task_control.cancel(
        session, task_id=task_id, actor=actor, reason=body.reason if body else None
    )
    return ok(TaskResponse.model_validate(task))
