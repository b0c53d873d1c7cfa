"""Budgets stop a step before it spends; an approval lets it spend; offline work is free."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.config import ChannelConfig
from app.core.database import session_scope
from app.core.errors import ConflictError
from app.core.time import utc_now
from app.models import (
    AuditLog,
    Channel,
    ItemStatus,
    PipelineStep,
    Review,
    Task,
    TaskStatus,
    VideoCost,
)
from app.pipeline.steps import build_item_specs
from app.planning.plan import ProductionPlan
from app.review import service as review_service
from app.review.schemas import RejectRequest
from app.spend.estimate import estimate_cost, estimate_item_cost
from tests.e2e.harness import short_plan
from tests.services.review_support import add_channel, add_task, drive, items, load, starts

# kling bills 5 s per short scene: 7 clips x 5 s x $0.042 = $1.47
KLING_SEVEN_CLIPS = Decimal("1.47")


async def _approve(task_id: uuid.UUID) -> None:
    async with session_scope() as session:
        await review_service.approve(session, task_id=task_id, actor="finance", notes="worth it")


async def _kling_jobs() -> int:
    async with session_scope() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'item.kling'")
        )
    return int(count or 0)


async def test_a_step_over_the_per_video_budget_stops_before_spending_until_approved(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(
        tmp_path, gates="[]", video="kling", budget={"per_video_usd": 1.00}
    )
    task_id = await add_task(channel_id, short_plan(7))

    held = await drive(task_id)
    assert (held.status, held.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.VIDEOS)
    assert held.status_reason == (
        "budget: step videos would cost $1.47, over the per-video budget $1.00 (spent $0.00)"
    )
    clips = await items(task_id, PipelineStep.VIDEOS)
    assert len(clips) == 7 and {c.status for c in clips.values()} == {ItemStatus.PENDING}
    assert not [key for key in await starts(task_id) if key.startswith("videos:")]
    assert await _kling_jobs() == 0
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(VideoCost)) == 0

    async with session_scope() as session:  # a budget stop is not a gate to reject
        with pytest.raises(ConflictError) as refused:
            await review_service.reject(
                session, task_id=task_id, actor="x", request=RejectRequest(notes="no")
            )
    assert refused.value.code == "BUDGET_HOLD"

    await _approve(task_id)
    assert (await load(task_id)).status == TaskStatus.RUNNING
    assert await _kling_jobs() == 7
    done = await drive(task_id)
    assert done.status == TaskStatus.PUBLISHED  # later steps are offline: nothing more to stop
    counts = await starts(task_id)
    assert [counts[f"videos:scene-0{n}"] for n in range(1, 8)] == [1] * 7
    async with session_scope() as session:
        spent = await session.scalar(
            select(func.sum(VideoCost.cost_usd)).where(VideoCost.task_id == task_id)
        )
        [review] = await session.scalars(select(Review).where(Review.task_id == task_id))
        [override] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "budget.override")
        )
        [stopped] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "budget.stopped")
        )
    assert spent == KLING_SEVEN_CLIPS
    assert (review.gate, review.actor, review.notes) == (PipelineStep.VIDEOS, "finance", "worth it")
    assert review.redo["budget_override"] is True
    assert override.actor == "finance" and "per-video budget" in override.details["budget_override"]
    assert stopped.details == {
        "step": "videos",
        "estimate_usd": "1.470",
        "limit": "per_video",
        "budget_usd": "1.0",
        "spent_usd": "0",
    }


async def test_the_daily_budget_counts_todays_spending_of_the_whole_channel(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(
        tmp_path, gates="[]", video="kling", budget={"per_day_usd": 2.50}
    )
    earlier = await add_task(channel_id, short_plan(1), title="earlier video")
    async with session_scope() as session:
        await session.execute(
            text("UPDATE tasks SET status = 'published' WHERE id = :id"), {"id": earlier}
        )
        for cost, when in (
            (Decimal("1.20"), utc_now()),
            (Decimal("9"), utc_now() - timedelta(days=1)),
        ):
            session.add(
                VideoCost(
                    task_id=earlier,
                    channel_id=channel_id,
                    step=PipelineStep.VIDEOS,
                    item_key="scene-01",
                    service="kling",
                    cost_usd=cost,
                    idempotency_key=f"earlier:{cost}",
                    created_at=when,
                )
            )
    task_id = await add_task(channel_id, short_plan(7))
    held = await drive(task_id)
    assert held.status == TaskStatus.AWAITING_REVIEW
    assert held.status_reason == (
        "budget: step videos would cost $1.47, over the per-day budget $2.50 of channel rv "
        "(spent $1.20 today, UTC)"
    )


async def test_offline_providers_never_stop_on_budget(app_db: AsyncEngine, tmp_path: Path) -> None:
    channel_id = await add_channel(
        tmp_path, gates="[]", budget={"per_video_usd": 0.01, "per_day_usd": 0.01}
    )
    task_id = await add_task(channel_id, short_plan(3))
    assert (await drive(task_id)).status == TaskStatus.PUBLISHED


PAID: dict[str, Any] = {
    "slug": "paid",
    "name": "Paid",
    "providers": {
        "planner": {"provider": "gemini", "gemini": {"cost_per_call_usd": 0.02}},
        "image": {"provider": "gemini", "gemini": {"cost_per_image_usd": 0.05}},
        "video": {"provider": "kling", "kling": {"cost_per_second_usd": 0.1}},
        "voice": {"provider": "elevenlabs", "elevenlabs": {"cost_per_1k_chars_usd": 0.3}},
        "sfx": {"provider": "elevenlabs", "elevenlabs": {"cost_per_call_usd": 0.04}},
    },
}


def test_estimates_price_each_paid_step_from_the_scripts_own_arguments() -> None:
    config = ChannelConfig.model_validate(PAID)
    channel = Channel(id=uuid.uuid4(), slug="paid", config=config.model_dump(mode="json"))
    plan = short_plan(3)
    plan["scenes"][2]["duration_s"] = 8  # kling bills 10 s for anything over 5 s
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="t", plan=plan)
    narration = sum(len(s.narration) for s in ProductionPlan.model_validate(plan).scenes)

    def step_cost(step: PipelineStep) -> Decimal:
        specs = build_item_specs(task=task, channel=channel, step=step)
        return estimate_cost(spec.inputs for spec in specs)

    assert step_cost(PipelineStep.PLAN) == Decimal("0.02")
    assert step_cost(PipelineStep.ASSETS) == Decimal("0.15")  # 3 images
    assert step_cost(PipelineStep.COMPOSITES) == 0
    assert step_cost(PipelineStep.VIDEOS) == Decimal("2.0")  # (5 + 5 + 10) s x $0.10
    assert step_cost(PipelineStep.NARRATION) == Decimal("0.3") * narration / 1000
    assert step_cost(PipelineStep.SOUND_EFFECTS) == Decimal("0.12")
    assert step_cost(PipelineStep.ASSEMBLY) == 0
    assert estimate_item_cost({"kind": "publish"}) == 0
