"""Prometheus metrics computed from PostgreSQL at scrape time, so any web process reports the
whole fleet (workers keep no counters of their own that a scrape of one process would miss).

Counters (costs, retries, step durations) are sums over the ledger and the audit log, which only
grow, so they behave as Prometheus counters do; gauges are the current rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.time import utc_now
from app.models import (
    AuditLog,
    Channel,
    Task,
    TaskStatus,
    TaskStep,
    VideoCost,
    YouTubeQuotaUsage,
)
from app.pipeline.queue import DEFAULT_POOL_LIMITS, item_entrypoint
from app.youtube.quota import quota_overview

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
RETRY_ACTION = "item.retry_scheduled"
# Step durations span a second (plan from a template) to an hour (a long Kling batch).
DURATION_BUCKETS_S: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
QUEUE_STATUSES = ("queued", "picked")

_QUEUE_SQL = text(
    "SELECT entrypoint, status::text AS status, count(*) AS jobs FROM pgqueuer"
    " WHERE status IN ('queued', 'picked') GROUP BY entrypoint, status"
)


class _Snapshot:
    """A collector that hands out families computed beforehand (prometheus_client's API is sync)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def describe(self) -> Iterable[Metric]:
        return self.families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


async def _channel_slugs(session: AsyncSession) -> dict[object, str]:
    rows = await session.execute(select(Channel.id, Channel.slug))
    return {row.id: row.slug for row in rows}


async def _tasks(session: AsyncSession, slugs: dict[object, str]) -> Metric:
    family = GaugeMetricFamily(
        "vidgen_tasks", "Tasks by channel and status.", labels=["channel", "status"]
    )
    counts = {
        (row.channel_id, str(row.status)): int(row.n)
        for row in await session.execute(
            select(Task.channel_id, Task.status, func.count().label("n")).group_by(
                Task.channel_id, Task.status
            )
        )
    }
    for channel_id, slug in sorted(slugs.items(), key=lambda pair: pair[1]):
        for status in TaskStatus:
            family.add_metric([slug, status.value], counts.get((channel_id, status.value), 0))
    return family


async def _step_durations(session: AsyncSession) -> Metric:
    family = HistogramMetricFamily(
        "vidgen_step_duration_seconds",
        "Wall time of finished pipeline steps (task_steps.duration_ms).",
        labels=["step"],
    )
    buckets = [
        func.count().filter(TaskStep.duration_ms <= int(bound * 1000)).label(f"le_{i}")
        for i, bound in enumerate(DURATION_BUCKETS_S)
    ]
    query = (
        select(
            TaskStep.step,
            func.count().label("n"),
            func.coalesce(func.sum(TaskStep.duration_ms), 0).label("total_ms"),
            *buckets,
        )
        .where(TaskStep.duration_ms.is_not(None))
        .group_by(TaskStep.step)
        .order_by(TaskStep.step)
    )
    for row in await session.execute(query):
        values = row._mapping
        cumulative = [
            (str(float(bound)), float(values[f"le_{i}"]))
            for i, bound in enumerate(DURATION_BUCKETS_S)
        ]
        family.add_metric(
            [row.step.value],
            buckets=[*cumulative, ("+Inf", float(row.n))],
            sum_value=int(row.total_ms) / 1000,
        )
    return family


async def _queue(session: AsyncSession) -> Metric:
    family = GaugeMetricFamily(
        "vidgen_queue_jobs",
        "PgQueuer jobs waiting (queued, including delayed retries) or running (picked).",
        labels=["entrypoint", "status"],
    )
    counts = {
        (row.entrypoint, row.status): int(row.jobs) for row in await session.execute(_QUEUE_SQL)
    }
    entrypoints = {item_entrypoint(pool) for pool in DEFAULT_POOL_LIMITS} | {e for e, _ in counts}
    for entrypoint in sorted(entrypoints):
        for status in QUEUE_STATUSES:
            family.add_metric([entrypoint, status], counts.get((entrypoint, status), 0))
    return family


async def _retries(session: AsyncSession, slugs: dict[object, str]) -> Metric:
    family = CounterMetricFamily(
        "vidgen_item_retries",
        "Item runs that failed and were scheduled again, by channel and error code.",
        labels=["channel", "code"],
    )
    code = AuditLog.details["code"].astext
    query = (
        select(AuditLog.channel_id, code.label("code"), func.count().label("n"))
        .where(AuditLog.action == RETRY_ACTION)
        .group_by(AuditLog.channel_id, code)
    )
    for row in sorted(await session.execute(query), key=lambda r: (str(r[0]), str(r[1]))):
        channel = slugs.get(row.channel_id, "unknown")
        family.add_metric([channel, row.code or "unknown"], int(row.n))
    return family


async def _costs(session: AsyncSession, slugs: dict[object, str]) -> list[Metric]:
    usd = CounterMetricFamily(
        "vidgen_cost_usd", "Spend in USD from the cost ledger.", labels=["channel", "service"]
    )
    calls = CounterMetricFamily(
        "vidgen_paid_calls", "Paid calls (ledger rows).", labels=["channel", "service"]
    )
    query = select(
        VideoCost.channel_id,
        VideoCost.service,
        func.sum(VideoCost.cost_usd).label("usd"),
        func.count().label("n"),
    ).group_by(VideoCost.channel_id, VideoCost.service)
    rows = sorted(await session.execute(query), key=lambda r: (slugs.get(r[0], ""), r[1]))
    for row in rows:
        labels = [slugs.get(row.channel_id, "unknown"), row.service]
        usd.add_metric(labels, float(row.usd))
        calls.add_metric(labels, int(row.n))
    return [usd, calls]


async def _quota(
    session: AsyncSession, settings: Settings, clock: Callable[[], datetime]
) -> list[Metric]:
    """Units left per Cloud project, and each channel's units spent inside its project.

    Google counts the daily quota per project (OAuth client), so "remaining" belongs to the
    project: a per-channel figure would show every channel of a shared client the same units
    and invite adding them up. The project and membership come from ``quota_overview`` (what
    the dashboard shows); the use is read from the ledger rows themselves, so units a channel
    spent today in a project it has since left still show against that project.
    """
    remaining = GaugeMetricFamily(
        "vidgen_youtube_quota_remaining_units",
        "YouTube Data API units left today (Pacific day) per Cloud project (OAuth client); "
        "0 once Google answered quotaExceeded.",
        labels=["project"],
    )
    used = GaugeMetricFamily(
        "vidgen_youtube_quota_used_units",
        "YouTube Data API units spent today (Pacific day) by each channel in a Cloud project.",
        labels=["project", "channel"],
    )
    overview = await quota_overview(session, settings=settings, clock=clock)
    spent = {(entry.project, entry.slug): 0 for entry in overview.channels}
    slugs = {entry.channel_id: entry.slug for entry in overview.channels}
    rows = await session.execute(
        select(
            YouTubeQuotaUsage.project, YouTubeQuotaUsage.channel_id, YouTubeQuotaUsage.units_used
        ).where(YouTubeQuotaUsage.date == overview.date)
    )
    for row in rows:
        key = (row.project, slugs.get(row.channel_id, "unknown"))
        spent[key] = spent.get(key, 0) + int(row.units_used)
    for project in overview.projects:
        remaining.add_metric([project.project], project.remaining)
    for (project_name, slug), units in sorted(spent.items()):
        used.add_metric([project_name, slug], units)
    return [remaining, used]


async def render_metrics(
    session: AsyncSession, *, settings: Settings, clock: Callable[[], datetime] = utc_now
) -> bytes:
    """The exposition text of every metric, read in the caller's (read-only) transaction."""
    slugs = await _channel_slugs(session)
    families: list[Metric] = [
        await _tasks(session, slugs),
        await _step_durations(session),
        await _queue(session),
        await _retries(session, slugs),
        *await _costs(session, slugs),
        *await _quota(session, settings, clock),
    ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
