"""Enclosed places of the offline painter: kitchen, classroom, laboratory, library, cave, underwater.

They have no sky of their own; "night" shows through a window (dark, with the moon) and dims the
room, because a recipe told at night still happens in a kitchen. Each returns the ``Stage`` its
props stand on (the counter, the bench, the floor, the seabed).
"""

from __future__ import annotations

import math

import _procedural_scenes as scenes
import _procedural_things as things
from _procedural_figures import Colour, jitter, mix
from _procedural_places import Stage
from _procedural_scenes import Ground
from PIL import Image, ImageDraw

BLACK: Colour = (0, 0, 0)
WHITE: Colour = (255, 255, 255)


def _room(
    img: Image.Image, g: Ground, wall: Colour, floor: Colour, night: bool, window_x: float
) -> float:
    """Back wall, floor, and one window showing the sky outside; returns the floor line."""
    draw = ImageDraw.Draw(img)
    floor_y = g.h * 0.78
    tint = 0.45 if night else 0.0
    draw.rectangle((0, 0, g.w, floor_y), fill=mix(wall, BLACK, tint))
    draw.rectangle((0, floor_y, g.w, g.h), fill=mix(floor, BLACK, tint))
    ww, wh = 0.16 * g.w, 0.26 * g.h
    x0, y0 = window_x - ww / 2, 0.12 * g.h
    sky_top, sky_bottom = (
        ((10, 16, 44), (40, 50, 100)) if night else ((96, 150, 220), (190, 220, 240))
    )
    img.paste(
        scenes.gradient((round(ww), round(wh)), sky_top, sky_bottom, round(wh)),
        (round(x0), round(y0)),
    )
    draw = ImageDraw.Draw(img)
    if night:
        draw.ellipse(
            (x0 + ww * 0.6, y0 + wh * 0.18, x0 + ww * 0.6 + 30 * g.u, y0 + wh * 0.18 + 30 * g.u),
            fill=(236, 234, 214),
        )
        for _ in range(12):
            sx, sy = x0 + g.rng.uniform(0, ww), y0 + g.rng.uniform(0, wh)
            draw.ellipse(
                (sx - 1.5 * g.u, sy - 1.5 * g.u, sx + 1.5 * g.u, sy + 1.5 * g.u),
                fill=(230, 230, 240),
            )
    frame = mix((240, 236, 226), BLACK, tint)
    draw.rectangle((x0, y0, x0 + ww, y0 + wh), outline=frame, width=max(2, round(10 * g.u)))
    draw.line((x0 + ww / 2, y0, x0 + ww / 2, y0 + wh), fill=frame, width=max(2, round(6 * g.u)))
    draw.line((x0, y0 + wh / 2, x0 + ww, y0 + wh / 2), fill=frame, width=max(2, round(6 * g.u)))
    return floor_y


