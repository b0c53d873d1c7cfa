"""Offline procedural images for ``generate_asset.py --provider local``.

The point is a stand-in that is good enough to review a whole pipeline without any paid service:
a coherent scene chosen from the prompt's keywords (sky, horizon, hills, forest, city, ocean,
desert, snow, space, day/sunset/night), deterministic per prompt, with the subject as a caption.
Characters live in ``_procedural_figures``, props in ``_procedural_props``, the scenery below the
horizon in ``_procedural_scenes``; this module picks the theme, paints the sky and the caption.
"""

from __future__ import annotations

import hashlib
import math
import random
import re

import _procedural_figures as figures
import _procedural_props as props
import _procedural_scenes as scenes
from _procedural_figures import Colour, has, jitter
from PIL import Image, ImageDraw, ImageFont

THEMES: list[tuple[str, tuple[str, ...]]] = [
    ("space", ("space", "galaxy", "planet", "cosmos", "nebula", "orbit", "astronaut", "spaceship")),
    (
        "ocean",
        ("ocean", "sea", "beach", "coast", "lake", "island", "wave", "harbor", "harbour", "shore"),
    ),
    ("desert", ("desert", "sand", "dune", "sahara", "cactus", "canyon", "pyramid")),
    ("city", ("city", "street", "town", "building", "skyline", "urban", "downtown", "skyscraper")),
    ("snow", ("snow", "winter", "ice", "arctic", "frozen", "glacier", "snowy")),
    ("forest", ("forest", "tree", "jungle", "wood", "woods", "pine", "grove")),
    ("mountain", ("mountain", "peak", "alps", "valley", "cliff", "summit")),
]
NIGHT_WORDS = ("night", "moon", "midnight", "dark", "star", "starry", "moonlit")
SUNSET_WORDS = ("sunset", "dusk", "dawn", "sunrise", "evening", "twilight")

SKIES: dict[str, tuple[Colour, Colour]] = {
    "day": ((68, 128, 208), (186, 218, 240)),
    "sunset": ((58, 48, 118), (250, 156, 92)),
    "night": ((6, 10, 32), (38, 48, 96)),
}


def rng_for(prompt: str, kind: str, size: tuple[int, int]) -> random.Random:
    """Same prompt, kind and size give the same picture; anything else gives another."""
    digest = hashlib.sha256(f"{prompt}\x00{kind}\x00{size[0]}x{size[1]}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def keywords(prompt: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def render(prompt: str, kind: str, size: tuple[int, int]) -> Image.Image:
    """Draw the asset: RGB for an environment, RGBA on a transparent canvas otherwise."""
    rng = rng_for(prompt, kind, size)
    words = keywords(prompt)
    if kind == "character":
        img = figures.character(rng, words, size)
    elif kind == "prop":
        img = props.prop(rng, words, size)
    else:
        img = environment(rng, words, size)
    caption(img, prompt, on_scene=kind == "environment")
    return img


# ---------------------------------------------------------------- caption


def subject_text(
    prompt: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: float
) -> str:
    """The prompt's first clause, cut on a word boundary to fit ``max_width``."""
    text = " ".join(prompt.split())
    text = re.split(r"[.;:\n]", text, maxsplit=1)[0].strip() or text
    if font.getlength(text) <= max_width:
        return text
    words = text.split()
    while len(words) > 1 and font.getlength(" ".join(words) + "...") > max_width:
        words.pop()
    cut = " ".join(words)
    while cut and font.getlength(cut + "...") > max_width:
        cut = cut[:-1]
    return cut + "..."


def caption(img: Image.Image, prompt: str, *, on_scene: bool) -> None:
    """Label the picture with its subject: a title band on scenes, a name tag under figures.

    A scene's band sits centred, within the middle 46% of the width and below the top 9%, so
    it survives the crops made of it later: a split-screen half keeps the middle half of the
    width, a Ken Burns zoom of up to 1.2x loses up to a sixth of the height.
    """
    w, h = img.size
    size = max(12, round(min(w, h) / 22))
    font = ImageFont.load_default(size=size)  # Pillow's bundled font: no system fonts needed
    text = subject_text(prompt, font, w * (0.46 if on_scene else 0.84))
    left, top, right, bottom = (round(v) for v in font.getbbox(text))
    pad = max(6, size // 2)
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    if on_scene:
        x0, y0 = (w - box_w) // 2, round(h * 0.09)
    else:
        x0, y0 = (w - box_w) // 2, h - box_h - round(h * 0.02)
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle(
        (x0, y0, x0 + box_w, y0 + box_h), radius=pad, fill=(12, 14, 24, 190 if on_scene else 230)
    )
    draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255, 255))
    if img.mode == "RGBA":
        img.alpha_composite(layer)
    else:
        img.paste(layer, (0, 0), layer)


# ---------------------------------------------------------------- environments


def environment(rng: random.Random, words: set[str], size: tuple[int, int]) -> Image.Image:
    w, h = size
    theme = next((name for name, keys in THEMES if has(words, *keys)), "meadow")
    time = "night" if theme == "space" or has(words, *NIGHT_WORDS) else "day"
    if time == "day" and has(words, *SUNSET_WORDS):
        time = "sunset"
    top, bottom = (jitter(rng, c, 10) for c in SKIES[time])
    if theme == "space":
        top, bottom = (2, 2, 12), jitter(rng, (24, 14, 52), 10)
    horizon = round(h * rng.uniform(0.56, 0.64))
    img = scenes.gradient(size, top, bottom, horizon)
    draw = ImageDraw.Draw(img)
    u = min(w, h) / 1000

    if time == "night":
        stars(draw, rng, w, horizon, count=int(w * h / (3500 if theme == "space" else 9000)), u=u)
    if theme == "space":
        scenes.space(img, rng, w, h, u)
        return img
    sky_body(img, rng, time, w, horizon, u)
    if time != "night":
        for _ in range(rng.randint(2, 4)):
            cloud(img, rng, rng.uniform(0.05, 0.95) * w, rng.uniform(0.1, 0.4) * horizon, u, time)

    ground = scenes.Ground(draw, rng, w, h, horizon, u, haze=bottom)
    if theme == "ocean":
        scenes.ocean(img, rng, words, time, horizon, u)
    elif theme == "city":
        scenes.city(ground, time)
    elif theme == "desert":
        scenes.desert(ground)
    else:
        scenes.land(ground, theme, time)
    if theme == "snow":
        for _ in range(int(w * h / 6000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.5, 4) * u
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(245, 248, 255))
    return img


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
    img: Image.Image, rng: random.Random, time: str, w: int, horizon: int, u: float
) -> None:
    """Sun by day, a low orange sun at sunset, a cratered moon at night."""
    cx = rng.uniform(0.15, 0.85) * w
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
    colour = (255, 255, 255) if time == "day" else (255, 214, 190)
    span = rng.uniform(160, 260) * u
    for _ in range(rng.randint(4, 6)):
        x = cx + rng.uniform(-0.5, 0.5) * span
        rw, rh = rng.uniform(0.25, 0.4) * span, rng.uniform(0.14, 0.22) * span
        y = cy + rng.uniform(-0.3, 0.2) * rh
        draw.ellipse((x - rw, y - rh, x + rw, y + rh), fill=(*colour, 215))
    img.paste(layer, (0, 0), layer)
