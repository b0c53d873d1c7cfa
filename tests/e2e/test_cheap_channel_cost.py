"""The cheap example channel, end to end through the real fleet against the local fakes
(OpenAI-compatible planner and voice, Pexels clips, YouTube): what the ledger records for the
video is exactly what the cost estimator promised for it; a scene Pexels has nothing for falls
back to Ken Burns and the task says so; the description credits exactly the Pexels clips."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.artifacts.media_probe import media_duration
from app.channels.config import ChannelConfig, load_channel_config, load_channel_configs
from app.channels.credentials import set_credential
from app.channels.sync import sync_channels
from app.core.config import PROJECT_ROOT, get_settings
from app.core.database import session_scope
from app.models import Channel, PipelineStep, TaskItem
from app.spend.estimate_video import NARRATION, estimate_video
from tests.e2e.harness import FleetHarness, published, short_plan, wait_for
from tests.fakes import youtube
from tests.fakes.openai_compat import API_KEY, FakeOpenAI
from tests.fakes.server import serve
from tests.fakes.stock import PEXELS_KEY, FakeStock, StockVideo
from tests.scripts.assembly_helpers import frames_rgb

# The fleet gets 600 s to publish (a loaded 2-core machine needs them); pytest must allow more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SCENES = 6
BARE = 4  # the scene whose search Pexels answers with nothing
BARE_QUERY = "lighthouse keeper at midnight"


def _with_usage(config: ChannelConfig, input_tokens: int, output_tokens: int) -> ChannelConfig:
    """The channel priced at the tokens the server really reported (the estimate's only guess)."""
    data = config.model_dump(mode="json")
    data["providers"]["planner"]["openai"].update(
        expected_input_tokens=input_tokens, expected_output_tokens=output_tokens
    )
    return ChannelConfig.model_validate(data, context={"file_stem": config.slug})


async def _authorise_youtube(fleet: FleetHarness) -> None:
    """Sync the channels and store the channel's YouTube token, as ``vidgen oauth youtube`` does."""
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(fleet.configs))
    async with session_scope() as session:
        channel = (
            await session.scalars(select(Channel).where(Channel.slug == "cheap-stock"))
        ).one()
        await set_credential(session, channel.id, "youtube", youtube.REFRESH_TOKEN)


async def _clip_results(task_id: str) -> dict[int, dict[str, Any]]:
    """scene number -> the clip item's result JSON (the API leaves results out)."""
    async with session_scope() as session:
        items = await session.scalars(
            select(TaskItem).where(
                TaskItem.task_id == uuid.UUID(task_id), TaskItem.step == PipelineStep.VIDEOS
            )
        )
        return {item.scene_number: dict(item.result) for item in items if item.scene_number}


