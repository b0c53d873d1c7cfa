"""The cheap example channel, end to end through the real fleet against the local fakes
(OpenAI-compatible planner and voice, Pexels clips): what the ledger records for the video is
exactly what the cost estimator promised for it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.channels.config import ChannelConfig, load_channel_config
from app.core.config import PROJECT_ROOT
from app.spend.estimate_video import NARRATION, estimate_video
from tests.e2e.harness import FleetHarness, published, short_plan, wait_for
from tests.fakes.openai_compat import API_KEY, FakeOpenAI
from tests.fakes.server import serve
from tests.fakes.stock import PEXELS_KEY, FakeStock, StockVideo

# The fleet gets 600 s to publish (a loaded 2-core machine needs them); pytest must allow more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SCENES = 6


def _with_usage(config: ChannelConfig, input_tokens: int, output_tokens: int) -> ChannelConfig:
    """The channel priced at the tokens the server really reported (the estimate's only guess)."""
    data = config.model_dump(mode="json")
    data["providers"]["planner"]["openai"].update(
        expected_input_tokens=input_tokens, expected_output_tokens=output_tokens
    )
    return ChannelConfig.model_validate(data, context={"file_stem": config.slug})


def test_the_ledger_of_a_cheap_video_equals_its_cost_estimate(
    fleet: FleetHarness, tmp_path: Path
) -> None:
    text = (PROJECT_ROOT / "channel_configs" / "cheap-stock.yaml").read_text()
    (fleet.configs / "cheap-stock.yaml").write_text(text.replace("active: false", "active: true"))
    plan = short_plan(SCENES)
    for scene in plan["scenes"]:
        scene["narration"] = NARRATION
        scene["stock_query"] = "forest at dawn"
    llm = FakeOpenAI(plan=plan)
    catalogue = [StockVideo(200 + n, 8, sizes=((1920, 1080),)) for n in range(SCENES)]
    stock = FakeStock(tmp_path / "stock-media", catalogue=catalogue)
    stock.media_dir.mkdir()
    with serve(llm.app()) as llm_url, serve(stock.app()) as stock_url:
        fleet.env_extra.update(
            {
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

    # every scene's clip came from Pexels (a $0 ledger row each, none fell back), all different
    clip_rows = [c for c in detail["costs"] if c["step"] == "videos"]
    assert len(clip_rows) == SCENES and {c["service"] for c in clip_rows} == {"pexels"}
    assert len(set(stock.downloads)) == SCENES, stock.downloads

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
