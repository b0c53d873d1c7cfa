"""The statistics columns of a board row (Views, Likes, Avg view %, Cost per 1k views, Stats updated).

The collector records a fetch per schedule mark; the pusher shows the latest one. A fetch whose
figures equal what the row shows changes nothing, not even "Stats updated", so a video nobody
watches costs no PATCH per refresh: the column says when a figure last changed. The figures are
written through the pusher's one PATCH per row, inside the Notion rate budget.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Task, VideoStat
from app.notion.board import normalise_cost, normalise_moment
from app.spend.performance import cost_per_1k

STATS_KEYS = ("views", "likes", "avg_view_pct", "cost_per_1k", "stats_updated")

# The latest fetch of a task, as a text: part of the pusher's task digest, so a new fetch makes
# the row a candidate for a write (whether a figure changed is decided later, per column).
LATEST_FETCH = (
    select(cast(func.max(VideoStat.fetched_at), Text))
    .where(VideoStat.task_id == Task.id)
    .correlate(Task)
    .scalar_subquery()
)


@dataclass(frozen=True)
class Figures:
    views: int | None
    likes: int | None
    average_view_percentage: float | None
    fetched_at: datetime


async def latest_figures(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Figures]:
    """Per task: the latest fetch's counts, and the latest average view % known."""
    if not task_ids:
        return {}
    latest = (
        select(VideoStat.task_id, VideoStat.views, VideoStat.likes, VideoStat.fetched_at)
        .where(VideoStat.task_id.in_(task_ids))
        .ext(distinct_on(VideoStat.task_id))
        .order_by(VideoStat.task_id, VideoStat.fetched_at.desc())
    )
    watched = (
        select(VideoStat.task_id, VideoStat.average_view_percentage)
        .where(VideoStat.task_id.in_(task_ids), VideoStat.average_view_percentage.is_not(None))
        .ext(distinct_on(VideoStat.task_id))
        .order_by(VideoStat.task_id, VideoStat.fetched_at.desc())
    )
    percentages = {task_id: pct for task_id, pct in await session.execute(watched)}
    return {
        task_id: Figures(views, likes, percentages.get(task_id), fetched_at)
        for task_id, views, likes, fetched_at in await session.execute(latest)
    }


def _float(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def stats_values(task: Task, figures: Figures | None, observed: dict[str, Any]) -> dict[str, Any]:
    """What the statistics columns should show; nothing before the first fetch."""
    if figures is None:
        return {}
    per_1k = cost_per_1k(Decimal(task.total_cost_usd or 0), figures.views)
    values: dict[str, Any] = {
        "views": _float(figures.views),
        "likes": _float(figures.likes),
        "avg_view_pct": None
        if figures.average_view_percentage is None
        else round(figures.average_view_percentage, 1),
        "cost_per_1k": normalise_cost(per_1k),
    }
    changed = any(observed.get(key) != value for key, value in values.items())
    fetched = normalise_moment(figures.fetched_at.astimezone(UTC).isoformat())
    values["stats_updated"] = fetched if changed else observed.get("stats_updated")
    return values
