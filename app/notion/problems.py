"""A board that is not set up: said once, retried with back-off, readable by check and dashboard.

A wrong-type column cannot fix itself, yet the leader meets the board every few seconds (each
poll and push). Re-reading its schema each time would spend about 12 requests a minute and log
the same error forever, so the problem is stored with the board's sync state
(``notion_sync_state.schema["problem"]``): while its back-off runs the board is skipped without
a request, it is logged only when it first appears or changes, and ``vidgen check`` or the
dashboard list it through ``board_problems``. Fixing the column in Notion is picked up at the
next retry (at most ``MAX_BACKOFF`` later); a successful schema read replaces the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import NotionSyncState
from app.notion.board import BoardSchemaError

log = get_logger("notion.problems")

FIRST_BACKOFF = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=15)
PROBLEM = "problem"


@dataclass(frozen=True)
class BoardProblem:
    database_id: str
    message: str  # what is wrong and how to fix it, for people
    problems: tuple[str, ...]
    since: datetime
    retry_at: datetime
    delay: timedelta  # the back-off that runs until ``retry_at``


def _problem(state: NotionSyncState) -> BoardProblem | None:
    return problem_in(state.database_id, state.schema)


def problem_in(database_id: str, schema: dict[str, Any] | None) -> BoardProblem | None:
    """The problem stored in a board's sync-state ``schema`` (None when the board is fine); for
    readers that hold the row's columns rather than the model (``vidgen check``)."""
    raw = (schema or {}).get(PROBLEM)
    if not isinstance(raw, dict):
        return None
    return BoardProblem(
        database_id=database_id,
        message=str(raw.get("message", "")),
        problems=tuple(str(p) for p in raw.get("problems", [])),
        since=datetime.fromisoformat(str(raw["since"])),
        retry_at=datetime.fromisoformat(str(raw["retry_at"])),
        delay=timedelta(seconds=float(raw.get("delay_s", 0))),
    )


async def board_problems(session: AsyncSession) -> list[BoardProblem]:
    """Every board the sync could not use, oldest problem first."""
    states = await session.scalars(select(NotionSyncState).order_by(NotionSyncState.database_id))
    found = [p for p in (_problem(s) for s in states) if p is not None]
    return sorted(found, key=lambda p: p.since)


async def waiting_problem(session: AsyncSession, database_id: str) -> BoardSchemaError | None:
    """The board's known problem while its back-off runs (the board is then left alone)."""
    state = await session.get(NotionSyncState, database_id)
    problem = _problem(state) if state is not None else None
    if problem is None or utc_now() >= problem.retry_at:
        return None
    return BoardSchemaError(database_id, list(problem.problems))


def record_problem(state: NotionSyncState, error: BoardSchemaError) -> None:
    """Store ``error`` on the board's state; the same problem again doubles the back-off."""
    schema: dict[str, Any] = dict(state.schema or {})
    previous = _problem(state)
    now = utc_now()
    same = previous is not None and previous.problems == tuple(error.problems)
    if previous is not None and same:
        delay = min(MAX_BACKOFF, max(FIRST_BACKOFF, previous.delay * 2))
        since = previous.since
    else:
        delay, since = FIRST_BACKOFF, now
        log.error("notion.board.not_set_up", database_id=state.database_id, error=str(error))
    schema[PROBLEM] = {
        "message": str(error),
        "problems": list(error.problems),
        "since": since.isoformat(),
        "retry_at": (now + delay).isoformat(),
        "delay_s": delay.total_seconds(),
    }
    state.schema = schema
