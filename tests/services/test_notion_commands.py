"""A Status command typed on the board is acted on exactly once and never written over.

The pusher patches a running task's row every few seconds, so a person's command can reach us in
three ways: the poll, a webhook follow-up, or Notion's answer to one of our PATCHes (the fake's
``edit_during_next_patch``). Whatever the interleaving of push cycles, polls, webhooks, task
progress and other edits to the row, the command must act once, and the board must keep showing
it until it has.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.artifacts.configured import key_path
from app.core.config import get_settings
from app.core.database import session_scope
from app.models import (
    AuditLog,
    ItemStatus,
    NotionPage,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
    WebhookEvent,
)
from app.notion.sync import NotionSync
from app.pipeline.items import final_key
from app.pipeline.jobs import run_item_job
from app.pipeline.orchestrator import start_step
from app.pipeline.state import notion_label
from tests.e2e.harness import short_plan
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import (
    add_board,
    bind_channels,
    make_client,
    make_sync,
    page_state,
    tasks_by_page,
)

pytestmark = pytest.mark.timeout(300)

COMMANDS = {"running": ("Cancel",), "review": ("Approve", "Reject", "Cancel"), "failed": ("Retry", "Cancel")}  # fmt: skip
EFFECT = {
    "Cancel": "task.cancelled",
    "Retry": "task.retried",
    "Approve": "review.approved",
    "Reject": "review.rejected",
}
OPS = ("push", "poll", "move", "notes", "notes_in_flight", "webhook")


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


@pytest.fixture
def boards() -> dict[str, Board]:
    """Shared by a property test's examples: one board, one row per example."""
    return {}


@dataclass
class Board:
    sync: NotionSync
    fake: NotionFake
    database_id: str
    source_id: str


async def _board(url: str, fake: NotionFake, engine: AsyncEngine, tmp_path: Path) -> Board:
    database_id, source_id = add_board(fake)
    await bind_channels(tmp_path, database_id)
    return Board(make_sync(make_client(url, engine), tmp_path), fake, database_id, source_id)


async def _row_with_task(board: Board, state: str) -> tuple[str, uuid.UUID]:
    """A row whose task is running (assembly), at a review (videos) or failed; board in step."""
    page_id = board.fake.add_page(board.source_id, {"Name": "Whale song", "Status": "Queued"})
    await board.sync.poll_all()
    task_id = (await tasks_by_page())[page_id].id
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        task.plan = short_plan(3)
        if state == "running":
            task.status, task.step = TaskStatus.RUNNING, PipelineStep.ASSEMBLY
        elif state == "review":
            task.status, task.step = TaskStatus.AWAITING_REVIEW, PipelineStep.VIDEOS
        else:
            task.status, task.step = TaskStatus.FAILED, PipelineStep.VIDEOS
            task.error_message = "the video provider refused scene 2"
    await board.sync.push_all()
    return page_id, task_id


async def _move(task_id: uuid.UUID, n: int) -> None:
    """The task's row has something new to show: an item done (running) or more cost."""
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        if task.status == TaskStatus.RUNNING:
            session.add(
                TaskItem(
                    task_id=task_id,
                    step=task.step,
                    item_key=f"move-{n}",
                    status=ItemStatus.COMPLETED,
                )
            )
        task.total_cost_usd = (task.total_cost_usd or Decimal(0)) + Decimal("0.25")


async def _webhook(board: Board, page_id: str) -> None:
    """A delivery as the webhook route stores it, then the leader's follow-up."""
    event = board.fake.webhook_event("page.properties_updated", page_id)
    async with session_scope() as session:
        session.add(
            WebhookEvent(
                id=f"notion:{event['id']}",
                source="notion",
                event_type=event["type"],
                payload=event,
            )
        )
    await board.sync.process_events()


