"""Every failure leaves the API in the envelope: our errors, routing errors, validation and bugs."""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.responses import TrackedSend, error_response
from app.core.errors import AppError
from app.core.logging import get_logger
from app.pipeline.state import InvalidTransitionError
from app.planning.plan_errors import describe_plan_error, error_problems

log = get_logger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}
MAX_MESSAGES_IN_SUMMARY = 3


async def _app_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(
        exc.status_code,
        code=exc.code,
        message=exc.message,
        details=jsonable_encoder(exc.details),
        headers=exc.headers,
    )


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route"
    return error_response(
        exc.status_code,
        code=_HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}"),
        message=message,
        headers=exc.headers,
    )


def _message(error: Mapping[str, Any]) -> str:
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def _dotted(loc: Sequence[str | int]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validation_details(errors: Sequence[Any], body: object) -> list[dict[str, Any]]:
    """One entry per problem: ``loc`` as pydantic gives it, ``field`` dotted, ``message`` readable.

    Errors inside a production plan are reworded with scene numbers and asset names, so a
    hand-written plan's author reads ``plan: scene 3: images: 'castle' is not defined in assets``.
    """
    entries: list[dict[str, Any]] = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        problems = error_problems(error)
        field = _dotted(loc[1:] if loc and loc[0] == "body" else loc)
        if loc[:2] == ["body", "plan"]:
            plan_input = body.get("plan") if isinstance(body, Mapping) else None
            texts = problems or [describe_plan_error(loc[2:], _message(error), plan_input)]
            messages = [f"plan: {text}" for text in texts]
        else:
            texts = problems or [_message(error)]
            messages = [f"{field}: {text}" if field else text for text in texts]
        for message in messages:
            entries.append(
                {"loc": loc, "field": field, "message": message, "type": error.get("type")}
            )
    return entries


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    entries = validation_details(exc.errors(), exc.body)
    summary = "; ".join(entry["message"] for entry in entries[:MAX_MESSAGES_IN_SUMMARY])
    if len(entries) > MAX_MESSAGES_IN_SUMMARY:
        summary += f"; and {len(entries) - MAX_MESSAGES_IN_SUMMARY} more"
    return error_response(
        422,
        code="VALIDATION_ERROR",
        message=f"invalid request: {summary}" if summary else "invalid request",
        details={"errors": entries},
    )


async def _transition_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidTransitionError)
    return error_response(
        409,
        code="INVALID_TRANSITION",
        message=str(exc),
        details={"current": str(exc.current), "target": str(exc.target)},
    )


# PostgreSQL's "character not in repertoire" (a NUL in text) and "untranslatable character"
# (a \u0000 escape in JSONB): the value came from the request, so the client must change it.
_UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


# Connection exceptions (class 08) and the server shutting down or starting (57P01-57P03).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _database_unavailable(exc: DBAPIError) -> bool:
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if exc.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    return "database system is" in str(exc.orig)  # "shutting down" / "starting up" at connect


def _unavailable() -> Response:
    return error_response(
        503,
        code="SERVICE_UNAVAILABLE",
        message="the database is unavailable (restarting?); retry shortly",
        headers={"Retry-After": "2"},
    )


async def _connect_error(_request: Request, exc: Exception) -> Response:
    """The socket of a restarting PostgreSQL is missing or refuses: asyncpg raises a plain
    OSError (not a DBAPIError) while connecting. Any other OSError stays a 500."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not any("asyncpg" in frame.filename for frame in frames):
        raise exc
    log.warning("http.database_unavailable", error=type(exc).__name__)
    return _unavailable()


async def _database_error(_request: Request, exc: Exception) -> Response:
    """A value PostgreSQL cannot store (NUL characters) is the client's 422, not our 500; a
    database that is restarting is a 503 to retry, not an unhandled error."""
    assert isinstance(exc, DBAPIError)
    if _database_unavailable(exc):
        log.warning("http.database_unavailable", error=type(exc.orig).__name__)
        return _unavailable()
    if getattr(exc.orig, "sqlstate", None) not in _UNSTORABLE_TEXT_SQLSTATES:
        raise exc
    return error_response(
        422,
        code="INVALID_CHARACTER",
        message="invalid request: text must not contain NUL characters (\\u0000)",
    )


class UnhandledErrorMiddleware:
    """Turns a bug into a logged 500 in the envelope.

    Starlette's own 500 handler re-raises after answering, so the server logs the error a second
    time without our context; catching it here logs it once, with the request's method and path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.error(
                "http.unhandled_error",
                method=scope.get("method"),
                path=scope.get("path"),
                exc_info=True,
            )
            if tracked.started:
                raise
            response = error_response(
                500, code="INTERNAL_ERROR", message="internal server error; it has been logged"
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidTransitionError, _transition_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _connect_error)
    app.add_middleware(UnhandledErrorMiddleware)
