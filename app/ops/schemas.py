"""Bodies of the probes and of the audit-log listing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessResponse(BaseModel):
    database: Literal["ok", "unreachable"]
    migrations: Literal["at_head", "behind", "unknown"]


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
