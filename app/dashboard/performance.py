"""The Performance page's view model: the channel's table, its totals, and the chart's geometry.

The chart is an SVG drawn by the server (the template only places what is computed here), so
the page needs no chart library and no network: it works offline and under the dashboard's
strict CSP (colours are CSS classes, never inline styles). One line per video, views against
time since publication, so videos published weeks apart are compared at the same age.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.service import list_channels
from app.models import Channel
from app.spend.performance import (
    ChannelPerformance,
    PerformanceSort,
    VideoPerformance,
    channel_performance,
)

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 34
COLOURS = 8  # .chart-c0 ... .chart-c7 in dashboard.css


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class ChartLine:
    points: str  # the polyline's "x,y x,y ..."
    colour: int
    title: str
    last_x: float
    last_y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: float
    right: float
    top: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    lines: list[ChartLine]


@dataclass(frozen=True)
class PerformancePage:
    channels: list[Channel]
    report: ChannelPerformance
    chart: Chart | None
    colours: dict[str, int]  # task id -> colour index, for the table's swatches
    sort: PerformanceSort
    descending: bool


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above ``value`` (axis ends people can read)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _count(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def build_chart(videos: list[VideoPerformance]) -> Chart | None:
    """Geometry of views over hours since publication; None until a video has a figure."""
    drawn = [v for v in videos if v.series]
    if not drawn:
        return None
    max_hours = max(max(p.hours for p in v.series) for v in drawn)
    in_days = max_hours > 72
    span = nice_ceiling(max_hours / 24 if in_days else max(max_hours, 1.0))
    hours_span = span * 24 if in_days else span
    views_span = nice_ceiling(max(max(p.views for p in v.series) for v in drawn))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(hours: float) -> float:
        return round(LEFT + plot_w * hours / hours_span, 1)

    def y(views: float) -> float:
        return round(TOP + plot_h * (1 - views / views_span), 1)

    lines = []
    for index, video in enumerate(drawn):
        points = [(0.0, 0.0), *((p.hours, float(p.views)) for p in video.series)]
        coords = [(x(h), y(v)) for h, v in points]
        lines.append(
            ChartLine(
                points=" ".join(f"{cx},{cy}" for cx, cy in coords),
                colour=index % COLOURS,
                title=f"{video.title}: {video.views or 0:,} views",
                last_x=coords[-1][0],
                last_y=coords[-1][1],
            )
        )
    unit = "d" if in_days else "h"
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        bottom=HEIGHT - BOTTOM,
        right=WIDTH - RIGHT,
        top=TOP,
        x_ticks=[Tick(x(hours_span * n / 4), f"{span * n / 4:g} {unit}") for n in range(5)],
        y_ticks=[Tick(y(views_span * n / 4), _count(views_span * n / 4)) for n in range(5)],
        x_label="days since publication" if in_days else "hours since publication",
        lines=lines,
    )


async def build_performance(
    session: AsyncSession,
    *,
    channel_ref: str | None,
    now: datetime,
    sort: PerformanceSort,
    descending: bool,
) -> PerformancePage | None:
    """The page of one channel (the first by slug when none is named); None without channels."""
    channels = list(await list_channels(session))
    if not channels:
        return None
    report = await channel_performance(
        session,
        channel_ref=channel_ref or channels[0].slug,
        now=now,
        sort=sort,
        descending=descending,
    )
    chart = build_chart(report.videos)
    drawn = [v for v in report.videos if v.series]
    colours = {str(v.task_id): index % COLOURS for index, v in enumerate(drawn)}
    return PerformancePage(channels, report, chart, colours, sort, descending)
