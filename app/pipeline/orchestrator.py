"""The 8-step pipeline's task-level moves: start a step, advance it, complete it, gate, fail.

Every function here runs inside the caller's (short) transaction with the task row locked, so
two items finishing at once agree on who completes the step. Running the items themselves is
``app.pipeline.jobs``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.service import alert_after_commit
from app.channels.sync import get_channel_config
from app.core.database import session_scope
from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import (
    Channel,
    ItemStatus,
    PipelineStep,
    Review,
    ReviewDecision,
    StepStatus,
    Task,
    TaskItem,
    TaskStatus,
    TaskStep,
)
from app.ops.audit import record_audit
from app.pipeline.items import ItemSpec, gates_for
from app.pipeline.outcome import ItemDeferredError
from app.pipeline.queue import ItemJob, enqueue_items, notify_dispatcher
from app.pipeline.state import ensure_transition, next_step
from app.pipeline.steps import build_item_specs
from app.spend.budget import BUDGET_HOLD, BudgetStop, check_step_budget

log = get_logger("orchestrator")

WORKER_CRASH_LOOP = "WORKER_CRASH_LOOP"  # an item's worker died on every start


def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    task: Task,
    entity_type: str = "task",
    entity_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An audit row about ``task`` (or one of its items) in the caller's transaction."""
    record_audit(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id or str(task.id),
        task_id=task.id,
        channel_id=task.channel_id,
        details=details,
    )


def audit_item(
    session: AsyncSession, task: Task, item: TaskItem, *, actor: str, action: str, **details: Any
) -> None:
    """An audit row about one item's run, naming its step and key so the row reads on its own."""
    audit(
        session,
        actor=actor,
        action=action,
        task=task,
        entity_type="task_item",
        entity_id=str(item.id),
        details={"step": item.step.value, "item": item.item_key, **details},
    )


async def lock_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    result = await session.execute(select(Task).where(Task.id == task_id).with_for_update())
    return result.scalar_one_or_none()


async def get_step_row(session: AsyncSession, task_id: uuid.UUID, step: PipelineStep) -> TaskStep:
    row = (
        await session.execute(
            select(TaskStep).where(TaskStep.task_id == task_id, TaskStep.step == step)
        )
    ).scalar_one_or_none()
    if row is None:
        row = TaskStep(task_id=task_id, step=step, status=StepStatus.PENDING, attempts=0, starts=0)
        session.add(row)
        await session.flush()
    return row


async def _items(session: AsyncSession, task_id: uuid.UUID, step: PipelineStep) -> list[TaskItem]:
    result = await session.execute(
        select(TaskItem)
        .where(TaskItem.task_id == task_id, TaskItem.step == step)
        .order_by(TaskItem.item_key)
    )
    return list(result.scalars())


async def _open_counts(s: AsyncSession, task_id: uuid.UUID, step: PipelineStep) -> tuple[int, int]:
    """How many of the step's items (stale ones included) are pending, and how many not done."""
    query = select(
        func.count().filter(TaskItem.status == ItemStatus.PENDING),
        func.count().filter(TaskItem.status != ItemStatus.COMPLETED),
    ).where(TaskItem.task_id == task_id, TaskItem.step == step)
    pending, unfinished = (await s.execute(query)).one()
    return int(pending), int(unfinished)


