"""The production plan model: a valid plan passes; each broken rule names its scene (or asset) and field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.planning.plan import (
    MAX_SCENES,
    PlanValidationError,
    ProductionPlan,
    find_stage_direction,
    parse_plan,
)
from app.planning.template_planner import plan_from_brief
from tests.schemas.plans import valid_plan

Plan = dict[str, Any]


def _scene(number: int, layout: str, images: list[str]) -> dict[str, Any]:
    return {
        "number": number,
        "layout": layout,
        "images": images,
        "narration": f"Scene {number}.",
        "motion_prompt": "pan",
        "sfx_prompt": "hum",
        "duration_s": 3,
    }


def test_valid_plan_parses() -> None:
    plan = parse_plan(valid_plan())
    assert plan.title == "The Lighthouse Keeper"
    assert [s.layout for s in plan.scenes] == ["composite", "split", "single"]
    character, environment = plan.composite_pair(plan.scenes[0])
    assert (character.name, environment.name) == ("keeper", "lighthouse")
    assert plan.total_duration_s == 15.5
    assert plan.model_dump(mode="json")["scenes"][1]["duration_s"] == 5.5


def test_composite_images_in_either_order() -> None:
    data = valid_plan()
    data["scenes"][0]["images"] = ["lighthouse", "keeper"]
    plan = parse_plan(data)
    assert [a.name for a in plan.composite_pair(plan.scenes[0])] == ["keeper", "lighthouse"]


def test_asset_order_puts_references_first() -> None:
    data = valid_plan()
    data["assets"].reverse()  # lantern (which references keeper) now comes first
    order = [a.name for a in parse_plan(data).asset_order()]
    assert order.index("keeper") < order.index("lantern")
    assert sorted(order) == sorted(a["name"] for a in data["assets"])


def test_plan_from_json_text_and_bad_json() -> None:
    assert parse_plan(json.dumps(valid_plan())) == parse_plan(valid_plan())
    with pytest.raises(PlanValidationError, match="not valid JSON"):
        parse_plan("{oops")


def test_forty_scenes_allowed_forty_one_refused() -> None:
    data = valid_plan()
    data["scenes"] = [_scene(n, "single", ["lantern"]) for n in range(1, MAX_SCENES + 1)]
    assert len(parse_plan(data).scenes) == MAX_SCENES
    data["scenes"].append(_scene(MAX_SCENES + 1, "single", ["lantern"]))
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data)
    assert any(m.startswith("scenes: List should have at most 40") for m in info.value.messages)


def test_template_planner_output_is_a_valid_plan() -> None:
    data = plan_from_brief(title="Why cats purr", topic="cats", story_direction="Keep it short.")
    assert ProductionPlan.model_validate(data).scenes[0].number == 1


def _set(path: str, value: Any) -> Callable[[Plan], None]:
    """A mutation setting ``scenes.1.narration``-style paths."""

    def apply(plan: Plan) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = plan
        for part in parents:
            target = target[part]
        target[last] = value

    return apply


def _drop(path: str) -> Callable[[Plan], None]:
    def apply(plan: Plan) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = plan
        for part in parents:
            target = target[part]
        del target[last]

    return apply


BROKEN: list[tuple[str, Callable[[Plan], None], str]] = [
    (
        "undefined image",
        _set("scenes.2.images", ["castle"]),
        "scene 3: images: 'castle' is not defined in assets",
    ),
    (
        "undefined reference",
        _set("assets.3.references", ["ghost"]),
        "asset 'lantern': references: 'ghost' is not defined in assets",
    ),
    (
        "self reference",
        _set("assets.3.references", ["lantern"]),
        "asset 'lantern': references: an asset cannot use itself",
    ),
    (
        "reference cycle",
        _set("assets.0.references", ["lantern"]),
        "asset 'keeper': references: form a cycle: keeper -> lantern -> keeper",
    ),
    (
        "duplicate asset",
        _set("assets.2.name", "lighthouse"),
        "asset 'lighthouse': name: defined more than once in assets",
    ),
    (
        "bad asset name",
        _set("assets.0.name", "old keeper"),
        "asset 'old keeper': name: 'old keeper' is not a valid asset name",
    ),
    (
        "bad asset kind",
        _set("assets.0.kind", "person"),
        "asset 'keeper': kind: Input should be 'character', 'environment' or 'prop'",
    ),
    (
        "empty asset prompt",
        _set("assets.1.prompt", "   "),
        "asset 'lighthouse': prompt: String should have at least 1 character",
    ),
    (
        "long asset prompt",
        _set("assets.1.prompt", "x" * 2001),
        "asset 'lighthouse': prompt: String should have at most 2000 characters",
    ),
    (
        "number gap",
        _set("scenes.2.number", 4),
        "scene 4: number: the scene at position 3 must be number 3",
    ),
    (
        "number repeat",
        _set("scenes.1.number", 1),
        "scene 1: number: the scene at position 2 must be number 2",
    ),
    (
        "numbers out of order",
        lambda p: p["scenes"].reverse(),
        "scene 3: number: the scene at position 1 must be number 1",
    ),
    (
        "number zero",
        _set("scenes.0.number", 0),
        "scene 0: number: Input should be greater than or equal to 1",
    ),
    ("no scenes", _set("scenes", []), "scenes: List should have at least 1 item"),
    ("no assets", _set("assets", []), "assets: List should have at least 1 item"),
    (
        "composite arity",
        _set("scenes.0.images", ["keeper"]),
        "scene 1: images: a composite scene needs exactly 2 images (one character and one environment); got 1",
    ),
    (
        "composite kinds",
        _set("scenes.0.images", ["lighthouse", "storm"]),
        "scene 1: images: a composite scene needs one character and one environment; got 'lighthouse' (environment) and 'storm' (environment)",
    ),
    (
        "composite with prop",
        _set("scenes.0.images", ["keeper", "lantern"]),
        "scene 1: images: a composite scene needs one character and one environment",
    ),
    (
        "split arity",
        _set("scenes.1.images", ["storm"]),
        "scene 2: images: a split scene needs exactly 2 images; got 1",
    ),
    (
        "split twice the same",
        _set("scenes.1.images", ["storm", "storm"]),
        "scene 2: images: a split scene needs two different images; got 'storm' twice",
    ),
    (
        "single arity",
        _set("scenes.2.images", ["lantern", "storm"]),
        "scene 3: images: a single scene needs exactly 1 image; got 2",
    ),
    (
        "bad layout",
        _set("scenes.2.layout", "grid"),
        "scene 3: layout: Input should be 'composite', 'split' or 'single'",
    ),
    (
        "empty narration",
        _set("scenes.1.narration", "  "),
        "scene 2: narration: String should have at least 1 character",
    ),
    (
        "long narration",
        _set("scenes.1.narration", "word " * 250),
        "scene 2: narration: String should have at most 1000 characters",
    ),
    ("missing narration", _drop("scenes.1.narration"), "scene 2: narration: Field required"),
    (
        "bracket direction",
        _set("scenes.1.narration", "[music] A storm came."),
        "scene 2: narration: contains the stage direction '[music]'",
    ),
    (
        "parenthesis direction",
        _set("scenes.1.narration", "A storm came (laughs)."),
        "scene 2: narration: contains the stage direction '(laughs)'",
    ),
    (
        "asterisk action",
        _set("scenes.1.narration", "He *sighs* and waits."),
        "scene 2: narration: contains the stage direction '*sighs*'",
    ),
    (
        "speaker label",
        _set("scenes.1.narration", "Narrator: a storm came."),
        "scene 2: narration: contains the stage direction 'Narrator:'",
    ),
    (
        "markup",
        _set("scenes.1.narration", 'A storm <break time="1s"/> came.'),
        "scene 2: narration: contains the stage direction '<break time=\"1s\"/>'",
    ),
    (
        "empty motion prompt",
        _set("scenes.0.motion_prompt", ""),
        "scene 1: motion_prompt: String should have at least 1 character",
    ),
    (
        "long motion prompt",
        _set("scenes.0.motion_prompt", "m" * 2001),
        "scene 1: motion_prompt: String should have at most 2000 characters",
    ),
    (
        "long sfx prompt",
        _set("scenes.2.sfx_prompt", "s" * 501),
        "scene 3: sfx_prompt: String should have at most 500 characters",
    ),
    (
        "duration too short",
        _set("scenes.2.duration_s", 0.5),
        "scene 3: duration_s: Input should be greater than or equal to 1",
    ),
    (
        "duration too long",
        _set("scenes.2.duration_s", 61),
        "scene 3: duration_s: Input should be less than or equal to 60",
    ),
    (
        "unknown scene key",
        _set("scenes.1.narrator", "x"),
        "scene 2: narrator: Extra inputs are not permitted",
    ),
    ("unknown plan key", _set("colour", "blue"), "colour: Extra inputs are not permitted"),
    (
        "bad aspect ratio",
        _set("aspect_ratio", "4:3"),
        "aspect_ratio: Input should be '16:9' or '9:16'",
    ),
    ("long title", _set("title", "t" * 201), "title: String should have at most 200 characters"),
    (
        "image name not a string",
        _set("scenes.1.images", ["storm", 7]),
        "scene 2: images[1]: Input should be a valid string",
    ),
    (
        "scene not an object",
        _set("scenes.1", "storm"),
        "scene at position 2: Input should be a valid dictionary",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_rule_names_scene_and_field(mutate: Callable[[Plan], None], expected: str) -> None:
    data = valid_plan()
    mutate(data)
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data)
    assert any(message.startswith(expected) for message in info.value.messages), info.value.messages
    assert expected.split(":")[0] in str(info.value)


def test_every_cross_reference_problem_is_reported_at_once() -> None:
    data = valid_plan()
    data["scenes"][0]["images"] = ["keeper", "castle"]
    data["scenes"][2]["images"] = ["dragon"]
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data)
    assert info.value.messages == [
        "scene 1: images: 'castle' is not defined in assets",
        "scene 3: images: 'dragon' is not defined in assets",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The king (who was very old) smiled.",
        "It cost 5 dollars, or 3 * 2 minus one.",
        "Note: the tide was turning.",
        "Ten years later, everything had changed!",
        "She said, 'Wait for me.'",
    ],
)
def test_ordinary_speech_is_not_a_stage_direction(text: str) -> None:
    assert find_stage_direction(text) is None


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("(Pause) And then...", "(Pause)"),
        ("He spoke (whispering softly).", "(whispering softly)"),
        ("{sfx: thunder} It began.", "{sfx: thunder}"),
        ("VO: it began.", "VO:"),
        ("Well (SIGHS) fine.", "(SIGHS)"),
    ],
)
def test_stage_directions_are_found(text: str, direction: str) -> None:
    assert find_stage_direction(text) == direction
