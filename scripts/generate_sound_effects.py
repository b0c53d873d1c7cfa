#!/usr/bin/env python3
"""Make a scene's sound-effect track: ElevenLabs sound generation, or synthesised offline by FFmpeg.

Usage: generate_sound_effects.py --text TEXT --output AUDIO [--provider elevenlabs|synth] [options]
The key comes from ELEVENLABS_API_KEY (never an argument); the last stdout line is the JSON result.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _args
import _audio
import _common
import _elevenlabs
import _synth

DEFAULT_COST_USD = 0.12  # a per-call estimate; the worker passes the channel plan's real price
SYNTH_DEFAULT_SECONDS = 5.0
ELEVENLABS_SECONDS = (0.5, 30.0)
SYNTH_SECONDS = (0.5, 600.0)
# Beds sit well under a voice normalised near -16 LUFS; hits may come up closer to it.
AMBIENCE_LUFS = -24.0
ACCENT_LUFS = -19.0
PEAK_LIMIT = 0.89  # about -1 dBFS


def build_parser() -> argparse.ArgumentParser:
    p = _audio.audio_parser(
        __doc__.strip().splitlines()[0], text_help="what the effect sounds like", offline="synth"
    )
    p.add_argument(
        "--duration",
        type=_args.number_in(*SYNTH_SECONDS),
        help="seconds (elevenlabs: 0.5..30, omitted = the model decides; synth: default 5)",
    )
    p.add_argument(
        "--prompt-influence",
        type=_args.number_in(0.0, 1.0),
        default=0.3,
        help="elevenlabs: 0..1, how literally the prompt is followed",
    )
    p.add_argument("--loop", action="store_true", help="make the clip loop seamlessly")
    p.add_argument("--model-id", help="elevenlabs: sound model (the API's default when omitted)")
    _elevenlabs.add_output_format(
        p,
        help_text="elevenlabs: what the API returns (converted when --output has another extension)",
    )
    p.add_argument(
        "--cost-usd",
        type=_args.number_in(0.0, 1000.0),
        default=DEFAULT_COST_USD,
        help="elevenlabs: USD per generation, for the reported cost",
    )
    return p


def run_elevenlabs(args: argparse.Namespace) -> None:
    low, high = ELEVENLABS_SECONDS
    if args.duration is not None and not low <= args.duration <= high:
        _common.fail(
            f"--duration must be within {low:g}..{high:g} seconds for elevenlabs",
            _common.EXIT_USAGE,
        )
    body: dict[str, object] = {
        "text": args.text,
        "duration_seconds": args.duration,
        "prompt_influence": args.prompt_influence,
        "loop": args.loop,
    }
    if args.model_id:
        body["model_id"] = args.model_id
    what = "ElevenLabs sound generation"
    reply = _elevenlabs.post_audio(
        "/v1/sound-generation", fmt=args.output_format, body=body, what=what
    )
    _elevenlabs.deliver(reply, args, what=what, cost_usd=args.cost_usd)


def measure(path: Path) -> tuple[float | None, float]:
    """Integrated loudness (None when too short or quiet to gate) and sample peak in dBFS."""
    log = _common.run_ffmpeg(
        ["-nostats", "-i", str(path), "-af", "ebur128=peak=sample", "-f", "null", "-"],
        what="measuring loudness",
    )
    summary = log[log.rfind("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    lufs = float(loudness.group(1)) if loudness and loudness.group(1) != "-inf" else None
    peak_db = float(peak.group(1)) if peak and peak.group(1) != "-inf" else -120.0
    return (lufs if lufs is not None and lufs > -69.0 else None), peak_db


def render_graph(text: str, seconds: float, loop: bool, raw: Path) -> list[_synth.Recipe]:
    """Pass one: the recipes' mix, exactly ``seconds`` long, as 32-bit float WAV."""
    samples = round(seconds * _synth.RATE)
    overlap = min(1.0, seconds / 4) if loop else 0.0
    graph, out, recipes = _synth.build(text, seconds + overlap + 0.1)
    if loop:
        # Crossfade what follows the loop point onto the start, so the end flows into the start.
        graph += (
            f";[{out}]asplit=2[body][after]"
            f";[after]atrim=start_sample={samples},asetpts=PTS-STARTPTS,"
            f"afade=t=out:d={overlap:.4f}:curve=qsin[tail]"
            f";[body]atrim=end_sample={samples},afade=t=in:d={overlap:.4f}:curve=qsin[head]"
            f";[head][tail]amix=inputs=2:normalize=0:duration=first[final]"
        )
    else:
        graph += f";[{out}]atrim=end_sample={samples},apad=whole_len={samples}[final]"
    _common.run_ffmpeg(
        ["-filter_complex", graph, "-map", "[final]", "-c:a", "pcm_f32le", str(raw)],
        what="synthesising the effect",
    )
    return recipes


def run_synth(args: argparse.Namespace) -> None:
    seconds = args.duration if args.duration is not None else SYNTH_DEFAULT_SECONDS
    output: Path = args.output
    samples = round(seconds * _synth.RATE)
    with _audio.scratch(".wav", output.parent) as raw, _audio.staged(output) as final:
        recipes = render_graph(args.text, seconds, args.loop, raw)
        target = ACCENT_LUFS if any(r.accent for r in recipes) else AMBIENCE_LUFS
        lufs, peak_db = measure(raw)
        gain = target - lufs if lufs is not None else -3.0 - peak_db
        gain = max(-40.0, min(40.0, gain))
        filters = [
            f"volume={gain:.2f}dB",
            f"alimiter=limit={PEAK_LIMIT}:level=false:latency=true",
        ]
        if not args.loop:
            fade_out = min(0.3, seconds / 5)
            filters += [
                "afade=t=in:d=0.005",
                f"afade=t=out:st={seconds - fade_out:.4f}:d={fade_out:.4f}",
            ]
        filters.append(f"atrim=end_sample={samples},apad=whole_len={samples}")
        _audio.encode(
            ["-i", str(raw)],
            final,
            what=f"encoding the effect to {output.suffix}",
            filters=",".join(filters),
            extra=[
                "-ar",
                str(_synth.RATE),
                "-ac",
                "2",
                "-map_metadata",
                "-1",
                "-fflags",
                "+bitexact",
            ],
        )
        info = _audio.verify_audio(final, "synthesised effect")
    _audio.emit_audio(
        output,
        info,
        provider="synth",
        model="ffmpeg-synth",
        recipes=[r.name for r in recipes],
        target_lufs=target,
    )


main = _args.provider_main(build_parser, {"elevenlabs": run_elevenlabs, "synth": run_synth})


if __name__ == "__main__":
    _common.run_main(main)
