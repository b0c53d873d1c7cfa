"""The cost ledger as the API reports it (totals, groups or rows), and videos' performance."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.core.envelope import Pagination
from app.pipeline.schemas import VideoCostResponse
from app.spend.performance import PerformanceSort


class CostGroupBy(StrEnum):
    CHANNEL = "channel"
    SERVICE = "service"
    DAY = "day"
    STEP = "step"


class CostSumsResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cost_usd: Decimal
    units: Decimal = Field(description="Sum of units; mixes unit labels unless grouped by service.")
    count: int = Field(description="Paid calls (ledger rows).")


class CostGroupResponse(CostSumsResponse):
    key: str = Field(description="Channel slug, service, UTC day (YYYY-MM-DD) or step.")
    channel_id: uuid.UUID | None = Field(description="Set when grouped by channel.")


class VideoCostRowResponse(VideoCostResponse):
    """A ledger row as a task's detail shows it, plus whose it is: the report spans tasks."""

    task_id: uuid.UUID
    channel_id: uuid.UUID


class VideoCostReportResponse(BaseModel):
    totals: CostSumsResponse = Field(description="Over every row matching the filters.")
    group_by: CostGroupBy | None
    groups: list[CostGroupResponse] | None = Field(description="With group_by; else null.")
    items: list[VideoCostRowResponse] | None = Field(description="Without group_by; else null.")
    pagination: Pagination | None = Field(description="Of items; null with group_by.")


class VideoStatResponse(BaseModel):
    """One statistics fetch; the analytics figures are null without the scope or until they
    exist (YouTube's lag one to three days)."""

    model_config = ConfigDict(from_attributes=True)

    fetched_at: dt.datetime
    mark_hours: int = Field(description="The schedule mark: 1, then 24, 48 ... 2160 h.")
    youtube_video_id: str
    views: int | None = Field(description="Null when the video was gone from YouTube.")
    likes: int | None
    comments: int | None
    average_view_duration_s: float | None
    average_view_percentage: float | None
    estimated_minutes_watched: float | None
    subscribers_gained: int | None


class VideoStatsResponse(BaseModel):
    task_id: uuid.UUID
    history: list[VideoStatResponse] = Field(description="Oldest first.")


class ViewPointResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    hours: float = Field(description="Hours since publication.")
    views: int


class VideoPerformanceResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    task_id: uuid.UUID
    title: str
    youtube_video_id: str | None
    youtube_url: str | None
    published_at: dt.datetime | None
    views: int | None = Field(description="At the latest fetch.")
    likes: int | None
    comments: int | None
    views_24h: int | None = Field(description="At the 24 h mark; null if not fetched.")
    views_7d: int | None = Field(description="At the 7 d mark; null if not fetched.")
    average_view_percentage: float | None
    cost_usd: Decimal = Field(description="The video's ledger total.")
    cost_per_1k_views: Decimal | None = Field(description="cost_usd ÷ views × 1000.")
    stats_updated_at: dt.datetime | None
    series: list[ViewPointResponse] = Field(description="Views over time, for the chart.")


class PerformanceTotalsResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    spend_usd: Decimal = Field(description="Ledger spend of the channel in the last 28 days.")
    views: int = Field(description="Views gained in the last 28 days.")
    cost_per_1k_views: Decimal | None


class ChannelPerformanceResponse(BaseModel):
    channel_id: uuid.UUID
    slug: str
    sort: PerformanceSort
    descending: bool
    videos: list[VideoPerformanceResponse]
    totals_28d: PerformanceTotalsResponse
    analytics_missing: bool = Field(
        description="The channel's token lacks yt-analytics.readonly: reconnect to see watch time."
    )
