"""What a Status label set on the board does to its task: queue, approve, reject, cancel, retry.

One place maps labels to actions. Approve, reject, cancel and retry go through the same services
as the API (``review_service``, ``task_control``), so a rejection on the board regenerates only
the scenes named in "Redo Scenes" (with what depends on them). A refused action raises
``ActionRefusedError`` whose message is written to the row's Error column.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError
from app.core.time import utc_now
from app.models import Channel, Task, TaskStatus
from app.notion.board import APPROVE, CANCEL, DRAFT, QUEUED, REJECT, RETRY
from app.ops.audit import record_audit
from app.pipeline import control as task_control
from app.pipeline.queue import notify_dispatcher
from app.pipeline.state import ensure_transition, notion_label
from app.review import service as review_service
from app.review.rejection import RedoInvalidError
from app.review.schemas import RejectRequest

NOTION_ACTOR = "notion"


class ActionRefusedError(Exception):
    """The label asks for something the task's state does not allow; says what would work."""


def _audit(session: AsyncSession, task: Task, action: str, **details: object) -> None:
    record_audit(
        session,
        actor=NOTION_ACTOR,
        action=action,
        entity_type="task",
        entity_id=str(task.id),
        task_id=task.id,
        channel_id=task.channel_id,
        details={"source": "notion", **details},
    )


def _shown(task: Task) -> str:
    return f"'{notion_label(task.status, task.step)}'"


async def queue(session: AsyncSession, task: Task) -> bool:
    if task.status == TaskStatus.QUEUED:
        return False
    if task.status not in (TaskStatus.DRAFT, TaskStatus.CANCELLED):
        raise ActionRefusedError(
            f"Queued starts a draft or cancelled video; this one is {_shown(task)}"
            + (" (use Retry)" if task.status == TaskStatus.FAILED else "")
        )
    channel = await session.get(Channel, task.channel_id)
    if channel is None or not channel.active:
        raise ActionRefusedError(
            "this video's channel is inactive: activate it, then set Queued again"
        )
    ensure_transition(task.status, TaskStatus.QUEUED)
    task.status, task.status_reason, task.queued_at = TaskStatus.QUEUED, None, utc_now()
    _audit(session, task, "task.queued")
    await notify_dispatcher(session, "task.queued")
    return True


async def to_draft(session: AsyncSession, task: Task) -> bool:
    if task.status == TaskStatus.DRAFT:
        return False
    if task.status != TaskStatus.QUEUED:
        raise ActionRefusedError(
            f"Draft only takes back a queued video; this one is {_shown(task)}"
        )
    ensure_transition(task.status, TaskStatus.DRAFT)
    task.status, task.queued_at = TaskStatus.DRAFT, None
    _audit(session, task, "task.unqueued")
    return True


async def approve(session: AsyncSession, task: Task, *, notes: str | None) -> bool:
    try:
        await review_service.approve(session, task_id=task.id, actor=NOTION_ACTOR, notes=notes)
    except ConflictError:
        raise ActionRefusedError(
            f"Approve only works on a video waiting for review; this one is {_shown(task)}"
        ) from None
    return True


async def reject(
    session: AsyncSession, task: Task, *, notes: str | None, scenes: list[int]
) -> bool:
    try:
        request = RejectRequest(notes=notes or "rejected on the Notion board", scenes=scenes)
        await review_service.reject(session, task_id=task.id, actor=NOTION_ACTOR, request=request)
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]) for error in exc.errors())
        raise ActionRefusedError(f"Redo Scenes is not usable: {problems}") from None
    except RedoInvalidError as exc:
        raise ActionRefusedError(f"Redo Scenes: {exc.message}") from None
    except ConflictError as exc:
        if exc.code == "NOT_AWAITING_REVIEW":
            raise ActionRefusedError(
                f"Reject only works on a video waiting for review; this one is {_shown(task)}"
            ) from None
        raise ActionRefusedError(exc.message) from None
    return True


async def cancel(session: AsyncSession, task: Task) -> bool:
    if task.status == TaskStatus.CANCELLED:
        return False
    try:
        await task_control.cancel(session, task_id=task.id, actor=NOTION_ACTOR)
    except ConflictError as exc:
        raise ActionRefusedError(exc.message) from None
    return True


async def retry(session: AsyncSession, task: Task) -> bool:
    if task.status != TaskStatus.FAILED:
        raise ActionRefusedError(
            f"Retry only restarts a video that failed; this one is {_shown(task)}"
        )
    await task_control.retry(session, task_id=task.id, actor=NOTION_ACTOR)
    return True


async def perform(
    session: AsyncSession,
    task: Task,
    label: str,
    *,
    notes: str | None = None,
    scenes: list[int] | None = None,
) -> bool:
    """Apply the action ``label`` asks for; True when the task changed."""
    if label == QUEUED:
        return await queue(session, task)
    if label == DRAFT:
        return await to_draft(session, task)
    if label == APPROVE:
        return await approve(session, task, notes=notes)
    if label == REJECT:
        return await reject(session, task, notes=notes, scenes=scenes or [])
    if label == CANCEL:
        return await cancel(session, task)
    if label == RETRY:
        return await retry(session, task)
    raise ValueError(f"{label!r} is not an action label")
