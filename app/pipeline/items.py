"""What each step's items are, and the exact script invocation each one runs.

Items are derived from the task's plan and its channel's config, deterministically, so a re-run of
a step produces the same item keys and finds the ones already done. An item's ``inputs`` hold
everything needed to run it (script, plain arguments, input and output artifact keys, which
credentials to pass), so the worker that runs it needs nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.channels.config import ChannelConfig
from app.channels.sync import get_channel_config
from app.core.config import get_settings
from app.models import Channel, PipelineStep, Task
from app.planning.plan import PlanScene, ProductionPlan


@dataclass(frozen=True)
class ItemSpec:
    key: str
    pool: str
    inputs: dict[str, Any]
    scene_number: int | None = None
    after: tuple[str, ...] = field(default_factory=tuple)


def gates_for(channel: Channel) -> frozenset[PipelineStep]:
    return frozenset(get_channel_config(channel).review_gates)


def pool_for_item(inputs: dict[str, Any]) -> str:
    return str(inputs["pool"])


def task_prefix(task: Task) -> str:
    """The artifact-key prefix of a task (a workspace-relative path, also usable as a bucket key)."""
    return f"channels/{task.channel_id}/projects/{task.id}"


def asset_key(task: Task, name: str) -> str:
    return f"{task_prefix(task)}/assets/{name}.png"


SceneKey = Callable[[Task, int], str]


def _scene_file(folder: str, extension: str) -> SceneKey:
    """Every per-scene output is named one way, ``<folder>/scene-NN.<ext>``, so a redo of a scene
    rewrites the same key and the assembly finds each scene's files by number."""

    def key(task: Task, number: int) -> str:
        return f"{task_prefix(task)}/{folder}/scene-{number:02d}.{extension}"

    return key


composite_key = _scene_file("composites", "png")
clip_key = _scene_file("videos", "mp4")
narration_key = _scene_file("audio", "wav")
sfx_key = _scene_file("sfx", "wav")
segment_key = _scene_file("segments", "mp4")


def words_key(task: Task, number: int) -> str:
    """The word timings an offline voice reports, next to its narration (captions follow them)."""
    return f"{narration_key(task, number)}.words.json"


def has_word_timings(scene: PlanScene, config: ChannelConfig) -> bool:
    """espeak-ng reports when each word is spoken; other voices and the user's own do not."""
    user_voice = scene.media is not None and scene.media.narration is not None
    return config.providers.voice.provider == "espeak" and not user_voice


def final_key(task: Task) -> str:
    return f"{task_prefix(task)}/final/video.mp4"


def srt_key(task: Task) -> str:
    """The whole video's captions as SRT, written by the final item when captions are on."""
    return f"{task_prefix(task)}/final/captions.srt"


def scene_item(number: int) -> str:
    return f"scene-{number:02d}"


KEY_REF = "key:"  # a string in a JSON argument that names an artifact key


def script_inputs(
    pool: str,
    script: str,
    *,
    args: list[str],
    in_files: list[tuple[str, str]] | None = None,
    out_files: list[tuple[str, str]] | None = None,
    json_files: dict[str, dict[str, Any]] | None = None,
    credentials: list[str] | None = None,
    timeout_s: float = 900,
    service: str | None = None,
    unit_label: str | None = None,
    units: float = 1,
    optional_credentials: list[str] | None = None,
    remote_task: bool = False,
) -> dict[str, Any]:
    """``optional_credentials``: keys passed when set but not required (a local server needs none).
    ``remote_task``: the script starts a paid task at a vendor and takes ``--task-id-file`` (the
    runner's resume point for a worker killed before the task's id was stored)."""
    optional: dict[str, Any] = (
        {"optional_credentials": optional_credentials} if optional_credentials else {}
    )
    if remote_task:
        optional["remote_task"] = True
    return {
        **optional,
        "pool": pool,
        "kind": "script",
        "script": script,
        "args": args,
        "in_files": [list(p) for p in in_files or []],
        "out_files": [list(p) for p in out_files or []],
        "json_files": json_files or {},
        "credentials": credentials or [],
        "timeout_s": timeout_s,
        "service": service or pool,
        "unit_label": unit_label,
        "units": units,
    }


