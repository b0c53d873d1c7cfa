"""The statistics columns on the board: added by setup, filled by the pusher, one PATCH per
row per refresh and none when no figure changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import Task, TaskStatus, VideoStat
from app.notion.setup import setup_board
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    add_board,
    api_calls,
    bind_channels,
    make_client,
    make_sync,
    tasks_by_page,
)

pytestmark = pytest.mark.timeout(180)
STATS_COLUMNS = {"Views", "Likes", "Avg view %", "Cost per 1k views", "Stats updated"}


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def _publish(task_id: uuid.UUID, published: datetime) -> None:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        task.status, task.completed_at = TaskStatus.PUBLISHED, published
        task.youtube_video_id, task.youtube_url = "vid00000001", "https://youtu.be/vid00000001"
        task.total_cost_usd = Decimal("1.50")


async def _fetch(task: Task, mark: int, at: datetime, views: int, pct: float | None) -> None:
    async with session_scope() as session:
        session.add(
            VideoStat(
                task_id=task.id,
                channel_id=task.channel_id,
                youtube_video_id="vid00000001",
                mark_hours=mark,
                fetched_at=at,
                views=views,
                likes=views // 20,
                comments=0,
                average_view_percentage=pct,
            )
        )


async def test_setup_adds_the_columns_and_the_pusher_writes_them_coalesced(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)  # a board from before these columns existed
    client = make_client(url, app_db)
    result = await setup_board(client, database_id)
    assert {c.rsplit(" (", 1)[0] for c in result.added_columns} == STATS_COLUMNS
    kinds = {
        name: prop["type"]
        for name, prop in fake.render_source(fake.data_sources[source_id], "2025-09-03")[
            "properties"
        ].items()
    }
    assert {c: kinds[c] for c in STATS_COLUMNS} == {
        "Views": "number",
        "Likes": "number",
        "Avg view %": "number",
        "Cost per 1k views": "number",
        "Stats updated": "date",
    }

    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Whales", "Status": "Queued"})
    await sync.poll_all()
    task = (await tasks_by_page())[page_id]
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    await _publish(task.id, published)
    await sync.push_all()  # Published, the YouTube link; no figures yet
    assert fake.values(page_id).get("Views") is None
    assert fake.values(page_id).get("Stats updated") is None

    first = published + timedelta(hours=1, minutes=2)
    await _fetch(task, 1, first, 120, None)
    mark = fake.mark()
    await sync.push_all()
    await sync.push_all()  # nothing new: no second write
    [patch] = api_calls(fake.calls_since(mark), "PATCH")
    assert set(patch.body["properties"]) == {"Views", "Likes", "Cost per 1k views", "Stats updated"}
    values = fake.values(page_id)
    assert (values["Views"], values["Likes"], values["Cost per 1k views"]) == (120, 6, 12.5)
    assert values["Stats updated"].startswith(first.strftime("%Y-%m-%dT%H:%M"))

    # The next fetch finds the very same figures: the row is looked at, nothing is written.
    await _fetch(task, 24, published + timedelta(hours=24, minutes=1), 120, None)
    mark = fake.mark()
    await sync.push_all()
    assert api_calls(fake.calls_since(mark), "PATCH") == []

    # Figures moved: exactly one PATCH with every changed column.
    latest = published + timedelta(hours=48, minutes=3)
    await _fetch(task, 48, latest, 600, 43.27)
    mark = fake.mark()
    await sync.push_all()
    await sync.push_all()
    [patch] = api_calls(fake.calls_since(mark), "PATCH")
    assert set(patch.body["properties"]) == STATS_COLUMNS
    values = fake.values(page_id)
    assert (values["Views"], values["Likes"], values["Avg view %"]) == (600, 30, 43.3)
    assert values["Cost per 1k views"] == 2.5  # $1.50 / 600 x 1000
    assert values["Stats updated"].startswith(latest.strftime("%Y-%m-%dT%H:%M"))
