"""The YouTube quota check: a Cloud project Google has shut for the day, uploads left waiting.

Neither stops a process from starting (uploads wait, they do not fail), so both are warnings;
they are here because an operator who runs ``vidgen check`` asking "why is nothing published?"
should get the answer without reading the queue.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import asyncpg

from app.core.config import asyncpg_dsn
from app.core.time import utc_now
from app.ops.checks import CheckContext, CheckResult, ok, warn
from app.youtube.ledger import describe_time, next_reset, quota_day

CONNECT_TIMEOUT_S = 5.0

_PROJECTS_SQL = """
SELECT project, sum(units_used) AS used, bool_or(exhausted_at IS NOT NULL) AS exhausted
FROM youtube_quota_usage WHERE date = $1 GROUP BY project ORDER BY project
"""
_PARKED_SQL = """
SELECT c.slug, i.error_code, count(*) AS n
FROM task_items AS i JOIN tasks AS t ON t.id = i.task_id JOIN channels AS c ON c.id = t.channel_id
WHERE i.step = 'upload' AND i.status <> 'completed' AND t.status = 'running'
  AND i.error_code IN ('YOUTUBE_QUOTA', 'YOUTUBE_REAUTH')
GROUP BY c.slug, i.error_code ORDER BY c.slug
"""


async def _facts(url: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S)
    try:
        projects = await conn.fetch(_PROJECTS_SQL, quota_day(utc_now()))
        parked = await conn.fetch(_PARKED_SQL)
    finally:
        await conn.close()
    return projects, parked


async def check_youtube_quota(context: CheckContext) -> list[CheckResult]:
    name = "youtube quota"
    if context.database_url is None or not context.schema_at_head:
        return [warn(name, "not checked: the database is unavailable or not migrated")]
    projects, parked = await asyncio.wait_for(_facts(context.database_url), 15)
    limit = context.settings.youtube_quota_daily_limit
    resets = describe_time(next_reset(utc_now()))
    lines = []
    for row in projects:
        if row["exhausted"]:
            lines.append(f"project {row['project']}: Google answered quotaExceeded today")
        elif int(row["used"]) >= limit:
            lines.append(f"project {row['project']}: all {limit} units spent today")
    waiting: dict[str, dict[str, int]] = defaultdict(dict)
    for row in parked:
        waiting[row["slug"]][row["error_code"]] = int(row["n"])
    for slug, codes in waiting.items():
        quota, reauth = codes.get("YOUTUBE_QUOTA", 0), codes.get("YOUTUBE_REAUTH", 0)
        lines.append(f"{slug}: {quota} upload(s) wait for quota, {reauth} for re-authorisation")
    if not lines:
        return [ok(name, "no project out of quota, no upload waiting")]
    fixes = [f"quota returns at {resets}"]
    fixes += [
        f"run `vidgen oauth youtube {slug}`"
        for slug, codes in waiting.items()
        if codes.get("YOUTUBE_REAUTH")
    ]
    return [warn(name, "\n".join(lines), "; ".join(fixes))]
