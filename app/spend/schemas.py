"""The cost ledger as the API reports it: totals, and groups or a page of rows."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.core.envelope import Pagination
from app.pipeline.schemas import VideoCostResponse


class CostGroupBy(StrEnum):
    CHANNEL = "channel"
    SERVICE = "service"
    DAY = "day"
    STEP = "step"


class CostSumsResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cost_usd: Decimal
    units: Decimal = Field(description="Sum of units; mixes unit labels unless grouped by service.")
    count: int = Field(description="Paid calls (ledger rows).")


class CostGroupResponse(CostSumsResponse):
    key: str = Field(description="Channel slug, service, UTC day (YYYY-MM-DD) or step.")
    channel_id: uuid.UUID | None = Field(description="Set when grouped by channel.")


class VideoCostRowResponse(VideoCostResponse):
    """A ledger row as a task's detail shows it, plus whose it is: the report spans tasks."""

    task_id: uuid.UUID
    channel_id: uuid.UUID


class VideoCostReportResponse(BaseModel):
    totals: CostSumsResponse = Field(description="Over every row matching the filters.")
    group_by: CostGroupBy | None
    groups: list[CostGroupResponse] | None = Field(description="With group_by; else null.")
    items: list[VideoCostRowResponse] | None = Field(description="Without group_by; else null.")
    pagination: Pagination | None = Field(description="Of items; null with group_by.")
