"""The connection both planner clients (Gemini, OpenAI-compatible) keep for their retries.

Each client pools one ``httpx.AsyncClient`` for every attempt of every call and must close it when
the planner leaves ``async with``; the wire formats differ, the connection's life does not.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from app.core.time import Backoff

# The longest wait either client sleeps, whether the server asked for it or the backoff reached it.
MAX_RETRY_WAIT_S = 60.0


class LlmHttpClient:
    """One pooled connection to ``base_url`` plus the retry budget its calls share."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        attempts: int,
        retry_base_s: float,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
        )
        # Exact waits: one planner call at a time per task, nothing to spread out.
        self._backoff = Backoff(
            attempts=attempts, base_s=retry_base_s, cap_s=MAX_RETRY_WAIT_S, jitter=False
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()
