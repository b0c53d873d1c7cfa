"""What a Status label set on the board does to its task: queue, approve, reject, cancel, retry.

One place maps labels to actions, so the review issue can swap the minimal reject/cancel/retry
here for its services. Approve already goes through ``review_service.approve``; the others make
the smallest correct state change through the transition table (reject records the review and
the reason; regenerating only the named scenes is the review service's job). A refused action
raises ``ActionRefusedError`` whose message is written to the row's Error column.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConflictError
from app.models import Channel, Review, ReviewDecision, Task, TaskStatus
from app.services import review_service
from app.services.audit import record_audit
from app.services.notion_board import APPROVE, CANCEL, DRAFT, QUEUED, REJECT, RETRY
from app.services.queue import notify_dispatcher
from app.services.task_state import ensure_transition, notion_label
from app.utils.time import utc_now

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


def _scene_count(task: Task) -> int:
    scenes = (task.plan or {}).get("scenes") or []
    return len(scenes) if isinstance(scenes, list) else 0


async def reject(
    session: AsyncSession, task: Task, *, notes: str | None, scenes: list[int]
) -> bool:
    if task.status != TaskStatus.AWAITING_REVIEW:
        raise ActionRefusedError(
            f"Reject only works on a video waiting for review; this one is {_shown(task)}"
        )
    count = _scene_count(task)
    unknown = [n for n in scenes if count and not 1 <= n <= count]
    if unknown:
        raise ActionRefusedError(
            f"Redo Scenes names scene(s) {', '.join(map(str, unknown))} but the plan has scenes 1-{count}"
        )
    gate = task.step
    session.add(
        Review(
            task_id=task.id,
            gate=gate,
            decision=ReviewDecision.REJECTED,
            notes=notes,
            redo={"scenes": scenes} if scenes else {},
            actor=NOTION_ACTOR,
        )
    )
    reason = f"rejected at the {gate.value} review: {notes or 'no notes given'}"
    if scenes:
        reason += f"; redo scenes {', '.join(map(str, scenes))}"
    task.status_reason = reason
    _audit(session, task, "review.rejected", gate=gate.value, scenes=scenes)
    return True


async def cancel(session: AsyncSession, task: Task) -> bool:
    if task.status == TaskStatus.CANCELLED:
        return False
    if task.status == TaskStatus.PUBLISHED:
        raise ActionRefusedError("a published video cannot be cancelled")
    ensure_transition(task.status, TaskStatus.CANCELLED)
    task.status, task.status_reason = TaskStatus.CANCELLED, "cancelled from Notion"
    task.completed_at = utc_now()
    _audit(session, task, "task.cancelled")
    await notify_dispatcher(session, "task.cancelled")
    return True


async def retry(session: AsyncSession, task: Task) -> bool:
    if task.status != TaskStatus.FAILED:
        raise ActionRefusedError(
            f"Retry only restarts a video that failed; this one is {_shown(task)}"
        )
    ensure_transition(task.status, TaskStatus.QUEUED)
    task.status, task.queued_at = TaskStatus.QUEUED, utc_now()
    task.error_code = task.error_message = task.status_reason = None
    _audit(session, task, "task.retried", step=task.step.value)
    await notify_dispatcher(session, "task.queued")
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
