"""The Notion API client: versioned paths, data sources, pagination, one shared pace, retries.

Every request first takes a slot from a ``RateLimiter`` (the production one lives in PostgreSQL so
the whole fleet shares Notion's ~3 requests/s per integration). A 429 waits its ``Retry-After`` and
pushes the fleet-wide pace back by as much; 5xx, 409 and network failures back off exponentially
(``Backoff``, retried by tenacity); 400/401/403/404 fail at once with Notion's error code in the
message, because repeating a request that Notion refused for its content cannot succeed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from app.core.logging import get_logger
from app.core.time import Backoff

log = get_logger("notion")

DEFAULT_VERSION = "2025-09-03"
DATA_SOURCES_SINCE = "2025-09-03"  # versions are ISO dates: they compare as strings
MAX_PAGE_SIZE = 100


class NotionError(Exception):
    """A request Notion refused or could not answer; ``code`` is Notion's (or ours for network)."""

    def __init__(
        self, message: str, *, status: int | None, code: str, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id


class NotionRequestError(NotionError):
    """Refused for what was asked (bad request, no access, not found): retrying cannot help."""


class NotionRateLimitedError(NotionError):
    def __init__(self, message: str, *, retry_after: float, request_id: str | None) -> None:
        super().__init__(message, status=429, code="rate_limited", request_id=request_id)
        self.retry_after = retry_after


class NotionUnavailableError(NotionError):
    """Server error, conflict, timeout or connection failure: worth retrying later."""


class RateLimiter(Protocol):
    """Paces requests; ``penalize`` pushes every user of the limiter back after a 429."""

    async def acquire(self) -> None: ...

    async def penalize(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """5xx, 409 and network failures wait out ``backoff``; a 429 waits its ``Retry-After``, at
    most ``max_retry_after``."""

    backoff: Backoff = field(default_factory=lambda: Backoff(attempts=6, base_s=0.5, cap_s=8.0))
    max_retry_after: float = 60.0


def uses_data_sources(version: str) -> bool:
    return version >= DATA_SOURCES_SINCE


def is_trashed(page: dict[str, Any]) -> bool:
    """2026-03-11 says ``in_trash``; 2025-09-03 says both; older versions only ``archived``."""
    return bool(page.get("in_trash", page.get("archived", False)))


def _retry_after_seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


class NotionClient:
    """One integration token, one API version; create once and ``aclose()`` at shutdown."""

    def __init__(
        self,
        *,
        token: str,
        limiter: RateLimiter,
        base_url: str = "https://api.notion.com/v1",
        version: str = DEFAULT_VERSION,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.version = version
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0
        # Notion's clock at its last answer (the Date header): the poll cursor lives in it
        self.server_time: datetime | None = None
        self._data_sources: dict[str, str] = {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={
                "Authorization": f"Bearer {token}",
                "Notion-Version": version,
                "Content-Type": "application/json",
                "User-Agent": "ai-video-generator",
            },
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def data_sources(self) -> bool:
        return uses_data_sources(self.version)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with pacing and retries; returns the decoded JSON body."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.backoff.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((NotionRateLimitedError, NotionUnavailableError)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(method, path, json=json, params=params)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, NotionRateLimitedError):
            return min(error.retry_after, self.retry.max_retry_after)
        return self.retry.backoff.delay(state.attempt_number)

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "notion.request.retry",
            attempt=state.attempt_number,
            code=getattr(error, "code", None),
            wait_s=round(state.upcoming_sleep, 3),
        )

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> dict[str, Any]:
        await self.limiter.acquire()
        self.requests_sent += 1
        where = f"{method} /{path.lstrip('/')}"
        try:
            response = await self._http.request(method, path.lstrip("/"), json=json, params=params)
        except httpx.TimeoutException as exc:
            raise NotionUnavailableError(
                f"Notion timed out ({where})", status=None, code="timeout"
            ) from exc
        except httpx.TransportError as exc:
            raise NotionUnavailableError(
                f"could not reach Notion: {type(exc).__name__} ({where})",
                status=None,
                code="connection_error",
            ) from exc
        if response.is_success:
            self.server_time = _server_time(response.headers.get("date")) or self.server_time
            body: dict[str, Any] = response.json()
            return body
        await self._raise_for(response, where)
        raise AssertionError("unreachable")

    async def _raise_for(self, response: httpx.Response, where: str) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        status = response.status_code
        code = str(body.get("code") or f"http_{status}")
        request_id = body.get("request_id")
        message = (
            f"Notion {status} {code}: {body.get('message') or response.reason_phrase} ({where})"
        )
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            await self.limiter.penalize(retry_after)
            raise NotionRateLimitedError(message, retry_after=retry_after, request_id=request_id)
        if status >= 500 or status == 409:
            raise NotionUnavailableError(message, status=status, code=code, request_id=request_id)
        raise NotionRequestError(message, status=status, code=code, request_id=request_id)

    async def data_source_id(self, database_id: str) -> str:
        """The data source holding a database's rows (looked up once, then remembered)."""
        if not self.data_sources:
            return database_id
        cached = self._data_sources.get(database_id)
        if cached is not None:
            return cached
        database = await self.request("GET", f"databases/{database_id}")
        sources = database.get("data_sources") or []
        if not sources:
            raise NotionRequestError(
                f"Notion database {database_id} has no data source: is it a linked view? "
                "Use the id of the original database",
                status=None,
                code="no_data_source",
            )
        if len(sources) > 1:
            log.warning(
                "notion.database.several_sources", database_id=database_id, used=sources[0]["id"]
            )
        self._data_sources[database_id] = str(sources[0]["id"])
        return self._data_sources[database_id]

    def remember_data_source(self, database_id: str, data_source_id: str) -> None:
        """Seed the cache from stored sync state so a restart costs no lookup."""
        self._data_sources[database_id] = data_source_id

    def _schema_path(self, data_source_id: str) -> str:
        kind = "data_sources" if self.data_sources else "databases"
        return f"{kind}/{data_source_id}"

    async def get_schema(self, data_source_id: str) -> dict[str, Any]:
        """The data source object (``properties`` is the board's schema)."""
        return await self.request("GET", self._schema_path(data_source_id))

    async def update_schema(
        self, data_source_id: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.request(
            "PATCH", self._schema_path(data_source_id), json={"properties": properties}
        )

    async def iter_query(
        self,
        data_source_id: str,
        *,
        filter: dict[str, Any] | None = None,
        sorts: list[dict[str, Any]] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row matching ``filter``, following ``next_cursor`` to the end."""
        body: dict[str, Any] = {"page_size": min(page_size, MAX_PAGE_SIZE)}
        if filter is not None:
            body["filter"] = filter
        if sorts is not None:
            body["sorts"] = sorts
        path = f"{self._schema_path(data_source_id)}/query"
        while True:
            answer = await self.request("POST", path, json=body)
            for row in answer.get("results", []):
                yield row
            cursor = answer.get("next_cursor")
            if not answer.get("has_more") or not cursor:
                return
            body["start_cursor"] = cursor

    async def query(self, data_source_id: str, **options: Any) -> list[dict[str, Any]]:
        return [row async for row in self.iter_query(data_source_id, **options)]

    async def get_page(self, page_id: str) -> dict[str, Any]:
        return await self.request("GET", f"pages/{page_id}")

    async def update_page(self, page_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", f"pages/{page_id}", json={"properties": properties})

    async def create_page(self, data_source_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        parent = (
            {"type": "data_source_id", "data_source_id": data_source_id}
            if self.data_sources
            else {"type": "database_id", "database_id": data_source_id}
        )
        return await self.request(
            "POST", "pages", json={"parent": parent, "properties": properties}
        )


def _server_time(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None
