"""YouTube Data API v3 over httpx: resumable uploads, videos.list/update, thumbnails.set.

The resumable protocol (shared/reference/external-apis.md section 2): the session URI returned by
the initiating POST is itself a credential, so it never appears in a log line or an error
message. ``308 Resume Incomplete`` is progress, never a redirect (httpx does not follow it unless
told to, and we never tell it). After any interruption the server's own ``Range`` decides where
to continue; only 404/410 mean the session is gone. Google's errors map to typed exceptions so
the caller can tell "wait for tomorrow's quota" from "ask the operator" from "try again".

Quota is charged per request actually sent: the optional ``QuotaMeter`` is asked to charge right
before a metered request goes out (after the access token is in hand, so a failing token
endpoint costs nothing) and to refund it when the connection was never made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from app.core.logging import register_secret
from app.core.time import Backoff
from app.youtube.oauth import Sleep, TokenSource

RESUMABLE_ALIGN = 256 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(connect=15.0, read=120.0, write=120.0, pool=15.0)
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RETRYABLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError"})

# The request never left this machine: no connection, so Google neither saw nor charged it.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

ProgressCallback = Callable[[int, int], None]


if TYPE_CHECKING:
    from app.core.config import Settings


class QuotaMeter(Protocol):
    """Charges quota units per request sent; raising from ``charge`` stops the request."""

    async def charge(self, operation: str) -> None: ...

    async def refund(self, operation: str) -> None: ...


class YouTubeError(Exception):
    """Base of every YouTube failure; ``status`` and ``reason`` as Google sent them."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class YouTubeQuotaExceededError(YouTubeError):
    """The project's daily quota is spent: nothing succeeds before midnight Pacific."""


class YouTubeAuthError(YouTubeError):
    """A fresh access token was still refused (401)."""


class YouTubeUploadSessionGoneError(YouTubeError):
    """404/410 on the session URI: the session expired; the upload must start over."""


class YouTubeTransientError(YouTubeError):
    """5xx, rate limits or network errors that outlasted the retries."""


class YouTubeApiError(YouTubeError):
    """Any other refusal (bad metadata, forbidden, not found): retrying will not help."""


class _ChunkInterruptedError(Exception):
    """A chunk PUT ended without an answer we can use; ask the server where it got to."""


@dataclass(frozen=True)
class UploadProgress:
    """Bytes the server holds (the next offset to send), or the video once it is complete."""

    received: int
    video: dict[str, Any] | None = None


