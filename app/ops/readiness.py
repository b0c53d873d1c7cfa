"""Is this process ready for traffic: database reachable and its schema at the migrations' head."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import text

from app.core.database import get_engine
from app.core.logging import get_logger
from app.core.migrations import is_at_head

log = get_logger(__name__)

READINESS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Readiness:
    database: bool
    migrations: bool

    @property
    def ready(self) -> bool:
        return self.database and self.migrations


async def _database_reachable() -> bool:
    async with get_engine().connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


async def check_readiness(*, timeout_s: float = READINESS_TIMEOUT_S) -> Readiness:
    """Both checks bounded by ``timeout_s``, so a hung database makes the probe fail, not hang."""
    try:
        await asyncio.wait_for(_database_reachable(), timeout_s)
    except Exception as exc:  # any failure means "not ready"; the probe reports, never raises
        log.warning("ready.database_unreachable", error=type(exc).__name__)
        return Readiness(database=False, migrations=False)
    try:
        at_head = await asyncio.wait_for(is_at_head(), timeout_s)
    except Exception as exc:
        log.warning("ready.migrations_unknown", error=type(exc).__name__, exc_info=True)
        at_head = False
    return Readiness(database=True, migrations=at_head)
