"""Outdoor places of the offline painter that ``_procedural_scenes`` does not already draw.

Sea and coast (with the headland a lighthouse stands on), harbour, ship deck, market street,
village, castle hill, farm, river, savanna, jungle and open sky. Each paints below (or, for the
sky, around) a horizon the caller has given a sky, and returns a ``Stage``: where standing things
touch the ground and where floating things sit on the water, so props land on what was drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import _procedural_scenes as scenes
import _procedural_things as things
from _procedural_figures import Colour, jitter, mix
from _procedural_scenes import Ground
from PIL import Image, ImageDraw

BLACK: Colour = (0, 0, 0)


@dataclass(frozen=True)
class Stage:
    """Where props go: ``land(x)`` is the ground's y at x; ``water`` the y floating things sit at."""

    land: Callable[[float], float]
    water: float | None = None


def dim(colour: Colour, night: bool, amount: float = 0.5) -> Colour:
    return mix(colour, BLACK, amount) if night else colour


def water(img: Image.Image, g: Ground, time: str, top: float | None = None) -> float:
    """Open water from the horizon (or ``top``) down; returns the y a ship sits at."""
    scenes.ocean(img, g.rng, set(), time, round(top if top is not None else g.horizon), g.u)
    return g.horizon + 0.3 * (g.h - g.horizon)


def headland(img: Image.Image, g: Ground, cx: float, night: bool) -> Callable[[float], float]:
    """A rocky cliff rising from the sea under ``cx`` and running off the nearer frame edge."""
    draw = ImageDraw.Draw(img)
    top = g.horizon - 0.04 * g.h
    if abs(cx - g.w / 2) < g.w * 0.05:  # centred subject: an island rock in the middle
        left, right = cx - 0.22 * g.w, cx + 0.22 * g.w
    elif cx < g.w / 2:
        left, right = -0.02 * g.w, cx + 0.2 * g.w
    else:
        left, right = cx - 0.2 * g.w, 1.02 * g.w
    span = right - left
    rock = dim((120, 112, 104), night, 0.45)
    steps = 14
    pts = [(left, g.h)]
    for k in range(steps + 1):
        f = k / steps
        rise = min(1.0, 4 * f, 4 * (1 - f))  # slopes down at both ends
        y = g.horizon + 0.02 * g.h - rise * (g.horizon + 0.02 * g.h - top)
        pts.append((left + span * f, y + g.rng.uniform(-0.012, 0.012) * g.h * rise))
    pts.append((right, g.h))
    draw.polygon(pts, fill=rock)
    for k in range(10):  # strata: darker bands down the cliff face
        y = top + (g.h - top) * (0.08 + 0.09 * k)
        draw.line((left + span * 0.12, y, right - span * 0.12, y + g.rng.uniform(-8, 8) * g.u),
                  fill=mix(rock, BLACK, 0.25), width=max(1, round(5 * g.u)))  # fmt: skip
    grass = dim((82, 124, 66), night, 0.55)
    crest = pts[1:-1]
    draw.polygon([*crest, *[(x, y + 0.025 * g.h) for x, y in reversed(crest)]], fill=grass)
    return lambda x: top + 0.012 * g.h