async def start_step(
    session: AsyncSession,
    task: Task,
    step: PipelineStep,
    *,
    actor: str,
    redo: set[str] | None = None,
    budget_override: bool = False,
) -> None:
    """Enter ``step``: create or refresh its items from the plan and enqueue those ready to run.

    Completed items are kept (a re-run skips them) unless named in ``redo``. A step passed again
    on the way forward with nothing to redo (after a rejection sent the task back) moves on
    without stopping at its gate: nothing in it changed since it was approved. A step with paid
    items that would pass the channel's budget does not start (unless ``budget_override``): the
    task waits for review with the reason.
    """
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    step_row = await get_step_row(session, task.id, step)
    revisiting = task.step != step and step_row.status == StepStatus.COMPLETED
    task.step = step
    task.status = TaskStatus.RUNNING

    specs = build_item_specs(task=task, channel=channel, step=step)
    existing = {item.item_key: item for item in await _items(session, task.id, step)}
    for spec in specs:
        item = existing.get(spec.key)
        if item is None:
            item = TaskItem(
                task_id=task.id,
                step=step,
                item_key=spec.key,
                scene_number=spec.scene_number,
                status=ItemStatus.PENDING,
                attempts=0,
                inputs=spec.inputs,
                output_keys={},
                remote_ids={},
                result={},
            )
            session.add(item)
            existing[spec.key] = item
        elif item.status != ItemStatus.COMPLETED or (redo and spec.key in redo):
            item.status = ItemStatus.PENDING
            item.inputs = spec.inputs
            item.attempts = 0
            item.error_code = item.error_message = None
            if redo and spec.key in redo:
                item.remote_ids = {}
                item.output_keys = {}
    await session.flush()
    unfinished = [existing[s.key] for s in specs if existing[s.key].status != ItemStatus.COMPLETED]
    if revisiting and not unfinished:
        log.info("step.unchanged", task_id=str(task.id), step=step.value)
        await _move_on(session, task, step, channel, review=False)
        return
    step_row.status = StepStatus.RUNNING
    step_row.attempts += 1
    step_row.started_at = step_row.started_at or utc_now()
    step_row.error_code = step_row.error_message = None
    if not budget_override:
        stop = await check_step_budget(
            session, task=task, config=get_channel_config(channel), step=step, items=unfinished
        )
        if stop is not None:
            await _hold_for_budget(session, task, step_row, stop, actor=actor)
            return
    audit(session, actor=actor, action="step.started", task=task, details={"step": step.value})
    log.info("step.started", task_id=str(task.id), step=step.value, items=len(specs))
    await advance(session, task, step, specs, existing)


async def _hold_for_budget(
    session: AsyncSession, task: Task, step_row: TaskStep, stop: BudgetStop, *, actor: str
) -> None:
    """Stop before the step spends anything: no item is enqueued, the task waits for a person."""
    ensure_transition(task.status, TaskStatus.AWAITING_REVIEW)
    task.status = TaskStatus.AWAITING_REVIEW
    task.status_reason = stop.reason
    step_row.status = StepStatus.PENDING
    step_row.error_code, step_row.error_message = BUDGET_HOLD, stop.reason
    audit(session, actor=actor, action="budget.stopped", task=task, details=stop.details())
    log.warning("budget.stopped", task_id=str(task.id), reason=stop.reason)
    alert_after_commit(
        session,
        "budget_stop",
        f"Budget stop: {task.title}"[:256],
        stop.reason,
        key=f"budget_stop:{task.id}:{step_row.step.value}",
        task_id=str(task.id),
        step=step_row.step.value,
    )
    await notify_dispatcher(session, "review")


async def advance(
    session: AsyncSession,
    task: Task,
    step: PipelineStep,
    specs: list[ItemSpec] | None = None,
    items: dict[str, TaskItem] | None = None,
) -> None:
    """Enqueue every pending item whose dependencies are done; complete the step when all are.
    After an item's record (no ``specs``) one count usually decides: none pending, nothing to
    enqueue; none unfinished, the step is done. Only items waiting on others need the specs."""
    if specs is None:
        pending, unfinished = await _open_counts(session, task.id, step)
        if unfinished == 0:
            await complete_step(session, task, step)
            return
        if pending == 0:
            return
        channel = await session.get(Channel, task.channel_id)
        assert channel is not None
        specs = build_item_specs(task=task, channel=channel, step=step)
    # ``items``: every item of the step, when the caller (start_step) has them in hand
    if items is None:
        items = {item.item_key: item for item in await _items(session, task.id, step)}
    wanted = {spec.key: spec for spec in specs}
    if all(items[key].status == ItemStatus.COMPLETED for key in wanted if key in items) and all(
        key in items for key in wanted
    ):
        await complete_step(session, task, step)
        return
    jobs: list[ItemJob] = []
    for spec in specs:
        item = items[spec.key]
        if item.status != ItemStatus.PENDING:
            continue
        if all(items[dep].status == ItemStatus.COMPLETED for dep in spec.after):
            item.status = ItemStatus.QUEUED
            jobs.append(ItemJob(item_id=item.id, pool=spec.pool, priority=task.priority))
    await session.flush()
    await enqueue_items(session, jobs)


