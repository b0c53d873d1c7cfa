"""Discord webhook messages: the payload within Discord's limits, and one POST with its answer read.

The webhook URL is the credential (no auth header), so it is registered with the log redactor,
scrubbed from httpx's own request log, and never put in a log line or an error message here:
failures are described by status code or exception type only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from app.core.logging import redact_text, register_secret

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
# An HTML 429 (Cloudflare) carries no retry_after; such bans last long, so back off a while.
HTML_429_DEFAULT_S = 60.0

COLORS = {"task_failed": 0xE74C3C, "worker_crash_loop": 0x8E44AD, "budget_stop": 0xF39C12}
DEFAULT_COLOR = 0xE67E22
FIELD_LABELS: dict[str, tuple[str, bool]] = {  # field -> (label, inline)
    "task": ("Task", False),
    "task_id": ("Task id", True),
    "channel": ("Channel", True),
    "step": ("Step", True),
    "code": ("Error code", True),
    "error": ("Error", False),
    "link": ("Link", False),
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _embed_size(embed: Mapping[str, Any]) -> int:
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + len(embed.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def build_payload(
    *,
    kind: str,
    title: str,
    message: str,
    fields: Mapping[str, object],
    at: datetime,
    link: str | None = None,
    suppressed: int = 0,
) -> dict[str, Any]:
    """One embed with the alert's fields, every text redacted and cut to Discord's limits.

    ``allowed_mentions.parse = []``: an error text containing ``@everyone`` must not ping anyone.
    """
    title = _cut(redact_text(title) or kind, TITLE_MAX)
    embed_fields: list[dict[str, Any]] = []
    ordered = [k for k in FIELD_LABELS if k in fields] + [
        k for k in fields if k not in FIELD_LABELS
    ]
    for key in ordered:
        value = fields[key]
        if value is None or value == "":
            continue  # Discord refuses empty field values
        label, inline = FIELD_LABELS.get(key, (key.replace("_", " ").capitalize(), True))
        embed_fields.append(
            {
                "name": _cut(label, FIELD_NAME_MAX),
                "value": _cut(redact_text(str(value)), FIELD_VALUE_MAX),
                "inline": inline,
            }
        )
    footer = f"vidgen · {kind}"
    if suppressed:
        footer += f" · {suppressed} repeat(s) suppressed since the last one"
    embed: dict[str, Any] = {
        "title": title,
        "description": _cut(redact_text(message), DESCRIPTION_MAX),
        "color": COLORS.get(kind, DEFAULT_COLOR),
        "fields": embed_fields[:FIELDS_MAX],
        "timestamp": at.isoformat(),
        "footer": {"text": _cut(footer, FOOTER_MAX)},
    }
    if link:
        embed["url"] = link
    overflow = _embed_size(embed) - EMBED_TOTAL_MAX
    if overflow > 0:
        embed["description"] = _cut(
            embed["description"], max(len(embed["description"]) - overflow, 1)
        )
    return {
        "content": _cut(f"⚠️ [{kind}] {title}", CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


@dataclass(frozen=True)
class PostResult:
    """What one POST came to: ``ok``, or a wait before the next try (429), or a failure."""

    ok: bool
    status: int | None = None
    retry_after: float | None = None
    rate_limit_scope: str | None = None  # "global", "route", "html" for a 429
    reason: str | None = None  # a safe description (never the URL)
    bucket_reset_after: float | None = None  # X-RateLimit-Remaining was 0: wait this long


def _float(value: object) -> float | None:
    try:
        return max(float(str(value)), 0.0)
    except ValueError:
        return None


def _rate_limited(response: httpx.Response) -> PostResult:
    """Both 429 shapes: Discord's JSON (``retry_after`` seconds) and Cloudflare's HTML page."""
    header = _float(response.headers.get("retry-after", "x"))
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and _float(body.get("retry_after", "x")) is not None:
        scope = "global" if body.get("global") else "route"
        return PostResult(
            ok=False,
            status=429,
            retry_after=_float(body["retry_after"]),
            rate_limit_scope=scope,
            reason="rate limited",
        )
    return PostResult(
        ok=False,
        status=429,
        retry_after=header if header is not None else HTML_429_DEFAULT_S,
        rate_limit_scope="html",
        reason="rate limited (not JSON)",
    )


def _failure_reason(response: httpx.Response) -> str:
    """Status and Discord's error code, e.g. ``HTTP 400 (50035)``; no body text, no URL."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}" + (f" ({code})" if isinstance(code, int) else "")


async def post_message(
    client: httpx.AsyncClient, url: str, payload: Mapping[str, Any]
) -> PostResult:
    """POST once; transport errors come back as a result too (by exception type)."""
    try:
        response = await client.post(url, json=payload)
    except httpx.HTTPError as exc:
        return PostResult(ok=False, reason=type(exc).__name__)
    if response.status_code == 429:
        return _rate_limited(response)
    if response.is_success:
        reset = None
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = _float(response.headers.get("x-ratelimit-reset-after", "x"))
        return PostResult(ok=True, status=response.status_code, bucket_reset_after=reset)
    return PostResult(ok=False, status=response.status_code, reason=_failure_reason(response))


class _ScrubFilter(logging.Filter):
    """httpx logs each request's URL at INFO; the webhook's must not reach any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


_scrub_filter = _ScrubFilter()


def protect_url(url: str) -> None:
    """Make sure the webhook URL can't be logged: by us, by httpx, or by anyone's traceback."""
    register_secret(url)
    register_secret(url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0])  # the token alone
    logger = logging.getLogger("httpx")
    if _scrub_filter not in logger.filters:
        logger.addFilter(_scrub_filter)
