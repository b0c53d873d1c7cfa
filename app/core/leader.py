"""The restart loop shared by every fleet-wide leader (the dispatcher, the Notion poller).

Each leader holds a PostgreSQL advisory lock on its own connection; when that connection or
the server goes away the leader must drop leadership, wait a moment and try again, until
``stop()``. Keeping that loop in one place means both leaders survive restarts the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg


class LeaderLoop:
    """``run()`` calls ``_lead()`` again after every failure until ``stop()`` is called.

    Subclasses set ``_log`` (their module's logger) and ``_event`` (the prefix of the
    ``<prefix>.connection_lost`` / ``<prefix>.crashed`` log events) and implement ``_lead``.
    """

    _log: Any
    _event: str

    def __init__(self, *, retry_seconds: float) -> None:
        self.retry_seconds = retry_seconds
        self.is_leader = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._lead()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._log.warning(f"{self._event}.connection_lost", error=str(exc))
            except Exception:
                self._log.exception(f"{self._event}.crashed")
            self.is_leader = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)

    async def _lead(self) -> None:
        """Take the lock and do the leader's work until stopped or the connection fails."""
        raise NotImplementedError
