#!/usr/bin/env python3
"""Put two images side by side (or stacked) in one frame, split by a thin divider line.

``--orientation vertical`` (default) means a vertical divider: first image left, second right.
``--orientation horizontal`` means a horizontal divider: first image on top, second below.
Each image is cover-fitted into its half (scaled to fill, cropped centrally, never letterboxed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _args
import _common
import _images
from PIL import Image

DIVIDER_COLOUR = (245, 245, 245)


divider_value = _args.number_in(
    0,
    200,
    kind=int,
    not_number="divider must be whole pixels, got {value!r}",
    out_of_range="divider must be 0..200 pixels, got {value!r}",
)


def build_parser() -> argparse.ArgumentParser:
    p = _common.parser(__doc__.splitlines()[0] if __doc__ else "Make a split screen.")
    p.add_argument(
        "--first", required=True, type=Path, help="left (vertical) or top (horizontal) image"
    )
    p.add_argument(
        "--second", required=True, type=Path, help="right (vertical) or bottom (horizontal) image"
    )
    _images.add_frame_options(p)
    p.add_argument(
        "--orientation",
        choices=("vertical", "horizontal"),
        default="vertical",
        help="vertical: side by side with a vertical divider (default); horizontal: stacked",
    )
    p.add_argument(
        "--divider",
        type=divider_value,
        default=6,
        metavar="PX",
        help="divider thickness in pixels (default 6, 0 for none)",
    )
    p.add_argument("--provider", choices=("pillow",), default="pillow")
    return p


def halves(
    size: tuple[int, int], orientation: str, divider: int
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The two boxes (left, top, right, bottom) either side of the divider."""
    w, h = size
    if orientation == "vertical":
        first = (w - divider) // 2
        return (0, 0, first, h), (first + divider, 0, w, h)
    first = (h - divider) // 2
    return (0, 0, w, first), (0, first + divider, w, h)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    width, height = args.size
    span = width if args.orientation == "vertical" else height
    if span - args.divider < 2 * 16:
        parser.error(f"--divider {args.divider} leaves no room in a {width}x{height} frame")
    first = _images.load_image(args.first, "first image")
    second = _images.load_image(args.second, "second image")

    frame = Image.new("RGB", (width, height), DIVIDER_COLOUR)
    for img, box in zip(
        (first, second), halves((width, height), args.orientation, args.divider), strict=True
    ):
        fitted = _images.cover_fit(_images.flatten(img), (box[2] - box[0], box[3] - box[1]))
        frame.paste(fitted, box[:2])
    _images.publish_frame(frame, args.output, orientation=args.orientation)


if __name__ == "__main__":
    _common.run_main(main)
