#!/usr/bin/env python3
"""Speak a scene's narration into an audio file: ElevenLabs, an OpenAI-compatible server, hibari or espeak-ng.

Usage: generate_audio.py --text TEXT --output AUDIO [--provider elevenlabs|openai|hibari|espeak] [options]
Keys come from ELEVENLABS_API_KEY / OPENAI_API_KEY (never arguments); the last stdout line is the
JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _args
import _audio
import _common
import _elevenlabs
import _espeak
import _hibari_speech
import _openai_speech

DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs' premade "Rachel"
DEFAULT_MODEL_ID = "eleven_multilingual_v2"
DEFAULT_COST_PER_1K_CHARS = 0.30  # an estimate; the worker passes the channel plan's real rate


def build_parser() -> argparse.ArgumentParser:
    p = _audio.audio_parser(
        __doc__.strip().splitlines()[0],
        text_help="what is spoken",
        offline="espeak",
        more=("openai", "hibari"),
    )
    el = p.add_argument_group("elevenlabs")
    el.add_argument("--voice-id", default=DEFAULT_VOICE_ID, help="ElevenLabs voice")
    el.add_argument("--model-id", default=DEFAULT_MODEL_ID)
    el.add_argument(
        "--stability", type=_args.number_in(0.0, 1.0), help="0..1; lower is more expressive"
    )
    el.add_argument("--similarity-boost", type=_args.number_in(0.0, 1.0), help="0..1")
    el.add_argument("--style", type=_args.number_in(0.0, 1.0), help="0..1")
    el.add_argument("--speed", type=_args.number_in(0.7, 1.2), help="0.7..1.2")
    _elevenlabs.add_output_format(
        el, help_text="what ElevenLabs returns (converted when --output has another extension)"
    )
    el.add_argument(
        "--cost-per-1k-chars",
        type=_args.number_in(0.0, 1000.0),
        help="USD per 1000 characters, for the reported cost (elevenlabs, openai)",
        default=DEFAULT_COST_PER_1K_CHARS,
    )
    oa = p.add_argument_group("openai (OPENAI_BASE_URL: OpenAI, OpenRouter, a local Kokoro server)")
    oa.add_argument("--tts-model", default="gpt-4o-mini-tts", help="the server's speech model")
    oa.add_argument("--tts-voice", default="coral", help="the server's voice name")
    oa.add_argument("--tts-speed", type=_args.number_in(0.25, 4.0), help="0.25..4.0")
    oa.add_argument("--instructions", help="how to speak (models that take it)")
    oa.add_argument("--base-url", help="the server, ending in /v1 (default: OPENAI_BASE_URL)")
    _hibari_speech.add_arguments(p)
    es = p.add_argument_group("espeak")
    es.add_argument("--voice", default="en", help="espeak-ng voice name, e.g. en, en-us, de")
    es.add_argument(
        "--rate",
        type=_args.number_in(*_espeak.RATE_RANGE, kind=int),
        default=150,
        help="words per minute",
    )
    es.add_argument("--pitch", type=_args.number_in(*_espeak.PITCH_RANGE, kind=int), default=50)
    es.add_argument(
        "--words-output",
        type=Path,
        help="where the word timings go (JSON list of word, start_s, end_s; "
        "default: OUTPUT.words.json)",
    )
    return p


def voice_settings(args: argparse.Namespace) -> dict[str, float] | None:
    """Only the settings given: omitting the rest keeps the voice's own saved settings."""
    given = {
        "stability": args.stability,
        "similarity_boost": args.similarity_boost,
        "style": args.style,
        "speed": args.speed,
    }
    settings = {k: v for k, v in given.items() if v is not None}
    return settings or None


def run_elevenlabs(args: argparse.Namespace) -> None:
    body: dict[str, object] = {"text": args.text, "model_id": args.model_id}
    settings = voice_settings(args)
    if settings:
        body["voice_settings"] = settings
    what = "ElevenLabs text-to-speech"
    reply = _elevenlabs.post_audio(
        f"/v1/text-to-speech/{args.voice_id}", fmt=args.output_format, body=body, what=what
    )
    characters = reply.character_count or len(args.text)
    _elevenlabs.deliver(
        reply,
        args,
        what=what,
        cost_usd=characters / 1000 * args.cost_per_1k_chars,
        voice_id=args.voice_id,
        characters=characters,
    )


def _write_speech(speech: _espeak.Speech, output: Path, what: str) -> _common.MediaInfo:
    """PCM from an offline voice into ``output``, re-encoded when it is not a WAV, then checked."""
    with _audio.staged(output) as final:
        if output.suffix.lower() == ".wav":
            speech.write_wav(final)
        else:
            with _audio.scratch(".wav", output.parent) as wav:
                speech.write_wav(wav)
                _audio.encode(["-i", str(wav)], final, what=f"encoding speech to {output.suffix}")
        return _audio.verify_audio(final, what)


def run_espeak(args: argparse.Namespace) -> None:
    try:
        speech = _espeak.synthesize(args.text, voice=args.voice, rate=args.rate, pitch=args.pitch)
    except _espeak.EspeakError as exc:
        raise _common.ScriptError(str(exc)) from None
    output: Path = args.output
    info = _write_speech(speech, output, "espeak-ng speech")
    words_path: Path = args.words_output or output.with_name(output.name + ".words.json")
    words = [asdict(w) for w in speech.words(args.text)]
    partial = words_path.with_name(words_path.name + ".part")
    partial.write_text(json.dumps(words), encoding="utf-8")
    os.replace(partial, words_path)
    _audio.emit_audio(
        output,
        info,
        provider="espeak",
        model=f"espeak-ng:{args.voice}",
        characters=len(args.text),
        words=len(words),
        words_output=str(words_path),
    )


def run_hibari(args: argparse.Namespace) -> None:
    speech = _hibari_speech.synthesize(args.text, voice=args.hibari_voice, speed=args.hibari_speed)
    info = _write_speech(speech, args.output, "hibari speech")
    _audio.emit_audio(
        args.output,
        info,
        provider="hibari",
        model=f"hibari:{args.hibari_voice}",
        characters=len(args.text),
    )


main = _args.provider_main(
    build_parser,
    {
        "elevenlabs": run_elevenlabs,
        "espeak": run_espeak,
        "hibari": run_hibari,
        "openai": _openai_speech.speak,
    },
)


if __name__ == "__main__":
    _common.run_main(main)
