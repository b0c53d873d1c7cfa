"""PgQueuer jobs of the pipeline: entrypoint names, payloads, enqueue inside our transaction.

Every item of a step is one job; its entrypoint is the *pool* of the provider that does the work
(``item.kling``, ``item.elevenlabs``, ...), so PgQueuer's fleet-wide ``concurrency_limit`` per
entrypoint is exactly the provider's concurrency limit, shared by every worker.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pgqueuer import AsyncpgDriver, Queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ITEM_ENTRYPOINT_PREFIX = "item."
DISPATCH_CHANNEL = "vidgen_dispatch"

# Pools and their default fleet-wide concurrency (overridden by WorkerSettings / config).
DEFAULT_POOL_LIMITS: dict[str, int] = {
    "planner": 4,
    "gemini": 4,
    "local_image": 2,
    "composite": 2,
    "kling": 5,
    "kenburns": 2,
    "pexels": 2,
    "pixabay": 2,
    "elevenlabs": 3,
    "openai": 3,  # OpenAI-compatible servers (image: openai, voice: openai)
    "hibari": 2,  # offline neural voice, ~210 MB each
    "espeak": 2,
    "synth": 2,
    "segment": 3,
    "final": 2,
    "upload": 2,
}


def item_entrypoint(pool: str) -> str:
    if pool not in DEFAULT_POOL_LIMITS:
        raise ValueError(f"unknown worker pool {pool!r}")
    return f"{ITEM_ENTRYPOINT_PREFIX}{pool}"


@dataclass(frozen=True)
class ItemJob:
    item_id: uuid.UUID
    pool: str
    priority: int = 0
    delay: timedelta | None = None

    def payload(self) -> bytes:
        return json.dumps({"item_id": str(self.item_id)}).encode()


def parse_item_payload(payload: bytes | None) -> uuid.UUID:
    data: Any = json.loads(payload or b"{}")
    return uuid.UUID(str(data["item_id"]))


async def _raw_connection(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def enqueue_items(session: AsyncSession, jobs: list[ItemJob]) -> None:
    """Enqueue item jobs in the session's open transaction: they commit or vanish with the rows.

    The dedupe key (one live job per item) makes a second enqueue of the same item a no-op.
    """
    if not jobs:
        return
    queries = Queries(AsyncpgDriver(await _raw_connection(session)))
    await queries.enqueue(
        [item_entrypoint(j.pool) for j in jobs],
        [j.payload() for j in jobs],
        [j.priority for j in jobs],
        [j.delay for j in jobs],
        [f"item:{j.item_id}" for j in jobs],
        on_conflict="skip",
    )


async def notify_dispatcher(session: AsyncSession, reason: str) -> None:
    """Wake the dispatcher when this transaction commits (task queued, finished, freed a slot)."""
    await session.execute(
        text("SELECT pg_notify(:channel, :reason)"), {"channel": DISPATCH_CHANNEL, "reason": reason}
    )
