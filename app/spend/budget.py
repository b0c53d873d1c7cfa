"""Spending caps checked before a step spends: per video and per channel per day (UTC).

A step's estimate (``cost_estimate``) is added to what the ledger already holds; when the sum
would pass a cap the step does not start and the task waits for a person, who may approve the
overspend. Checking before the step, not after each call, is what keeps the money unspent.
Other tasks' steps in flight are not counted: the daily cap is checked against the ledger, which
only holds calls that were paid for.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
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


@dataclass(frozen=True)
class _Cap:
    """One spending cap of a channel's budget and how to read what it has already spent."""

    limit: str
    usd: Decimal | None
    spent: Callable[[], Awaitable[Decimal]]
    scope: str = ""
    period: str = ""


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
    # Checked in this order (the video's own cap first); each cap reads its own ledger slice.
    caps = (
        _Cap("per_video", budget.per_video_usd, partial(spent_on_task, session, task.id)),
        _Cap(
            "per_day",
            budget.per_day_usd,
            partial(spent_today, session, task.channel_id),
            scope=f" of channel {config.slug}",
            period=" today, UTC",
        ),
    )
    for cap in caps:
        if cap.usd is None:
            continue
        spent = await cap.spent()
        if spent + estimate > cap.usd:
            return BudgetStop(
                step=step,
                estimate_usd=estimate,
                limit=cap.limit,
                budget_usd=cap.usd,
                spent_usd=spent,
                reason=(
                    f"budget: step {step.value} would cost {money(estimate)}, over the "
                    f"{cap.limit.replace('_', '-')} budget {money(cap.usd)}{cap.scope} "
                    f"(spent {money(spent)}{cap.period})"
                ),
            )
    return None
