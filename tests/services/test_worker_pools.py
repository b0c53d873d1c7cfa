"""Every provider a channel can choose runs on a worker pool the fleet starts.

A provider whose items name a pool the queue does not know can never run: its step fails each
attempt with "unknown worker pool" until the task gives up. This walks every choice of every step.
"""

from __future__ import annotations

import uuid
from typing import Any, get_args

import pytest

from app.channels.config import ChannelConfig
from app.channels.config_providers import Providers
from app.models import PIPELINE_ORDER, Channel, Task
from app.pipeline.items import pool_for_item
from app.pipeline.queue import DEFAULT_POOL_LIMITS, item_entrypoint
from app.pipeline.steps import build_item_specs
from tests.services.test_budget import short_plan


def _choices() -> list[tuple[str, str]]:
    choices = []
    for step, field in Providers.model_fields.items():
        section = field.annotation
        assert isinstance(section, type), step
        for provider in get_args(section.model_fields["provider"].annotation):
            choices.append((step, provider))
    return choices


CHOICES = _choices()
OFFLINE: dict[str, str] = {
    "planner": "template",
    "image": "local",
    "video": "kenburns",
    "voice": "espeak",
    "sfx": "synth",
}


def test_every_step_offers_more_than_one_provider() -> None:
    steps = {step for step, _ in CHOICES}
    assert steps == {"planner", "image", "video", "voice", "sfx"}
    assert ("video", "pexels") in CHOICES and ("voice", "openai") in CHOICES


@pytest.mark.parametrize(("step", "provider"), CHOICES)
def test_each_provider_runs_on_a_known_pool(step: str, provider: str) -> None:
    providers: dict[str, Any] = {name: {"provider": choice} for name, choice in OFFLINE.items()}
    providers[step] = {"provider": provider}
    config = ChannelConfig.model_validate(
        {"slug": "pools", "name": "Pools", "providers": providers}
    )
    channel = Channel(id=uuid.uuid4(), slug="pools", config=config.model_dump(mode="json"))
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="t", plan=short_plan(2))
    pools = {
        pool_for_item(spec.inputs)
        for pipeline_step in PIPELINE_ORDER
        for spec in build_item_specs(task=task, channel=channel, step=pipeline_step)
    }
    assert pools <= set(DEFAULT_POOL_LIMITS), (
        f"{step}: {provider} uses {pools - set(DEFAULT_POOL_LIMITS)}"
    )
    for pool in pools:
        item_entrypoint(pool)  # raises for a pool the queue does not know
