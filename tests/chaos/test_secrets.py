"""Secrets stay secret: a full pipeline with recognisable fake keys leaks none of them.

Every secret is configured the way an operator would: process-wide ones in the environment
(ElevenLabs, Notion, API token, Fernet keys, YouTube client secret, Discord webhook, an S3
secret), per-channel ones stored encrypted (Gemini, KIE, the YouTube refresh token). One video
goes from a Notion row to YouTube through every paid fake (which break ~10% of their answers, so
error and retry paths run too); a second one fails on purpose (a title YouTube refuses), so
there is an error message and a Discord alert. None of the keys may appear in any log line of
any process, any API response, any Notion property or request body, any alert, or the argument
list of any process sampled from /proc while the fleet and its scripts and FFmpeg run.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import get_settings
from tests.chaos import campaign as c
from tests.chaos.stack import Stack, plan_text, running_stack, tiny_plan
from tests.e2e.harness import FleetHarness

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(900)]

CHANNEL = """\
slug: chaos-paid
name: Secret Keeper
max_concurrent: 2
notion:
  database_id: {database_id}
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
"""


@dataclass
class ArgvSampler:
    """Reads every /proc/*/cmdline every few milliseconds until stopped."""

    needles: list[str]
    ours: str  # a path only our fleet's processes have in their arguments
    samples: int = 0
    seen: set[str] = field(default_factory=set)  # script and tool names observed
    leaks: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if self.ours in argv:
                    for tool in re.findall(r"(\w+\.py|ffmpeg\S*)", argv):
                        self.seen.add(tool.rsplit("/", 1)[-1])
                self.leaks += [f"{n[:14]}... in {argv[:200]}" for n in self.needles if n in argv]
            self.samples += 1
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()


def _api_bodies(client: httpx.Client, tasks: list[dict[str, Any]]) -> dict[str, str]:
    """GET of every route the OpenAPI document lists, path parameters filled with real ids."""
    paths = client.get("/openapi.json").json()["paths"]
    channels = client.get("/api/v1/channels").json()["data"]
    fill = {
        "{task_id}": [t["id"] for t in tasks],
        "{channel_id}": [ch["id"] for ch in channels] + [ch["slug"] for ch in channels],
    }
    bodies: dict[str, str] = {}
    for path, operations in paths.items():
        if "get" not in operations:
            continue
        urls = [path]
        for marker, values in fill.items():
            urls = [u.replace(marker, v) for u in urls for v in values] if marker in path else urls
        for url in urls:
            if "{" in url:
                continue  # a parameter we have no value for (artifact keys, static assets)
            bodies[url] = client.get(url).text
    return bodies


def _find(needles: list[str], where: str, text: str) -> list[str]:
    return [f"{needle[:14]}... in {where}" for needle in needles if needle in text]


def _run(fleet: FleetHarness, stack: Stack, sampler: ArgvSampler) -> list[str]:
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    fleet.start(workers=2)
    headers = {"Authorization": f"Bearer {stack.keys.api_token}"}
    try:
        with httpx.Client(base_url=fleet.base_url, headers=headers, timeout=30) as client:
            values = {"Name": c.title(1), "Status": "Queued", "Channel": "chaos-paid", "Plan": plan_text(tiny_plan("tag01", 1))}  # fmt: skip
            stack.notion.add_page(stack.notion_source_id, values)
            bad = {"channel_slug": "chaos-paid", "title": c.title(c.BAD_TITLE), "plan": tiny_plan("tag07", 7)}  # fmt: skip
            assert client.post("/api/v1/tasks", json=bad).status_code == 201
            deadline = time.monotonic() + 600
            tasks: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                tasks = c.all_tasks(client)
                if len(tasks) == 2 and all(t["status"] in c.TERMINAL for t in tasks):
                    break
                time.sleep(1)
            c.settle_board(stack, [1], deadline=time.monotonic() + 30)
            by_title = {t["title"]: t for t in tasks}
            assert by_title[c.title(1)]["status"] == "published", by_title
            assert by_title[c.title(c.BAD_TITLE)]["error_code"] == "YOUTUBE_METADATA_INVALID"
            bodies = _api_bodies(client, tasks)
    finally:
        sampler.stop()
        thread.join(timeout=5)
    needles = sampler.needles
    leaks = [leak for url, body in bodies.items() for leak in _find(needles, f"GET {url}", body)]
    for log in sorted((fleet.workspace / "logs").glob("*.log")):
        leaks += _find(needles, f"log {log.name}", log.read_text(errors="replace"))
    notion = json.dumps([p.values for p in stack.notion.pages.values()])
    notion += json.dumps([call.body for call in stack.notion.calls])
    leaks += _find(needles, "Notion properties/requests", notion)
    leaks += _find(needles, "Discord alerts", json.dumps([r.body for r in stack.discord.received]))
    leaks += _find(needles, "YouTube metadata", json.dumps([v.resource for v in stack.youtube.videos.values()]))  # fmt: skip
    # canaries: the same scans find a value that is meant to be there (the task id), so an
    # empty leak list means "looked and found none", not "looked at nothing"
    canary = [by_title[c.title(1)]["id"]]
    logs = "".join(p.read_text(errors="replace") for p in (fleet.workspace / "logs").glob("*.log"))
    assert _find(canary, "logs", logs) and _find(canary, "API", "".join(bodies.values()))
    assert _find([c.title(1)], "Notion", notion)
    assert len(bodies) >= 8, sorted(bodies)
    assert stack.discord.received, "the failed task raised no alert: the alert path went untested"
    assert stack.youtube.videos, "nothing reached YouTube: the upload path went untested"
    return leaks + sampler.leaks


async def test_no_secret_leaks_into_logs_errors_api_notion_or_argv(
    app_db: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_stack(tmp_path / "fakes", rate=0.1, seed=11) as stack:
        keys = stack.keys
        monkeypatch.setenv("FERNET_KEYS", stack.env["FERNET_KEYS"])
        get_settings.cache_clear()
        configs = tmp_path / "channel_configs"
        configs.mkdir()
        (configs / "chaos-paid.yaml").write_text(
            CHANNEL.format(database_id=stack.notion_database_id)
        )
        env = {**stack.env, "ELEVENLABS_API_KEY": keys.elevenlabs, "LOG_LEVEL": "DEBUG"}
        fleet = FleetHarness(workspace=tmp_path / "workspace", configs=configs, env_extra=env)
        await c.prepare_channels(fleet, stack)
        needles = [*keys.all().values(), stack.env["FERNET_KEYS"]]
        sampler = ArgvSampler(needles, ours=str(tmp_path))
        try:
            leaks = await asyncio.to_thread(_run, fleet, stack, sampler)
        finally:
            await asyncio.to_thread(fleet.stop)

    assert leaks == []
    # the sampler really watched the work: it saw the fleet, the scripts and FFmpeg
    assert sampler.samples > 100
    assert {"generate_video.py", "generate_audio.py", "assemble_video.py"} <= sampler.seen, (
        sampler.seen
    )
    assert any(name.startswith("ffmpeg") for name in sampler.seen), sampler.seen
