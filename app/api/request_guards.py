"""Refuse hostile requests at the door: oversized bodies (413) and NUL characters in the URL (400).

Both answer in the error envelope without calling a route. FastAPI's own ``max_body_size`` is not
used: its 413 is plain text or FastAPI's ``{"detail": ...}`` depending on where the limit trips,
and a declared Content-Length over the limit is only refused once a route starts reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.responses import TrackedSend, error_response
from app.core.errors import AppError


class RequestBodyTooLargeError(AppError):
    """Raised from ``receive`` once a streamed (chunked) body passes the limit.

    An ``AppError`` so that, wherever a route or FastAPI's body parser lets it out, it is rendered
    instead of logged as a bug; the middleware answers 413 itself either way.
    """

    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


def _too_large(limit: int) -> AppError:
    return RequestBodyTooLargeError(
        f"request body is larger than the limit of {limit} bytes",
        details={"max_bytes": limit},
    )


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodySizeLimitMiddleware:
    """413 in the envelope for a body over the limit, before the body is read.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as
    it arrives and refused the moment it passes the limit, so no route ever holds more than the
    limit in memory. ``limits`` gives smaller (or larger) limits by path pattern (a regular
    expression matched at the start of the path).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, limits: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = tuple((re.compile(pattern), limit) for pattern, limit in limits)

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.limits:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        refused = False
        tracked = TrackedSend(send)

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _too_large(limit)
            return message

        async def guarded_send(message: Message) -> None:
            if refused and not tracked.started:
                return  # whatever the app answers to the broken read, the answer is our 413
            await tracked(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except RequestBodyTooLargeError:
            if tracked.started:
                raise
        if refused and not tracked.started:
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        error = _too_large(limit)
        response = error_response(
            error.status_code,
            code=error.code,
            message=error.message,
            details=error.details,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class RejectNulInUrlMiddleware:
    """400 for a NUL character anywhere in the path or query string.

    No identifier, slug, filter or artifact name may contain one; PostgreSQL cannot store it and
    the filesystem cannot open it, so refusing it here keeps it out of every layer below.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"]
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            response = error_response(
                400,
                code="INVALID_CHARACTER",
                message="the URL contains a NUL character (%00), which no parameter accepts",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