async def test_the_ledger_of_a_cheap_video_equals_its_cost_estimate(
    fleet: FleetHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERNET_KEYS", Fernet.generate_key().decode())  # the fleet inherits it
    get_settings.cache_clear()
    text = (PROJECT_ROOT / "channel_configs" / "cheap-stock.yaml").read_text()
    (fleet.configs / "cheap-stock.yaml").write_text(text.replace("active: false", "active: true"))
    await _authorise_youtube(fleet)
    plan = short_plan(SCENES)
    for scene in plan["scenes"]:
        scene["narration"] = NARRATION
        scene["stock_query"] = BARE_QUERY if scene["number"] == BARE else "forest at dawn"
    llm = FakeOpenAI(plan=plan)
    catalogue = [
        StockVideo(200 + n, 8, sizes=((1920, 1080),), user=f"Videographer {n}")
        for n in range(SCENES)
    ]
    stock = FakeStock(tmp_path / "stock-media", catalogue=catalogue, empty_queries={BARE_QUERY})
    stock.media_dir.mkdir()
    with (
        serve(llm.app()) as llm_url,
        serve(stock.app()) as stock_url,
        youtube.running() as (youtube_url, tube),
    ):
        fleet.env_extra.update(
            {
                **youtube.settings_env(youtube_url),
                "YOUTUBE_RETRY_BASE_S": "0.3",
                "OPENAI_BASE_URL": f"{llm_url}/v1",
                "OPENAI_API_KEY": API_KEY,
                "PEXELS_BASE_URL": stock_url,
                "PEXELS_API_KEY": PEXELS_KEY,
            }
        )
        fleet.start(workers=2)
        with fleet.client() as client:
            created = client.post(
                "/api/v1/tasks", json={"channel_slug": "cheap-stock", "title": "Cheap film"}
            )
            assert created.status_code == 201, created.text
            task_id = created.json()["data"]["id"]
            detail = wait_for(client, task_id, until=published, harness=fleet, timeout=600)
            said = client.get(
                "/api/v1/audit-logs", params={"task_id": task_id, "action": "item.fallback"}
            ).json()["data"]["items"]

    # Pexels found nothing for the bare scene: Ken Burns stood in, and the task says so
    results = await _clip_results(task_id)
    assert sorted(results) == list(range(1, SCENES + 1))
    bare = results[BARE]
    assert bare["provider"] == "kenburns" and bare["fallback_from"] == "pexels", bare
    assert "stock_id" not in bare and "attribution" not in bare
    (row,) = said
    fallback = row["details"]
    print(f"fallback audit row: {fallback}")
    assert fallback["step"] == "videos" and fallback["item"] == f"scene-{BARE:02d}"
    assert fallback["provider"] == "kenburns" and fallback["instead_of"] == "pexels"
    assert f"no pexels clip for {BARE_QUERY!r}" in fallback["reason"]
    searched = [s["params"].get("query") for s in stock.searches]
    assert BARE_QUERY in searched, searched

    # the stand-in is a real clip of the scene's planned length, not a black frame
    items = {(i["step"], i["scene_number"]): i for i in detail["items"]}
    (clip_key,) = items[("videos", BARE)]["output_keys"].values()
    clip = fleet.workspace / clip_key
    duration = media_duration(clip)
    print(f"ken burns clip {clip_key}: {duration:.3f}s")
    assert duration == pytest.approx(plan["scenes"][BARE - 1]["duration_s"], abs=0.05)
    (frame,) = frames_rgb(clip, [24]).values()
    assert frame.mean() > 20 and frame.std() > 5, (frame.mean(), frame.std())

    # every other scene's clip came from Pexels (a $0 ledger row each), all different
    stocked = {n: r for n, r in results.items() if n != BARE}
    assert {r["provider"] for r in stocked.values()} == {"pexels"}
    clip_rows = [c for c in detail["costs"] if c["step"] == "videos"]
    assert len(clip_rows) == SCENES - 1 and {c["service"] for c in clip_rows} == {"pexels"}
    assert sorted(c["item_key"] for c in clip_rows) == [f"scene-{n:02d}" for n in sorted(stocked)]
    assert len(stock.downloads) == len(set(stock.downloads)) == SCENES - 1, stock.downloads
    assert len({r["stock_id"] for r in stocked.values()}) == SCENES - 1

    # the uploaded description credits exactly the Pexels clips, in scene order, and nothing else
    (video,) = tube.videos.values()
    description = video.resource["snippet"]["description"]
    print(f"description:\n{description}")
    credits = []
    for number in sorted(stocked):
        clip_id = int(stocked[number]["stock_id"].removeprefix("pexels:"))
        credits.append(
            f"Video by Videographer {clip_id - 200} on Pexels: "
            f"https://www.pexels.com/video/clip-{clip_id}/"
        )
    assert description.splitlines() == ["Cheap film", "", *credits]
    assert detail["youtube_video_id"] == video.id

    (usage,) = llm.usages
    config = load_channel_config(fleet.configs / "cheap-stock.yaml")
    estimate = estimate_video(
        _with_usage(config, usage["prompt_tokens"], usage["completion_tokens"]), scenes=SCENES
    )
    costs = detail["costs"]
    by_step: dict[str, Decimal] = {}
    for cost in costs:
        by_step[cost["step"]] = by_step.get(cost["step"], Decimal(0)) + Decimal(
            str(cost["cost_usd"])
        )
    assert by_step["plan"] == pytest.approx(estimate.by_step["plan"], abs=Decimal("1e-6"))
    assert by_step["narration"] == pytest.approx(estimate.by_step["narration"], abs=Decimal("1e-6"))
    assert by_step["videos"] == 0  # stock rows are ledgered at $0
    total = Decimal(str(detail["total_cost_usd"]))
    assert total == pytest.approx(estimate.total_usd, abs=Decimal("1e-6"))
    # 6 x 84 characters x $0.015/1k of voice, plus the reported tokens at $0.15 / $0.60 per 1M
    assert estimate.by_step["narration"] == Decimal("0.00756")
    assert total > Decimal("0.00756")
