"""OpenAI-compatible text to speech (``POST /audio/speech``): OpenAI, OpenRouter, local Kokoro/Piper servers.

Wire facts: shared/reference/external-apis.md section 7. The answer is raw audio, not JSON; WAV is
asked for so the file can be checked and re-encoded without guessing a codec. OpenAI has announced
the shutdown of its speech models, so the model and voice are always arguments, never constants
here. The key (``OPENAI_API_KEY``) is optional because a local server needs none.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import _audio
import _common
import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_INPUT_CHARS = 4096


def _describe(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200] or response.reason_phrase
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or response.reason_phrase)[:300]
    return str(error or response.reason_phrase)[:300]


def speak(args: argparse.Namespace) -> None:
    if len(args.text) > MAX_INPUT_CHARS:
        raise _common.ScriptError(
            f"the text is {len(args.text)} characters; the speech endpoint takes at most {MAX_INPUT_CHARS}"
        )
    base = (args.base_url or "").rstrip("/") or _common.base_url(
        "OPENAI_BASE_URL", DEFAULT_BASE_URL
    )
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, object] = {
        "model": args.tts_model,
        "input": args.text,
        "voice": args.tts_voice,
        "response_format": "wav",
    }
    if args.tts_speed is not None:
        body["speed"] = args.tts_speed
    if args.instructions:
        body["instructions"] = args.instructions
    what = "OpenAI-compatible speech"
    with _common.http_client() as client:

        def call() -> httpx.Response:
            response = client.post(f"{base}/audio/speech", json=body, headers=headers)
            return _common.check_response(response, what=what, describe=_describe)

        response = _common.with_retries(call, what=what)
    output: Path = args.output
    with _audio.staged(output) as final, _audio.scratch(".wav", output.parent) as raw:
        raw.write_bytes(response.content)
        _audio.verify_audio(raw, "the speech server's audio")
        _audio.encode(["-i", str(raw)], final, what=f"encoding speech to {output.suffix}")
        info = _audio.verify_audio(final, "the speech")
    characters = len(args.text)
    _audio.emit_audio(
        output,
        info,
        provider="openai",
        model=args.tts_model,
        cost_usd=characters / 1000 * args.cost_per_1k_chars,
        voice=args.tts_voice,
        characters=characters,
    )
