#!/usr/bin/env python3
"""Assemble the final video, or render one scene segment, in the delivery format.

Two modes:
  --scene SCENE.json --output SEGMENT.mp4
      Render one scene alone: clip trimmed or extended to narration + padding, narration and
      effects mixed (effects ducked under the voice), optional captions and watermark. Encoded
      once, in the exact delivery format, so the final step can stream-copy it.
  --manifest MANIFEST.json --output FINAL.mp4
      Concatenate finished segments (``"segments": [paths]``) with stream copy, or render raw
      scenes first (``"scenes": [scene objects]``); add cached intro/outro, background music;
      two-pass loudnorm to -14 LUFS on the audio track only; +faststart.

Exit codes: 0 ok, 1 failure (missing/corrupt media, FFmpeg error), 2 bad usage or invalid JSON
schema. The last stdout line is the JSON result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _assembly_final import Loudness, assemble
from _assembly_media import DEFAULT_CRF, DEFAULT_PRESET, PRESETS, Encoding
from _assembly_schema import (
    Music,
    SceneDefaults,
    SchemaError,
    load_json,
    parse_manifest,
    parse_scene,
)
from _assembly_segment import MAX_SLOWDOWN, render_scene
from _assembly_srt import SegmentText, build_srt, timeline_cues

PROVIDER = "ffmpeg"


def build_parser() -> argparse.ArgumentParser:
    p = _common.parser(__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--manifest", type=Path, help="manifest JSON: finished segments or raw scenes"
    )
    mode.add_argument("--scene", type=Path, help="one scene JSON: render it alone as a segment")
    p.add_argument("--output", type=Path, required=True, help="output MP4")
    p.add_argument(
        "--captions",
        action="store_true",
        help="burn captions into every raw scene that has narration_text (finished segments "
        "already have theirs, or not)",
    )
    p.add_argument("--srt", type=Path, help="with --manifest: also write the captions as SRT")
    p.add_argument("--music", type=Path, help="background music (overrides the manifest's)")
    p.add_argument("--music-gain-db", type=float, default=None, help="music level (default -20 dB)")
    p.add_argument("--cache-dir", type=Path, help="where encoded intros/outros are kept and reused")
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default=os.environ.get("ASSEMBLY_X264_PRESET", DEFAULT_PRESET),
        help="x264 preset (env ASSEMBLY_X264_PRESET); segments and final must use the same one",
    )
    p.add_argument(
        "--crf",
        type=int,
        default=int(os.environ.get("ASSEMBLY_X264_CRF", DEFAULT_CRF)),
        help=f"x264 CRF (env ASSEMBLY_X264_CRF, default {DEFAULT_CRF})",
    )
    p.add_argument("--target-lufs", type=float, default=-14.0, help="integrated loudness target")
    p.epilog = (
        f"Clips shorter than their scene are slowed down if at most {MAX_SLOWDOWN:.2f}x is needed, "
        "otherwise their last frame is held; longer clips are trimmed."
    )
    return p


def _run_scene(args: argparse.Namespace, enc: Encoding) -> None:
    started = time.monotonic()
    obj = load_json(args.scene, "scene JSON")
    scene = parse_scene(
        obj, "scene", args.scene.resolve().parent, SceneDefaults(force_captions=args.captions)
    )
    facts = render_scene(scene, args.output, enc)
    _common.emit_result(
        outputs={"video": str(args.output)},
        provider=PROVIDER,
        duration=facts["duration"],
        scene=facts,
        scenes=[{"number": scene.number, "duration": facts["duration"]}],
        size=f"{scene.size[0]}x{scene.size[1]}",
        fps=scene.fps,
        preset=enc.preset,
        elapsed_s=round(time.monotonic() - started, 3),
    )


def _run_manifest(args: argparse.Namespace, enc: Encoding) -> None:
    started = time.monotonic()
    base = args.manifest.resolve().parent
    manifest = parse_manifest(load_json(args.manifest, "manifest"), base, args.captions)
    music = manifest.music
    if args.music is not None:
        music = Music(path=args.music)
    if music is not None and args.music_gain_db is not None:
        music = Music(music.path, args.music_gain_db, music.fade_in_s, music.fade_out_s, music.duck)
    cache_dir = args.cache_dir or manifest.cache_dir
    with tempfile.TemporaryDirectory(prefix="assembly-segments-") as tmp:
        scene_facts: list[dict[str, object]] = []
        size: tuple[int, int] | None = manifest.size
        paths: list[Path] = manifest.segments
        if manifest.scenes:
            first = manifest.scenes[0]
            for scene in manifest.scenes:
                if scene.size != first.size:
                    raise SchemaError(
                        f"scene {scene.number}: field 'size': differs from scene {first.number}"
                    )
                if scene.fps != first.fps:
                    raise SchemaError(
                        f"scene {scene.number}: field 'fps': differs from scene {first.number}"
                    )
            paths = []
            for scene in manifest.scenes:
                path = Path(tmp) / f"scene-{scene.number:04d}.mp4"
                scene_facts.append(render_scene(scene, path, enc))
                paths.append(path)
            size = first.size
        segments_s = time.monotonic() - started
        final = assemble(
            paths,
            args.output,
            enc,
            size=size,
            intro=manifest.intro,
            outro=manifest.outro,
            music=music,
            cache_dir=cache_dir,
            loudness=Loudness(integrated=args.target_lufs),
        )
    pieces = final.pop("pieces")
    outputs = {"video": str(args.output)}
    if args.srt is not None:
        texts = [SegmentText(t, n) for t, n in manifest.texts]
        cues = timeline_cues(pieces, texts, size or (1920, 1080), manifest.words_per_chunk)
        args.srt.write_text(build_srt(cues), encoding="utf-8")
        outputs["srt"] = str(args.srt)
        final["srt_cues"] = len(cues)
    scene_durations = [p["duration"] for p in pieces if str(p["label"]).startswith("segment")]
    numbers = [s.number for s in manifest.scenes] or list(range(1, len(scene_durations) + 1))
    _common.emit_result(
        outputs=outputs,
        provider=PROVIDER,
        duration=final.pop("duration"),
        scenes=[
            {"number": n, "duration": d} for n, d in zip(numbers, scene_durations, strict=True)
        ],
        pieces=pieces,
        rendered_scenes=scene_facts,
        preset=enc.preset,
        timings={
            "segments_s": round(segments_s, 3),
            "final_s": round(time.monotonic() - started - segments_s, 3),
        },
        **final,
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.preset not in PRESETS:
        _common.fail(f"--preset must be one of {', '.join(PRESETS)}", _common.EXIT_USAGE)
    if not 0 <= args.crf <= 51:
        _common.fail("--crf must be between 0 and 51", _common.EXIT_USAGE)
    if args.output.suffix.lower() != ".mp4":
        _common.fail("--output must be an .mp4 file", _common.EXIT_USAGE)
    enc = Encoding(preset=args.preset, crf=args.crf)
    try:
        if args.scene is not None:
            _run_scene(args, enc)
        else:
            _run_manifest(args, enc)
    except SchemaError as exc:
        _common.fail(str(exc), _common.EXIT_USAGE)


if __name__ == "__main__":
    _common.run_main(main)
