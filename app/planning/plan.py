"""The production plan: the one model the API, the planner, Notion and the dashboard all validate with.

A plan is what a video will be: its assets (characters, environments, props, each with an image prompt) and
its scenes (which images, what is said, how it moves, what it sounds like). Every later step reads it, so
anything that would make a step fail later (an undefined image, a composite without a character) is refused
here, with a message naming the scene and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.planning.plan_errors import PlanValidationError, plan_error_messages
from app.planning.plan_input import convert_plan_input

MAX_SCENES = 40
MAX_ASSETS = 60
MAX_REFERENCES = 6
MAX_NARRATION_CHARS = 1000
MAX_ASSET_PROMPT_CHARS = 2000
MAX_MOTION_PROMPT_CHARS = 2000
MAX_SFX_PROMPT_CHARS = 500
MAX_STOCK_QUERY_CHARS = 100  # Pixabay's limit for q
MAX_TITLE_CHARS = 200  # the upload step fits it to YouTube's 100
MIN_SCENE_SECONDS = 1.0
MAX_SCENE_SECONDS = 60.0

AssetKind = Literal["character", "environment", "prop"]
SceneLayout = Literal["composite", "split", "single"]
AspectRatio = Literal["16:9", "9:16"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _check_asset_name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise PydanticCustomError(
            "asset_name",
            "'{name}' is not a valid asset name: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit (names become file names)",
            {"name": value},
        )
    return value


AssetName = Annotated[str, AfterValidator(_check_asset_name)]


TitleText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS)]
AssetPrompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ASSET_PROMPT_CHARS)]
NarrationText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NARRATION_CHARS)]
MotionPrompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MOTION_PROMPT_CHARS)]
SfxPrompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SFX_PROMPT_CHARS)]
# Only keys the media upload writes (the task's own ``user-media/``), so a plan cannot point a
# step at another task's or channel's files.
MediaKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^channels/[0-9a-f-]{36}/projects/[0-9a-f-]{36}/user-media/[A-Za-z0-9_.-]{1,80}$"
    ),
]


# Text that is never spoken but that writers (and LLMs) slip into scripts. Square brackets, braces, markup
# and *asterisk actions* are never speech; parentheses are, sometimes, so only cue words are refused there.
_CUE_WORDS = (
    r"sfx|sound|music|laugh|chuckl|giggl|sigh|gasp|pause|beat|whisper|shout|scream|cough|cr(?:y|ies|ying)"
    r"|sob|applause|silence|inhal|exhal|breath|clears?\s+throat|dramatic|soft|quiet|loud|excited|sad"
    r"|angr|narrator|voice[\s-]?over|v\.?o\b|intro|outro|upbeat|fade|cut\s+to|off[\s-]?screen|smil"
)
_STAGE_DIRECTIONS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\[[^\]]*\]"),
    re.compile(r"\{[^}]*\}"),
    re.compile(r"<[^<>]+>"),
    re.compile(r"\*[^*\n]+\*"),
    re.compile(rf"\(\s*(?:{_CUE_WORDS})[^()]{{0,60}}\)", re.IGNORECASE),
    re.compile(
        r"^\s*(?:narrator|voice[\s-]?over|vo|host|speaker)\s*:", re.IGNORECASE | re.MULTILINE
    ),
)


def find_stage_direction(text: str) -> str | None:
    """The first piece of ``text`` that reads as a stage direction rather than speech, if any."""
    for pattern in _STAGE_DIRECTIONS:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return None


class _PlanPart(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanAsset(_PlanPart):
    """One image generated once and reused by the scenes that name it."""

    name: AssetName
    kind: AssetKind
    prompt: AssetPrompt
    references: list[AssetName] = Field(default_factory=list, max_length=MAX_REFERENCES)


class SceneMedia(_PlanPart):
    """Files the user brought for a scene (``POST /tasks/{id}/media``): the step that would make
    each one copies it instead of calling a provider, so it costs nothing."""

    image: MediaKey | None = None
    clip: MediaKey | None = None
    narration: MediaKey | None = None


class PlanImport(_PlanPart):
    """How a shorter plan (hand-written, or the original project's episode plan) was filled in."""

    format: str = Field(max_length=40)
    mapped: list[str] = Field(default_factory=list, max_length=400)


class PlanScene(_PlanPart):
    """One shot: its images, the words spoken over it, its motion and its sound effect."""

    number: int = Field(ge=1, le=MAX_SCENES)
    layout: SceneLayout
    images: list[AssetName]
    narration: NarrationText
    motion_prompt: MotionPrompt
    sfx_prompt: SfxPrompt
    duration_s: float = Field(ge=MIN_SCENE_SECONDS, le=MAX_SCENE_SECONDS)
    # A few words to search stock footage with (Pexels, Pixabay); without it the clip step derives
    # one from the motion prompt.
    stock_query: str | None = Field(default=None, min_length=1, max_length=MAX_STOCK_QUERY_CHARS)
    media: SceneMedia | None = None

    @property
    def brings_picture(self) -> bool:
        """The user gave this scene's still or its whole clip: no image is generated for it."""
        return self.media is not None and (self.media.image or self.media.clip) is not None

    @field_validator("narration")
    @classmethod
    def _spoken_words_only(cls, value: str) -> str:
        direction = find_stage_direction(value)
        if direction is not None:
            raise PydanticCustomError(
                "stage_direction",
                "contains the stage direction '{direction}': narration is read aloud word for word, "
                "so it may hold only the spoken words",
                {"direction": direction},
            )
        return value


class ProductionPlan(_PlanPart):
    """The whole video. Extra keys are refused so a misspelt field is an error, not a silent default."""

    title: TitleText
    aspect_ratio: AspectRatio | None = None  # informational: the channel's frame is what renders
    topic: str | None = Field(default=None, max_length=5000)
    assets: list[PlanAsset] = Field(min_length=1, max_length=MAX_ASSETS)
    scenes: list[PlanScene] = Field(min_length=1, max_length=MAX_SCENES)
    music: str | None = Field(default=None, max_length=500)
    imported: PlanImport | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_shorter_form(cls, data: Any) -> Any:
        """Hand-written and original-project plans become production plans here, so the API,
        Notion, the dashboard and the planner all accept the same inputs."""
        if not isinstance(data, Mapping):
            return data
        converted = convert_plan_input(data)
        if converted.problems:
            problems = converted.problems
            raise PydanticCustomError(
                "plan_invalid", "{summary}", {"summary": "; ".join(problems), "problems": problems}
            )
        return converted.data

    @model_validator(mode="after")
    def _consistent(self) -> ProductionPlan:
        problems = [*_asset_problems(self.assets), *_scene_problems(self.scenes, self.assets)]
        if problems:
            raise PydanticCustomError(
                "plan_invalid", "{summary}", {"summary": "; ".join(problems), "problems": problems}
            )
        return self

    def asset(self, name: str) -> PlanAsset:
        for asset in self.assets:
            if asset.name == name:
                return asset
        raise KeyError(name)

    def scene_assets(self, scene: PlanScene) -> list[PlanAsset]:
        return [self.asset(name) for name in scene.images]

    def composite_pair(self, scene: PlanScene) -> tuple[PlanAsset, PlanAsset]:
        """(character, environment) of a composite scene, whatever order the plan lists them in."""
        found = {asset.kind: asset for asset in self.scene_assets(scene)}
        return found["character"], found["environment"]

    def needed_assets(self) -> list[PlanAsset]:
        """``asset_order`` without the images no scene shows (every scene using them brought its
        own picture), so a user's own media never pays for an image it replaces."""
        needed: set[str] = set()

        def need(name: str) -> None:
            if name not in needed:
                needed.add(name)
                for ref in self.asset(name).references:
                    need(ref)

        for scene in self.scenes:
            if not scene.brings_picture:
                for name in scene.images:
                    need(name)
        return [asset for asset in self.asset_order() if asset.name in needed]

    def asset_order(self) -> list[PlanAsset]:
        """Assets ordered so each comes after the assets it uses as reference images."""
        done: dict[str, PlanAsset] = {}

        def visit(asset: PlanAsset) -> None:
            if asset.name in done:
                return
            for ref in asset.references:
                visit(self.asset(ref))
            done[asset.name] = asset

        for asset in self.assets:
            visit(asset)
        return list(done.values())

    @property
    def total_duration_s(self) -> float:
        return sum(scene.duration_s for scene in self.scenes)


def _asset_problems(assets: list[PlanAsset]) -> list[str]:
    problems: list[str] = []
    names: set[str] = set()
    for asset in assets:
        if asset.name in names:
            problems.append(f"asset '{asset.name}': name: defined more than once in assets")
        names.add(asset.name)
    refs_ok = True
    for asset in assets:
        seen: set[str] = set()
        for ref in asset.references:
            where = f"asset '{asset.name}': references"
            if ref == asset.name:
                problems.append(f"{where}: an asset cannot use itself as a reference")
                refs_ok = False
            elif ref not in names:
                problems.append(f"{where}: '{ref}' is not defined in assets")
                refs_ok = False
            elif ref in seen:
                problems.append(f"{where}: '{ref}' is listed more than once")
            seen.add(ref)
    if refs_ok:
        cycle = _reference_cycle(assets)
        if cycle:
            problems.append(f"asset '{cycle[0]}': references: form a cycle: {' -> '.join(cycle)}")
    return problems


def _reference_cycle(assets: list[PlanAsset]) -> list[str] | None:
    """A reference cycle (each asset would need the other's image first), as a path, or None."""
    refs = {asset.name: asset.references for asset in assets}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def walk(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for ref in refs.get(name, []):
            if state.get(ref) == 1:
                return [*path[path.index(ref) :], ref]
            if ref not in state:
                found = walk(ref)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for asset in assets:
        if asset.name not in state:
            found = walk(asset.name)
            if found:
                return found
    return None


def _scene_problems(scenes: list[PlanScene], assets: list[PlanAsset]) -> list[str]:
    problems: list[str] = []
    for position, scene in enumerate(scenes, start=1):
        if scene.number != position:
            problems.append(
                f"scene {scene.number}: number: the scene at position {position} must be number "
                f"{position} (scenes are numbered 1..N in order, without gaps or repeats)"
            )
            break
    kinds = {asset.name: asset.kind for asset in assets}
    for scene in scenes:
        problems.extend(_layout_problems(scene, kinds))
    return problems


def _layout_problems(scene: PlanScene, kinds: dict[str, AssetKind]) -> list[str]:
    where = f"scene {scene.number}: images"
    undefined = [name for name in scene.images if name not in kinds]
    if undefined:
        return [f"{where}: '{name}' is not defined in assets" for name in undefined]
    if not scene.images and scene.brings_picture:
        return []  # the user's own still or clip is the whole picture
    count = len(scene.images)
    if scene.layout == "composite":
        if count != 2:
            return [
                f"{where}: a composite scene needs exactly 2 images (one character and one "
                f"environment); got {count}"
            ]
        got = sorted(kinds[name] for name in scene.images)
        if got != ["character", "environment"]:
            listed = " and ".join(f"'{name}' ({kinds[name]})" for name in scene.images)
            return [
                f"{where}: a composite scene needs one character and one environment; got {listed}"
            ]
    elif scene.layout == "split":
        if count != 2:
            return [f"{where}: a split scene needs exactly 2 images; got {count}"]
        if scene.images[0] == scene.images[1]:
            return [
                f"{where}: a split scene needs two different images; got '{scene.images[0]}' twice"
            ]
    elif count != 1:
        return [f"{where}: a single scene needs exactly 1 image; got {count}"]
    return []


def character_position(number: int) -> Literal["left", "right"]:
    """Where a composite scene's character stands: left in odd scenes, right in even ones.

    One rule shared by the composite step (which places the figure) and the template planner
    (which puts the scene's subject on the other side), so the figure never hides the subject and
    the same character changes place from scene to scene.
    """
    return "left" if number % 2 else "right"


def parse_plan(data: object) -> ProductionPlan:
    """Validate a plan from a dict or JSON text; raise ``PlanValidationError`` with readable messages."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise PlanValidationError([f"plan: not valid JSON: {exc}"]) from exc
    try:
        return ProductionPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanValidationError(plan_error_messages(exc, data)) from exc


__all__ = [
    "MAX_SCENES",
    "AspectRatio",
    "AssetKind",
    "PlanAsset",
    "PlanImport",
    "PlanScene",
    "PlanValidationError",
    "ProductionPlan",
    "SceneLayout",
    "SceneMedia",
    "character_position",
    "find_stage_direction",
    "parse_plan",
]