def coast(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    ship_y = water(img, g, time)
    ground = headland(img, g, subject_x, time == "night")
    return Stage(land=ground, water=ship_y)


def sea(img: Image.Image, g: Ground, time: str) -> Stage:
    ship_y = water(img, g, time)
    return Stage(land=lambda x: ship_y, water=ship_y)


def harbour(img: Image.Image, g: Ground, time: str) -> Stage:
    """Far shore with houses, open water, a stone quay along the bottom with bollards."""
    night = time == "night"
    draw = ImageDraw.Draw(img)
    shore = g.horizon
    draw.rectangle((0, shore - 0.03 * g.h, g.w, shore), fill=dim((96, 120, 80), night, 0.6))
    x = 0.0
    while x < g.w:
        things.house(img, x, shore, 0.45 * g.u, night, g.rng)
        x += g.rng.uniform(90, 160) * g.u
    water(img, g, time, top=shore)
    quay = g.h - 0.12 * g.h
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, quay, g.w, g.h), fill=dim((128, 122, 112), night))
    for bx in range(0, g.w, max(1, round(90 * g.u))):
        draw.line((bx, quay, bx, g.h), fill=dim((100, 94, 86), night), width=max(1, round(3 * g.u)))
    for k in range(4):
        bx = (0.1 + 0.27 * k) * g.w
        draw.rounded_rectangle((bx - 12 * g.u, quay - 30 * g.u, bx + 12 * g.u, quay + 4 * g.u),
                               6 * g.u, fill=(40, 40, 44))  # fmt: skip
    ship_y = shore + 0.45 * (quay - shore)
    return Stage(land=lambda x: quay, water=ship_y)


def deck(img: Image.Image, g: Ground, time: str) -> Stage:
    """Aboard: sea to the horizon, wooden planks in perspective, a rail along the side."""
    night = time == "night"
    water(img, g, time)
    draw = ImageDraw.Draw(img)
    top = g.h * 0.74
    wood = dim((150, 106, 64), night, 0.55)
    draw.polygon([(0, top), (g.w, top), (g.w, g.h), (0, g.h)], fill=wood)
    for k in range(-12, 13):
        x0 = g.w / 2 + k * g.w * 0.04
        draw.line((x0, top, g.w / 2 + k * g.w * 0.12, g.h), fill=mix(wood, BLACK, 0.3),
                  width=max(1, round(3 * g.u)))  # fmt: skip
    rail_y = top - 0.08 * g.h
    draw.rectangle((0, rail_y, g.w, rail_y + 12 * g.u), fill=mix(wood, BLACK, 0.2))
    for x in range(0, g.w + 1, max(1, round(110 * g.u))):
        draw.rectangle((x - 6 * g.u, rail_y, x + 6 * g.u, top), fill=mix(wood, BLACK, 0.2))
    draw.rectangle((0, top - 4 * g.u, g.w, top + 6 * g.u), fill=mix(wood, BLACK, 0.35))
    return Stage(land=lambda x: g.h - 0.06 * g.h, water=g.horizon + 0.15 * (g.h - g.horizon))


def market(img: Image.Image, g: Ground, time: str) -> Stage:
    """A street of stalls with striped awnings in front of the city's buildings."""
    scenes.city(g, time)
    night = time == "night"
    draw = ImageDraw.Draw(img)
    base = g.horizon + 0.3 * (g.h - g.horizon)
    x = g.rng.uniform(-40, 20) * g.u
    while x < g.w:
        sw = g.rng.uniform(180, 240) * g.u
        top = base - 170 * g.u
        colour = dim(
            g.rng.choice([(200, 50, 50), (40, 120, 190), (230, 170, 40), (60, 150, 90)]), night
        )
        draw.rectangle((x, top + 60 * g.u, x + sw, base), fill=dim((120, 84, 50), night))
        for k in range(6):
            fill = colour if k % 2 == 0 else dim((244, 240, 230), night)
            draw.polygon([(x + sw * k / 6, top), (x + sw * (k + 1) / 6, top),
                          (x + sw * (k + 1) / 6 + 6 * g.u, top + 60 * g.u), (x + sw * k / 6 + 6 * g.u, top + 60 * g.u)],
                         fill=fill)  # fmt: skip
        for k in range(5):
            fx = x + sw * (0.15 + 0.17 * k)
            fruit = dim(
                g.rng.choice([(230, 120, 40), (200, 40, 40), (240, 210, 60), (90, 170, 60)]), night
            )
            draw.ellipse(
                (fx - 14 * g.u, top + 92 * g.u, fx + 14 * g.u, top + 120 * g.u), fill=fruit
            )
        x += sw + g.rng.uniform(20, 60) * g.u
    return Stage(land=lambda x: g.h - 0.04 * g.h)


