"""The assembly step's items: one segment per scene, then the final cut after all of them.

Each scene's JSON carries what ``assemble_video.py`` needs to build its segment (clip, narration,
effects, captions, watermark, and the plan's ``duration_s`` as a floor); the final item joins the
segments with the channel's intro, outro and music.
"""

from __future__ import annotations

import math
from typing import Any

from app.channels.config import ChannelConfig
from app.models import Task
from app.pipeline.items import (
    KEY_REF,
    ItemSpec,
    clip_key,
    final_key,
    has_word_timings,
    narration_key,
    scene_item,
    script_inputs,
    segment_key,
    sfx_key,
    srt_key,
    words_key,
)
from app.planning.plan import PlanScene, ProductionPlan

FINAL_ITEM = "final"


def _media_ref(path: str | None) -> str | None:
    """Branding media are workspace-relative unless absolute."""
    if path is None:
        return None
    return path if path.startswith("/") else f"{KEY_REF}{path}"


def _caption_style(config: ChannelConfig) -> dict[str, Any]:
    style = config.branding.captions.model_dump(mode="json")
    style["position"] = {"middle": "center"}.get(style["position"], style["position"])
    return style


def _gain_db(volume: float) -> float:
    """The channel gives music volume as a fraction; the script takes decibels."""
    return -60.0 if volume <= 0.001 else round(20 * math.log10(volume), 2)


def _scene_json(task: Task, config: ChannelConfig, scene_plan: PlanScene) -> dict[str, Any]:
    """A scene lasts its narration plus padding, and at least the plan's ``duration_s``."""
    captions = config.branding.captions
    number, narration = scene_plan.number, scene_plan.narration
    scene: dict[str, Any] = {
        "number": number,
        "min_duration_s": scene_plan.duration_s,
        "clip": f"{KEY_REF}{clip_key(task, number)}",
        "narration": f"{KEY_REF}{narration_key(task, number)}",
        "sfx": f"{KEY_REF}{sfx_key(task, number)}",
        "narration_text": narration,
        "size": config.frame.size,
        "captions": _caption_style(config) if captions.enabled else None,
    }
    if has_word_timings(scene_plan, config):
        scene["words"] = f"{KEY_REF}{words_key(task, number)}"
    watermark = config.branding.watermark
    if watermark is not None:
        scene["watermark"] = {
            **watermark.model_dump(mode="json"),
            "path": _media_ref(watermark.path),
        }
    return scene


def _segment_entry(task: Task, scene: PlanScene, captions_on: bool) -> str | dict[str, Any]:
    """A finished segment; with captions on, its narration too, so the final item writes the SRT."""
    path = f"{KEY_REF}{segment_key(task, scene.number)}"
    if not captions_on:
        return path
    return {
        "path": path,
        "number": scene.number,
        "text": scene.narration,
        "narration": f"{KEY_REF}{narration_key(task, scene.number)}",
    }


def assembly_specs(task: Task, plan: ProductionPlan, config: ChannelConfig) -> list[ItemSpec]:
    specs: list[ItemSpec] = []
    for scene in plan.scenes:
        specs.append(
            ItemSpec(
                key=scene_item(scene.number),
                pool="segment",
                scene_number=scene.number,
                inputs=script_inputs(
                    "segment",
                    "assemble_video.py",
                    args=[],
                    json_files={"--scene": _scene_json(task, config, scene)},
                    out_files=[("--output", segment_key(task, scene.number))],
                    timeout_s=900,
                ),
            )
        )
    branding = config.branding
    captions_on = branding.captions.enabled
    manifest: dict[str, Any] = {
        "segments": [_segment_entry(task, s, captions_on) for s in plan.scenes],
        "size": config.frame.size,
        "intro": _media_ref(branding.intro),
        "outro": _media_ref(branding.outro),
        "music": (
            {"path": _media_ref(branding.music.path), "gain_db": _gain_db(branding.music.volume)}
            if branding.music
            else None
        ),
    }
    final = script_inputs(
        "final",
        "assemble_video.py",
        args=[],
        json_files={"--manifest": manifest},
        out_files=[("--output", final_key(task))]
        + ([("--srt", srt_key(task))] if captions_on else []),
        timeout_s=1800,
    )
    final["final"] = True
    final["dir_args"] = [["--cache-dir", "cache/branding"]]
    specs.append(
        ItemSpec(
            key=FINAL_ITEM,
            pool="final",
            inputs=final,
            after=tuple(scene_item(s.number) for s in plan.scenes),
        )
    )
    return specs
