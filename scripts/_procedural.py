"""Offline procedural images for ``generate_asset.py --provider local``.

The point is a stand-in good enough to judge a whole video without any paid service: the prompt's
words pick a place (one of ``KINDS``: sea, lighthouse, harbour, kitchen, jungle, space, ...), a
time of day, the weather and the things standing in it, and the picture shows exactly those,
deterministic per prompt. "Night" is a night sky over that place, never a switch to outer space.
No text is drawn unless ``label`` asks for it (a debugging aid): the video's captions are the only
words a viewer should see. Characters live in ``_procedural_figures``, loose props in
``_procedural_props``, places in ``_procedural_scenes``/``_places``/``_rooms``, the objects
standing in them in ``_procedural_things``.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

import _procedural_figures as figures
import _procedural_places as places
import _procedural_props as props
import _procedural_rooms as rooms
import _procedural_scenes as scenes
import _procedural_sky as sky
import _procedural_things as things
from _procedural_figures import Colour, has, jitter
from PIL import Image, ImageDraw, ImageFont

# Place kinds and the words that call for them; the earliest of these words in the prompt wins,
# so "a lighthouse on a rocky coast" is a lighthouse and "a harbour with a lighthouse" a harbour.
KINDS: dict[str, tuple[str, ...]] = {
    "lighthouse": ("lighthouse", "lighthouses", "beacon"),
    "harbour": ("harbour", "harbor", "port", "quay", "dock", "docks", "pier", "wharf"),
    "ship_deck": ("deck", "aboard"),
    "underwater": ("underwater", "seabed", "reef", "undersea", "seafloor"),
    "coast": ("coast", "shore", "beach", "cliff", "cliffs", "headland", "bay"),
    "sea": ("sea", "ocean", "waves", "voyage", "sailing"),
    "market": ("market", "bazaar", "stalls"),
    "city": ("city", "street", "skyline", "downtown", "avenue", "metropolis"),
    "village": ("village", "town", "cottages", "hamlet"),
    "castle": ("castle", "fortress", "palace", "kingdom"),
    "kitchen": ("kitchen", "bakery", "oven", "stove"),
    "classroom": ("classroom", "school", "blackboard", "lesson"),
    "laboratory": ("laboratory", "lab", "experiment", "experiments"),
    "library": ("library", "archive", "bookshelves", "books"),
    "farm": ("farm", "field", "fields", "barn", "harvest", "wheat", "crops"),
    "river": ("river", "stream", "riverbank"),
    "savanna": ("savanna", "savannah", "grassland", "plains", "safari"),
    "jungle": ("jungle", "rainforest", "tropical"),
    "forest": ("forest", "woods", "woodland", "pines"),
    "mountain": ("mountain", "mountains", "peak", "summit", "alps", "valley"),
    "snowfield": ("snowfield", "snow", "arctic", "glacier", "ice", "polar", "tundra"),
    "desert": ("desert", "dune", "dunes", "sahara", "pyramid", "pyramids", "sand"),
    "cave": ("cave", "cavern", "underground", "mine", "tunnel"),
    "space": ("space", "galaxy", "orbit", "nebula", "cosmos"),
    "sky": ("sky", "clouds", "flight", "flying"),
    "meadow": ("meadow", "hills", "countryside", "park", "garden"),
}
ROOMS = ("kitchen", "classroom", "laboratory", "library", "cave", "underwater")
# Things drawn standing in the place; the words that ask for each.
THINGS: dict[str, tuple[str, ...]] = {
    "lighthouse": ("lighthouse", "lighthouses"),
    "ship": ("ship", "ships", "galleon"),
    "boat": ("boat", "boats", "canoe", "fishing"),
    "house": ("house", "houses", "cottage", "barn", "home"),
    "castle": ("castle",),
    "car": ("car", "cars", "traffic", "taxi"),
    "tree": ("tree", "trees", "oak"),
    "fire": ("fire", "fires", "campfire", "flame", "flames", "hearth", "coal"),
    "pot": ("pot", "soup", "stew", "cooking", "recipe"),
    "planet": ("planet", "planets", "saturn", "jupiter", "mars"),
    "rocket": ("rocket", "rockets", "launch", "spaceship"),
}
ANIMALS = ("elephant", "lion", "giraffe", "bird", "eagle", "parrot", "owl", "seagull", "whale",
           "dolphin", "shark", "fish", "penguin", "horse", "cow", "deer", "bear", "wolf", "fox",
           "dog", "cat", "tiger")  # fmt: skip
FLOATING = ("ship", "boat", "whale", "dolphin", "shark")
NIGHT_WORDS = ("night", "moon", "midnight", "dark", "starry", "moonlit", "nighttime")
SUNSET_WORDS = ("sunset", "dusk", "dawn", "sunrise", "evening", "twilight")
WEATHER: dict[str, tuple[str, ...]] = {
    "storm": ("storm", "stormy", "thunder", "lightning", "gale"),
    "rain": ("rain", "rainy", "drizzle", "raining"),
    "fog": ("fog", "foggy", "mist", "misty", "haze"),
    "snow": ("snowing", "snowfall", "blizzard", "snowflakes"),
}
SIDES = {"left": 0.28, "right": 0.72, "centre": 0.5}


@dataclass(frozen=True)
class SceneSpec:
    """What a prompt asks for; reported in the script's result so tests can check the picture."""

    kind: str
    time: str
    weather: str
    things: tuple[str, ...]
    side: str


