"""Running a task's plan item the way a worker does, on the real database, against a fake LLM.

``plan_task`` writes a channel whose planner section is given, queues a task without a plan,
releases it, claims the plan item and runs it through the runner; ``record`` then stores the
outcome through the worker's own success path (so the cost ledger row is the production one).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from app.channels.config import load_channel_configs
from app.channels.sync import sync_channels
from app.core.database import session_scope
from app.models import Channel, ItemStatus, PipelineStep, TaskItem, VideoCost
from app.pipeline.dispatcher import dispatch_pending
from app.pipeline.jobs import ClaimedItem, _record_success
from app.pipeline.outcome import ItemOutcome
from app.pipeline.runner import execute_item
from tests.services.review_support import add_task, claim

CHANNEL_YAML = """\
slug: {slug}
name: {slug}
max_concurrent: 10
providers:
  planner:
{planner}
  image: local
  video: kenburns
  voice: espeak
  sfx: synth
review_gates: [plan]
"""


async def planner_channel(directory: Path, planner_yaml: str, slug: str = "llm") -> uuid.UUID:
    directory.mkdir(parents=True, exist_ok=True)
    indented = "\n".join(f"    {line}" for line in planner_yaml.strip().splitlines())
    (directory / f"{slug}.yaml").write_text(CHANNEL_YAML.format(slug=slug, planner=indented))
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(directory))
    async with session_scope() as session:
        channel = await session.scalar(select(Channel).where(Channel.slug == slug))
        assert channel is not None
        return channel.id


async def claimed_plan(channel_id: uuid.UUID) -> ClaimedItem:
    task_id = await add_task(channel_id, None, title="The lighthouse keeper")
    await dispatch_pending()
    async with session_scope() as session:
        item_id = await session.scalar(
            select(TaskItem.id).where(
                TaskItem.task_id == task_id,
                TaskItem.step == PipelineStep.PLAN,
                TaskItem.status == ItemStatus.QUEUED,
            )
        )
    assert item_id is not None
    return await claim(item_id)


async def run_plan(claimed: ClaimedItem) -> ItemOutcome:
    async def ignore(_ids: dict[str, str]) -> None:
        return None

    return await execute_item(
        task_id=claimed.task_id,
        channel_id=claimed.channel_id,
        step=claimed.step,
        item_key=claimed.item_key,
        inputs=claimed.inputs,
        remote_ids={},
        on_remote_ids=ignore,
    )


async def record(claimed: ClaimedItem, outcome: ItemOutcome) -> list[VideoCost]:
    await _record_success(claimed, outcome)
    async with session_scope() as session:
        rows = await session.scalars(select(VideoCost).where(VideoCost.task_id == claimed.task_id))
        return list(rows)
