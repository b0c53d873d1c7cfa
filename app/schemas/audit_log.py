"""Audit log rows as the API returns them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditLogResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str | None
    task_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    details: dict[str, Any]
