"""How videos did: a video's statistics history, and a channel's performance table."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.core.envelope import Envelope
from app.core.time import utc_now
from app.spend import performance
from app.spend.performance import PerformanceSort
from app.spend.schemas import (
    ChannelPerformanceResponse,
    PerformanceTotalsResponse,
    VideoPerformanceResponse,
    VideoStatResponse,
    VideoStatsResponse,
)

router = APIRouter(tags=["performance"])


@router.get("/videos/{task_id}/stats", responses=NOT_FOUND_RESPONSE)
async def get_video_stats(task_id: uuid.UUID, session: SessionDep) -> Envelope[VideoStatsResponse]:
    """Every statistics fetch of the task's video, oldest first: 1 h after publication, then
    daily to 90 days (empty before the first)."""
    history = await performance.video_stats_history(session, task_id)
    return ok(
        VideoStatsResponse(
            task_id=task_id, history=[VideoStatResponse.model_validate(s) for s in history]
        )
    )


@router.get("/channels/{channel_id}/performance", responses=NOT_FOUND_RESPONSE)
async def get_channel_performance(
    channel_id: str,
    session: SessionDep,
    sort: Annotated[PerformanceSort, Query(description="The column to sort by.")] = (
        PerformanceSort.PUBLISHED
    ),
    descending: bool = True,
) -> Envelope[ChannelPerformanceResponse]:
    """The channel's published videos with views at 24 h and 7 d, average view %, cost and
    cost per 1,000 views, and its 28-day totals (channel by id or slug)."""
    report = await performance.channel_performance(
        session, channel_ref=channel_id, now=utc_now(), sort=sort, descending=descending
    )
    return ok(
        ChannelPerformanceResponse(
            channel_id=report.channel.id,
            slug=report.channel.slug,
            sort=sort,
            descending=descending,
            videos=[
                VideoPerformanceResponse.model_validate(v, from_attributes=True)
                for v in report.videos
            ],
            totals_28d=PerformanceTotalsResponse.model_validate(report.totals_28d),
            analytics_missing=report.analytics_missing,
        )
    )
