"""The boards benchmarks/notion_sync.py syncs, and the naive poller it is compared with.

A board of N rows, already in step with the database: 70% published videos, 10% waiting at the
videos review, 20% draft ideas with no task. Then 1% of the rows change (at least 2): half are
ideas a person queues on the board, half are videos the pipeline moves on (approved elsewhere,
now generating narration). Converged means every queued idea has its task and every moved video
shows "Generating Narration" on the board.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import select, update

from app.core.config import PROJECT_ROOT, asyncpg_dsn, get_settings, normalise_database_url
from app.core.database import session_scope
from app.models import Channel, NotionPage, NotionSyncState, PipelineStep, Task, TaskStatus
from app.notion.board import fingerprint
from app.notion.client import NotionClient
from app.notion.push import TASK_DIGEST
from app.pipeline.state import notion_label
from tests.fakes.notion import NotionFake
from tests.services.notion_support import board_properties

LONG_AGO = datetime.now(UTC) - timedelta(hours=3)
BENCH_PG_DIR = PROJECT_ROOT / "workspace" / "bench-postgres"


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def fresh_database() -> tuple[str, str]:
    """(admin DSN, URL) of a new migrated database; DATABASE_URL is set to it."""
    from app.core.database import start_embedded_postgres
    from app.core.migrations import upgrade_to_head

    base = asyncpg_dsn(os.environ.get("DATABASE_URL") or start_embedded_postgres(BENCH_PG_DIR))
    admin = _with_database(base, "postgres")
    name = f"vidgen_bench_notion_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = normalise_database_url(_with_database(base, name))
    await upgrade_to_head(url)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return admin, name


async def drop_database(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Scenario:
    database_id: str
    source_id: str
    ideas_queued: list[str]  # rows a person set to Queued
    videos_moved: list[str]  # rows whose task the pipeline moved on


async def build(fake: NotionFake, rows: int) -> Scenario:
    """The board and the database, in step, as a poller leaves them; then the 1% of changes."""
    database_id, source_id = fake.add_database("Videos", board_properties("select"))
    async with session_scope() as session:
        await session.execute(update(Channel).values(active=False))  # earlier runs' boards
        channel = Channel(
            slug=f"bench-{uuid.uuid4().hex[:6]}", name="Bench", notion_database_id=database_id
        )
        session.add(channel)
        await session.flush()
        ideas, reviews = [], []
        for n in range(rows):
            kind = "idea" if n % 10 in (0, 1) else "review" if n % 10 == 2 else "published"
            if kind == "idea":
                page_id = fake.add_page(
                    source_id, {"Name": f"Idea {n}", "Status": "Draft"}, edited=LONG_AGO
                )
                ideas.append(page_id)
                continue
            status = TaskStatus.AWAITING_REVIEW if kind == "review" else TaskStatus.PUBLISHED
            step = PipelineStep.VIDEOS if kind == "review" else PipelineStep.UPLOAD
            label = notion_label(status, step)
            progress = "Videos" if kind == "review" else "Done"  # no items in this database
            page_id = fake.add_page(
                source_id,
                {"Name": f"Video {n}", "Status": label, "Progress": progress},
                edited=LONG_AGO,
            )
            if kind == "review":
                reviews.append(page_id)
            session.add(
                Task(
                    channel_id=channel.id,
                    title=f"Video {n}",
                    status=status,
                    step=step,
                    notion_page_id=page_id,
                )
            )
            inputs = _inputs(f"Video {n}", label)
            session.add(
                NotionPage(
                    page_id=page_id,
                    database_id=database_id,
                    observed={
                        "status": label,
                        "progress": progress,
                        "cost": None,
                        "error": "",
                        "video": None,
                        "youtube": None,
                        "inputs": inputs,
                    },
                    pushed={"status": label, "progress": progress},
                    inputs_hash=fingerprint(inputs),
                    dirty=False,
                    in_trash=False,
                )
            )
        session.add(
            NotionSyncState(
                database_id=database_id,
                data_source_id=source_id,
                last_edited_cursor=datetime.now(UTC),
            )
        )
    async with session_scope() as session:
        await session.execute(
            update(NotionPage)
            .where(NotionPage.page_id == Task.notion_page_id)
            .values(task_digest=TASK_DIGEST)
            .execution_options(synchronize_session=False)
        )
    changed = max(2, rows // 100)
    queued, moved = ideas[: (changed + 1) // 2], reviews[: changed // 2]
    for page_id in queued:
        fake.edit_page(page_id, {"Status": "Queued"})
    async with session_scope() as session:
        for task in await session.scalars(select(Task).where(Task.notion_page_id.in_(moved))):
            task.status, task.step = TaskStatus.RUNNING, PipelineStep.NARRATION
    return Scenario(database_id, source_id, queued, moved)


def _inputs(title: str, status: str) -> dict[str, Any]:
    return {
        "title": title,
        "status": status,
        "channel": None,
        "topic": None,
        "story_direction": None,
        "priority": None,
        "plan": None,
        "review_notes": None,
        "redo_scenes": None,
    }


async def converged(fake: NotionFake, scenario: Scenario) -> bool:
    async with session_scope() as session:
        linked = set(
            await session.scalars(
                select(Task.notion_page_id).where(Task.notion_page_id.in_(scenario.ideas_queued))
            )
        )
    if linked != set(scenario.ideas_queued):
        return False
    return all(fake.values(p)["Status"] == "Generating Narration" for p in scenario.videos_moved)


async def naive_cycle(client: NotionClient, scenario: Scenario, channel_id: uuid.UUID) -> None:
    """What the original project did: read the whole board, then write every task's row."""
    rows = await client.query(scenario.source_id)
    async with session_scope() as session:
        linked = set(
            await session.scalars(
                select(Task.notion_page_id).where(
                    Task.channel_id == channel_id, Task.notion_page_id.is_not(None)
                )
            )
        )
        for row in rows:
            status = (row["properties"]["Status"].get("select") or {}).get("name")
            if status == "Queued" and row["id"] not in linked:
                title = "".join(t["plain_text"] for t in row["properties"]["Name"]["title"])
                session.add(
                    Task(
                        channel_id=channel_id,
                        title=title,
                        status=TaskStatus.QUEUED,
                        notion_page_id=row["id"],
                    )
                )
        tasks = list(
            await session.scalars(
                select(Task).where(Task.channel_id == channel_id, Task.notion_page_id.is_not(None))
            )
        )
    gate = asyncio.Semaphore(4)

    async def write(task: Task) -> None:
        async with gate:
            await client.update_page(
                str(task.notion_page_id),
                {
                    "Status": {"select": {"name": notion_label(task.status, task.step)}},
                    "Cost": {"number": float(task.total_cost_usd or 0)},
                },
            )

    await asyncio.gather(*(write(t) for t in tasks))
