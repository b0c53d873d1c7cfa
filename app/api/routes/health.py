"""Probes, open without a token: ``/health`` (process alive) and ``/ready`` (safe to send traffic)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.responses import ok
from app.core.envelope import Envelope, ErrorEnvelope
from app.core.errors import ServiceUnavailableError
from app.ops.readiness import check_readiness
from app.ops.schemas import HealthResponse, ReadinessResponse

router = APIRouter(tags=["probes"])

_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorEnvelope, "description": "Database unreachable or migrations not at head"}
}


@router.get("/health")
async def health() -> Envelope[HealthResponse]:
    """Liveness: answers as long as the process serves requests; touches nothing else."""
    return ok(HealthResponse())


@router.get("/ready", responses=_NOT_READY)
async def ready() -> Envelope[ReadinessResponse]:
    """Readiness: the database answers and its schema is at the migrations' head."""
    result = await check_readiness()
    body = ReadinessResponse(
        database="ok" if result.database else "unreachable",
        migrations=("at_head" if result.migrations else "behind") if result.database else "unknown",
    )
    if not result.ready:
        raise ServiceUnavailableError(
            "not ready: "
            + ("database unreachable" if not result.database else "migrations not at head"),
            code="NOT_READY",
            details=body.model_dump(),
        )
    return ok(body)
