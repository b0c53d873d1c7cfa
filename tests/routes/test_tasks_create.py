"""POST /api/v1/tasks: queued or draft, by channel id or slug, with or without a hand-written plan."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import asyncpg_dsn
from app.core.database import session_scope
from app.models import AuditLog, Task
from app.pipeline.queue import DISPATCH_CHANNEL
from app.planning.plan import ProductionPlan
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel
from tests.schemas.plans import valid_plan


async def _stored(task_id: str) -> tuple[Task, list[AuditLog]]:
    async with session_scope() as session:
        task = await session.get(Task, uuid.UUID(task_id))
        assert task is not None
        audits = (await session.scalars(select(AuditLog).where(AuditLog.task_id == task.id))).all()
        return task, list(audits)


async def test_create_queued_task_without_plan(client: httpx.AsyncClient) -> None:
    channel = await add_channel("demo")
    body = {
        "channel_id": str(channel.id),
        "title": "  Why the sea is salty ",
        "topic": "oceans",
        "story_direction": "keep it light",
        "priority": 5,
    }
    response = await client.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["status"] == "queued" and data["step"] == "plan"
    assert data["title"] == "Why the sea is salty"
    assert data["channel_id"] == str(channel.id)
    assert data["priority"] == 5 and data["plan_source"] is None
    assert data["queued_at"] is not None
    task, audits = await _stored(data["id"])
    assert task.plan is None and task.topic == "oceans" and task.story_direction == "keep it light"
    [audit] = audits
    assert (audit.actor, audit.action, audit.entity_type) == ("api", "task.created", "task")
    assert audit.entity_id == data["id"] and audit.channel_id == channel.id
    assert audit.details["status"] == "queued" and audit.details["has_plan"] is False


async def test_create_draft_by_slug(client: httpx.AsyncClient) -> None:
    await add_channel("demo")
    response = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": "Later", "queue": False}
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["status"] == "draft" and data["queued_at"] is None
    task, _ = await _stored(data["id"])
    assert task.status == "draft"


async def test_create_with_hand_written_plan(client: httpx.AsyncClient) -> None:
    await add_channel("demo")
    plan = valid_plan()
    response = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": "Keeper", "plan": plan}
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["plan_source"] == "api"
    task, audits = await _stored(data["id"])
    assert task.plan is not None
    assert ProductionPlan.model_validate(task.plan) == ProductionPlan.model_validate(plan)
    assert task.plan["scenes"][2]["narration"] == "He lit the lantern and waited."
    assert audits[0].details["has_plan"] is True


async def _post_plan(client: httpx.AsyncClient, plan: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": "Bad", "plan": plan}
    )
    return assert_error(response, 422, "VALIDATION_ERROR")


async def test_plan_with_undefined_image_is_422_naming_the_scene(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await add_channel("demo")
    plan = valid_plan()
    plan["scenes"][2]["images"] = ["castle"]
    error = await _post_plan(client, plan)
    expected = "plan: scene 3: images: 'castle' is not defined in assets"
    assert expected in error["message"]
    [entry] = error["details"]["errors"]
    assert entry["loc"] == ["body", "plan"] and entry["message"] == expected
    assert (await db_session.scalars(select(Task))).all() == []


async def test_plan_field_error_is_422_naming_scene_and_field(client: httpx.AsyncClient) -> None:
    await add_channel("demo")
    plan = valid_plan()
    plan["scenes"][1]["narration"] = "[thunder] The storm arrived."
    plan["scenes"][2]["duration_s"] = 90
    error = await _post_plan(client, plan)
    by_loc = {tuple(e["loc"]): e["message"] for e in error["details"]["errors"]}
    narration = by_loc[("body", "plan", "scenes", 1, "narration")]
    assert narration.startswith(
        "plan: scene 2: narration: contains the stage direction '[thunder]'"
    )
    assert by_loc[("body", "plan", "scenes", 2, "duration_s")].startswith(
        "plan: scene 3: duration_s:"
    )
    assert "scene 2: narration" in error["message"]


async def test_channel_reference_rules(client: httpx.AsyncClient) -> None:
    channel = await add_channel("demo")
    both = {"channel_id": str(channel.id), "channel_slug": "demo", "title": "x"}
    error = assert_error(await client.post("/api/v1/tasks", json=both), 422, "VALIDATION_ERROR")
    assert "exactly one of channel_id and channel_slug" in error["message"]
    neither = {"title": "x"}
    assert_error(await client.post("/api/v1/tasks", json=neither), 422, "VALIDATION_ERROR")
    unknown = {"channel_slug": "nope", "title": "x"}
    assert_error(await client.post("/api/v1/tasks", json=unknown), 404, "CHANNEL_NOT_FOUND")


async def test_inactive_channel_takes_drafts_only(client: httpx.AsyncClient) -> None:
    await add_channel("paused", active=False)
    queued = {"channel_slug": "paused", "title": "x"}
    error = assert_error(await client.post("/api/v1/tasks", json=queued), 409, "CHANNEL_INACTIVE")
    assert "queue=false" in error["message"]
    draft = {"channel_slug": "paused", "title": "x", "queue": False}
    assert (await client.post("/api/v1/tasks", json=draft)).status_code == 201


async def test_queued_task_wakes_the_dispatcher(client: httpx.AsyncClient, db_url: str) -> None:
    await add_channel("demo")
    received: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await conn.add_listener(DISPATCH_CHANNEL, lambda *args: received.put_nowait(args[3]))
        draft = {"channel_slug": "demo", "title": "x", "queue": False}
        assert (await client.post("/api/v1/tasks", json=draft)).status_code == 201
        queued = {"channel_slug": "demo", "title": "y"}
        assert (await client.post("/api/v1/tasks", json=queued)).status_code == 201
        assert await asyncio.wait_for(received.get(), timeout=10) == "task.queued"
        assert received.empty()  # the draft sent nothing
    finally:
        await conn.close()


async def test_the_original_projects_episode_plan_is_accepted_with_its_mapping(
    client: httpx.AsyncClient,
) -> None:
    raw = json.loads((Path(__file__).parents[1] / "data/plans/original_episode.json").read_text())
    await add_channel("demo")
    response = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": raw["title"], "plan": raw}
    )
    assert response.status_code == 201, response.text
    task, _ = await _stored(response.json()["data"]["id"])
    assert task.plan is not None and task.plan_source == "api"
    assert len(task.plan["scenes"]) == 16 and len(task.plan["assets"]) == 16
    assert sum(s["duration_s"] for s in task.plan["scenes"]) == 90
    assert task.plan["imported"]["format"] == "episode"
    # a typo in the same plan is refused naming the scene, not one of 67 schema errors
    raw["scenes"][2]["narraton"] = raw["scenes"][2].pop("narration")
    refused = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": "x", "plan": raw}
    )
    error = assert_error(refused, 422, "VALIDATION_ERROR")
    messages = [e["message"] for e in error["details"]["errors"]]
    assert len(messages) == 2, messages
    assert any(m.startswith("plan: scene 3: narraton: Extra inputs") for m in messages), messages
    assert any(m.startswith("plan: scene 3: narration: Field required") for m in messages)
