"""Building the envelope: success bodies, error bodies, and the error responses OpenAPI documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter
from starlette.types import Message, Send

from app.core.envelope import Envelope, ErrorEnvelope, Page, Pagination

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Missing or wrong bearer token"},
    422: {
        "model": ErrorEnvelope,
        "description": "Malformed request; details.errors names each field",
    },
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorEnvelope, "description": "No such resource"}
}
# A filtered, paged list: an unknown channel or task, or a cursor or date range that cannot be read.
LISTING_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_RESPONSE,
    400: {"model": ErrorEnvelope, "description": "Bad cursor or date range"},
}


# Pydantic keeps parametrized generic models in a weak cache: parametrized per call (``Envelope[T]``
# inside ``ok``), the class was collected between requests and rebuilt under load, ~1 ms each.
# Built once here they stay; FastAPI still validates the body against the route's response model.
_ENVELOPE = Envelope[Any]
_PAGE = Page[Any]
_PAGE_ENVELOPE = Envelope[Page[Any]]


def ok(data: T) -> Envelope[T]:
    return _ENVELOPE(data=data)


def page(items: Sequence[T], *, next_cursor: str | None, limit: int) -> Envelope[Page[T]]:
    pagination = Pagination(next_cursor=next_cursor, limit=limit)
    return _PAGE_ENVELOPE(data=_PAGE(items=list(items), pagination=pagination))


class _Paged(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def next_cursor(self) -> str | None: ...


def page_of(model: type[M], result: _Paged, *, limit: int) -> Envelope[Page[M]]:
    """One page of ORM rows as response models: every listing pages its keyset result alike."""
    return page(
        [model.model_validate(row) for row in result.items],
        next_cursor=result.next_cursor,
        limit=limit,
    )


class JsonPage(Generic[T]):
    """A listing's page written as JSON by one ``TypeAdapter`` of its envelope, built once.

    The route returns the bytes as a ``Response``, so FastAPI neither builds the models nor
    validates them a second time against the response model (which it still documents: pass
    ``response_model`` to the route decorator). The items may be row mappings or models.
    """

    def __init__(self, envelope: type[Envelope[Page[T]]]) -> None:
        self.response_model = envelope
        self._adapter = TypeAdapter(envelope)

    def response(self, items: Sequence[Any], *, next_cursor: str | None, limit: int) -> Response:
        pagination = {"next_cursor": next_cursor, "limit": limit}
        body = self._adapter.validate_python({"data": {"items": items, "pagination": pagination}})
        return Response(self._adapter.dump_json(body), media_type="application/json")


def error_response(
    status_code: int,
    *,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "success": False,
        "error": {"code": code, "message": message, "details": dict(details or {})},
    }
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


class TrackedSend:
    """An ASGI ``send`` that notes when the response starts: a middleware that fails after that can
    no longer answer in the envelope (the status line is out), only re-raise."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
