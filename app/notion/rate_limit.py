"""Notion's ~3 requests/s per integration, shared by every process of the fleet, in PostgreSQL.

One row per integration holds the next free send slot. Taking a slot is one atomic upsert that
moves the row forward by one interval and returns how long the caller must sleep: callers never
retry or spin, concurrent callers serialise on the row lock and each gets its own future slot, and
all clocks are the database server's, so web replicas and workers on different machines agree.
A 429 pushes the slot past ``Retry-After`` for everyone.

The interval carries a 5% margin over ``1 / rate``: a request delayed on its way (a busy event
loop, a new connection) lets the next ones arrive closer together than they were sent, and Notion
counts arrivals; the margin absorbs half a second of such delay in every 10 s.
"""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_MARGIN = 0.05

_TAKE_SLOT = text(
    """
    WITH now AS (SELECT clock_timestamp() AS t)
    INSERT INTO notion_rate_limits AS r (bucket, next_slot_at, updated_at)
    SELECT :bucket, now.t + make_interval(secs => :interval), now.t FROM now
    ON CONFLICT (bucket) DO UPDATE
    SET next_slot_at = GREATEST(
            r.next_slot_at, (SELECT t FROM now) - make_interval(secs => :slack)
        ) + make_interval(secs => :interval),
        updated_at = (SELECT t FROM now)
    RETURNING EXTRACT(EPOCH FROM r.next_slot_at - make_interval(secs => :interval)
                                 - (SELECT t FROM now))::float8
    """
)
_PENALIZE = text(
    """
    INSERT INTO notion_rate_limits AS r (bucket, next_slot_at, updated_at)
    VALUES (:bucket, clock_timestamp() + make_interval(secs => :seconds), clock_timestamp())
    ON CONFLICT (bucket) DO UPDATE
    SET next_slot_at = GREATEST(r.next_slot_at,
                                clock_timestamp() + make_interval(secs => :seconds)),
        updated_at = clock_timestamp()
    """
)


def bucket_for_token(token: str) -> str:
    """Notion limits per integration, so the bucket is the token's (never the token itself)."""
    return "notion:" + hashlib.sha256(token.encode()).hexdigest()[:24]


class PostgresRateLimiter:
    """``rate`` requests/s on average, ``burst`` at once after a quiet spell, fleet-wide."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bucket: str,
        rate: float,
        burst: int = 1,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.engine = engine
        self.bucket = bucket
        self.interval = (1.0 / rate) * (1.0 + margin)
        self.slack = (burst - 1) * self.interval

    async def acquire(self) -> None:
        async with self.engine.connect() as conn:
            wait = (
                await conn.execute(
                    _TAKE_SLOT,
                    {"bucket": self.bucket, "interval": self.interval, "slack": self.slack},
                )
            ).scalar_one()
            await conn.commit()
        if wait > 0:
            await asyncio.sleep(wait)

    async def penalize(self, seconds: float) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(_PENALIZE, {"bucket": self.bucket, "seconds": float(seconds)})
            await conn.commit()
