"""Status labels set on the board act on tasks: approve, reject, cancel, retry, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.models import PipelineStep, Review, ReviewDecision, Task, TaskStatus
from app.notion.sync import NotionSync
from tests.e2e.harness import short_plan
from tests.fakes.notion import NotionFake, running
from tests.services.notion_support import add_board, bind_channels, make_client, make_sync

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


async def _task(page_id: str) -> Task:
    async with session_scope() as session:
        task = await session.scalar(select(Task).where(Task.notion_page_id == page_id))
        assert task is not None
        return task


async def _set(page_id: str, **fields: Any) -> None:
    async with session_scope() as session:
        task = await session.scalar(select(Task).where(Task.notion_page_id == page_id))
        assert task is not None
        for name, value in fields.items():
            setattr(task, name, value)


async def _cycle(sync: NotionSync) -> None:
    await sync.poll_all()
    await sync.push_all()


async def _board_with_task(
    url: str, fake: NotionFake, engine: AsyncEngine, tmp_path: Path, **board: Any
) -> tuple[NotionSync, str]:
    database_id, source_id = add_board(fake, board.pop("status_kind", "status"))
    await bind_channels(tmp_path, database_id)
    sync = make_sync(make_client(url, engine, version=board.pop("version", "2025-09-03")), tmp_path)
    page_id = fake.add_page(source_id, {"Name": "Whale song", "Status": "Queued"})
    await _cycle(sync)
    return sync, page_id


async def _at_review(page_id: str, step: PipelineStep = PipelineStep.VIDEOS) -> None:
    await _set(page_id, status=TaskStatus.AWAITING_REVIEW, step=step, plan=short_plan(3))


@pytest.mark.parametrize(
    ("version", "status_kind"), [("2025-09-03", "status"), ("2026-03-11", "select")]
)
async def test_approve_on_the_board_moves_the_pipeline_on(
    app_db: AsyncEngine,
    tmp_path: Path,
    notion: tuple[str, NotionFake],
    version: str,
    status_kind: str,
) -> None:
    url, fake = notion
    sync, page_id = await _board_with_task(
        url, fake, app_db, tmp_path, version=version, status_kind=status_kind
    )
    await _at_review(page_id)
    await _cycle(sync)
    assert fake.values(page_id)["Status"] == "Video Ready"

    fake.edit_page(page_id, {"Status": "Approve", "Review Notes": "lovely"})
    await _cycle(sync)

    task = await _task(page_id)
    assert (task.status, task.step) == (TaskStatus.RUNNING, PipelineStep.NARRATION)
    assert fake.values(page_id)["Status"] == "Generating Narration"
    assert fake.values(page_id)["Progress"] == "Narration 0/3"
    async with session_scope() as session:
        [review] = await session.scalars(select(Review).where(Review.task_id == task.id))
    assert (review.decision, review.gate, review.notes) == (
        ReviewDecision.APPROVED,
        PipelineStep.VIDEOS,
        "lovely",
    )


async def test_reject_records_the_notes_and_the_scenes_to_redo(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    sync, page_id = await _board_with_task(url, fake, app_db, tmp_path)
    await _at_review(page_id)
    await _cycle(sync)
    fake.edit_page(
        page_id, {"Status": "Reject", "Review Notes": "scene 2 is too dark", "Redo Scenes": "2, 3"}
    )
    await _cycle(sync)

    task = await _task(page_id)
    # the review service sends the task back to regenerate only those scenes' clips
    assert (task.status, task.step) == (TaskStatus.RUNNING, PipelineStep.VIDEOS)
    assert task.status_reason == "redoing after the videos review: scene 2 is too dark"
    assert fake.values(page_id)["Status"] == "Generating Video"
    async with session_scope() as session:
        [review] = await session.scalars(select(Review).where(Review.task_id == task.id))
    assert review.decision == ReviewDecision.REJECTED
    assert review.notes == "scene 2 is too dark" and review.redo["scenes"] == [2, 3]
    assert review.redo["items"] == {"videos": ["scene-02", "scene-03"]}


async def test_reject_naming_a_scene_the_plan_lacks_is_refused(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    sync, page_id = await _board_with_task(url, fake, app_db, tmp_path)
    await _at_review(page_id)
    await _cycle(sync)
    fake.edit_page(page_id, {"Status": "Reject", "Redo Scenes": "9"})
    await _cycle(sync)

    values = fake.values(page_id)
    assert values["Status"] == "Video Ready"  # restored: the task still waits for review
    assert "the plan has scenes 1-3" in values["Error"]
    async with session_scope() as session:
        assert list(await session.scalars(select(Review))) == []


async def test_cancel_then_queue_again_then_retry_after_a_failure(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    sync, page_id = await _board_with_task(url, fake, app_db, tmp_path)
    fake.edit_page(page_id, {"Status": "Cancel"})
    await _cycle(sync)
    assert (await _task(page_id)).status == TaskStatus.CANCELLED
    assert fake.values(page_id)["Status"] == "Cancelled"

    fake.edit_page(page_id, {"Status": "Queued"})
    await _cycle(sync)
    assert (await _task(page_id)).status == TaskStatus.QUEUED

    await _set(
        page_id,
        status=TaskStatus.FAILED,
        step=PipelineStep.ASSEMBLY,
        error_code="FFMPEG",
        error_message="assembly failed: ffmpeg exited 1",
    )
    await _cycle(sync)
    assert fake.values(page_id)["Status"] == "Assembly Error"
    assert fake.values(page_id)["Error"] == "assembly failed: ffmpeg exited 1"

    fake.edit_page(page_id, {"Status": "Retry"})
    await _cycle(sync)
    task = await _task(page_id)
    assert (task.status, task.step, task.error_message) == (
        TaskStatus.QUEUED,
        PipelineStep.ASSEMBLY,
        None,
    )
    assert fake.values(page_id)["Status"] == "Queued"
    assert fake.values(page_id)["Error"] == ""


async def test_an_action_the_task_cannot_take_is_explained_and_its_label_restored(
    app_db: AsyncEngine, tmp_path: Path, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    sync, page_id = await _board_with_task(url, fake, app_db, tmp_path)
    await _set(page_id, status=TaskStatus.RUNNING, step=PipelineStep.ASSETS)
    await _cycle(sync)
    fake.edit_page(page_id, {"Status": "Approve"})
    await _cycle(sync)

    values = fake.values(page_id)
    assert values["Status"] == "Generating Assets"
    assert "Approve only works on a video waiting for review" in values["Error"]
    assert (await _task(page_id)).status == TaskStatus.RUNNING

    # a hand-picked pipeline label is explained the same way
    fake.edit_page(page_id, {"Status": "Published"})
    await _cycle(sync)
    assert fake.values(page_id)["Status"] == "Generating Assets"
    assert "'Published' is set by the pipeline" in fake.values(page_id)["Error"]

    # once the task moves on, the stale complaint is cleared
    await _at_review(page_id, PipelineStep.ASSETS)
    await _cycle(sync)
    assert fake.values(page_id)["Status"] == "Assets Ready"
    assert fake.values(page_id)["Error"] == ""
