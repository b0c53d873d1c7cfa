"""Shared plumbing for the CLI scripts: result line, errors, FFmpeg, probing, HTTP with retries.

The scripts are a boundary (no database, nothing from ``app``), so what they share lives here and
nowhere else. Every script ends with ``emit_result`` on success or ``fail`` on error; argparse
exits with 2 on bad usage by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# The delivery format every clip and segment is encoded in, so assembly can stream-copy.
DELIVERY_FPS = 30
DELIVERY_PIX_FMT = "yuv420p"
DELIVERY_VCODEC_ARGS = [
    "-c:v",
    "libx264",
    "-profile:v",
    "high",
    "-pix_fmt",
    DELIVERY_PIX_FMT,
    "-r",
    str(DELIVERY_FPS),
    "-video_track_timescale",
    "15360",
]
DELIVERY_AUDIO_RATE = 48000
DELIVERY_ACODEC_ARGS = ["-c:a", "aac", "-b:a", "192k", "-ar", str(DELIVERY_AUDIO_RATE), "-ac", "2"]
SIZES = {"16:9": (1920, 1080), "9:16": (1080, 1920)}

HTTP_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=10.0)
RETRY_ATTEMPTS = 3


class ScriptError(Exception):
    """A failure to report as one ``❌`` line on stderr with exit code 1."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print the one-line error and exit; newlines are folded so the line stays one line."""
    one_line = " ".join(str(message).split())
    print(f"❌ {one_line}", file=sys.stderr, flush=True)
    sys.exit(code)


def emit(obj: dict[str, Any]) -> None:
    """Print an intermediate JSON line (e.g. a remote id) that a supervisor may read before the end."""
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def emit_result(
    *,
    outputs: dict[str, str],
    provider: str,
    model: str | None = None,
    duration: float | None = None,
    cost_usd: float = 0.0,
    remote_ids: dict[str, str] | None = None,
    **extra: Any,
) -> None:
    """Print the final JSON result line (the last stdout line) the orchestrator parses."""
    result: dict[str, Any] = {
        "ok": True,
        "outputs": outputs,
        "provider": provider,
        "model": model,
        "duration": round(duration, 3) if duration is not None else None,
        "cost_usd": round(cost_usd, 6),
        "remote_ids": remote_ids or {},
    }
    result.update(extra)
    emit(result)


