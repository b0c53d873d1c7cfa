#!/usr/bin/env python3
"""Place a character over an environment at the channel's frame size.

The environment is cover-fitted (scaled to fill, cropped centrally, never letterboxed); the
character is trimmed to its visible pixels, scaled to a fraction of the frame height and placed.
A character without transparency (e.g. Gemini's figure on a plain backdrop) has its backdrop
keyed out first, estimated from the border colour, with a soft edge.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _args
import _common
import _images
from PIL import Image

NAMED_POSITIONS = ("center", "left", "right")
# Share of the frame height left below a character's feet for the named positions.
FOOT_MARGIN = 0.04


scale_value = _args.number_in(
    0.05,
    2.0,
    not_number="not a number: {value!r}",
    out_of_range="scale must be between 0.05 and 2, got {value!r}",
)


def position_value(value: str) -> str | tuple[int, int]:
    """argparse type: a named position or ``x,y`` (the character's top-left corner in pixels)."""
    if value.lower() in NAMED_POSITIONS:
        return value.lower()
    try:
        x, y = (int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"position must be center, left, right or x,y pixels, got {value!r}"
        ) from None
    return x, y


def build_parser() -> argparse.ArgumentParser:
    p = _common.parser(__doc__.splitlines()[0] if __doc__ else "Composite a character.")
    p.add_argument(
        "--character",
        required=True,
        type=Path,
        help="character PNG (transparent or plain backdrop)",
    )
    p.add_argument("--environment", required=True, type=Path, help="background image")
    _images.add_frame_options(p)
    p.add_argument(
        "--scale",
        type=scale_value,
        default=0.6,
        help="character height as a share of the frame height (default 0.6)",
    )
    p.add_argument(
        "--position",
        type=position_value,
        default="center",
        help="center, left, right (standing near the bottom edge) or x,y pixels of the top-left corner",
    )
    p.add_argument("--provider", choices=("pillow",), default="pillow")
    return p


def place(
    frame: tuple[int, int], figure: tuple[int, int], position: str | tuple[int, int]
) -> tuple[int, int]:
    if isinstance(position, tuple):
        return position
    w, h = frame
    fw, fh = figure
    centre_x = {"center": 0.5, "left": 0.25, "right": 0.75}[position] * w
    margin = round(h * FOOT_MARGIN)
    y = h - fh - margin if fh + margin <= h else (h - fh) // 2
    return round(centre_x - fw / 2), y


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    width, height = args.size
    environment = _images.load_image(args.environment, "environment image")
    character = _images.load_image(args.character, "character image")

    keyed = not _images.has_real_alpha(character)
    figure = _images.key_background(character) if keyed else character.convert("RGBA")
    try:
        figure = _images.trim_transparent(figure)
    except _common.ScriptError:
        raise _common.ScriptError(
            f"character image has no visible pixels: {args.character}"
        ) from None

    target_h = args.scale * height
    factor = min(target_h / figure.height, 0.95 * width / figure.width)
    new_size = (max(1, round(figure.width * factor)), max(1, round(figure.height * factor)))
    figure = figure.resize(new_size, Image.Resampling.LANCZOS)

    frame = _images.cover_fit(_images.flatten(environment), (width, height))
    x, y = place((width, height), figure.size, args.position)
    frame.paste(figure, (x, y), figure)
    _images.publish_frame(
        frame,
        args.output,
        keyed=keyed,
        character_box=[x, y, x + figure.width, y + figure.height],
    )


if __name__ == "__main__":
    _common.run_main(main)
