"""One scene rendered alone in the exact delivery format (``assemble_video.py --scene``).

Length rule: the scene lasts ``duration_s`` if given, else narration + ``padding_s`` but at least
``min_duration_s`` (the plan's own scene length, which a person wrote or a planner chose), rounded
to whole frames; the audio is cut to exactly the same number of samples so segments butt together.

Clip fitting rule (documented for operators):
- clip at least as long as the scene: trimmed (first N frames);
- clip shorter by at most ``MAX_SLOWDOWN`` (25 %): slowed down evenly (setpts), which reads as
  natural motion;
- shorter than that: played at speed, then its last frame is held (tpad clone), because a stronger
  slow-down looks like slow motion.

Only what must change is re-encoded: a clip that already has our exact stream header, size and
frame rate, exactly the scene's frame count, and needs no captions or watermark, is stream-copied.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common
from _assembly_captions import load_word_starts, write_captions
from _assembly_media import (
    AUDIO_FORMAT,
    VIDEO_TAIL,
    Encoding,
    atomic_output,
    audio_duration,
    filter_value,
    matches_delivery,
    samples_for,
    video_info,
)
from _assembly_schema import Scene, Watermark
from PIL import Image

MAX_SLOWDOWN = 1.25


@dataclass(frozen=True)
class ClipPlan:
    mode: str  # "exact", "trim", "slow", "freeze"
    speed_factor: float  # PTS multiplier: >1 slows the clip down


def plan_clip(clip_s: float, scene_s: float, fps: int) -> ClipPlan:
    half_frame = 0.5 / fps
    if abs(clip_s - scene_s) < half_frame:
        return ClipPlan("exact", 1.0)
    if clip_s > scene_s:
        return ClipPlan("trim", 1.0)
    ratio = scene_s / clip_s
    if ratio <= MAX_SLOWDOWN:
        return ClipPlan("slow", ratio)
    return ClipPlan("freeze", 1.0)


def _watermark_filter(wm: Watermark, size: tuple[int, int], index: int) -> tuple[str, str]:
    """The filter for the logo input and the overlay expression placing it."""
    w, h = size
    logo_w = max(2, round(w * wm.scale / 2) * 2)
    margin = round(min(w, h) * wm.margin)
    x = {"left": str(margin), "right": f"W-w-{margin}", "center": "(W-w)/2"}
    y = {"top": str(margin), "bottom": f"H-h-{margin}", "center": "(H-h)/2"}
    vert, _, horiz = wm.position.partition("-")
    px, py = (x["center"], y["center"]) if wm.position == "center" else (x[horiz], y[vert])
    logo = f"[{index}:v]format=rgba,scale={logo_w}:-2,colorchannelmixer=aa={wm.opacity:.3f}[logo]"
    return logo, f"overlay=x={px}:y={py}:format=auto"


def watermark_band(wm: Watermark | None, size: tuple[int, int], caption_position: str) -> float:
    """How much of the frame's height (a fraction) the watermark takes at the captions' edge.

    Captions are centred and wide, so a logo in any corner of the same edge can sit under a long
    line; the captions are lifted above it (or dropped below it at the top) instead.
    """
    if wm is None or wm.position == "center" or caption_position == "center":
        return 0.0
    if wm.position.partition("-")[0] != caption_position:
        return 0.0
    w, h = size
    with Image.open(wm.path) as logo:
        logo_h = max(2, round(w * wm.scale / 2) * 2) * logo.height / logo.width
    return (round(min(w, h) * wm.margin) + logo_h) / h


def _video_graph(
    scene: Scene,
    plan: ClipPlan,
    clip_size: tuple[int, int],
    scene_s: float,
    captions: tuple[Path, Path] | None,
    watermark_input: int | None,
) -> str:
    w, h = scene.size
    chain = ["setpts=PTS-STARTPTS"]
    if plan.mode == "slow":
        chain.append(f"setpts={plan.speed_factor:.6f}*PTS")
    if clip_size != scene.size:
        chain.append(f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}")
    # Always hold the last frame a little: rounding must never leave the output a frame short.
    hold = max(0.0, scene_s) + 1.0 if plan.mode == "freeze" else 1.0
    chain += ["setsar=1", f"fps={scene.fps}", f"tpad=stop_mode=clone:stop_duration={hold:.3f}"]
    chain.append(VIDEO_TAIL)
    if captions is not None:
        ass, fonts = captions
        chain.append(
            f"subtitles=filename={filter_value(str(ass))}:fontsdir={filter_value(str(fonts))}"
        )
    graph = "[0:v]" + ",".join(chain)
    if watermark_input is None or scene.watermark is None:
        return graph + "[v]"
    logo, overlay = _watermark_filter(scene.watermark, scene.size, watermark_input)
    return f"{graph}[base];{logo};[base][logo]{overlay},{VIDEO_TAIL}[v]"


def _audio_graph(scene: Scene, narration_in: int | None, sfx_in: int | None, samples: int) -> str:
    """Narration plus effects ducked under the voice, one stereo track of exactly ``samples``."""
    cut = f"apad,atrim=end_sample={samples}"
    parts: list[str] = []
    if narration_in is not None:
        parts.append(f"[{narration_in}:a:0]{AUDIO_FORMAT},{cut}[voice]")
    if sfx_in is not None:
        parts.append(f"[{sfx_in}:a:0]{AUDIO_FORMAT},volume={scene.sfx_gain_db:.2f}dB,{cut}[fx]")
    if narration_in is not None and sfx_in is not None:
        parts += [
            "[voice]asplit=2[v1][key]",
            "[fx][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400:makeup=1[duck]",
            "[v1][duck]amix=inputs=2:normalize=0:duration=first[mix]",
        ]
        last = "[mix]"
    elif narration_in is not None or sfx_in is not None:
        last = "[voice]" if narration_in is not None else "[fx]"
    else:
        parts.append(f"anullsrc=r={_common.DELIVERY_AUDIO_RATE}:cl=stereo[silence]")
        last = "[silence]"
    parts.append(f"{last}{cut},asetpts=N/SR/TB[a]")
    return ";".join(parts)


def render_scene(scene: Scene, output: Path, enc: Encoding) -> dict[str, Any]:
    """Render ``scene`` to ``output``; return the facts the result line reports."""
    where = f"scene {scene.number}"
    clip = video_info(_common.require_input(scene.clip, f"{where} clip"), f"{where} clip")
    speech_s = audio_duration(scene.narration, f"{where} narration") if scene.narration else 0.0
    if scene.sfx is not None:
        audio_duration(scene.sfx, f"{where} sfx")
    if scene.duration_s is not None:
        target_s = scene.duration_s
    else:
        target_s = max(speech_s + scene.padding_s, scene.min_duration_s)
    frames = max(1, round(target_s * scene.fps))
    scene_s = frames / scene.fps
    samples = samples_for(frames, scene.fps)
    plan = plan_clip(clip.duration, scene_s, scene.fps)

    with tempfile.TemporaryDirectory(prefix="assembly-scene-") as tmp:
        workdir = Path(tmp)
        caption_files, captions = None, None
        if scene.captions.enabled and scene.narration_text:
            spoken = speech_s if speech_s > 0 else scene_s
            starts = load_word_starts(scene.words, where) if scene.narration else None
            captions = write_captions(
                scene.narration_text,
                scene.captions,
                scene.size,
                (min(spoken, scene_s), scene_s, starts),
                workdir,
                clear=watermark_band(scene.watermark, scene.size, scene.captions.position),
            )
            if captions is not None:
                caption_files = (captions.ass, captions.fonts)
        copy_video = (
            plan.mode == "exact"
            and clip.frames == frames
            and caption_files is None
            and scene.watermark is None
            and matches_delivery(clip, scene.size, scene.fps, enc)
        )
        inputs: list[str] = ["-i", str(scene.clip)]
        next_index = 1
        watermark_in = narration_in = sfx_in = None
        if scene.watermark is not None and not copy_video:
            inputs += ["-i", str(scene.watermark.path)]
            watermark_in, next_index = next_index, next_index + 1
        if scene.narration is not None:
            inputs += ["-i", str(scene.narration)]
            narration_in, next_index = next_index, next_index + 1
        if scene.sfx is not None:
            inputs += ["-i", str(scene.sfx)]
            sfx_in = next_index
        graph = _audio_graph(scene, narration_in, sfx_in, samples)
        if copy_video:
            video_args = ["-map", "0:v:0", "-c:v", "copy", "-video_track_timescale", "15360"]
        else:
            vgraph = _video_graph(scene, plan, clip.size, scene_s, caption_files, watermark_in)
            graph = f"{vgraph};{graph}"
            video_args = ["-map", "[v]", "-frames:v", str(frames), *enc.video_args(scene.fps)]
        tmp_out = atomic_output(output)
        try:
            _common.run_ffmpeg(
                [*inputs, "-filter_complex", graph, *video_args, "-map", "[a]", *enc.audio_args,
                 "-map_metadata", "-1", str(tmp_out)],
                what=f"rendering {where}",
            )  # fmt: skip
            os.replace(tmp_out, output)
        finally:
            tmp_out.unlink(missing_ok=True)

    made = video_info(output, f"{where} segment")
    if made.frames != frames:
        output.unlink(missing_ok=True)  # never leave a short segment where a good one belongs
        raise _common.ScriptError(
            f"{where}: rendered {made.frames} frames, expected {frames}: "
            f"is the clip {scene.clip.name} (or an input of the scene) truncated or damaged?"
        )
    return {
        "number": scene.number,
        "duration": round(scene_s, 3),
        "frames": frames,
        "narration_s": round(speech_s, 3),
        "clip_s": round(clip.duration, 3),
        "clip_mode": plan.mode,
        "video": "copy" if copy_video else "encode",
        "caption_chunks": len(captions.cues) if captions else 0,
        "caption_timing": captions.timing if captions else None,
        "caption_starts": [round(c.start, 3) for c in captions.cues] if captions else [],
        "watermark": scene.watermark is not None,
    }
