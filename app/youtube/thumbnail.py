"""A JPEG thumbnail under YouTube's 2 MB limit, from a frame of the video or from an image."""

from __future__ import annotations

import io
from pathlib import Path

import av
from PIL import Image

THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAIL_SIZE = (1280, 720)  # YouTube's recommended size; larger adds bytes, not quality


def encode_jpeg(image: Image.Image, *, max_bytes: int = THUMBNAIL_MAX_BYTES) -> bytes:
    """Fit within 1280x720 and ``max_bytes``, lowering quality, then size, until it fits."""
    picture = image.convert("RGB")
    picture.thumbnail(THUMBNAIL_SIZE)
    quality = 90
    while True:
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality, optimize=True)
        data = buffer.getvalue()
        if len(data) <= max_bytes:
            return data
        if quality > 40:
            quality -= 15
        else:
            picture = picture.resize((max(picture.width // 2, 1), max(picture.height // 2, 1)))


def frame_at(video: Path, seconds: float | None) -> Image.Image:
    """The first frame at or after ``seconds`` (default: a third of the way in)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / 1_000_000
        target = duration / 3 if seconds is None else seconds
        target = max(0.0, min(target, max(duration - 0.05, 0.0)))
        container.seek(int(target * 1_000_000), any_frame=False)
        last: Image.Image | None = None
        for frame in container.decode(stream):
            last = Image.fromarray(frame.to_ndarray(format="rgb24"))
            if frame.time is None or frame.time >= target - 1e-3:
                return last
        if last is None:
            raise ValueError(f"{video.name} has no video frames")
        return last


def make_thumbnail(*, video: Path, frame_at_s: float | None, image: Path | None) -> bytes:
    """JPEG bytes from ``image`` when given, else from a frame of ``video``."""
    if image is not None:
        with Image.open(image) as source:
            return encode_jpeg(source)
    return encode_jpeg(frame_at(video, frame_at_s))
