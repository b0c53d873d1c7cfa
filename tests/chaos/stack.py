"""Every external service the fleet talks to, as fakes on loopback behind a fault injector.

``running_stack`` starts Gemini, KIE.ai (Kling), catbox, ElevenLabs, YouTube (+ Google OAuth),
Notion and Discord fakes, each wrapped in a ``FaultInjector`` with its own seeded RNG and a rule
per endpoint saying which faults are realistic there, and returns the environment that points a
fleet at them. The keys are recognisable fakes (``FAKEKEY``) so a test can grep for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from tests.fakes.catbox import FakeCatbox
from tests.fakes.discord import FakeDiscord
from tests.fakes.elevenlabs import ElevenLabsFake, create_app
from tests.fakes.faults import POST_KINDS, PRE_KINDS, FaultInjector, FaultRule
from tests.fakes.gemini import FakeGemini
from tests.fakes.kie import FakeKie
from tests.fakes.notion import NotionFake
from tests.fakes.notion import create_app as notion_app
from tests.fakes.server import serve
from tests.fakes.youtube import YouTubeFake, settings_env
from tests.fakes.youtube import create_app as youtube_app
from tests.scripts.video_checks import make_clip
from tests.services.notion_support import board_properties

POST = frozenset({"POST"})


@dataclass(frozen=True)
class Keys:
    """Recognisable fake secrets, one per service (none may ever show up outside its use)."""

    gemini: str = "sk-FAKEKEY-gemini-7f3a9c1e5b2d4f60"
    kie: str = "sk-FAKEKEY-kie-2b8e6d0a4c1f3e57"
    elevenlabs: str = "sk-FAKEKEY-eleven-9d1c3b5a7e2f4068"
    notion: str = "ntn_FAKEKEY_notion_4e6a8c0b2d1f3a59"
    youtube_refresh: str = "1//FAKEKEY-yt-refresh-5c7e9a1b3d2f4068"
    youtube_client_secret: str = "GOCSPX-FAKEKEY-client-8a0c2e4b6d1f"
    api_token: str = "FAKEKEY-api-token-3f5a7c9e1b2d4068"
    s3_secret: str = "FAKEKEY-s3-secret-6b8d0f2a4c1e3579"
    discord_token: str = "FAKEKEY-discord-1a3c5e7b9d2f4068"
    webhook_secret: str = "FAKEKEY-notion-webhook-0e2c4a6b8d1f"

    def all(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Stack:
    keys: Keys
    gemini: FakeGemini
    kie: FakeKie
    catbox: FakeCatbox
    eleven: ElevenLabsFake
    youtube: YouTubeFake
    notion: NotionFake
    discord: FakeDiscord
    faults: dict[str, FaultInjector]
    env: dict[str, str] = field(default_factory=dict)
    notion_database_id: str = ""
    notion_source_id: str = ""


def _rules(rate: float, seed: int) -> dict[str, FaultInjector]:
    """Which faults each endpoint gets; paid creates only get faults the vendor never processed."""
    media = ("500", "truncate", "corrupt")
    return {
        "gemini": FaultInjector(
            rate, seed + 1, [FaultRule("/v1beta/", (*PRE_KINDS, "truncate"))], shape="google"
        ),
        "kie": FaultInjector(
            rate,
            seed + 2,
            [
                # no stalls: an unanswered create may have been billed, so it ends the item
                FaultRule("/api/v1/jobs/createTask", ("429", "500", "503"), POST),
                FaultRule("/api/v1/jobs/recordInfo", (*PRE_KINDS, "truncate")),
                FaultRule("/files/", media),
            ],
            shape="kie",
        ),
        # the files route is what KIE itself fetches; a CDN, left alone
        "catbox": FaultInjector(rate, seed + 3, [FaultRule("/user/api.php", ("500", "503"))]),
        "eleven": FaultInjector(
            rate, seed + 4, [FaultRule("/v1/", (*PRE_KINDS, *POST_KINDS))], shape="elevenlabs"
        ),
        "youtube": FaultInjector(
            rate,
            seed + 5,
            [
                FaultRule("/token", ("500", "503")),
                FaultRule("/upload/youtube/v3/videos", ("429", "500", "503", "timeout"), POST),
                FaultRule("/upload/youtube/v3/videos", ("503",), frozenset({"PUT"})),
                FaultRule("/upload/youtube/v3/thumbnails", ("500", "503")),
                FaultRule("/youtube/v3/", ("500", "503")),
            ],
        ),
        "notion": FaultInjector(rate, seed + 6, [FaultRule("/v1/", PRE_KINDS)], shape="notion"),
    }


@contextmanager
def running_stack(
    root: Path, *, rate: float, seed: int, keys: Keys | None = None
) -> Iterator[Stack]:
    keys = keys or Keys()
    root.mkdir(parents=True, exist_ok=True)
    clip = make_clip(root / "kling.mp4", seconds=3, size="480x270", fps=24, faststart=False)
    # one "waiting" answer, then success: a kill can land while the worker waits on the task
    kie = FakeKie(video=clip, api_key=keys.kie, generating_polls=-1)
    stack = Stack(
        keys=keys,
        gemini=FakeGemini(api_key=keys.gemini),
        kie=kie,
        catbox=FakeCatbox(),
        eleven=ElevenLabsFake(api_key=keys.elevenlabs, concurrency_limit=8),
        youtube=YouTubeFake(
            client_secret=keys.youtube_client_secret, refresh_tokens={keys.youtube_refresh}
        ),
        notion=NotionFake(token=keys.notion),
        discord=FakeDiscord(token=keys.discord_token),
        faults=_rules(rate, seed),
    )
    apps: dict[str, Any] = {
        "gemini": stack.gemini.app(),
        "kie": stack.kie.app(),
        "catbox": stack.catbox.app(),
        "eleven": create_app(stack.eleven)[0],
        "youtube": youtube_app(stack.youtube)[0],
        "notion": notion_app(stack.notion),
    }
    with ExitStack() as exits:
        urls = {
            name: exits.enter_context(serve(stack.faults[name].wrap(app)))
            for name, app in apps.items()
        }
        discord = exits.enter_context(serve(stack.discord.app()))
        db, source = stack.notion.add_database("Videos", board_properties())
        stack.notion_database_id, stack.notion_source_id = db, source
        stack.env = {
            **settings_env(urls["youtube"]),
            "YOUTUBE_CLIENT_SECRET": keys.youtube_client_secret,
            "GEMINI_BASE_URL": urls["gemini"],
            "KIE_BASE_URL": f"{urls['kie']}/api/v1",
            "CATBOX_UPLOAD_URL": f"{urls['catbox']}/user/api.php",
            "ELEVENLABS_BASE_URL": urls["eleven"],
            "NOTION_BASE_URL": f"{urls['notion']}/v1",
            "NOTION_API_TOKEN": keys.notion,
            "NOTION_WEBHOOK_SECRET": keys.webhook_secret,
            "NOTION_POLL_INTERVAL_SECONDS": "2",
            "DISCORD_WEBHOOK_URL": (
                f"{discord}/api/webhooks/{stack.discord.webhook_id}/{keys.discord_token}"
            ),
            "API_TOKEN": keys.api_token,
            "FERNET_KEYS": Fernet.generate_key().decode(),
            "AWS_SECRET_ACCESS_KEY": keys.s3_secret,
            # scripts: give up on a stalled answer quickly and back off briefly
            "SCRIPT_HTTP_TIMEOUT_SECONDS": "10",
            "SCRIPT_RETRY_BASE_SECONDS": "0.3",
            "YOUTUBE_RETRY_BASE_S": "0.3",
            "YOUTUBE_QUOTA_DAILY_LIMIT": "1000000",
        }
        for injector in stack.faults.values():
            injector.stall_s = 15.0
        yield stack


PAID_CHANNEL = """\
slug: {slug}
name: Chaos Paid
max_concurrent: 3
providers:
  planner: template
  image:
    provider: gemini
    gemini:
      image_size: 1K
  video:
    provider: kling
    kling:
      timeout_s: 120
  voice: elevenlabs
  sfx: elevenlabs
