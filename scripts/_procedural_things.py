"""Objects the offline painter stands inside a scene: lighthouse, ship, boat, house, car, tree,
animal silhouettes, planet, rocket, fire, castle, pot.

They are what makes a placeholder picture *about* something: a video on lighthouses needs a
lighthouse in the frame, not a generic beach. Each function draws at a base point (``x``, the
ground or water line ``y``) in units of ``s`` (1.0 is a mid-sized object in a 1000 px frame), so
the scene painters can place them on whatever ground they drew. Night darkens the bodies and
lights the windows, the lantern and the headlights.
"""

from __future__ import annotations

import math
import random

from _procedural_figures import Colour, jitter, mix
from PIL import Image, ImageDraw

BLACK: Colour = (0, 0, 0)
LIGHT: Colour = (255, 220, 130)


def shade(colour: Colour, night: bool, amount: float = 0.55) -> Colour:
    return mix(colour, BLACK, amount) if night else colour


def beam(img: Image.Image, x: float, y: float, length: float, night: bool, side: int) -> None:
    """A soft cone of light from a lamp (the lighthouse's lantern), drawn only where it shows."""
    if not night:
        return
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i in range(6, 0, -1):
        spread = length * 0.025 * i
        draw.polygon(
            [(x, y - 4), (x + side * length, y - spread), (x + side * length, y + spread)],
            fill=(255, 236, 170, 14 + 5 * (6 - i)),
        )
    r = length * 0.02
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 240, 190, 90))
    img.paste(layer, (0, 0), layer)


def lighthouse(img: Image.Image, x: float, y: float, s: float, night: bool, fire: bool) -> None:
    """Tapered striped tower, gallery, lantern room (an open fire instead when ``fire``)."""
    draw = ImageDraw.Draw(img)
    height, bottom_half, top_half = 430 * s, 48 * s, 30 * s
    top = y - height
    white, red = shade((240, 238, 230), night, 0.35), shade((196, 46, 40), night, 0.35)
    bands = 5
    for i in range(bands):
        y0, y1 = top + height * i / bands, top + height * (i + 1) / bands
        h0 = top_half + (bottom_half - top_half) * i / bands
        h1 = top_half + (bottom_half - top_half) * (i + 1) / bands
        colour = red if i % 2 == 0 else white
        draw.polygon([(x - h0, y0), (x + h0, y0), (x + h1, y1), (x - h1, y1)], fill=colour)
    draw.rectangle((x - 12 * s, y - 60 * s, x + 12 * s, y), fill=shade((60, 50, 44), night))
    draw.rectangle((x - 46 * s, top - 10 * s, x + 46 * s, top + 4 * s), fill=(40, 40, 46))
    lamp_y = top - 42 * s
    if fire:
        draw.rectangle((x - 34 * s, top - 20 * s, x + 34 * s, top - 10 * s), fill=(70, 60, 56))
        for k, colour in enumerate(((236, 96, 30), (250, 170, 50), (255, 236, 140))):
            r = (34 - 9 * k) * s
            draw.polygon(
                [(x - r, top - 20 * s), (x, top - 20 * s - 3 * r), (x + r, top - 20 * s)],
                fill=colour,
            )
    else:
        glass = LIGHT if night else (190, 214, 226)
        draw.rectangle((x - 26 * s, top - 64 * s, x + 26 * s, top - 10 * s), fill=glass)
        for dx in (-13, 0, 13):
            draw.line((x + dx * s, top - 64 * s, x + dx * s, top - 10 * s), fill=(40, 40, 46))
        draw.polygon(
            [(x - 36 * s, top - 64 * s), (x + 36 * s, top - 64 * s), (x, top - 104 * s)],
            fill=(40, 40, 46),
        )
    if night:
        beam(img, x, lamp_y, img.width * 1.2, night, -1)
        beam(img, x, lamp_y, img.width * 1.2, night, 1)


