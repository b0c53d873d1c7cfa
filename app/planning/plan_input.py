"""Plans as people write them, turned into the production plan on the way in.

A production plan spells out every asset, layout and prompt because the steps need them; a person
writing a plan by hand (or bringing one from the original project, whose episode plans list
``visual_prompt``/``seed_image`` per scene) should only need a title and, per scene, what is said
and what is shown. This module recognises those shorter forms and fills in the rest, recording one
line per decision (``scene 3: visual_prompt → asset 'scene-03' prompt``) so the author can see
exactly what their plan became. A full production plan passes through untouched, so its strict
checks (misspelt keys are errors) still apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT_EPISODE = "episode"  # the original project's episode plan
FORMAT_SIMPLE = "simple"  # a hand-written plan: title + scenes with narration and a picture prompt

PICTURE_KEYS = ("prompt", "visual_prompt", "image_prompt")
# Local files a plan may name; only a client that can read them (``vidgen demo``) uploads them.
FILE_KEYS = {"seed_image": "image", "image_file": "image", "clip_file": "clip"}
FILE_KEYS["narration_file"] = "narration"
DEFAULT_MOTION = "slow zoom in"
DEFAULT_SFX = "soft ambient background"
WORDS_PER_SECOND = 2.5  # unhurried narration; the clip is then fitted to the real voice track
MIN_SECONDS = 3.0
MAX_SECONDS = 10.0
_SCENE_KEYS = {"number", "narration", "motion_prompt", "sfx_prompt", "duration_s", "media"}
_TOP_KEYS = {"title", "topic", "aspect_ratio", "music", "scenes", "imported"}


@dataclass
class ConvertedPlan:
    data: dict[str, Any]
    source_format: str | None = None  # None: already a production plan
    mapped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: dict[int, dict[str, str]] = field(default_factory=dict)  # scene -> kind -> path


def is_production_plan(data: Mapping[str, Any]) -> bool:
    """A production plan names its assets; a shorter form never does."""
    if "assets" in data:
        return True
    scenes = data.get("scenes")
    return isinstance(scenes, list) and any(
        isinstance(s, Mapping) and ("layout" in s or "images" in s) for s in scenes
    )


def estimated_seconds(narration: object) -> float:
    """A clip long enough for the narration, so the Ken Burns or Kling clip rarely needs holding."""
    words = len(str(narration).split()) if isinstance(narration, str) else 0
    return round(min(MAX_SECONDS, max(MIN_SECONDS, words / WORDS_PER_SECOND + 1.0)), 1)


def _label(scene: Mapping[str, Any], position: int) -> str:
    number = scene.get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        return f"scene {number}"
    return f"scene at position {position}"


def _scene_number(scene: Mapping[str, Any], position: int, out: ConvertedPlan) -> object:
    number = scene.get("number")
    if number is None:
        out.mapped.append(f"scene at position {position}: number not given → {position}")
        return position
    if isinstance(number, str) and number.strip().isdigit():
        out.mapped.append(f"scene {int(number)}: number '{number}' → {int(number)}")
        return int(number)
    return number


def _convert_scene(
    scene: Mapping[str, Any], position: int, out: ConvertedPlan
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The scene and the asset it shows (None when the scene brings its own picture)."""
    number = _scene_number(scene, position, out)
    where = f"scene {number}" if isinstance(number, int) else _label(scene, position)
    converted: dict[str, Any] = {k: v for k, v in scene.items() if k in _SCENE_KEYS}
    converted["number"] = number
    unknown = [k for k in scene if k not in _SCENE_KEYS and k not in PICTURE_KEYS]
    for key in unknown:
        if key in FILE_KEYS:
            value = scene[key]
            if isinstance(value, str) and value.strip() and isinstance(number, int):
                out.files.setdefault(number, {})[FILE_KEYS[key]] = value.strip()
                out.mapped.append(
                    f"{where}: {key} '{value.strip()}' → your own {FILE_KEYS[key]} for this scene "
                    f"(a file: upload it with POST /api/v1/tasks/{{task_id}}/media, "
                    f"kind={FILE_KEYS[key]}, scene={number}; vidgen demo uploads it for you)"
                )
            else:
                out.problems.append(f"{where}: {key}: expected a file path, got {value!r}")
        else:
            converted[key] = scene[key]  # the model refuses it, naming the scene and key
    pictures = [k for k in PICTURE_KEYS if scene.get(k) not in (None, "")]
    asset: dict[str, Any] | None = None
    name = f"scene-{number:02d}" if isinstance(number, int) else f"scene-at-{position}"
    if len(pictures) > 1:
        out.problems.append(
            f"{where}: {' and '.join(pictures)}: give one picture prompt, not {len(pictures)}"
        )
    elif pictures:
        asset = {"name": name, "kind": "environment", "prompt": scene[pictures[0]]}
        out.mapped.append(f"{where}: {pictures[0]} → asset '{name}' prompt (layout single)")
        converted["layout"], converted["images"] = "single", [name]
    elif "media" in scene:
        converted["layout"], converted["images"] = "single", []
    else:
        out.problems.append(
            f"{where}: no picture: add 'visual_prompt' (or 'prompt'), the image shown while the "
            "narration is read"
        )
    return converted, asset


