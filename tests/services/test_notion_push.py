"""Pushing task state to the board: what is written, what is left alone, how often, how fast."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import ItemStatus, NotionPage, PipelineStep, Task, TaskItem, TaskStatus
from app.notion.board import fingerprint
from tests.fakes.notion import Call, NotionFake, running
from tests.services.notion_support import (
    LONG_AGO,
    add_board,
    api_calls,
    bind_channels,
    make_client,
    make_sync,
    tasks_by_page,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def _update(task_id: uuid.UUID, **fields: object) -> None:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        for name, value in fields.items():
            setattr(task, name, value)


async def _items(task_id: uuid.UUID, step: PipelineStep, done: int, total: int) -> None:
    async with session_scope() as session:
        for n in range(total):
            status = ItemStatus.COMPLETED if n < done else ItemStatus.RUNNING
            session.add(TaskItem(task_id=task_id, step=step, item_key=f"scene-{n}", status=status))


async def test_push_writes_label_progress_cost_error_and_links(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Deep dive", "Status": "Queued"})
    await sync.poll_all()
    task = (await tasks_by_page())[page_id]

    await _update(
        task.id,
        status=TaskStatus.RUNNING,
        step=PipelineStep.VIDEOS,
        total_cost_usd=Decimal("1.234"),
    )
    await _items(task.id, PipelineStep.VIDEOS, done=7, total=16)
    await sync.push_all()
    values = fake.values(page_id)
    assert (values["Status"], values["Progress"], values["Cost"]) == (
        "Generating Video",
        "Videos 7/16",
        1.23,
    )

    await _update(
        task.id,
        status=TaskStatus.PUBLISHED,
        step=PipelineStep.UPLOAD,
        final_video_key="channels/whales/final.mp4",
        youtube_url="https://www.youtube.com/watch?v=abc123",
    )
    await sync.push_all()
    values = fake.values(page_id)
    assert values["Status"] == "Published" and values["Progress"] == "Done"
    assert values["YouTube"] == "https://www.youtube.com/watch?v=abc123"
    assert values["Video"] == (tmp_path / "channels" / "whales" / "final.mp4").resolve().as_uri()

    mark = fake.mark()
    await sync.poll_all()  # our own writes come back in the next poll ...
    await sync.push_all()
    assert api_calls(fake.calls_since(mark), "PATCH") == []  # ... and cause nothing


async def test_a_field_edited_by_a_person_after_our_write_is_left_alone(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Deep dive", "Status": "Queued"})
    await sync.poll_all()
    task = (await tasks_by_page())[page_id]
    await _update(
        task.id, status=TaskStatus.RUNNING, step=PipelineStep.ASSETS, total_cost_usd=Decimal("1.5")
    )
    await sync.push_all()
    assert fake.values(page_id)["Cost"] == 1.5

    fake.edit_page(page_id, {"Cost": 99, "Progress": "my own note"})
    await sync.poll_all()
    await _update(task.id, step=PipelineStep.VIDEOS, total_cost_usd=Decimal("2.5"))
    await sync.push_all()

    values = fake.values(page_id)
    assert values["Status"] == "Generating Video"  # ours, still written
    assert values["Cost"] == 99 and values["Progress"] == "my own note"  # theirs, kept


async def test_changes_between_cycles_coalesce_into_one_patch_per_row(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Deep dive", "Status": "Queued"})
    await sync.poll_all()
    task = (await tasks_by_page())[page_id]
    mark = fake.mark()
    for step in (PipelineStep.PLAN, PipelineStep.ASSETS, PipelineStep.COMPOSITES):
        await _update(task.id, status=TaskStatus.RUNNING, step=step)
    await _update(task.id, status=TaskStatus.AWAITING_REVIEW)
    await sync.push_all()
    [patch] = api_calls(fake.calls_since(mark), "PATCH")
    assert patch.body["properties"]["Status"] == {"status": {"name": "Composites Ready"}}


async def _linked_rows(
    fake: NotionFake, source_id: str, database_id: str, count: int
) -> dict[str, uuid.UUID]:
    """``count`` queued tasks whose rows were already processed (as a poll leaves them)."""
    from app.models import Channel

    pages: dict[str, uuid.UUID] = {}
    async with session_scope() as session:
        channel = await session.scalar(select(Channel))
        assert channel is not None
        for n in range(count):
            page_id = fake.add_page(
                source_id, {"Name": f"Video {n}", "Status": "Queued"}, edited=LONG_AGO
            )
            task = Task(
                id=uuid.uuid4(),
                channel_id=channel.id,
                title=f"Video {n}",
                status=TaskStatus.QUEUED,
                notion_page_id=page_id,
            )
            session.add(task)
            inputs = {"title": f"Video {n}", "status": "Queued"}
            session.add(
                NotionPage(
                    page_id=page_id,
                    database_id=database_id,
                    observed={"status": "Queued", "inputs": inputs},
                    pushed={"status": "Queued"},
                    inputs_hash=fingerprint(inputs),
                    dirty=False,
                    in_trash=False,
                )
            )
            pages[page_id] = task.id
    return pages


def _max_in_window(calls: list[Call], window: float) -> int:
    times = sorted(c.at for c in calls)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_burst_of_200_changes_stays_under_the_rate_and_loses_none(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    """Time runs 10x fast here: 30 requests/s for 3, so any 1 s window stands for 10 s."""
    rate, scale = 30.0, 10.0
    with running(NotionFake(rate=rate, window=1.0)) as (url, fake):
        database_id, source_id = add_board(fake)
        await bind_channels(tmp_path, database_id)
        pages = await _linked_rows(fake, source_id, database_id, 200)
        sync = make_sync(make_client(url, app_db, rate=rate), tmp_path, max_writes=1000)
        await sync.board(database_id)
        for status in (TaskStatus.RUNNING, TaskStatus.AWAITING_REVIEW):  # two changes per task
            async with session_scope() as session:
                for task in await session.scalars(select(Task).where(Task.id.in_(pages.values()))):
                    task.status, task.step = status, PipelineStep.PLAN

        mark = fake.mark()
        await sync.push_all()

        calls = fake.calls_since(mark)
        patches = [c for c in calls if c.method == "PATCH" and c.status == 200]
        assert len(patches) == 200  # one write per row, both changes in it
        # At 10x speed one request of scheduling jitter (0.1 s of real time at 3 req/s) is
        # allowed; without the limiter the burst would put all 200 in one window.
        assert _max_in_window(calls, window=10.0 / scale) <= rate * 10.0 / scale + 1
        assert [p for p in pages if fake.values(p)["Status"] != "Plan Ready"] == []
