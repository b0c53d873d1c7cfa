"""Image helpers shared by the image scripts (asset, composite, split screen).

Kept apart from ``_common`` because only the Pillow-based scripts need them. Every loader turns a
missing or unreadable file into a ``ScriptError`` that names the file, so a bad input is exit 1
with a clear line instead of a Pillow traceback.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _common
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:  # numpy is imported where it is used: it costs half a second at startup
    import numpy as np

# Pixels closer than KEY_INNER (RGB distance) to the background colour become fully transparent,
# those farther than KEY_OUTER stay opaque; in between the alpha ramps, which gives a soft edge.
KEY_INNER = 28.0
KEY_OUTER = 70.0
# The background region is found on a reduced copy: flood-filling the full frame in numpy costs
# one pass per pixel of distance, which is too slow at 2K.
KEY_WORK_SIDE = 384


def load_image(path: Path, what: str) -> Image.Image:
    """Open and fully decode an image so truncated or fake files fail here, naming the file."""
    _common.require_input(path, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return ImageOps.exif_transpose(img) or img
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _common.ScriptError(f"{what} is not a readable image: {path}: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _common.ScriptError(f"{what} is too large to process: {path}") from None


def save_png(img: Image.Image, path: Path) -> None:
    """Write a PNG atomically, so a failed run never leaves a half-written output behind."""
    _common.ensure_output_dir(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            img.save(fh, format="PNG", optimize=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(data: bytes, path: Path) -> None:
    _common.ensure_output_dir(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cover_fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill ``size`` and crop the overflow centrally: no letterbox bars, no distortion."""
    return ImageOps.fit(img, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def has_real_alpha(img: Image.Image) -> bool:
    """True when the image carries transparency that is actually used (not an all-255 channel)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = img.convert("RGBA").getchannel("A")
        return alpha.histogram()[255] < alpha.width * alpha.height
    return False


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """Median colour of a thin frame around the image: what a plain backdrop most likely is."""
    import numpy as np

    h, w, _ = rgb.shape
    t = max(1, min(h, w) // 50)
    border = np.concatenate(
        [
            rgb[:t].reshape(-1, 3),
            rgb[-t:].reshape(-1, 3),
            rgb[:, :t].reshape(-1, 3),
            rgb[:, -t:].reshape(-1, 3),
        ]
    )
    median: np.ndarray = np.median(border, axis=0)
    return median


def _reachable_from_border(near: np.ndarray) -> np.ndarray:
    """Pixels of ``near`` connected to the image border (4-neighbour flood fill in numpy)."""
    import numpy as np

    reach = np.zeros_like(near)
    reach[0, :] = near[0, :]
    reach[-1, :] = near[-1, :]
    reach[:, 0] = near[:, 0]
    reach[:, -1] = near[:, -1]
    while True:
        grown = reach.copy()
        grown[1:, :] |= reach[:-1, :]
        grown[:-1, :] |= reach[1:, :]
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown &= near
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def key_background(img: Image.Image) -> Image.Image:
    """Make a plain backdrop transparent, keeping backdrop-coloured details inside the subject.

    The backdrop colour is the border's median. Only the near-backdrop region connected to the
    border is removed (white eyes on a white backdrop survive), with a soft alpha ramp at the edge.
    """
    import numpy as np

    rgb_img = img.convert("RGB")
    rgb = np.asarray(rgb_img, dtype=np.float32)
    bg = border_colour(rgb)
    dist = np.sqrt(((rgb - bg) ** 2).sum(axis=2))
    soft = np.clip((dist - KEY_INNER) / (KEY_OUTER - KEY_INNER), 0.0, 1.0)

    w, h = rgb_img.size
    factor = min(1.0, KEY_WORK_SIDE / max(w, h))
    small_size = (max(1, round(w * factor)), max(1, round(h * factor)))
    small_dist = np.asarray(
        Image.fromarray(dist.astype(np.float32)).resize(small_size, Image.Resampling.BOX)
    )
    region = _reachable_from_border(small_dist < KEY_OUTER)
    region_img = Image.fromarray((region * 255).astype(np.uint8))
    # Grow the region a little at full size so the soft ramp along the subject's edge applies.
    region_img = region_img.resize((w, h), Image.Resampling.BILINEAR).filter(
        ImageFilter.MaxFilter(5)
    )
    in_region = np.asarray(region_img) > 0

    alpha = np.where(in_region, soft, 1.0)
    out = rgb_img.convert("RGBA")
    out.putalpha(Image.fromarray((alpha * 255).round().astype(np.uint8)))
    return out


def trim_transparent(img: Image.Image) -> Image.Image:
    """Crop an RGBA image to its visible pixels, so scaling refers to the subject, not the margin."""
    bbox = img.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if bbox is None:
        raise _common.ScriptError("the image is fully transparent: nothing to place")
    return img.crop(bbox)


def flatten(img: Image.Image, background: tuple[int, int, int] = (16, 16, 20)) -> Image.Image:
    """An opaque RGB copy; transparent parts show ``background`` instead of undefined colour."""
    if not has_real_alpha(img):
        return img.convert("RGB")
    base = Image.new("RGB", img.size, background)
    rgba = img.convert("RGBA")
    base.paste(rgba, (0, 0), rgba)
    return base


# ---------------------------------------------------------------- the Pillow frame scripts


def add_frame_options(p: argparse.ArgumentParser) -> None:
    """``--output`` and ``--size``: the composite and split-screen scripts draw one frame alike."""
    p.add_argument("--output", required=True, type=Path, help="PNG file to write")
    p.add_argument(
        "--size",
        type=_common.parse_size,
        default=(1920, 1080),
        metavar="WxH",
        help="frame size (default 1920x1080)",
    )


def publish_frame(frame: Image.Image, output: Path, **extra: Any) -> None:
    """Save the frame and print the result line, so both frame scripts report the same fields."""
    save_png(frame, output)
    _common.emit_result(
        outputs={"image": str(output)},
        provider="pillow",
        width=frame.width,
        height=frame.height,
        **extra,
    )