async def _acted(task_id: uuid.UUID, command: str) -> int:
    async with session_scope() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.task_id == task_id, AuditLog.action == EFFECT[command])
        )
        return int(count or 0)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    state = draw(st.sampled_from(sorted(COMMANDS)))
    command = draw(st.sampled_from(COMMANDS[state]))
    ops = draw(st.lists(st.sampled_from(OPS), max_size=7))
    ops.insert(draw(st.integers(0, len(ops))), draw(st.sampled_from(["command", "in_flight"])))
    return state, command, ops


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(scenario=("running", "Cancel", ["move", "in_flight", "push", "move", "push", "poll"]))
@example(scenario=("review", "Approve", ["in_flight", "move", "push", "notes", "poll", "push"]))
@example(scenario=("failed", "Retry", ["move", "in_flight", "push", "notes_in_flight", "poll"]))
@given(scenario=scenarios())
async def test_a_command_is_acted_on_once_however_pushes_polls_and_edits_interleave(
    app_db: AsyncEngine,
    tmp_path: Path,
    notion: tuple[str, NotionFake],
    boards: dict[str, Board],
    scenario: tuple[str, str, list[str]],
) -> None:
    state, command, ops = scenario
    url, fake = notion
    if "board" not in boards:
        boards["board"] = await _board(url, fake, app_db, tmp_path)
    board = boards["board"]
    page_id, task_id = await _row_with_task(board, state)
    issued = False
    try:
        for n, op in enumerate(ops):
            if op == "command":
                fake.edit_page(page_id, {"Status": command})
            elif op == "in_flight":
                fake.edit_during_next_patch(page_id, {"Status": command})
            elif op == "push":
                await board.sync.push_all()
            elif op == "poll":
                await board.sync.poll_all()
            elif op == "move":
                await _move(task_id, n)
            elif op == "notes":
                fake.edit_page(page_id, {"Review Notes": f"note {n}"})
            elif op == "notes_in_flight":
                fake.edit_during_next_patch(page_id, {"Review Notes": f"note {n}"})
            elif op == "webhook":
                await _webhook(board, page_id)
            issued = issued or fake.values(page_id)["Status"] == command
            acted = await _acted(task_id, command)
            assert acted <= 1, f"{command} acted {acted} times after {ops[: n + 1]}"
            if issued and not acted:
                assert fake.values(page_id)["Status"] == command, f"overwritten: {ops[: n + 1]}"

        fake.land_in_flight_edits()  # the person made the edit even if no PATCH carried it
        for _ in range(2):
            await board.sync.poll_all()
            await board.sync.push_all()
        assert await _acted(task_id, command) == 1, ops
        task = (await tasks_by_page())[page_id]
        assert fake.values(page_id)["Status"] == notion_label(task.status, task.step), ops
        assert (await page_state(page_id)).row_error is None, ops
    finally:
        fake.trash_page(page_id)  # out of the next example's way
        async with session_scope() as session:
            await session.execute(
                update(NotionPage).where(NotionPage.page_id == page_id).values(in_trash=True)
            )


async def test_a_cancel_arriving_after_the_last_progress_write_stops_the_upload(
    app_db: AsyncEngine,
    tmp_path: Path,
    notion: tuple[str, NotionFake],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The row says "Uploading"; Cancel comes back in the answer to the next progress write."""
    monkeypatch.setenv("WORKSPACE_ROOT", str(tmp_path / "ws"))
    get_settings.cache_clear()
    url, fake = notion
    board = await _board(url, fake, app_db, tmp_path)
    page_id, task_id = await _row_with_task(board, "running")
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        task.final_video_key = final_key(task)
        video = key_path(task.final_video_key)
        video.parent.mkdir(parents=True, exist_ok=True)
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42 a finished video")
        await start_step(session, task, PipelineStep.UPLOAD, actor="worker")  # assembly done
    await board.sync.push_all()
    assert fake.values(page_id)["Status"] == "Uploading"

    await _move(task_id, 1)  # the last progress write before the upload job runs ...
    fake.edit_during_next_patch(page_id, {"Status": "Cancel"})  # ... carries the user's Cancel
    await board.sync.push_all()
    await board.sync.push_all()  # the leader's next cycle, seconds later

    async with session_scope() as session:
        item_id = await session.scalar(
            select(TaskItem.id).where(
                TaskItem.task_id == task_id,
                TaskItem.step == PipelineStep.UPLOAD,
                TaskItem.item_key.not_like("move-%"),
            )
        )
    await run_item_job(item_id, worker="test-worker:1")  # the upload job's turn comes

    async with session_scope() as session:
        task = await session.get(Task, task_id)
        item = await session.get(TaskItem, item_id)
        assert task is not None and item is not None
        assert (task.status, item.attempts) == (TaskStatus.CANCELLED, 0)  # never started
    assert not (tmp_path / "ws" / "published" / f"{task_id}.mp4").exists()
    await board.sync.push_all()
    assert fake.values(page_id)["Status"] == "Cancelled"
    assert await _acted(task_id, "Cancel") == 1
