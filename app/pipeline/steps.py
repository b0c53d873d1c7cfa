"""Each step's items, derived from the task's plan and its channel's config.

Deterministic, so a re-run of a step produces the same item keys and finds the ones already
done. The vocabulary they are built from (keys, ``script_inputs``) is in ``items``. The assembly step
has one segment item per scene (fanned out to any free worker), then the final concatenation,
which waits for every segment (``after``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.channels.config import ChannelConfig
from app.channels.sync import get_channel_config
from app.models import Channel, PipelineStep, Task
from app.pipeline.assembly import assembly_specs
from app.pipeline.items import (
    IMAGE_CREDENTIALS,
    IMAGE_POOLS,
    VIDEO_CREDENTIALS,
    VOICE_CREDENTIALS,
    ItemSpec,
    SceneKey,
    asset_key,
    clip_key,
    composite_key,
    final_key,
    has_word_timings,
    narration_key,
    openai_image_args,
    openai_voice_args,
    scene_image_key,
    scene_spec,
    script_inputs,
    sfx_key,
    srt_key,
    stock_args,
    user_copy_spec,
    words_key,
)
from app.planning.plan import PlanScene, ProductionPlan, SceneMedia, character_position


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
    elif planner.provider == "openai":
        inputs["cost_usd"] = str(planner.openai.estimated_cost_usd)
    return [ItemSpec(key="plan", pool="planner", inputs=inputs)]


def _asset_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    image = config.providers.image
    specs = []
    for asset in plan.needed_assets():
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
        elif image.provider == "openai":
            args += openai_image_args(config)
        if image.provider != "gemini" and asset.kind == "environment":
            args += ["--size", config.frame.size]  # local draws it, openai is fitted to it
        pool = IMAGE_POOLS.get(image.provider, "local_image")
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
                    credentials=IMAGE_CREDENTIALS.get(image.provider, []),
                    optional_credentials=["openai"] if image.provider == "openai" else None,
                    timeout_s=600,
                    unit_label="image",
                ),
                after=tuple(asset.references),
            )
        )
    return specs


def _composite_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    specs = []
    for scene in plan.scenes:
        if scene.layout == "single" or scene.brings_picture:
            continue
        out = [("--output", composite_key(task, scene.number))]
        if scene.layout == "composite":
            character, environment = plan.composite_pair(scene)
            inputs = script_inputs(
                "composite",
                "create_composite.py",
                args=[
                    "--size",
                    config.frame.size,
                    "--position",
                    character_position(scene.number),
                    "--scale",
                    "0.55",
                ],
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
        specs.append(scene_spec(scene.number, inputs))
    return specs


def _scene_items(
    task: Task,
    plan: ProductionPlan,
    own: Callable[[SceneMedia], str | None],
    target: SceneKey,
    provider_inputs: Callable[[PlanScene], dict[str, Any]],
) -> list[ItemSpec]:
    """One item per scene: a copy of the file the user brought for it where there is one (no
    call, no cost), else the provider's run."""
    specs = []
    for scene in plan.scenes:
        source = own(scene.media) if scene.media is not None else None
        if source is not None:
            specs.append(user_copy_spec(task, scene.number, source, target))
        else:
            specs.append(scene_spec(scene.number, provider_inputs(scene)))
    return specs


def _video_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    return _scene_items(
        task, plan, lambda m: m.clip, clip_key, lambda s: _video_inputs(task, plan, s, config)
    )


def _video_inputs(
    task: Task, plan: ProductionPlan, scene: PlanScene, config: ChannelConfig
) -> dict[str, Any]:
    video = config.providers.video
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
    elif video.provider in ("pexels", "pixabay"):
        args += stock_args(task, scene, config)
        units, timeout = scene.duration_s, 900
    else:
        args += ["--duration", f"{scene.duration_s:g}"]
        units, timeout = scene.duration_s, 900
    return script_inputs(
        video.provider,
        "generate_video.py",
        args=args,
        in_files=[("--image", scene_image_key(task, plan, scene))],
        out_files=[("--output", clip_key(task, scene.number))],
        credentials=VIDEO_CREDENTIALS.get(video.provider, []),
        timeout_s=timeout,
        unit_label="second",
        units=units,
        remote_task=video.provider == "kling",
    )


def _narration_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    return _scene_items(
        task, plan, lambda m: m.narration, narration_key, lambda s: _voice_inputs(task, s, config)
    )


def _voice_inputs(task: Task, scene: PlanScene, config: ChannelConfig) -> dict[str, Any]:
    voice = config.providers.voice
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
    elif voice.provider == "openai":
        args += openai_voice_args(config)
    elif voice.provider == "hibari":
        h = voice.hibari
        args += ["--hibari-voice", h.voice, "--hibari-speed", f"{h.speed:g}"]
    else:
        e = voice.espeak
        args += ["--voice", e.voice, "--rate", str(e.rate), "--pitch", str(e.pitch)]
    timings = (
        [("--words-output", words_key(task, scene.number))]
        if has_word_timings(scene, config)
        else []
    )
    return script_inputs(
        voice.provider,
        "generate_audio.py",
        args=args,
        out_files=[
            ("--output", narration_key(task, scene.number)),
            *timings,
        ],
        credentials=VOICE_CREDENTIALS.get(voice.provider, []),
        optional_credentials=["openai"] if voice.provider == "openai" else None,
        timeout_s=300,
        unit_label="character",
        units=len(scene.narration),
    )


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
        inputs = script_inputs(
            sfx.provider,
            "generate_sound_effects.py",
            args=args,
            out_files=[("--output", sfx_key(task, scene.number))],
            credentials=["elevenlabs"] if sfx.provider == "elevenlabs" else [],
            timeout_s=300,
            unit_label="generation",
        )
        specs.append(scene_spec(scene.number, inputs))
    return specs


def _assembly_items(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    return assembly_specs(task, plan, config)


def _upload_items(task: Task, config: ChannelConfig) -> list[ItemSpec]:
    inputs = {"pool": "upload", "kind": "publish", "final_key": final_key(task)}
    specs = [ItemSpec(key="upload", pool="upload", inputs=inputs)]
    if config.branding.captions.enabled:  # the final item wrote the SRT: a track after the video
        captions = {
            "pool": "upload",
            "kind": "captions",
            "srt_key": srt_key(task),
            "language": config.youtube.language,
        }
        specs.append(ItemSpec(key="captions", pool="upload", inputs=captions, after=("upload",)))
    return specs


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
