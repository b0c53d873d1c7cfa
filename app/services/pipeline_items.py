"""What each step's items are, and the exact script invocation each one runs.

Items are derived from the task's plan and its channel's config, deterministically, so a re-run of
a step produces the same item keys and finds the ones already done. An item's ``inputs`` hold
everything needed to run it (script, plain arguments, input and output artifact keys, which
credentials to pass), so the worker that runs it needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.models import Channel, PipelineStep, Task
from app.schemas.plan import PlanScene, ProductionPlan
from app.services.channel_config import ChannelConfig
from app.services.channel_sync import get_channel_config


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


def composite_key(task: Task, number: int) -> str:
    return f"{task_prefix(task)}/composites/scene-{number:02d}.png"


def clip_key(task: Task, number: int) -> str:
    return f"{task_prefix(task)}/videos/scene-{number:02d}.mp4"


def narration_key(task: Task, number: int) -> str:
    return f"{task_prefix(task)}/audio/scene-{number:02d}.wav"


def sfx_key(task: Task, number: int) -> str:
    return f"{task_prefix(task)}/sfx/scene-{number:02d}.wav"


def segment_key(task: Task, number: int) -> str:
    return f"{task_prefix(task)}/segments/scene-{number:02d}.mp4"


def final_key(task: Task) -> str:
    return f"{task_prefix(task)}/final/video.mp4"


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
) -> dict[str, Any]:
    return {
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


def _plan_items(task: Task, config: ChannelConfig) -> list[ItemSpec]:
    planner = config.providers.planner
    inputs: dict[str, Any] = {
        "pool": "planner",
        "kind": "plan",
        "provider": planner.provider,
        "aspect_ratio": config.frame.aspect_ratio,
    }
    if planner.provider == "gemini":
        inputs["cost_usd"] = str(planner.gemini.cost_per_call_usd)  # read by cost_estimate
    return [ItemSpec(key="plan", pool="planner", inputs=inputs)]


def _asset_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    image = config.providers.image
    specs = []
    for asset in plan.asset_order():
        args = ["--prompt", asset.prompt, "--provider", image.provider, "--kind", asset.kind]
        aspect = config.frame.aspect_ratio if asset.kind == "environment" else "1:1"
        args += ["--aspect-ratio", aspect]
        if image.provider == "gemini":
            args += [
                "--model",
                image.gemini.model,
                "--image-size",
                image.gemini.image_size if image.gemini.image_size != "4K" else "2K",
                "--cost-usd",
                str(image.gemini.cost_per_image_usd),
            ]
        elif asset.kind == "environment":
            args += ["--size", config.frame.size]
        pool = "gemini" if image.provider == "gemini" else "local_image"
        specs.append(
            ItemSpec(
                key=asset.name,
                pool=pool,
                inputs=script_inputs(
                    pool,
                    "generate_asset.py",
                    args=args,
                    in_files=[
                        ("--reference-image", asset_key(task, ref)) for ref in asset.references
                    ],
                    out_files=[("--output", asset_key(task, asset.name))],
                    credentials=["gemini"] if image.provider == "gemini" else [],
                    timeout_s=600,
                    unit_label="image",
                ),
                after=tuple(asset.references),
            )
        )
    return specs


def scene_image_key(task: Task, plan: ProductionPlan, scene: PlanScene) -> str:
    """The still a scene's clip starts from: its composite, or its one image for ``single``."""
    if scene.layout == "single":
        return asset_key(task, scene.images[0])
    return composite_key(task, scene.number)


def _composite_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    specs = []
    for scene in plan.scenes:
        if scene.layout == "single":
            continue
        out = [("--output", composite_key(task, scene.number))]
        if scene.layout == "composite":
            character, environment = plan.composite_pair(scene)
            inputs = script_inputs(
                "composite",
                "create_composite.py",
                args=["--size", config.frame.size],
                in_files=[
                    ("--character", asset_key(task, character.name)),
                    ("--environment", asset_key(task, environment.name)),
                ],
                out_files=out,
                timeout_s=300,
            )
        else:
            orientation = "vertical" if config.frame.aspect_ratio == "16:9" else "horizontal"
            inputs = script_inputs(
                "composite",
                "create_split_screen.py",
                args=["--size", config.frame.size, "--orientation", orientation],
                in_files=[
                    ("--first", asset_key(task, scene.images[0])),
                    ("--second", asset_key(task, scene.images[1])),
                ],
                out_files=out,
                timeout_s=300,
            )
        specs.append(
            ItemSpec(
                key=scene_item(scene.number),
                pool="composite",
                inputs=inputs,
                scene_number=scene.number,
            )
        )
    return specs