def ship(img: Image.Image, x: float, y: float, s: float, night: bool, rng: random.Random) -> None:
    """A three-masted sailing ship riding on the water line ``y``."""
    draw = ImageDraw.Draw(img)
    hull = shade(jitter(rng, (96, 58, 34), 10), night)
    sail = shade((238, 232, 214), night, 0.45)
    half = 190 * s
    draw.polygon(
        [(x - half, y - 60 * s), (x + half * 1.15, y - 70 * s), (x + half * 0.85, y + 8 * s),
         (x - half * 0.8, y + 8 * s)],
        fill=hull,
    )  # fmt: skip
    draw.rectangle((x - half * 0.8, y - 50 * s, x + half * 0.95, y - 40 * s), fill=(200, 160, 60))
    for i, (dx, tall) in enumerate(((-95, 260), (10, 320), (110, 240))):
        mx = x + dx * s
        draw.rectangle((mx - 4 * s, y - (60 + tall) * s, mx + 4 * s, y - 60 * s), fill=hull)
        for k in range(2):
            y0 = y - (60 + tall - 30 - k * tall * 0.42) * s
            wide = (58 - 8 * k) * s
            draw.polygon(
                [(mx - wide, y0), (mx + wide, y0), (mx + wide * 1.1, y0 + tall * 0.36 * s),
                 (mx - wide * 1.1, y0 + tall * 0.36 * s)],
                fill=sail,
            )  # fmt: skip
        if i == 1:
            draw.polygon(
                [(mx, y - (60 + tall) * s), (mx + 40 * s, y - (48 + tall) * s),
                 (mx, y - (36 + tall) * s)],
                fill=(190, 40, 40),
            )  # fmt: skip
    if night:
        for k in range(5):
            wx = x - half * 0.6 + k * half * 0.3
            draw.ellipse((wx - 6 * s, y - 32 * s, wx + 6 * s, y - 20 * s), fill=LIGHT)


def boat(img: Image.Image, x: float, y: float, s: float, night: bool, rng: random.Random) -> None:
    """A small fishing boat with one sail."""
    draw = ImageDraw.Draw(img)
    hull = shade(
        jitter(rng, rng.choice([(200, 70, 50), (50, 100, 170), (240, 240, 236)]), 10), night
    )
    draw.polygon(
        [(x - 80 * s, y - 30 * s), (x + 90 * s, y - 30 * s), (x + 60 * s, y + 4 * s),
         (x - 60 * s, y + 4 * s)],
        fill=hull,
    )  # fmt: skip
    draw.rectangle((x - 3 * s, y - 150 * s, x + 3 * s, y - 30 * s), fill=(80, 60, 40))
    draw.polygon(
        [(x + 6 * s, y - 146 * s), (x + 6 * s, y - 40 * s), (x + 76 * s, y - 40 * s)],
        fill=shade((244, 240, 226), night, 0.45),
    )
    if night:
        draw.ellipse((x - 8 * s, y - 160 * s, x + 8 * s, y - 144 * s), fill=LIGHT)


def house(img: Image.Image, x: float, y: float, s: float, night: bool, rng: random.Random) -> None:
    draw = ImageDraw.Draw(img)
    wall = shade(
        jitter(rng, rng.choice([(226, 206, 170), (200, 120, 90), (236, 232, 220)]), 10), night
    )
    roof = shade(jitter(rng, rng.choice([(150, 50, 40), (90, 70, 60), (60, 80, 110)]), 10), night)
    w, h = 150 * s, 120 * s
    draw.rectangle((x - w / 2, y - h, x + w / 2, y), fill=wall)
    draw.polygon([(x - w * 0.6, y - h), (x + w * 0.6, y - h), (x, y - h - 80 * s)], fill=roof)
    draw.rectangle((x - 16 * s, y - 60 * s, x + 16 * s, y), fill=shade((100, 66, 40), night))
    window = LIGHT if night else (170, 200, 226)
    for dx in (-48, 48):
        draw.rectangle((x + (dx - 16) * s, y - 90 * s, x + (dx + 16) * s, y - 60 * s), fill=window)


