"""The offline planner: a deterministic production plan from title, topic and story direction.

It needs no network and no key, so the demo and tests always have a planner; the same inputs
always give the same plan, which keeps re-runs of the plan step idempotent.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

MIN_SCENES = 6
MAX_SCENES = 16

_ENVIRONMENTS = (
    ("forest", "a misty forest at dawn, tall pines, soft light"),
    ("city", "a quiet city street at night, glowing windows"),
    ("ocean", "a calm ocean shore under a wide sky, gentle waves"),
    ("desert", "a warm desert with dunes under a bright sun"),
    ("mountain", "snowy mountains above a green valley"),
    ("space", "deep space with stars and a distant planet"),
)
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "forest": ("forest", "wood", "tree", "jungle", "wild", "animal"),
    "city": ("city", "street", "town", "market", "factory", "history", "invention"),
    "ocean": (
        "ocean",
        "sea",
        "ship",
        "coast",
        "lighthouse",
        "island",
        "whale",
        "fish",
        "harbor",
        "boat",
    ),
    "desert": ("desert", "egypt", "pyramid", "sand", "sun", "ancient"),
    "mountain": ("mountain", "snow", "valley", "climb", "winter", "river"),
    "space": ("space", "star", "planet", "moon", "rocket", "galaxy", "astronaut"),
}
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
_MOTIONS = ("slow zoom in", "pan left", "slow zoom out", "pan right")
_SFX = ("wind", "hum", "whoosh", "rain", "water", "impact")


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12], 16)


def _sentences(text: str | None) -> list[str]:
    if not text:
        return []
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    cleaned = [re.sub(r"[\[\](){}<>]", "", p).strip() for p in parts]
    return [p if p.endswith((".", "!", "?")) else f"{p}." for p in cleaned if len(p) > 3]


def _pick_environments(text: str, seed: int) -> list[tuple[str, str]]:
    """Three distinct settings: those the brief's words suggest first, then seeded others."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    scored = sorted(
        range(len(_ENVIRONMENTS)),
        key=lambda i: (
            -sum(1 for k in _KEYWORDS[_ENVIRONMENTS[i][0]] if any(w.startswith(k) for w in words)),
            (i + seed) % len(_ENVIRONMENTS),
        ),
    )
    return [_ENVIRONMENTS[i] for i in scored[:3]]


def _subject(title: str, topic: str | None) -> str:
    subject = (topic or title).strip().rstrip(".!?")
    return subject[:80] if subject else "this story"


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

    env_a, env_b, env_c = _pick_environments(
        " ".join([title, topic or "", story_direction or ""]), seed
    )
    hero = f"hero of {subject}"[:60]
    assets: list[dict[str, Any]] = [
        {
            "name": "narrator",
            "kind": "character",
            "prompt": f"a friendly guide figure, {hero}",
            "references": [],
        },
        {"name": f"{env_a[0]}-scene", "kind": "environment", "prompt": env_a[1], "references": []},
        {"name": f"{env_b[0]}-scene", "kind": "environment", "prompt": env_b[1], "references": []},
    ]
    if env_c[0] not in (env_a[0], env_b[0]):
        assets.append(
            {
                "name": f"{env_c[0]}-scene",
                "kind": "environment",
                "prompt": env_c[1],
                "references": [],
            }
        )
    environments = [a["name"] for a in assets if a["kind"] == "environment"]

    scenes: list[dict[str, Any]] = []
    for index in range(count):
        number = index + 1
        if index < len(direction):
            narration = direction[index]
        else:
            narration = _ARC[index % len(_ARC)].format(subject=subject)
        if index == 0:
            narration = f"{title.strip().rstrip('.!?')}. {narration}"
        environment = environments[index % len(environments)]
        if number == count // 2 and len(environments) >= 2:
            layout, images = "split", [environments[0], environments[1]]
        elif number == count:
            layout, images = "single", [environment]
        else:
            layout, images = "composite", ["narrator", environment]
        scenes.append(
            {
                "number": number,
                "layout": layout,
                "images": images,
                "narration": narration[:900],
                "motion_prompt": _MOTIONS[(seed + index) % len(_MOTIONS)],
                "sfx_prompt": _SFX[(seed + index) % len(_SFX)],
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
