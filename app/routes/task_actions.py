"""Actions on one task: approve the review gate it waits at."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.routes.deps import AuthDep, SessionDep
from app.routes.responses import NOT_FOUND_RESPONSE, ok
from app.schemas.envelope import Envelope, ErrorEnvelope
from app.schemas.task import TaskResponse
from app.services import review_service

router = APIRouter(prefix="/tasks", tags=["reviews"])


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=5000)


@router.post(
    "/{task_id}/approve",
    responses={
        **NOT_FOUND_RESPONSE,
        409: {"model": ErrorEnvelope, "description": "Not waiting for review"},
    },
)
async def approve_task(
    task_id: uuid.UUID, session: SessionDep, actor: AuthDep, body: ApproveRequest | None = None
) -> Envelope[TaskResponse]:
    """Approve the gate the task waits at; the pipeline continues with the next step."""
    task = await review_service.approve(
        session, task_id=task_id, actor=actor, notes=body.notes if body else None
    )
    return ok(TaskResponse.model_validate(task))