def castle(img: Image.Image, x: float, y: float, s: float, night: bool) -> None:
    draw = ImageDraw.Draw(img)
    stone = shade((150, 146, 140), night)
    dark = mix(stone, BLACK, 0.3)
    draw.rectangle((x - 170 * s, y - 180 * s, x + 170 * s, y), fill=stone)
    for tx in (-170, 170):
        draw.rectangle((x + (tx - 40) * s, y - 290 * s, x + (tx + 40) * s, y), fill=stone)
        draw.polygon(
            [(x + (tx - 50) * s, y - 290 * s), (x + (tx + 50) * s, y - 290 * s),
             (x + tx * s, y - 380 * s)],
            fill=shade((120, 40, 50), night),
        )  # fmt: skip
    for k in range(-5, 6):
        draw.rectangle((x + (k * 28 - 9) * s, y - 200 * s, x + (k * 28 + 9) * s, y - 180 * s),
                       fill=stone)  # fmt: skip
    draw.chord((x - 40 * s, y - 110 * s, x + 40 * s, y + 20 * s), 180, 360, fill=dark)
    draw.rectangle((x - 40 * s, y - 46 * s, x + 40 * s, y), fill=dark)
    window = LIGHT if night else (40, 40, 48)
    for tx in (-170, 170):
        draw.rectangle((x + (tx - 8) * s, y - 240 * s, x + (tx + 8) * s, y - 210 * s), fill=window)


def car(img: Image.Image, x: float, y: float, s: float, night: bool, rng: random.Random) -> None:
    draw = ImageDraw.Draw(img)
    body = shade(jitter(rng, rng.choice([(200, 40, 40), (40, 90, 180), (236, 190, 40)]), 12), night)
    draw.rounded_rectangle((x - 110 * s, y - 70 * s, x + 110 * s, y - 20 * s), 16 * s, fill=body)
    draw.polygon(
        [(x - 60 * s, y - 70 * s), (x - 36 * s, y - 112 * s), (x + 46 * s, y - 112 * s),
         (x + 72 * s, y - 70 * s)],
        fill=body,
    )  # fmt: skip
    glass = (40, 50, 70) if night else (170, 206, 230)
    draw.polygon(
        [(x - 48 * s, y - 74 * s), (x - 30 * s, y - 104 * s), (x + 40 * s, y - 104 * s),
         (x + 60 * s, y - 74 * s)],
        fill=glass,
    )  # fmt: skip
    for wx in (-66, 66):
        draw.ellipse(
            (x + (wx - 26) * s, y - 46 * s, x + (wx + 26) * s, y + 6 * s), fill=(30, 30, 34)
        )
        draw.ellipse(
            (x + (wx - 10) * s, y - 30 * s, x + (wx + 10) * s, y - 10 * s), fill=(150, 150, 156)
        )
    if night:
        draw.ellipse((x + 98 * s, y - 62 * s, x + 114 * s, y - 46 * s), fill=LIGHT)


def tree(img: Image.Image, x: float, y: float, s: float, night: bool, rng: random.Random) -> None:
    draw = ImageDraw.Draw(img)
    draw.rectangle((x - 9 * s, y - 110 * s, x + 9 * s, y), fill=shade((96, 66, 40), night))
    green = shade(jitter(rng, (52, 120, 48), 14), night)
    for dx, dy, r in ((0, -170, 70), (-46, -130, 52), (46, -130, 52), (0, -120, 56)):
        draw.ellipse(
            (x + (dx - r) * s, y + (dy - r) * s, x + (dx + r) * s, y + (dy + r) * s), fill=green
        )


