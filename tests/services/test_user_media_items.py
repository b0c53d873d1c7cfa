"""A scene's own media replaces the provider call that would have made it: copy items, no cost."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from app.channels.config import ChannelConfig
from app.models import Channel, PipelineStep, Task
from app.pipeline.items import asset_key, clip_key, narration_key, task_prefix
from app.pipeline.steps import build_item_specs
from app.planning.plan import PlanValidationError, parse_plan
from app.spend.estimate import estimate_cost
from tests.services.test_budget import PAID


def _task(media: dict[int, dict[str, str]]) -> tuple[Task, Channel]:
    config = ChannelConfig.model_validate(PAID)
    channel = Channel(id=uuid.uuid4(), slug="paid", config=config.model_dump(mode="json"))
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="t")
    prefix = task_prefix(task)
    scenes: list[dict[str, Any]] = [
        {"narration": f"Scene {n} is told here.", "visual_prompt": f"picture {n}"}
        for n in (1, 2, 3)
    ]
    for number, kinds in media.items():
        scenes[number - 1]["media"] = {
            kind: f"{prefix}/user-media/scene-{number:02d}-{kind}{suffix}"
            for kind, suffix in kinds.items()
        }
    task.plan = parse_plan({"title": "Mine", "scenes": scenes}).model_dump(mode="json")
    return task, channel


def _specs(task: Task, channel: Channel, step: PipelineStep) -> list[Any]:
    return build_item_specs(task=task, channel=channel, step=step)


def test_own_media_is_copied_and_its_paid_calls_are_not_made() -> None:
    task, channel = _task({1: {"image": ".png", "narration": ".wav"}, 2: {"clip": ".mp4"}})
    prefix = task_prefix(task)
    assets = _specs(task, channel, PipelineStep.ASSETS)
    # scene 1 brings its image and scene 2 its whole clip: only scene 3's image is generated
    assert [s.key for s in assets] == ["scene-03"]
    assert estimate_cost(s.inputs for s in assets) == Decimal("0.05")

    videos = {s.key: s.inputs for s in _specs(task, channel, PipelineStep.VIDEOS)}
    assert videos["scene-02"] == {
        "pool": "composite",
        "kind": "copy",
        "source": f"{prefix}/user-media/scene-02-clip.mp4",
        "out_files": [["--output", clip_key(task, 2)]],
        "service": "user_media",
    }
    # scene 1's Kling clip starts from the user's image, scene 3's from the generated one
    assert videos["scene-01"]["in_files"] == [
        ["--image", f"{prefix}/user-media/scene-01-image.png"]
    ]
    assert videos["scene-03"]["in_files"] == [["--image", asset_key(task, "scene-03")]]
    assert estimate_cost(videos.values()) == Decimal("1.0")  # 2 Kling clips x 5 s x $0.10

    narration = {s.key: s.inputs for s in _specs(task, channel, PipelineStep.NARRATION)}
    assert narration["scene-01"]["kind"] == "copy"
    assert narration["scene-01"]["out_files"] == [["--output", narration_key(task, 1)]]
    assert {narration[k]["kind"] for k in ("scene-02", "scene-03")} == {"script"}
    paid_chars = sum(len(f"Scene {n} is told here.") for n in (2, 3))
    assert estimate_cost(narration.values()) == Decimal("0.3") * paid_chars / 1000


def test_a_plan_cannot_point_at_another_tasks_files() -> None:
    other = f"channels/{uuid.uuid4()}/projects/{uuid.uuid4()}/user-media/scene-01-image.png"
    scenes = [{"narration": "Hello there.", "visual_prompt": "x", "media": {"image": other}}]
    task, channel = _task({})
    assert task.plan is not None
    task.plan = parse_plan({"title": "t", "scenes": scenes}).model_dump(mode="json")
    with pytest.raises(ValueError, match="is not one of task"):
        _specs(task, channel, PipelineStep.VIDEOS)
    with pytest.raises(PlanValidationError, match=r"media\.image"):
        parse_plan(
            {"title": "t", "scenes": [{**scenes[0], "media": {"image": "../../etc/passwd"}}]}
        )
