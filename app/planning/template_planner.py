"""The offline planner: a deterministic production plan from title, topic and story direction.

It needs no network and no key, so the demo and tests always have a planner; the same inputs
always give the same plan, which keeps re-runs of the plan step idempotent. Each sentence of the
story direction becomes one scene, in order, and each scene gets its own picture chosen from its
words (``template_places``): the place it names, or the topic family's next place; the time of
day and weather it mentions; the things it and the topic name. A character appears only in a
scene whose sentence names a person.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from app.planning import template_places as places
from app.planning.plan import character_position

MIN_SCENES = 6
MAX_SCENES = 16

_ARC = (
    "Our story begins with {subject}.",
    "At first, everything about {subject} seemed ordinary.",
    "But {subject} was about to change.",
    "Few people knew what {subject} really meant.",
    "Then came the moment nobody expected.",
    "Step by step, the truth about {subject} came into view.",
    "There were doubts, and there were setbacks.",
    "Still, the journey went on.",
    "Every clue pointed in the same direction.",
    "And slowly, a bigger picture appeared.",
    "What happened next surprised everyone.",
    "It was a turning point for {subject}.",
    "Looking back, the signs had been there all along.",
    "Today, {subject} is remembered differently.",
    "And that is why this story still matters.",
    "Thanks for watching, and see you in the next story.",
)
_MOTIONS = (
    "slow push in toward {focus}",
    "slow pull out from {focus}",
    "slow pan {side} toward {focus}",
)


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12], 16)


def _sentences(text: str | None) -> list[str]:
    if not text:
        return []
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    cleaned = [re.sub(r"[\[\](){}<>]", "", p).strip() for p in parts]
    return [p if p.endswith((".", "!", "?")) else f"{p}." for p in cleaned if len(p) > 3]


def _subject(title: str, topic: str | None) -> str:
    subject = (topic or title).strip().rstrip(".!?")
    return subject[:80] if subject else "this story"


def _article(phrase: str) -> str:
    return phrase if phrase.startswith(("a ", "an ", "the ")) else f"a {phrase}"


@dataclass
class _Shot:
    """One scene's picture as chosen from its words: place, time, weather, things, side."""

    kind: str
    time: str
    weather: str | None
    things: list[str]
    side: str  # where the subject stands: left, right or centre

    def prompt(self) -> str:
        parts = [places.PLACES[self.kind].prompt]
        indoor = self.kind in places.INDOOR
        night = "at night" if indoor else "at night under a starry sky"
        parts.append({"night": night, "sunset": "at sunset"}.get(self.time, "in daylight"))
        if self.weather:
            parts.append(self.weather)
        where = "" if self.side == "centre" else f" on the {self.side}"
        things = self.things
        if self.kind == "lighthouse":  # the place is its own subject
            lit = " lit by an open fire" if "fire" in things else ""
            parts.append(f"the lighthouse{where}{lit}")
            things, where = [t for t in things if t != "fire"], ""
        if things:
            named = [places.THINGS[t].phrase for t in things]
            parts.append("with " + " and ".join([named[0] + where, *named[1:]]))
        elif where:
            parts.append(f"the focus{where}")
        return ", ".join(parts)

    def motion(self, pick: int) -> str:
        if self.kind == "lighthouse":
            focus = "the lighthouse"
        elif self.things:
            focus = "the " + places.THINGS[self.things[0]].phrase.split(" ", 1)[1]
        elif self.side == "centre":
            focus = "the middle of the scene"
        else:
            return _MOTIONS[pick % 2].format(focus=f"the {self.side} of the scene")
        if self.side == "centre":
            return _MOTIONS[pick % 2].format(focus=focus)
        focus = f"{focus} on the {self.side}"
        return _MOTIONS[pick % len(_MOTIONS)].format(focus=focus, side=self.side)


def _shot(
    heard: list[str],
    topic_words: list[str],
    kind: str,
    side: str,
    default_time: str,
) -> _Shot:
    """The sentence's own words first; the topic fills in what the sentence does not say."""
    time = places.time_for(heard) or places.time_for(topic_words) or default_time
    weather = places.weather_for(heard)
    things = places.things_for(heard, kind)
    things += [t for t in places.things_for(topic_words, kind) if t not in things]
    fallback = places.PLACES[kind].thing
    if fallback is not None:  # the place's own subject first: a ship at sea, a pot in a kitchen
        things = [fallback, *[t for t in things if t != fallback]]
    if kind == "lighthouse":
        things = [t for t in things if t != "lighthouse"]
        if "fire" in things:
            things = ["fire", *[t for t in things if t != "fire"]]
    return _Shot(kind, time, weather, things[:3], side)