async def complete_step(session: AsyncSession, task: Task, step: PipelineStep) -> None:
    step_row = await get_step_row(session, task.id, step)
    now = utc_now()
    step_row.status = StepStatus.COMPLETED
    step_row.completed_at = now
    if step_row.started_at is not None:
        step_row.duration_ms = int((now - step_row.started_at).total_seconds() * 1000)
    audit(session, actor="worker", action="step.completed", task=task, details={"step": step.value})
    log.info("step.completed", task_id=str(task.id), step=step.value)
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    await _move_on(session, task, step, channel, review=True)


async def _move_on(
    session: AsyncSession, task: Task, step: PipelineStep, channel: Channel, *, review: bool
) -> None:
    """After ``step``: publish, wait at its gate (when ``review``), or start the next step."""
    following = next_step(step)
    if following is None:
        ensure_transition(task.status, TaskStatus.PUBLISHED)
        task.status = TaskStatus.PUBLISHED
        task.completed_at = utc_now()
        task.status_reason = None
        await notify_dispatcher(session, "published")
    elif review and step in gates_for(channel):
        ensure_transition(task.status, TaskStatus.AWAITING_REVIEW)
        task.status = TaskStatus.AWAITING_REVIEW
        task.status_reason = f"waiting for review after {step.value}"
        audit(
            session,
            actor="worker",
            action="review.waiting",
            task=task,
            details={"gate": step.value, "kind": "review"},
        )
        await notify_dispatcher(session, "review")
    else:
        await start_step(session, task, following, actor="worker")


async def approve_gate(
    session: AsyncSession, task: Task, *, actor: str, notes: str | None = None
) -> None:
    """Approve what the task waits for: the next step after a gate, or, when a budget held the
    step back, that step with the overspend approved (recorded as an override)."""
    ensure_transition(task.status, TaskStatus.RUNNING)
    gate = task.step
    step_row = await get_step_row(session, task.id, gate)
    held = step_row.error_code == BUDGET_HOLD and step_row.status != StepStatus.COMPLETED
    redo: dict[str, Any] = {"budget_override": True, "reason": task.status_reason} if held else {}
    session.add(
        Review(
            task_id=task.id,
            gate=gate,
            decision=ReviewDecision.APPROVED,
            notes=notes,
            redo=redo,
            actor=actor,
        )
    )
    details: dict[str, Any] = {"gate": gate.value, "notes": notes}
    if held:
        details["budget_override"] = task.status_reason
    action = "budget.override" if held else "review.approved"
    audit(session, actor=actor, action=action, task=task, details=details)
    task.status_reason = None
    if held:
        await start_step(session, task, gate, actor=actor, budget_override=True)
        return
    following = next_step(gate)
    if following is None:
        task.status = TaskStatus.RUNNING
        await complete_step(session, task, gate)
        return
    await start_step(session, task, following, actor=actor)


async def fail_task(
    session: AsyncSession, task: Task, step: PipelineStep, *, code: str, message: str
) -> None:
    step_row = await get_step_row(session, task.id, step)
    step_row.status = StepStatus.FAILED
    step_row.error_code, step_row.error_message = code, message
    if task.status in (TaskStatus.RUNNING, TaskStatus.AWAITING_REVIEW):
        ensure_transition(task.status, TaskStatus.FAILED)
        task.status = TaskStatus.FAILED
    task.error_code, task.error_message = code, message
    audit(
        session,
        actor="worker",
        action="task.failed",
        task=task,
        details={"step": step.value, "code": code},
    )
    log.warning("task.failed", task_id=str(task.id), step=step.value, code=code, error=message)
    channel = await session.get(Channel, task.channel_id)
    alert_after_commit(
        session,
        "worker_crash_loop" if code == WORKER_CRASH_LOOP else "task_failed",
        f"Task failed at {step.value}: {task.title}",
        message,
        task=task.title,
        task_id=str(task.id),
        channel=channel.slug if channel else str(task.channel_id),
        step=step.value,
        code=code,
    )
    await notify_dispatcher(session, "failed")


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
