"""A paid Kling task is made once per clip, even when its worker dies before the task's id is in
the database (the chaos campaign's "Kling task created twice"): a real worker process, the real
script, the fake KIE and catbox over loopback, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.artifacts.configured import key_path
from app.channels.config import load_channel_configs
from app.channels.credentials import set_credential
from app.channels.sync import sync_channels
from app.core.config import PROJECT_ROOT, get_settings
from app.core.database import session_scope
from app.models import Channel, ItemStatus, PipelineStep, Task, TaskItem, TaskStatus
from app.pipeline.items import scene_image_key
from app.pipeline.orchestrator import start_step
from app.planning.plan import ProductionPlan
from tests.chaos.stack import tiny_plan
from tests.fakes.catbox import FakeCatbox
from tests.fakes.kie import API_KEY, FakeKie
from tests.fakes.server import serve
from tests.scripts.video_checks import make_clip
from tests.services.youtube_support import run_until_settled

CHANNEL_YAML = """\
slug: klingy
name: Kling Resume
providers:
  planner: template
  image: local
  video:
    provider: kling
    kling:
      timeout_s: 120
  voice: espeak
  sfx: synth
review_gates: []
"""


@pytest.fixture
def kie_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeKie, dict[str, str]]]:
    clip = make_clip(tmp_path / "kling.mp4", seconds=2, size="320x180", fps=24, faststart=False)
    # the first poll of a resumed task answers success (the dead worker's polls count too)
    kie = FakeKie(video=clip, generating_polls=-2, hold_generating=True)
    with serve(kie.app()) as kie_url, serve(FakeCatbox().app()) as catbox_url:
        env = {
            "KIE_BASE_URL": f"{kie_url}/api/v1",
            "CATBOX_UPLOAD_URL": f"{catbox_url}/user/api.php",
            "WORKSPACE_ROOT": str(tmp_path / "ws"),
            "FERNET_KEYS": Fernet.generate_key().decode(),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield kie, env
    get_settings.cache_clear()


async def _clip_item(configs: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """A Kling channel with its key, and a task at its clip step with the scene's still in place."""
    configs.mkdir(parents=True, exist_ok=True)
    (configs / "klingy.yaml").write_text(CHANNEL_YAML)
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(configs))
    async with session_scope() as session:
        channel = (await session.scalars(select(Channel).where(Channel.slug == "klingy"))).one()
        await set_credential(session, channel.id, "kie", API_KEY)
        plan = tiny_plan("tag01", 1)
        task = Task(
            channel_id=channel.id,
            title="Kling once",
            topic="harbour",
            status=TaskStatus.RUNNING,
            step=PipelineStep.VIDEOS,
            plan=plan,
            plan_source="api",
        )
        session.add(task)
        await session.flush()
        parsed = ProductionPlan.model_validate(plan)
        still = key_path(scene_image_key(task, parsed, parsed.scenes[0]))
        still.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (640, 360), (40, 90, 140)).save(still)
        await start_step(session, task, PipelineStep.VIDEOS, actor="test")
    async with session_scope() as session:
        item = (await session.scalars(select(TaskItem).where(TaskItem.task_id == task.id))).one()
    return task.id, item.id


async def _wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, child: subprocess.Popen[bytes]
) -> None:
    for _ in range(1200):
        if await condition():
            return
        assert child.poll() is None, f"the worker ended before {what}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


async def test_worker_killed_before_the_task_id_is_stored_resumes_the_same_task(
    app_db: AsyncEngine, kie_env: tuple[FakeKie, dict[str, str]], tmp_path: Path
) -> None:
    kie, env = kie_env
    task_id, item_id = await _clip_item(tmp_path / "configs")
    kie.create_gate = threading.Event()
    child_env = {**os.environ, **env, "VIDGEN_ITEM_LEASE_S": "300"}  # no renewal in the window
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.services.worker_child", str(item_id)],
        cwd=PROJECT_ROOT,
        env=child_env,
    )
    try:

        async def creating() -> bool:
            return kie.create_calls == 1

        await _wait_for(creating, "the worker asked KIE for a task", child)
        # The item row is held, as a restarting or busy database would: the worker learns the
        # new task's id but cannot store it.
        async with app_db.connect() as holder:
            await holder.execute(
                text("SELECT 1 FROM task_items WHERE id = :id FOR UPDATE"), {"id": item_id}
            )
            kie.create_gate.set()

            async def blocked() -> bool:
                async with app_db.connect() as probe:
                    waiting = await probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE application_name = 'worker-child' AND wait_event_type = 'Lock'"
                        )
                    )
                return bool(waiting)

            await _wait_for(blocked, "the worker was storing the task id", child)
            assert len(kie.tasks) == 1
            child.send_signal(signal.SIGKILL)
            await asyncio.to_thread(child.wait, 10)
            await holder.rollback()
    finally:
        if child.poll() is None:
            child.kill()
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id)
        assert item is not None
        assert item.remote_ids == {}  # the id never reached the database
        item.lease_expires_at = text(
            "now() - interval '1 second'"
        )  # the dead worker's lease ran out

    kie.hold_generating = False
    assert await run_until_settled(item_id, worker="test:2") is None
    assert len(kie.tasks) == 1, "the successor paid for a second task instead of resuming"
    [created] = kie.tasks
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id)
        task = await session.get(Task, task_id)
        assert item is not None and task is not None
        assert item.status == ItemStatus.COMPLETED, item.error_message
        assert item.remote_ids["kling_task_id"] == created
        clip = key_path(item.output_keys["output"])
    assert clip.stat().st_size > 1000
    assert not list((tmp_path / "ws" / "remote-tasks").glob("*.json"))  # nothing left behind


async def test_worker_killed_while_the_create_is_in_flight_resumes_the_task_it_made(
    app_db: AsyncEngine, kie_env: tuple[FakeKie, dict[str, str]], tmp_path: Path
) -> None:
    """The vendor is still making the task when the worker dies: the script reads the answer
    and writes the id down before it ends, and the next worker resumes that task."""
    kie, env = kie_env
    _, item_id = await _clip_item(tmp_path / "configs")
    kie.create_gate = threading.Event()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.services.worker_child", str(item_id)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
    )
    try:

        async def creating() -> bool:
            return kie.create_calls == 1

        await _wait_for(creating, "the worker asked KIE for a task", child)
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait, 10)
    finally:
        if child.poll() is None:
            child.kill()
    assert not kie.tasks  # the vendor has not answered yet
    kie.create_gate.set()  # ... and now makes the task, answering a worker that is gone
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id)
        assert item is not None and item.remote_ids == {}
        item.lease_expires_at = text("now() - interval '1 second'")

    kie.hold_generating = False
    assert await run_until_settled(item_id, worker="test:2") is None
    assert len(kie.tasks) == 1, "the successor paid for a second task instead of resuming"
    [created] = kie.tasks
    assert kie.create_calls == 1
    async with session_scope() as session:
        item = await session.get(TaskItem, item_id)
        assert item is not None
        assert item.status == ItemStatus.COMPLETED, item.error_message
        assert item.remote_ids["kling_task_id"] == created
    assert not list((tmp_path / "ws" / "remote-tasks").glob("*.json"))