def plan_from_brief(
    *,
    title: str,
    topic: str | None,
    story_direction: str | None,
    aspect_ratio: str = "16:9",
    scene_count: int | None = None,
    scene_duration_s: float = 5.0,
    notes: str | None = None,
) -> dict[str, Any]:
    """Build a plan dict (validated by the caller with the ProductionPlan model)."""
    subject = _subject(title, topic)
    direction = _sentences(story_direction) + _sentences(notes)
    seed = _seed(title, topic or "", story_direction or "", notes or "")
    count = scene_count or (MIN_SCENES + len(direction))
    count = max(MIN_SCENES, min(MAX_SCENES, count))

    topic_words = places.words_of(" ".join([title, topic or ""]))
    family = places.family_for(
        places.words_of(" ".join([title, topic or "", story_direction or ""]))
    )
    default_time = "night" if family == places.SPACE_FAMILY else "day"
    assets: list[dict[str, Any]] = []
    prompts: dict[str, str] = {}

    def environment(name: str, shot: _Shot) -> str:
        """One environment per picture, shared by scenes that would paint the same prompt."""
        prompt = shot.prompt()
        if prompt in prompts:
            return prompts[prompt]
        prompts[prompt] = name
        assets.append({"name": name, "kind": "environment", "prompt": prompt, "references": []})
        return name

    def shot_for(heard: list[str], index: int, side: str) -> _Shot:
        """The place the sentence names; else the family's next place not yet painted so."""
        named = places.place_for(heard)
        if named is not None:
            return _shot(heard, topic_words, named, side, default_time)
        options = [family[(index + k) % len(family)] for k in range(len(family))]
        shots = [_shot(heard, topic_words, kind, side, default_time) for kind in options]
        fresh = next((s for s in shots if s.prompt() not in prompts), None)
        if fresh is None and shots[0].time == "day":  # every place painted: a later hour
            fresh = dataclasses.replace(shots[0], time="sunset")
        return fresh or shots[0]

    split_at = count // 2
    scenes: list[dict[str, Any]] = []
    for index in range(count):
        number = index + 1
        if index < len(direction):
            narration = direction[index]
            heard = places.words_of(narration)
        else:
            template = _ARC[index % len(_ARC)]
            narration = template.format(subject=subject)
            heard = places.words_of(template.replace("{subject}", ""))
        if index == 0:
            narration = f"{title.strip().rstrip('.!?')}. {narration}"
            heard = places.words_of(narration)
        role = places.person_for(heard)
        side = ("left", "right")[(seed + index) % 2]
        if role is not None:
            # The character stands on its side (see ``character_position``), the subject opposite.
            side = "right" if character_position(number) == "left" else "left"
            shot = shot_for(heard, index, side)
            character = _character(assets, role)
            layout, images = "composite", [character, environment(f"{shot.kind}-{number}", shot)]
        elif number == split_at and number != count:
            shot = shot_for(heard, index, "centre")
            other_kind = next(k for k in (*family, *places.PLACES) if k != shot.kind)
            other = _shot([], topic_words, other_kind, "centre", default_time)
            layout = "split"
            images = [environment(f"{shot.kind}-{number}", shot),
                      environment(f"{other.kind}-{number}b", other)]  # fmt: skip
        else:
            shot = shot_for(heard, index, side)
            layout, images = "single", [environment(f"{shot.kind}-{number}", shot)]
        scenes.append(
            {
                "number": number,
                "layout": layout,
                "images": images,
                "narration": narration[:900],
                "motion_prompt": shot.motion((seed + index) % 3),
                "sfx_prompt": _sfx(shot),
                "duration_s": scene_duration_s,
            }
        )
    return {
        "title": title.strip()[:200],
        "aspect_ratio": aspect_ratio,
        "assets": assets,
        "scenes": scenes,
        "music": None,
    }


def _character(assets: list[dict[str, Any]], role: str) -> str:
    if not any(a["name"] == role for a in assets):
        prompt = places.PEOPLE[role][1]
        assets.insert(0, {"name": role, "kind": "character", "prompt": prompt, "references": []})
    return role


def _sfx(shot: _Shot) -> str:
    """An effect that belongs to the place: waves by the sea, wind on a mountain, a room's hum."""
    if (shot.weather and "rain" in shot.weather) or shot.weather == "stormy weather":
        return "rain"
    if shot.kind in places.WATER or shot.kind == "underwater":
        return "water"
    if shot.kind in places.INDOOR:
        return "hum"
    if shot.kind == "space":
        return "whoosh"
    return "wind"
