"""Hibari, a natural English voice that runs on this machine (PyPI ``hibari-tts``).

A Kokoro-82M-distilled voice inside the wheel (reference section 9): no network, no key, about
130x realtime on one core. Only the bundled voice ``heart`` is offline; other voices download on
first use, so they are refused here rather than failing later without a network. A fixed seed
keeps the same text sounding the same on every run (the pipeline's items are deterministic).
"""

from __future__ import annotations

import argparse

import _args
import _common
import _espeak

OFFLINE_VOICES = ("heart",)
SPEED_RANGE = (0.5, 2.0)
SEED = 7


def synthesize(text: str, *, voice: str = "heart", speed: float = 1.0) -> _espeak.Speech:
    """16-bit mono PCM at hibari's own rate, peaks kept below full scale (never clipped)."""
    if voice not in OFFLINE_VOICES:
        raise _common.ScriptError(
            f"hibari voice {voice!r} is not bundled: use one of {', '.join(OFFLINE_VOICES)}"
        )
    try:
        import numpy as np
        from hibari import Hibari
    except ImportError as exc:
        raise _common.ScriptError(f"the hibari-tts package is not installed: {exc}") from None
    try:
        engine = Hibari(voice=voice)
        samples = np.asarray(engine(text, speed=speed, seed=SEED), dtype=np.float32)
    except Exception as exc:  # onnxruntime and the phonemizer raise their own types
        raise _common.ScriptError(f"hibari could not speak the text: {exc}") from None
    if samples.size == 0:
        raise _common.ScriptError("hibari returned no audio for the text")
    peak = float(np.abs(samples).max())
    if peak > 0.98:  # rare loud plosives: scale down rather than clip
        samples = samples * (0.98 / peak)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return _espeak.Speech(pcm=pcm, sample_rate=int(engine.sample_rate))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    hb = parser.add_argument_group("hibari (offline neural voice, English)")
    hb.add_argument("--hibari-voice", default="heart", choices=OFFLINE_VOICES)
    hb.add_argument(
        "--hibari-speed",
        type=_args.number_in(*SPEED_RANGE),
        default=1.0,
        help=f"{SPEED_RANGE[0]}..{SPEED_RANGE[1]}; 1.0 is the voice's own pace",
    )
