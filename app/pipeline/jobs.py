"""One item job: claim it (short transaction), run it with nothing open, record it (short again).

A claimed item carries a lease (owner + expiry) that the running worker renews. A job PgQueuer
re-hands out (stale heartbeat, lost connection) finds a live lease and waits instead of running
the work a second time; a dead worker's lease runs out and the next claim takes over, counted as
a start so a job that keeps killing its worker is failed after ``max_item_starts``. Records retry
through a PostgreSQL restart, so a finished script's result is not thrown away.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pgqueuer import RetryRequested
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import session_scope
from app.core.faults import pause_if_asked
from app.core.logging import bound_context, get_logger
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
from app.pipeline.orchestrator import (
    advance,
    audit,
    audit_item,
    fail_task,
    record_deferral,
)
from app.pipeline.outcome import ItemDeferredError, ItemFailedError, ItemOutcome
from app.pipeline.runner import execute_item

log = get_logger("item_jobs")
T = TypeVar("T")
FREE_METERED_SERVICES = frozenset({"pexels", "pixabay"})  # free vendors still ledgered, at $0


def _float_list(raw: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    if not raw:
        return default
    return tuple(float(part) for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class ItemJobSettings:
    max_item_starts: int = int(os.environ.get("VIDGEN_MAX_ITEM_STARTS", "6"))
    # transient failures: retry after 1, 5, 15, 60 minutes (tests scale these down by env)
    retry_delays_s: tuple[float, ...] = _float_list(
        os.environ.get("VIDGEN_RETRY_DELAYS_S"), (60.0, 300.0, 900.0, 3600.0)
    )
    lease_s: float = float(os.environ.get("VIDGEN_ITEM_LEASE_S", "30"))
    db_retry_s: float = 120.0

    def retry_delay(self, attempt: int) -> timedelta:
        index = min(max(attempt - 1, 0), len(self.retry_delays_s) - 1)
        return timedelta(seconds=self.retry_delays_s[index])


SETTINGS = ItemJobSettings()
_TRANSIENT_DB = (OSError, ConnectionError, OperationalError, InterfaceError)


async def with_db_retry(
    fn: Callable[[], Awaitable[T]], *, what: str, limit_s: float | None = None
) -> T:
    """Retry ``fn`` (one whole transaction) while the database is unreachable, e.g. restarting."""
    deadline = asyncio.get_running_loop().time() + (limit_s or SETTINGS.db_retry_s)
    delay = 0.2
    while True:
        try:
            return await fn()
        except (*_TRANSIENT_DB, DBAPIError) as exc:
            if (
                isinstance(exc, DBAPIError)
                and not exc.connection_invalidated
                and not isinstance(exc, _TRANSIENT_DB)
            ):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("db.retry", what=what, error=type(exc).__name__, retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


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


@dataclass(frozen=True)
class LeaseHeld:
    """Another live worker runs this item; come back after ``wait``."""

    wait: timedelta


async def _lock_task_and_item(
    session: AsyncSession, item_id: uuid.UUID
) -> tuple[Task, TaskItem] | tuple[None, None]:
    """Lock the item's task and the item in one statement (one round trip where two were).

    ``FOR UPDATE`` of a join locks the rows in the order of the FROM list, task first, then its
    item: the order every writer uses, so this cannot deadlock with them.
    """
    result = await session.execute(
        select(Task, TaskItem)
        .join(TaskItem, TaskItem.task_id == Task.id)
        .where(TaskItem.id == item_id)
        .with_for_update()
    )
    row = result.one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


async def _count_start(session: AsyncSession, task_id: uuid.UUID, step: PipelineStep) -> None:
    """One UPDATE, no read: the claim needs the step row's counter bumped, not the row."""
    await session.execute(
        update(TaskStep)
        .where(TaskStep.task_id == task_id, TaskStep.step == step)
        .values(starts=TaskStep.starts + 1)
        .execution_options(synchronize_session=False)
    )


