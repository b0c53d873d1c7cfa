"""Appending to the audit log (the table refuses UPDATE and DELETE, so rows are only ever added)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditLog


def record_audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    task_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one row to the caller's transaction, so it commits (or not) with the change it records."""
    row = AuditLog(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        task_id=task_id,
        channel_id=channel_id,
        details=details or {},
    )
    session.add(row)
    return row