def _google_error(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return None, response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, str(error or response.reason_phrase)
    reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    return (str(reasons[0]) if reasons and reasons[0] else None), str(error.get("message") or "")


def map_error(response: httpx.Response, what: str) -> YouTubeError:
    """The typed error for a refused call; ``what`` names the call, never a session URI."""
    reason, message = _google_error(response)
    status = response.status_code
    text = f"YouTube {what}: HTTP {status}" + (f" {reason}" if reason else "") + f": {message}"
    if status == 403 and reason in QUOTA_REASONS:
        return YouTubeQuotaExceededError(text, status=status, reason=reason)
    if status == 401:
        return YouTubeAuthError(text, status=status, reason=reason)
    if status in (404, 410) and what == "upload session":
        return YouTubeUploadSessionGoneError(text, status=status, reason=reason)
    if status >= 500 or status == 429 or reason in RETRYABLE_REASONS:
        return YouTubeTransientError(text, status=status, reason=reason)
    return YouTubeApiError(text, status=status, reason=reason)


def parse_range(header: str | None) -> int:
    """``Range: bytes=0-N`` -> N + 1 bytes stored; no header means nothing stored yet."""
    if not header:
        return 0
    _, _, span = header.partition("=")
    _, _, last = span.partition("-")
    return int(last) + 1


def _read_range(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)


class YouTubeClient:
    """One channel's calls; ``http`` and ``tokens`` are built by the caller and shared."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        *,
        base_url: str,
        upload_base_url: str,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        meter: QuotaMeter | None = None,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._base = base_url.rstrip("/")
        self._upload_base = upload_base_url.rstrip("/")
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._meter = meter

    @classmethod
    def from_settings(
        cls,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        settings: Settings,
        *,
        backoff: Backoff,
        meter: QuotaMeter,
    ) -> YouTubeClient:
        """The client every step uses: Google's hosts from settings (fakes in tests), metered."""
        return cls(
            http,
            tokens,
            base_url=settings.youtube_base_url,
            upload_base_url=settings.youtube_upload_base_url,
            backoff=backoff,
            meter=meter,
        )

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def upload_base_url(self) -> str:
        return self._upload_base

    async def _request(
        self, operation: str | None, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """One HTTP request, charged to the meter if it is a metered call and it left here."""
        if operation is None or self._meter is None:
            return await self._http.request(method, url, follow_redirects=False, **kwargs)
        await self._meter.charge(operation)
        try:
            return await self._http.request(method, url, follow_redirects=False, **kwargs)
        except NEVER_SENT:
            await self._meter.refund(operation)
            raise

    async def _send(
        self, method: str, url: str, *, operation: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request with a valid token; a 401 refreshes the token and tries once more."""
        headers = dict(kwargs.pop("headers", None) or {})
        token = await self._tokens.token()
        for refreshed in (False, True):
            headers["Authorization"] = f"Bearer {token}"
            response = await self._request(operation, method, url, headers=headers, **kwargs)
            if response.status_code != 401 or refreshed:
                return response
            token = await self._tokens.refresh(stale=token)
        raise AssertionError("unreachable")

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        ok: tuple[int, ...] = (200,),
        operation: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """A whole call: retry transport errors, 5xx and rate limits with backoff; map the rest.

        ``operation`` names the quota cost of each attempt sent (every one is charged: Google
        counts refused and failed requests too).
        """
        for attempt in range(1, self._backoff.attempts + 1):
            try:
                response = await self._send(method, url, operation=operation, **kwargs)
            except httpx.TransportError as exc:
                error: YouTubeError = YouTubeTransientError(
                    f"YouTube {what}: network error ({type(exc).__name__})"
                )
            else:
                if response.status_code in ok:
                    return response
                error = map_error(response, what)
                if not isinstance(error, YouTubeTransientError):
                    raise error
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit() and attempt < self._backoff.attempts:
                    await self._sleep(min(float(retry_after), self._backoff.cap_s))
                    continue
            if attempt < self._backoff.attempts:
                await self._sleep(self._backoff.delay(attempt))
        raise error

    async def start_upload(
        self, resource: dict[str, Any], *, size: int, content_type: str = "video/*"
    ) -> str:
        """Initiate a resumable videos.insert; returns the session URI (a secret: persist it)."""
        if size <= 0:
            raise ValueError("cannot upload an empty video")
        response = await self._call(
            "POST",
            f"{self._upload_base}/videos",
            what="videos.insert (initiate)",
            operation="videos.insert",
            params={"uploadType": "resumable", "part": ",".join(resource)},
            json=resource,
            headers={
                "X-Upload-Content-Length": str(size),
                "X-Upload-Content-Type": content_type,
            },
        )
        session_uri = str(response.headers.get("Location") or "")
        if not session_uri:
            raise YouTubeApiError("YouTube videos.insert (initiate): no Location header")
        register_secret(session_uri)
        return session_uri

    def _progress_from(self, response: httpx.Response) -> UploadProgress:
        if response.status_code in (200, 201):
            video: dict[str, Any] = response.json()
            return UploadProgress(received=-1, video=video)
        return UploadProgress(received=parse_range(response.headers.get("Range")))

    async def upload_progress(self, session_uri: str, total: int) -> UploadProgress:
        """Ask the session how much it holds (``Content-Range: bytes */TOTAL``)."""
        response = await self._call(
            "PUT",
            session_uri,
            what="upload session",
            ok=(200, 201, 308),
            content=b"",
            headers={"Content-Range": f"bytes */{total}"},
        )
        return self._progress_from(response)

    async def _put_chunk(
        self, session_uri: str, data: bytes, start: int, total: int
    ) -> UploadProgress:
        end = start + len(data) - 1
        try:
            response = await self._send(
                "PUT",
                session_uri,
                content=data,
                headers={
                    "Content-Range": f"bytes {start}-{end}/{total}",
                    "Content-Type": "application/octet-stream",
                },
            )
        except httpx.TransportError as exc:
            raise _ChunkInterruptedError(type(exc).__name__) from None
        if response.status_code in (200, 201, 308):
            return self._progress_from(response)
        error = map_error(response, "upload session")
        if isinstance(error, YouTubeTransientError | YouTubeAuthError):
            raise _ChunkInterruptedError(error.message)
        raise error

    async def upload(
        self,
        session_uri: str,
        path: Path,
        *,
        total: int,
        chunk_size: int,
        resume: bool,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send ``path`` through the session, resuming from the server's own count; the video.

        Chunks are ``chunk_size`` bytes (a multiple of 256 KiB) from wherever the server got to,
        so an unaligned resume point still gives aligned chunk sizes. Failures that make no
        progress are retried with backoff; each new byte accepted resets the count.
        """
        if chunk_size <= 0 or chunk_size % RESUMABLE_ALIGN:
            raise ValueError("chunk_size must be a positive multiple of 262144 bytes")
        offset = 0
        if resume:
            progress = await self.upload_progress(session_uri, total)
            if progress.video is not None:
                return progress.video
            offset = progress.received
        failures = 0
        while True:
            data = await asyncio.to_thread(_read_range, path, offset, chunk_size)
            if not data:
                raise YouTubeApiError(
                    f"the file has {offset} bytes, fewer than the {total} the session expects"
                )
            try:
                progress = await self._put_chunk(session_uri, data, offset, total)
            except _ChunkInterruptedError as exc:
                failures += 1
                if failures >= self._backoff.attempts:
                    raise YouTubeTransientError(
                        f"YouTube upload interrupted {failures} times without progress ({exc})"
                    ) from None
                await self._sleep(self._backoff.delay(failures))
                progress = await self.upload_progress(session_uri, total)
            if progress.video is not None:
                return progress.video
            if progress.received > offset:
                failures = 0
            offset = progress.received
            if on_progress is not None:
                on_progress(offset, total)

    async def metered_json(
        self, method: str, url: str, operation: str, **kwargs: Any
    ) -> dict[str, Any]:
        """A metered Data API call (named after its quota cost) whose answer is a JSON object."""
        response = await self._call(method, url, what=operation, operation=operation, **kwargs)
        body: dict[str, Any] = response.json()
        return body

    async def list_videos(
        self, ids: list[str], *, part: str = "snippet,status"
    ) -> list[dict[str, Any]]:
        body = await self.metered_json(
            "GET", f"{self._base}/videos", "videos.list", params={"part": part, "id": ",".join(ids)}
        )
        items: list[dict[str, Any]] = body.get("items", [])
        return items

    async def update_video(
        self, resource: dict[str, Any], *, part: str = "snippet,status"
    ) -> dict[str, Any]:
        """videos.update: mutable fields of ``part`` left out of ``resource`` are cleared."""
        return await self.metered_json(
            "PUT", f"{self._base}/videos", "videos.update", params={"part": part}, json=resource
        )

    async def set_thumbnail(
        self, video_id: str, data: bytes, *, content_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        return await self.metered_json(
            "POST",
            f"{self._upload_base}/thumbnails/set",
            "thumbnails.set",
            params={"videoId": video_id, "uploadType": "media"},
            content=data,
            headers={"Content-Type": content_type},
        )
