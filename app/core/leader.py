"""The restart loop shared by every fleet-wide leader (the dispatcher, the Notion poller).

Each leader holds a PostgreSQL advisory lock on its own connection; when that connection or
the server goes away the leader must drop leadership, wait a moment and try again, until
``stop()``. Keeping that loop (and the connection and lock it leads on) in one place means both
leaders survive restarts the same way. The leader's periodic chores (retention, video
statistics) share ``BackgroundPass``, so none of them ever holds up the leader's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from app.core.database import plain_dsn


class LeaderLoop:
    """``run()`` calls ``_lead()`` again after every failure until ``stop()`` is called.

    Subclasses set ``_log`` (their module's logger), ``_event`` (the prefix of the
    ``<prefix>.connection_lost`` / ``<prefix>.crashed`` log events), ``_application_name`` (how
    the leader's connection shows in ``pg_stat_activity``) and ``_lock_key`` (the advisory lock
    only one process holds), and implement ``_serve``.
    """

    _log: Any
    _event: str
    _application_name: str
    _lock_key: int

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
        """Take the lock on a connection of its own and lead on it until stopped or it fails:
        closing that connection is what releases the lock."""
        conn: Any = await asyncpg.connect(
            plain_dsn(), server_settings={"application_name": self._application_name}
        )
        try:
            while not self._stopping.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                    break
                await self._wait_for_lock()
            if self._stopping.is_set():
                return
            self.is_leader = True
            await self._serve(conn)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def _wait_for_lock(self) -> None:
        """The pause between two tries of a lock another process holds; ``stop()`` ends it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)

    async def _serve(self, conn: Any) -> None:
        """The leader's work, on the connection that holds the lock, until stopped or it fails."""
        raise NotImplementedError


class BackgroundPass:
    """A chore the leader starts in the background when due: the leader never waits for it,
    and a pass still running when the next falls due is left to finish instead of doubled."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def start_if_due(self, interval_s: float, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start ``run()`` unless a pass is running or the last began under ``interval_s`` ago."""
        if self._task is not None and not self._task.done():
            return
        if self._last and time.monotonic() - self._last < interval_s:
            return
        self._last = time.monotonic()
        self._task = asyncio.create_task(run(), name=self._name)
