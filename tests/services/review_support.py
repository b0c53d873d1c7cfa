"""Driving tasks through the pipeline at service level: the real dispatcher, orchestrator, claim
and record code on the real database, with the scripts' work stood in for by hand.

``drive`` plays the workers: it claims each queued item through ``item_jobs._claim`` (so
attempts and ``item.started`` audit rows are real) and records a success through
``_record_success`` (so the orchestrator advances, gates and budgets exactly as in production),
reporting the cost the item's own arguments price it at. Plan items really run (the offline
template planner needs no script).
"""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.channels.config import load_channel_configs
from app.channels.sync import sync_channels
from app.core.database import session_scope
from app.core.time import utc_now
from app.models import (
    AuditLog,
    Channel,
    ItemStatus,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
)
from app.pipeline.dispatcher import dispatch_pending
from app.pipeline.jobs import ClaimedItem, _claim, _record_success
from app.pipeline.outcome import ItemOutcome
from app.pipeline.runner import execute_item
from app.spend.estimate import estimate_item_cost

WORKER = "test-worker:1"

CHANNEL_YAML = """\
slug: {slug}
name: {slug}
active: true
max_concurrent: 5
providers:
  planner:
    provider: template
    template:
      scenes: 6
      scene_duration_s: 2
  image: local
  video: {video}
  voice: espeak
  sfx: synth
review_gates: {gates}
{budget}
"""


async def add_channel(
    directory: Path,
    slug: str = "rv",
    *,
    gates: str = "[assembly]",
    video: str = "kenburns",
    budget: dict[str, float] | None = None,
) -> uuid.UUID:
    budget_yaml = ""
    if budget:
        budget_yaml = "budget:\n" + "".join(f"  {k}: {v}\n" for k, v in budget.items())
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{slug}.yaml").write_text(
        CHANNEL_YAML.format(slug=slug, gates=gates, video=video, budget=budget_yaml)
    )
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(directory))
    async with session_scope() as session:
        channel = await session.scalar(select(Channel).where(Channel.slug == slug))
        assert channel is not None
        return channel.id


async def add_task(
    channel_id: uuid.UUID, plan: dict[str, Any] | None, *, title: str = "Review test"
) -> uuid.UUID:
    task = Task(
        channel_id=channel_id,
        title=title,
        topic="robots at dawn",
        status=TaskStatus.QUEUED,
        plan=plan,
        plan_source="api" if plan is not None else None,
        queued_at=utc_now(),
        total_cost_usd=Decimal(0),
    )
    async with session_scope() as session:
        session.add(task)
    return task.id


async def load(task_id: uuid.UUID) -> Task:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        return task


async def items(task_id: uuid.UUID, step: PipelineStep | None = None) -> dict[str, TaskItem]:
    """``{"step:item_key": item}`` (or ``{item_key: item}`` for one step)."""
    async with session_scope() as session:
        query = select(TaskItem).where(TaskItem.task_id == task_id)
        if step is not None:
            query = query.where(TaskItem.step == step)
        rows = list(await session.scalars(query))
    if step is not None:
        return {item.item_key: item for item in rows}
    return {f"{item.step.value}:{item.item_key}": item for item in rows}


async def starts(task_id: uuid.UUID) -> Counter[str]:
    """How many times each item was started (``step:item`` → count), from the audit log."""
    async with session_scope() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.task_id == task_id, AuditLog.action == "item.started")
        )
        return Counter(f"{row.details['step']}:{row.details['item']}" for row in rows)


async def _queued(task_id: uuid.UUID) -> list[uuid.UUID]:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        if task.status != TaskStatus.RUNNING:
            return []
        rows = await session.scalars(
            select(TaskItem.id)
            .where(
                TaskItem.task_id == task_id,
                TaskItem.step == task.step,
                TaskItem.status == ItemStatus.QUEUED,
            )
            .order_by(TaskItem.item_key)
        )
        return list(rows)


async def pretend_outcome(claimed: ClaimedItem) -> ItemOutcome:
    inputs = claimed.inputs
    if inputs["kind"] == "plan":
        return await execute_item(
            task_id=claimed.task_id,
            channel_id=claimed.channel_id,
            step=claimed.step,
            item_key=claimed.item_key,
            inputs=inputs,
            remote_ids={},
            on_remote_ids=_ignore,
        )
    if inputs["kind"] == "publish":
        return ItemOutcome(output_keys={"published": f"published/{claimed.task_id}.mp4"})
    outputs = {flag.lstrip("-"): key for flag, key in inputs["out_files"]}
    cost = estimate_item_cost(inputs)
    outcome = ItemOutcome(
        output_keys=outputs,
        result={"pretend": True},
        cost_usd=float(cost),
        service=str(inputs["service"]),
        units=float(inputs.get("units") or 0),
        unit_label=inputs.get("unit_label"),
    )
    if inputs.get("final"):
        outcome.final_video_key = outputs["output"]
    return outcome


async def _ignore(_ids: dict[str, str]) -> None:
    return None


async def claim(item_id: uuid.UUID) -> ClaimedItem:
    claimed = await _claim(item_id, WORKER)
    assert isinstance(claimed, ClaimedItem), claimed
    return claimed


async def succeed(claimed: ClaimedItem) -> None:
    await _record_success(claimed, await pretend_outcome(claimed))


async def drive(task_id: uuid.UUID, *, max_items: int = 500) -> Task:
    """Release queued tasks, then run items until the task stops running (gate, budget,
    failure, published) or has nothing queued."""
    await dispatch_pending()
    for _ in range(max_items):
        queued = await _queued(task_id)
        if not queued:
            return await load(task_id)
        await succeed(await claim(queued[0]))
    raise AssertionError("the task did not stop")
