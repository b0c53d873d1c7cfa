"""`vidgen check` shows a Notion board the sync cannot use, once stored by the sync's back-off."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import NotionSyncState
from app.notion.board import BoardSchemaError
from app.notion.problems import record_problem
from app.ops.checks import Status
from app.ops.preflight import run_checks
from tests.services.test_preflight import by_name, settings_for


async def test_check_lists_a_board_with_a_wrong_type_column(
    db_url: str, db_session: AsyncSession, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path)
    healthy = NotionSyncState(database_id="good-board", schema={"properties": {}})
    broken = NotionSyncState(database_id="bad-board", schema={})
    db_session.add_all([healthy, broken])
    await db_session.commit()
    quiet = by_name(await run_checks(settings, "check"))
    assert quiet["notion boards"].status is Status.OK
    assert quiet["notion boards"].detail == "2 board(s) synced without a schema problem"

    problem = "column 'Priority' is a rich_text, expected number: change its type in Notion"
    record_problem(broken, BoardSchemaError("bad-board", [problem]))
    await db_session.commit()

    boards = by_name(await run_checks(settings, "check"))["notion boards"]
    assert boards.status is Status.WARN
    assert boards.detail.startswith(f"board bad-board: {problem} (since ")
    assert "good-board" not in boards.detail
    assert boards.fix is not None and "vidgen notion setup" in boards.fix
