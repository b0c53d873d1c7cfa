"""A failed task alerts Discord once its transaction commits, and never when it rolls back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from app.alerts import service as alerts
from app.alerts.service import Alerter
from app.core.database import session_scope
from app.models import PipelineStep, Task, TaskStatus
from app.pipeline.orchestrator import fail_task, lock_task
from tests.fakes.discord import FakeDiscord, fake_discord
from tests.fakes.server import free_port
from tests.routes.factories import add_channel, add_task


@pytest_asyncio.fixture
async def discord(app_db: AsyncEngine) -> AsyncIterator[tuple[FakeDiscord, Alerter]]:
    with fake_discord() as (fake, url):
        alerter = Alerter(webhook_url=url, public_base_url="https://ops.example.com")
        alerts.configure_alerts(alerter)
        try:
            yield fake, alerter
        finally:
            alerts.configure_alerts(None)
            await alerter.aclose()


async def _running_task(title: str = "Keeper") -> Task:
    channel = await add_channel("night-tales")
    return await add_task(channel, title=title, status=TaskStatus.RUNNING, step=PipelineStep.VIDEOS)


async def _fail(task: Task, code: str, message: str) -> None:
    async with session_scope() as session:
        locked = await lock_task(session, task.id)
        assert locked is not None
        await fail_task(session, locked, PipelineStep.VIDEOS, code=code, message=message)


async def test_failed_task_is_alerted_after_commit(
    discord: tuple[FakeDiscord, Alerter],
) -> None:
    fake, alerter = discord
    task = await _running_task()
    await _fail(task, "SCRIPT_FAILED", "videos item scene-03: generate_video.py: exit 1")
    await alerter.drain(30)

    [body] = fake.messages
    [embed] = body["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == "Task failed at videos: Keeper"
    assert embed["description"] == "videos item scene-03: generate_video.py: exit 1"
    assert fields["Task"] == "Keeper"
    assert fields["Task id"] == str(task.id)
    assert fields["Channel"] == "night-tales"
    assert fields["Step"] == "videos"
    assert fields["Error code"] == "SCRIPT_FAILED"
    assert fields["Link"] == f"https://ops.example.com/api/v1/tasks/{task.id}"
    assert "[task_failed]" in body["content"]


async def test_crash_loop_has_its_own_kind(discord: tuple[FakeDiscord, Alerter]) -> None:
    fake, alerter = discord
    await _fail(await _running_task(), "WORKER_CRASH_LOOP", "its worker died each time")
    await alerter.drain(30)
    [body] = fake.messages
    assert "[worker_crash_loop]" in body["content"]


async def test_rolled_back_failure_sends_nothing(discord: tuple[FakeDiscord, Alerter]) -> None:
    fake, alerter = discord
    task = await _running_task()
    with pytest.raises(RuntimeError, match="after the failure"):
        async with session_scope() as session:
            locked = await lock_task(session, task.id)
            assert locked is not None
            await fail_task(session, locked, PipelineStep.VIDEOS, code="X", message="boom")
            raise RuntimeError("something broke after the failure was recorded")
    # The next transaction on a fresh session commits: the dropped alert must not ride along.
    async with session_scope() as session:
        assert (await session.get(Task, task.id)) is not None
    await alerter.drain(30)
    assert fake.received == []
    async with session_scope() as session:
        assert (await session.get(Task, task.id)).status == TaskStatus.RUNNING  # type: ignore[union-attr]


@pytest.mark.usefixtures("app_db")
async def test_task_still_fails_cleanly_when_discord_is_down() -> None:
    """The pipeline's transaction commits and returns at once; delivery fails on its own."""
    dead = Alerter(
        webhook_url=f"http://127.0.0.1:{free_port()}/api/webhooks/1/tok_dead_0123456789",
        retry_base_s=0.05,
    )
    alerts.configure_alerts(dead)
    try:
        task = await _running_task()
        await asyncio.wait_for(_fail(task, "SCRIPT_FAILED", "boom"), 10)
        async with session_scope() as session:
            stored = await session.get(Task, task.id)
            assert stored is not None and stored.status == TaskStatus.FAILED
        [pending] = list(dead._pending)
        await dead.drain(30)
        assert pending.result() == "failed"
    finally:
        alerts.configure_alerts(None)
        await dead.aclose()
