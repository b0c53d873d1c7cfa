"""Plans people write (and the original project's episode plans) are accepted and filled in, with a
line per mapping; broken ones still get one message per problem naming the scene and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.planning.plan import PlanValidationError, parse_plan

ORIGINAL_EPISODE = Path(__file__).parents[1] / "data" / "plans" / "original_episode.json"


def _minimal() -> dict[str, Any]:
    return {
        "title": "Two small scenes",
        "scenes": [
            {"narration": "A lighthouse stands on the cliff.", "prompt": "a lighthouse at dusk"},
            {"narration": "Its light sweeps the sea.", "visual_prompt": "a beam over dark waves"},
        ],
    }


def test_original_16_scene_episode_plan_is_accepted_and_mapped() -> None:
    raw = json.loads(ORIGINAL_EPISODE.read_text())
    plan = parse_plan(raw)
    assert len(plan.scenes) == 16
    assert plan.title == raw["title"] and plan.topic == raw["topic"]
    assert plan.aspect_ratio is None  # the channel's frame decides
    for original, scene in zip(raw["scenes"], plan.scenes, strict=True):
        assert scene.number == original["number"]
        assert scene.layout == "single" and scene.images == [f"scene-{scene.number:02d}"]
        assert plan.asset(scene.images[0]).prompt == original["visual_prompt"]
        assert scene.narration == original["narration"]
        assert scene.motion_prompt == original["motion_prompt"]
        assert scene.sfx_prompt == original["sfx_prompt"]
        assert scene.duration_s == original["duration_s"]
    assert plan.imported is not None and plan.imported.format == "episode"
    mapped = plan.imported.mapped
    assert "scene 3: visual_prompt → asset 'scene-03' prompt (layout single)" in mapped
    seed_line = next(line for line in mapped if line.startswith("scene 3: seed_image"))
    assert "assets/seeds/scene_03.png" in seed_line and "kind=image, scene=3" in seed_line
    # the stored form is a production plan: validating it again changes nothing
    dumped = plan.model_dump(mode="json")
    assert parse_plan(dumped).model_dump(mode="json") == dumped


def test_minimal_plan_needs_only_title_narration_and_picture() -> None:
    plan = parse_plan(_minimal())
    assert [s.number for s in plan.scenes] == [1, 2]
    assert [plan.asset(s.images[0]).prompt for s in plan.scenes] == [
        "a lighthouse at dusk",
        "a beam over dark waves",
    ]
    assert {s.motion_prompt for s in plan.scenes} == {"slow zoom in"}
    assert {s.sfx_prompt for s in plan.scenes} == {"soft ambient background"}
    assert all(3 <= s.duration_s <= 10 for s in plan.scenes)
    assert plan.imported is not None and plan.imported.format == "simple"
    assert "scenes 1, 2: not given: motion_prompt → 'slow zoom in'" in plan.imported.mapped
    assert "aspect_ratio: not given → the channel's frame" in plan.imported.mapped


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: p["scenes"][1].pop("visual_prompt"),
            "scene 2: no picture: add 'visual_prompt' (or 'prompt')",
        ),
        (
            lambda p: p["scenes"][0].update(visual_prompt="x"),
            "scene 1: prompt and visual_prompt: give one picture prompt, not 2",
        ),
        (
            lambda p: p["scenes"][0].update(narations="typo"),
            "scene 1: narations: Extra inputs are not permitted (a misspelt key? a scene takes",
        ),
        (lambda p: p["scenes"][1].pop("narration"), "scene 2: narration: Field required"),
        (
            lambda p: p["scenes"][0].update(narration="[SFX: waves] Hello."),
            "scene 1: narration: contains the stage direction '[SFX: waves]'",
        ),
        (lambda p: p.pop("title"), "title: Field required"),
        (
            lambda p: p["scenes"][1].update(seed_image=7),
            "scene 2: seed_image: expected a file path, got 7",
        ),
    ],
    ids=[
        "no picture",
        "two pictures",
        "misspelt key",
        "no narration",
        "stage direction",
        "no title",
        "bad seed",
    ],
)
def test_broken_short_plan_says_what_where_and_how(change: Any, expected: str) -> None:
    data = _minimal()
    change(data)
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data)
    assert any(m.startswith(expected) for m in info.value.messages), info.value.messages
    assert len(info.value.messages) == 1, info.value.messages


def test_episode_plan_errors_name_the_scene_not_the_converted_asset() -> None:
    raw = json.loads(ORIGINAL_EPISODE.read_text())
    raw["scenes"][4]["duration_s"] = 0.2
    raw["scenes"][7]["visual_prompt"] = ""
    with pytest.raises(PlanValidationError) as info:
        parse_plan(raw)
    assert info.value.messages == [
        "scene 8: no picture: add 'visual_prompt' (or 'prompt'), the image shown while the "
        "narration is read"
    ]
    del raw["scenes"][7]["visual_prompt"]
    raw["scenes"][7]["prompt"] = "a vent"
    with pytest.raises(PlanValidationError) as info:
        parse_plan(raw)
    assert info.value.messages == [
        "scene 5: duration_s: Input should be greater than or equal to 1"
    ]
