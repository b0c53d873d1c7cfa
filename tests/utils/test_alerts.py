"""Discord alerts against a fake webhook on loopback, de-duplicated in the real database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.alerts import service as alerts
from app.alerts.service import Alerter, make_alert, send_alert
from app.core.database import session_scope
from app.core.logging import configure_logging
from app.models import AlertDelivery
from tests.fakes.discord import fake_discord
from tests.fakes.server import free_port

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def failure_alert(**overrides: Any) -> alerts.Alert:
    fields: dict[str, Any] = {
        "task": "The Lighthouse Keeper",
        "task_id": "7b0c5a52-3f7e-4a6e-9a57-0a1d3c8f1e11",
        "channel": "demo",
        "step": "videos",
        "code": "SCRIPT_FAILED",
    }
    fields.update(overrides)
    return make_alert("task_failed", "Task failed at videos", "generate_video.py: boom", **fields)


@pytest.fixture
def restore_alerter() -> Iterator[None]:
    yield
    alerts.configure_alerts(None)


async def test_embed_carries_the_fields_within_discord_limits(app_db: AsyncEngine) -> None:
    long_error = "ffmpeg said @everyone " + "x" * 7000
    with fake_discord() as (fake, url):
        alerter = Alerter(webhook_url=url, public_base_url="https://vidgen.example.com/")
        alert = failure_alert(error=long_error)
        alert = make_alert(alert.kind, "T" * 300, long_error, **alert.fields)
        try:
            assert await alerter.deliver(alert) == "sent"
        finally:
            await alerter.aclose()
    [body] = fake.messages  # the fake refuses (400) anything over Discord's limits
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000 and body["content"].startswith("⚠️ [task_failed] TTT")
    [embed] = body["embeds"]
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert embed["description"].startswith("ffmpeg said @everyone xxx")
    assert len(embed["description"]) < len(long_error)
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    link = "https://vidgen.example.com/api/v1/tasks/7b0c5a52-3f7e-4a6e-9a57-0a1d3c8f1e11"
    assert fields["Task"] == "The Lighthouse Keeper"
    assert fields["Channel"] == "demo"
    assert fields["Step"] == "videos"
    assert fields["Error code"] == "SCRIPT_FAILED"
    assert fields["Link"] == link and embed["url"] == link
    assert len(fields["Error"]) == 1024
    assert datetime.fromisoformat(embed["timestamp"]).tzinfo is not None


async def test_same_alert_at_most_once_per_ten_minutes_across_processes(
    app_db: AsyncEngine,
) -> None:
    clock = FakeClock()
    with fake_discord() as (fake, url):
        first, second = Alerter(webhook_url=url, clock=clock), Alerter(webhook_url=url, clock=clock)
        try:
            assert await first.deliver(failure_alert()) == "sent"
            clock.now = T0 + timedelta(minutes=5)
            # Another process (its own memory) sees the claim in PostgreSQL.
            assert await second.deliver(failure_alert()) == "suppressed"
            assert await first.deliver(failure_alert()) == "suppressed"
            assert await first.deliver(failure_alert(step="narration")) == "sent"  # other key
            clock.now = T0 + timedelta(minutes=10, seconds=1)
            assert await second.deliver(failure_alert()) == "sent"
        finally:
            await first.aclose()
            await second.aclose()
    assert len(fake.messages) == 3
    last_footer = fake.messages[-1]["embeds"][0]["footer"]["text"]
    assert "2 repeat(s) suppressed" in last_footer
    async with session_scope() as session:
        keys = (await session.scalars(select(AlertDelivery.alert_key))).all()
    assert sorted(keys) == sorted(
        [
            "task_failed:task_id=7b0c5a52-3f7e-4a6e-9a57-0a1d3c8f1e11:channel=demo"
            f":step={step}:code=SCRIPT_FAILED"
            for step in ("videos", "narration")
        ]
    )


async def test_json_429_is_honoured_then_delivered_once(app_db: AsyncEngine) -> None:
    with fake_discord([("429", 0.4)]) as (fake, url):
        alerter = Alerter(webhook_url=url)
        try:
            assert await alerter.deliver(failure_alert()) == "sent"
        finally:
            await alerter.aclose()
    assert [r.answered for r in fake.received] == [429, 204]
    assert len(fake.messages) == 1
    assert fake.received[1].at - fake.received[0].at >= 0.4  # waited retry_after


async def test_html_429_uses_retry_after_header(app_db: AsyncEngine) -> None:
    with fake_discord([("429html", 1)]) as (fake, url):
        alerter = Alerter(webhook_url=url)
        try:
            assert await alerter.deliver(failure_alert()) == "sent"
        finally:
            await alerter.aclose()
    assert [r.answered for r in fake.received] == [429, 204]
    assert fake.received[1].at - fake.received[0].at >= 1.0


async def test_html_429_without_header_backs_off_past_the_deadline(app_db: AsyncEngine) -> None:
    """A Cloudflare ban: give up this alert, and don't hammer Discord with the next one."""
    with fake_discord([("429html", None)]) as (fake, url):
        alerter = Alerter(webhook_url=url, timeout_s=5)
        try:
            assert await alerter.deliver(failure_alert()) == "failed"
            assert await alerter.deliver(failure_alert(step="assembly")) == "failed"
        finally:
            await alerter.aclose()
    assert [r.answered for r in fake.received] == [429]
    # The failed alert released its claim: the next occurrence may try again.
    async with session_scope() as session:
        sent = (await session.scalars(select(AlertDelivery.last_sent_at))).all()
    assert sent == [None, None]


