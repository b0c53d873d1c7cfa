"""The API load benchmark's data: N tasks across a few channels, shaped like a live deployment.

Status mix (of 100): 55 published, 10 queued, 10 draft, 8 running, 7 failed, 5 cancelled,
5 awaiting review. Every task has a template plan of 6-10 scenes; each step it reached has its
row and its items (artifact keys as the pipeline writes them), and each paid item its cost ledger
row, so the detail view and the review queue read what they would in production. Audit rows:
``task.created``, one ``step.completed`` per finished step, ``review.waiting`` at a gate.

Rows go in with asyncpg's binary COPY (10,000 tasks: about 300,000 rows in a few seconds).
Nothing is left for the web's dispatcher or reconciler to act on: the channels are inactive (the
web service's channel files say so) and no item is queued or running.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from app.models import PIPELINE_ORDER, PipelineStep, Task
from app.pipeline import items as keys
from app.planning.template_planner import plan_from_brief

STATUS_MIX = (
    ("published", 55),
    ("queued", 10),
    ("draft", 10),
    ("running", 8),
    ("failed", 7),
    ("cancelled", 5),
    ("awaiting_review", 5),
)
GATES = (PipelineStep.ASSETS, PipelineStep.VIDEOS, PipelineStep.ASSEMBLY)
TOPICS = ("tea", "volcanoes", "the printing press", "octopuses", "the silk road", "comets")
# step -> (provider, model, unit label, units, cost per item)
PAID = {
    PipelineStep.ASSETS: ("gemini", "gemini-2.5-flash-image", "image", 1, "0.039"),
    PipelineStep.VIDEOS: ("kling", "kling-v2.1", "second", 5, "0.35"),
    PipelineStep.NARRATION: ("elevenlabs", "eleven_multilingual_v2", "character", 180, "0.054"),
    PipelineStep.SOUND_EFFECTS: ("elevenlabs", "sound-generation", "generation", 1, "0.012"),
}
TABLE_COLUMNS = {
    "tasks": (
        "id channel_id status step status_reason priority title topic story_direction plan"
        " plan_source total_cost_usd queued_at started_at completed_at created_at updated_at"
        " youtube_video_id youtube_url final_video_key error_code error_message"
    ).split(),
    "task_steps": (
        "id task_id step status attempts starts started_at completed_at duration_ms"
        " error_code error_message"
    ).split(),
    "task_items": (
        "id task_id step item_key scene_number status attempts inputs output_keys remote_ids"
        " result cost_usd started_at completed_at"
    ).split(),
    "video_costs": (
        "id task_id channel_id step item_key service model units unit_label cost_usd"
        " idempotency_key created_at"
    ).split(),
    "audit_logs": "id created_at actor action entity_type entity_id task_id channel_id details".split(),
}


@dataclass
class SeedInfo:
    """What the load driver needs to build its requests, plus row counts for the report."""

    channel_slugs: list[str]
    detail_ids: list[uuid.UUID]  # published tasks, for the detail endpoint
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class _Rows:
    tables: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in TABLE_COLUMNS}
    )

    def add(self, table: str, **values: Any) -> None:
        self.tables[table].append(tuple(values.get(c) for c in TABLE_COLUMNS[table]))


def _item_specs(
    task: Task, plan: dict[str, Any], step: PipelineStep
) -> list[tuple[str, int | None, dict[str, str]]]:
    """(item key, scene number, output keys) of one step, as the pipeline names them."""
    scenes = plan["scenes"]
    if step is PipelineStep.PLAN:
        return [("plan", None, {})]
    if step is PipelineStep.ASSETS:
        return [
            (a["name"], None, {"output": keys.asset_key(task, a["name"])}) for a in plan["assets"]
        ]
    if step is PipelineStep.COMPOSITES:
        return [
            (
                keys.scene_item(s["number"]),
                s["number"],
                {"output": keys.composite_key(task, s["number"])},
            )
            for s in scenes
            if s["layout"] != "single"
        ]
    per_scene = {
        PipelineStep.VIDEOS: keys.clip_key,
        PipelineStep.NARRATION: keys.narration_key,
        PipelineStep.SOUND_EFFECTS: keys.sfx_key,
    }
    if step in per_scene:
        make = per_scene[step]
        return [
            (keys.scene_item(s["number"]), s["number"], {"output": make(task, s["number"])})
            for s in scenes
        ]
    if step is PipelineStep.ASSEMBLY:
        return [("final", None, {"output": keys.final_key(task)})]
    return [("upload", None, {})]


def _add_task(
    rows: _Rows, rng: random.Random, channel_id: uuid.UUID, status: str, created: datetime, n: int
) -> uuid.UUID:
    task = Task(id=uuid.uuid4(), channel_id=channel_id)
    topic = rng.choice(TOPICS)
    title = f"{topic.title()} #{n}: a short history"
    plan = plan_from_brief(
        title=title, topic=topic, story_direction=None, scene_count=rng.randint(6, 10)
    )
    if status in ("queued", "draft"):
        reached = -1
    elif status == "published":
        reached = len(PIPELINE_ORDER) - 1
    elif status == "awaiting_review":
        reached = PIPELINE_ORDER.index(rng.choice(GATES))
    else:
        reached = rng.randrange(len(PIPELINE_ORDER) - 1)
    clock = created + timedelta(seconds=rng.randint(5, 600))
    total = Decimal(0)
    audit = {
        "actor": "api",
        "entity_type": "task",
        "entity_id": str(task.id),
        "task_id": task.id,
        "channel_id": channel_id,
    }
    rows.add(
        "audit_logs",
        id=uuid.uuid4(),
        created_at=created,
        action="task.created",
        details=json.dumps({"status": "queued", "title": title}),
        **audit,
    )
    for index in range(reached + 1):
        step = PIPELINE_ORDER[index]
        # the step the task stands at is unfinished, except at a review gate (done, waiting)
        current = index == reached and status not in ("published", "awaiting_review")
        step_status = (
            ("failed" if status == "failed" else "running" if status == "running" else "completed")
            if current
            else "completed"
        )
        started = clock
        for key, scene, outputs in _item_specs(task, plan, step):
            done = not current or rng.random() < 0.5
            item_status = "completed" if done else ("failed" if status == "failed" else "pending")
            paid = PAID.get(step)
            cost = Decimal(paid[4]) if paid and done else Decimal(0)
            item_id = uuid.uuid4()
            clock += timedelta(seconds=rng.uniform(1, 30))
            rows.add(
                "task_items",
                id=item_id,
                task_id=task.id,
                step=step.value,
                item_key=key,
                scene_number=scene,
                status=item_status,
                attempts=1 if done else 0,
                inputs=json.dumps({"pool": paid[0] if paid else "local", "scene": scene}),
                output_keys=json.dumps(outputs if done else {}),
                remote_ids="{}",
                result=json.dumps({"duration_s": 5.0} if scene and done else {}),
                cost_usd=cost,
                started_at=started,
                completed_at=clock if done else None,
            )
            if paid and done:
                total += cost
                rows.add(
                    "video_costs",
                    id=uuid.uuid4(),
                    task_id=task.id,
                    channel_id=channel_id,
                    step=step.value,
                    item_key=key,
                    service=paid[0],
                    model=paid[1],
                    units=Decimal(paid[3]),
                    unit_label=paid[2],
                    cost_usd=cost,
                    idempotency_key=f"{item_id}:1",
                    created_at=clock,
                )
        rows.add(
            "task_steps",
            id=uuid.uuid4(),
            task_id=task.id,
            step=step.value,
            status=step_status,
            attempts=1,
            starts=1,
            started_at=started,
            completed_at=clock if step_status == "completed" else None,
            duration_ms=int((clock - started).total_seconds() * 1000),
            error_code="PROVIDER_ERROR" if step_status == "failed" else None,
            error_message="kling: 3 attempts failed" if step_status == "failed" else None,
        )
        if step_status == "completed":
            rows.add(
                "audit_logs",
                id=uuid.uuid4(),
                created_at=clock,
                action="step.completed",
                details=json.dumps({"step": step.value}),
                **audit,
            )
    if status == "awaiting_review":
        rows.add(
            "audit_logs",
            id=uuid.uuid4(),
            created_at=clock,
            action="review.waiting",
            details=json.dumps({"gate": PIPELINE_ORDER[reached].value}),
            **audit,
        )
    video_id = f"yt{n:09d}" if status == "published" else None
    rows.add(
        "tasks",
        id=task.id,
        channel_id=channel_id,
        status=status,
        step=PIPELINE_ORDER[max(reached, 0)].value,
        priority=rng.choice((0, 0, 0, 1, 5)),
        title=title,
        topic=topic,
        story_direction=None,
        plan=json.dumps(plan),
        plan_source="template",
        total_cost_usd=total,
        queued_at=None if status == "draft" else created,
        started_at=created + timedelta(seconds=5) if reached >= 0 else None,
        completed_at=clock if status in ("published", "cancelled") else None,
        created_at=created,
        updated_at=clock,
        youtube_video_id=video_id,
        youtube_url=f"https://youtu.be/{video_id}" if video_id else None,
        final_video_key=keys.final_key(task) if status == "published" else None,
        status_reason="waiting for review" if status == "awaiting_review" else None,
        error_code="PROVIDER_ERROR" if status == "failed" else None,
        error_message="kling: 3 attempts failed" if status == "failed" else None,
    )
    return task.id


async def seed(dsn: str, *, tasks: int, channels: int = 3, seed_value: int = 7) -> SeedInfo:
    """Insert channels (slugs ``load-1``..) and ``tasks`` tasks with their rows; one transaction."""
    rng = random.Random(seed_value)
    slugs = [f"load-{i}" for i in range(1, channels + 1)]
    channel_ids = [uuid.uuid4() for _ in slugs]
    statuses = [name for name, weight in STATUS_MIX for _ in range(weight)]
    rows, detail_ids = _Rows(), []
    now = datetime.now(UTC)
    for n in range(tasks):
        status = statuses[n % len(statuses)] if tasks >= len(statuses) else rng.choice(statuses)
        created = now - timedelta(days=180) * rng.random()
        task_id = _add_task(rows, rng, channel_ids[n % channels], status, created, n)
        if status == "published" and len(detail_ids) < 500:
            detail_ids.append(task_id)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO channels (id, slug, name, active, priority, max_concurrent, config,"
                " config_hash, created_at, updated_at) VALUES ($1, $2, $3, false, 0, 1, '{}', '', now(), now())",
                [(cid, slug, slug.title()) for cid, slug in zip(channel_ids, slugs, strict=True)],
            )
            for table, records in rows.tables.items():
                await conn.copy_records_to_table(
                    table, records=records, columns=TABLE_COLUMNS[table]
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return SeedInfo(
        channel_slugs=slugs, detail_ids=detail_ids, rows={t: len(r) for t, r in rows.tables.items()}
    )


async def seed_info(dsn: str) -> SeedInfo:
    """The SeedInfo of a database ``seed`` filled earlier (``--database``: no re-seeding)."""
    conn = await asyncpg.connect(dsn)
    try:
        slugs = [r["slug"] for r in await conn.fetch("SELECT slug FROM channels ORDER BY slug")]
        ids = await conn.fetch(
            "SELECT id FROM tasks WHERE status = 'published' ORDER BY created_at LIMIT 500"
        )
        rows = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLE_COLUMNS}
    finally:
        await conn.close()
    return SeedInfo(channel_slugs=slugs, detail_ids=[r["id"] for r in ids], rows=rows)
