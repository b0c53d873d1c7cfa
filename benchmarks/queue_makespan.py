"""Phase (d)'s yardstick: the shortest makespan the providers' limits allow, and Kling's use.

Lower bound (every term is forced, whatever the scheduler does):

* before the first Kling clip can start, some task must have run its plan, its assets (Gemini,
  level by level of asset references, ``ceil(level_size / gemini_limit)`` rounds of the Gemini
  latency each) and its composites;
* Kling, the scarcest provider, must run ``videos * scenes`` clips of a fixed latency with at
  most ``kling_limit`` at once: ``ceil(clips / kling_limit) * kling_latency`` of wall time;
* after the last clip ends, the task it belongs to must still run narration and sound effects
  (ElevenLabs, one after the other, ``ceil(scenes / elevenlabs_limit)`` rounds each), then
  assembly and upload, because steps of one task run in order.

A fleet that keeps Kling busy whenever clips wait for it lands close to the sum; the gap is
scheduling overhead (slot hand-over latency, dispatch, step transitions).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from benchmarks.queue_tasks import AuditRow


def parse_latencies(spec: str) -> dict[str, float]:
    """``"kling=3,elevenlabs=0.5,*=0"`` as item_runner's bench hook reads it."""
    pairs = (part.split("=", 1) for part in spec.split(",") if "=" in part)
    return {pool.strip(): float(value) for pool, value in pairs}


def _latency(latencies: dict[str, float], pool: str) -> float:
    return latencies.get(pool, latencies.get("*", 0.0))


def _rounds(count: int, pool: str, latencies: dict[str, float], limits: dict[str, int]) -> float:
    if count == 0:
        return 0.0
    return math.ceil(count / limits[pool]) * _latency(latencies, pool)


def _asset_levels(plan: dict[str, Any]) -> list[int]:
    """How many assets can be made in each round, given ``references`` (made first)."""
    level: dict[str, int] = {}
    remaining = {a["name"]: list(a.get("references", [])) for a in plan["assets"]}
    while remaining:
        ready = [n for n, refs in remaining.items() if all(r in level for r in refs)]
        for name in ready:
            level[name] = 1 + max((level[r] for r in remaining[name]), default=-1)
            del remaining[name]
    counts = [0] * (max(level.values()) + 1)
    for value in level.values():
        counts[value] += 1
    return counts


@dataclass(frozen=True)
class Bound:
    before_kling_s: float
    kling_s: float
    after_kling_s: float

    @property
    def total_s(self) -> float:
        return self.before_kling_s + self.kling_s + self.after_kling_s


def makespan_bound(
    plan: dict[str, Any], videos: int, latencies: dict[str, float], limits: dict[str, int]
) -> Bound:
    scenes = len(plan["scenes"])
    composites = sum(s["layout"] != "single" for s in plan["scenes"])
    before = _rounds(1, "planner", latencies, limits)
    before += sum(_rounds(n, "gemini", latencies, limits) for n in _asset_levels(plan))
    before += _rounds(composites, "composite", latencies, limits)
    after = 2 * _rounds(scenes, "elevenlabs", latencies, limits)  # narration, then sfx
    after += _rounds(scenes, "segment", latencies, limits) + _rounds(1, "final", latencies, limits)
    after += _rounds(1, "upload", latencies, limits)
    kling = _rounds(videos * scenes, "kling", latencies, limits)
    return Bound(before_kling_s=before, kling_s=kling, after_kling_s=after)


@dataclass(frozen=True)
class KlingUse:
    first_start_s: float  # after the first task's commit
    last_end_s: float
    busy_slot_s: float  # sum of clip run times (claim to record)
    limit: int
    clips: int
    slot_hold_s: float = 0.0  # PgQueuer's view: sum over clips of picked -> logged (slot freed)

    @property
    def utilisation(self) -> float:
        span = self.last_end_s - self.first_start_s
        return self.busy_slot_s / (self.limit * span) if span > 0 else 0.0


async def kling_slot_hold_s(conn: asyncpg.Connection, since: datetime) -> float:
    """Sum of picked -> successful per Kling job from ``pgqueuer_log``: how long slots were held."""
    value = await conn.fetchval(
        "SELECT sum(extract(epoch FROM s.created - p.created)) FROM pgqueuer_log AS p"
        " JOIN pgqueuer_log AS s ON s.job_id = p.job_id AND s.status = 'successful'"
        " WHERE p.status = 'picked' AND p.entrypoint = 'item.kling' AND p.created >= $1",
        since,
    )
    return float(value or 0.0)


def kling_use(rows: list[AuditRow], origin: datetime, limit: int) -> KlingUse:
    starts: dict[tuple[uuid.UUID, str | None], datetime] = {}
    ends: dict[tuple[uuid.UUID, str | None], datetime] = {}
    for row in rows:
        if row.step != "videos":
            continue
        if row.action == "item.started":
            starts.setdefault((row.task_id, row.item), row.at)
        elif row.action == "item.completed":
            ends[(row.task_id, row.item)] = row.at
    busy = sum((ends[k] - starts[k]).total_seconds() for k in ends if k in starts)
    return KlingUse(
        first_start_s=(min(starts.values()) - origin).total_seconds(),
        last_end_s=(max(ends.values()) - origin).total_seconds(),
        busy_slot_s=busy,
        limit=limit,
        clips=len(ends),
    )
