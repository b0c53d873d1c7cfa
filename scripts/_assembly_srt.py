"""The whole video's captions as SRT, for a caption track next to (or instead of) burned-in ones.

Each finished segment may carry its narration text (and the narration file, whose length the
segment's burned-in captions were timed over); its cues are the same chunks as the burned-in
ones, shifted by the segment's start on the final timeline (the intro's length counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _assembly_captions import Cue, chunk_words, default_words_per_chunk, time_cues
from _assembly_media import audio_duration


@dataclass(frozen=True)
class SegmentText:
    text: str
    narration: Path | None = None


def srt_time(seconds: float) -> str:
    ms = round(max(0.0, seconds) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def timeline_cues(
    pieces: list[dict[str, Any]],
    texts: list[SegmentText | None],
    size: tuple[int, int],
    words_per_chunk: int | None = None,
) -> list[Cue]:
    """Cues over the final timeline; ``pieces`` as ``assemble`` reports them, in order."""
    words = words_per_chunk or default_words_per_chunk(size)
    cues: list[Cue] = []
    start, index = 0.0, 0
    for piece in pieces:
        duration = float(piece["duration"])
        if str(piece["label"]).startswith("segment"):
            seg = texts[index] if index < len(texts) else None
            index += 1
            if seg is not None and seg.text.strip():
                speech = (
                    audio_duration(seg.narration, f"segment {index} narration")
                    if seg.narration is not None
                    else duration
                )
                for cue in time_cues(chunk_words(seg.text, words), speech, duration):
                    cues.append(Cue(start + cue.start, start + cue.end, cue.text))
        start += duration
    return cues


def build_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{n}\n{srt_time(c.start)} --> {srt_time(c.end)}\n{' '.join(c.text.split())}\n"
        for n, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)
