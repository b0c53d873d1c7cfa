"""Probing finished media from the app side (the scripts have their own probe in scripts/)."""

from __future__ import annotations

from pathlib import Path

import av


def media_duration(path: Path) -> float:
    """Container duration in seconds (0.0 when unknown)."""
    with av.open(str(path)) as container:
        if container.duration is None:
            return 0.0
        return float(container.duration) / 1_000_000


class MediaUnreadableError(ValueError):
    """The file is not the kind of media it was sent as; the message says what was found."""


def check_media(path: Path, kind: str) -> float:
    """Decode the file's first frame or packet as ``kind`` (image, clip, narration) and return its
    duration, so a wrong or broken file is refused at upload, not when a step runs hours later."""
    wanted = {"image": "video", "clip": "video", "narration": "audio"}[kind]
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type == wanted]
            if not streams:
                found = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
                raise MediaUnreadableError(f"it has no {wanted} stream (found: {found})")
            next(container.decode(streams[0]))
            duration = 0.0 if container.duration is None else container.duration / 1_000_000
    except MediaUnreadableError:
        raise
    except (av.error.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise MediaUnreadableError(f"it cannot be decoded ({type(exc).__name__})") from None
    if kind != "image" and duration <= 0:
        raise MediaUnreadableError("its duration is zero or unknown")
    return duration