def user_media_key(task: Task, scene_number: int, kind: str, suffix: str) -> str:
    """Where a file the user brought for a scene is kept (the plan's ``media`` points here)."""
    return f"{task_prefix(task)}/user-media/scene-{scene_number:02d}-{kind}{suffix}"


def own_media(task: Task, key: str) -> str:
    """A plan may only name media under its own task: never another task's or channel's files."""
    if not key.startswith(f"{task_prefix(task)}/user-media/"):
        raise ValueError(f"media {key} is not one of task {task.id}'s uploads")
    return key


def copy_inputs(task: Task, source: str, target: str) -> dict[str, Any]:
    """An item that uses the user's own file instead of a provider: a copy, no call, no cost."""
    return {
        "pool": "composite",  # light local file work
        "kind": "copy",
        "source": own_media(task, source),
        "out_files": [["--output", target]],
        "service": "user_media",
    }


def scene_spec(number: int, inputs: dict[str, Any]) -> ItemSpec:
    """A scene's item: keyed by the scene, so a redo of that scene finds it, and run in the pool
    its inputs name."""
    return ItemSpec(
        key=scene_item(number), pool=pool_for_item(inputs), scene_number=number, inputs=inputs
    )


def user_copy_spec(task: Task, number: int, source: str, target: SceneKey) -> ItemSpec:
    """The item that puts the user's file where the step's own output would be."""
    return scene_spec(number, copy_inputs(task, source, target(task, number)))


def scene_image_key(task: Task, plan: ProductionPlan, scene: PlanScene) -> str:
    """The still a scene's clip starts from: the user's own image, its composite, or its one
    image for ``single``."""
    if scene.media is not None and scene.media.image is not None:
        return own_media(task, scene.media.image)
    if scene.layout == "single":
        return asset_key(task, scene.images[0])
    return composite_key(task, scene.number)


IMAGE_POOLS = {"gemini": "gemini", "openai": "openai"}  # the rest draw on ``local_image``
IMAGE_CREDENTIALS = {"gemini": ["gemini"], "openai": ["openai"]}
VOICE_CREDENTIALS = {"elevenlabs": ["elevenlabs"], "openai": ["openai"]}
VIDEO_CREDENTIALS = {"kling": ["kie"], "pexels": ["pexels"], "pixabay": ["pixabay"]}


def given_flags(*flags: tuple[str, str | None]) -> list[str]:
    """``--flag value`` for each setting that is given; one left unset is not passed at all, so
    the script keeps its own default."""
    return [arg for flag, value in flags if value for arg in (flag, value)]


def stock_args(task: Task, scene: PlanScene, config: ChannelConfig) -> list[str]:
    """A stock clip's search, reuse rule and fallback (the cache dir is shared by the workers)."""
    video = config.providers.video
    stock = video.pexels if video.provider == "pexels" else video.pixabay
    args = [
        "--duration", f"{scene.duration_s:g}",
        "--cache-dir", str(get_settings().workspace_root / "stock"),
        "--channel", config.slug,
        "--task-id", str(task.id),
        "--scene", str(scene.number),
        "--reuse-window", str(stock.reuse_window_videos),
    ]  # fmt: skip
    return args + given_flags(("--query", scene.stock_query), ("--fallback", video.fallback))


def openai_voice_args(config: ChannelConfig) -> list[str]:
    """The speech server's model, voice and price for ``generate_audio.py --provider openai``."""
    o = config.providers.voice.openai
    args = ["--tts-model", o.model, "--tts-voice", o.voice, "--tts-speed", f"{o.speed:g}"]
    args += ["--cost-per-1k-chars", str(o.cost_per_1k_chars_usd)]
    return args + given_flags(("--instructions", o.instructions), ("--base-url", o.base_url))


def openai_image_args(config: ChannelConfig) -> list[str]:
    """The image server's model, size, quality and price for ``generate_asset.py --provider openai``."""
    o = config.providers.image.openai
    args = ["--model", o.model, "--cost-usd", str(o.cost_per_image_usd)]
    return args + given_flags(
        ("--openai-size", o.size), ("--quality", o.quality), ("--base-url", o.base_url)
    )
