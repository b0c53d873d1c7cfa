"""The dashboard board: tasks as cards, in status columns, one lane per channel.

The task list itself is ``task_service.list_tasks`` (same filters as the API); this module only
adds what a card shows beyond the task row: progress of the current step, how long the task has
been in its state, and the channel's name. Two grouped queries, whatever the number of cards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import service as channel_service
from app.core.keyset import MAX_PAGE_SIZE
from app.core.time import utc_now
from app.models import (
    AuditLog,
    Channel,
    ItemStatus,
    PipelineStep,
    TaskItem,
    TaskStatus,
    TaskStep,
)
from app.pipeline import service as task_service
from app.pipeline.service import TaskSummary
from app.pipeline.state import notion_label
from app.review.queue import WAITING_ACTIONS

BOARD_LIMIT = MAX_PAGE_SIZE

# Column key -> (heading, statuses shown in it), left to right as work flows.
COLUMNS: tuple[tuple[str, str, tuple[TaskStatus, ...]], ...] = (
    ("queued", "Queued", (TaskStatus.DRAFT, TaskStatus.QUEUED)),
    ("running", "Running", (TaskStatus.RUNNING,)),
    ("review", "Needs review", (TaskStatus.AWAITING_REVIEW,)),
    ("failed", "Failed", (TaskStatus.FAILED,)),
    ("done", "Done", (TaskStatus.PUBLISHED, TaskStatus.CANCELLED)),
)

STEP_LABELS: dict[PipelineStep, str] = {
    PipelineStep.PLAN: "Plan",
    PipelineStep.ASSETS: "Assets",
    PipelineStep.COMPOSITES: "Composites",
    PipelineStep.VIDEOS: "Videos",
    PipelineStep.NARRATION: "Narration",
    PipelineStep.SOUND_EFFECTS: "Sound effects",
    PipelineStep.ASSEMBLY: "Assembly",
    PipelineStep.UPLOAD: "Upload",
}


@dataclass(frozen=True)
class BoardFilters:
    channel: str | None = None
    status: TaskStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class Card:
    task_id: uuid.UUID
    title: str
    channel_slug: str
    status: TaskStatus
    step: PipelineStep
    step_label: str
    label: str  # the Notion-style status label ("Video Ready")
    done: int
    total: int
    cost_usd: Decimal
    since: datetime
    error: str | None
    reason: str | None
    youtube_url: str | None

    @property
    def progress(self) -> str:
        """``Videos 7/16``, or just the step before its items exist."""
        return f"{self.step_label} {self.done}/{self.total}" if self.total else self.step_label


@dataclass
class Column:
    key: str
    title: str
    cards: list[Card] = field(default_factory=list)


@dataclass
class Lane:
    slug: str
    name: str
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(len(column.cards) for column in self.columns)


@dataclass(frozen=True)
class Board:
    lanes: list[Lane]
    total: int
    truncated: bool
    generated_at: datetime


def step_label(step: PipelineStep) -> str:
    return STEP_LABELS[step]


async def _progress(
    session: AsyncSession, tasks: Sequence[TaskSummary]
) -> dict[tuple[uuid.UUID, PipelineStep], tuple[int, int]]:
    rows = await session.execute(
        select(
            TaskItem.task_id,
            TaskItem.step,
            func.count(),
            func.count().filter(TaskItem.status == ItemStatus.COMPLETED),
        )
        .where(TaskItem.task_id.in_([t.id for t in tasks]))
        .group_by(TaskItem.task_id, TaskItem.step)
    )
    return {(r[0], r[1]): (int(r[3]), int(r[2])) for r in rows}


async def _since(session: AsyncSession, tasks: Sequence[TaskSummary]) -> dict[uuid.UUID, datetime]:
    """When each task entered its current state (see ``state_since``)."""
    ids = [t.id for t in tasks]
    started = await session.execute(
        select(TaskStep.task_id, TaskStep.step, TaskStep.started_at).where(
            TaskStep.task_id.in_(ids)
        )
    )
    step_started = {(r[0], r[1]): r[2] for r in started}
    waited = await session.execute(
        select(AuditLog.task_id, func.max(AuditLog.created_at))
        .where(AuditLog.task_id.in_(ids), AuditLog.action.in_(WAITING_ACTIONS))
        .group_by(AuditLog.task_id)
    )
    waiting = {r[0]: r[1] for r in waited}
    return {
        t.id: state_since(t, step_started.get((t.id, t.step)), waiting.get(t.id)) for t in tasks
    }


def state_since(
    task: TaskSummary, step_started: datetime | None, waiting: datetime | None
) -> datetime:
    """Running: since its step started; waiting: since it reached the gate (the audit row
    the queue uses too); queued: since queued; finished: since it finished."""
    candidates: dict[TaskStatus, datetime | None] = {
        TaskStatus.RUNNING: step_started,
        TaskStatus.AWAITING_REVIEW: waiting,
        TaskStatus.QUEUED: task.queued_at,
        TaskStatus.DRAFT: task.created_at,
    }
    return candidates.get(task.status) or task.completed_at or task.updated_at


def _column_key(status: TaskStatus) -> str:
    return next(key for key, _, statuses in COLUMNS if status in statuses)


async def build_board(session: AsyncSession, filters: BoardFilters) -> Board:
    """Newest tasks first (at most ``BOARD_LIMIT``), grouped by channel, then status column."""
    page = await task_service.list_tasks(
        session,
        statuses=(filters.status,) if filters.status else (),
        channel_ref=filters.channel,
        date_from=filters.date_from,
        date_to=filters.date_to,
        limit=BOARD_LIMIT,
    )
    channels: list[Channel] = await channel_service.list_channels(session)
    if filters.channel:
        wanted = await channel_service.get_channel(session, channel_ref=filters.channel)
        channels = [c for c in channels if c.id == wanted.id]
    tasks = page.items
    progress = await _progress(session, tasks) if tasks else {}
    since = await _since(session, tasks) if tasks else {}
    lanes = {
        channel.id: Lane(
            slug=channel.slug,
            name=channel.name,
            columns=[Column(key=key, title=title) for key, title, _ in COLUMNS],
        )
        for channel in channels
    }
    for task in tasks:
        lane = lanes.get(task.channel_id)
        if lane is None:
            continue
        done, total = progress.get((task.id, task.step), (0, 0))
        card = Card(
            task_id=task.id,
            title=task.title,
            channel_slug=lane.slug,
            status=task.status,
            step=task.step,
            step_label=step_label(task.step),
            label=notion_label(task.status, task.step),
            done=done,
            total=total,
            cost_usd=task.total_cost_usd or Decimal(0),
            since=since.get(task.id, task.updated_at),
            error=_error(task),
            reason=task.status_reason,
            youtube_url=task.youtube_url,
        )
        column = next(c for c in lane.columns if c.key == _column_key(task.status))
        column.cards.append(card)
    shown = [lane for lane in lanes.values() if lane.count or not filters.status]
    return Board(
        lanes=shown,
        total=len(tasks),
        truncated=page.next_cursor is not None,
        generated_at=utc_now(),
    )


def _error(task: TaskSummary) -> str | None:
    if task.status != TaskStatus.FAILED and not task.error_message:
        return None
    parts = [p for p in (task.error_code, task.error_message) if p]
    return ": ".join(parts) or "failed"