def _ground_band(g: Ground, colours: list[Colour], night: bool) -> list[list[tuple[float, float]]]:
    return scenes.ridge_layers(
        g, colours, start=0.03, spacing=0.14, amp=0.1, amp_step=0.02,
        tint=lambda i, c: dim(mix(jitter(g.rng, c, 8), g.haze, 0.25 - 0.1 * i), night, 0.5),
    )  # fmt: skip


def village(img: Image.Image, g: Ground, time: str) -> Stage:
    night = time == "night"
    layers = _ground_band(g, [(96, 146, 76), (80, 130, 62), (66, 114, 52)], night)
    for k in range(7):
        x = (k + 0.5) / 7 * g.w + g.rng.uniform(-20, 20) * g.u
        things.house(img, x, scenes.y_at(layers[0], x) + 6 * g.u, 0.8 * g.u, night, g.rng)
    draw = ImageDraw.Draw(img)
    path = dim((176, 156, 120), night)
    draw.polygon([(g.w * 0.45, g.horizon + 0.12 * (g.h - g.horizon)), (g.w * 0.55, g.horizon + 0.12 * (g.h - g.horizon)),
                  (g.w * 0.75, g.h), (g.w * 0.25, g.h)], fill=path)  # fmt: skip
    return Stage(land=lambda x: scenes.y_at(layers[-1], x) + 30 * g.u)


