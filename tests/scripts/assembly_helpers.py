"""Media makers and meters for the assemble_video.py tests: real FFmpeg, real files, PyAV."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import numpy as np

# Tests encode with the fastest preset; the fixture clips use the same one so that a clip in
# "delivery format" really has the stream header the script's encoder writes.
TEST_PRESET = "ultrafast"
ENV = {"ASSEMBLY_X264_PRESET": TEST_PRESET}
DELIVERY = [
    "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-r", "30",
    "-video_track_timescale", "15360", "-preset", TEST_PRESET, "-crf", "20",
]  # fmt: skip


def ffmpeg(*args: str) -> str:
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


def make_clip(path: Path, seconds: float, size: str = "640x360", source: str = "testsrc2") -> Path:
    sep = ":" if "=" in source else "="
    ffmpeg("-f", "lavfi", "-i", f"{source}{sep}s={size}:r=30:d={seconds}", *DELIVERY, str(path))
    return path


def make_voice(path: Path, seconds: float, freq: int = 220) -> Path:
    """A voice-like mono track (tone with syllable-rate tremolo), at 22.05 kHz like espeak."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}:sample_rate=22050",
        "-af", "volume=0.5,tremolo=f=4:d=0.8", "-ac", "1", str(path),
    )  # fmt: skip
    return path


def make_noise(path: Path, seconds: float) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:a=0.3:r=48000", "-ac", "2", str(path)
    )
    return path


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Facts:
    width: int
    height: int
    fps: float
    frames: int
    video_s: float
    audio_s: float | None
    vcodec: str
    acodec: str | None
    sample_rate: int | None
    channels: int | None


def facts(path: Path) -> Facts:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        frames = v.frames or sum(1 for p in c.demux(v) if p.size)
        fps = float(v.average_rate)
        audio_s = float(a.duration * a.time_base) if a is not None and a.duration else None
        return Facts(
            width=v.codec_context.width,
            height=v.codec_context.height,
            fps=fps,
            frames=frames,
            video_s=frames / fps,
            audio_s=audio_s,
            vcodec=v.codec_context.name,
            acodec=a.codec_context.name if a is not None else None,
            sample_rate=a.codec_context.sample_rate if a is not None else None,
            channels=a.codec_context.channels if a is not None else None,
        )


def loudness(path: Path) -> float:
    """Integrated loudness (LUFS) by FFmpeg's EBU R128 meter."""
    stderr = ffmpeg(
        "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"
    )
    match = re.search(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS", stderr)
    assert match, stderr[-1000:]
    return float(match.group(1))


def frames_rgb(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Decode the given frame numbers (presentation order) as RGB arrays."""
    wanted, got = set(indices), {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                got[i] = frame.to_ndarray(format="rgb24").astype(np.int16)
            if len(got) == len(wanted):
                break
    assert set(got) == wanted, f"frames {sorted(wanted - set(got))} not in {path.name}"
    return got


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]
