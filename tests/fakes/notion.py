"""A local stand-in for the Notion API (databases, data sources, pages, webhooks).

It follows shared/reference/external-apis.md section 1: ``Notion-Version`` required and paths that
depend on it (``/v1/data_sources/...`` needs 2025-09-03 or later; ``/v1/databases/{id}/query`` only
exists before it), ``in_trash`` vs ``archived`` by version, cursor pagination capped at 100,
filters on status/select/text/number and on ``last_edited_time`` (truncated to the minute, like
Notion's), Notion's error bodies, status options the API cannot change, and 429 ``rate_limited``
with ``Retry-After`` when more than ``rate`` requests arrive within ``window`` seconds, a ``Date``
header from its ``clock``, and a person's edit landing while our PATCH is in flight. Webhook
payloads are built and signed like Notion's. Tests add boards and make "user" edits directly,
script failures and stalls, and read back every request it saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.notion_routes import route
from tests.fakes.notion_values import (
    NotionFakeError,
    empty_value,
    error_response,
    iso,
    new_option,
    rich_text,
    stored_from_write,
    value_object,
)
from tests.fakes.server import serve

DEFAULT_TOKEN = "ntn_fake_integration_token_0123456789"
VERSIONS = ("2022-06-28", "2025-09-03", "2026-03-11")


@dataclass
class Call:
    method: str
    path: str
    version: str | None
    body: Any
    status: int
    at: float  # time.monotonic() on arrival


@dataclass
class DataSource:
    id: str
    database_id: str
    title: str
    properties: dict[str, dict[str, Any]]  # name -> schema object
    created: datetime


@dataclass
class Page:
    id: str
    data_source_id: str
    database_id: str
    values: dict[str, Any]  # property name -> simple stored value
    created: datetime
    edited: datetime
    in_trash: bool = False


@dataclass
class Planned:
    status: int
    code: str
    stall: float = 0.0


@dataclass
class NotionFake:
    token: str = DEFAULT_TOKEN
    rate: float = 3.0
    window: float = 1.0
    truncate_to_minute: bool = True
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    calls: list[Call] = field(default_factory=list)
    databases: dict[str, list[str]] = field(default_factory=dict)  # database -> data sources
    data_sources: dict[str, DataSource] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _served: deque[float] = field(default_factory=deque)
    _planned: deque[Planned] = field(default_factory=deque)
    _in_flight_edits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def now(self) -> datetime:
        moment = self.clock()
        if self.truncate_to_minute:
            return moment.replace(second=0, microsecond=0)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # ----- setting up boards and "user" edits (tests call these directly) -----

    def add_database(
        self, title: str, properties: dict[str, dict[str, Any]], *, database_id: str | None = None
    ) -> tuple[str, str]:
        """A database with one data source; ``properties`` maps names to ``{type: config}``."""
        database_id = database_id or str(uuid.uuid4())
        source = DataSource(str(uuid.uuid4()), database_id, title, {}, self.now())
        schema = {"Name": {"title": {}}} | properties
        with self.lock:
            for name, config in schema.items():
                kind = next(iter(config))
                source.properties[name] = self.schema_object(name, kind, config[kind])
            self.databases[database_id] = [source.id]
            self.data_sources[source.id] = source
        return database_id, source.id

    @staticmethod
    def schema_object(name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        prop_id = "title" if kind == "title" else uuid.uuid4().hex[:4]
        body: dict[str, Any] = {}
        if kind in ("select", "status"):
            names = [o["name"] if isinstance(o, dict) else o for o in config.get("options", [])]
            body["options"] = [new_option(n, i) for i, n in enumerate(names)]
            if kind == "status":
                body["groups"] = [
                    {"id": uuid.uuid4().hex[:8], "name": "To-do", "color": "gray",
                     "option_ids": [o["id"] for o in body["options"]]},
                ]  # fmt: skip
        elif kind == "number":
            body["format"] = config.get("format", "number")
        return {"id": prop_id, "name": name, "type": kind, kind: body}

    def add_page(
        self, data_source_id: str, values: dict[str, Any], *, edited: datetime | None = None
    ) -> str:
        with self.lock:
            source = self.data_sources[data_source_id]
            page = Page(
                str(uuid.uuid4()), source.id, source.database_id, {}, self.now(), self.now()
            )
            self._write(source, page, {}, raw=values)
            if edited is not None:
                page.created = page.edited = edited
            self.pages[page.id] = page
            return page.id

    def edit_page(
        self, page_id: str, values: dict[str, Any], *, at: datetime | None = None
    ) -> None:
        """A person editing the row in Notion's UI."""
        with self.lock:
            page = self.pages[page_id]
            self._write(self.data_sources[page.data_source_id], page, {}, raw=values)
            page.edited = at or self.now()

    def edit_during_next_patch(self, page_id: str, values: dict[str, Any]) -> None:
        """A person's edit landing while our next PATCH of the row is in flight: the answer to
        that PATCH already carries it (it lands right after our write, so ours cannot undo it)."""
        with self.lock:
            self._in_flight_edits[page_id] = self._in_flight_edits.get(page_id, {}) | values

    def land_in_flight_edits(self, page_id: str | None = None) -> None:
        """Apply the edit waiting on ``page_id`` (after our PATCH), or all: made without a PATCH."""
        with self.lock:
            for waiting in [page_id] if page_id else list(self._in_flight_edits):
                if waiting in self._in_flight_edits:
                    self.edit_page(waiting, self._in_flight_edits.pop(waiting))

    def trash_page(self, page_id: str) -> None:
        with self.lock:
            self.pages[page_id].in_trash = True
            self.pages[page_id].edited = self.now()

    def values(self, page_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.pages[page_id].values)

    def _write(
        self, source: DataSource, page: Page, writes: dict[str, Any], *, raw: dict[str, Any]
    ) -> None:
        for key, value in writes.items():
            schema = self.property(source, key)
            page.values[schema["name"]] = stored_from_write(schema["name"], schema, value)
        for name, value in raw.items():
            schema = self.property(source, name)
            kind = schema["type"]
            if kind in ("select", "status") and value is not None:
                stored_from_write(name, schema, {kind: {"name": value}})  # options must exist
            page.values[name] = value

    @staticmethod
    def property(source: DataSource, key: str) -> dict[str, Any]:
        schema = source.properties.get(key) or next(
            (p for p in source.properties.values() if p["id"] == key), None
        )
        if schema is None:
            raise NotionFakeError(400, "validation_error", f"{key} is not a property that exists.")
        return schema

    # ----- scripted faults and observation -----

    def fail_next(self, status: int, code: str, *, times: int = 1) -> None:
        self._planned.extend(Planned(status, code) for _ in range(times))

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        self._planned.extend(Planned(0, "", seconds) for _ in range(times))

    def mark(self) -> int:
        with self.lock:
            return len(self.calls)

    def calls_since(self, mark: int) -> list[Call]:
        with self.lock:
            return list(self.calls[mark:])

    # ----- rendering -----

    def render_page(self, page: Page, version: str) -> dict[str, Any]:
        source = self.data_sources[page.data_source_id]
        parent: dict[str, Any] = (
            {
                "type": "data_source_id",
                "data_source_id": source.id,
                "database_id": source.database_id,
            }
            if version >= "2025-09-03"
            else {"type": "database_id", "database_id": source.database_id}
        )
        out: dict[str, Any] = {
            "object": "page",
            "id": page.id,
            "created_time": iso(page.created),
            "last_edited_time": iso(page.edited),
            "created_by": {"object": "user", "id": "user-fake"},
            "last_edited_by": {"object": "user", "id": "user-fake"},
            "cover": None,
            "icon": None,
            "parent": parent,
            "in_trash": page.in_trash,
            "is_locked": False,
            "properties": {
                name: value_object(schema, page.values.get(name, empty_value(schema["type"])))
                for name, schema in source.properties.items()
            },
            "url": f"https://www.notion.so/{page.id.replace('-', '')}",
            "public_url": None,
        }
        if version < "2026-03-11":
            out["archived"] = page.in_trash
        return out

    def render_source(self, source: DataSource, version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object": "data_source" if version >= "2025-09-03" else "database",
            "id": source.id if version >= "2025-09-03" else source.database_id,
            "title": rich_text(source.title),
            "properties": json.loads(json.dumps(source.properties)),
            "created_time": iso(source.created),
            "last_edited_time": iso(source.created),
            "in_trash": False,
        }
        if version >= "2025-09-03":
            out["parent"] = {"type": "database_id", "database_id": source.database_id}
        if version < "2026-03-11":
            out["archived"] = False
        return out

    # ----- the HTTP side -----

    def _rate_limited(self) -> float | None:
        """Seconds to wait when this arrival would exceed the limit, else None (and count it)."""
        now = time.monotonic()
        while self._served and self._served[0] <= now - self.window:
            self._served.popleft()
        if len(self._served) >= self.rate * self.window:
            return self._served[0] + self.window - now
        self._served.append(now)
        return None

    async def handle(self, request: Request, path: str) -> JSONResponse:
        raw = await request.body()
        version = request.headers.get("notion-version")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call(request.method, "/v1/" + path, version, body, 0, time.monotonic())
        response = await self._answer(request, path, version, raw, body)
        response.headers["date"] = format_datetime(self.clock(), usegmt=True)  # its own clock
        call.status = response.status_code
        with self.lock:
            self.calls.append(call)
        return response

    async def _answer(
        self, request: Request, path: str, version: str | None, raw: bytes, body: Any
    ) -> JSONResponse:
        try:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                raise NotionFakeError(401, "unauthorized", "API token is invalid.")
            if not version:
                raise NotionFakeError(
                    400,
                    "missing_version",
                    "Notion-Version header failed validation: should be defined.",
                )
            if version not in VERSIONS:
                raise NotionFakeError(
                    400, "validation_error", f"{version} is not a valid Notion-Version."
                )
            with self.lock:
                wait = self._rate_limited()
            if wait is not None:
                return error_response(
                    NotionFakeError(
                        429, "rate_limited", "You have been rate limited. Please try again later."
                    ),
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            planned = self._planned.popleft() if self._planned else None
            if planned is not None and planned.stall:
                await asyncio.sleep(planned.stall)
            elif planned is not None:
                raise NotionFakeError(planned.status, planned.code, planned.code.replace("_", " "))
            if raw and body is None:
                raise NotionFakeError(400, "invalid_json", "Error parsing JSON body.")
            with self.lock:
                result = route(self, request.method, path, version, body or {})
            return JSONResponse(result)
        except NotionFakeError as exc:
            return error_response(exc)

    # ----- webhooks, signed like Notion's -----

    def webhook_event(
        self, event_type: str, entity_id: str, *, entity_type: str = "page", **extra: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = dict(extra.pop("data", {}))
        page = self.pages.get(entity_id)
        if page is not None:
            data.setdefault(
                "parent",
                {"id": page.database_id, "type": "database", "data_source_id": page.data_source_id},
            )
        return {
            "id": extra.pop("event_id", str(uuid.uuid4())),
            "timestamp": extra.pop("timestamp", iso(datetime.now(UTC))),
            "workspace_id": "ws-fake",
            "workspace_name": "Fake workspace",
            "subscription_id": "sub-fake",
            "integration_id": "int-fake",
            "type": event_type,
            "authors": [{"id": "user-fake", "type": "person"}],
            "attempt_number": extra.pop("attempt_number", 1),
            "api_version": "2025-09-03",
            "entity": {"id": entity_id, "type": entity_type},
            "data": data,
        }


def sign(body: bytes, verification_token: str) -> str:
    """``X-Notion-Signature``: HMAC-SHA256 of the raw body, keyed with the verification token."""
    digest = hmac.new(verification_token.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def create_app(fake: NotionFake) -> FastAPI:
    app = FastAPI()

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
    async def any_route(request: Request, path: str) -> JSONResponse:
        return await fake.handle(request, path)

    return app


@contextmanager
def running(fake: NotionFake | None = None) -> Iterator[tuple[str, NotionFake]]:
    """Serve a fake on loopback; yield its base URL (``.../v1`` for NOTION_BASE_URL) and state."""
    fake = fake or NotionFake()
    with serve(create_app(fake), date_header=False) as url:
        yield url + "/v1", fake
