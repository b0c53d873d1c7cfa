"""structlog JSON logging with context binding and a processor that redacts secrets anywhere."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(api[_-]?key|token|secret|password|passwd|authorization|cookie|credential|"
    r"refresh|fernet|webhook[_-]?url|session[_-]?uri|signature|xi-api-key)",
    re.IGNORECASE,
)
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"(?i)((?:xi-|x-goog-|x-)?api[_-]?key\"?\s*:\s*\"?)[^\s,;\"'}]{8,}"),
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(@)"),
    re.compile(r"\bntn_[A-Za-z0-9]{20,}"),  # Notion integration tokens
    re.compile(r"\b1//[0-9A-Za-z_-]{20,}"),  # Google OAuth refresh tokens
    re.compile(r"https://(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/[^\s\"']+", re.IGNORECASE),
    re.compile(r"(?i)((?:api[_-]?key|token|secret|password|key)=)[^&\s\"']+"),
    re.compile(r"(?i)(postgres(?:ql)?(?:\+asyncpg)?://[^:/\s]+:)[^@\s]+(@)"),
    re.compile(r"\bsecret_[A-Za-z0-9]{10,}\b"),
    re.compile(r"\bsk[-_][A-Za-z0-9_-]{10,}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{20,}\b"),
    re.compile(r"\bya29\.[0-9A-Za-z_.-]+"),
    re.compile(r"\bgAAAAA[0-9A-Za-z_=-]{20,}"),  # Fernet tokens
)
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret's exact value so it is scrubbed even where no pattern would catch it."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact_text(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_value(key: str | None, value: Any) -> Any:
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        if not isinstance(value, bool | int | float):
            return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(None, v) for v in value]
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: scrub secret-named keys and secret-looking values, nested too."""
    for key in list(event_dict):
        event_dict[key] = redact_value(None if key == "event" else key, event_dict[key])
    return event_dict


def configure_logging(
    level: str = "INFO", fmt: str = "json", *, process: str | None = None
) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    if process:
        structlog.contextvars.bind_contextvars(process=process)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class _RedactingFormatter(logging.Formatter):
    """Stdlib logs (uvicorn, httpx, asyncpg) pass through the same scrubbing."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


bind_context = structlog.contextvars.bind_contextvars
unbind_context = structlog.contextvars.unbind_contextvars
bound_context = structlog.contextvars.bound_contextvars
