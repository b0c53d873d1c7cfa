"""Bodies of the probes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessResponse(BaseModel):
    database: Literal["ok", "unreachable"]
    migrations: Literal["at_head", "behind", "unknown"]
