"""Fault injection for any fake: a raw ASGI wrapper that breaks a steady share of answers.

``FaultInjector(rate=0.15, seed=7, rules=[...]).wrap(app)`` decides per request, with its own
seeded RNG, whether to answer normally or with one of the fault kinds the matching rule allows:

- before the fake sees the request (the vendor never processed it, so a retry pays nothing):
  ``429`` (with ``Retry-After``), ``500``, ``503``, and ``timeout`` (the request is held longer
  than the client waits, then dropped unprocessed when the client hangs up);
- after the fake answered (the vendor did the work; only the delivery broke): ``truncate`` (the
  headers promise the whole body, 40% of it arrives, the connection closes) and ``corrupt``
  (status 200, the right length, but the bytes are an HTML error page instead of media).

Every exchange is recorded (``exchanges``) with its request body when small, the status the fake
gave and the fault applied, so a test can count, from the vendor's side, which paid generations
were delivered intact and which were wasted by a fault.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PRE_KINDS = ("429", "500", "503", "timeout")
POST_KINDS = ("truncate", "corrupt")
MAX_CAPTURE = 256 * 1024
CORRUPT_PAGE = b"<html><body><h1>502 Bad Gateway</h1>cache miss</body></html>\n"

# error bodies in each vendor's shape (the status is what clients decide on)
ERROR_SHAPES: dict[str, Any] = {
    "google": lambda s: {
        "error": {"code": s, "message": "injected fault", "status": "UNAVAILABLE"}
    },
    "notion": lambda s: {
        "object": "error",
        "status": s,
        "code": "service_unavailable" if s != 429 else "rate_limited",
        "message": "injected fault",
    },
    "kie": lambda s: {"code": s, "msg": "injected fault", "data": None},
    "elevenlabs": lambda s: {"detail": {"status": "injected_fault", "message": "injected fault"}},
}


@dataclass(frozen=True)
class FaultRule:
    """Requests whose method is in ``methods`` (empty: any) and path starts with ``prefix``."""

    prefix: str
    kinds: tuple[str, ...]
    methods: frozenset[str] = frozenset()

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.prefix) and (not self.methods or method in self.methods)


@dataclass
class Exchange:
    at: float  # time.time() on arrival
    method: str
    path: str
    body: bytes | None  # None when larger than MAX_CAPTURE or not read
    status: int | None = None  # what the fake answered (None: never reached it)
    fault: str | None = None
    done: float | None = None  # time.time() when the last byte went out (None: never)


@dataclass
class FaultInjector:
    rate: float = 0.15
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    stall_s: float = 6.0  # longer than the clients' timeout under test
    shape: str = "google"
    enabled: bool = True
    limit: int | None = None  # stop after this many faults (a test scripting "once")
    exchanges: list[Exchange] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _choose(self, method: str, path: str) -> str | None:
        rule = next((r for r in self.rules if r.matches(method, path)), None)
        if rule is None or not rule.kinds or not self.enabled:
            return None
        with self._lock:
            if self.limit is not None and sum(self.injected.values()) >= self.limit:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind: str = self._rng.choice(rule.kinds)
            self.injected[kind] += 1
            return kind

    def wrap(self, app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            await self._handle(app, scope, receive, send)

        return wrapped

    async def _handle(self, app: Any, scope: Any, receive: Any, send: Any) -> None:
        method, path = scope["method"], scope["path"]
        kind = self._choose(method, path)
        record = Exchange(time.time(), method, path, None, fault=kind)
        with self._lock:
            self.exchanges.append(record)
        if kind in PRE_KINDS:
            await self._pre_fault(kind, receive, send)
            return
        await app(scope, self._capturing(receive, record), self._sending(send, record, kind))

    def _capturing(self, receive: Any, record: Exchange) -> Any:
        chunks: list[bytes] = []
        size = 0

        async def capture() -> Any:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                piece = message.get("body", b"")
                size += len(piece)
                if size <= MAX_CAPTURE:
                    chunks.append(piece)
                if not message.get("more_body", False) and size <= MAX_CAPTURE:
                    record.body = b"".join(chunks)
            return message

        return capture

    def _sending(self, send: Any, record: Exchange, kind: str | None) -> Any:
        start: dict[str, Any] = {}
        body = bytearray()

        async def deliver(message: Any) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                if kind is None:
                    await send(message)
                else:
                    start.update(message)
                return
            if message["type"] != "http.response.body" or kind is None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    record.done = time.time()
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            if kind == "truncate":  # 40%, then the app ends and the server closes the socket
                part = bytes(body[: len(body) * 2 // 5])
                await send({"type": "http.response.body", "body": part, "more_body": True})
                return
            page = (CORRUPT_PAGE * (len(body) // len(CORRUPT_PAGE) + 1))[: len(body)]
            await send({"type": "http.response.body", "body": page})

        return deliver

    async def _pre_fault(self, kind: str, receive: Any, send: Any) -> None:
        more = True
        while more:  # read the request so the client is not cut off mid-upload
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            more = message.get("more_body", False)
        if kind == "timeout":
            try:
                message = await asyncio.wait_for(receive(), self.stall_s)
            except TimeoutError:
                message = {"type": "timeout"}
            if message["type"] == "http.disconnect":
                return  # the client gave up; the request is dropped unprocessed
            kind = "503"
        status = int(kind)
        payload = ERROR_SHAPES[self.shape](status)
        data = json.dumps(payload).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ]
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
