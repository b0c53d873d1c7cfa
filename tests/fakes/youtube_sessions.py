"""The fake's resumable-session endpoint (``PUT <session URI>``), as raw ASGI.

Raw so that an injected fault can cut the connection mid-body, the way a network does: the
headers promise a body that never comes and the socket closes.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from tests.fakes.youtube import YouTubeFake

ALIGN = 256 * 1024


def _content_range(header: str) -> tuple[int | None, int | None, int | None]:
    """``bytes a-b/T``, ``bytes */T`` or ``bytes a-b/*`` -> (a, b, T)."""
    spec = header.removeprefix("bytes").strip()
    span, _, total = spec.partition("/")
    parsed_total = None if total == "*" else int(total)
    if span == "*":
        return None, None, parsed_total
    first, _, last = span.partition("-")
    return int(first), int(last), parsed_total


async def _respond(
    send: Any, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, status: int, payload: Any) -> None:
    await _respond(send, status, json.dumps(payload).encode(), {"content-type": "application/json"})


async def session_put(state: YouTubeFake, scope: Any, receive: Any, send: Any) -> None:
    """A PUT on a session URI, raw ASGI so a fault can drop the connection mid-body."""
    state.in_flight += 1
    try:
        await _session_put(state, scope, receive, send)
    finally:
        state.in_flight -= 1


async def _session_put(state: YouTubeFake, scope: Any, receive: Any, send: Any) -> None:
    query = parse_qs(scope["query_string"].decode())
    session = state.sessions.get((query.get("upload_id") or [""])[0])
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}

    async def drain() -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)

    if session is not None and session.vanish_at is not None:
        if len(session.data) >= session.vanish_at:
            session.gone_status = 404  # Google lost it: from now on the URI is unknown
    if session is None or session.gone_status:
        state.calls["session.gone"] += 1
        await drain()
        await _respond(send, session.gone_status if session else 404, b"Not Found")
        return
    first, last, total = _content_range(headers.get("content-range", "bytes */*"))
    if total is not None and total != session.total:
        await drain()
        await _json(send, 400, {"error": {"code": 400, "message": "Content-Range total differs"}})
        return
    if first is None:
        state.calls["session.status"] += 1
        await drain()
        if session.video_id:
            await _json(send, 200, state.videos[session.video_id].resource)
        elif session.data:
            await _respond(send, 308, headers={"range": f"bytes=0-{len(session.data) - 1}"})
        else:
            await _respond(send, 308)
        return
    state.calls["session.chunk"] += 1
    state.chunk_starts.append(first)
    assert last is not None
    length = last - first + 1
    held = len(session.data)
    problem = None
    if session.video_id:
        problem = "upload already complete"
    elif first > held:
        problem = f"chunk starts at {first} but only {held} bytes are stored"
    elif last + 1 < session.total and length % ALIGN:
        problem = f"chunk of {length} bytes is not a multiple of 262144"
    if problem:
        await drain()
        await _json(send, 400, {"error": {"code": 400, "message": problem}})
        return
    # A resent range that overlaps what is held (a client retrying a cut chunk) is accepted if
    # the overlapping bytes are the same; only new bytes are appended.
    fault = next((f for f in state.faults if max(first, held) <= f.at <= last), None)
    position = first
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":  # the client died mid-chunk: keep what came
            state.calls["session.disconnect"] += 1
            return
        piece = message.get("body", b"")
        more = message.get("more_body", False)
        overlap = max(min(len(piece), len(session.data) - position), 0)
        if piece[:overlap] != session.data[position : position + overlap]:
            await drain()
            await _json(send, 400, {"error": {"code": 400, "message": "resent bytes differ from those stored"}})  # fmt: skip
            return
        position += overlap
        piece = piece[overlap:]
        if fault is not None and position + len(piece) > fault.at:
            session.data += piece[: fault.at - position]
            state.faults.remove(fault)
            state.calls[f"fault.{fault.kind}"] += 1
            if fault.kind == "drop":  # headers promise a body that never comes: a cut connection
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})  # fmt: skip
                return
            if more:
                await drain()
            body = {"error": {"code": 503, "message": "Backend Error", "errors": [{"reason": "backendError", "domain": "global", "message": "Backend Error"}]}}  # fmt: skip
            await _json(send, 503, body)
            return
        session.data += piece
        position += len(piece)
    if position != last + 1:
        del session.data[held:]  # a short body is refused whole
        await _json(send, 400, {"error": {"code": 400, "message": "body length differs from Content-Range"}})  # fmt: skip
        return
    if state.chunk_delay_s:
        await asyncio.sleep(state.chunk_delay_s)
    if state.hold_at is not None and len(session.data) >= state.hold_at:
        state.holding = True  # the bytes are stored; the answer waits until the test releases it
        while state.hold_at is not None:
            await asyncio.sleep(0.02)
        state.holding = False
    if len(session.data) == session.total:
        await _json(send, 201, state.finish(session).resource)
        return
    await _respond(send, 308, headers={"range": f"bytes=0-{len(session.data) - 1}"})