def _fill_defaults(scenes: list[dict[str, Any]], out: ConvertedPlan) -> None:
    """Defaults grouped per field, so a 16-scene plan gets three lines, not forty-eight."""
    filled: dict[str, list[str]] = {}
    for scene in scenes:
        label = str(scene.get("number"))
        if scene.get("motion_prompt") in (None, ""):
            scene["motion_prompt"] = DEFAULT_MOTION
            filled.setdefault(f"motion_prompt → '{DEFAULT_MOTION}'", []).append(label)
        if scene.get("sfx_prompt") in (None, ""):
            scene["sfx_prompt"] = DEFAULT_SFX
            filled.setdefault(f"sfx_prompt → '{DEFAULT_SFX}'", []).append(label)
        if scene.get("duration_s") is None:
            scene["duration_s"] = estimated_seconds(scene.get("narration"))
            filled.setdefault("duration_s → estimated from the narration", []).append(label)
    for what, labels in filled.items():
        out.mapped.append(f"scenes {', '.join(labels)}: not given: {what}")


def convert_plan_input(data: Mapping[str, Any]) -> ConvertedPlan:
    """The production-plan form of ``data``, with a line per mapping; unchanged if already one."""
    if is_production_plan(data):
        return ConvertedPlan(data=dict(data))
    raw_scenes = data.get("scenes")
    episode = "topic" in data or (
        isinstance(raw_scenes, list)
        and any(isinstance(s, Mapping) and "seed_image" in s for s in raw_scenes)
    )
    out = ConvertedPlan(data={}, source_format=FORMAT_EPISODE if episode else FORMAT_SIMPLE)
    plan: dict[str, Any] = {k: v for k, v in data.items() if k != "scenes"}
    if "aspect_ratio" not in data:
        out.mapped.append("aspect_ratio: not given → the channel's frame")
    if not isinstance(raw_scenes, list):
        plan["scenes"] = raw_scenes  # the model says what is wrong with it
        out.data = plan
        return out
    scenes: list[Any] = []
    assets: list[dict[str, Any]] = []
    for position, scene in enumerate(raw_scenes, start=1):
        if not isinstance(scene, Mapping):
            scenes.append(scene)
            continue
        converted, asset = _convert_scene(scene, position, out)
        scenes.append(converted)
        if asset is not None:
            assets.append(asset)
    _fill_defaults([s for s in scenes if isinstance(s, dict)], out)
    plan["scenes"] = scenes
    plan["assets"] = assets
    plan["imported"] = {"format": out.source_format, "mapped": list(out.mapped)}
    out.data = plan
    return out


def allowed_keys_hint(loc: tuple[str | int, ...]) -> str:
    """What may be written where a misspelt key was found, for the error message."""
    if len(loc) == 3 and loc[0] == "scenes":
        return (
            "a scene takes number, layout, images, narration, motion_prompt, sfx_prompt, "
            "duration_s, media; a hand-written plan without assets may instead give "
            + ", ".join(PICTURE_KEYS)
            + " and "
            + ", ".join(FILE_KEYS)
        )
    if len(loc) == 1:
        return "a plan takes " + ", ".join(sorted({*_TOP_KEYS, "assets"}))
    return ""
