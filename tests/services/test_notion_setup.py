"""`vidgen notion setup`: adds what the board lacks, only adds, and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import PROJECT_ROOT
from app.notion.board import COLUMNS, read_schema, status_labels
from app.notion.setup import setup_board
from tests.fakes.notion import DEFAULT_TOKEN, NotionFake, running
from tests.services.notion_support import make_client

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


def schema_of(fake: NotionFake, source_id: str) -> dict[str, dict[str, object]]:
    return fake.render_source(fake.data_sources[source_id], "2025-09-03")["properties"]


async def test_setup_turns_a_bare_database_into_a_board_and_is_idempotent(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = fake.add_database("Ideas", {"Notes": {"rich_text": {}}})
    client = make_client(url, app_db)

    first = await setup_board(client, database_id)
    assert first.changed and first.needs_you == []
    assert {c.split(" ")[0] for c in first.added_columns} >= {
        "Status",
        "Progress",
        "Cost",
        "YouTube",
    }
    properties = schema_of(fake, source_id)
    assert {c.name for c in COLUMNS} <= set(properties)
    assert properties["Notes"]["type"] == "rich_text"  # left alone
    options = [o["name"] for o in properties["Status"]["select"]["options"]]
    assert options == status_labels()
    read_schema(database_id, {"properties": properties})  # a usable board now

    again = await setup_board(client, database_id)
    assert not again.changed and again.needs_you == []


async def test_setup_adds_missing_select_options_and_keeps_the_existing_ones(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = fake.add_database(
        "Ideas", {"Status": {"select": {"options": ["Someday", "Queued"]}}}
    )
    before = {o["name"]: o["id"] for o in schema_of(fake, source_id)["Status"]["select"]["options"]}  # type: ignore[index]

    result = await setup_board(make_client(url, app_db), database_id)

    after = {o["name"]: o["id"] for o in schema_of(fake, source_id)["Status"]["select"]["options"]}  # type: ignore[index]
    assert after["Someday"] == before["Someday"] and after["Queued"] == before["Queued"]
    assert set(result.added_options) == set(status_labels()) - {"Queued"}
    assert set(after) == set(status_labels()) | {"Someday"}


async def test_status_type_options_and_wrong_types_are_left_to_the_user(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = fake.add_database(
        "Ideas", {"Status": {"status": {"options": ["Draft", "Queued"]}}, "Cost": {"rich_text": {}}}
    )
    result = await setup_board(make_client(url, app_db), database_id)
    assert any(
        "Cost is a rich_text column; change it to number" in item for item in result.needs_you
    )
    [options] = [item for item in result.needs_you if "Status column" in item]
    assert "Video Ready" in options and "Draft," not in options
    properties = schema_of(fake, source_id)
    assert properties["Cost"]["type"] == "rich_text"  # never converted
    assert "Progress" in properties  # what could be added, was


def test_the_cli_sets_up_a_board_and_reports_what_changed(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = fake.add_database("Ideas", {})
    env = {
        **os.environ,
        "NOTION_API_TOKEN": DEFAULT_TOKEN,
        "NOTION_BASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "app.cli", "notion", "setup", database_id.replace("-", "")]

    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "+ added column Progress (rich_text)" in result.stdout
    assert "+ added Status options: Draft, Queued, Planning" in result.stdout
    assert f"✅ board {database_id} is set up" in result.stdout
    assert DEFAULT_TOKEN not in result.stdout + result.stderr

    assert "Progress" in schema_of(fake, source_id)


def test_the_cli_refuses_something_that_is_not_a_database_id() -> None:
    from typer.testing import CliRunner

    from app.cli.main import cli

    result = CliRunner().invoke(cli, ["notion", "setup", "not-an-id"])
    assert result.exit_code == 2 and "is not a Notion database id" in result.output
