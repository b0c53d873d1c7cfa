"""Items that must wait rather than fail: YouTube quota spent, a channel that needs re-auth.

A deferral is not a failed attempt: the item goes back to ``queued`` without using up one of its
starts, the task stays ``running`` with ``status_reason`` saying why and until when, and the
same PgQueuer job runs again after the delay (``RetryRequested``). So a channel can wait days
for its operator without ever failing or hammering Google.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import ItemStatus, TaskItem, TaskStatus
from app.pipeline.orchestrator import audit_item, lock_task

log = get_logger("item_deferral")


class ItemDeferredError(Exception):
    """Run this item again after ``delay``; ``reason`` is shown on the task."""

    def __init__(self, code: str, reason: str, *, delay: timedelta) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.delay = delay


async def record_deferral(
    *, item_id: uuid.UUID, task_id: uuid.UUID, deferral: ItemDeferredError
) -> None:
    """Put the item back in the queue (its start not counted) and say why on the task."""
    async with session_scope() as session:
        task = await lock_task(session, task_id)
        item = await session.get(TaskItem, item_id, with_for_update=True)
        if task is None or item is None:
            return
        item.status = ItemStatus.QUEUED
        item.attempts = max(item.attempts - 1, 0)
        item.lease_owner = item.lease_expires_at = None
        item.error_code, item.error_message = deferral.code, deferral.reason
        if task.status == TaskStatus.RUNNING and task.step == item.step:
            task.status_reason = deferral.reason
        audit_item(
            session,
            task,
            item,
            actor="worker",
            action="item.deferred",
            code=deferral.code,
            delay_s=deferral.delay.total_seconds(),
        )
    log.info(
        "item.deferred",
        code=deferral.code,
        delay_s=deferral.delay.total_seconds(),
        reason=deferral.reason,
    )