async def _claim(item_id: uuid.UUID, owner: str) -> ClaimedItem | LeaseHeld | None:
    async with session_scope() as session:
        task, item = await _lock_task_and_item(session, item_id)
        if task is None or item is None:
            return None
        if task.status != TaskStatus.RUNNING or task.step != item.step:
            return None  # stale job: the task moved on, was cancelled or failed
        if item.status == ItemStatus.COMPLETED:
            return None
        now = utc_now()
        crashed = item.status == ItemStatus.RUNNING
        if crashed and item.lease_expires_at is not None and item.lease_expires_at > now:
            return LeaseHeld(wait=item.lease_expires_at - now + timedelta(seconds=0.5))
        # before changing the item, so the UPDATE autoflushes nothing and the item gets one
        # UPDATE at commit instead of two
        await _count_start(session, task.id, item.step)
        item.attempts += 1
        if item.attempts > SETTINGS.max_item_starts:
            code = "WORKER_CRASH_LOOP" if crashed else "RETRIES_EXHAUSTED"
            message = (
                f"{item.step.value} item {item.item_key} was started {item.attempts - 1} times"
                + (" and its worker died each time" if crashed else " without succeeding")
                + (f"; last error: {item.error_message}" if item.error_message else "")
            )
            item.status = ItemStatus.FAILED
            item.error_code, item.error_message = code, message
            await fail_task(session, task, item.step, code=code, message=message)
            return None
        item.status = ItemStatus.RUNNING
        item.started_at = now
        item.lease_owner = owner
        item.lease_expires_at = now + timedelta(seconds=SETTINGS.lease_s)
        audit_item(
            session,
            task,
            item,
            actor=owner.split(":", 1)[0],
            action="item.started",
            attempt=item.attempts,
            after_crash=crashed,
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


async def _renew_lease(item_id: uuid.UUID, owner: str) -> None:
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id, with_for_update=True)
        if item is not None and item.lease_owner == owner:
            item.lease_expires_at = utc_now() + timedelta(seconds=SETTINGS.lease_s)


async def _keep_lease(item_id: uuid.UUID, owner: str) -> None:
    while True:
        await asyncio.sleep(SETTINGS.lease_s / 3)
        with contextlib.suppress(*_TRANSIENT_DB, DBAPIError):
            await _renew_lease(item_id, owner)


async def _release(item_id: uuid.UUID, owner: str) -> None:
    """Give the item back at once (graceful stop): the reconciler or a re-pick takes it over."""
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id, with_for_update=True)
        if item is not None and item.lease_owner == owner and item.status == ItemStatus.RUNNING:
            item.status = ItemStatus.QUEUED
            item.attempts = max(item.attempts - 1, 0)  # an interrupted run is not a failed start
            item.lease_owner = None
            item.lease_expires_at = None


async def _store_remote_ids(item_id: uuid.UUID, remote_ids: dict[str, str]) -> None:
    """Persist a remote id before the script waits on it: the resume point after a crash."""
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id, with_for_update=True)
        if item is not None:
            item.remote_ids = {**item.remote_ids, **remote_ids}


async def _record_success(claimed: ClaimedItem, outcome: ItemOutcome) -> None:
    async with session_scope() as session:
        task, item = await _lock_task_and_item(session, claimed.item_id)
        if task is None or item is None or item.status == ItemStatus.COMPLETED:
            return
        item.status = ItemStatus.COMPLETED
        item.completed_at = utc_now()
        item.lease_owner = item.lease_expires_at = None
        item.output_keys = outcome.output_keys
        item.result = outcome.result
        item.remote_ids = {**item.remote_ids, **outcome.remote_ids}
        item.cost_usd = Decimal(str(outcome.cost_usd))
        item.error_code = item.error_message = None
        # Stock clips are free but metered: their row (at $0) shows which vendor served the clip.
        stock = outcome.service in FREE_METERED_SERVICES and "stock_id" in outcome.result
        if outcome.cost_usd > 0 or stock:
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
            task.plan_source = task.plan_source or "generated"
        if outcome.final_video_key is not None:
            task.final_video_key = outcome.final_video_key
        if outcome.youtube_video_id is not None:  # recorded with the step's completion
            task.youtube_video_id, task.youtube_url = outcome.youtube_video_id, outcome.youtube_url
        audit_item(
            session, task, item, actor="worker", action="item.completed", cost_usd=outcome.cost_usd
        )
        if outcome.result.get("fallback_from"):
            audit_item(
                session,
                task,
                item,
                actor="worker",
                action="item.fallback",
                provider=outcome.result.get("provider"),
                instead_of=outcome.result["fallback_from"],
                reason=outcome.result.get("fallback_reason"),
            )
        await session.flush()
        if task.status == TaskStatus.RUNNING and task.step == item.step:
            await advance(session, task, item.step)


