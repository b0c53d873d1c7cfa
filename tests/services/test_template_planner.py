"""The offline planner: deterministic, valid, shaped by the brief."""

from __future__ import annotations

from app.planning.plan import parse_plan
from app.planning.template_planner import MAX_SCENES, MIN_SCENES, plan_from_brief

BRIEF = {
    "title": "Ships in the storm",
    "topic": "how sailors crossed the ocean",
    "story_direction": "A ship leaves the harbor. The sea turns rough. The crew holds on.",
}


def test_same_brief_same_plan_and_it_validates() -> None:
    first = plan_from_brief(**BRIEF)
    assert first == plan_from_brief(**BRIEF)
    plan = parse_plan(first)
    assert [s.number for s in plan.scenes] == list(range(1, len(plan.scenes) + 1))


def test_story_direction_becomes_the_narration_in_order() -> None:
    scenes = plan_from_brief(**BRIEF)["scenes"]
    assert scenes[0]["narration"].startswith("Ships in the storm.")
    assert scenes[1]["narration"] == "The sea turns rough."
    assert scenes[2]["narration"] == "The crew holds on."


def test_settings_follow_the_briefs_words() -> None:
    names = [a["name"] for a in plan_from_brief(**BRIEF)["assets"] if a["kind"] == "environment"]
    assert names[0] == "ocean-scene"


def test_scene_count_is_bounded() -> None:
    assert len(plan_from_brief(**BRIEF, scene_count=2)["scenes"]) == MIN_SCENES
    assert len(plan_from_brief(**BRIEF, scene_count=99)["scenes"]) == MAX_SCENES
    long_direction = " ".join(f"Sentence number {i} happens." for i in range(30))
    assert (
        len(plan_from_brief(title="t", topic="x", story_direction=long_direction)["scenes"])
        == MAX_SCENES
    )


def test_a_different_brief_gives_a_different_plan() -> None:
    other = plan_from_brief(**{**BRIEF, "topic": "rockets to the moon", "story_direction": None})
    assert other != plan_from_brief(**BRIEF)
    assert next(a["name"] for a in other["assets"] if a["kind"] == "environment") == "space-scene"
