"""The dashboard in a real browser (Debian's Chromium, headless, driven by Playwright) against
the real fleet: ``vidgen web`` and workers as subprocesses on this test's database.

One scenario end to end, because starting the fleet and making clips is the slow part: sign in;
watch two tasks move on the board live; open one at the videos gate, play and seek a clip; tick
scenes 2 and 5 and reject with a note (the API then shows exactly those clips redone); approve
the other with the keyboard (it moves on); requests without the CSRF token are refused;
screenshots at 1280x800 and phone size are saved and checked to be non-blank.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageStat
from sqlalchemy import select

from app.core.config import PROJECT_ROOT
from app.core.database import session_scope
from app.models import AuditLog
from tests.e2e.conftest import fleet
from tests.e2e.harness import API_TOKEN, CHANNEL_YAML, FleetHarness, short_plan

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "workspace" / "test-artifacts" / "dashboard"
NOTE = "scenes 2 and 5 drift off the subject"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's Chromium at /usr/bin/chromium: "
        "install it with `sudo apt-get install -y chromium` (.ci/run does this in CI)",
    ),
]
__all__ = ["fleet"]  # the e2e fixture, reused

async_api = pytest.importorskip("playwright.async_api")


def _channel(fleet: FleetHarness) -> None:
    """Only a videos gate, no captions (burning subtitles in is slow and not what is tested)."""
    text = CHANNEL_YAML.format(slug="dash", name="Dash Channel", gates="[videos]", max_concurrent=2)
    (fleet.configs / "dash.yaml").write_text(text.replace("enabled: true", "enabled: false"))


def _task(client: httpx.Client, title: str) -> str:
    plan = short_plan(5)
    plan["title"] = title
    created = client.post(
        "/api/v1/tasks", json={"channel_slug": "dash", "title": title, "plan": plan}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def _detail(client: httpx.Client, task_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/tasks/{task_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def _until(
    fleet: FleetHarness, client: httpx.Client, task_id: str, done: Any, timeout: float = 420
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        detail = await asyncio.to_thread(_detail, client, task_id)
        if done(detail):
            return detail
        assert detail["status"] != "failed", (detail["error_code"], detail["error_message"])
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"timed out at {detail.get('status')}/{detail.get('step')}\n{fleet.all_logs()}"
    )


def at_videos_gate(detail: dict[str, Any]) -> bool:
    return detail["status"] == "awaiting_review" and detail["step"] == "videos"


def _not_blank(path: Path, viewport: tuple[int, int]) -> None:
    """A real page, not a white (or single-colour) screen: many colours, varied pixels."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        assert rgb.size[0] == viewport[0]
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        spread = ImageStat.Stat(rgb.convert("L")).stddev[0]
    assert len(colours) > 200, f"{path.name}: only {len(colours)} colours"
    assert spread > 15, f"{path.name}: nearly uniform (stddev {spread:.1f})"


async def _shot(
    page: Any, name: str, tmp: Path, viewport: tuple[int, int], *, full: bool = False
) -> Path:
    path = tmp / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full)
    _not_blank(path, viewport)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)
    return path


async def _starts(task_id: str) -> Counter[str]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(AuditLog).where(
                AuditLog.task_id == uuid.UUID(task_id), AuditLog.action == "item.started"
            )
        )
        return Counter(f"{r.details['step']}:{r.details['item']}" for r in rows)


