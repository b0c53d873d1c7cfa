"""Task queries and creation for the API: filters, cursor pagination, the detail view."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import get_channel
from app.core import keyset
from app.core.errors import ConflictError, NotFoundError
from app.core.time import utc_now
from app.models import (
    ItemStatus,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
    TaskStep,
    VideoCost,
)
from app.ops.audit import record_audit
from app.pipeline.queue import notify_dispatcher
from app.pipeline.schemas import TaskCreate, TaskResponse, TaskTotals

PLAN_SOURCE_API = "api"


# What a list shows of a task (``TaskResponse``'s fields): selected as columns, never as ORM
# objects, so a page is built and serialised straight from the rows.
LIST_COLUMNS = tuple(getattr(Task, name) for name in TaskResponse.model_fields)


class TaskSummary(Protocol):
    """A listed task: a row of ``LIST_COLUMNS`` (a whole ``Task`` fits too)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def channel_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> TaskStatus: ...
    @property
    def step(self) -> PipelineStep: ...
    @property
    def status_reason(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def youtube_url(self) -> str | None: ...
    @property
    def total_cost_usd(self) -> Decimal: ...
    @property
    def queued_at(self) -> datetime | None: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


@dataclass(frozen=True)
class TaskPage:
    rows: list[Row[Any]]  # of LIST_COLUMNS
    next_cursor: str | None

    @property
    def items(self) -> list[TaskSummary]:
        return cast(list[TaskSummary], self.rows)


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    steps: list[TaskStep]
    items: list[TaskItem]
    costs: list[VideoCost]
    totals: TaskTotals


async def create_task(session: AsyncSession, *, data: TaskCreate, actor: str) -> Task:
    """Create a task (queued, or a draft with ``queue=False``) and audit it in the same transaction.

    A hand-written plan is stored as given and marked ``plan_source='api'`` so the plan step uses it
    instead of planning again.
    """
    channel_ref = data.channel_id if data.channel_id is not None else data.channel_slug
    assert channel_ref is not None  # TaskCreate requires exactly one of them
    channel = await get_channel(session, channel_ref=channel_ref)
    if data.queue and not channel.active:
        raise ConflictError(
            f"channel '{channel.slug}' is inactive: create the task with queue=false (a draft) "
            "or activate the channel",
            code="CHANNEL_INACTIVE",
            details={"channel": channel.slug},
        )
    now = utc_now()
    task = Task(
        channel_id=channel.id,
        status=TaskStatus.QUEUED if data.queue else TaskStatus.DRAFT,
        step=PipelineStep.PLAN,
        priority=data.priority,
        title=data.title,
        topic=data.topic,
        story_direction=data.story_direction,
        plan=data.plan.model_dump(mode="json") if data.plan is not None else None,
        plan_source=PLAN_SOURCE_API if data.plan is not None else None,
        queued_at=now if data.queue else None,
    )
    session.add(task)
    await session.flush()
    record_audit(
        session,
        actor=actor,
        action="task.created",
        entity_type="task",
        entity_id=str(task.id),
        task_id=task.id,
        channel_id=channel.id,
        details={
            "status": str(task.status),
            "has_plan": data.plan is not None,
            "title": task.title,
        },
    )
    if task.status == TaskStatus.QUEUED:
        await notify_dispatcher(session, "task.queued")
    return task


def encode_cursor(task: Task) -> str:
    return keyset.encode_cursor(task.created_at, task.id)


async def list_tasks(
    session: AsyncSession,
    *,
    statuses: Sequence[TaskStatus] = (),
    channel_ref: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    cursor: str | None = None,
    limit: int = keyset.DEFAULT_PAGE_SIZE,
) -> TaskPage:
    """Newest first, keyset-paginated on (created_at, id): stable while new tasks arrive."""
    keyset.check_limit(limit, keyset.MAX_PAGE_SIZE)
    query = select(*LIST_COLUMNS)
    if statuses:
        query = query.where(Task.status.in_(list(statuses)))
    if channel_ref is not None:
        channel = await get_channel(session, channel_ref=channel_ref)
        query = query.where(Task.channel_id == channel.id)
    query = query.where(*keyset.created_within(Task.created_at, date_from, date_to))
    rows, next_cursor = await keyset.newest_first_rows(
        session, query, (Task.created_at, Task.id), cursor=cursor, limit=limit
    )
    return TaskPage(rows=rows, next_cursor=next_cursor)


async def get_task(session: AsyncSession, *, task_id: uuid.UUID) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFoundError(
            f"no task {task_id}", code="TASK_NOT_FOUND", details={"task_id": str(task_id)}
        )
    return task


async def get_task_detail(session: AsyncSession, *, task_id: uuid.UUID) -> TaskDetail:
    """The task with its steps (pipeline order), items, cost ledger rows and totals."""
    task = await get_task(session, task_id=task_id)
    steps = (
        await session.scalars(
            select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.step)
        )
    ).all()
    items = (
        await session.scalars(
            select(TaskItem)
            .where(TaskItem.task_id == task_id)
            .order_by(TaskItem.step, TaskItem.scene_number.nulls_first(), TaskItem.item_key)
        )
    ).all()
    costs = (
        await session.scalars(
            select(VideoCost)
            .where(VideoCost.task_id == task_id)
            .order_by(VideoCost.created_at, VideoCost.id)
        )
    ).all()
    return TaskDetail(
        task=task,
        steps=list(steps),
        items=list(items),
        costs=list(costs),
        totals=_totals(list(costs), list(items)),
    )


def _totals(costs: list[VideoCost], items: list[TaskItem]) -> TaskTotals:
    by_step: dict[str, Decimal] = {}
    by_service: dict[str, Decimal] = {}
    for cost in costs:
        by_step[str(cost.step)] = by_step.get(str(cost.step), Decimal(0)) + cost.cost_usd
        by_service[cost.service] = by_service.get(cost.service, Decimal(0)) + cost.cost_usd
    return TaskTotals(
        cost_usd=sum((cost.cost_usd for cost in costs), Decimal(0)),
        cost_by_step=by_step,
        cost_by_service=by_service,
        paid_calls=len(costs),
        items_total=len(items),
        items_completed=sum(1 for item in items if item.status == ItemStatus.COMPLETED),
    )
