"""Fair release of queued tasks: round-robin across channels, max_concurrent, priority then age."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.config import load_channel_configs
from app.channels.sync import sync_channels
from app.core.database import session_scope
from app.core.time import utc_now
from app.models import Channel, Task, TaskStatus
from app.pipeline.dispatcher import dispatch_pending
from tests.e2e.harness import write_channel


async def _channels(
    tmp_path: Path, slugs: list[str], max_concurrent: int = 1
) -> dict[str, uuid.UUID]:
    for slug in slugs:
        write_channel(tmp_path, slug, max_concurrent=max_concurrent)
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(tmp_path))
    async with session_scope() as session:
        rows = (await session.execute(select(Channel.slug, Channel.id))).all()
    return {slug: channel_id for slug, channel_id in rows}


async def _queue(
    channel_id: uuid.UUID, title: str, *, priority: int = 0, age_s: int = 0
) -> uuid.UUID:
    task = Task(
        channel_id=channel_id,
        title=title,
        status=TaskStatus.QUEUED,
        priority=priority,
        queued_at=utc_now() - timedelta(seconds=age_s),
    )
    async with session_scope() as session:
        session.add(task)
    return task.id


async def _finish(task_ids: list[uuid.UUID]) -> None:
    async with session_scope() as session:
        await session.execute(
            text("UPDATE tasks SET status = 'published' WHERE id = ANY(:ids)"), {"ids": task_ids}
        )


async def _titles(task_ids: list[uuid.UUID]) -> list[str]:
    async with session_scope() as session:
        rows = dict(
            (await session.execute(select(Task.id, Task.title).where(Task.id.in_(task_ids)))).all()
        )
    return [rows[t] for t in task_ids]


async def test_dispatch_interleaves_channels_and_respects_priority(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channels = await _channels(tmp_path, ["alpha", "bravo", "charlie"])
    # alpha's backlog is queued first and is largest: a FIFO dispatcher would drain it first
    for slug, channel_id in channels.items():
        for n in range(10):
            # priorities 0..4 twice; older tasks have larger age
            await _queue(channel_id, f"{slug}-{n}", priority=n % 5, age_s=100 - n)

    order: list[str] = []
    for _ in range(20):
        released = await dispatch_pending()
        if not released:
            break
        order += await _titles(released)
        await _finish(released)

    assert len(order) == 30
    # round-robin: every consecutive window of three holds one task of each channel
    for start in range(0, 30, 3):
        window = {title.split("-")[0] for title in order[start : start + 3]}
        assert window == {"alpha", "bravo", "charlie"}, order
    # inside a channel: highest priority first, then oldest first
    alpha = [t for t in order if t.startswith("alpha")]
    assert alpha == [
        "alpha-4",
        "alpha-9",
        "alpha-3",
        "alpha-8",
        "alpha-2",
        "alpha-7",
        "alpha-1",
        "alpha-6",
        "alpha-0",
        "alpha-5",
    ]


async def test_max_concurrent_bounds_running_tasks_per_channel(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channels = await _channels(tmp_path, ["delta"], max_concurrent=2)
    for n in range(5):
        await _queue(channels["delta"], f"delta-{n}")

    first = await dispatch_pending()
    assert len(first) == 2
    assert await dispatch_pending() == []  # both slots busy
    await _finish(first[:1])
    assert len(await dispatch_pending()) == 1
    async with session_scope() as session:
        running = (
            (await session.execute(select(Task).where(Task.status == TaskStatus.RUNNING)))
            .scalars()
            .all()
        )
    assert len(running) == 2
    # a released task entered the pipeline: its plan item has a queued job
    async with session_scope() as session:
        jobs = (
            await session.execute(
                text("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'item.planner'")
            )
        ).scalar_one()
    assert jobs == 3


async def test_inactive_channel_gets_nothing(app_db: AsyncEngine, tmp_path: Path) -> None:
    channels = await _channels(tmp_path, ["echo"])
    await _queue(channels["echo"], "echo-0")
    async with session_scope() as session:
        await session.execute(text("UPDATE channels SET active = false"))
    assert await dispatch_pending() == []
