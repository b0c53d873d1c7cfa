"""The ElevenLabs calls both audio scripts make: one authenticated POST that answers with audio bytes.

Text to speech and sound generation share the wire details (``xi-api-key``, ``output_format`` in
the query string, the ``{"detail": ...}`` error shapes, 429 for both rate and concurrency limits),
so they live here once. See shared/reference/external-apis.md section 4.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _audio
import _common
import httpx

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
PROVIDER = "elevenlabs"

# Container FFmpeg should read for each format family; raw families also need rate and layout.
_NATIVE_SUFFIX = {"mp3": ".mp3", "opus": ".opus", "wav": ".wav"}
_RAW_DEMUXER = {"pcm": "s16le", "ulaw": "mulaw", "alaw": "alaw"}


@dataclass(frozen=True)
class OutputFormat:
    """An ElevenLabs ``output_format`` such as ``mp3_44100_128`` or ``pcm_24000``."""

    name: str
    family: str
    sample_rate: int

    @property
    def native_suffix(self) -> str | None:
        """The file extension the returned bytes already are, or None for headerless PCM."""
        return _NATIVE_SUFFIX.get(self.family)

    def ffmpeg_input(self, path: Path) -> list[str]:
        if self.family in _RAW_DEMUXER:
            demuxer = _RAW_DEMUXER[self.family]
            return ["-f", demuxer, "-ar", str(self.sample_rate), "-ac", "1", "-i", str(path)]
        return ["-i", str(path)]


def output_format(value: str) -> OutputFormat:
    """argparse type for ``--output-format``."""
    parts = value.strip().lower().split("_")
    family = parts[0]
    if family not in {*_NATIVE_SUFFIX, *_RAW_DEMUXER} or len(parts) < 2 or not parts[1].isdigit():
        raise argparse.ArgumentTypeError(
            f"output format must look like mp3_44100_128, pcm_24000 or opus_48000_64, got {value!r}"
        )
    return OutputFormat(name=value.strip().lower(), family=family, sample_rate=int(parts[1]))


def add_output_format(group: argparse._ActionsContainer, *, help_text: str) -> None:
    """``--output-format``: what ElevenLabs is asked to return, the same choice for speech and effects."""
    group.add_argument(
        "--output-format", type=output_format, default="mp3_44100_128", help=help_text
    )


def describe_error(response: httpx.Response) -> str:
    """The vendor's own words, from either error shape (or FastAPI's 422 list)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = detail.get("code") or detail.get("status") or detail.get("type")
        message = detail.get("message") or ""
        return f"{code}: {message}" if code else str(message)
    if isinstance(detail, list):
        problems = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                problems.append(
                    f"{where}: {item.get('msg', '')}" if where else str(item.get("msg"))
                )
        return "; ".join(problems) or "invalid request"
    if isinstance(detail, str):
        return detail
    return response.text.strip()[:300]


# How each container's bytes begin; headerless PCM, mu-law and A-law cannot be checked.
_MAGIC: dict[str, tuple[bytes, ...]] = {"mp3": (b"ID3",), "wav": (b"RIFF",), "opus": (b"OggS",)}


def looks_like(fmt: OutputFormat, data: bytes) -> bool:
    """Whether ``data`` starts like audio of ``fmt`` (an MP3 may open on a bare frame sync)."""
    magic = _MAGIC.get(fmt.family)
    if magic is None:
        return True
    if data.startswith(magic):
        return True
    return fmt.family == "mp3" and len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0


@dataclass(frozen=True)
class AudioReply:
    content: bytes
    request_id: str | None
    character_count: int | None


def post_audio(endpoint: str, *, fmt: OutputFormat, body: dict[str, Any], what: str) -> AudioReply:
    """POST ``body`` to ``endpoint`` and return the audio, retrying 429/5xx/timeouts."""
    key = _common.require_env("ELEVENLABS_API_KEY", PROVIDER)
    url = _common.base_url("ELEVENLABS_BASE_URL", DEFAULT_BASE_URL) + endpoint
    headers = {"xi-api-key": key, "accept": "audio/*, application/json"}

    with _common.http_client() as client:

        def call() -> httpx.Response:
            response = client.post(
                url, params={"output_format": fmt.name}, json=body, headers=headers
            )
            _common.check_response(response, what=what, describe=describe_error)
            if not response.content:
                raise _common.HTTPFailure(f"{what}: the answer held no audio", None)
            if not looks_like(fmt, response.content):
                # a proxy or CDN page served with 200: worth another request, like a 502
                raise _common.HTTPFailure(  # "network error": the worker may try again later
                    f"{what}: network error: the answer is not {fmt.family} audio "
                    f"({response.headers.get('content-type', 'no content type')})",
                    None,
                )
            return response

        response: httpx.Response = _common.with_retries(call, what=what)

    count = response.headers.get("x-character-count")
    return AudioReply(
        content=response.content,
        request_id=response.headers.get("request-id") or response.headers.get("history-item-id"),
        character_count=int(count) if count and count.isdigit() else None,
    )


def save_audio(
    reply: AudioReply, fmt: OutputFormat, output: Path, *, what: str
) -> _common.MediaInfo:
    """Write the returned audio to ``output``, converting when the extension asks for another format."""
    with _audio.staged(output) as final:
        if fmt.native_suffix == output.suffix.lower():
            final.write_bytes(reply.content)
        else:
            with _audio.scratch(fmt.native_suffix or ".raw", output.parent) as raw:
                raw.write_bytes(reply.content)
                _audio.encode(
                    fmt.ffmpeg_input(raw), final, what=f"converting {fmt.name} to {output.suffix}"
                )
        return _audio.verify_audio(final, what)


def deliver(
    reply: AudioReply, args: argparse.Namespace, *, what: str, cost_usd: float, **extra: Any
) -> None:
    """Save the reply to ``--output`` and print the result line (``--model-id``, the request id).

    Both scripts name these options alike, so the one namespace carries them; the request id lets
    a person find the generation at ElevenLabs.
    """
    info = save_audio(reply, args.output_format, args.output, what=what)
    _audio.emit_audio(
        args.output,
        info,
        provider="elevenlabs",
        model=args.model_id,
        cost_usd=cost_usd,
        remote_ids={"request_id": reply.request_id} if reply.request_id else {},
        **extra,
    )