async def _record_failure(claimed: ClaimedItem, failure: ItemFailedError) -> timedelta | None:
    """Record a failed run; return the retry delay when it is worth retrying, else fail the task."""
    async with session_scope() as session:
        task, item = await _lock_task_and_item(session, claimed.item_id)
        if task is None or item is None:
            return None
        item.error_code, item.error_message = failure.code, failure.message
        item.lease_owner = item.lease_expires_at = None
        if (
            failure.retryable
            and item.attempts < SETTINGS.max_item_starts
            and task.status == TaskStatus.RUNNING
        ):
            item.status = ItemStatus.QUEUED
            delay = SETTINGS.retry_delay(item.attempts)
            audit(
                session,
                actor="worker",
                action="item.retry_scheduled",
                task=task,
                entity_type="task_item",
                entity_id=str(item.id),
                details={
                    "code": failure.code,
                    "delay_s": delay.total_seconds(),
                    "error": failure.message,
                },
            )
            return delay
        item.status = ItemStatus.FAILED
        if task.status == TaskStatus.RUNNING and task.step == item.step:
            message = f"{item.step.value} item {item.item_key}: {failure.message}"
            await fail_task(session, task, item.step, code=failure.code, message=message)
        return None


async def run_item_job(item_id: uuid.UUID, *, worker: str) -> None:
    """The body of every item job: claim, run with nothing open, record.

    ``worker`` must be unique per process (name + pid + random): it owns the lease.
    """
    claimed = await with_db_retry(lambda: _claim(item_id, worker), what="claim", limit_s=30)
    if isinstance(claimed, LeaseHeld):
        raise RetryRequested(delay=claimed.wait, reason="lease held by a live worker")
    if claimed is None:
        return
    with bound_context(
        task_id=str(claimed.task_id), step=claimed.step.value, item=claimed.item_key
    ):
        log.info("item.started", attempt=claimed.attempt)
        keeper = asyncio.create_task(_keep_lease(claimed.item_id, worker))
        try:
            await pause_if_asked(claimed.step.value, claimed.item_key, claimed.attempt, worker)

            async def on_remote_ids(ids: dict[str, str]) -> None:
                await with_db_retry(
                    lambda: _store_remote_ids(claimed.item_id, ids), what="remote id"
                )

            outcome = await execute_item(
                task_id=claimed.task_id,
                channel_id=claimed.channel_id,
                step=claimed.step,
                item_key=claimed.item_key,
                inputs=claimed.inputs,
                remote_ids=claimed.remote_ids,
                on_remote_ids=on_remote_ids,
            )
        except ItemFailedError as exc:
            failure = exc
            log.warning(
                "item.failed", code=failure.code, error=failure.message, retryable=failure.retryable
            )
            delay = await with_db_retry(
                functools.partial(_record_failure, claimed, failure), what="record failure"
            )
            if delay is not None:
                raise RetryRequested(delay=delay, reason=failure.code) from None
            return
        except ItemDeferredError as exc:
            deferral = exc
            await with_db_retry(
                lambda: record_deferral(
                    item_id=claimed.item_id, task_id=claimed.task_id, deferral=deferral
                ),
                what="record deferral",
            )
            raise RetryRequested(delay=deferral.delay, reason=deferral.code) from None
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(_release(claimed.item_id, worker))
            raise
        finally:
            keeper.cancel()
        await with_db_retry(lambda: _record_success(claimed, outcome), what="record success")
        log.info("item.completed", cost_usd=outcome.cost_usd)
