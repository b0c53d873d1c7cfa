"""The same alert at most once per window: fleet-wide in PostgreSQL, per process as a fallback.

A claim is one short transaction holding the key's row lock (``FOR UPDATE``), so two workers
raising the same alert at once agree on which of them sends it. When the database can't be
reached (it may be why things are failing), the process-local memory decides instead: a
duplicate across processes is better than a lost alert.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert

from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import AlertDelivery

log = get_logger("alerts")

KEY_MAX = 200
RETENTION = timedelta(days=7)


def storable_key(key: str) -> str:
    """Keys longer than the column keep a readable head and a hash of the whole."""
    if len(key) <= KEY_MAX:
        return key
    return key[: KEY_MAX - 65] + ":" + hashlib.sha256(key.encode()).hexdigest()


class AlertDedupe(Protocol):
    async def claim(self, key: str, kind: str, now: datetime, window: timedelta) -> int | None:
        """None: sent within ``window``, skip it. Else: send it now; the value is how many
        repeats were suppressed since the last send."""
        ...

    async def release(self, key: str, now: datetime) -> None:
        """The send claimed at ``now`` failed: let the next occurrence try again."""
        ...


class MemoryDedupe:
    def __init__(self) -> None:
        self._sent: dict[str, tuple[datetime | None, int]] = {}

    async def claim(self, key: str, kind: str, now: datetime, window: timedelta) -> int | None:
        last, suppressed = self._sent.get(key, (None, 0))
        if last is not None and now - last < window:
            self._sent[key] = (last, suppressed + 1)
            return None
        if len(self._sent) > 10_000:  # bounded: forget entries past their window
            self._sent = {
                k: v for k, v in self._sent.items() if v[0] is not None and now - v[0] < window
            }
        self._sent[key] = (now, 0)
        return suppressed

    async def release(self, key: str, now: datetime) -> None:
        last, suppressed = self._sent.get(key, (None, 0))
        if last == now:
            self._sent[key] = (None, suppressed)


class PostgresDedupe:
    """The ``alert_deliveries`` table, with ``MemoryDedupe`` when the database is unavailable."""

    def __init__(self) -> None:
        self.fallback = MemoryDedupe()

    async def claim(self, key: str, kind: str, now: datetime, window: timedelta) -> int | None:
        stored = storable_key(key)
        try:
            async with session_scope() as session:
                await session.execute(
                    insert(AlertDelivery)
                    .values(alert_key=stored, kind=kind, last_sent_at=None, suppressed=0)
                    .on_conflict_do_nothing()
                )
                row = await session.get(
                    AlertDelivery, stored, with_for_update=True, populate_existing=True
                )
                assert row is not None  # inserted above, and rows are only deleted when old
                if row.last_sent_at is not None and now - row.last_sent_at < window:
                    row.suppressed += 1
                    return None
                earlier = row.suppressed
                row.kind, row.last_sent_at, row.suppressed = kind, now, 0
                await session.execute(
                    delete(AlertDelivery).where(AlertDelivery.last_sent_at < now - RETENTION)
                )
                return earlier
        except Exception as exc:  # no engine, database down: still alert, from memory
            log.warning("alert.dedupe_fallback", reason=type(exc).__name__)
            return await self.fallback.claim(key, kind, now, window)

    async def release(self, key: str, now: datetime) -> None:
        await self.fallback.release(key, now)
        try:
            async with session_scope() as session:
                await session.execute(
                    update(AlertDelivery)
                    .where(
                        AlertDelivery.alert_key == storable_key(key),
                        AlertDelivery.last_sent_at == now,
                    )
                    .values(last_sent_at=None)
                )
        except Exception as exc:
            log.warning("alert.dedupe_release_failed", reason=type(exc).__name__)
