"""A local stand-in for the ElevenLabs API (text to speech and sound effects).

It follows shared/reference/external-apis.md section 4: ``xi-api-key`` auth, ``output_format`` in
the query string, real audio bytes in the asked format (made with FFmpeg), the ``{"detail": {...}}``
error shapes (current and legacy), FastAPI's 422 list for invalid bodies, 429 for rate and
concurrency limits. Tests script failures and slowness, and read back every request it saw.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import imageio_ffmpeg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from tests.fakes.server import serve

DEFAULT_KEY = "test-elevenlabs-key"
DEFAULT_VOICES = ("21m00Tcm4TlvDq8ikWAM", "voice-narrator")
MAX_CHARACTERS = 10_000

# output_format family -> (FFmpeg muxer and codec arguments, response media type)
_FORMATS: dict[str, tuple[list[str], str]] = {
    "mp3": (["-f", "mp3", "-c:a", "libmp3lame"], "audio/mpeg"),
    "pcm": (["-f", "s16le", "-c:a", "pcm_s16le", "-ac", "1"], "audio/pcm"),
    "ulaw": (["-f", "mulaw", "-c:a", "pcm_mulaw", "-ac", "1"], "audio/basic"),
    "alaw": (["-f", "alaw", "-c:a", "pcm_alaw", "-ac", "1"], "audio/alaw"),
    "opus": (["-f", "ogg", "-c:a", "libopus"], "audio/ogg"),
    "wav": (["-f", "wav", "-c:a", "pcm_s16le"], "audio/wav"),
}


@cache
def render_audio(output_format: str, seconds: float) -> bytes:
    """A real encoded clip: a tremolo tone of ``seconds`` (cached: tests ask for few shapes)."""
    family, rate, *rest = output_format.split("_")
    args, _ = _FORMATS[family]
    if family == "mp3" and rest:
        args = [*args, "-b:a", f"{rest[0]}k"]
    if family == "opus" and rest:
        args = [*args, "-b:a", f"{rest[0]}k"]
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", f"sine=f=220:d={seconds:.3f}:sample_rate={rate}",
        "-af", "tremolo=f=4:d=0.7,volume=-6dB", "-ar", rate, *args, "pipe:1",
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, check=True).stdout


# The formats the API offers, as the official SDK (2.x) lists them; anything else is a 422.
KNOWN_FORMATS = frozenset(
    ["mp3_22050_32", "mp3_24000_48", *(f"mp3_44100_{b}" for b in (32, 64, 96, 128, 192))]
    + [f"opus_48000_{b}" for b in (32, 64, 96, 128, 192)]
    + [
        f"{kind}_{r}"
        for kind in ("pcm", "wav")
        for r in (8000, 16000, 22050, 24000, 32000, 44100, 48000)
    ]
    + ["ulaw_8000", "alaw_8000"]
)


def valid_format(output_format: str) -> bool:
    return output_format in KNOWN_FORMATS


def speech_seconds(text: str) -> float:
    """About 2.6 words a second, like a calm narrator."""
    return max(0.5, round(len(text.split()) / 2.6, 2))


class VoiceSettings(BaseModel):
    stability: float | None = Field(default=None, ge=0, le=1)
    similarity_boost: float | None = Field(default=None, ge=0, le=1)
    style: float | None = Field(default=None, ge=0, le=1)
    use_speaker_boost: bool | None = None
    speed: float | None = Field(default=None, ge=0.7, le=1.2)


class SpeechBody(BaseModel):
    text: str
    model_id: str = "eleven_multilingual_v2"
    voice_settings: VoiceSettings | None = None


class SoundBody(BaseModel):
    text: str
    duration_seconds: float | None = Field(default=None, ge=0.5, le=30)
    prompt_influence: float | None = Field(default=0.3, ge=0, le=1)
    loop: bool = False
    model_id: str | None = None


@dataclass
class Planned:
    """A scripted answer for the next matching request instead of audio."""

    status: int
    code: str
    message: str
    retry_after: float | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class ElevenLabsFake:
    api_key: str = DEFAULT_KEY
    voices: tuple[str, ...] = DEFAULT_VOICES
    concurrency_limit: int = 2
    legacy_errors: bool = False  # answer with the older {"detail": {"status", "message"}} shape
    requests: list[Recorded] = field(default_factory=list)
    _planned: deque[Planned] = field(default_factory=deque)
    _delays: deque[float] = field(default_factory=deque)
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        status: int,
        code: str,
        message: str | None = None,
        *,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        for _ in range(times):
            self._planned.append(
                Planned(status, code, message or code.replace("_", " "), retry_after)
            )

    def slow_next(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` answers for ``seconds`` (ends early if the client hangs up)."""
        self._delays.extend([seconds] * times)

    def calls(self, path_prefix: str = "/v1/") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        if self.legacy_errors:
            detail: dict[str, Any] = {"status": code, "message": message}
        else:
            detail = {
                "type": "authentication_error" if status == 401 else "invalid_request",
                "code": code,
                "message": message,
                "status": code,
                "request_id": uuid.uuid4().hex,
            }
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(fake: ElevenLabsFake | None = None) -> tuple[FastAPI, ElevenLabsFake]:
    """Build the ASGI app around ``fake`` (its state is what tests script and inspect)."""
    state = fake or ElevenLabsFake()
    app = FastAPI()

    async def gate(request: Request, body: BaseModel) -> Response | None:
        """Record, authenticate, enforce the concurrency limit, then scripted failures and delays."""
        state.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                body.model_dump(exclude_unset=True),
            )
        )
        if request.headers.get("xi-api-key") != state.api_key:
            return state.error(401, "invalid_api_key", "Invalid API key")
        if state._in_flight > state.concurrency_limit:
            return state.error(
                429,
                "concurrent_limit_exceeded",
                "Too many concurrent requests; wait for in-flight requests to finish.",
            )
        if state._planned:
            plan = state._planned.popleft()
            headers = (
                {"retry-after": f"{plan.retry_after:g}"} if plan.retry_after is not None else None
            )
            return state.error(plan.status, plan.code, plan.message, headers)
        output_format = request.query_params.get("output_format", "mp3_44100_128")
        if not valid_format(output_format):
            return JSONResponse(
                {"detail": [{"type": "enum", "loc": ["query", "output_format"], "msg": "Input should be a supported output format", "input": output_format}]},
                status_code=422,
            )  # fmt: skip
        if state._delays:  # a slow generation: the client may give up first
            deadline = time.monotonic() + state._delays.popleft()
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.05)
        return None

    async def audio(request: Request, seconds: float, characters: int | None) -> Response:
        output_format = request.query_params.get("output_format", "mp3_44100_128")
        data = await asyncio.to_thread(render_audio, output_format, seconds)
        headers = {"request-id": uuid.uuid4().hex}
        if characters is not None:
            headers["x-character-count"] = str(characters)
            headers["history-item-id"] = uuid.uuid4().hex[:20]
        media_type = _FORMATS[output_format.split("_")[0]][1]
        return Response(content=data, media_type=media_type, headers=headers)

    @app.post("/v1/text-to-speech/{voice_id}")
    async def text_to_speech(voice_id: str, body: SpeechBody, request: Request) -> Response:
        with state._lock:
            state._in_flight += 1
        try:
            if (refusal := await gate(request, body)) is not None:
                return refusal
            if voice_id not in state.voices:
                return state.error(
                    400, "voice_not_found", f"A voice with voice_id {voice_id} does not exist."
                )
            if len(body.text) > MAX_CHARACTERS:
                return state.error(
                    400,
                    "max_character_limit_exceeded",
                    f"Text is {len(body.text)} characters; the limit is {MAX_CHARACTERS}.",
                )
            return await audio(request, speech_seconds(body.text), len(body.text))
        finally:
            with state._lock:
                state._in_flight -= 1

    @app.post("/v1/sound-generation")
    async def sound_generation(body: SoundBody, request: Request) -> Response:
        with state._lock:
            state._in_flight += 1
        try:
            if (refusal := await gate(request, body)) is not None:
                return refusal
            seconds = body.duration_seconds if body.duration_seconds is not None else 4.0
            return await audio(request, seconds, None)
        finally:
            with state._lock:
                state._in_flight -= 1

    return app, state


@contextmanager
def running(fake: ElevenLabsFake | None = None) -> Iterator[tuple[str, ElevenLabsFake]]:
    """Serve a fake on loopback; yield its base URL (for ELEVENLABS_BASE_URL) and its state."""
    app, state = create_app(fake)
    with serve(app) as url:
        yield url, state