def _video_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    video = config.providers.video
    specs = []
    for scene in plan.scenes:
        args = [
            "--prompt",
            scene.motion_prompt,
            "--provider",
            video.provider,
            "--size",
            config.frame.size,
        ]
        if video.provider == "kling":
            kling = video.kling
            duration = 10 if scene.duration_s > 5 else 5
            args += [
                "--duration",
                str(duration),
                "--model",
                kling.model,
                "--cost-usd",
                str(kling.cost_per_second_usd * duration),
                "--max-wait",
                str(kling.timeout_s),
            ]
            units, timeout = float(duration), kling.timeout_s + 300
        else:
            args += ["--duration", f"{scene.duration_s:g}"]
            units, timeout = scene.duration_s, 900
        specs.append(
            ItemSpec(
                key=scene_item(scene.number),
                pool=video.provider,
                scene_number=scene.number,
                inputs=script_inputs(
                    video.provider,
                    "generate_video.py",
                    args=args,
                    in_files=[("--image", scene_image_key(task, plan, scene))],
                    out_files=[("--output", clip_key(task, scene.number))],
                    credentials=["kie"] if video.provider == "kling" else [],
                    timeout_s=timeout,
                    unit_label="second",
                    units=units,
                ),
            )
        )
    return specs


def _narration_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    voice = config.providers.voice
    specs = []
    for scene in plan.scenes:
        args = ["--text", scene.narration, "--provider", voice.provider]
        if voice.provider == "elevenlabs":
            v = voice.elevenlabs
            args += [
                "--voice-id",
                v.voice_id,
                "--model-id",
                v.model_id,
                "--stability",
                str(v.stability),
                "--similarity-boost",
                str(v.similarity_boost),
                "--style",
                str(v.style),
                "--speed",
                str(v.speed),
                "--output-format",
                v.output_format,
                "--cost-per-1k-chars",
                str(v.cost_per_1k_chars_usd),
            ]
        else:
            e = voice.espeak
            args += ["--voice", e.voice, "--rate", str(e.rate), "--pitch", str(e.pitch)]
        specs.append(
            ItemSpec(
                key=scene_item(scene.number),
                pool=voice.provider,
                scene_number=scene.number,
                inputs=script_inputs(
                    voice.provider,
                    "generate_audio.py",
                    args=args,
                    out_files=[("--output", narration_key(task, scene.number))],
                    credentials=["elevenlabs"] if voice.provider == "elevenlabs" else [],
                    timeout_s=300,
                    unit_label="character",
                    units=len(scene.narration),
                ),
            )
        )
    return specs


def _sfx_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    sfx = config.providers.sfx
    specs = []
    for scene in plan.scenes:
        args = ["--text", scene.sfx_prompt, "--provider", sfx.provider]
        duration = min(max(scene.duration_s, 0.5), 30.0)
        args += ["--duration", f"{duration:g}"]
        if sfx.provider == "elevenlabs":
            s = sfx.elevenlabs
            args += [
                "--prompt-influence",
                str(s.prompt_influence),
                "--cost-usd",
                str(s.cost_per_call_usd),
            ]
        specs.append(
            ItemSpec(
                key=scene_item(scene.number),
                pool=sfx.provider,
                scene_number=scene.number,
                inputs=script_inputs(
                    sfx.provider,
                    "generate_sound_effects.py",
                    args=args,
                    out_files=[("--output", sfx_key(task, scene.number))],
                    credentials=["elevenlabs"] if sfx.provider == "elevenlabs" else [],
                    timeout_s=300,
                    unit_label="generation",
                ),
            )
        )
    return specs


def _assembly_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    from app.services.assembly_items import assembly_specs

    return assembly_specs(task, plan, config)


def _upload_items(task: Task, config: ChannelConfig) -> list[ItemSpec]:
    inputs = {"pool": "upload", "kind": "publish", "final_key": final_key(task)}
    return [ItemSpec(key="upload", pool="upload", inputs=inputs)]


def build_item_specs(*, task: Task, channel: Channel, step: PipelineStep) -> list[ItemSpec]:
    config = get_channel_config(channel)
    if step == PipelineStep.PLAN:
        return _plan_items(task, config)
    if step == PipelineStep.UPLOAD:
        return _upload_items(task, config)
    if task.plan is None:
        raise ValueError(f"task {task.id} has no plan at step {step.value}")
    plan = ProductionPlan.model_validate(task.plan)
    builders = {
        PipelineStep.ASSETS: _asset_items,
        PipelineStep.COMPOSITES: _composite_items,
        PipelineStep.VIDEOS: _video_items,
        PipelineStep.NARRATION: _narration_items,
        PipelineStep.SOUND_EFFECTS: _sfx_items,
        PipelineStep.ASSEMBLY: _assembly_items,
    }
    return builders[step](task, plan, config)
