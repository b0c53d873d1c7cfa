"""Offline characters and props for ``generate_asset.py --provider local``.

Figures are drawn on a transparent canvas so ``create_composite.py`` can place them over any
environment without keying. They are cartoon shapes with dark outlines, drawn at twice the size
and scaled down for smooth edges; the figure type (person, robot, animal; sword, book, potion,
chest, key, orb, gem; see ``_procedural_props``) and the main colour come from the prompt's words.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from PIL import Image, ImageDraw

Colour = tuple[int, int, int]

SUPERSAMPLE = 2
INK: Colour = (28, 28, 38)
COLOUR_WORDS: dict[str, Colour] = {
    "red": (200, 52, 52),
    "blue": (56, 100, 200),
    "green": (60, 150, 80),
    "yellow": (236, 196, 60),
    "purple": (128, 72, 176),
    "orange": (232, 128, 48),
    "pink": (232, 124, 170),
    "black": (44, 44, 52),
    "white": (236, 236, 240),
    "gold": (222, 176, 60),
    "golden": (222, 176, 60),
    "silver": (190, 196, 206),
    "brown": (130, 86, 52),
    "grey": (128, 130, 138),
    "gray": (128, 130, 138),
    "ruby": (200, 40, 70),
    "emerald": (40, 170, 100),
    "sapphire": (40, 80, 200),
    "amethyst": (150, 80, 200),
}
SKIN: list[Colour] = [
    (250, 214, 182),
    (232, 184, 146),
    (198, 144, 104),
    (150, 100, 68),
    (104, 70, 48),
]
HAIR: list[Colour] = [(40, 30, 24), (96, 60, 32), (196, 150, 80), (160, 60, 30), (60, 60, 64)]
ANIMALS: dict[str, tuple[str, Colour]] = {
    "cat": ("pointy", (150, 150, 156)),
    "kitten": ("pointy", (226, 150, 80)),
    "fox": ("pointy", (222, 112, 46)),
    "wolf": ("pointy", (120, 124, 134)),
    "dog": ("floppy", (196, 150, 96)),
    "puppy": ("floppy", (210, 170, 110)),
    "bear": ("round", (128, 84, 52)),
    "mouse": ("round", (160, 160, 168)),
    "rabbit": ("long", (236, 232, 228)),
    "bunny": ("long", (236, 232, 228)),
    "animal": ("round", (170, 130, 90)),
}


def has(words: set[str], *candidates: str) -> bool:
    return any(c in words for c in candidates)


def mix(a: Sequence[float], b: Sequence[float], t: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def jitter(rng: random.Random, c: Sequence[int], amount: int) -> Colour:
    r, g, b = (max(0, min(255, v + rng.randint(-amount, amount))) for v in c)
    return (r, g, b)


def main_colour(rng: random.Random, words: set[str], fallback: Colour) -> Colour:
    named = next((COLOUR_WORDS[w] for w in sorted(words) if w in COLOUR_WORDS), None)
    return jitter(rng, named or fallback, 10)


class Pen:
    """Draws in figure units (0..1000 tall, x centred on 0) with a dark cartoon outline."""

    def __init__(self, img: Image.Image, cx: float, top: float, height: float) -> None:
        self.draw = ImageDraw.Draw(img)
        self.cx, self.top, self.s = cx, top, height / 1000
        self.width = max(2, round(7 * self.s))

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + x * self.s, self.top + y * self.s)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        """Corners in either order (mirrored left/right parts pass them reversed)."""
        (ax, ay), (bx, by) = self.xy(x0, y0), self.xy(x1, y1)
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    def ellipse(
        self, x: float, y: float, rx: float, ry: float, fill: Colour | None, outline: bool = True
    ) -> None:
        self.draw.ellipse(
            self.box(x - rx, y - ry, x + rx, y + ry),
            fill=fill,
            outline=INK if outline else None,
            width=self.width,
        )

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, fill: Colour, radius: float = 0
    ) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1),
            radius=radius * self.s,
            fill=fill,
            outline=INK,
            width=self.width,
        )

    def poly(self, pts: Sequence[tuple[float, float]], fill: Colour) -> None:
        self.draw.polygon([self.xy(x, y) for x, y in pts], fill=fill, outline=INK, width=self.width)

    def line(
        self, pts: Sequence[tuple[float, float]], fill: Colour = INK, width: float = 7
    ) -> None:
        self.draw.line(
            [self.xy(x, y) for x, y in pts],
            fill=fill,
            width=max(1, round(width * self.s)),
            joint="curve",
        )


def canvas(size: tuple[int, int]) -> tuple[Image.Image, float, float, float]:
    """A double-size transparent canvas and where the figure goes (centre x, top, height)."""
    w, h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    height = min(h * 0.8 / 1.2, w * 1.2)  # units -200..1000: room for hats and ears above the head
    return Image.new("RGBA", (w, h), (0, 0, 0, 0)), w / 2, h * 0.03 + 0.2 * height, height


def finish(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img.resize(size, Image.Resampling.LANCZOS)


# ---------------------------------------------------------------- characters


def character(rng: random.Random, words: set[str], size: tuple[int, int]) -> Image.Image:
    img, cx, top, height = canvas(size)
    pen = Pen(img, cx, top, height)
    animal = next((w for w in sorted(words) if w in ANIMALS), None)
    if has(words, "robot", "android", "cyborg", "mech", "droid"):
        robot(pen, rng, words)
    elif animal:
        creature(pen, rng, words, *ANIMALS[animal])
    else:
        person(pen, rng, words)
    return finish(img, size)


def eyes(pen: Pen, rng: random.Random, y: float, spread: float, r: float) -> None:
    gaze = rng.uniform(-0.3, 0.3) * r
    for side in (-1, 1):
        pen.ellipse(side * spread, y, r, r * 1.15, (255, 255, 255))
        pen.ellipse(side * spread + gaze, y + r * 0.1, r * 0.5, r * 0.55, INK, outline=False)
        pen.ellipse(
            side * spread + gaze + r * 0.18,
            y - r * 0.1,
            r * 0.16,
            r * 0.16,
            (255, 255, 255),
            outline=False,
        )


def person(pen: Pen, rng: random.Random, words: set[str]) -> None:
    skin = rng.choice(SKIN)
    hair = (
        rng.choice(HAIR)
        if not has(words, "old", "elderly", "grandpa", "grandma")
        else (214, 214, 218)
    )
    shirt = main_colour(
        rng, words, rng.choice([(60, 110, 200), (200, 70, 70), (70, 150, 90), (150, 90, 180)])
    )
    if has(words, "scientist", "doctor", "chef"):
        shirt = (240, 242, 246)
    trousers = jitter(rng, rng.choice([(50, 60, 90), (70, 60, 50), (40, 40, 46)]), 8)
    long_hair = (
        has(words, "woman", "girl", "princess", "queen", "witch", "lady") or rng.random() < 0.3
    )
    if long_hair:
        pen.rect(-135, 90, 135, 380, hair, radius=60)
    for side in (-1, 1):  # legs, shoes, arms, hands
        pen.rect(side * 20, 580, side * 118, 920, trousers, radius=20)
        pen.ellipse(side * 80, 935, 70, 36, (50, 40, 36))
        pen.rect(side * 150, 300, side * 205, 590, shirt, radius=26)
        pen.ellipse(side * 178, 612, 34, 34, skin)
    pen.rect(-150, 280, 150, 610, shirt, radius=50)
    pen.rect(-150, 560, 150, 600, mix(trousers, INK, 0.3), radius=4)
    pen.rect(-34, 240, 34, 290, skin, radius=8)
    pen.ellipse(0, 150, 112, 118, skin)
    if not has(words, "bald"):
        pen.draw.chord(
            pen.box(-118, 28, 118, 250), 180, 360, fill=hair, outline=INK, width=pen.width
        )
    eyes(pen, rng, 160, 42, 22)
    pen.line([(-60, 115), (-24, 108)], INK, 9)
    pen.line([(24, 108), (60, 115)], INK, 9)
    pen.draw.arc(pen.box(-40, 170, 40, 225), 20, 160, fill=INK, width=max(2, round(8 * pen.s)))
    if has(words, "wizard", "witch", "mage", "sorcerer", "magician"):
        hat = main_colour(rng, words - set(COLOUR_WORDS), (70, 50, 140))
        pen.poly([(-170, 70), (170, 70), (30, -180), (-10, -150)], hat)
        pen.ellipse(0, 70, 190, 26, hat)
    elif has(words, "king", "queen", "prince", "princess", "royal"):
        pen.poly(
            [(-90, 50), (-90, -30), (-45, 10), (0, -50), (45, 10), (90, -30), (90, 50)],
            (232, 186, 60),
        )
    if has(words, "scientist", "professor", "glasses", "nerd", "teacher"):
        for side in (-1, 1):
            pen.draw.ellipse(
                pen.box(side * 42 - 34, 126, side * 42 + 34, 194), outline=INK, width=pen.width
            )
        pen.line([(-8, 158), (8, 158)])


def robot(pen: Pen, rng: random.Random, words: set[str]) -> None:
    metal = main_colour(rng, words, rng.choice([(170, 178, 190), (90, 130, 190), (220, 140, 60)]))
    dark = mix(metal, INK, 0.45)
    glow = jitter(rng, (90, 230, 250), 20)
    pen.line([(0, 40), (0, -20)], INK, 10)
    pen.ellipse(0, -30, 22, 22, (240, 80, 80))
    for side in (-1, 1):
        pen.rect(side * 30, 620, side * 110, 900, dark, radius=12)
        pen.rect(side * 10, 890, side * 140, 960, metal, radius=16)
        pen.rect(side * 175, 320, side * 230, 460, dark, radius=18)
        pen.rect(side * 175, 460, side * 230, 600, dark, radius=18)
        pen.ellipse(side * 202, 625, 40, 34, metal)
    pen.rect(-165, 280, 165, 640, metal, radius=30)
    pen.rect(-90, 350, 90, 500, dark, radius=14)
    for i, colour in enumerate([(240, 80, 80), (250, 210, 70), (90, 210, 120)]):
        pen.ellipse(-50 + 50 * i, 425, 18, 18, colour)
    pen.rect(-50, 245, 50, 285, dark)
    pen.rect(-135, 40, 135, 250, metal, radius=36)
    for side in (-1, 1):
        pen.ellipse(side * 55, 130, 34, 34, glow)
        pen.ellipse(side * 55, 130, 14, 14, (255, 255, 255), outline=False)
    pen.rect(-60, 185, 60, 220, dark, radius=8)
    for x in (-30, 0, 30):
        pen.line([(x, 188), (x, 217)], metal, 6)


def creature(pen: Pen, rng: random.Random, words: set[str], ears: str, fur_default: Colour) -> None:
    fur = main_colour(rng, words, fur_default)
    light = mix(fur, (255, 255, 255), 0.55)
    side_tail = rng.choice((-1, 1))
    pen.line([(side_tail * 150, 760), (side_tail * 260, 700), (side_tail * 290, 560)], INK, 62)
    pen.line([(side_tail * 150, 760), (side_tail * 260, 700), (side_tail * 290, 560)], fur, 46)
    pen.ellipse(0, 640, 185, 270, fur)
    pen.ellipse(0, 680, 110, 190, light)
    for side in (-1, 1):
        pen.ellipse(side * 95, 905, 75, 45, fur)
        pen.ellipse(side * 140, 560, 42, 100, fur)
    head_y = 250
    for side in (-1, 1):
        if ears == "pointy":
            pen.poly(
                [(side * 150, head_y - 40), (side * 130, head_y - 230), (side * 40, head_y - 130)],
                fur,
            )
            pen.poly(
                [(side * 125, head_y - 80), (side * 120, head_y - 180), (side * 70, head_y - 125)],
                (240, 170, 170),
            )
        elif ears == "long":
            pen.ellipse(side * 70, head_y - 230, 42, 150, fur)
            pen.ellipse(side * 70, head_y - 220, 20, 110, (240, 180, 190), outline=False)
        elif ears == "round":
            pen.ellipse(side * 135, head_y - 130, 62, 62, fur)
            pen.ellipse(side * 135, head_y - 130, 32, 32, light, outline=False)
    pen.ellipse(0, head_y, 175, 160, fur)
    if ears == "floppy":
        for side in (-1, 1):
            pen.ellipse(side * 170, head_y + 20, 50, 120, mix(fur, INK, 0.35))
    pen.ellipse(0, head_y + 70, 80, 60, light)
    eyes(pen, rng, head_y - 20, 68, 28)
    pen.poly([(-22, head_y + 45), (22, head_y + 45), (0, head_y + 72)], INK)
    pen.draw.arc(pen.box(-36, head_y + 60, 0, head_y + 105), 0, 160, fill=INK, width=pen.width)
    pen.draw.arc(pen.box(0, head_y + 60, 36, head_y + 105), 20, 180, fill=INK, width=pen.width)
    if ears in ("pointy", "long", "round"):
        for side in (-1, 1):
            for dy in (-12, 12):
                pen.line(
                    [(side * 70, head_y + 70 + dy), (side * 180, head_y + 60 + dy * 2.2)], INK, 5
                )