async def test_server_error_is_retried(app_db: AsyncEngine) -> None:
    with fake_discord(["500", "500"]) as (fake, url):
        alerter = Alerter(webhook_url=url, retry_base_s=0.05)
        try:
            assert await alerter.deliver(failure_alert()) == "sent"
        finally:
            await alerter.aclose()
    assert [r.answered for r in fake.received] == [500, 500, 204]


async def test_refused_payload_is_not_retried(app_db: AsyncEngine) -> None:
    with fake_discord() as (fake, url):
        alerter = Alerter(webhook_url=url.replace(fake.token, "wrong-token-123456"))
        try:
            assert await alerter.deliver(failure_alert()) == "failed"
        finally:
            await alerter.aclose()
    assert [r.answered for r in fake.received] == [401]


@pytest.mark.usefixtures("restore_alerter")
async def test_discord_down_neither_blocks_nor_raises(app_db: AsyncEngine) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/api/webhooks/1/tok_dead_0123456789"
    alerter = Alerter(webhook_url=dead_url, max_attempts=2, retry_base_s=0.05)
    alerts.configure_alerts(alerter)
    # Returns at once although every delivery attempt will fail.
    await asyncio.wait_for(send_alert("task_failed", "down", "Discord is down", task_id="t1"), 5)
    [pending] = list(alerter._pending)
    await alerter.drain(30)
    assert pending.result() == "failed"
    await alerter.aclose()


@pytest.mark.usefixtures("restore_alerter")
async def test_hanging_discord_is_cut_off_by_the_deadline(app_db: AsyncEngine) -> None:
    with fake_discord([("hang", 30)]) as (fake, url):
        alerter = Alerter(webhook_url=url, timeout_s=1.0)
        alerts.configure_alerts(alerter)
        await asyncio.wait_for(send_alert("task_failed", "slow", "Discord hangs", task_id="t2"), 5)
        [pending] = list(alerter._pending)
        await alerter.drain(30)
        assert pending.result() == "failed"
        await alerter.aclose()
    assert len(fake.received) == 1  # it reached Discord, which held it until we gave up


async def test_no_webhook_configured_sends_nothing(app_db: AsyncEngine) -> None:
    alerter = Alerter(webhook_url=None)
    alerter.submit(failure_alert())
    assert alerter._pending == set()
    assert await alerter.deliver(failure_alert()) == "disabled"


@pytest.fixture
def start_capture(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[[], Callable[[], str]]]:
    """Everything logged: structlog's JSON on stderr and stdlib records (httpx's at INFO).

    Configuring happens inside the test, which is when pytest's captured stderr is in place;
    the autouse ``_isolate_logging`` (tests/conftest.py) puts logging back afterwards.
    """
    root = logging.getLogger()

    def read() -> str:
        stdlib = "\n".join(record.getMessage() for record in caplog.records)
        return capsys.readouterr().err + "\n" + stdlib

    def start() -> Callable[[], str]:
        configure_logging("DEBUG", "json", process="test")
        root.addHandler(caplog.handler)
        caplog.set_level(logging.DEBUG)
        return read

    yield start


@pytest.mark.usefixtures("restore_alerter")
async def test_webhook_url_appears_in_no_log_line(
    app_db: AsyncEngine, start_capture: Callable[[], Callable[[], str]]
) -> None:
    read_logs = start_capture()
    with fake_discord([("429", 0.1), "500"]) as (fake, url):
        alerter = Alerter(webhook_url=url, retry_base_s=0.05)
        bad = Alerter(webhook_url=url.replace(fake.token, fake.token + "x"))
        dead = Alerter(
            webhook_url=f"http://127.0.0.1:{free_port()}/api/webhooks/1/{fake.token}y",
            max_attempts=1,
        )
        alerts.configure_alerts(alerter)
        try:
            await send_alert("probe", "logged", "an alert is always logged", task_id="t3")
            await alerter.drain(30)
            assert await alerter.deliver(failure_alert()) == "sent"
            assert await bad.deliver(failure_alert(step="plan")) == "failed"
            assert await dead.deliver(failure_alert(step="assets")) == "failed"
        finally:
            for each in (alerter, bad, dead):
                await each.aclose()
    logs = read_logs()
    events = [json.loads(line)["event"] for line in logs.splitlines() if line.startswith("{")]
    assert {"alert", "alert.discord_rate_limited", "alert.delivered"} <= set(events)
    assert events.count("alert.delivery_failed") == 2
    assert "HTTP Request: POST" in logs  # httpx's own request lines were captured ...
    assert fake.token not in logs  # ... and no line shows the token (the secret part)
    assert url not in logs
