"""POST /webhook/notion: the verification handshake, signatures, replays, and the follow-up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from app.core.database import session_scope
from app.main import create_app
from app.models import WebhookEvent
from app.notion.sync import NotionPoller
from tests.fakes.notion import NotionFake, running, sign
from tests.routes.conftest import app_settings, assert_error, make_client
from tests.services.notion_support import add_board, bind_channels, make_sync, tasks_by_page
from tests.services.notion_support import make_client as notion_client

TOKEN = "secret_notionVerificationToken0123456789"
PATH = "/webhook/notion"


@pytest_asyncio.fixture
async def anon(app_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(create_app(app_settings()), token=None) as http:
        yield http


def event(**overrides: Any) -> dict[str, Any]:
    body = NotionFake().webhook_event(
        "page.properties_updated", "9a1e2b3c-0000-4000-8000-000000000001"
    )
    body.update(overrides)
    return body


async def deliver(
    http: httpx.AsyncClient, body: dict[str, Any], key: str | None = TOKEN
) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Notion-Signature"] = sign(raw, key)
    return await http.post(PATH, content=raw, headers=headers)


async def handshake(http: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await http.post(PATH, json={"verification_token": token})


async def stored_events() -> list[WebhookEvent]:
    async with session_scope() as session:
        return list(await session.scalars(select(WebhookEvent).order_by(WebhookEvent.received_at)))


async def test_the_handshake_stores_the_token_encrypted_and_never_logs_it(
    anon: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        response = await handshake(anon)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {"received": "verification", "event_id": None},
    }
    [row] = await stored_events()
    assert row.event_type == "verification" and row.processed_at is not None
    assert TOKEN not in json.dumps(row.payload)
    assert any(entry["event"] == "notion.webhook.verification_received" for entry in logs)
    assert TOKEN not in repr(logs)


async def test_a_signed_event_is_recorded_once_and_a_replay_is_ignored(
    anon: httpx.AsyncClient,
) -> None:
    await handshake(anon)
    body = event()
    first = await deliver(anon, body)
    assert first.status_code == 200 and first.json()["data"] == {
        "received": "event",
        "event_id": body["id"],
    }
    replay = await deliver(anon, body)
    assert replay.status_code == 200 and replay.json()["data"]["received"] == "duplicate"
    recorded = [e for e in await stored_events() if e.event_type != "verification"]
    assert [(e.id, e.processed_at) for e in recorded] == [(f"notion:{body['id']}", None)]


async def test_forged_deliveries_are_refused(anon: httpx.AsyncClient) -> None:
    await handshake(anon)
    await handshake(anon, "secret_someoneElsesTokenAAAAAAAAAAAA")  # a stranger cannot take over
    body = event()
    raw = json.dumps(body).encode()
    tampered = raw.replace(b"page.properties_updated", b"page.deleted")
    cases = {
        "no signature": await deliver(anon, body, key=None),
        "wrong key": await deliver(anon, body, key="secret_someoneElsesTokenAAAAAAAAAAAA"),
        "tampered body": await anon.post(
            PATH, content=tampered, headers={"X-Notion-Signature": sign(raw, TOKEN)}
        ),
        "bare hex": await anon.post(
            PATH,
            content=raw,
            headers={"X-Notion-Signature": sign(raw, TOKEN).removeprefix("sha256=")},
        ),
    }
    for response in cases.values():
        assert_error(response, 401, "INVALID_SIGNATURE")
    assert [e.event_type for e in await stored_events()] == ["verification", "verification"]


async def test_an_old_event_is_refused_even_when_signed(anon: httpx.AsyncClient) -> None:
    await handshake(anon)
    stale = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert_error(await deliver(anon, event(timestamp=stale)), 400, "EVENT_TOO_OLD")


async def test_without_a_token_events_cannot_be_checked(anon: httpx.AsyncClient) -> None:
    assert_error(await deliver(anon, event()), 503, "WEBHOOK_NOT_VERIFIED")


async def test_a_configured_secret_wins_over_the_stored_token(app_db: AsyncEngine) -> None:
    app = create_app(app_settings(notion_webhook_secret=SecretStr("secret_fromTheEnvironment0123")))
    async with make_client(app, token=None) as http:
        await handshake(http)
        assert_error(await deliver(http, event()), 401, "INVALID_SIGNATURE")
        ok = await deliver(http, event(), key="secret_fromTheEnvironment0123")
        assert ok.status_code == 200


async def test_the_leader_follows_an_event_by_fetching_the_page(
    anon: httpx.AsyncClient, app_db: AsyncEngine, tmp_path: Path
) -> None:
    with running(NotionFake(rate=1000)) as (url, fake):
        database_id, source_id = add_board(fake)
        await bind_channels(tmp_path, database_id)
        poller = NotionPoller(
            make_sync(notion_client(url, app_db), tmp_path), poll_seconds=300, push_seconds=300
        )
        runner = asyncio.create_task(poller.run())
        try:
            deadline = time.monotonic() + 30
            while poller.cycles < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the first cycle polls and sets the cursor
            page_id = fake.add_page(source_id, {"Name": "Sent by webhook", "Status": "Queued"})
            await handshake(anon)
            assert (
                await deliver(anon, fake.webhook_event("page.created", page_id))
            ).status_code == 200
            while page_id not in await tasks_by_page() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            poller.stop()
            await asyncio.wait_for(runner, 10)
        assert page_id in await tasks_by_page()
        assert any(c.method == "GET" and c.path == f"/v1/pages/{page_id}" for c in fake.calls)
