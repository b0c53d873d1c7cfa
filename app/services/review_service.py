"""Acting on a task waiting at a review gate (the API, the dashboard and Notion all call this)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConflictError, NotFoundError
from app.models import Task, TaskStatus
from app.services.task_orchestrator import approve_gate


async def _locked_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    task = (
        await session.execute(select(Task).where(Task.id == task_id).with_for_update())
    ).scalar_one_or_none()
    if task is None:
        raise NotFoundError(f"task {task_id} not found", code="TASK_NOT_FOUND")
    return task


async def approve(
    session: AsyncSession, *, task_id: uuid.UUID, actor: str, notes: str | None
) -> Task:
    """Approve the gate the task waits at; 409 when it is not waiting for review."""
    task = await _locked_task(session, task_id)
    if task.status != TaskStatus.AWAITING_REVIEW:
        raise ConflictError(
            f"task {task_id} is {task.status.value} at step {task.step.value}, not waiting for review: "
            "only a task in awaiting_review can be approved",
            code="NOT_AWAITING_REVIEW",
            details={"status": task.status.value, "step": task.step.value},
        )
    await approve_gate(session, task, actor=actor, notes=notes)
    return task
