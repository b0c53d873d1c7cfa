"""Audio output handling shared by the narration and sound-effect scripts.

Both scripts accept any of a few common audio extensions for ``--output`` and must leave either a
complete, decodable file or nothing: every result is written next to the target under a temporary
name, checked with a probe, then renamed into place.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common

# Encoder arguments per output extension (all present in the imageio-ffmpeg build).
CODEC_ARGS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    ".m4a": ["-c:a", "aac", "-b:a", "192k"],
    ".aac": ["-c:a", "aac", "-b:a", "192k"],
    ".flac": ["-c:a", "flac"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "6"],
    ".opus": ["-c:a", "libopus", "-b:a", "128k"],
}


def output_audio(value: str) -> Path:
    """argparse type: an output path whose extension we know how to encode."""
    path = Path(value)
    if path.suffix.lower() not in CODEC_ARGS:
        known = ", ".join(sorted(CODEC_ARGS))
        raise argparse.ArgumentTypeError(f"output must end in one of {known}, got {value!r}")
    return path


def spoken_text(value: str) -> str:
    """argparse type: text that has something to say (whitespace alone is a usage error)."""
    text = " ".join(value.split())
    if not text:
        raise argparse.ArgumentTypeError("text is empty")
    return text


def audio_parser(
    description: str, *, text_help: str, offline: str, more: tuple[str, ...] = ()
) -> argparse.ArgumentParser:
    """The options both audio scripts open with: the text, the file, ElevenLabs or the offline one
    (``more``: further providers the script offers)."""
    p = _common.parser(description)
    p.add_argument("--text", required=True, type=spoken_text, help=text_help)
    p.add_argument("--output", required=True, type=output_audio, help="audio file to write")
    p.add_argument("--provider", choices=["elevenlabs", offline, *more], default="elevenlabs")
    return p


@contextlib.contextmanager
def staged(output: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``output`` (same extension); rename it into place on success."""
    _common.ensure_output_dir(output)
    fd, name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=output.suffix, dir=output.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp's 0600 would hide the file from other service users
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch(suffix: str, directory: Path) -> Iterator[Path]:
    """A temporary file for an intermediate (e.g. the vendor's raw bytes), always removed."""
    fd, name = tempfile.mkstemp(prefix=".scratch.", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def encode(
    input_args: list[str],
    output: Path,
    *,
    what: str,
    filters: str | None = None,
    extra: list[str] | None = None,
) -> None:
    """Encode whatever ``input_args`` open into ``output``, picking the codec from its extension."""
    args = [*input_args, "-vn"]
    if filters:
        args += ["-af", filters]
    args += [*CODEC_ARGS[output.suffix.lower()], *(extra or []), str(output)]
    _common.run_ffmpeg(args, what=what)


def verify_audio(path: Path, what: str) -> _common.MediaInfo:
    """Probe ``path`` and decode its first audio frame, so a truncated or mislabelled file fails here."""
    import av

    info = _common.probe(path)
    if not info.has_audio or info.duration <= 0:
        raise _common.ScriptError(f"{what} has no playable audio: {path.name}")
    try:
        with av.open(str(path)) as container:
            next(container.decode(audio=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise _common.ScriptError(f"{what} cannot be decoded: {path.name}: {exc}") from None
    return info


def emit_audio(
    output: Path,
    info: _common.MediaInfo,
    *,
    provider: str,
    model: str | None,
    cost_usd: float = 0.0,
    **extra: Any,
) -> None:
    """The result line of both audio scripts, whichever provider spoke: the file and its length."""
    _common.emit_result(
        outputs={"audio": str(output)},
        provider=provider,
        model=model,
        duration=info.duration,
        cost_usd=cost_usd,
        **extra,
    )
