"""One chaos run: 20 videos on 3 channels through the real fleet while faults and kills rain.

Videos 1-7 go to ``chaos-paid`` through the API (Gemini images, Kling via KIE + catbox,
ElevenLabs voice and effects, YouTube upload; video 7's title has a ``<`` YouTube refuses),
8-13 to ``chaos-mixed`` through the API, 14-20 are rows on ``chaos-board``'s Notion board (row 20
holds a Plan that is not JSON). Each number is written into its prompts as ``tagNN``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from app.channels.config import load_channel_configs
from app.channels.credentials import set_credential
from app.channels.sync import sync_channels
from app.core.database import session_scope
from app.models import Channel
from tests.chaos.stack import Stack, plan_text, tiny_plan
from tests.e2e.harness import FleetHarness

TERMINAL = ("published", "failed", "cancelled")
BAD_TITLE = 7
BAD_ROW = 20
PAID, MIXED, BOARD = range(1, 8), range(8, 14), range(14, 21)


@dataclass(frozen=True)
class Expect:
    status: str
    step: str | None = None
    error_code: str | None = None


def expected(number: int) -> Expect:
    if number == BAD_TITLE:
        return Expect("failed", "upload", "YOUTUBE_METADATA_INVALID")
    if number == BAD_ROW:
        return Expect("input_error")  # no task: the row gets the "Input Error" label
    return Expect("published")


def title(number: int) -> str:
    return f"Chaos video {number:02d}" + (" <b>" if number == BAD_TITLE else "")


async def prepare_channels(fleet: FleetHarness, stack: Stack) -> dict[str, uuid.UUID]:
    """Sync the channel files and store the per-channel secrets, as an operator would."""
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(fleet.configs))
    keys = stack.keys
    async with session_scope() as session:
        ids = {c.slug: c.id for c in (await session.scalars(select(Channel))).all()}
        stored = {
            "chaos-paid": {"gemini": keys.gemini, "kie": keys.kie, "youtube": keys.youtube_refresh},
            "chaos-mixed": {"gemini": keys.gemini},
        }
        for slug, secrets in stored.items():
            for provider, secret in secrets.items():
                if slug in ids:
                    await set_credential(session, ids[slug], provider, secret)
    return ids


def submit(client: httpx.Client, stack: Stack) -> dict[int, str]:
    """Create the API tasks and the board rows; returns number -> task id (API ones only)."""
    tasks: dict[int, str] = {}
    for number in [*PAID, *MIXED]:
        slug = "chaos-paid" if number in PAID else "chaos-mixed"
        body = {"channel_slug": slug, "title": title(number), "plan": tiny_plan(f"tag{number:02d}", number)}  # fmt: skip
        created = client.post("/api/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        tasks[number] = created.json()["data"]["id"]
    for number in BOARD:
        plan = plan_text(tiny_plan(f"tag{number:02d}", number))
        if number == BAD_ROW:
            plan = '{"title": "broken", "scenes": [}'
        values = {"Name": title(number), "Status": "Queued", "Channel": "chaos-board", "Plan": plan}  # fmt: skip
        stack.notion.add_page(stack.notion_source_id, values)
    return tasks


def all_tasks(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/v1/tasks", params=params)
        if answer.status_code == 503:  # the database is restarting: ask again later
            raise httpx.TransportError("database unavailable")
        answer.raise_for_status()
        page = answer.json()["data"]
        found += page["items"]
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found


def numbered(tasks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """number -> task, read back from the title (board tasks get theirs from the row)."""
    out = {}
    for task in tasks:
        name = task["title"].removeprefix("Chaos video ").split(" ")[0]
        if name.isdigit():
            out[int(name)] = task
    return out


def row_status(stack: Stack, number: int) -> str | None:
    for page_id, page in stack.notion.pages.items():
        if page.values.get("Name") == title(number):
            return str(stack.notion.values(page_id).get("Status"))
    return None


def wait_until_done(
    client: httpx.Client, stack: Stack, *, deadline: float
) -> dict[int, dict[str, Any]]:
    """Poll until every video reached a final state (or the deadline); return them by number."""
    latest: dict[int, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        try:
            latest = numbered(all_tasks(client))
        except httpx.TransportError:
            time.sleep(1)
            continue
        finished = [n for n, t in latest.items() if t["status"] in TERMINAL]
        row_done = row_status(stack, BAD_ROW) == "Input Error"
        if len(finished) == 19 and row_done:
            return latest
        time.sleep(2)
    return latest


def settle_board(stack: Stack, numbers: list[int], *, deadline: float) -> None:
    """Give the push loop time to show these board videos as Published."""
    while time.monotonic() < deadline:
        if all(row_status(stack, n) == "Published" for n in numbers):
            return
        time.sleep(1)


def details(client: httpx.Client, tasks: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {n: client.get(f"/api/v1/tasks/{t['id']}").json()["data"] for n, t in tasks.items()}


def item_starts(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"action": "item.started", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/audit-logs", params=params).json()["data"]
        found += page["items"]
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found
