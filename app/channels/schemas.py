"""Channel bodies the API returns (channels are created from YAML by ``vidgen channels sync``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ChannelResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    active: bool
    priority: int
    max_concurrent: int
    notion_database_id: str | None
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
