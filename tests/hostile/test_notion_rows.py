"""Hostile Notion rows through the fake Notion server and the real sync code.

Every row is either imported (with a clean title) or gets a specific complaint in its own Error
column; the good rows next to them are imported as usual and the poller keeps going.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.notion.board import INPUT_ERROR_LABEL
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    add_board,
    bind_channels,
    make_client,
    make_sync,
    tasks_by_page,
)

CORPUS = Path(__file__).parent / "corpus" / "notion_rows.json"
REFUSED = INPUT_ERROR_LABEL
# corpus row -> ("imported", the task's title) or (the row's Status, text in its Error column)
EXPECTED = {
    "rtl-emoji-combining": ("imported", "\u202eevil\u202c \u05e9\u05dc\u05d5\u05dd"),
    "zero-width-only": (REFUSED, "the row has no title"),
    "control-characters": ("imported", "Bell backspace esc[31mred[0m"),
    "nul-in-title": ("imported", "Nullbyte title"),
    "nul-in-topic-and-story": ("imported", "Fine title"),
    "nul-in-plan": (REFUSED, "Plan is not a valid production plan"),
    "newlines-in-title": ("imported", "Line one Line two Line three"),
    "shell-and-filter": ("imported", "$(touch /tmp/pwned) `id` ; rm -rf / [out] drawtext="),
    "only-whitespace": (REFUSED, "the row has no title"),
    "huge": (REFUSED, "title: String should have at most 300 characters"),
}


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


def corpus() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = json.loads(CORPUS.read_text(encoding="utf-8"))["rows"]
    return rows


async def test_hostile_rows_are_imported_clean_or_refused_and_the_rest_proceeds(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    good_before = fake.add_page(source_id, {"Name": "Good before", "Status": "Queued"})
    hostile = {
        name: fake.add_page(source_id, {**props, "Status": "Queued"})
        for name, props in corpus().items()
    }
    hostile["huge"] = fake.add_page(source_id, {"Name": "T" * 10_000, "Status": "Queued"})
    good_after = fake.add_page(source_id, {"Name": "Good after", "Status": "Queued"})
    sync = make_sync(make_client(url, app_db), tmp_path)

    await sync.poll_all()
    await sync.push_all()

    tasks = await tasks_by_page()
    assert tasks[good_before].title == "Good before" and tasks[good_after].title == "Good after"
    outcome = {
        name: ("imported", tasks[page_id].title)
        if page_id in tasks
        else (fake.values(page_id)["Status"], fake.values(page_id)["Error"])
        for name, page_id in hostile.items()
    }
    assert set(outcome) == set(EXPECTED)
    for name, (kind, expected) in EXPECTED.items():
        got_kind, got_text = outcome[name]
        assert got_kind == kind and expected in got_text, (name, outcome[name])
    nul_row = tasks[hostile["nul-in-topic-and-story"]]
    assert (nul_row.topic, nul_row.story_direction) == ("topicwith nul", "story")

    # The poller is still healthy: a later edit is picked up on the next poll.
    fake.edit_page(good_after, {"Name": "Good after, renamed"})
    await sync.poll_all()
    assert (await tasks_by_page())[good_after].title == "Good after, renamed"
