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
