"""Query parameters the listing routes share, so every list reads its filters and pages alike.

Each alias carries its OpenAPI description and bounds, which the tasks, reviews, audit-log and
cost routes would otherwise each restate (and could let drift apart).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.core.keyset import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.pipeline.schemas import DateOrDateTime

ChannelRef = Annotated[str | None, Query(description="Channel id or slug.")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
DEFAULT_LIMIT = DEFAULT_PAGE_SIZE
DateFrom = Annotated[
    DateOrDateTime | None, Query(description="At or after (a date means its start, UTC).")
]
DateTo = Annotated[
    DateOrDateTime | None, Query(description="At or before (a date means its end, UTC).")
]