def fire(img: Image.Image, x: float, y: float, s: float) -> None:
    """A campfire or hearth: logs and three tongues of flame with a glow."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    glow = ImageDraw.Draw(layer)
    for i in range(8, 0, -1):
        r = 40 * s * i
        glow.ellipse((x - r, y - 60 * s - r, x + r, y - 60 * s + r), fill=(255, 160, 60, 10))
    img.paste(layer, (0, 0), layer)
    draw = ImageDraw.Draw(img)
    for side in (-1, 1):
        draw.line(
            (x - side * 60 * s, y, x + side * 60 * s, y - 24 * s),
            fill=(90, 56, 30),
            width=max(2, round(16 * s)),
        )
    for k, colour in enumerate(((230, 80, 30), (250, 160, 40), (255, 232, 140))):
        r = (48 - 12 * k) * s
        draw.polygon(
            [(x - r, y - 10 * s), (x, y - 10 * s - 3.2 * r), (x + r, y - 10 * s)], fill=colour
        )


def pot(img: Image.Image, x: float, y: float, s: float, night: bool) -> None:
    """A cooking pot with steam: the kitchen's subject."""
    draw = ImageDraw.Draw(img)
    metal = shade((70, 74, 84), night, 0.3)
    draw.rounded_rectangle((x - 80 * s, y - 110 * s, x + 80 * s, y), 20 * s, fill=metal)
    draw.rectangle((x - 92 * s, y - 118 * s, x + 92 * s, y - 104 * s), fill=mix(metal, BLACK, 0.3))
    for x0 in (-104, 80):
        draw.rectangle((x + x0 * s, y - 90 * s, x + (x0 + 24) * s, y - 78 * s), fill=metal)
    for k in (-30, 0, 30):
        pts = [(x + k * s + 10 * s * math.sin(t / 3), y - (130 + 12 * t) * s) for t in range(10)]
        draw.line(pts, fill=(236, 236, 240), width=max(2, round(6 * s)))


def planet(img: Image.Image, x: float, y: float, s: float, rng: random.Random) -> None:
    """A ringed planet centred at (x, y): the space scenes' subject."""
    draw = ImageDraw.Draw(img)
    r = 150 * s
    body = jitter(rng, rng.choice([(206, 140, 86), (96, 150, 210), (180, 90, 80)]), 14)
    ring, width = (230, 214, 180), max(2, round(9 * s))
    box = (x - 1.9 * r, y - 0.45 * r, x + 1.9 * r, y + 0.45 * r)
    draw.ellipse(box, outline=ring, width=width)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=body)
    for i in range(1, 5):
        yy = y - r + i * 2 * r / 5
        half = math.sqrt(max(0.0, r * r - (yy - y) ** 2))
        draw.line((x - half, yy, x + half, yy), fill=mix(body, (255, 255, 255), 0.18), width=width)
    draw.chord((x - r, y - r, x + r, y + r), 20, 160, fill=mix(body, BLACK, 0.35))
    draw.arc(box, 0, 180, fill=ring, width=width)


def rocket(img: Image.Image, x: float, y: float, s: float) -> None:
    """A rocket lifting off from ``y`` with its flame below."""
    draw = ImageDraw.Draw(img)
    draw.polygon([(x - 26 * s, y), (x, y + 120 * s), (x + 26 * s, y)], fill=(250, 170, 50))
    draw.polygon([(x - 14 * s, y), (x, y + 70 * s), (x + 14 * s, y)], fill=(255, 240, 170))
    draw.rounded_rectangle((x - 34 * s, y - 240 * s, x + 34 * s, y), 10 * s, fill=(236, 236, 240))
    draw.polygon(
        [(x - 34 * s, y - 240 * s), (x + 34 * s, y - 240 * s), (x, y - 320 * s)], fill=(200, 50, 50)
    )
    for side in (-1, 1):
        draw.polygon(
            [(x + side * 34 * s, y - 70 * s), (x + side * 74 * s, y), (x + side * 34 * s, y)],
            fill=(200, 50, 50),
        )
    draw.ellipse((x - 16 * s, y - 190 * s, x + 16 * s, y - 158 * s), fill=(90, 150, 210))


