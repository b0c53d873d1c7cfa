"""A fake Discord webhook: Discord's limits checked like the real one, answers scripted per request.

``FakeDiscord.script`` lists how to answer the next requests, in order (then ``ok`` forever):
``ok`` (204, or 200 with the message under ``?wait=true``), ``("429", seconds)`` (Discord's JSON
body with ``retry_after`` and its headers), ``("429html", seconds | None)`` (Cloudflare's HTML
page, ``Retry-After`` only when seconds are given), ``500``, and ``("hang", seconds)``.
A body breaking Discord's limits gets Discord's 400 (code 50035) whatever the script says.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tests.fakes.server import serve

Step = str | tuple[str, float | None]

HTML_429 = "<!DOCTYPE html><html><head><title>Access denied | discord.com</title></head><body>Error 1015 You are being rate limited</body></html>"


def limit_errors(body: Any) -> list[str]:
    """Discord's documented webhook limits, as its validator reports them."""
    if not isinstance(body, dict):
        return ["body is not an object"]
    errors: list[str] = []
    content, embeds = body.get("content"), body.get("embeds") or []
    if not content and not embeds:
        errors.append("empty message")
    if content is not None and len(content) > 2000:
        errors.append("content longer than 2000")
    if len(embeds) > 10:
        errors.append("more than 10 embeds")
    total = 0
    for embed in embeds:
        title, description = embed.get("title", ""), embed.get("description", "")
        fields = embed.get("fields", [])
        footer = embed.get("footer", {}).get("text", "")
        if len(title) > 256:
            errors.append("embed title longer than 256")
        if len(description) > 4096:
            errors.append("embed description longer than 4096")
        if len(fields) > 25:
            errors.append("more than 25 fields")
        for item in fields:
            if not item.get("name") or not item.get("value"):
                errors.append("empty field name or value")
            if len(item.get("name", "")) > 256 or len(item.get("value", "")) > 1024:
                errors.append("field name or value too long")
        if len(footer) > 2048:
            errors.append("footer longer than 2048")
        total += len(title) + len(description) + len(footer)
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
    if total > 6000:
        errors.append("embeds longer than 6000 in total")
    return errors


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    body: Any
    answered: int  # the status sent back; 0 while the fake still holds the request


@dataclass
class FakeDiscord:
    webhook_id: str = "1234567890"
    token: str = field(default_factory=lambda: "tok_" + secrets.token_urlsafe(24))
    script: list[Step] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[Any]:
        """Bodies Discord accepted (what a channel would show)."""
        return [r.body for r in self.received if r.answered in (200, 204)]

    def _next(self) -> tuple[str, float | None]:
        with self._lock:
            step = self.script.pop(0) if self.script else "ok"
        return (step, None) if isinstance(step, str) else step

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/webhooks/{webhook_id}/{token}")
        async def execute(webhook_id: str, token: str, request: Request) -> Response:
            arrived = time.monotonic()
            try:
                body = await request.json()
            except ValueError:
                body = None
            record = Received(at=arrived, body=body, answered=0)  # 0 until answered
            self.received.append(record)
            if webhook_id != self.webhook_id or token != self.token:
                response: Response = JSONResponse(
                    {"message": "Invalid Webhook Token", "code": 50027}, status_code=401
                )
            elif problems := limit_errors(body):
                response = JSONResponse(
                    {"message": "Invalid Form Body", "code": 50035, "errors": problems},
                    status_code=400,
                )
            else:
                response = await self._scripted(request)
            record.answered = response.status_code
            return response

        return app

    async def _scripted(self, request: Request) -> Response:
        kind, seconds = self._next()
        if kind == "429":
            retry_after = seconds if seconds is not None else 1.0
            return JSONResponse(
                {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                },
                status_code=429,
                headers={
                    "Retry-After": str(max(int(retry_after), 1)),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Scope": "user",
                },
            )
        if kind == "429html":
            headers = {"Retry-After": str(int(seconds))} if seconds is not None else {}
            return HTMLResponse(HTML_429, status_code=429, headers=headers)
        if kind == "500":
            return JSONResponse({"message": "500: Internal Server Error", "code": 0}, 500)
        if kind == "hang":  # hold the request until the client gives up (or ``seconds`` pass)
            deadline = time.monotonic() + (seconds or 60)
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.05)
        if request.query_params.get("wait") == "true":
            return JSONResponse({"id": "1", "type": 0, "content": "", "channel_id": "1"})
        return Response(status_code=204)


@contextmanager
def fake_discord(script: list[Step] | None = None) -> Iterator[tuple[FakeDiscord, str]]:
    """A running fake and its webhook URL (the URL is the secret, as on Discord)."""
    fake = FakeDiscord(script=list(script or []))
    with serve(fake.app()) as base:
        yield fake, f"{base}/api/webhooks/{fake.webhook_id}/{fake.token}"