def kitchen(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    night = time == "night"
    _room(img, g, (230, 222, 200), (150, 110, 80), night, g.w - subject_x)
    draw = ImageDraw.Draw(img)
    tile = mix((200, 210, 214), BLACK, 0.45 if night else 0.0)
    counter = g.h * 0.6
    for y in range(round(counter - 0.16 * g.h), round(counter), max(1, round(40 * g.u))):
        for x in range(0, g.w, max(1, round(40 * g.u))):
            draw.rectangle((x + 2, y + 2, x + 38 * g.u, y + 38 * g.u), fill=tile)
    top = mix((90, 90, 96), BLACK, 0.4 if night else 0.0)
    draw.rectangle((0, counter, g.w, counter + 0.03 * g.h), fill=top)
    wood = mix((170, 120, 80), BLACK, 0.45 if night else 0.0)
    draw.rectangle((0, counter + 0.03 * g.h, g.w, g.h * 0.86), fill=wood)
    for x in range(0, g.w, max(1, round(200 * g.u))):
        draw.rectangle(
            (x + 10 * g.u, counter + 0.05 * g.h, x + 190 * g.u, g.h * 0.84),
            outline=mix(wood, BLACK, 0.3),
            width=max(1, round(4 * g.u)),
        )
    for k in range(6):  # jars on a shelf
        sx = (0.1 + 0.14 * k) * g.w
        if abs(sx - (g.w - subject_x)) < 0.1 * g.w:
            continue
        jar = mix(
            jitter(g.rng, g.rng.choice([(200, 80, 50), (230, 190, 60), (120, 160, 80)]), 10),
            BLACK,
            0.4 if night else 0.0,
        )
        draw.rounded_rectangle(
            (sx - 22 * g.u, 0.3 * g.h - 60 * g.u, sx + 22 * g.u, 0.3 * g.h), 8 * g.u, fill=jar
        )
    draw.rectangle((0, 0.3 * g.h, g.w, 0.3 * g.h + 10 * g.u), fill=wood)
    return Stage(land=lambda x: counter)


def classroom(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    night = time == "night"
    floor_y = _room(img, g, (214, 200, 170), (140, 100, 70), night, g.w - subject_x)
    draw = ImageDraw.Draw(img)
    bx = subject_x
    board = (40, 80, 60)
    draw.rectangle((bx - 0.22 * g.w, 0.12 * g.h, bx + 0.22 * g.w, 0.46 * g.h), fill=(110, 80, 50))
    draw.rectangle((bx - 0.21 * g.w, 0.13 * g.h, bx + 0.21 * g.w, 0.45 * g.h), fill=board)
    chalk, width = (226, 230, 224), max(2, round(4 * g.u))
    cx, cy, r = bx - 0.08 * g.w, 0.29 * g.h, 0.07 * g.h
    draw.ellipse(
        (cx - r, cy - r, cx + r, cy + r), outline=chalk, width=width
    )  # a diagram, never words
    draw.line((cx - r, cy, cx + r, cy), fill=chalk, width=width)
    draw.line(
        (
            bx + 0.02 * g.w,
            0.4 * g.h,
            bx + 0.09 * g.w,
            0.2 * g.h,
            bx + 0.16 * g.w,
            0.4 * g.h,
            bx + 0.02 * g.w,
            0.4 * g.h,
        ),
        fill=chalk,
        width=width,
    )
    desk = mix((170, 120, 70), BLACK, 0.4 if night else 0.0)
    for row, y in enumerate((0.7 * g.h, 0.86 * g.h)):
        for k in range(4):
            x = (0.14 + 0.24 * k + 0.06 * row) * g.w
            dw = (120 + 40 * row) * g.u
            draw.rectangle((x - dw, y - 20 * g.u, x + dw, y), fill=desk)
            for side in (-1, 1):
                draw.rectangle(
                    (
                        x + side * dw * 0.85 - 5 * g.u,
                        y,
                        x + side * dw * 0.85 + 5 * g.u,
                        y + 70 * g.u,
                    ),
                    fill=mix(desk, BLACK, 0.3),
                )
    return Stage(land=lambda x: floor_y)


def laboratory(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    night = time == "night"
    _room(img, g, (214, 226, 232), (120, 130, 140), night, g.w - subject_x)
    draw = ImageDraw.Draw(img)
    bench = g.h * 0.64
    dark = 0.4 if night else 0.0
    for shelf in (0.2 * g.h, 0.36 * g.h):
        draw.rectangle(
            (0, shelf, g.w * 0.4 if subject_x > g.w / 2 else g.w, shelf + 8 * g.u),
            fill=mix((150, 150, 156), BLACK, dark),
        )
        for k in range(8):
            x = (0.04 + 0.05 * k) * g.w if subject_x > g.w / 2 else (0.6 + 0.05 * k) * g.w
            colour = mix(
                g.rng.choice([(90, 200, 120), (80, 140, 230), (230, 90, 120), (240, 200, 60)]),
                BLACK,
                dark,
            )
            draw.rounded_rectangle(
                (x - 14 * g.u, shelf - 60 * g.u, x + 14 * g.u, shelf), 6 * g.u, fill=colour
            )
    draw.rectangle((0, bench, g.w, bench + 0.04 * g.h), fill=mix((60, 64, 72), BLACK, dark))
    draw.rectangle((0, bench + 0.04 * g.h, g.w, g.h * 0.9), fill=mix((200, 204, 210), BLACK, dark))
    for k, dx in enumerate((-120, 0, 120)):  # flasks on the bench at the subject
        x = subject_x + dx * g.u
        liquid = mix((80 + 60 * k, 200 - 50 * k, 160 + 30 * k), BLACK, dark)
        glass = mix((220, 236, 240), BLACK, dark)
        draw.rectangle(
            (x - 12 * g.u, bench - 150 * g.u, x + 12 * g.u, bench - 80 * g.u), fill=glass
        )
        draw.polygon(
            [
                (x - 12 * g.u, bench - 80 * g.u),
                (x + 12 * g.u, bench - 80 * g.u),
                (x + 60 * g.u, bench),
                (x - 60 * g.u, bench),
            ],
            fill=glass,
        )
        draw.polygon(
            [
                (x - 30 * g.u, bench - 40 * g.u),
                (x + 30 * g.u, bench - 40 * g.u),
                (x + 58 * g.u, bench - 2),
                (x - 58 * g.u, bench - 2),
            ],
            fill=liquid,
        )
    return Stage(land=lambda x: bench)


def library(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    night = time == "night"
    floor_y = _room(img, g, (120, 84, 60), (110, 74, 50), night, subject_x)
    draw = ImageDraw.Draw(img)
    dark = 0.45 if night else 0.0
    wood = mix((96, 60, 36), BLACK, dark)
    for x0, x1 in ((0.0, subject_x - 0.12 * g.w), (subject_x + 0.12 * g.w, float(g.w))):
        if x1 - x0 < 60 * g.u:
            continue
        draw.rectangle((x0, 0.05 * g.h, x1, floor_y), fill=wood)
        for shelf in range(5):
            y1 = 0.05 * g.h + (shelf + 1) * (floor_y - 0.05 * g.h) / 5
            x = x0 + 8 * g.u
            while x < x1 - 30 * g.u:
                bw = g.rng.uniform(14, 30) * g.u
                bh = g.rng.uniform(0.6, 0.9) * (floor_y - 0.05 * g.h) / 5
                colour = mix(
                    jitter(
                        g.rng,
                        g.rng.choice([(150, 40, 40), (40, 80, 150), (50, 110, 70), (200, 160, 60)]),
                        14,
                    ),
                    BLACK,
                    dark,
                )
                draw.rectangle((x, y1 - bh, x + bw, y1 - 8 * g.u), fill=colour)
                x += bw + 2 * g.u
            draw.rectangle((x0, y1 - 8 * g.u, x1, y1), fill=mix(wood, BLACK, 0.3))
    table = floor_y - 0.02 * g.h
    draw.rectangle(
        (subject_x - 0.1 * g.w, table - 14 * g.u, subject_x + 0.1 * g.w, table), fill=wood
    )
    for side in (-1, 1):
        leg = subject_x + side * 0.09 * g.w
        draw.rectangle((leg - 6 * g.u, table, leg + 6 * g.u, floor_y + 0.06 * g.h), fill=wood)
    draw.rectangle(
        (subject_x - 40 * g.u, table - 40 * g.u, subject_x + 30 * g.u, table - 14 * g.u),
        fill=(236, 226, 200),
    )
    things.beam(img, subject_x + 60 * g.u, table - 110 * g.u, 120 * g.u, True, 1)
    draw = ImageDraw.Draw(img)
    draw.polygon(
        [
            (subject_x + 30 * g.u, table - 100 * g.u),
            (subject_x + 90 * g.u, table - 100 * g.u),
            (subject_x + 60 * g.u, table - 140 * g.u),
        ],
        fill=(40, 110, 70),
    )
    draw.rectangle(
        (subject_x + 56 * g.u, table - 100 * g.u, subject_x + 64 * g.u, table - 14 * g.u),
        fill=(60, 60, 60),
    )
    return Stage(land=lambda x: floor_y + 0.1 * g.h)


def cave(img: Image.Image, g: Ground, time: str, subject_x: float) -> Stage:
    """Dark rock all round, a bright mouth on the far side, stalactites, a stony floor."""
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, g.w, g.h), fill=(34, 30, 32))
    mouth_x = g.w - subject_x
    outside = (30, 40, 80) if time == "night" else (200, 220, 230)
    draw.ellipse((mouth_x - 0.18 * g.w, 0.25 * g.h, mouth_x + 0.18 * g.w, 0.95 * g.h), fill=outside)
    for k in range(5):
        r = 0.8 - 0.12 * k
        colour = mix((70, 62, 60), (34, 30, 32), k / 5)
        draw.ellipse(
            (g.w * (0.5 - r), g.h * (0.5 - r), g.w * (0.5 + r), g.h * (0.5 + r)),
            outline=colour,
            width=max(2, round(40 * g.u)),
        )
    for _ in range(14):
        x = g.rng.uniform(0, g.w)
        length = g.rng.uniform(0.05, 0.22) * g.h
        half = g.rng.uniform(10, 30) * g.u
        draw.polygon([(x - half, 0), (x + half, 0), (x, length)], fill=(60, 54, 52))
    floor_y = g.h * 0.82
    pts = scenes.ridge(g.rng, g.w, floor_y, 0.03 * g.h)
    scenes.fill_below(draw, pts, g.h, (66, 58, 54))
    return Stage(land=lambda x: scenes.y_at(pts, x) + 10 * g.u)


def underwater(img: Image.Image, g: Ground, time: str) -> Stage:
    """Light from above fading into deep blue, rays, a sandy bed with weed, bubbles."""
    night = time == "night"
    top, bottom = ((10, 40, 80), (2, 10, 30)) if night else ((60, 170, 210), (10, 60, 120))
    img.paste(scenes.gradient((g.w, g.h), top, bottom, g.h), (0, 0))
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    rays = ImageDraw.Draw(layer)
    for _ in range(6):
        x = g.rng.uniform(0, g.w)
        rays.polygon(
            [(x, 0), (x + 60 * g.u, 0), (x + 260 * g.u, g.h), (x + 120 * g.u, g.h)],
            fill=(255, 255, 255, 18),
        )
    img.paste(layer, (0, 0), layer)
    draw = ImageDraw.Draw(img)
    bed = g.h * 0.84
    pts = scenes.ridge(g.rng, g.w, bed, 0.04 * g.h)
    scenes.fill_below(draw, pts, g.h, mix((200, 180, 130), BLACK, 0.5 if night else 0.15))
    for _ in range(10):
        x = g.rng.uniform(0, g.w)
        y = scenes.y_at(pts, x)
        height = g.rng.uniform(0.1, 0.3) * g.h
        weed = [(x + 16 * g.u * math.sin(t / 2), y - height * t / 10) for t in range(11)]
        draw.line(weed, fill=(40, 120, 70), width=max(2, round(10 * g.u)))
    for _ in range(20):
        x, y, r = g.rng.uniform(0, g.w), g.rng.uniform(0, bed), g.rng.uniform(3, 9) * g.u
        draw.ellipse(
            (x - r, y - r, x + r, y + r), outline=(210, 236, 250), width=max(1, round(2 * g.u))
        )
    for _ in range(3):
        x, y = g.rng.uniform(0.1, 0.9) * g.w, g.rng.uniform(0.3, 0.7) * g.h
        things.animal(img, x, y, 0.4 * g.u, "fish", night, g.rng.random() < 0.5)
    return Stage(land=lambda x: scenes.y_at(pts, x) + 10 * g.u, water=g.h * 0.5)
