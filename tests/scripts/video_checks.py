"""What the video script tests measure and make: stream facts, decoded frames, sample clips and images.

Probing uses PyAV and making clips uses the imageio-ffmpeg binary, the same toolchain as the scripts,
so a clip that passes here is one the assembly step can read.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class VideoFacts:
    duration: float
    width: int
    height: int
    fps: float
    codec: str
    profile: str
    pix_fmt: str
    frames: int
    has_audio: bool


def facts(path: Path) -> VideoFacts:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return VideoFacts(
            duration=(container.duration or 0) / 1_000_000,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(video.average_rate or 0),
            codec=video.codec_context.name,
            profile=str(video.codec_context.profile),
            pix_fmt=video.codec_context.pix_fmt,
            frames=frames,
            has_audio=bool(container.streams.audio),
        )


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def best_shift(first: np.ndarray, last: np.ndarray, limit: int) -> int:
    """The horizontal shift (pixels) that best maps ``first`` onto ``last``: content moving right > 0."""
    width = first.shape[1]
    errors = {}
    for s in range(-limit, limit + 1):
        a = first[:, max(0, -s) : width - max(0, s)]
        b = last[:, max(0, s) : width - max(0, -s)]
        errors[s] = float(np.mean(np.abs(a - b)))
    return min(errors, key=errors.__getitem__)


def make_image(path: Path, size: tuple[int, int]) -> Path:
    """A detailed picture (gradient, shapes, stripes) so motion shows up in the pixels."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    rgb = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), (x + y) % 256], axis=-1)
    img = Image.fromarray(rgb.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for i in range(0, w, max(8, w // 12)):
        draw.rectangle([i, h // 3, i + max(3, w // 40), 2 * h // 3], fill=(255, 255, 255))
    draw.ellipse([w // 4, h // 5, w // 2, h // 2], fill=(220, 40, 40))
    img.save(path)
    return path


def make_clip(path: Path, *, seconds: float, size: str, fps: int, faststart: bool) -> Path:
    """A small H.264 clip like a vendor's (moov at the end unless ``faststart``)."""
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
        "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-preset", "veryfast",
    ]  # fmt: skip
    if faststart:
        cmd += ["-movflags", "+faststart"]
    proc = subprocess.run([*cmd, str(path)], capture_output=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]
    return path