# ---------------------------------------------------------------- animal silhouettes


def animal(
    img: Image.Image, x: float, y: float, s: float, name: str, night: bool, flip: bool
) -> None:
    """A dark silhouette standing on ``y`` (or swimming/flying there): readable at any size."""
    draw = ImageDraw.Draw(img)
    body = (44, 40, 44) if not night else (14, 14, 20)
    d = -1 if flip else 1

    def e(cx: float, cy: float, rx: float, ry: float) -> None:
        draw.ellipse(
            (x + (d * cx - rx) * s, y + (cy - ry) * s, x + (d * cx + rx) * s, y + (cy + ry) * s),
            fill=body,
        )

    def leg(cx: float, top: float, width: float = 14) -> None:
        draw.rectangle(
            (x + (d * cx - width) * s, y + top * s, x + (d * cx + width) * s, y), fill=body
        )

    if name == "elephant":
        e(0, -150, 130, 80)
        e(120, -170, 60, 56)
        e(96, -170, 44, 60)
        draw.line([(x + d * 160 * s, y - 160 * s), (x + d * 190 * s, y - 80 * s), (x + d * 176 * s, y - 30 * s)],
                  fill=body, width=max(2, round(26 * s)))  # fmt: skip
        for cx in (-90, -40, 50, 90):
            leg(cx, -120, 22)
    elif name in ("giraffe",):
        e(0, -180, 90, 46)
        draw.polygon([(x + d * 60 * s, y - 200 * s), (x + d * 130 * s, y - 400 * s), (x + d * 150 * s, y - 390 * s), (x + d * 90 * s, y - 180 * s)], fill=body)  # fmt: skip
        e(150, -400, 34, 18)
        for cx in (-70, -40, 40, 70):
            leg(cx, -150, 9)
    elif name in ("bird", "eagle", "parrot", "owl", "seagull"):
        draw.polygon(
            [(x - 60 * s, y - 20 * s), (x, y), (x + 60 * s, y - 20 * s), (x, y - 6 * s)], fill=body
        )
    elif name in ("whale", "dolphin", "shark", "fish"):
        big = 1.6 if name == "whale" else 1.0
        e(0, -30 * big, 120 * big, 40 * big)
        draw.polygon([(x - d * 110 * big * s, y - 30 * big * s), (x - d * 180 * big * s, y - 70 * big * s), (x - d * 170 * big * s, y + 10 * big * s)], fill=body)  # fmt: skip
        if name in ("shark", "dolphin"):
            draw.polygon([(x - 10 * s, y - 60 * s), (x + d * 20 * s, y - 110 * s), (x + d * 40 * s, y - 60 * s)], fill=body)  # fmt: skip
    elif name == "penguin":
        e(0, -70, 40, 70)
        e(0, -150, 28, 28)
        draw.ellipse((x - 22 * s, y - 110 * s, x + 22 * s, y - 20 * s), fill=(236, 236, 236))
    else:  # four-legged: lion, cat, dog, horse, cow, bear, deer, wolf, fox, tiger
        tall = {"horse": 1.4, "cow": 1.2, "deer": 1.3, "bear": 1.2}.get(name, 1.0)
        e(0, -110 * tall, 100, 46 * tall)
        e(110, -160 * tall, 40, 34)
        if name in ("lion",):
            e(100, -160 * tall, 56, 56)
            e(120, -160 * tall, 36, 32)
        if name in ("deer",):
            draw.line([(x + d * 110 * s, y - 190 * s * tall), (x + d * 90 * s, y - 260 * s * tall)], fill=body, width=max(2, round(8 * s)))  # fmt: skip
        draw.line([(x - d * 96 * s, y - 120 * s * tall), (x - d * 150 * s, y - 90 * s * tall)], fill=body, width=max(2, round(10 * s)))  # fmt: skip
        for cx in (-70, -40, 50, 80):
            leg(cx, -80 * tall, 11)
