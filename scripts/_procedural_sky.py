"""The sky over the offline painter's outdoor places, and the weather in front of them.

Kept apart from the places so every outdoor kind gets the same sky for the same time of day: a
sun by day, a low orange sun at sunset, the moon and stars at night (over the sea, the city or the
desert alike), clouds by day, and rain, a storm's lightning, fog or falling snow on top.
"""

from __future__ import annotations

import math
import random

from _procedural_figures import Colour
from PIL import Image, ImageDraw


def stars(
    draw: ImageDraw.ImageDraw, rng: random.Random, w: int, below: int, count: int, u: float
) -> None:
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, below * 0.95)
        r = rng.choice((0.8, 1.0, 1.3, 2.0)) * max(1.0, u * 1.6)
        b = rng.randint(170, 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(b, b, min(255, b + 20)))


def glow_disc(
    img: Image.Image, cx: float, cy: float, r: float, colour: Colour, glow: float
) -> None:
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    steps = 12
    for i in range(steps, 0, -1):
        rr = r * (1 + glow * i / steps)
        alpha = round(60 * (1 - i / (steps + 1)) ** 2)
        draw.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=(*colour, alpha))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 255))
    img.paste(layer, (0, 0), layer)


def sky_body(
    img: Image.Image, rng: random.Random, time: str, cx: float, horizon: int, u: float
) -> None:
    """Sun by day, a low orange sun at sunset, a cratered moon at night, centred on ``cx``."""
    if time == "sunset":
        cy, r, colour = horizon * rng.uniform(0.72, 0.86), rng.uniform(70, 95) * u, (255, 176, 96)
    elif time == "night":
        cy, r, colour = horizon * rng.uniform(0.18, 0.35), rng.uniform(40, 60) * u, (236, 234, 214)
    else:
        cy, r, colour = horizon * rng.uniform(0.15, 0.32), rng.uniform(45, 65) * u, (255, 244, 190)
    glow_disc(img, cx, cy, r, colour, 1.4 if time != "night" else 0.8)
    if time == "night":
        draw = ImageDraw.Draw(img)
        for _ in range(4):
            a, d, cr = rng.uniform(0, 6.28), rng.uniform(0, 0.6) * r, rng.uniform(0.1, 0.22) * r
            x, y = cx + d * math.cos(a), cy + d * math.sin(a)
            draw.ellipse((x - cr, y - cr, x + cr, y + cr), fill=(206, 204, 188))


def cloud(img: Image.Image, rng: random.Random, cx: float, cy: float, u: float, time: str) -> None:
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour = {"day": (255, 255, 255), "storm": (120, 124, 136)}.get(time, (255, 214, 190))
    span = rng.uniform(160, 260) * u
    for _ in range(rng.randint(4, 6)):
        x = cx + rng.uniform(-0.5, 0.5) * span
        rw, rh = rng.uniform(0.25, 0.4) * span, rng.uniform(0.14, 0.22) * span
        y = cy + rng.uniform(-0.3, 0.2) * rh
        draw.ellipse((x - rw, y - rh, x + rw, y + rh), fill=(*colour, 215))
    img.paste(layer, (0, 0), layer)


def weather(img: Image.Image, rng: random.Random, kind: str, u: float) -> None:
    """Rain streaks (a storm adds a lightning bolt and a darker veil), fog banks or snowflakes."""
    w, h = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if kind == "storm":
        draw.rectangle((0, 0, w, h), fill=(10, 12, 24, 70))
        x, y = rng.uniform(0.2, 0.8) * w, 0.0
        bolt = [(x, y)]
        while y < h * 0.45:
            x += rng.uniform(-40, 40) * u
            y += rng.uniform(30, 70) * u
            bolt.append((x, y))
        draw.line(bolt, fill=(250, 250, 255, 230), width=max(2, round(5 * u)))
    if kind in ("rain", "storm"):
        for _ in range(int(w * h / 2500)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            ln = rng.uniform(20, 40) * u
            draw.line(
                (x, y, x - ln * 0.25, y + ln), fill=(200, 210, 230, 110), width=max(1, round(2 * u))
            )
    elif kind == "fog":
        for k in range(6):
            y = h * (0.45 + 0.09 * k)
            draw.ellipse((-0.2 * w, y - 0.06 * h, 1.2 * w, y + 0.06 * h), fill=(220, 224, 232, 50))
    elif kind == "snow":
        for _ in range(int(w * h / 6000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.5, 4) * u
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(245, 248, 255, 230))
    img.paste(layer, (0, 0), layer)
