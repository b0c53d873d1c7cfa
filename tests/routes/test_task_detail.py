"""GET /api/v1/tasks/{task_id}: the task with plan, steps, items, cost ledger and totals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx

from app.core.time import utc_now
from app.models import (
    ItemStatus,
    PipelineStep,
    StepStatus,
    TaskItem,
    TaskStatus,
    TaskStep,
    VideoCost,
)
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task
from tests.schemas.plans import valid_plan


async def test_detail_with_steps_items_costs_and_totals(client: httpx.AsyncClient) -> None:
    channel = await add_channel("demo")
    plan = valid_plan()
    task = await add_task(
        channel, title="Keeper", status=TaskStatus.RUNNING, plan=plan, plan_source="api"
    )
    now = utc_now()
    await add_rows(
        # Inserted out of pipeline order: the response puts them in order.
        TaskStep(task_id=task.id, step=PipelineStep.VIDEOS, status=StepStatus.RUNNING, attempts=1),
        TaskStep(task_id=task.id, step=PipelineStep.PLAN, status=StepStatus.COMPLETED, attempts=1),
        TaskStep(
            task_id=task.id, step=PipelineStep.ASSETS, status=StepStatus.COMPLETED, attempts=2
        ),
        TaskItem(
            task_id=task.id,
            step=PipelineStep.VIDEOS,
            item_key="scene-2",
            scene_number=2,
            status=ItemStatus.RUNNING,
            remote_ids={"kling_task_id": "kt-secret-ish"},
        ),
        TaskItem(
            task_id=task.id,
            step=PipelineStep.VIDEOS,
            item_key="scene-1",
            scene_number=1,
            status=ItemStatus.COMPLETED,
            output_keys={"video": "tasks/x/scene-1.mp4"},
            cost_usd=Decimal("0.35"),
        ),
        TaskItem(
            task_id=task.id,
            step=PipelineStep.ASSETS,
            item_key="keeper",
            status=ItemStatus.COMPLETED,
        ),
        VideoCost(
            task_id=task.id,
            channel_id=channel.id,
            step=PipelineStep.ASSETS,
            item_key="keeper",
            service="gemini",
            cost_usd=Decimal("0.04"),
            idempotency_key=f"{task.id}:assets:keeper",
            created_at=now,
        ),
        VideoCost(
            task_id=task.id,
            channel_id=channel.id,
            step=PipelineStep.VIDEOS,
            item_key="scene-1",
            service="kling",
            units=Decimal(5),
            unit_label="seconds",
            cost_usd=Decimal("0.35"),
            idempotency_key=f"{task.id}:videos:scene-1",
            created_at=now + timedelta(seconds=1),
        ),
    )
    other = await add_task(channel, title="other")
    await add_rows(
        VideoCost(
            task_id=other.id,
            channel_id=channel.id,
            step=PipelineStep.ASSETS,
            service="gemini",
            cost_usd=Decimal(9),
            idempotency_key=f"{other.id}:x",
        )
    )

    response = await client.get(f"/api/v1/tasks/{task.id}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == str(task.id) and data["status"] == "running"
    assert data["plan"] == plan
    assert [s["step"] for s in data["steps"]] == ["plan", "assets", "videos"]
    assert data["steps"][1]["attempts"] == 2
    assert [(i["step"], i["item_key"]) for i in data["items"]] == [
        ("assets", "keeper"),
        ("videos", "scene-1"),
        ("videos", "scene-2"),
    ]
    assert data["items"][1]["output_keys"] == {"video": "tasks/x/scene-1.mp4"}
    assert "remote_ids" not in data["items"][2] and "kt-secret-ish" not in response.text
    assert [(c["service"], Decimal(c["cost_usd"])) for c in data["costs"]] == [
        ("gemini", Decimal("0.04")),
        ("kling", Decimal("0.35")),
    ]
    totals = data["totals"]
    assert Decimal(totals["cost_usd"]) == Decimal("0.39")
    assert {k: Decimal(v) for k, v in totals["cost_by_step"].items()} == {
        "assets": Decimal("0.04"),
        "videos": Decimal("0.35"),
    }
    assert {k: Decimal(v) for k, v in totals["cost_by_service"].items()} == {
        "gemini": Decimal("0.04"),
        "kling": Decimal("0.35"),
    }
    assert totals["paid_calls"] == 2
    assert (totals["items_total"], totals["items_completed"]) == (3, 2)


async def test_detail_of_a_new_task_is_empty_but_complete(client: httpx.AsyncClient) -> None:
    await add_channel("demo")
    created = await client.post("/api/v1/tasks", json={"channel_slug": "demo", "title": "New"})
    task_id = created.json()["data"]["id"]
    data = (await client.get(f"/api/v1/tasks/{task_id}")).json()["data"]
    assert data["plan"] is None
    assert (data["steps"], data["items"], data["costs"]) == ([], [], [])
    assert Decimal(data["totals"]["cost_usd"]) == 0 and data["totals"]["paid_calls"] == 0


async def test_detail_rejects_a_malformed_id(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.get("/api/v1/tasks/not-a-uuid"), 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["loc"] == ["path", "task_id"]
