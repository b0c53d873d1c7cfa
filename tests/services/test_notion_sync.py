"""Polling the board: only rows edited since the cursor, every page of results, bad rows isolated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import NotionSyncState, Task, TaskStatus
from app.notion.board import INPUT_ERROR_LABEL
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    LONG_AGO,
    add_board,
    api_calls,
    bind_boards,
    bind_channels,
    make_client,
    make_sync,
    page_state,
    tasks_by_page,
)


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def test_first_poll_picks_up_every_queued_row_across_pages(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    queued = {
        fake.add_page(source_id, {"Name": f"Video {i}", "Status": "Queued", "Topic": f"topic {i}"})
        for i in range(250)
    }
    for i in range(40):
        fake.add_page(source_id, {"Name": f"Idea {i}", "Status": "Draft"})
    sync = make_sync(make_client(url, app_db), tmp_path)

    mark = fake.mark()
    [report] = await sync.poll_all()

    tasks = await tasks_by_page()
    assert set(tasks) == queued
    assert {t.status for t in tasks.values()} == {TaskStatus.QUEUED}
    assert tasks[next(iter(queued))].topic.startswith("topic ")
    queries = api_calls(fake.calls_since(mark), "POST", "/query")
    assert len(queries) == 3  # 100 + 100 + 50: every page followed
    assert [("start_cursor" in q.body) for q in queries] == [False, True, True]
    assert report.outcomes == {"created": 250}


async def test_incremental_poll_follows_every_page_of_edited_rows(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    rows = [fake.add_page(source_id, {"Name": f"Idea {i}"}, edited=LONG_AGO) for i in range(300)]
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()  # sets the cursor; nothing asks for action yet
    assert await tasks_by_page() == {}

    for page_id in rows[:150]:
        fake.edit_page(page_id, {"Status": "Queued"})
    mark = fake.mark()
    await sync.poll_all()

    assert set(await tasks_by_page()) == set(rows[:150])
    assert len(api_calls(fake.calls_since(mark), "POST", "/query")) == 2


async def test_poll_of_a_1000_row_board_with_5_changes_costs_at_most_2_requests(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    rows = [
        fake.add_page(source_id, {"Name": f"Idea {i}", "Status": "Draft"}, edited=LONG_AGO)
        for i in range(1000)
    ]
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()
    await sync.push_all()

    changed = rows[100:105]
    for page_id in changed:
        fake.edit_page(page_id, {"Status": "Queued", "Topic": "edited"})
    mark = fake.mark()
    await sync.poll_all()
    await sync.push_all()

    calls = fake.calls_since(mark)
    assert len(calls) <= 2, [(c.method, c.path) for c in calls]
    tasks = await tasks_by_page()
    assert set(tasks) == set(changed)
    assert all(t.topic == "edited" for t in tasks.values())


async def test_overlap_and_our_own_writes_are_not_processed_twice(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()
    page_id = fake.add_page(source_id, {"Name": "One", "Status": "Queued"})
    await sync.poll_all()
    # within the minute of overlap the same row comes back: recognised, not re-created
    [again] = await sync.poll_all()
    assert again.rows == 1 and again.outcomes == {"skipped": 1}
    assert len(await tasks_by_page()) == 1
    async with session_scope() as session:
        state = await session.get(NotionSyncState, database_id)
        assert state is not None and state.data_source_id == source_id
        assert state.last_edited_cursor is not None
    assert (await page_state(page_id)).inputs_hash


async def test_bad_rows_get_the_error_label_and_the_others_proceed(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id, ["whales", "sharks"])
    good = [
        fake.add_page(source_id, {"Name": f"Good {i}", "Status": "Queued", "Channel": "whales"})
        for i in range(3)
    ]
    bad = {
        "no title": fake.add_page(source_id, {"Status": "Queued", "Channel": "whales"}),
        "unknown channel": fake.add_page(
            source_id, {"Name": "B", "Status": "Queued", "Channel": "cats"}
        ),
        "no channel": fake.add_page(source_id, {"Name": "C", "Status": "Queued"}),
        "bad priority": fake.add_page(
            source_id, {"Name": "D", "Status": "Queued", "Channel": "sharks", "Priority": 1000}
        ),
        "bad plan": fake.add_page(
            source_id, {"Name": "E", "Status": "Queued", "Channel": "sharks", "Plan": "{not json"}
        ),
        "approve without task": fake.add_page(
            source_id, {"Name": "F", "Status": "Approve", "Channel": "sharks"}
        ),
    }
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()
    await sync.push_all()

    tasks = await tasks_by_page()
    assert set(tasks) == set(good)
    for page_id in good:
        assert fake.values(page_id)["Status"] == "Queued"
        assert not fake.values(page_id).get("Error")
    expected = {
        "no title": "no title",
        "unknown channel": "unknown channel 'cats'",
        "no channel": "Channel is empty: set it to one of sharks, whales",
        "bad priority": "Priority must be a whole number from -100 to 100",
        "bad plan": "Plan is not a valid production plan",
        "approve without task": "set Status to Queued to start one",
    }
    for name, page_id in bad.items():
        values = fake.values(page_id)
        assert values["Status"] == INPUT_ERROR_LABEL, name
        assert expected[name] in values["Error"], (name, values["Error"])

    # fixing the row and queueing it again creates the task and clears the complaint
    fake.edit_page(bad["no title"], {"Name": "Now titled", "Status": "Queued"})
    await sync.poll_all()
    await sync.push_all()
    fixed = (await tasks_by_page())[bad["no title"]]
    assert fixed.title == "Now titled"
    assert fake.values(bad["no title"])["Status"] == "Queued"
    assert not fake.values(bad["no title"])["Error"]


async def test_a_board_that_is_not_set_up_is_reported_and_other_boards_proceed(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    broken_id, _ = fake.add_database("Broken", {"Cost": {"rich_text": {}}})
    good_id, good_source = add_board(fake)
    await bind_boards(tmp_path, {"broken": broken_id, "good": good_id})
    page_id = fake.add_page(good_source, {"Name": "Fine", "Status": "Queued"})
    sync = make_sync(make_client(url, app_db), tmp_path)

    reports = {r.database_id: r for r in await sync.poll_all()}

    error = reports[broken_id].error or ""
    assert "the Status column is missing" in error
    assert "Cost is a rich_text property; it must be number" in error
    assert f"vidgen notion setup {broken_id}" in error
    assert set(await tasks_by_page()) == {page_id}


async def test_webhook_events_fetch_each_named_page_once(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    from app.models import WebhookEvent

    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()
    page_id = fake.add_page(source_id, {"Name": "From a webhook", "Status": "Queued"})
    async with session_scope() as session:
        for _ in range(3):  # Notion batches and retries: three events name the same page
            event = fake.webhook_event("page.properties_updated", page_id)
            session.add(
                WebhookEvent(
                    id=f"notion:{event['id']}",
                    source="notion",
                    event_type=event["type"],
                    payload=event,
                )
            )
    mark = fake.mark()

    assert await sync.process_events() is False
    calls = fake.calls_since(mark)
    assert [(c.method, c.path) for c in calls] == [("GET", f"/v1/pages/{page_id}")]
    assert set(await tasks_by_page()) == {page_id}
    async with session_scope() as session:
        pending = await session.scalars(
            select(WebhookEvent).where(WebhookEvent.processed_at.is_(None))
        )
        assert list(pending) == []


async def test_a_deleted_row_cancels_its_queued_task(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Doomed", "Status": "Queued"})
    await sync.poll_all()
    fake.trash_page(page_id)
    await sync._follow_page(page_id)
    async with session_scope() as session:
        task = await session.scalar(select(Task).where(Task.notion_page_id == page_id))
        assert task is not None and task.status == TaskStatus.CANCELLED
        assert task.status_reason == "its Notion row was deleted"