def castle(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    night = time == "night"
    draw = ImageDraw.Draw(img)
    hill = dim((84, 130, 66), night, 0.55)
    top = g.horizon - 0.05 * g.h
    draw.ellipse((subject_x - 0.35 * g.w, top, subject_x + 0.35 * g.w, top + 0.5 * g.h), fill=hill)
    layers = _ground_band(g, [(86, 136, 70), (70, 120, 56)], night)
    return Stage(land=lambda x: top + 0.02 * g.h if abs(x - subject_x) < 0.1 * g.w
                 else scenes.y_at(layers[-1], x) + 20 * g.u)  # fmt: skip


def farm(img: Image.Image, g: Ground, time: str) -> Stage:
    """Striped fields in perspective, a fence and a few trees."""
    night = time == "night"
    draw = ImageDraw.Draw(img)
    crops = [(196, 170, 80), (110, 150, 60), (170, 130, 70), (90, 140, 64)]
    rows = 9
    for k in range(rows):
        y0 = g.horizon + (g.h - g.horizon) * (k / rows) ** 1.4
        y1 = g.horizon + (g.h - g.horizon) * ((k + 1) / rows) ** 1.4
        draw.rectangle((0, y0, g.w, y1), fill=dim(jitter(g.rng, crops[k % len(crops)], 8), night))
    fence_y = g.horizon + 0.55 * (g.h - g.horizon)
    wood = dim((120, 90, 60), night)
    draw.rectangle((0, fence_y - 30 * g.u, g.w, fence_y - 24 * g.u), fill=wood)
    draw.rectangle((0, fence_y - 14 * g.u, g.w, fence_y - 8 * g.u), fill=wood)
    for x in range(0, g.w + 1, max(1, round(80 * g.u))):
        draw.rectangle((x - 4 * g.u, fence_y - 44 * g.u, x + 4 * g.u, fence_y), fill=wood)
    for _ in range(3):
        x = g.rng.uniform(0.05, 0.95) * g.w
        things.tree(img, x, g.horizon + 4 * g.u, 0.5 * g.u, night, g.rng)
    return Stage(land=lambda x: g.horizon + 0.35 * (g.h - g.horizon))


def river(img: Image.Image, g: Ground, time: str) -> Stage:
    night = time == "night"
    layers = _ground_band(g, [(96, 150, 76), (78, 132, 60), (62, 116, 50)], night)
    draw = ImageDraw.Draw(img)
    colour = dim((70, 130, 190), night, 0.6)
    pts_left, pts_right = [], []
    for k in range(21):
        t = k / 20
        y = g.horizon + 0.05 * (g.h - g.horizon) + t * 0.95 * (g.h - g.horizon)
        cx = g.w * (0.5 + 0.18 * __import__("math").sin(t * 5 + g.rng.uniform(0, 0.2)))
        half = (8 + 240 * t) * g.u
        pts_left.append((cx - half, y))
        pts_right.append((cx + half, y))
    draw.polygon(pts_left + pts_right[::-1], fill=colour)
    for x0, y0 in pts_left[4::3]:
        draw.line(
            (x0 + 20 * g.u, y0, x0 + 80 * g.u, y0),
            fill=mix(colour, (255, 255, 255), 0.3),
            width=max(1, round(3 * g.u)),
        )
    return Stage(
        land=lambda x: scenes.y_at(layers[-1], x) + 30 * g.u,
        water=g.horizon + 0.6 * (g.h - g.horizon),
    )


def savanna(img: Image.Image, g: Ground, time: str) -> Stage:
    """Flat golden grassland with flat-topped acacias."""
    night = time == "night"
    layers = _ground_band(g, [(214, 180, 100), (200, 164, 84), (186, 150, 72)], night)
    draw = ImageDraw.Draw(img)
    for _ in range(g.rng.randint(2, 4)):
        x = g.rng.uniform(0.05, 0.95) * g.w
        y = scenes.y_at(layers[0], x) + 6 * g.u
        s = g.u * g.rng.uniform(0.7, 1.1)
        trunk = dim((90, 70, 50), night)
        draw.line((x, y, x + 10 * s, y - 130 * s), fill=trunk, width=max(2, round(10 * s)))
        draw.ellipse(
            (x - 110 * s, y - 170 * s, x + 130 * s, y - 120 * s), fill=dim((84, 110, 50), night)
        )
    return Stage(land=lambda x: scenes.y_at(layers[-1], x) + 30 * g.u)


def jungle(img: Image.Image, g: Ground, time: str) -> Stage:
    """Layer on layer of big leaves, vines from the top, a dark floor."""
    night = time == "night"
    draw = ImageDraw.Draw(img)
    layers = _ground_band(g, [(40, 96, 44), (30, 80, 36), (22, 64, 30)], night)
    for depth in range(3):
        green = dim(jitter(g.rng, (34 + 14 * depth, 110 - 10 * depth, 40), 10), night, 0.6)
        for _ in range(16):
            x = g.rng.uniform(0, g.w)
            y = (
                g.rng.uniform(g.horizon - 0.35 * g.h, g.h)
                if depth < 2
                else g.rng.choice((g.rng.uniform(0, 0.2 * g.h), g.rng.uniform(0.8 * g.h, g.h)))
            )
            r = (60 + 50 * depth) * g.u
            draw.ellipse((x - r, y - r * 0.45, x + r, y + r * 0.45), fill=green)
    for _ in range(8):
        x = g.rng.uniform(0, g.w)
        length = g.rng.uniform(0.15, 0.4) * g.h
        draw.line(
            (x, 0, x + 20 * g.u, length),
            fill=dim((40, 90, 40), night),
            width=max(2, round(6 * g.u)),
        )
    return Stage(land=lambda x: scenes.y_at(layers[-1], x) + 30 * g.u)


def open_sky(img: Image.Image, g: Ground, time: str) -> Stage:
    """Mostly sky: a thin band of far hills at the bottom, birds."""
    night = time == "night"
    draw = ImageDraw.Draw(img)
    base = g.h - 0.08 * g.h
    pts = scenes.ridge(g.rng, g.w, base, 0.05 * g.h)
    scenes.fill_below(draw, pts, g.h, dim((90, 130, 90), night, 0.6))
    return Stage(land=lambda x: scenes.y_at(pts, x))