review_gates: []
youtube:
  privacy: private
"""

BOARD_CHANNEL = """\
slug: {slug}
name: Chaos Board
max_concurrent: 3
notion:
  database_id: {database_id}
providers:
  planner: template
  image: local
  video:
    provider: kenburns
    kenburns:
      fps: 24
  voice:
    provider: espeak
    espeak:
      rate: 220
  sfx: synth
review_gates: []
"""

MIXED_CHANNEL = """\
slug: {slug}
name: Chaos Mixed
max_concurrent: 3
providers:
  planner: template
  image:
    provider: gemini
    gemini:
      image_size: 1K
  video:
    provider: kenburns
    kenburns:
      fps: 24
  voice: elevenlabs
  sfx: synth
review_gates: []
"""


def write_channels(directory: Path, stack: Stack) -> dict[str, str]:
    """The three channels; returns slug -> kind (paid, board, mixed)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "chaos-paid": PAID_CHANNEL,
        "chaos-board": BOARD_CHANNEL,
        "chaos-mixed": MIXED_CHANNEL,
    }
    for slug, text in files.items():
        (directory / f"{slug}.yaml").write_text(
            text.format(slug=slug, database_id=stack.notion_database_id)
        )
    return {"chaos-paid": "paid", "chaos-board": "board", "chaos-mixed": "mixed"}


def tiny_plan(tag: str, number: int) -> dict[str, Any]:
    """One 1.5 s scene on one image; ``tag`` marks every prompt so fakes can tell items apart."""
    return {
        "title": f"Chaos {tag}",
        "aspect_ratio": "16:9",
        "assets": [
            {"name": "place", "kind": "environment", "prompt": f"a quiet harbour at dusk {tag}"}
        ],
        "scenes": [
            {
                "number": 1,
                "layout": "single",
                "images": ["place"],
                "narration": f"Video {number} starts now.",
                "motion_prompt": f"slow push in {tag}",
                "sfx_prompt": f"gentle waves {tag}",
                "duration_s": 1.5,
            }
        ],
        "music": None,
    }


def plan_text(plan: dict[str, Any]) -> str:
    return json.dumps(plan, separators=(",", ":"))
