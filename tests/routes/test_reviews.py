"""The review API: reject, retry, cancel, bulk (all or nothing) and the review queue."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import AuditLog, PipelineStep, Review, TaskStatus
from app.review import service as review_service
from tests.e2e.harness import short_plan
from tests.routes.conftest import assert_error
from tests.services.review_support import add_channel, add_task, drive, load

API = "/api/v1"


async def _at_videos_gate(channel_id: uuid.UUID, title: str = "t") -> uuid.UUID:
    task_id = await add_task(channel_id, short_plan(2), title=title)
    task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.VIDEOS)
    return task_id


async def _review_rows() -> tuple[int, int]:
    async with session_scope() as session:
        reviews = await session.scalar(select(func.count()).select_from(Review))
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action.in_(["review.approved", "review.rejected"]))
        )
    return int(reviews or 0), int(audits or 0)


async def test_reject_answers_with_the_task_sent_back_or_explains_what_is_wrong(
    client: httpx.AsyncClient, app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[videos]")
    task_id = await _at_videos_gate(channel_id)

    missing_notes = await client.post(f"{API}/tasks/{task_id}/reject", json={"scenes": [1]})
    assert_error(missing_notes, 422, "VALIDATION_ERROR")
    unknown = await client.post(
        f"{API}/tasks/{task_id}/reject", json={"notes": "dark", "scenes": [5]}
    )
    error = assert_error(unknown, 422, "REDO_INVALID")
    assert error["details"]["problems"] == [
        "scenes: scene 5 is not in the plan: the plan has scenes 1-2"
    ]
    assert await _review_rows() == (0, 0)

    sent_back = await client.post(
        f"{API}/tasks/{task_id}/reject",
        json={
            "notes": "scene 2 is too dark",
            "scenes": [2],
            "scene_replacements": [{"scene": 2, "motion_prompt": "slow pan across the city"}],
        },
    )
    assert sent_back.status_code == 200, sent_back.text
    data = sent_back.json()["data"]
    assert (data["status"], data["step"]) == ("running", "videos")
    assert data["status_reason"] == "redoing after the videos review: scene 2 is too dark"
    async with session_scope() as session:
        [row] = await session.scalars(select(AuditLog).where(AuditLog.action == "review.rejected"))
    assert row.actor == "api"
    assert row.details["gate"] == "videos" and row.details["notes"] == "scene 2 is too dark"
    assert row.details["items"] == {"videos": ["scene-02"]}

    again = await client.post(f"{API}/tasks/{task_id}/reject", json={"notes": "x"})
    assert_error(again, 409, "NOT_AWAITING_REVIEW")


async def test_retry_and_cancel_through_the_api(
    client: httpx.AsyncClient, app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[videos]")
    task_id = await _at_videos_gate(channel_id)
    assert_error(await client.post(f"{API}/tasks/{task_id}/retry"), 409, "NOT_FAILED")
    cancelled = await client.post(f"{API}/tasks/{task_id}/cancel", json={"reason": "duplicate"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert cancelled.json()["data"]["status_reason"] == "cancelled by api: duplicate"
    missing = await client.post(f"{API}/tasks/{uuid.uuid4()}/cancel")
    assert_error(missing, 404, "TASK_NOT_FOUND")


async def test_bulk_review_with_one_bad_task_changes_nothing(
    client: httpx.AsyncClient, app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[videos]")
    waiting = [await _at_videos_gate(channel_id, f"video {n}") for n in range(3)]
    running = await add_task(channel_id, short_plan(2), title="still running")
    await drive(running)  # it stops at the videos gate too...
    async with session_scope() as session:  # ...so move it on by approving it
        await review_service.approve(session, task_id=running, actor="x", notes=None)
    before = await _review_rows()

    entries = [
        {"task_id": str(waiting[0]), "decision": "approve"},
        {"task_id": str(waiting[1]), "decision": "reject", "notes": "redo 1", "scenes": [1]},
        {"task_id": str(running), "decision": "approve"},
        {"task_id": str(waiting[2]), "decision": "approve", "notes": "fine"},
    ]
    refused = await client.post(f"{API}/reviews/bulk", json={"reviews": entries})
    error = assert_error(refused, 409, "BULK_REVIEW_INVALID")
    assert [e["task_id"] for e in error["details"]["errors"]] == [str(running)]
    assert error["details"]["errors"][0]["code"] == "NOT_AWAITING_REVIEW"
    assert str(running) in error["message"]
    assert [(await load(t)).status for t in waiting] == [TaskStatus.AWAITING_REVIEW] * 3
    assert await _review_rows() == before

    ghost = str(uuid.uuid4())
    bad_scene = {"task_id": str(waiting[1]), "decision": "reject", "notes": "n", "scenes": [7]}
    refused = await client.post(
        f"{API}/reviews/bulk",
        json={"reviews": [{"task_id": ghost, "decision": "approve"}, bad_scene]},
    )
    error = assert_error(refused, 422, "BULK_REVIEW_INVALID")
    assert [(e["task_id"], e["code"]) for e in error["details"]["errors"]] == [
        (ghost, "TASK_NOT_FOUND"),
        (str(waiting[1]), "REDO_INVALID"),
    ]
    assert await _review_rows() == before

    entries.pop(2)
    applied = await client.post(f"{API}/reviews/bulk", json={"reviews": entries})
    assert applied.status_code == 200, applied.text
    results = applied.json()["data"]
    assert [(r["task_id"], r["decision"], r["status"], r["step"]) for r in results] == [
        (str(waiting[0]), "approve", "running", "narration"),
        (str(waiting[1]), "reject", "running", "videos"),
        (str(waiting[2]), "approve", "running", "narration"),
    ]
    assert await _review_rows() == (before[0] + 3, before[1] + 3)


async def test_bulk_refuses_malformed_entries(
    client: httpx.AsyncClient, app_db: AsyncEngine
) -> None:
    task = str(uuid.uuid4())
    too_many = [{"task_id": str(uuid.uuid4()), "decision": "approve"} for _ in range(101)]
    cases = [
        {"reviews": too_many},
        {"reviews": [{"task_id": task, "decision": "reject"}]},  # no notes
        {"reviews": [{"task_id": task, "decision": "approve", "scenes": [1]}]},
        {"reviews": [{"task_id": task, "decision": "approve"}] * 2},
    ]
    for body in cases:
        assert_error(await client.post(f"{API}/reviews/bulk", json=body), 422, "VALIDATION_ERROR")


async def test_the_review_queue_lists_the_longest_waiting_first_with_artifact_links(
    client: httpx.AsyncClient, app_db: AsyncEngine, tmp_path: Path
) -> None:
    offline = await add_channel(tmp_path, slug="offline", gates="[videos]")
    paid = await add_channel(
        tmp_path, slug="paid", gates="[]", video="kling", budget={"per_video_usd": 0.1}
    )
    first = await add_task(offline, short_plan(2), title="first")
    second = await add_task(offline, short_plan(2), title="second")
    held = await add_task(paid, short_plan(2), title="held")
    running = await add_task(offline, short_plan(2), title="not waiting")
    await drive(second)  # reaches its gate before the older task does
    await drive(held)
    await drive(first)
    assert (await load(running)).status == TaskStatus.RUNNING

    listed = await client.get(f"{API}/reviews")
    assert listed.status_code == 200, listed.text
    entries = listed.json()["data"]["items"]
    assert [(e["title"], e["gate"], e["kind"]) for e in entries] == [
        ("second", "videos", "review"),
        ("held", "videos", "budget"),
        ("first", "videos", "review"),
    ]
    assert entries[1]["status_reason"].startswith("budget: step videos would cost $0.42")
    assert [e["waiting_since"] for e in entries] == sorted(e["waiting_since"] for e in entries)
    links = {(a["step"], a["item_key"]): a for a in entries[0]["artifacts"]}
    assert set(links) == {
        ("assets", "hero"), ("assets", "forest"), ("assets", "city"),
        ("composites", "scene-01"), ("composites", "scene-02"),
        ("videos", "scene-01"), ("videos", "scene-02"),
    }  # fmt: skip
    clip = links[("videos", "scene-02")]
    assert clip["url"] == f"{API}/tasks/{second}/artifacts/videos/scene-02.mp4"
    assert clip["key"].endswith(f"/projects/{second}/videos/scene-02.mp4")

    page_one = await client.get(f"{API}/reviews", params={"limit": 2})
    body = page_one.json()["data"]
    assert [e["title"] for e in body["items"]] == ["second", "held"]
    page_two = await client.get(
        f"{API}/reviews", params={"limit": 2, "cursor": body["pagination"]["next_cursor"]}
    )
    assert [e["title"] for e in page_two.json()["data"]["items"]] == ["first"]
    assert page_two.json()["data"]["pagination"]["next_cursor"] is None
    only_paid = await client.get(f"{API}/reviews", params={"channel_id": "paid"})
    assert [e["title"] for e in only_paid.json()["data"]["items"]] == ["held"]
