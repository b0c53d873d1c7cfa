"""The final stage: concatenate finished segments, mix music, normalise loudness.

Video: the concat demuxer with ``-c:v copy`` (each scene was encoded once, when it was rendered).
Every list entry carries an explicit ``duration`` (its frame count / fps) so the next piece starts
exactly where the last frame ends, whatever the length of its audio packets. Every piece must
carry our encoder's exact stream header (checked; a foreign one is re-encoded first), so
``-auto_convert 0`` keeps the packets byte-identical instead of re-inserting SPS/PPS in-band.

Audio: re-encoded anyway by the loudness pass, so it is decoded per segment and each piece is cut
to exactly its video length in samples before the concat filter. Copying the AAC instead would
carry every segment's encoder priming and last-frame padding into the timeline (about 20 ms per
boundary): audible clicks and a voice that drifts ahead of the picture scene after scene.

Loudness: two-pass loudnorm, the first pass measures (print_format=json), the second applies the
measured values with linear=true, to -14 LUFS integrated and -1.5 dBTP.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common
from _assembly_media import (
    AUDIO_FORMAT,
    Encoding,
    StreamInfo,
    atomic_output,
    cached_delivery,
    encode_delivery,
    matches_delivery,
    samples_for,
    video_info,
)
from _assembly_schema import Music

SILENCE_LUFS = -70.0


@dataclass(frozen=True)
class Loudness:
    integrated: float = -14.0
    true_peak: float = -1.5
    lra: float = 11.0


@dataclass(frozen=True)
class Piece:
    """One entry of the final timeline (intro, a scene segment, outro)."""

    label: str
    path: Path
    frames: int
    fps: int


def check_segments(
    paths: list[Path], size: tuple[int, int] | None
) -> tuple[list[StreamInfo], tuple[int, int], int]:
    """Decode-check every segment; they must share one frame size and frame rate."""
    infos: list[StreamInfo] = []
    for index, path in enumerate(paths, start=1):
        what = f"segment {index} ({path.name})"
        if not path.is_file():
            raise _common.ScriptError(f"{what} not found: {path}")
        infos.append(video_info(path, what))
    size = size or infos[0].size
    fps = infos[0].fps
    for index, (path, info) in enumerate(zip(paths, infos, strict=True), start=1):
        if info.size != size:
            raise _common.ScriptError(
                f"segment {index} ({path.name}): size {info.width}x{info.height} differs from {size[0]}x{size[1]}"
            )
        if info.fps != fps:
            raise _common.ScriptError(
                f"segment {index} ({path.name}): {float(info.fps):g} fps differs from {float(fps):g}"
            )
    if fps.denominator != 1:
        raise _common.ScriptError(
            f"segments have a fractional frame rate ({float(fps):.3f}): not delivery format"
        )
    return infos, size, int(fps)


def _parse_loudnorm(stderr: str, what: str) -> dict[str, Any]:
    match = re.search(r"\[Parsed_loudnorm[^\]]*\]\s*(\{.*?\})", stderr, re.S)
    if match is None:
        raise _common.ScriptError(f"loudnorm printed no measurement while {what}")
    return dict(json.loads(match.group(1)))


def _num(stats: dict[str, Any], key: str) -> float:
    try:
        return float(stats[key])
    except (KeyError, ValueError, TypeError):
        return float("-inf")


def _finite(value: float) -> float | None:
    """JSON has no -inf (the loudness of silence): report it as null."""
    return value if math.isfinite(value) else None


def _audio_graph(pieces: list[Piece], music: Music | None, offset: int) -> tuple[str, str, int]:
    """Per-piece exact cuts, concat, optional ducked music; returns (graph, last label, samples).

    Input ``offset + i`` is piece ``i``; the music (looped) is the input after the last piece.
    """
    parts: list[str] = []
    total = 0
    for i, piece in enumerate(pieces):
        n = samples_for(piece.frames, piece.fps)
        total += n
        parts.append(f"[{offset + i}:a:0]{AUDIO_FORMAT},apad,atrim=end_sample={n}[p{i}]")
    labels = "".join(f"[p{i}]" for i in range(len(pieces)))
    parts.append(f"{labels}concat=n={len(pieces)}:v=0:a=1[voice]")
    last = "[voice]"
    if music is not None:
        music_in = offset + len(pieces)
        seconds = total / _common.DELIVERY_AUDIO_RATE
        fade_out = min(music.fade_out_s, seconds / 2)
        chain = (
            f"[{music_in}:a:0]{AUDIO_FORMAT},atrim=end_sample={total},volume={music.gain_db:.2f}dB,"
            f"afade=t=in:d={min(music.fade_in_s, seconds / 2):.3f},"
            f"afade=t=out:st={seconds - fade_out:.3f}:d={fade_out:.3f}"
        )
        if music.duck:
            parts += [
                f"{chain}[bed]",
                "[voice]asplit=2[v1][key]",
                "[bed][key]sidechaincompress=threshold=0.03:ratio=4:attack=50:release=600[ducked]",
                "[v1][ducked]amix=inputs=2:normalize=0:duration=first[mix]",
            ]
        else:
            parts += [f"{chain}[bed]", "[voice][bed]amix=inputs=2:normalize=0:duration=first[mix]"]
        last = "[mix]"
    return ";".join(parts), last, total


_EBUR128_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS")


def _loudness_filter(
    audio_inputs: list[str], graph: str, last: str, target: Loudness
) -> tuple[str, dict[str, Any]]:
    """Pass 1: measure; return the pass-2 loudnorm filter (with a trailing comma) and the stats.

    The same pass also runs the EBU R128 meter (ebur128, 400 ms blocks). loudnorm's own integrated
    figure uses 3 s windows and can be off by half a LU on short, gappy speech; with linear=true
    the gain is simply target - measured_I, so giving it the reference meter's value lands the
    result on target as a standard meter reads it.
    """
    lra_probe = f"I={target.integrated}:TP={target.true_peak}:LRA={target.lra}"
    stderr = _common.run_ffmpeg(
        [*audio_inputs, "-filter_complex",
         f"{graph};{last}ebur128=framelog=verbose:peak=true,"
         f"loudnorm={lra_probe}:print_format=json[out]",
         "-map", "[out]", "-f", "null", "-"],
        what="measuring loudness (loudnorm pass 1)",
    )  # fmt: skip
    stats = _parse_loudnorm(stderr, "measuring loudness")
    meter = _EBUR128_I.search(stderr)
    meter_i = float(meter.group(1)) if meter else _num(stats, "input_i")
    stats["meter_i"] = meter_i if meter_i > SILENCE_LUFS else _num(stats, "input_i")
    if stats["meter_i"] <= SILENCE_LUFS or _num(stats, "input_i") <= SILENCE_LUFS:
        return "", stats  # silence cannot be brought to -14 LUFS; leave it silent rather than fail
    # Keep the measured range when it is wider than the target: that lets loudnorm stay linear
    # (one gain for the whole video) instead of compressing dynamically.
    lra = min(50.0, max(target.lra, _num(stats, "input_lra")))
    measured = (
        f"measured_I={stats['meter_i']}:measured_TP={stats['input_tp']}:"
        f"measured_LRA={stats['input_lra']}:measured_thresh={stats['input_thresh']}:"
        f"offset={stats['target_offset']}"
    )
    base = f"I={target.integrated}:TP={target.true_peak}:LRA={lra}"
    return f"loudnorm={base}:{measured}:linear=true:print_format=json,", stats


def _concat_list(pieces: list[Piece], path: Path) -> None:
    lines = ["ffconcat version 1.0"]
    for piece in pieces:
        quoted = str(piece.path.resolve()).replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"duration {piece.frames / piece.fps:.6f}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def assemble(
    segment_paths: list[Path],
    output: Path,
    enc: Encoding,
    *,
    size: tuple[int, int] | None = None,
    intro: Path | None = None,
    outro: Path | None = None,
    music: Music | None = None,
    cache_dir: Path | None = None,
    loudness: Loudness | None = None,
) -> dict[str, Any]:
    """Concatenate (video stream-copied), mix music, two-pass loudnorm the audio; return facts."""
    target = loudness or Loudness()
    infos, size, fps = check_segments(segment_paths, size)
    if music is not None:
        _common.require_input(music.path, "music")
    with tempfile.TemporaryDirectory(prefix="assembly-final-") as tmp:
        workdir = Path(tmp)
        pieces: list[Piece] = []
        normalized: list[int] = []
        cache_hits: dict[str, bool] = {}
        bumpers: dict[str, Piece] = {}
        for role, src in (("intro", intro), ("outro", outro)):
            if src is None:
                continue
            if cache_dir is not None:
                path, hit = cached_delivery(src, cache_dir, size, fps, enc, role)
                cache_hits[role] = hit
            else:
                path = workdir / f"{role}.mp4"
                encode_delivery(src, path, size, fps, enc, role)
                cache_hits[role] = False
            bumpers[role] = Piece(role, path, video_info(path, role).frames, fps)
        if "intro" in bumpers:
            pieces.append(bumpers["intro"])
        for index, (path, info) in enumerate(zip(segment_paths, infos, strict=True), start=1):
            if not (matches_delivery(info, size, fps, enc) and info.has_audio):
                # A foreign piece would break the stream copy: bring it to our format first.
                fixed = workdir / f"segment-{index}.mp4"
                info = encode_delivery(
                    path, fixed, size, fps, enc, f"segment {index} ({path.name})"
                )
                path = fixed
                normalized.append(index)
            pieces.append(Piece(f"segment {index}", path, info.frames, fps))
        if "outro" in bumpers:
            pieces.append(bumpers["outro"])

        audio_inputs: list[str] = []
        for piece in pieces:
            audio_inputs += ["-i", str(piece.path)]
        if music is not None:
            audio_inputs += ["-stream_loop", "-1", "-i", str(music.path)]
        graph, last, total_samples = _audio_graph(pieces, music, 0)
        norm, first = _loudness_filter(audio_inputs, graph, last, target)
        concat_list = workdir / "concat.txt"
        _concat_list(pieces, concat_list)
        graph, last, _ = _audio_graph(pieces, music, 1)  # input 0 is now the concat list
        final_graph = (
            f"{graph};{last}{norm}aresample={_common.DELIVERY_AUDIO_RATE},"
            f"atrim=end_sample={total_samples},asetpts=N/SR/TB[out]"
        )
        tmp_out = atomic_output(output)
        try:
            applied = _common.run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", str(concat_list), *audio_inputs,
                 "-filter_complex", final_graph,
                 "-map", "0:v:0", "-c:v", "copy", "-video_track_timescale", "15360",
                 "-map", "[out]", *enc.audio_args, "-movflags", "+faststart",
                 "-map_metadata", "-1", str(tmp_out)],
                what="concatenating segments and normalising loudness (loudnorm pass 2)",
            )  # fmt: skip
            os.replace(tmp_out, output)
        finally:
            tmp_out.unlink(missing_ok=True)
    second = _parse_loudnorm(applied, "normalising loudness") if norm else {}
    input_i = float(first["meter_i"])
    final = video_info(output, "assembled video")
    expected = sum(p.frames for p in pieces)
    if final.frames != expected:
        raise _common.ScriptError(f"assembled video has {final.frames} frames, expected {expected}")
    return {
        "duration": expected / fps,
        "frames": expected,
        "size": f"{size[0]}x{size[1]}",
        "fps": fps,
        "pieces": [{"label": p.label, "duration": round(p.frames / p.fps, 3)} for p in pieces],
        "normalized_segments": normalized,
        "cache_hits": cache_hits,
        "loudness": {
            "target_i": target.integrated,
            "target_tp": target.true_peak,
            "input_i": _finite(input_i),
            "input_i_loudnorm": _finite(_num(first, "input_i")),
            "input_tp": _finite(_num(first, "input_tp")),
            "output_i": _finite(_num(second, "output_i") if second else input_i),
            "output_tp": _finite(_num(second, "output_tp") if second else _num(first, "input_tp")),
            "normalization_type": second.get("normalization_type", "skipped (silent)"),
        },
    }
