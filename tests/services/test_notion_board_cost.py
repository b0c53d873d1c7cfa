"""What a board costs when nothing is happening: a broken board backs off, an idle one is cheap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from app.core.database import session_scope
from app.models import NotionSyncState, PipelineStep, Task, TaskStatus
from app.notion.problems import board_problems
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    add_board,
    api_calls,
    bind_channels,
    board_properties,
    make_client,
    make_sync,
)

pytestmark = pytest.mark.timeout(180)


class Clock:
    """The fake's wall clock, moved by hand (Notion truncates last_edited_time to the minute)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def test_a_board_with_a_wrong_type_column_backs_off_and_says_so_once(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = fake.add_database(
        "Videos", board_properties() | {"Cost": {"rich_text": {}}}
    )
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    mark = fake.mark()
    with capture_logs() as logs:
        for _ in range(12):  # a minute of leader cycles: one poll, twelve pushes
            await sync.poll_all()
            await sync.push_all()
    reads = api_calls(fake.calls_since(mark), "GET", "/data_sources/")
    assert len(reads) == 1  # read once, then left alone until the back-off ends
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1, errors
    assert "Cost is a rich_text property; it must be number" in str(errors[0])

    async with session_scope() as session:
        [problem] = await board_problems(session)
    assert problem.database_id == database_id
    assert "Cost is a rich_text property; it must be number" in problem.message
    assert "vidgen notion setup" in problem.message

    # fixed in Notion; once the back-off is over the board works and the problem is gone
    fake.data_sources[source_id].properties["Cost"] = fake.schema_object("Cost", "number", {})
    async with session_scope() as session:
        await session.execute(
            update(NotionSyncState)
            .where(NotionSyncState.database_id == database_id)
            .values(schema=NotionSyncState.schema.op("-")("problem"))
        )
    reports = await sync.poll_all()
    assert [r.error for r in reports] == [None]
    async with session_scope() as session:
        assert await board_problems(session) == []


async def test_an_idle_board_costs_one_request_per_poll_after_a_burst_of_writes(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    with running(NotionFake(rate=1000, clock=clock)) as (url, fake):
        database_id, source_id = add_board(fake)
        await bind_channels(tmp_path, database_id)
        sync = make_sync(make_client(url, app_db), tmp_path)
        pages = [
            fake.add_page(source_id, {"Name": f"Video {n}", "Status": "Queued"})
            for n in range(150)  # two pages of query results
        ]
        await sync.poll_all()
        async with session_scope() as session:  # a burst: every row's task moves ...
            await session.execute(
                update(Task).values(status=TaskStatus.RUNNING, step=PipelineStep.PLAN)
            )
        for _ in range(3):  # ... and the pusher writes every row
            await sync.push_all()
        assert {fake.values(p)["Status"] for p in pages} == {"Planning"}

        costs = []
        for _ in range(6):  # idle minutes, one poll a minute
            clock.now += timedelta(minutes=1)
            mark = fake.mark()
            await sync.poll_all()
            await sync.push_all()
            costs.append(len(fake.calls_since(mark)))
        assert costs[-3:] == [1, 1, 1], costs  # past the overlap: one query a poll
