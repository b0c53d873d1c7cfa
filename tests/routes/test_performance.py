"""GET /api/v1/videos/{task_id}/stats and /api/v1/channels/{channel_id}/performance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx

from app.core.time import utc_now
from app.models import PipelineStep, TaskStatus, VideoCost, VideoStat
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task, new_id


def _stat(task: object, mark: int, views: int | None, *, pct: float | None = None) -> VideoStat:
    published = task.completed_at  # type: ignore[attr-defined]
    return VideoStat(
        task_id=task.id,  # type: ignore[attr-defined]
        channel_id=task.channel_id,  # type: ignore[attr-defined]
        youtube_video_id=task.youtube_video_id,  # type: ignore[attr-defined]
        mark_hours=mark,
        fetched_at=published + timedelta(hours=mark, minutes=3),
        views=views,
        likes=None if views is None else views // 20,
        comments=None if views is None else views // 100,
        average_view_percentage=pct,
    )


async def _published(channel: object, title: str, days_ago: float, cost: str) -> object:
    return await add_task(
        channel,  # type: ignore[arg-type]
        title=title,
        status=TaskStatus.PUBLISHED,
        youtube_video_id=f"v{new_id().hex[:10]}",
        youtube_url="https://www.youtube.com/watch?v=x",
        completed_at=utc_now() - timedelta(days=days_ago),
        total_cost_usd=Decimal(cost),
    )


async def test_stats_history_is_the_fetches_oldest_first(client: httpx.AsyncClient) -> None:
    channel = await add_channel("perf")
    task = await _published(channel, "Whales", 10, "1.20")
    await add_rows(_stat(task, 24, 500), _stat(task, 1, 40), _stat(task, 168, 2400, pct=41.5))

    response = await client.get(f"/api/v1/videos/{task.id}/stats")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    history = body["data"]["history"]
    assert [(h["mark_hours"], h["views"]) for h in history] == [(1, 40), (24, 500), (168, 2400)]
    assert history[2]["average_view_percentage"] == 41.5 and history[0]["likes"] == 2

    assert_error(await client.get(f"/api/v1/videos/{new_id()}/stats"), 404, "TASK_NOT_FOUND")


async def test_performance_table_costs_per_view_and_28_day_totals(
    client: httpx.AsyncClient,
) -> None:
    channel = await add_channel("perf")
    old = await _published(channel, "Old one", 40, "2.00")
    new = await _published(channel, "New one", 8, "1.00")
    await _published(channel, "Fresh", 0.01, "0.50")  # not fetched yet
    await add_task(channel, title="Still running", status=TaskStatus.RUNNING)
    await add_rows(
        _stat(old, 24, 1000),
        _stat(old, 168, 3000),
        _stat(old, 24 * 30, 4000, pct=38.0),  # the 24 h and 7 d fetches were 39 and 33 days ago
        _stat(old, 24 * 39, 5000, pct=37.5),
        _stat(new, 24, 800),
        _stat(new, 168, 2000, pct=52.25),
        VideoCost(
            task_id=new.id,  # type: ignore[attr-defined]
            channel_id=channel.id,
            step=PipelineStep.VIDEOS,
            service="kie",
            cost_usd=Decimal("1.00"),
            idempotency_key="perf-new-1",
            created_at=utc_now() - timedelta(days=8),
        ),
    )

    response = await client.get("/api/v1/channels/perf/performance?sort=views&descending=true")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [v["title"] for v in data["videos"]] == ["Old one", "New one", "Fresh"]
    old_row, new_row, fresh_row = data["videos"]
    assert (old_row["views_24h"], old_row["views_7d"], old_row["views"]) == (1000, 3000, 5000)
    assert old_row["average_view_percentage"] == 37.5
    assert Decimal(old_row["cost_per_1k_views"]) == Decimal("0.4")  # $2.00 / 5000 x 1000
    assert Decimal(new_row["cost_per_1k_views"]) == Decimal("0.5")  # $1.00 / 2000 x 1000
    assert [p["views"] for p in new_row["series"]] == [800, 2000]
    assert new_row["series"][0]["hours"] == 24.05
    assert fresh_row["views"] is None and fresh_row["cost_per_1k_views"] is None

    totals = data["totals_28d"]
    # views gained in 28 days: old 5000 - 3000 before the window, new 2000, fresh 0
    assert totals["views"] == 4000 and Decimal(totals["spend_usd"]) == Decimal("1.00")
    assert Decimal(totals["cost_per_1k_views"]) == Decimal("0.25")
    assert data["analytics_missing"] is False

    by_cost = await client.get(
        f"/api/v1/channels/{channel.id}/performance?sort=cost&descending=false"
    )
    assert [v["title"] for v in by_cost.json()["data"]["videos"]] == ["Fresh", "New one", "Old one"]
    assert_error(await client.get("/api/v1/channels/nope/performance"), 404, "CHANNEL_NOT_FOUND")


async def test_performance_routes_need_the_token_and_are_in_the_schema(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    assert_error(await anon_client.get(f"/api/v1/videos/{new_id()}/stats"), 401, "UNAUTHORIZED")
    assert_error(await anon_client.get("/api/v1/channels/x/performance"), 401, "UNAUTHORIZED")
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/videos/{task_id}/stats" in paths
    assert "/api/v1/channels/{channel_id}/performance" in paths
    schema = paths["/api/v1/channels/{channel_id}/performance"]["get"]
    assert {p["name"] for p in schema["parameters"]} >= {"channel_id", "sort", "descending"}
