"""Spending caps checked before a step spends: per video and per channel per day (UTC).

A step's estimate (``cost_estimate``) is added to what the ledger already holds; when the sum
would pass a cap the step does not start and the task waits for a person, who may approve the
overspend. Checking before the step, not after each call, is what keeps the money unspent.
Other tasks' steps in flight are not counted: the daily cap is checked against the ledger, which
only holds calls that were paid for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.config import ChannelConfig
from app.core.time import utc_now
from app.models import PipelineStep, Task, TaskItem, VideoCost
from app.spend.estimate import estimate_cost

BUDGET_HOLD = "BUDGET_HOLD"  # error_code of a step row held back by a budget


@dataclass(frozen=True)
class BudgetStop:
    """Why a step may not start; ``reason`` is shown to people as the task's status reason."""

    step: PipelineStep
    estimate_usd: Decimal
    limit: str  # "per_video" | "per_day"
    budget_usd: Decimal
    spent_usd: Decimal
    reason: str

    def details(self) -> dict[str, Any]:
        return {
            "step": self.step.value,
            "estimate_usd": str(self.estimate_usd),
            "limit": self.limit,
            "budget_usd": str(self.budget_usd),
            "spent_usd": str(self.spent_usd),
        }


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


async def spent_on_task(session: AsyncSession, task_id: uuid.UUID) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(VideoCost.cost_usd), 0)).where(VideoCost.task_id == task_id)
    )
    return Decimal(total or 0)


async def spent_today(
    session: AsyncSession, channel_id: uuid.UUID, *, now: datetime | None = None
) -> Decimal:
    """The channel's ledger total since midnight UTC."""
    now = now or utc_now()
    midnight = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    total = await session.scalar(
        select(func.coalesce(func.sum(VideoCost.cost_usd), 0)).where(
            VideoCost.channel_id == channel_id, VideoCost.created_at >= midnight
        )
    )
    return Decimal(total or 0)


async def check_step_budget(
    session: AsyncSession,
    *,
    task: Task,
    config: ChannelConfig,
    step: PipelineStep,
    items: Iterable[TaskItem],
) -> BudgetStop | None:
    """A stop when running ``items`` (the step's unfinished ones) would pass a cap, else None."""
    budget = config.budget
    if budget.per_video_usd is None and budget.per_day_usd is None:
        return None
    estimate = estimate_cost(item.inputs for item in items)
    if estimate <= 0:
        return None
    if budget.per_video_usd is not None:
        spent = await spent_on_task(session, task.id)
        if spent + estimate > budget.per_video_usd:
            return BudgetStop(
                step=step,
                estimate_usd=estimate,
                limit="per_video",
                budget_usd=budget.per_video_usd,
                spent_usd=spent,
                reason=(
                    f"budget: step {step.value} would cost {money(estimate)}, over the per-video "
                    f"budget {money(budget.per_video_usd)} (spent {money(spent)})"
                ),
            )
    if budget.per_day_usd is not None:
        spent = await spent_today(session, task.channel_id)
        if spent + estimate > budget.per_day_usd:
            return BudgetStop(
                step=step,
                estimate_usd=estimate,
                limit="per_day",
                budget_usd=budget.per_day_usd,
                spent_usd=spent,
                reason=(
                    f"budget: step {step.value} would cost {money(estimate)}, over the per-day "
                    f"budget {money(budget.per_day_usd)} of channel {config.slug} "
                    f"(spent {money(spent)} today, UTC)"
                ),
            )
    return None
