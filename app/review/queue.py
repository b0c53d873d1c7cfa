"""What waits for a person: tasks at a review gate or held by a budget, oldest wait first.

"Since when" is the audit row written when the task reached the gate (``review.waiting``) or was
stopped by its budget (``budget.stopped``); a task put into review some other way (by hand, an
old row) falls back to its last update.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.artifacts.service import artifact_path
from app.channels.service import get_channel
from app.core import keyset
from app.models import (
    AuditLog,
    Channel,
    ItemStatus,
    PipelineStep,
    StepStatus,
    Task,
    TaskItem,
    TaskStatus,
    TaskStep,
)
from app.review.redo import step_index
from app.review.schemas import ReviewQueueEntry
from app.spend.budget import BUDGET_HOLD

WAITING_ACTIONS = ("review.waiting", "budget.stopped")
ARTIFACTS_PATH = "/api/v1/tasks/{task_id}/artifacts/{path}"
_ENTRIES = TypeAdapter(list[ReviewQueueEntry])
_STEP_INDEX = {step: step_index(step) for step in PipelineStep}
Link = dict[str, Any]  # an ArtifactLink's fields
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")  # what quote(path, safe="/") leaves as is


@dataclass(frozen=True)
class ReviewQueuePage:
    entries: list[ReviewQueueEntry]
    next_cursor: str | None


def artifact_url(task: Task, key: str) -> str:
    """The artifact's address on the artifacts route (``GET /tasks/{id}/artifacts/{path}``)."""
    path = artifact_path(task, key)
    # quote() is slow and a page has hundreds of links whose paths need no escaping
    safe = _URL_SAFE.fullmatch(path) is not None
    return ARTIFACTS_PATH.format(task_id=task.id, path=path if safe else quote(path, safe="/"))


def _waiting_since() -> ColumnElement[datetime]:
    reached = (
        select(func.max(AuditLog.created_at))
        .where(AuditLog.task_id == Task.id, AuditLog.action.in_(WAITING_ACTIONS))
        .correlate(Task)
        .scalar_subquery()
    )
    return func.coalesce(reached, Task.updated_at)


async def list_waiting(
    session: AsyncSession,
    *,
    channel_ref: str | None = None,
    cursor: str | None = None,
    limit: int = keyset.DEFAULT_PAGE_SIZE,
) -> ReviewQueuePage:
    keyset.check_limit(limit, keyset.MAX_PAGE_SIZE)
    since = _waiting_since()
    query = (
        select(Task, Channel.slug, since.label("since"))
        .options(defer(Task.plan, raiseload=True))  # a large JSON document no entry shows
        .join(Channel, Channel.id == Task.channel_id)
        .where(Task.status == TaskStatus.AWAITING_REVIEW)
        .order_by(since, Task.id)
        .limit(limit + 1)
    )
    if channel_ref is not None:
        channel = await get_channel(session, channel_ref=channel_ref)
        query = query.where(Task.channel_id == channel.id)
    if cursor:
        after_since, after_id = keyset.decode_cursor(cursor)
        query = query.where(tuple_(since, Task.id) > tuple_(after_since, after_id))
    rows = (await session.execute(query)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    tasks = [row[0] for row in rows]
    held = await _budget_held(session, tasks)
    artifacts = await _artifacts(session, tasks)
    entries = _ENTRIES.validate_python(
        [
            {
                "task_id": task.id,
                "title": task.title,
                "channel_id": task.channel_id,
                "channel_slug": slug,
                "priority": task.priority,
                "gate": task.step,
                "kind": "budget" if task.id in held else "review",
                "status_reason": task.status_reason,
                "waiting_since": waited,
                "artifacts": artifacts.get(task.id, []),
            }
            for task, slug, waited in rows
        ]
    )
    next_cursor = keyset.encode_cursor(rows[-1][2], tasks[-1].id) if has_more else None
    return ReviewQueuePage(entries=entries, next_cursor=next_cursor)


async def _budget_held(session: AsyncSession, tasks: list[Task]) -> set[uuid.UUID]:
    if not tasks:
        return set()
    rows = await session.execute(
        select(TaskStep.task_id, TaskStep.step).where(
            TaskStep.task_id.in_([t.id for t in tasks]),
            TaskStep.error_code == BUDGET_HOLD,
            TaskStep.status != StepStatus.COMPLETED,
        )
    )
    at_step = {task.id: task.step for task in tasks}
    return {row[0] for row in rows if at_step.get(row[0]) == row[1]}


async def _artifacts(session: AsyncSession, tasks: list[Task]) -> dict[uuid.UUID, list[Link]]:
    """Each task's links as plain dicts: a page holds some 1,500, validated in one pass with the
    entries (``_ENTRIES``) rather than one model call each."""
    if not tasks:
        return {}
    by_id = {task.id: task for task in tasks}
    # Only the columns a link needs: whole items would parse four JSON documents per item, for
    # some 30 items per task, on every page.
    items = await session.execute(
        select(
            TaskItem.task_id,
            TaskItem.step,
            TaskItem.item_key,
            TaskItem.scene_number,
            TaskItem.output_keys,
        ).where(TaskItem.task_id.in_(list(by_id)), TaskItem.status == ItemStatus.COMPLETED)
    )
    ordered = sorted(
        items,
        key=lambda i: (
            _STEP_INDEX[i.step],
            i.scene_number is None,
            i.scene_number or 0,
            i.item_key,
        ),
    )
    links: dict[uuid.UUID, list[Link]] = {}
    for task_id, step, item_key, scene_number, output_keys in ordered:
        task = by_id[task_id]
        task_links = links.setdefault(task_id, [])
        for name, key in sorted(output_keys.items()):
            if isinstance(key, str):
                task_links.append(
                    {
                        "step": step,
                        "item_key": item_key,
                        "scene_number": scene_number,
                        "name": name,
                        "key": key,
                        "url": artifact_url(task, key),
                    }
                )
    return links
