"""POST /api/v1/tasks/{task_id}/media (a scene's own image, clip or narration) and .../queue."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.main import create_app
from app.models import AuditLog, PipelineStep, Task, TaskStatus
from tests.routes.conftest import app_settings, assert_error, make_client
from tests.routes.factories import add_channel
from tests.scripts.assembly_helpers import make_clip, make_voice


def _plan() -> dict[str, Any]:
    return {
        "title": "The keeper's night",
        "scenes": [
            {"narration": "The keeper climbs the stairs.", "visual_prompt": "a spiral stair"},
            {"narration": "The lamp is lit.", "visual_prompt": "a lamp room at dusk"},
        ],
    }


async def _draft(client: httpx.AsyncClient, plan: dict[str, Any] | None = None) -> str:
    await add_channel("demo")
    body: dict[str, Any] = {"channel_slug": "demo", "title": "Keeper", "queue": False}
    if plan is not None:
        body["plan"] = plan
    response = await client.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _upload(
    client: httpx.AsyncClient, task_id: str, path: Path, *, scene: int, kind: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tasks/{task_id}/media",
        data={"scene": str(scene), "kind": kind},
        files={"file": (path.name, path.read_bytes())},
    )


async def test_each_kind_is_stored_and_named_in_the_plan(
    workspace_client: tuple[httpx.AsyncClient, Path], tmp_path: Path
) -> None:
    client, root = workspace_client
    task_id = await _draft(client, _plan())
    image = tmp_path / "stair.png"
    Image.new("RGB", (320, 180), (200, 30, 30)).save(image)
    clip = make_clip(tmp_path / "lamp.mp4", 1.5, size="320x180")
    voice = make_voice(tmp_path / "keeper.wav", 2.0)
    sent = {("image", 1): image, ("narration", 1): voice, ("clip", 2): clip}
    for (kind, scene), path in sent.items():
        response = await _upload(client, task_id, path, scene=scene, kind=kind)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        prefix = f"/projects/{task_id}/user-media/scene-{scene:02d}-{kind}"
        assert prefix in data["key"] and data["key"].endswith(path.suffix)
        # stored byte for byte where the plan points
        assert (root / data["key"]).read_bytes() == path.read_bytes()
    detail = (await client.get(f"/api/v1/tasks/{task_id}")).json()["data"]
    media = [scene.get("media") for scene in detail["plan"]["scenes"]]
    assert media[0]["image"].endswith("scene-01-image.png") and media[0]["clip"] is None
    assert media[0]["narration"].endswith("scene-01-narration.wav")
    assert media[1]["clip"].endswith("scene-02-clip.mp4") and media[1]["image"] is None
    async with session_scope() as session:
        actions = (
            await session.scalars(
                select(AuditLog.action).where(AuditLog.task_id == uuid.UUID(task_id))
            )
        ).all()
    assert actions.count("task.media_attached") == 3


async def test_wrong_or_broken_files_are_refused_and_change_nothing(
    workspace_client: tuple[httpx.AsyncClient, Path], tmp_path: Path
) -> None:
    client, root = workspace_client
    task_id = await _draft(client, _plan())
    fake_png = tmp_path / "stair.png"
    fake_png.write_text("not an image at all")
    error = assert_error(
        await _upload(client, task_id, fake_png, scene=1, kind="image"), 400, "MEDIA_UNREADABLE"
    )
    assert "'stair.png' was sent as the scene's image but it cannot be decoded" in error["message"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    error = assert_error(
        await _upload(client, task_id, text, scene=1, kind="narration"), 400, "MEDIA_TYPE_INVALID"
    )
    assert ".mp3, .wav" in error["message"]
    silent_clip = tmp_path / "voice.wav"
    make_voice(silent_clip, 1.0)
    renamed = tmp_path / "voice.mp4"
    silent_clip.rename(renamed)
    error = assert_error(
        await _upload(client, task_id, renamed, scene=2, kind="clip"), 400, "MEDIA_UNREADABLE"
    )
    assert "no video stream (found: audio)" in error["message"]
    image = tmp_path / "ok.png"
    Image.new("RGB", (32, 18)).save(image)
    error = assert_error(
        await _upload(client, task_id, image, scene=9, kind="image"), 404, "SCENE_NOT_FOUND"
    )
    assert "its scenes: 1, 2" in error["message"]
    detail = (await client.get(f"/api/v1/tasks/{task_id}")).json()["data"]
    assert all(scene.get("media") is None for scene in detail["plan"]["scenes"])
    assert not list(root.rglob("user-media/*"))


async def test_media_needs_a_plan_and_a_step_not_yet_started(
    workspace_client: tuple[httpx.AsyncClient, Path], tmp_path: Path
) -> None:
    client, _root = workspace_client
    image = tmp_path / "ok.png"
    Image.new("RGB", (32, 18)).save(image)
    no_plan = await _draft(client)
    error = assert_error(
        await _upload(client, no_plan, image, scene=1, kind="image"), 409, "PLAN_MISSING"
    )
    assert "Create the task with a plan" in error["message"]
    response = await client.post(
        "/api/v1/tasks", json={"channel_slug": "demo", "title": "Later", "plan": _plan()}
    )
    running = response.json()["data"]["id"]
    async with session_scope() as session:
        task = await session.get(Task, uuid.UUID(running))
        assert task is not None
        task.status, task.step = TaskStatus.RUNNING, PipelineStep.VIDEOS
    voice = make_voice(tmp_path / "v.wav", 1.0)
    # the narration step has not started yet: still accepted
    ok = await _upload(client, running, voice, scene=1, kind="narration")
    assert ok.status_code == 201, ok.text
    error = assert_error(
        await _upload(client, running, image, scene=1, kind="image"), 409, "MEDIA_TOO_LATE"
    )
    assert "used by the assets step, which has already started" in error["message"]


async def test_queue_starts_a_draft_once(workspace_client: tuple[httpx.AsyncClient, Path]) -> None:
    client, _root = workspace_client
    task_id = await _draft(client, _plan())
    first = await client.post(f"/api/v1/tasks/{task_id}/queue")
    assert first.status_code == 200, first.text
    assert first.json()["data"]["status"] == "queued"
    again = await client.post(f"/api/v1/tasks/{task_id}/queue")
    assert again.json()["data"]["status"] == "queued"
    async with session_scope() as session:
        task = await session.get(Task, uuid.UUID(task_id))
        assert task is not None
        task.status = TaskStatus.RUNNING
        actions = (
            await session.scalars(
                select(AuditLog.action).where(AuditLog.task_id == uuid.UUID(task_id))
            )
        ).all()
    assert actions.count("task.queued") == 1
    error = assert_error(await client.post(f"/api/v1/tasks/{task_id}/queue"), 409, "NOT_QUEUEABLE")
    assert "only a draft or a cancelled task can be queued" in error["message"]


async def test_an_upload_over_the_media_limit_is_refused_before_it_is_read(
    tmp_path: Path, app_db: AsyncEngine
) -> None:
    app = create_app(app_settings(workspace_root=tmp_path, max_media_upload_bytes=2048))
    async with make_client(app) as client:
        task_id = await _draft(client, _plan())
        big = tmp_path / "big.png"
        Image.effect_noise((256, 256), 64).save(big)
        assert big.stat().st_size > 2048
        assert_error(
            await _upload(client, task_id, big, scene=1, kind="image"), 413, "PAYLOAD_TOO_LARGE"
        )
        small = tmp_path / "small.png"
        Image.new("RGB", (8, 8)).save(small)
        # the small JSON-body limit does not apply to media: 1 MiB is far over it for JSON
        response = await _upload(client, task_id, small, scene=1, kind="image")
        assert response.status_code == 201, response.text
