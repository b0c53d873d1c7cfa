"""Ground and skyline layers of the offline environments (see ``_procedural``).

Each function paints one kind of scenery below the horizon onto an image the caller has already
given a sky: layered hills, mountains and pine forests, a city skyline with a street, desert
dunes with cacti, an ocean with glints and a beach, or a space scene with a ringed planet.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from _procedural_figures import Colour, has, jitter, mix
from PIL import Image, ImageDraw, ImageFilter


def gradient(size: tuple[int, int], top: Colour, bottom: Colour, until: int) -> Image.Image:
    w, h = size
    t = np.clip(np.arange(h, dtype=np.float32) / max(1, until), 0, 1)[:, None]
    rows = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return Image.fromarray(np.repeat(rows[:, None, :], w, axis=1).round().astype(np.uint8))


def ridge(
    rng: random.Random, w: int, base: float, amp: float, jagged: bool = False
) -> list[tuple[float, float]]:
    """A horizon line: smooth sums of sines for hills, sharp random peaks for mountains."""
    if jagged:
        pts, x = [], -w * 0.05
        while x < w * 1.05:
            pts.append((x, base - amp * rng.uniform(0.15, 1.0)))
            x += rng.uniform(0.07, 0.16) * w
            pts.append((x, base - amp * rng.uniform(0.0, 0.35)))
            x += rng.uniform(0.04, 0.1) * w
        return pts
    waves = [
        (rng.uniform(0.7, 1.4) * k, rng.uniform(0, 6.28), a)
        for k, a in ((1, 1), (2.3, 0.4), (5.1, 0.12))
    ]
    total = sum(a for _, _, a in waves)
    step = max(4, w // 160)
    return [
        (x, base - amp * sum(a * math.sin(k * x / w * 6.28 + p) for k, p, a in waves) / total)
        for x in range(0, w + step, step)
    ]


def fill_below(
    draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], h: int, colour: Colour
) -> None:
    draw.polygon([*pts, (pts[-1][0], h), (pts[0][0], h)], fill=colour)


def y_at(pts: list[tuple[float, float]], x: float) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / max(1e-6, x1 - x0)
    return pts[-1][1]


@dataclass(frozen=True)
class Ground:
    """What every painter below the horizon draws with: the canvas, the dice, the frame, the haze."""

    draw: ImageDraw.ImageDraw
    rng: random.Random
    w: int
    h: int
    horizon: int
    u: float
    haze: Colour


def ridge_layers(
    g: Ground,
    colours: list[Colour],
    *,
    start: float,
    spacing: float,
    amp: float,
    amp_step: float,
    tint: Callable[[int, Colour], Colour],
) -> list[list[tuple[float, float]]]:
    """Bands of rolling ground from far to near, each filled with ``tint(i, colour)``; their lines."""
    layers = []
    for i, colour in enumerate(colours):
        base = g.horizon + (start + spacing * i) * (g.h - g.horizon)
        pts = ridge(g.rng, g.w, base, (g.h - g.horizon) * (amp - amp_step * i))
        fill_below(g.draw, pts, g.h, tint(i, colour))
        layers.append(pts)
    return layers


def land(g: Ground, theme: str, time: str) -> None:
    """Meadow, forest, mountain and snow scenes: layered ridges, far ones fading into the haze."""
    draw, rng, w, h, horizon, u, haze = g.draw, g.rng, g.w, g.h, g.horizon, g.u, g.haze
    snowy = theme == "snow"
    dark = 0.45 if time == "night" else 0.0
    ground = (
        [(176, 196, 214), (214, 226, 238), (240, 245, 252)]
        if snowy
        else [(86, 140, 70), (64, 122, 52), (46, 98, 40)]
    )
    if theme in ("mountain", "snow") or rng.random() < 0.35:
        rock = (112, 114, 128) if not snowy else (128, 138, 160)
        peaks = ridge(rng, w, horizon + 10 * u, h * 0.3, jagged=True)
        fill_below(draw, peaks, h, mix(mix(rock, haze, 0.35), (0, 0, 0), dark))
        for x, y in peaks[::2]:
            cap = (horizon - y) * 0.3
            if cap > 12 * u:
                draw.polygon(
                    [(x, y), (x - cap * 0.8, y + cap), (x + cap * 0.7, y + cap * 0.9)],
                    fill=mix((246, 248, 252), (0, 0, 0), dark),
                )
    layers = ridge_layers(
        g,
        ground,
        start=0.05,
        spacing=0.13,
        amp=0.22,
        amp_step=0.05,
        tint=lambda i, c: mix(mix(jitter(rng, c, 10), haze, 0.3 - 0.12 * i), (0, 0, 0), dark),
    )
    if theme in ("forest", "snow"):
        for row, pts in enumerate(layers):
            scale = (0.7 + 0.55 * row) * u
            x = rng.uniform(0, 40) * scale
            while x < w:
                pine(
                    draw,
                    x,
                    y_at(pts, x) + 6 * scale,
                    scale * rng.uniform(0.8, 1.2),
                    rng,
                    snowy,
                    dark,
                )
                x += rng.uniform(30, 70) * scale * (1 if theme == "forest" else 2.5)
    else:
        for _ in range(rng.randint(3, 6)):
            pts = rng.choice(layers[1:])
            x = rng.uniform(0.04, 0.96) * w
            round_tree(draw, x, y_at(pts, x) + 8 * u, u * rng.uniform(0.8, 1.3), rng, dark)


def pine(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    s: float,
    rng: random.Random,
    snowy: bool,
    dark: float,
) -> None:
    green = mix(jitter(rng, (30, 84, 46), 12), (0, 0, 0), dark)
    draw.rectangle((x - 5 * s, y - 26 * s, x + 5 * s, y), fill=mix((92, 62, 38), (0, 0, 0), dark))
    for i in range(3):
        top = y - (150 - 38 * i) * s
        half = (34 + 14 * i) * s
        base = top + 70 * s
        draw.polygon([(x, top), (x - half, base), (x + half, base)], fill=green)
        if snowy:
            draw.polygon(
                [(x, top), (x - half * 0.35, top + 24 * s), (x + half * 0.35, top + 24 * s)],
                fill=(244, 247, 252),
            )


def round_tree(
    draw: ImageDraw.ImageDraw, x: float, y: float, s: float, rng: random.Random, dark: float
) -> None:
    draw.rectangle((x - 7 * s, y - 70 * s, x + 7 * s, y), fill=mix((96, 66, 40), (0, 0, 0), dark))
    green = mix(jitter(rng, (52, 120, 48), 14), (0, 0, 0), dark)
    for dx, dy, r in ((0, -110, 52), (-34, -84, 38), (34, -84, 38)):
        draw.ellipse(
            (x + (dx - r) * s, y + (dy - r) * s, x + (dx + r) * s, y + (dy + r) * s), fill=green
        )


def city(g: Ground, time: str) -> None:
    """A two-layer skyline with windows (lit at night) and a street in front."""
    draw, rng, w, h, horizon, u, haze = g.draw, g.rng, g.w, g.h, g.horizon, g.u, g.haze
    night = time == "night"
    for layer, (shade, tall) in enumerate((((150, 160, 180), 0.45), ((74, 82, 100), 0.32))):
        base = horizon + layer * 0.12 * (h - horizon)
        x = -rng.uniform(0, 60) * u
        while x < w:
            bw = rng.uniform(70, 150) * u * (1 + 0.4 * layer)
            bh = rng.uniform(0.35, 1.0) * tall * h
            colour = mix(jitter(rng, shade, 12), haze, 0.35 - 0.2 * layer)
            colour = mix(colour, (0, 0, 0), 0.55 if night else 0.0)
            draw.rectangle((x, base - bh, x + bw, h), fill=colour)
            if layer == 1:
                windows(draw, rng, x, base - bh, bw, bh, u, night)
            x += bw + rng.uniform(4, 18) * u
    road = horizon + 0.3 * (h - horizon)
    draw.rectangle((0, road, w, h), fill=(40, 42, 48) if not night else (24, 25, 30))
    mid = (road + h) / 2
    for x in np.arange(0, w, 120 * u):
        draw.rectangle((x, mid - 4 * u, x + 60 * u, mid + 4 * u), fill=(236, 208, 90))


def windows(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    x: float,
    top: float,
    bw: float,
    bh: float,
    u: float,
    night: bool,
) -> None:
    step_x, step_y = 22 * u, 30 * u
    for wy in np.arange(top + 14 * u, top + bh - 20 * u, step_y):
        for wx in np.arange(x + 10 * u, x + bw - 18 * u, step_x):
            lit = rng.random() < (0.45 if night else 0.1)
            fill = (252, 218, 120) if lit else ((36, 40, 52) if night else (168, 196, 222))
            draw.rectangle((wx, wy, wx + 11 * u, wy + 16 * u), fill=fill)


def desert(g: Ground) -> None:
    """Three bands of dunes with a few cacti on the nearest."""
    draw, rng, w, u = g.draw, g.rng, g.w, g.u
    sands: list[Colour] = [(222, 184, 128), (210, 162, 100), (192, 140, 82)]
    layers = ridge_layers(
        g,
        sands,
        start=0.04,
        spacing=0.16,
        amp=0.18,
        amp_step=0.04,
        tint=lambda i, c: mix(jitter(rng, c, 8), g.haze, 0.25 - 0.1 * i),
    )
    for _ in range(rng.randint(2, 5)):
        x = rng.uniform(0.05, 0.95) * w
        s = u * rng.uniform(0.8, 1.4)
        y = y_at(layers[2], x) + 20 * s
        green = jitter(rng, (62, 118, 66), 10)
        draw.rounded_rectangle((x - 14 * s, y - 150 * s, x + 14 * s, y), radius=14 * s, fill=green)
        draw.rounded_rectangle(
            (x - 52 * s, y - 100 * s, x - 30 * s, y - 50 * s), radius=10 * s, fill=green
        )
        draw.rectangle((x - 52 * s, y - 62 * s, x, y - 46 * s), fill=green)
        draw.rounded_rectangle(
            (x + 30 * s, y - 120 * s, x + 52 * s, y - 70 * s), radius=10 * s, fill=green
        )
        draw.rectangle((x, y - 84 * s, x + 52 * s, y - 68 * s), fill=green)


def ocean(
    img: Image.Image, rng: random.Random, words: set[str], time: str, horizon: int, u: float
) -> None:
    w, h = img.size
    deep = {"day": (28, 92, 150), "sunset": (70, 60, 110), "night": (10, 22, 52)}[time]
    near = {"day": (18, 58, 108), "sunset": (40, 34, 76), "night": (4, 10, 30)}[time]
    water = gradient((w, h - horizon), deep, near, h - horizon)
    img.paste(water, (0, horizon))
    draw = ImageDraw.Draw(img)
    if has(words, "island"):
        cx, iw = rng.uniform(0.2, 0.8) * w, rng.uniform(120, 220) * u
        draw.ellipse((cx - iw, horizon - 40 * u, cx + iw, horizon + 16 * u), fill=(62, 96, 60))
    glint = {"day": (255, 246, 210), "sunset": (255, 180, 110), "night": (220, 220, 200)}[time]
    for _ in range(int(w * (h - horizon) / 2500)):
        y = rng.uniform(horizon + 4, h)
        depth = (y - horizon) / (h - horizon)
        x, ln = rng.uniform(0, w), (12 + 50 * depth) * u
        colour = mix(deep, glint, 0.25 + 0.2 * rng.random())
        draw.line((x, y, x + ln, y), fill=colour, width=max(1, round((1 + 3 * depth) * u)))
    if has(words, "beach", "coast", "shore", "island"):
        sand = ridge(rng, w, h - (h - horizon) * 0.22, (h - horizon) * 0.06)
        fill_below(draw, [(x, y - 10 * u) for x, y in sand], h, (236, 240, 244))
        fill_below(draw, sand, h, (226, 196, 140))


def space(img: Image.Image, rng: random.Random, w: int, h: int, u: float, cx: float) -> None:
    """Nebula clouds, a ringed planet centred on ``cx`` and a small moon over the starfield."""
    small = Image.new("RGBA", (max(1, w // 8), max(1, h // 8)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(small)
    for _ in range(rng.randint(3, 5)):
        x, y = rng.uniform(0, small.width), rng.uniform(0, small.height)
        rx, ry = rng.uniform(0.15, 0.35) * small.width, rng.uniform(0.1, 0.25) * small.height
        colour = rng.choice([(140, 60, 200), (60, 90, 220), (210, 70, 150), (40, 160, 190)])
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=(*colour, 70))
    nebula = small.filter(ImageFilter.GaussianBlur(max(1, small.width / 30))).resize(
        (w, h), Image.Resampling.BILINEAR
    )
    img.paste(nebula, (0, 0), nebula)
    draw = ImageDraw.Draw(img)
    cy, r = rng.uniform(0.4, 0.6) * h, rng.uniform(150, 200) * u
    body = jitter(rng, rng.choice([(206, 140, 86), (96, 150, 210), (180, 90, 80)]), 14)
    ring = (230, 214, 180)
    draw.ellipse(
        (cx - 1.9 * r, cy - 0.45 * r, cx + 1.9 * r, cy + 0.45 * r),
        outline=ring,
        width=max(2, round(10 * u)),
    )
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=body)
    for i in range(1, 5):
        y = cy - r + i * 2 * r / 5
        half = math.sqrt(max(0.0, r * r - (y - cy) ** 2))
        draw.line(
            (cx - half, y, cx + half, y),
            fill=mix(body, (255, 255, 255), 0.18),
            width=max(2, round(12 * u)),
        )
    draw.chord((cx - r, cy - r, cx + r, cy + r), 20, 160, fill=mix(body, (0, 0, 0), 0.35))
    draw.arc(
        (cx - 1.9 * r, cy - 0.45 * r, cx + 1.9 * r, cy + 0.45 * r),
        0,
        180,
        fill=ring,
        width=max(2, round(10 * u)),
    )
    mx, my, mr = w - cx, cy - 0.9 * r, 0.22 * r
    draw.ellipse((mx - mr, my - mr, mx + mr, my + mr), fill=(200, 200, 210))
