"""The API load benchmark's yardstick: the task list's first page with nothing but the essentials.

One uvicorn process (the same server and options ``vidgen web`` uses), a Starlette route that
checks the bearer token, runs the task list's query over a raw asyncpg pool (the same columns,
order and page size as ``GET /api/v1/tasks``) and answers the same envelope with the standard
library's ``json``. What our endpoint costs above this is the framework, the ORM and the models:
the ratio of the two, measured side by side, is the figure that means something on a shared
machine. Run as ``BARE_DSN=postgresql://... python -m uvicorn benchmarks.api_load_bare:app``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.queue_fleet import BENCH_API_TOKEN

COLUMNS = (
    "id, channel_id, status, step, status_reason, priority, title, topic, story_direction, "
    "plan_source, error_code, error_message, notion_page_id, youtube_video_id, youtube_url, "
    "final_video_key, total_cost_usd, queued_at, started_at, completed_at, created_at, updated_at"
)
QUERY = f"SELECT {COLUMNS} FROM tasks ORDER BY created_at DESC, id DESC LIMIT $1"
_state: dict[str, asyncpg.Pool] = {}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # UUID, Decimal


async def tasks(request: Request) -> Response:
    if request.headers.get("authorization") != f"Bearer {BENCH_API_TOKEN}":
        return JSONResponse({"success": False}, status_code=401)
    limit = min(int(request.query_params.get("limit", "50")), 200)
    rows = await _state["pool"].fetch(QUERY, limit + 1)
    items = [{k: _plain(v) for k, v in row.items()} for row in rows[:limit]]
    body = {
        "success": True,
        "data": {"items": items, "pagination": {"limit": limit, "has_more": len(rows) > limit}},
    }
    return Response(json.dumps(body), media_type="application/json")


async def ready(request: Request) -> Response:
    return Response("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    _state["pool"] = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=2, max_size=15)
    try:
        yield
    finally:
        await _state.pop("pool").close()


app = Starlette(
    routes=[Route("/api/v1/tasks", tasks), Route("/ready", ready)],
    lifespan=lifespan,
)
