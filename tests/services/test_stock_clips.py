"""Stock clips in the pipeline: the clip items' invocation, the $0 ledger row, the fallback written on
the task's audit trail, and the credits carried into the YouTube description (real database; the
upload runs against the fake YouTube server)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.core.database import session_scope
from app.models import AuditLog, ItemStatus, PipelineStep, TaskItem, VideoCost
from app.pipeline.dispatcher import dispatch_pending
from app.pipeline.jobs import _record_success
from app.pipeline.outcome import ItemOutcome
from app.pipeline.steps import build_item_specs
from app.youtube.metadata import clip_credits
from tests.e2e.harness import short_plan
from tests.fakes.youtube import YouTubeFake
from tests.services import youtube_support
from tests.services.review_support import _queued, add_task, claim, load, succeed
from tests.services.youtube_support import run_until_settled, upload_task

fake_env = youtube_support.fake_env
tube = youtube_support.tube

STOCK_YAML = """\
slug: stocky
name: stocky
max_concurrent: 3
providers:
  planner: template
  image: local
  video:
    provider: pexels
    fallback: kenburns
    pexels:
      reuse_window_videos: 12
  voice: espeak
  sfx: synth
review_gates: []
"""


def _credit(n: int) -> dict[str, object]:
    return {
        "stock_id": f"pexels:{n}",
        "attribution": {
            "credit": f"Video by Ana Lopez on Pexels: https://www.pexels.com/video/{n}/"
        },
    }


async def test_clip_items_search_with_the_scene_query_and_record_free_clips_and_fallbacks(
    app_db: object, tmp_path: Path
) -> None:
    from app.channels.config import load_channel_configs
    from app.channels.sync import sync_channels
    from app.models import Channel

    (tmp_path / "stocky.yaml").write_text(STOCK_YAML)
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(tmp_path))
    async with session_scope() as session:
        channel = (await session.scalars(select(Channel).where(Channel.slug == "stocky"))).one()
    plan = short_plan(3)
    plan["scenes"][0]["stock_query"] = "robot forest dawn"
    task_id = await add_task(channel.id, plan)
    task = await load(task_id)

    specs = build_item_specs(task=task, channel=channel, step=PipelineStep.VIDEOS)
    first, second = specs[0].inputs["args"], specs[1].inputs["args"]
    assert specs[0].pool == "pexels" and specs[0].inputs["credentials"] == ["pexels"]
    flags = dict(zip(first[::2], first[1::2], strict=False))
    assert flags["--provider"] == "pexels" and flags["--query"] == "robot forest dawn"
    assert (flags["--channel"], flags["--task-id"], flags["--scene"]) == (
        "stocky",
        str(task_id),
        "1",
    )
    assert (flags["--reuse-window"], flags["--fallback"]) == ("12", "kenburns")
    assert "--query" not in second  # the script derives one from the motion prompt
    assert "--cost-usd" not in first

    # Play the workers up to the clip step, then record a picked clip and a fallback through
    # the worker's own success path.
    await dispatch_pending()
    while (await load(task_id)).step != PipelineStep.VIDEOS:
        await succeed(await claim((await _queued(task_id))[0]))
    ids = await _queued(task_id)
    picked = ItemOutcome(
        result={"provider": "pexels", **_credit(7)}, service="pexels", units=2, unit_label="second"
    )
    fell_back = ItemOutcome(
        result={
            "provider": "kenburns",
            "fallback_from": "pexels",
            "fallback_reason": "no pexels clip for 'x'",
        },
        service="pexels",
    )
    await _record_success(await claim(ids[0]), picked)
    await _record_success(await claim(ids[1]), fell_back)

    async with session_scope() as session:
        (row,) = list(await session.scalars(select(VideoCost).where(VideoCost.task_id == task_id)))
        audits = list(
            await session.scalars(select(AuditLog).where(AuditLog.action == "item.fallback"))
        )
    assert (row.service, row.cost_usd, row.item_key) == ("pexels", 0, "scene-01")
    (audit,) = audits
    assert audit.details["item"] == "scene-02" and audit.details["provider"] == "kenburns"
    assert audit.details["instead_of"] == "pexels" and "no pexels clip" in audit.details["reason"]


def test_credits_are_one_line_per_distinct_clip_in_scene_order() -> None:
    assert clip_credits([_credit(2), None, {"provider": "kenburns"}, _credit(1), _credit(2)]) == [
        "Video by Ana Lopez on Pexels: https://www.pexels.com/video/2/",
        "Video by Ana Lopez on Pexels: https://www.pexels.com/video/1/",
    ]


async def test_the_youtube_description_carries_the_clip_credits(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    async with session_scope() as session:
        for n in (2, 1):
            session.add(
                TaskItem(task_id=job.task_id, step=PipelineStep.VIDEOS, item_key=f"scene-{n:02d}",
                         scene_number=n, status=ItemStatus.COMPLETED, result=_credit(n))
            )  # fmt: skip
    assert await run_until_settled(job.item_id) is None
    [video] = tube.videos.values()
    assert video.resource["snippet"]["description"] == (
        "About whale song.\n\n"
        "Video by Ana Lopez on Pexels: https://www.pexels.com/video/1/\n"
        "Video by Ana Lopez on Pexels: https://www.pexels.com/video/2/"
    )