async def _watch_board(
    page: Any, task_ids: list[str], fleet: FleetHarness, client: httpx.Client
) -> set[str]:
    """The (status, step) states the board showed for the first task until both wait at the
    videos gate, read from the live page (never reloaded)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        card = page.locator(f'article[data-task-id="{task_ids[0]}"]')
        if await card.count():
            seen.add(
                f"{await card.get_attribute('data-status')}/{await card.get_attribute('data-step')}"
            )
        states = [
            await page.locator(f'article[data-task-id="{t}"]').get_attribute("data-status")
            if await page.locator(f'article[data-task-id="{t}"]').count()
            else None
            for t in task_ids
        ]
        if all(s == "awaiting_review" for s in states):
            return seen
        for task_id in task_ids:  # fail fast on a broken pipeline
            assert (await asyncio.to_thread(_detail, client, task_id))["status"] != "failed"
        await asyncio.sleep(0.25)
    raise AssertionError(f"board never showed both at the gate; seen {seen}\n{fleet.all_logs()}")


async def test_review_dashboard_in_a_browser(fleet: FleetHarness, tmp_path: Path) -> None:
    _channel(fleet)
    fleet.start(workers=2)
    base = fleet.base_url
    desktop = (1280, 800)
    phone = (390, 844)
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(
                viewport={"width": desktop[0], "height": desktop[1]}, base_url=base
            )
            page = await context.new_page()

            # --- sign in: the board asks for it, then opens
            await page.goto("/dashboard")
            assert "/dashboard/sign-in" in page.url
            await _shot(page, "sign-in-desktop", tmp_path, desktop)
            await page.get_by_label("API token").fill(API_TOKEN)
            await page.get_by_label("Your name").fill("Tester")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/dashboard")
            await page.get_by_role("heading", name="Board").wait_for()
            cookies = {c["name"]: c for c in await context.cookies()}
            assert cookies["vidgen_session"]["httpOnly"] is True
            assert cookies["vidgen_session"]["sameSite"] == "Lax"
            assert API_TOKEN not in await page.content()

            # --- the board follows two new tasks live, without reloading
            await page.evaluate("window.__sameDocument = true")
            with fleet.client() as client:
                first = _task(client, "Dolphins at dawn")
                second = _task(client, "Lighthouse keeper")
                seen = await _watch_board(page, [first, second], fleet, client)
                assert await page.evaluate("window.__sameDocument === true")
                assert "awaiting_review/videos" in seen and len(seen) >= 2, seen
                card = page.locator(f'article[data-task-id="{first}"]')
                assert "Videos 5/5" in await card.inner_text()
                await _shot(page, "board-desktop", tmp_path, desktop)

                # --- the review page of the first: plan, media; a clip plays and seeks
                await card.get_by_role("link").click()
                await page.wait_for_url(f"{base}/dashboard/review/{first}")
                assert await page.locator(".scene").count() == 5
                video = page.locator("#scene-3 video")
                duration = await video.evaluate(
                    """v => new Promise((ok, no) => {
                        const done = () => ok(v.duration);
                        if (v.readyState >= 1) return done();
                        v.addEventListener('loadedmetadata', done, {once: true});
                        v.addEventListener('error', () => no(String(v.error && v.error.code)));
                        v.load();
                    })"""
                )
                assert duration > 0
                seeked = await video.evaluate(
                    """v => new Promise(ok => {
                        v.muted = true;
                        v.addEventListener('seeked', () => ok(v.currentTime), {once: true});
                        v.currentTime = Math.min(1, v.duration / 2);
                        v.play().catch(() => {});
                    })"""
                )
                assert seeked > 0
                await _shot(page, "review-desktop", tmp_path, desktop)

                # --- CSRF: the browser's own cookie without the token is refused
                api_post = await context.request.post(f"/api/v1/tasks/{first}/approve", data={})
                assert api_post.status == 403
                assert (await api_post.json())["error"]["code"] == "CSRF_FAILED"
                form_post = await context.request.post(
                    f"/dashboard/tasks/{first}/approve", form={"notes": "sneaky"}
                )
                assert form_post.status == 403
                assert _detail(client, first)["status"] == "awaiting_review"

                # --- phone-sized views of the same pages
                phone_ctx = await browser.new_context(
                    viewport={"width": phone[0], "height": phone[1]},
                    base_url=base,
                    storage_state=await context.storage_state(),
                    is_mobile=True,
                    has_touch=True,
                )
                mobile = await phone_ctx.new_page()
                await mobile.goto(f"/dashboard/review/{first}")
                await _shot(mobile, "review-phone", tmp_path, phone)
                await mobile.goto("/dashboard")
                await _shot(mobile, "board-phone", tmp_path, phone)
                await mobile.goto(f"/dashboard/tasks/{first}")
                await _shot(mobile, "task-phone", tmp_path, phone)
                await phone_ctx.close()

                # --- tick scenes 2 and 5, reject with a note; the next waiting task opens
                first_pass = await _starts(first)
                await page.locator('#scene-2 input[name="scene"]').check()
                await page.locator('#scene-5 input[name="scene"]').check()
                await page.get_by_label("Notes").fill(NOTE)
                await _shot(page, "review-full-desktop", tmp_path, desktop, full=True)
                await page.get_by_role("button", name="Reject").click()
                await page.wait_for_url(f"{base}/dashboard/review/{second}?notice=rejected")
                audit = client.get(
                    "/api/v1/audit-logs", params={"task_id": first, "action": "review.rejected"}
                ).json()["data"]["items"]
                assert len(audit) == 1
                assert audit[0]["actor"] == "dashboard:Tester"
                assert audit[0]["details"]["notes"] == NOTE
                assert audit[0]["details"]["items"] == {"videos": ["scene-02", "scene-05"]}

                # --- approve the second with the keyboard: it moves on past the gate
                await page.keyboard.press("a")
                await page.wait_for_url(lambda url: "notice=approved" in url)
                await _until(
                    fleet,
                    client,
                    second,
                    lambda d: d["step"] not in ("plan", "assets", "composites", "videos"),
                )

                # the first comes back to the gate with exactly scenes 2 and 5 made again
                await _until(fleet, client, first, at_videos_gate)
                again = await _starts(first)
                redone = {key for key, n in again.items() if n == 2}
                assert redone == {"videos:scene-02", "videos:scene-05"}
                assert set(again) == set(first_pass)

                await page.goto(f"/dashboard/tasks/{first}")
                await page.get_by_role("heading", name="Audit trail").wait_for()
                assert "review.rejected" in await page.content()
                await _shot(page, "task-desktop", tmp_path, desktop)
                await page.goto("/dashboard/channels")
                await _shot(page, "channels-desktop", tmp_path, desktop)
            await context.close()
        finally:
            await browser.close()
