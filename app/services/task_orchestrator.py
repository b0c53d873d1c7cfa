"""The 8-step pipeline: start a step, run its items as jobs, record each, move the task on.

Transactions are short: claim an item (one transaction), run its script with nothing open, record
the result (another transaction, holding the task row lock so two items finishing together agree
on who completes the step). Each finished item is recorded at once, so a re-run skips it; a remote
id (a Kling task) is stored the moment the script prints it, so a resumed item waits instead of
paying again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pgqueuer import RetryRequested
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import session_scope
from app.models import (
    Channel,
    ItemStatus,
    PipelineStep,
    StepStatus,
    Task,
    TaskItem,
    TaskStatus,
    TaskStep,
    VideoCost,
)
from app.services.audit import record_audit
from app.services.item_runner import ItemFailedError, ItemOutcome, execute_item
from app.services.pipeline_items import ItemSpec, build_item_specs, gates_for
from app.services.queue import ItemJob, enqueue_items, notify_dispatcher
from app.services.task_state import ensure_transition, next_step
from app.utils.logging import bound_context, get_logger
from app.utils.test_hooks import pause_if_asked
from app.utils.time import utc_now

log = get_logger("orchestrator")


@dataclass(frozen=True)
class OrchestratorSettings:
    max_item_starts: int = 6
    retry_delays_s: tuple[float, ...] = (60.0, 300.0, 900.0, 3600.0)

    def retry_delay(self, attempt: int) -> timedelta:
        index = min(max(attempt - 1, 0), len(self.retry_delays_s) - 1)
        return timedelta(seconds=self.retry_delays_s[index])


_settings = OrchestratorSettings()


def configure(settings: OrchestratorSettings) -> None:
    global _settings
    _settings = settings


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


async def _lock_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    result = await session.execute(select(Task).where(Task.id == task_id).with_for_update())
    return result.scalar_one_or_none()


async def _step_row(session: AsyncSession, task_id: uuid.UUID, step: PipelineStep) -> TaskStep:
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


async def start_step(
    session: AsyncSession,
    task: Task,
    step: PipelineStep,
    *,
    actor: str,
    redo: set[str] | None = None,
) -> None:
    """Enter ``step``: create or refresh its items from the plan and enqueue those ready to run.

    Completed items are kept (a re-run skips them) unless named in ``redo``.
    """
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    task.step = step
    task.status = TaskStatus.RUNNING
    step_row = await _step_row(session, task.id, step)
    step_row.status = StepStatus.RUNNING
    step_row.attempts += 1
    step_row.started_at = step_row.started_at or utc_now()
    step_row.error_code = step_row.error_message = None

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
    audit(session, actor=actor, action="step.started", task=task, details={"step": step.value})
    log.info("step.started", task_id=str(task.id), step=step.value, items=len(specs))
    await _advance(session, task, step, specs)


async def _advance(
    session: AsyncSession, task: Task, step: PipelineStep, specs: list[ItemSpec] | None = None
) -> None:
    """Enqueue every pending item whose dependencies are done; complete the step when all are."""
    if specs is None:
        channel = await session.get(Channel, task.channel_id)
        assert channel is not None
        specs = build_item_specs(task=task, channel=channel, step=step)
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
    step_row = await _step_row(session, task.id, step)
    now = utc_now()
    step_row.status = StepStatus.COMPLETED
    step_row.completed_at = now
    if step_row.started_at is not None:
        step_row.duration_ms = int((now - step_row.started_at).total_seconds() * 1000)
    audit(session, actor="worker", action="step.completed", task=task, details={"step": step.value})
    log.info("step.completed", task_id=str(task.id), step=step.value)
    following = next_step(step)
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    if following is None:
        ensure_transition(task.status, TaskStatus.PUBLISHED)
        task.status = TaskStatus.PUBLISHED
        task.completed_at = now
        task.status_reason = None
        await notify_dispatcher(session, "published")
    elif step in gates_for(channel):
        ensure_transition(task.status, TaskStatus.AWAITING_REVIEW)
        task.status = TaskStatus.AWAITING_REVIEW
        task.status_reason = f"waiting for review after {step.value}"
        await notify_dispatcher(session, "review")
    else:
        await start_step(session, task, following, actor="worker")


async def approve_gate(
    session: AsyncSession, task: Task, *, actor: str, notes: str | None = None
) -> None:
    """Approve the gate the task waits at: the pipeline continues with the next step."""
    from app.models import Review, ReviewDecision

    ensure_transition(task.status, TaskStatus.RUNNING)
    gate = task.step
    session.add(
        Review(
            task_id=task.id,
            gate=gate,
            decision=ReviewDecision.APPROVED,
            notes=notes,
            redo={},
            actor=actor,
        )
    )
    audit(session, actor=actor, action="review.approved", task=task, details={"gate": gate.value})
    task.status_reason = None
    following = next_step(gate)
    if following is None:
        task.status = TaskStatus.RUNNING
        await complete_step(session, task, gate)
        return
    await start_step(session, task, following, actor=actor)


async def fail_task(
    session: AsyncSession, task: Task, step: PipelineStep, *, code: str, message: str
) -> None:
    step_row = await _step_row(session, task.id, step)
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
    await notify_dispatcher(session, "failed")


# ----------------------------------------------------------------------------- item jobs


@dataclass(frozen=True)
class ClaimedItem:
    item_id: uuid.UUID
    task_id: uuid.UUID
    channel_id: uuid.UUID
    step: PipelineStep
    item_key: str
    inputs: dict[str, Any]
    remote_ids: dict[str, Any]
    attempt: int


async def _claim(item_id: uuid.UUID, worker: str) -> ClaimedItem | None:
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id)
        if item is None:
            return None
        task = await _lock_task(session, item.task_id)
        await session.refresh(item, with_for_update=True)
        if task is None or task.status != TaskStatus.RUNNING or task.step != item.step:
            return None  # stale job: the task moved on, was cancelled or failed
        if item.status == ItemStatus.COMPLETED:
            return None
        crashed = item.status == ItemStatus.RUNNING
        item.attempts += 1
        step_row = await _step_row(session, task.id, item.step)
        step_row.starts += 1
        if item.attempts > _settings.max_item_starts:
            code = "WORKER_CRASH_LOOP" if crashed else "RETRIES_EXHAUSTED"
            message = (
                f"{item.step.value} item {item.item_key} was started {item.attempts - 1} times"
                + (" and its worker died each time" if crashed else " without succeeding")
                + (f": {item.error_message}" if item.error_message else "")
            )
            item.status = ItemStatus.FAILED
            item.error_code, item.error_message = code, message
            await fail_task(session, task, item.step, code=code, message=message)
            return None
        item.status = ItemStatus.RUNNING
        item.started_at = utc_now()
        audit(
            session,
            actor=worker,
            action="item.started",
            task=task,
            entity_type="task_item",
            entity_id=str(item.id),
            details={
                "step": item.step.value,
                "item": item.item_key,
                "attempt": item.attempts,
                "after_crash": crashed,
            },
        )
        return ClaimedItem(
            item_id=item.id,
            task_id=task.id,
            channel_id=task.channel_id,
            step=item.step,
            item_key=item.item_key,
            inputs=dict(item.inputs),
            remote_ids=dict(item.remote_ids),
            attempt=item.attempts,
        )


async def _store_remote_ids(item_id: uuid.UUID, remote_ids: dict[str, str]) -> None:
    """Persist a remote id before the script starts waiting on it (the resume point after a crash)."""
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id, with_for_update=True)
        if item is not None:
            item.remote_ids = {**item.remote_ids, **remote_ids}


async def _record_success(claimed: ClaimedItem, outcome: ItemOutcome) -> None:
    async with session_scope() as session:
        task = await _lock_task(session, claimed.task_id)
        item = await session.get(TaskItem, claimed.item_id, with_for_update=True)
        if task is None or item is None:
            return
        item.status = ItemStatus.COMPLETED
        item.completed_at = utc_now()
        item.output_keys = outcome.output_keys
        item.result = outcome.result
        item.remote_ids = {**item.remote_ids, **outcome.remote_ids}
        item.cost_usd = Decimal(str(outcome.cost_usd))
        item.error_code = item.error_message = None
        if outcome.cost_usd > 0:
            session.add(
                VideoCost(
                    task_id=task.id,
                    channel_id=task.channel_id,
                    step=item.step,
                    item_key=item.item_key,
                    service=outcome.service,
                    model=outcome.model,
                    units=Decimal(str(outcome.units)),
                    unit_label=outcome.unit_label,
                    cost_usd=Decimal(str(outcome.cost_usd)),
                    idempotency_key=f"{item.id}:{item.attempts}",
                )
            )
            task.total_cost_usd = (task.total_cost_usd or Decimal(0)) + Decimal(
                str(outcome.cost_usd)
            )
        if outcome.plan is not None:
            task.plan = outcome.plan
        if outcome.final_video_key is not None:
            task.final_video_key = outcome.final_video_key
        audit(
            session,
            actor="worker",
            action="item.completed",
            task=task,
            entity_type="task_item",
            entity_id=str(item.id),
            details={"step": item.step.value, "item": item.item_key, "cost_usd": outcome.cost_usd},
        )
        await session.flush()
        if task.status == TaskStatus.RUNNING and task.step == item.step:
            await _advance(session, task, item.step)


async def _record_failure(claimed: ClaimedItem, failure: ItemFailedError) -> timedelta | None:
    """Record a failed run; return the retry delay when it is worth retrying, else fail the task."""
    async with session_scope() as session:
        task = await _lock_task(session, claimed.task_id)
        item = await session.get(TaskItem, claimed.item_id, with_for_update=True)
        if task is None or item is None:
            return None
        item.error_code, item.error_message = failure.code, failure.message
        retry = failure.retryable and item.attempts < _settings.max_item_starts
        if retry and task.status == TaskStatus.RUNNING:
            item.status = ItemStatus.QUEUED
            delay = _settings.retry_delay(item.attempts)
            audit(
                session,
                actor="worker",
                action="item.retry_scheduled",
                task=task,
                entity_type="task_item",
                entity_id=str(item.id),
                details={"code": failure.code, "delay_s": delay.total_seconds()},
            )
            return delay
        item.status = ItemStatus.FAILED
        if task.status == TaskStatus.RUNNING and task.step == item.step:
            message = f"{item.step.value} item {item.item_key}: {failure.message}"
            await fail_task(session, task, item.step, code=failure.code, message=message)
        return None


async def run_item_job(item_id: uuid.UUID, *, worker: str) -> None:
    """The body of every item job: claim, run with nothing open, record."""
    claimed = await _claim(item_id, worker)
    if claimed is None:
        return
    with bound_context(
        task_id=str(claimed.task_id), step=claimed.step.value, item=claimed.item_key
    ):
        log.info("item.started", attempt=claimed.attempt)

        async def on_remote_ids(ids: dict[str, str]) -> None:
            await _store_remote_ids(claimed.item_id, ids)

        try:
            outcome = await execute_item(
                task_id=claimed.task_id,
                channel_id=claimed.channel_id,
                step=claimed.step,
                item_key=claimed.item_key,
                inputs=claimed.inputs,
                remote_ids=claimed.remote_ids,
                on_remote_ids=on_remote_ids,
            )
        except ItemFailedError as failure:
            log.warning(
                "item.failed", code=failure.code, error=failure.message, retryable=failure.retryable
            )
            delay = await _record_failure(claimed, failure)
            if delay is not None:
                raise RetryRequested(delay=delay, reason=failure.code) from None
            return
        await _record_success(claimed, outcome)
        log.info("item.completed", cost_usd=outcome.cost_usd)
