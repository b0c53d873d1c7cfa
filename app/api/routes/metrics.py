"""``/metrics`` for Prometheus, behind the same bearer token as the API (a scraper sends it with
``authorization: {credentials: ...}``); outside /api/v1 because that is where scrapers look."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.api.deps import SessionDep, get_app_settings, require_token
from app.api.responses import ERROR_RESPONSES
from app.core.config import Settings
from app.ops.metrics import CONTENT_TYPE, render_metrics

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_token)])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {}}},
    },
)
async def metrics(
    session: SessionDep, settings: Annotated[Settings, Depends(get_app_settings)]
) -> Response:
    """Tasks by channel and status, step durations, queue depth, retries, costs and YouTube
    quota left, computed from the database at scrape time (the whole fleet, from any process)."""
    body = await render_metrics(session, settings=settings)
    return Response(content=body, media_type=CONTENT_TYPE)
