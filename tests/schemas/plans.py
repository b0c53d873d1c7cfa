"""A valid production plan to start from; tests break one rule at a time on a fresh copy."""

from __future__ import annotations

from typing import Any


def valid_plan() -> dict[str, Any]:
    return {
        "title": "The Lighthouse Keeper",
        "aspect_ratio": "16:9",
        "assets": [
            {"name": "keeper", "kind": "character", "prompt": "an old lighthouse keeper"},
            {"name": "lighthouse", "kind": "environment", "prompt": "a lighthouse on a cliff"},
            {"name": "storm", "kind": "environment", "prompt": "a stormy sea at night"},
            {
                "name": "lantern",
                "kind": "prop",
                "prompt": "a brass lantern",
                "references": ["keeper"],
            },
        ],
        "scenes": [
            {
                "number": 1,
                "layout": "composite",
                "images": ["keeper", "lighthouse"],
                "narration": "Every night, the keeper climbed the hundred steps (one by one).",
                "motion_prompt": "slow zoom in on the keeper",
                "sfx_prompt": "wind and distant waves",
                "duration_s": 6,
            },
            {
                "number": 2,
                "layout": "split",
                "images": ["lighthouse", "storm"],
                "narration": "One night, a storm rolled in from the sea.",
                "motion_prompt": "pan across both halves",
                "sfx_prompt": "thunder",
                "duration_s": 5.5,
            },
            {
                "number": 3,
                "layout": "single",
                "images": ["lantern"],
                "narration": "He lit the lantern and waited.",
                "motion_prompt": "flicker of light",
                "sfx_prompt": "a match striking",
                "duration_s": 4,
            },
        ],
        "music": "quiet piano",
    }