def _positions(text: str, words: tuple[str, ...]) -> list[int]:
    return [m.start() for w in words for m in re.finditer(rf"\b{w}\b", text)]


def describe(prompt: str) -> SceneSpec:
    """Read the place, time, weather, things and the subject's side from the prompt's words."""
    text = " ".join(prompt.lower().split())
    words = keywords(prompt)
    found = [(min(p), kind) for kind, keys in KINDS.items() if (p := _positions(text, keys))]
    kind = min(found)[1] if found else "meadow"
    time = "night" if kind == "space" or has(words, *NIGHT_WORDS) else "day"
    if time == "day" and has(words, *SUNSET_WORDS):
        time = "sunset"
    weather = next((name for name, keys in WEATHER.items() if has(words, *keys)), "clear")
    if kind in ROOMS and kind != "cave":
        weather = "clear"
    named = [(min(p), thing) for thing, keys in THINGS.items() if (p := _positions(text, keys))]
    named += [(min(p), a) for a in ANIMALS if (p := _positions(text, (a, a + "s")))]
    listed = [thing for _, thing in sorted(named)]
    if kind == "lighthouse" and "lighthouse" not in listed:
        listed.insert(0, "lighthouse")
    if kind == "space" and not listed:
        listed.append("planet")
    side = "centre"
    for name, pattern in (("left", r"\bleft\b"), ("right", r"\bright\b")):
        if re.search(pattern, text):
            side = name
    return SceneSpec(kind, time, weather, tuple(dict.fromkeys(listed))[:4], side)


