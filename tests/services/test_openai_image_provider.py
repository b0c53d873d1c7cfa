"""``image: openai`` from the channel YAML to the ledger: the asset items it builds, the key it
needs (and only off this machine), what the estimator prices, and one asset item run for real
through the runner against the OpenAI-compatible fake."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.config import ChannelConfig
from app.channels.credentials import CredentialProvider, needed_credentials
from app.core.config import get_settings
from app.models import Channel, PipelineStep, Task
from app.pipeline.runner import execute_item
from app.pipeline.steps import build_item_specs
from app.spend.estimate_video import estimate_video
from tests.fakes.openai_compat import API_KEY, FakeOpenAI
from tests.fakes.server import serve
from tests.services.test_budget import short_plan
from tests.test_cli_check import run_check

OFFLINE = {"planner": "template", "video": "kenburns", "voice": "espeak", "sfx": "synth"}


def _config(image: dict[str, Any] | str, **steps: Any) -> ChannelConfig:
    providers = {**OFFLINE, "image": image, **steps}
    return ChannelConfig.model_validate({"slug": "pics", "name": "Pics", "providers": providers})


def _asset_specs(config: ChannelConfig) -> tuple[Task, list[Any]]:
    channel = Channel(id=uuid.uuid4(), slug=config.slug, config=config.model_dump(mode="json"))
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="t", plan=short_plan(2))
    return task, build_item_specs(task=task, channel=channel, step=PipelineStep.ASSETS)


def _flags(args: list[str]) -> dict[str, str]:
    return dict(zip(args[::2], args[1::2], strict=False))


def test_the_yaml_block_becomes_the_scripts_arguments_on_the_openai_pool() -> None:
    config = _config({"provider": "openai", "openai": {
        "model": "dall-e-3", "size": "1792x1024", "quality": "hd",
        "base_url": "https://images.example.com/v1", "cost_per_image_usd": 0.08}})  # fmt: skip
    _task, specs = _asset_specs(config)
    assert specs
    for spec in specs:
        inputs = spec.inputs
        assert (spec.pool, inputs["service"], inputs["unit_label"]) == ("openai", "openai", "image")
        assert inputs["credentials"] == ["openai"] and inputs["optional_credentials"] == ["openai"]
        args = inputs["args"]
        flags = _flags(args[args.index("--provider") :])
        assert flags["--provider"] == "openai" and flags["--model"] == "dall-e-3"
        assert (flags["--openai-size"], flags["--quality"]) == ("1792x1024", "hd")
        assert flags["--base-url"] == "https://images.example.com/v1"
        assert flags["--cost-usd"] == "0.08"
        # the frame's pictures are fitted to the frame; figures stay square at their default
        kind = flags["--kind"]
        assert ("--size" in args) == (kind == "environment"), args
        if kind == "environment":
            assert flags["--size"] == "1920x1080"
    with pytest.raises(ValueError, match="size"):
        _config({"provider": "openai", "openai": {"size": "4000x4000"}})


def test_the_key_is_named_for_the_image_step_only_when_its_server_is_elsewhere() -> None:
    remote = _config("openai")
    assert needed_credentials(remote) == {CredentialProvider.OPENAI: ["image"]}
    assert remote.providers.paid == frozenset({"openai"})
    local = _config({"provider": "openai", "openai": {"base_url": "http://127.0.0.1:8080/v1"}})
    assert needed_credentials(local) == {} and not local.providers.openai_key_needed
    # a local planner does not need the key just because the images come from OpenAI
    mixed = _config(
        "openai",
        planner={"provider": "openai", "openai": {"base_url": "http://localhost:11434/v1"}},
    )
    assert needed_credentials(mixed) == {CredentialProvider.OPENAI: ["image"]}


def test_the_estimate_prices_every_image_at_the_channels_rate() -> None:
    openai_images = estimate_video(_config("openai"), scenes=16)
    gemini_images = estimate_video(_config("gemini"), scenes=16)
    # the template plan of 16 scenes needs 14 pictures (the Gemini figure in docs/providers.md)
    assert gemini_images.by_step["assets"] == Decimal("0.546")
    assert openai_images.by_step["assets"] == 14 * Decimal("0.063")
    assert openai_images.total_usd == Decimal("0.882")


async def test_an_asset_item_runs_the_script_and_records_one_priced_image(
    app_db: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOpenAI()
    task, specs = _asset_specs(_config("openai"))
    spec = next(s for s in specs if "environment" in s.inputs["args"])
    with serve(fake.app()) as url:
        monkeypatch.setenv("WORKSPACE_ROOT", str(tmp_path / "workspace"))
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        get_settings.cache_clear()
        outcome = await execute_item(
            task_id=task.id, channel_id=task.channel_id, step=PipelineStep.ASSETS,
            item_key=spec.key, inputs=spec.inputs, remote_ids={}, on_remote_ids=_no_ids,
        )  # fmt: skip
    get_settings.cache_clear()
    assert (outcome.service, outcome.model, outcome.unit_label) == (
        "openai",
        "gpt-image-1",
        "image",
    )
    assert (outcome.cost_usd, outcome.units) == (0.063, 1)
    assert fake.image_requests()[0]["authorization"] == f"Bearer {API_KEY}"
    with Image.open(tmp_path / "workspace" / outcome.output_keys["output"]) as img:
        assert img.size == (1920, 1080)


async def _no_ids(ids: dict[str, str]) -> None:
    raise AssertionError(f"an image call reported remote ids {ids}")


def test_check_names_the_openai_key_for_the_image_step(db_url: str, tmp_path: Path) -> None:
    channels = tmp_path / "channels"
    channels.mkdir()
    (channels / "pics.yaml").write_text(
        "slug: pics\nname: Pics\nactive: true\nproviders:\n  planner: template\n"
        "  image: {provider: openai, openai: {quality: low, cost_per_image_usd: 0.016}}\n"
        "  video: kenburns\n  voice: espeak\n  sfx: synth\n"
    )
    env = {"DATABASE_URL": db_url, "API_TOKEN": "a-good-long-api-token-0123456789",
           "WORKSPACE_ROOT": str(tmp_path / "workspace"), "CHANNEL_CONFIGS_DIR": str(channels)}  # fmt: skip
    result = run_check(env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("keys: pics")]
    assert "OPENAI_API_KEY (image)" in row
    keyed = run_check({**env, "OPENAI_API_KEY": "sk-image-key-42"}, tmp_path)
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr
    assert "sk-image-key-42" not in keyed.stdout + keyed.stderr
