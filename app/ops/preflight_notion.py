"""The Notion board check: a board the sync cannot use (a wrong-type or missing column).

The sync stores such a problem once and backs off (app/notion/problems.py) instead of logging it
every cycle, so this check is where an operator sees it. A warning, not a refusal: the rest of
the fleet works, and the board is picked up again once the column is fixed in Notion.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg

from app.core.config import asyncpg_dsn
from app.notion.problems import BoardProblem, problem_in
from app.ops.checks import CheckContext, CheckResult, ok, warn

CONNECT_TIMEOUT_S = 5.0
_STATES_SQL = "SELECT database_id, schema FROM notion_sync_state ORDER BY database_id"


async def _problems(url: str) -> tuple[int, list[BoardProblem]]:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S)
    try:
        rows = await conn.fetch(_STATES_SQL)
    finally:
        await conn.close()
    found = []
    for row in rows:
        schema = row["schema"]
        problem = problem_in(
            row["database_id"], json.loads(schema) if isinstance(schema, str) else schema
        )
        if problem is not None:
            found.append(problem)
    return len(rows), found


async def check_notion_boards(context: CheckContext) -> list[CheckResult]:
    name = "notion boards"
    if context.database_url is None or not context.schema_at_head:
        return [warn(name, "not checked: the database is unavailable or not migrated")]
    boards, problems = await asyncio.wait_for(_problems(context.database_url), 15)
    if not problems:
        return [ok(name, f"{boards} board(s) synced without a schema problem")]
    lines = [
        f"board {p.database_id}: {'; '.join(p.problems) or p.message} "
        f"(since {p.since:%Y-%m-%d %H:%M} UTC, next try {p.retry_at:%H:%M} UTC)"
        for p in problems
    ]
    fix = (
        "fix the column in Notion (or run `vidgen notion setup` to add missing ones); the sync "
        "retries by itself"
    )
    return [warn(name, "\n".join(lines), fix)]