def run_main(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a script's main, turning ScriptError and unexpected errors into the ``❌`` line."""
    try:
        main(argv)
    except ScriptError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")
    except SystemExit:
        raise
    except Exception as exc:  # the contract: one line, exit 1, never a traceback dump
        fail(f"unexpected {type(exc).__name__}: {exc}")
    sys.exit(EXIT_OK)


# Options whose value is free text from a plan or a person. Such text may start with "-"
# ("-Hello", "--- silence ---"), which argparse would read as an option and refuse with a usage
# error; the value after one of these options is always taken as its value.
FREE_TEXT_OPTIONS = frozenset(
    {"--text", "--prompt", "--negative-prompt", "--query", "--instructions"}
)


class _ScriptParser(argparse.ArgumentParser):
    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        argv = list(sys.argv[1:] if args is None else args)
        joined: list[str] = []
        i = 0
        while i < len(argv):
            if argv[i] in FREE_TEXT_OPTIONS and i + 1 < len(argv):
                joined.append(f"{argv[i]}={argv[i + 1]}")
                i += 2
            else:
                joined.append(argv[i])
                i += 1
        return super().parse_known_args(joined, namespace)


def parser(description: str) -> argparse.ArgumentParser:
    return _ScriptParser(description=description)


def require_env(name: str, provider: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ScriptError(
            f"{name} is not set: the {provider} provider needs it (or pick an offline provider)"
        )
    return value


def base_url(name: str, default: str) -> str:
    return os.environ.get(name, default).rstrip("/")


def parse_size(value: str) -> tuple[int, int]:
    """argparse type for ``WIDTHxHEIGHT``."""
    try:
        w, h = (int(p) for p in value.lower().split("x", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, got {value!r}") from None
    if not (16 <= w <= 7680 and 16 <= h <= 7680):
        raise argparse.ArgumentTypeError(f"size out of range: {value!r}")
    return w, h


def ensure_output_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)


def require_input(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ScriptError(f"{what} not found: {path}")
    if path.stat().st_size == 0:
        raise ScriptError(f"{what} is empty: {path}")
    return path


# ---------------------------------------------------------------- FFmpeg and probing


def ffmpeg_exe() -> str:
    """FFMPEG_BINARY, then PATH, then the imageio-ffmpeg wheel's binary."""
    env = os.environ.get("FFMPEG_BINARY")
    if env:
        return env
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: Sequence[str], *, what: str, timeout: float = 1800) -> str:
    """Run FFmpeg (no shell); return stderr; raise ScriptError with FFmpeg's last words on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ScriptError(f"FFmpeg timed out after {timeout:.0f}s while {what}") from None
    if proc.returncode != 0:
        tail = " | ".join(line for line in proc.stderr.strip().splitlines()[-3:])
        raise ScriptError(f"FFmpeg failed while {what}: {tail}")
    return proc.stderr


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    vcodec: str | None = None
    pix_fmt: str | None = None
    acodec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def has_video(self) -> bool:
        return self.vcodec is not None

    @property
    def has_audio(self) -> bool:
        return self.acodec is not None


def probe(path: Path) -> MediaInfo:
    """Probe a media file with PyAV; raise ScriptError if it is not readable media."""
    import av

    try:
        with av.open(str(path)) as container:
            v = next(iter(container.streams.video), None)
            a = next(iter(container.streams.audio), None)
            duration = 0.0
            if container.duration is not None:
                duration = container.duration / 1_000_000
            elif v is not None and v.duration is not None and v.time_base is not None:
                duration = float(v.duration * v.time_base)
            fps = float(v.average_rate) if v is not None and v.average_rate else None
            return MediaInfo(
                duration=duration,
                width=v.codec_context.width if v is not None else None,
                height=v.codec_context.height if v is not None else None,
                fps=fps,
                vcodec=v.codec_context.name if v is not None else None,
                pix_fmt=v.codec_context.pix_fmt if v is not None else None,
                acodec=a.codec_context.name if a is not None else None,
                sample_rate=a.codec_context.sample_rate if a is not None else None,
                channels=a.codec_context.channels if a is not None else None,
            )
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as exc:
        raise ScriptError(f"{path.name} is not readable media: {exc}") from None


def verify_video(path: Path, what: str) -> MediaInfo:
    """Decode the first frame so a truncated or fake MP4 is caught, not just its header."""
    import av

    info = probe(path)
    if not info.has_video or info.duration <= 0:
        raise ScriptError(f"{what} has no playable video stream: {path.name}")
    try:
        with av.open(str(path)) as container:
            next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise ScriptError(f"{what} cannot be decoded: {path.name}: {exc}") from None
    return info


# ---------------------------------------------------------------- HTTP with retries


class HTTPFailure(ScriptError):  # noqa: N818 - scripts catch it by this name
    """A vendor answered with an error; carries the status so callers and retries can decide."""

    def __init__(
        self,
        message: str,
        status: int | None,
        retry_after: float | None = None,
        *,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        # A vendor with its own transient codes (KIE's 455 maintenance) decides here; None = by status.
        self.retryable = retryable


RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, HTTPFailure):
        if exc.retryable is not None:
            return exc.retryable
        return exc.status is None or exc.status in RETRYABLE_STATUS
    return isinstance(exc, httpx.TimeoutException | httpx.TransportError)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, HTTPFailure) and exc.retry_after is not None:
        return min(exc.retry_after, 120.0)
    base = float(os.environ.get("SCRIPT_RETRY_BASE_SECONDS", "1"))
    return float(wait_exponential(multiplier=base, min=base, max=30 * base)(state))


def parse_retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def with_retries(fn: Callable[[], Any], *, what: str) -> Any:
    """Call ``fn`` with 3 attempts on 429/5xx/timeouts (honouring Retry-After), fail fast otherwise."""
    retrying = Retrying(
        stop=stop_after_attempt(int(os.environ.get("SCRIPT_RETRY_ATTEMPTS", RETRY_ATTEMPTS))),
        wait=_wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    try:
        return retrying(fn)
    except httpx.TimeoutException:
        raise ScriptError(f"{what}: timed out after {RETRY_ATTEMPTS} attempts") from None
    except httpx.TransportError as exc:
        raise ScriptError(f"{what}: network error after {RETRY_ATTEMPTS} attempts: {exc}") from None


def http_timeout() -> httpx.Timeout:
    """HTTP_TIMEOUT, or one limit for every phase from SCRIPT_HTTP_TIMEOUT_SECONDS (tests, slow links)."""
    raw = os.environ.get("SCRIPT_HTTP_TIMEOUT_SECONDS", "").strip()
    if raw:
        try:
            return httpx.Timeout(float(raw))
        except ValueError:
            raise ScriptError(
                f"SCRIPT_HTTP_TIMEOUT_SECONDS must be a number, got {raw!r}"
            ) from None
    return HTTP_TIMEOUT


def http_client(timeout: httpx.Timeout | None = None) -> httpx.Client:
    return httpx.Client(timeout=timeout or http_timeout(), follow_redirects=False)


def check_response(
    response: httpx.Response, *, what: str, describe: Callable[[httpx.Response], str]
) -> httpx.Response:
    """Raise HTTPFailure for a non-2xx answer, with the vendor's own message from ``describe``."""
    if response.is_success:
        return response
    detail = describe(response)
    hint = {
        401: " (check the API key)",
        402: " (the account is out of credits)",
        403: " (the key is not allowed to do this)",
    }.get(response.status_code, "")
    raise HTTPFailure(
        f"{what}: HTTP {response.status_code}: {detail}{hint}",
        response.status_code,
        parse_retry_after(response),
    )


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
