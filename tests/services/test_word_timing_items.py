"""The espeak voice's word timings travel from the narration item to the scene's segment item."""

from __future__ import annotations

import uuid
from typing import Any

from app.channels.config import ChannelConfig
from app.models import Channel, PipelineStep, Task
from app.pipeline.items import KEY_REF, narration_key, task_prefix, words_key
from app.pipeline.steps import build_item_specs
from app.planning.plan import parse_plan
from tests.services.test_budget import PAID


def _task(voice: str) -> tuple[Task, Channel]:
    raw: dict[str, Any] = {**PAID, "providers": {**PAID["providers"], "voice": {"provider": voice}}}
    config = ChannelConfig.model_validate(raw)
    channel = Channel(id=uuid.uuid4(), slug="paid", config=config.model_dump(mode="json"))
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="t")
    own = f"{task_prefix(task)}/user-media/scene-02-narration.wav"
    scenes: list[dict[str, Any]] = [
        {"narration": "Scene one is told here.", "visual_prompt": "picture 1"},
        {
            "narration": "Scene two is mine.",
            "visual_prompt": "picture 2",
            "media": {"narration": own},
        },
    ]
    task.plan = parse_plan({"title": "Mine", "scenes": scenes}).model_dump(mode="json")
    return task, channel


def _inputs(task: Task, channel: Channel, step: PipelineStep) -> dict[str, dict[str, Any]]:
    return {s.key: s.inputs for s in build_item_specs(task=task, channel=channel, step=step)}


def test_espeak_narration_hands_its_word_timings_to_the_segment() -> None:
    task, channel = _task("espeak")
    narration = _inputs(task, channel, PipelineStep.NARRATION)
    assert words_key(task, 1) == narration_key(task, 1) + ".words.json"
    assert narration["scene-01"]["out_files"] == [
        ["--output", narration_key(task, 1)],
        ["--words-output", words_key(task, 1)],
    ]
    assert narration["scene-02"]["out_files"] == [["--output", narration_key(task, 2)]]
    segments = _inputs(task, channel, PipelineStep.ASSEMBLY)
    assert (
        segments["scene-01"]["json_files"]["--scene"]["words"] == f"{KEY_REF}{words_key(task, 1)}"
    )
    assert "words" not in segments["scene-02"]["json_files"]["--scene"]  # the user's own voice
    again = _inputs(task, channel, PipelineStep.ASSEMBLY)
    assert again == segments  # same plan, same items


def test_voices_without_timings_keep_the_length_split() -> None:
    task, channel = _task("elevenlabs")
    narration = _inputs(task, channel, PipelineStep.NARRATION)
    assert narration["scene-01"]["out_files"] == [["--output", narration_key(task, 1)]]
    segments = _inputs(task, channel, PipelineStep.ASSEMBLY)
    scenes = [s["json_files"]["--scene"] for k, s in segments.items() if k != "final"]
    assert len(scenes) == 2 and all("words" not in scene for scene in scenes)
