"""The upload step's caption item on YouTube, run the way a worker runs it, on a real database and
the fake: a channel with captions on gets its SRT as exactly one caption track after the video,
also when a worker is killed after Google stored the track but before the item was recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.artifacts.configured import key_path
from app.channels.config import load_channel_config
from app.core.config import PROJECT_ROOT
from app.core.database import session_scope
from app.models import ItemStatus, Task, TaskItem, TaskStatus
from app.pipeline.assembly import FINAL_ITEM, assembly_specs
from app.pipeline.items import KEY_REF, final_key, narration_key, segment_key, srt_key
from app.planning.plan import ProductionPlan
from app.planning.template_planner import plan_from_brief
from app.youtube.caption_item import REMOTE_CAPTION
from app.youtube.captions import CAPTION_NAME
from tests.fakes.youtube import YouTubeFake
from tests.services import youtube_support
from tests.services.youtube_support import DEFAULT_YOUTUBE, run_until_settled, upload_task

fake_env = youtube_support.fake_env  # the upload tests' fixtures
tube = youtube_support.tube

# A German channel: its track and the video say so (the default would be "en").
CAPTIONS_ON = DEFAULT_YOUTUBE + "  language: de\nbranding:\n  captions:\n    enabled: true\n"
SRT = b"1\n00:00:01,000 --> 00:00:02,500\nWhales sing at dusk.\n"


@pytest.mark.parametrize("captions", [True, False])
def test_the_final_item_writes_the_srt_only_with_captions_on(
    tmp_path: Path, captions: bool
) -> None:
    text = youtube_support.CHANNEL_YAML.format(slug="srt", youtube=DEFAULT_YOUTUBE)
    text += f"branding:\n  captions:\n    enabled: {str(captions).lower()}\n"
    (tmp_path / "srt.yaml").write_text(text)
    config = load_channel_config(tmp_path / "srt.yaml")
    plan = ProductionPlan.model_validate(
        plan_from_brief(title="Whales", topic="whale song", story_direction=None)
    )
    task = Task(id=uuid.uuid4(), channel_id=uuid.uuid4(), title="Whales")
    final = next(s for s in assembly_specs(task, plan, config) if s.key == FINAL_ITEM)
    out = [("--output", final_key(task))] + ([("--srt", srt_key(task))] if captions else [])
    assert [tuple(pair) for pair in final.inputs["out_files"]] == out
    segments = final.inputs["json_files"]["--manifest"]["segments"]
    if not captions:
        assert segments == [f"{KEY_REF}{segment_key(task, s.number)}" for s in plan.scenes]
        return
    assert segments == [
        {
            "path": f"{KEY_REF}{segment_key(task, s.number)}",
            "number": s.number,
            "text": s.narration,
            "narration": f"{KEY_REF}{narration_key(task, s.number)}",
        }
        for s in plan.scenes
    ]


async def _items(task_id: uuid.UUID) -> dict[str, TaskItem]:
    async with session_scope() as session:
        rows = await session.scalars(select(TaskItem).where(TaskItem.task_id == task_id))
        return {row.item_key: row for row in rows}


async def _task(task_id: uuid.UUID) -> Task:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
    assert task is not None
    return task


async def _captioned_task(configs: Path) -> tuple[youtube_support.UploadTask, uuid.UUID]:
    job = await upload_task(configs, youtube=CAPTIONS_ON)
    task = await _task(job.task_id)
    srt = key_path(srt_key(task))
    srt.parent.mkdir(parents=True, exist_ok=True)
    srt.write_bytes(SRT)  # what the final assembly item wrote next to the video
    items = await _items(job.task_id)
    assert sorted(items) == ["captions", "upload"]
    assert items["captions"].inputs["srt_key"] == srt_key(task)
    return job, items["captions"].id


async def test_published_video_gets_exactly_one_caption_track(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job, captions_id = await _captioned_task(tmp_path / "configs")
    assert await run_until_settled(job.item_id) is None
    assert await run_until_settled(captions_id) is None

    task, items = await _task(job.task_id), await _items(job.task_id)
    assert task.status == TaskStatus.PUBLISHED
    assert {k: i.status for k, i in items.items()} == {
        "upload": ItemStatus.COMPLETED,
        "captions": ItemStatus.COMPLETED,
    }
    [video] = tube.videos.values()
    [track] = tube.captions.values()
    assert (track.video_id, track.language, track.name, track.body) == (
        video.id,
        "de",
        CAPTION_NAME,
        SRT,
    )
    assert video.resource["snippet"]["defaultAudioLanguage"] == "de"
    assert video.resource["snippet"]["defaultLanguage"] == "de"
    assert items["captions"].result["caption_track_id"] == track.id
    assert items["captions"].remote_ids[REMOTE_CAPTION] == track.id
    assert tube.calls["captions.insert"] == 1 and tube.calls["videos.insert"] == 1

    # a re-delivered job does nothing more
    assert await run_until_settled(captions_id) is None
    assert tube.calls["captions.insert"] == 1 and len(tube.captions) == 1


async def test_worker_killed_after_the_insert_still_leaves_one_track_and_one_video(
    tube: YouTubeFake, fake_env: tuple[YouTubeFake, dict[str, str]], tmp_path: Path
) -> None:
    job, captions_id = await _captioned_task(tmp_path / "configs")
    assert await run_until_settled(job.item_id) is None
    tube.hold_captions = True  # Google stores the track, the answer never comes
    env = {**os.environ, **fake_env[1], "VIDGEN_ITEM_LEASE_S": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.services.worker_child", str(captions_id)],
        cwd=PROJECT_ROOT,
        env=env,
    )
    try:
        for _ in range(1200):
            if tube.captions_held:
                break
            assert child.poll() is None, "the worker finished or died before it was killed"
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the caption never reached the fake")
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait, 10)
    finally:
        if child.poll() is None:
            child.kill()
    tube.hold_captions = False
    assert len(tube.captions) == 1
    assert (await _items(job.task_id))["captions"].status != ItemStatus.COMPLETED

    for _ in range(100):  # the next worker takes over once the dead one's lease runs out
        retry = await run_until_settled(captions_id, worker="test:2")
        if retry is None:
            break
        assert retry.reason == "lease held by a live worker"
        await asyncio.sleep(min(retry.delay.total_seconds(), 0.5))

    task, items = await _task(job.task_id), await _items(job.task_id)
    assert task.status == TaskStatus.PUBLISHED
    assert items["captions"].status == ItemStatus.COMPLETED
    assert items["captions"].attempts == 2 and items["captions"].result["updated"] is True
    [track] = tube.captions.values()  # still one track: the retry's insert got 409, then update
    assert track.body == SRT and items["captions"].result["caption_track_id"] == track.id
    assert (tube.calls["captions.insert"], tube.calls["captions.update"]) == (2, 1)
    assert tube.calls["videos.insert"] == 1 and tube.videos_created == 1
