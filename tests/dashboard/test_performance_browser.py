"""The Performance page in a real browser (Debian's Chromium, headless, driven by Playwright).

The app is served by uvicorn in this test's event loop (lifespan off: no leader, so no collector
touches the seeded figures) against this test's database. Three published videos with their
fetches and ledger costs are seeded; the page must show each one's views at 24 h / 7 d and its
cost per 1k views as worked out by hand below, reorder on a column header, draw one series per
video, and total the last 28 days. A screenshot is saved to /tmp/perf.png.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.time import utc_now
from app.models import Channel, PipelineStep, Task, TaskStatus, VideoCost, VideoStat
from tests.dashboard.test_browser import ARTIFACTS, CHROMIUM, _not_blank
from tests.fakes.server import free_port
from tests.routes.conftest import API_TOKEN
from tests.routes.factories import add_channel, add_rows, add_task, new_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="browser tests need /usr/bin/chromium"),
]
async_api = pytest.importorskip("playwright.async_api")

SHOT = Path("/tmp/perf.png")
# title, days since publication, ledger cost, {hours after publication: views}
VIDEOS: list[tuple[str, float, str, dict[int, int]]] = [
    ("Whales at dusk", 10, "1.20", {1: 40, 24: 500, 168: 2400, 216: 3000}),
    ("Lighthouse keeper", 9, "0.75", {24: 900, 168: 1200, 200: 1500}),
    ("Desert bloom", 3, "2.00", {24: 200, 48: 250}),
]


@pytest_asyncio.fixture
async def live(api_app: FastAPI, app_db: AsyncEngine) -> AsyncIterator[str]:
    """The app on a loopback port, served from this event loop (the engine's loop)."""
    port = free_port()
    config = uvicorn.Config(
        api_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)


async def _seed() -> dict[str, Task]:
    channel: Channel = await add_channel("perf", name="Ocean Facts")
    now = utc_now()
    tasks: dict[str, Task] = {}
    for index, (title, days, cost, fetches) in enumerate(VIDEOS):
        published = now - timedelta(days=days)
        task = await add_task(
            channel,
            title=title,
            status=TaskStatus.PUBLISHED,
            youtube_video_id=f"v{new_id().hex[:10]}",
            youtube_url=f"https://www.youtube.com/watch?v=perf{index}",
            completed_at=published,
            total_cost_usd=Decimal(cost),
        )
        stats = [
            VideoStat(
                task_id=task.id,
                channel_id=channel.id,
                youtube_video_id=task.youtube_video_id,
                mark_hours=hours,
                fetched_at=published + timedelta(hours=hours, minutes=2),
                views=views,
                likes=views // 20,
                comments=views // 100,
            )
            for hours, views in fetches.items()
        ]
        ledger = VideoCost(
            task_id=task.id,
            channel_id=channel.id,
            step=PipelineStep.VIDEOS,
            service="kie",
            cost_usd=Decimal(cost),
            idempotency_key=f"perf-{index}",
            created_at=published - timedelta(hours=1),
        )
        await add_rows(*stats, ledger)
        tasks[title] = task
    return tasks


async def _rows(page: Any) -> list[list[str]]:
    """The table's rows as the cells' visible text."""
    cells: list[list[str]] = await page.eval_on_selector_all(
        "table.performance tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))",
    )
    return cells


async def _titles(page: Any) -> list[str]:
    return [row[0].replace("YouTube", "").strip() for row in await _rows(page)]


async def test_performance_page_in_a_browser(live: str) -> None:
    tasks = await _seed()
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, base_url=live
            )
            page = await context.new_page()
            await page.goto("/dashboard/performance")
            assert "/dashboard/sign-in" in page.url
            await page.get_by_label("API token").fill(API_TOKEN)
            await page.get_by_label("Your name").fill("Tester")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(lambda url: "sign-in" not in url)
            await page.goto("/dashboard/performance?channel=perf")
            await page.get_by_role("heading", name="Published videos").wait_for()
            assert "Ocean Facts" in await page.locator("h1").inner_text()

            # --- the table, newest first; cost per 1k = ledger total / latest views x 1000
            rows = await _rows(page)
            assert await _titles(page) == ["Desert bloom", "Lighthouse keeper", "Whales at dusk"]
            by_title = {row[0].replace("YouTube", "").strip(): row for row in rows}
            # cells: title, published, 24 h, 7 d, now, avg %, cost, cost / 1k
            assert by_title["Whales at dusk"][2:] == [
                "500",
                "2,400",
                "3,000",
                "-",
                "$1.20",
                "$0.40",  # 1.20 / 3000 x 1000
            ]
            assert by_title["Lighthouse keeper"][2:] == [
                "900",
                "1,200",
                "1,500",
                "-",
                "$0.75",
                "$0.50",  # 0.75 / 1500 x 1000
            ]
            assert by_title["Desert bloom"][2:] == [
                "200",
                "-",
                "250",
                "-",
                "$2.00",
                "$8.00",  # 2.00 / 250 x 1000; no 7 d fetch yet
            ]
            row_ids = await page.eval_on_selector_all(
                "table.performance tbody tr", "rows => rows.map(r => r.dataset.taskId)"
            )
            assert row_ids == [
                str(tasks[t].id) for t in ("Desert bloom", "Lighthouse keeper", "Whales at dusk")
            ]

            # --- the chart: one series per video, each line from the origin through its fetches
            series = page.locator("svg.chart g.series")
            assert await series.count() == 3
            titles = [await series.nth(i).locator("title").text_content() for i in range(3)]
            assert sorted(titles) == sorted(
                [
                    "Whales at dusk: 3,000 views",
                    "Lighthouse keeper: 1,500 views",
                    "Desert bloom: 250 views",
                ]
            )
            points = [
                len(str(await series.nth(i).locator("polyline").get_attribute("points")).split())
                for i in range(3)
            ]
            assert sorted(points) == [3, 4, 5]  # origin + 2, 3 and 4 fetches
            box = await page.locator("svg.chart").bounding_box()
            assert box and box["width"] > 600 and box["height"] > 200

            # --- 28-day totals: spend 1.20 + 0.75 + 2.00 = 3.95; views 3000 + 1500 + 250 = 4750;
            # 3.95 / 4750 x 1000 = 0.8316 -> $0.83
            totals = page.locator(".totals")
            assert await totals.locator('[data-total="spend"]').inner_text() == "$3.95"
            assert await totals.locator('[data-total="views"]').inner_text() == "4,750"
            assert await totals.locator('[data-total="cost-per-1k"]').inner_text() == "$0.83"

            await page.screenshot(path=str(SHOT), full_page=True)
            _not_blank(SHOT, (1280, 800))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(SHOT, ARTIFACTS / "performance-desktop.png")

            # --- sorting: a header reorders the rows (most views at 24 h first, then fewest)
            await page.get_by_role("link", name="Views 24 h").click()
            await page.wait_for_url("**sort=views_24h**")
            assert await _titles(page) == ["Lighthouse keeper", "Whales at dusk", "Desert bloom"]
            header = page.locator("th[aria-sort]")
            assert await header.get_attribute("aria-sort") == "descending"
            await page.get_by_role("link", name="Views 24 h").click()
            await page.wait_for_url("**descending=false**")
            assert await _titles(page) == ["Desert bloom", "Whales at dusk", "Lighthouse keeper"]
            assert await header.get_attribute("aria-sort") == "ascending"
            await page.get_by_role("link", name="Cost / 1k views").click()
            await page.wait_for_url("**sort=cost_per_1k**")
            assert await _titles(page) == ["Desert bloom", "Lighthouse keeper", "Whales at dusk"]
        finally:
            await browser.close()