def rng_for(prompt: str, kind: str, size: tuple[int, int]) -> random.Random:
    """Same prompt, kind and size give the same picture; anything else gives another."""
    digest = hashlib.sha256(f"{prompt}\x00{kind}\x00{size[0]}x{size[1]}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def keywords(prompt: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def render(prompt: str, kind: str, size: tuple[int, int], *, label: bool = False) -> Image.Image:
    """Draw the asset: RGB for an environment, RGBA on a transparent canvas otherwise.

    ``label`` burns the prompt in (for looking at assets alone); a video never wants it.
    """
    rng = rng_for(prompt, kind, size)
    words = keywords(prompt)
    if kind == "character":
        img = figures.character(rng, words, size)
    elif kind == "prop":
        img = props.prop(rng, words, size)
    else:
        img = environment(rng, describe(prompt), size)
    if label:
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

SKIES: dict[str, tuple[Colour, Colour]] = {
    "day": ((68, 128, 208), (186, 218, 240)),
    "sunset": ((58, 48, 118), (250, 156, 92)),
    "night": ((6, 10, 32), (38, 48, 96)),
}
STORM_SKIES: dict[str, tuple[Colour, Colour]] = {
    "day": ((70, 78, 92), (136, 144, 156)),
    "sunset": ((60, 50, 70), (150, 110, 100)),
    "night": ((8, 10, 20), (30, 34, 50)),
}


def environment(rng: random.Random, spec: SceneSpec, size: tuple[int, int]) -> Image.Image:
    """Sky (outdoors), the place, the things standing in it, then the weather over all."""
    w, h = size
    u = min(w, h) / 1000
    subject_x = SIDES[spec.side] * w
    night = spec.time == "night"
    cloudy = spec.weather in ("storm", "rain", "fog")
    top, bottom = (jitter(rng, c, 10) for c in (STORM_SKIES if cloudy else SKIES)[spec.time])
    if spec.kind == "space":
        top, bottom = (2, 2, 12), jitter(rng, (24, 14, 52), 10)
    horizon = round(h * {"sky": 0.88, "ship_deck": 0.55}.get(spec.kind, rng.uniform(0.56, 0.62)))
    img = scenes.gradient(size, top, bottom, horizon)
    draw = ImageDraw.Draw(img)
    if spec.kind not in ROOMS:
        if night and spec.weather != "storm":
            count = int(w * h / (3500 if spec.kind == "space" else 7000))
            sky.stars(draw, rng, w, horizon, count=count, u=u)
        if spec.kind != "space" and not cloudy:
            body_x = rng.choice((0.2, 0.8)) * w if spec.side == "centre" else w - subject_x
            sky.sky_body(img, rng, spec.time, body_x, horizon, u)
        if spec.kind != "space" and (not night or cloudy):
            for _ in range(rng.randint(2, 4) + (4 if cloudy else 0)):
                x, y = rng.uniform(0.05, 0.95) * w, rng.uniform(0.08, 0.45) * horizon
                sky.cloud(img, rng, x, y, u, spec.time if not cloudy else "storm")
    ground = scenes.Ground(draw, rng, w, h, horizon, u, haze=bottom)
    stage = paint_place(img, ground, spec, subject_x)
    place_things(img, rng, spec, stage, subject_x, horizon)
    if spec.weather != "clear":
        sky.weather(img, rng, spec.weather, u)
    if spec.kind == "snowfield" and spec.weather == "clear":
        sky.weather(img, rng, "snow", u)
    return img


def paint_place(
    img: Image.Image, g: scenes.Ground, spec: SceneSpec, subject_x: float
) -> places.Stage:
    kind, time = spec.kind, spec.time
    if kind in ("lighthouse", "coast"):
        return places.coast(img, g, time, subject_x)
    simple = {
        "sea": places.sea, "harbour": places.harbour, "ship_deck": places.deck,
        "market": places.market, "village": places.village, "farm": places.farm,
        "river": places.river, "savanna": places.savanna, "jungle": places.jungle,
        "sky": places.open_sky, "underwater": rooms.underwater,
    }  # fmt: skip
    if kind in simple:
        return simple[kind](img, g, time)
    sided = {
        "castle": places.castle, "kitchen": rooms.kitchen, "classroom": rooms.classroom,
        "laboratory": rooms.laboratory, "library": rooms.library, "cave": rooms.cave,
    }  # fmt: skip
    if kind in sided:
        return sided[kind](img, g, time, subject_x)
    if kind == "space":
        scenes.space(img, g.rng, g.w, g.h, g.u, subject_x)
        return places.Stage(land=lambda x: g.h * 0.8)
    if kind == "city":
        scenes.city(g, time)
        road = g.horizon + 0.3 * (g.h - g.horizon)
        return places.Stage(land=lambda x: road + 0.2 * (g.h - road))
    if kind == "desert":
        scenes.desert(g)
    else:
        scenes.land(g, {"snowfield": "snow"}.get(kind, kind), time)
    return places.Stage(land=lambda x: g.horizon + 0.3 * (g.h - g.horizon))


def place_things(
    img: Image.Image,
    rng: random.Random,
    spec: SceneSpec,
    stage: places.Stage,
    subject_x: float,
    horizon: float,
) -> None:
    """The first thing stands at the subject's side, the others spread away from it."""
    w = img.width
    u = min(img.size) / 1000
    night = spec.time == "night"
    others = [0.12, 0.88, 0.5, 0.3, 0.7]
    others.sort(key=lambda f: -abs(f * w - subject_x))
    for index, name in enumerate(spec.things):
        if name == "planet" and spec.kind == "space":
            continue  # the space painter already drew it at the subject
        x = subject_x if index == 0 else others[index - 1] * w
        near = index == 0
        s = u * (1.0 if near else 0.6)
        floating = name in FLOATING and stage.water is not None
        y = stage.water if floating and stage.water is not None else stage.land(x)
        if not near and (floating or spec.kind == "sea"):
            y -= 0.5 * (y - horizon)  # farther out: nearer the horizon
        if name == "lighthouse" and spec.kind not in ("lighthouse", "coast"):
            rock = (70, 66, 64) if night else (120, 112, 104)
            ImageDraw.Draw(img).ellipse((x - 90 * s, y - 30 * s, x + 90 * s, y + 30 * s), fill=rock)
        if name == "lighthouse":
            fit = min(s * 1.1, 0.8 * y / 540)  # the lantern stays inside the frame
            things.lighthouse(img, x, y, fit, night, fire="fire" in spec.things)
        elif name == "ship":
            things.ship(img, x, y, s, night, rng)
        elif name == "boat":
            things.boat(img, x, y, s, night, rng)
        elif name == "house":
            things.house(img, x, y, s * 1.4, night, rng)
        elif name == "castle":
            things.castle(img, x, y, s, night)
        elif name == "car":
            things.car(img, x, y, s * 1.2, night, rng)
        elif name == "tree":
            things.tree(img, x, y, s * 1.4, night, rng)
        elif name == "fire":
            if "lighthouse" not in spec.things:
                things.fire(img, x, y, s)
        elif name == "pot":
            things.pot(img, x, y, s * 1.3, night)
        elif name == "planet":
            things.planet(img, x, img.height * 0.25, s * 0.7, rng)
        elif name == "rocket":
            things.rocket(img, x, y, s * 1.2)
        elif name in ("bird", "eagle", "parrot", "owl", "seagull"):
            for k in range(3):
                things.animal(
                    img, x + k * 60 * u, img.height * (0.2 + 0.04 * k), s, "bird", night, False
                )
        else:
            things.animal(img, x, y, s * 1.2, name, night, x > w / 2)
