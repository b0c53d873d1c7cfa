"""Operator alerts. For now an ``alert`` log event; Discord delivery comes with issue 5.

Callers await ``send_alert`` as if it were a network call, so delivery can be added here without
touching them. Fields must be non-secret (they are logged and, later, posted).
"""

from __future__ import annotations

from typing import Any

from app.utils.logging import get_logger

log = get_logger("alerts")


async def send_alert(kind: str, title: str, message: str, **fields: Any) -> None:
    log.warning("alert", kind=kind, title=title, message=message, **fields)
