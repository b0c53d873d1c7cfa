"""The Error column tells the truth: hand-typed pipeline labels, fixed rows, refused writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import PipelineStep, TaskStatus
from app.notion.board import INPUT_ERROR_LABEL
from app.notion.push import MAX_WRITE_ATTEMPTS
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    add_board,
    api_calls,
    bind_channels,
    make_client,
    make_sync,
    page_state,
    tasks_by_page,
)
from tests.services.test_notion_push import _update

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def test_a_new_row_with_a_pipeline_label_typed_by_hand_gets_an_input_error(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    await sync.poll_all()  # the cursor is set: later rows are read whatever their label
    typed = fake.add_page(source_id, {"Name": "Whale song", "Status": "Planning"})
    notebook = fake.add_page(source_id, {"Name": "An idea", "Status": "Draft"})
    await sync.poll_all()
    await sync.push_all()

    assert await tasks_by_page() == {}
    values = fake.values(typed)
    assert values["Status"] == INPUT_ERROR_LABEL
    assert "'Planning' is set by the pipeline" in values["Error"]
    assert "Queued" in values["Error"]
    assert fake.values(notebook)["Status"] == "Draft" and not fake.values(notebook).get("Error")


async def test_a_fixed_row_left_at_input_error_loses_its_stale_error(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Status": "Queued", "Priority": 1000})
    await sync.poll_all()
    await sync.push_all()
    assert "no title" in fake.values(page_id)["Error"]

    fake.edit_page(page_id, {"Name": "Now titled"})  # still at Input Error, priority still bad
    await sync.poll_all()
    await sync.push_all()
    assert "Priority must be a whole number" in fake.values(page_id)["Error"]  # the news

    fake.edit_page(page_id, {"Priority": 5})  # fixed, Status left at Input Error
    await sync.poll_all()
    await sync.push_all()
    values = fake.values(page_id)
    assert values["Status"] == INPUT_ERROR_LABEL and not values.get("Error")
    assert (await page_state(page_id)).row_error is None
    assert await tasks_by_page() == {}  # nothing starts until Queued is set

    fake.edit_page(page_id, {"Status": "Queued"})
    await sync.poll_all()
    await sync.push_all()
    assert fake.values(page_id)["Status"] == "Queued" and page_id in await tasks_by_page()


async def test_a_refused_write_is_retried_a_few_times_then_shown_in_error(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, app_db), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Whale song", "Status": "Queued"})
    await sync.poll_all()
    await sync.push_all()
    task = (await tasks_by_page())[page_id]
    await _update(task.id, status=TaskStatus.RUNNING, step=PipelineStep.ASSETS)

    fake.fail_next(400, "validation_error")  # refused once: a later cycle gets it through
    await sync.push_all()
    assert fake.values(page_id)["Status"] == "Queued"
    await sync.push_all()
    assert fake.values(page_id)["Status"] == "Generating Assets"

    await _update(task.id, step=PipelineStep.VIDEOS)
    mark = fake.mark()
    fake.fail_next(400, "validation_error", times=MAX_WRITE_ATTEMPTS)  # refused every time
    for _ in range(MAX_WRITE_ATTEMPTS + 3):
        await sync.push_all()
    patches = api_calls(fake.calls_since(mark), "PATCH")
    assert [p.status for p in patches] == [400] * MAX_WRITE_ATTEMPTS + [200]  # then the Error
    values = fake.values(page_id)
    assert "Notion refused" in values["Error"] and "validation_error" in values["Error"]
    assert values["Status"] == "Generating Assets"  # given up on: not sent again

    await _update(task.id, step=PipelineStep.NARRATION)  # the desired values change: try again
    await sync.push_all()
    values = fake.values(page_id)
    assert values["Status"] == "Generating Narration" and not values.get("Error")
