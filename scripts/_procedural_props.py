"""Offline props for ``generate_asset.py --provider local --kind prop``.

One cartoon object per prompt (sword, book, potion, chest, key, orb, or a gem when no word
matches) on a transparent canvas, drawn with the same pen and outline as the characters.
"""

from __future__ import annotations

import math
import random

from _procedural_figures import INK, Pen, canvas, finish, has, main_colour, mix
from PIL import Image


def prop(rng: random.Random, words: set[str], size: tuple[int, int]) -> Image.Image:
    img, cx, top, height = canvas(size)
    pen = Pen(img, cx, top + height * 0.08, height * 0.84)
    kinds = [
        (("sword", "blade", "dagger", "katana"), sword),
        (("book", "journal", "diary", "tome", "spellbook"), book),
        (("potion", "bottle", "flask", "vial", "elixir"), potion),
        (("chest", "box", "crate", "treasure", "trunk"), chest),
        (("key",), key),
        (("orb", "ball", "sphere", "globe", "crystal"), orb),
    ]
    draw_fn = next((fn for keys, fn in kinds if has(words, *keys)), gem)
    draw_fn(pen, rng, words)
    return finish(img, size)


def sword(pen: Pen, rng: random.Random, words: set[str]) -> None:
    steel = main_colour(rng, words, (200, 206, 216))
    pen.poly([(0, 0), (48, 90), (48, 640), (-48, 640), (-48, 90)], steel)
    pen.line([(0, 100), (0, 620)], mix(steel, INK, 0.3), 10)
    pen.rect(-180, 640, 180, 695, (200, 160, 60), radius=20)
    pen.rect(-32, 695, 32, 900, (96, 60, 36), radius=10)
    for y in range(720, 900, 40):
        pen.line([(-32, y), (32, y + 20)], INK, 6)
    pen.ellipse(0, 935, 46, 46, (200, 160, 60))


def book(pen: Pen, rng: random.Random, words: set[str]) -> None:
    cover = main_colour(rng, words, rng.choice([(150, 40, 40), (40, 80, 150), (50, 110, 70)]))
    pen.rect(-270, 170, 330, 880, (245, 238, 220), radius=20)
    for y in range(200, 870, 30):
        pen.line([(300, y), (326, y)], (190, 180, 160), 4)
    pen.rect(-300, 140, 300, 860, cover, radius=24)
    pen.rect(-300, 140, -230, 860, mix(cover, INK, 0.35), radius=16)
    pen.rect(-150, 300, 220, 440, (230, 196, 96), radius=12)
    pen.line([(-110, 370), (180, 370)], mix(cover, INK, 0.2), 12)


def potion(pen: Pen, rng: random.Random, words: set[str]) -> None:
    liquid = main_colour(rng, words, rng.choice([(200, 50, 90), (70, 200, 120), (90, 110, 230)]))
    pen.rect(-75, 150, 75, 440, (214, 232, 240), radius=14)
    pen.rect(-95, 80, 95, 170, (160, 110, 70), radius=18)
    pen.ellipse(0, 660, 290, 290, (214, 232, 240))
    pen.draw.chord(pen.box(-280, 370, 280, 940), 15, 165, fill=liquid)
    pen.ellipse(0, 660, 290, 290, None)
    for _ in range(6):
        x, y, r = rng.uniform(-170, 170), rng.uniform(700, 860), rng.uniform(10, 24)
        pen.ellipse(x, y, r, r, mix(liquid, (255, 255, 255), 0.5), outline=False)
    pen.ellipse(-150, 520, 34, 80, (250, 252, 255), outline=False)


def chest(pen: Pen, rng: random.Random, words: set[str]) -> None:
    wood = main_colour(rng, words, (140, 90, 50))
    metal = (214, 176, 70)
    pen.rect(-390, 470, 390, 900, wood, radius=20)
    pen.draw.chord(
        pen.box(-390, 200, 390, 740),
        180,
        360,
        fill=mix(wood, (255, 255, 255), 0.12),
        outline=INK,
        width=pen.width,
    )
    pen.line([(-390, 470), (390, 470)], INK, 8)
    for x in (-290, 290):
        pen.rect(x - 30, 300, x + 30, 900, metal, radius=6)
    pen.rect(-60, 430, 60, 570, metal, radius=12)
    pen.ellipse(0, 495, 18, 18, INK, outline=False)
    pen.rect(-6, 495, 6, 540, INK)


def key(pen: Pen, rng: random.Random, words: set[str]) -> None:
    brass = main_colour(rng, words, (214, 176, 70))
    pen.rect(-36, 360, 36, 930, brass, radius=12)
    for y, ln in ((760, 130), (850, 100)):
        pen.rect(30, y, 30 + ln, y + 55, brass, radius=8)
    pen.ellipse(0, 210, 170, 170, brass)
    pen.draw.ellipse(pen.box(-80, 130, 80, 290), fill=(0, 0, 0, 0))
    pen.ellipse(0, 210, 80, 80, None)


def orb(pen: Pen, rng: random.Random, words: set[str]) -> None:
    base = main_colour(rng, words, rng.choice([(90, 120, 230), (150, 80, 210), (60, 180, 200)]))
    pen.poly([(-220, 940), (220, 940), (140, 800), (-140, 800)], (120, 84, 52))
    steps = 40
    for i in range(steps, 0, -1):
        r = 380 * i / steps
        colour = mix(mix(base, INK, 0.45), mix(base, (255, 255, 255), 0.45), 1 - i / steps)
        dx = (1 - i / steps) * -120
        pen.ellipse(dx, 430 + dx, r, r, colour, outline=i == steps)
    pen.ellipse(-140, 290, 60, 40, (255, 255, 255), outline=False)


def gem(pen: Pen, rng: random.Random, words: set[str]) -> None:
    base = main_colour(
        rng, words, rng.choice([(220, 60, 90), (60, 180, 120), (80, 120, 230), (170, 90, 220)])
    )
    crown = [(-380, 380), (-240, 200), (240, 200), (380, 380)]
    pen.poly(crown, mix(base, (255, 255, 255), 0.35))
    pen.poly([(-380, 380), (380, 380), (0, 920)], base)
    facets = [(-240, 200), (-120, 380), (0, 200), (120, 380), (240, 200)]
    pen.line(facets, INK, 6)
    for x in (-120, 120):
        pen.line([(x, 380), (x * 0.3, 920)], mix(base, INK, 0.3), 6)
    angle = rng.uniform(0, math.pi)
    pen.ellipse(-150 + 20 * math.cos(angle), 280, 40, 24, (255, 255, 255), outline=False)
