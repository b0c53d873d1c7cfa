"""Acting on tasks waiting for review: approve, reject, and both in bulk.

The API, the dashboard and Notion all call these. Each action locks the task row, checks it still
waits for review, and records the review (who, gate, decision, notes) and its audit row in the
same transaction as the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError, ConflictError, NotFoundError
from app.models import Task, TaskStatus
from app.pipeline.orchestrator import approve_gate
from app.review.rejection import Rejection, apply_rejection, prepare_rejection
from app.review.schemas import BulkReviewEntry, BulkReviewResult, RejectRequest


async def _locked_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    task = (
        await session.execute(select(Task).where(Task.id == task_id).with_for_update())
    ).scalar_one_or_none()
    if task is None:
        raise NotFoundError(
            f"task {task_id} not found", code="TASK_NOT_FOUND", details={"task_id": str(task_id)}
        )
    return task


def _ensure_waiting(task: Task) -> None:
    if task.status != TaskStatus.AWAITING_REVIEW:
        raise ConflictError(
            f"task {task.id} is {task.status.value} at step {task.step.value}, not waiting for "
            "review: only a task in awaiting_review can be approved",
            code="NOT_AWAITING_REVIEW",
            details={"status": task.status.value, "step": task.step.value},
        )


async def approve(
    session: AsyncSession, *, task_id: uuid.UUID, actor: str, notes: str | None
) -> Task:
    """Approve what the task waits for (a gate, or a budget overspend); 409 when it waits for
    nothing."""
    task = await _locked_task(session, task_id)
    _ensure_waiting(task)
    await approve_gate(session, task, actor=actor, notes=notes)
    return task


async def reject(
    session: AsyncSession, *, task_id: uuid.UUID, actor: str, request: RejectRequest
) -> Task:
    """Reject the gate the task waits at: regenerate what the request names (see ``rejection``)."""
    task = await _locked_task(session, task_id)
    rejection = await prepare_rejection(session, task, request)
    await apply_rejection(session, rejection, actor=actor)
    return task


class BulkReviewInvalidError(AppError):
    """One or more entries cannot be applied; nothing was changed. ``details.errors`` lists them."""

    code = "BULK_REVIEW_INVALID"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        conflict = any(error["status"] == 409 for error in errors)
        named = "; ".join(f"task {e['task_id']}: {e['message']}" for e in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        super().__init__(
            f"{len(errors)} of the reviews cannot be applied, so none was: {named}{more}",
            status_code=409 if conflict else 422,
            details={"errors": errors},
        )


async def bulk_review(
    session: AsyncSession, *, entries: Sequence[BulkReviewEntry], actor: str
) -> list[BulkReviewResult]:
    """All or nothing: every entry is validated (task exists, waits for review, the redo fits its
    plan) before any is applied; one result per entry, in order."""
    ids = sorted({entry.task_id for entry in entries})
    locked = await session.scalars(
        select(Task).where(Task.id.in_(ids)).order_by(Task.id).with_for_update()
    )
    tasks = {task.id: task for task in locked}
    errors: list[dict[str, Any]] = []
    planned: list[tuple[BulkReviewEntry, Task, Rejection | None]] = []
    for entry in entries:
        task = tasks.get(entry.task_id)
        try:
            if task is None:
                raise NotFoundError(f"task {entry.task_id} not found", code="TASK_NOT_FOUND")
            if entry.decision == "approve":
                _ensure_waiting(task)
                planned.append((entry, task, None))
            else:
                rejection = await prepare_rejection(session, task, entry.as_reject())
                planned.append((entry, task, rejection))
        except AppError as exc:
            errors.append(
                {
                    "task_id": str(entry.task_id),
                    "status": exc.status_code,
                    "code": exc.code,
                    "message": exc.message,
                }
            )
    if errors:
        raise BulkReviewInvalidError(errors)
    results: list[BulkReviewResult] = []
    for entry, task, maybe_rejection in planned:
        if maybe_rejection is None:
            await approve_gate(session, task, actor=actor, notes=entry.notes)
        else:
            await apply_rejection(session, maybe_rejection, actor=actor)
        results.append(
            BulkReviewResult(
                task_id=task.id,
                decision=entry.decision,
                status=task.status,
                step=task.step,
                status_reason=task.status_reason,
            )
        )
    return results
