"""Path traversal through task ids and artifact names, sent as raw bytes to the real server.

A raw socket sends the path exactly as written: clients (httpx, browsers) would resolve a
literal ``..`` before sending. Every attempt must get a 4xx in the envelope, and no byte of a
file outside the task's own artifacts may come back.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.models import ItemStatus, PipelineStep, TaskItem
from tests.fuzz.conftest import AUTH, LiveApp

SECRET = b"TOP-SECRET-OUTSIDE-THE-TASK"
TASK_ID_ATTACKS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%5c..%5cetc%5cpasswd",
    "%c0%ae%c0%ae%2fetc%2fpasswd",
    "%2Fetc%2Fpasswd",
    "00000000-0000-0000-0000-000000000000%00",
    "00000000-0000-0000-0000-000000000000%2F..%2F..",
]
NAME_ATTACKS = [
    "../../../../../../etc/passwd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
    "..%2f..%2f..%2f..%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..\\..\\..\\..\\secret.txt",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "//etc/passwd",
    "assets/keeper.png%00.txt",
    "assets/keeper.png%00",
    "%E2%80%A4%E2%80%A4/secret.txt",  # one-dot leaders that look like ..
    "~/secret.txt",
]
# Keys a bad database row could hold: the server must not follow any of them.
STORED_BAD_KEYS = {
    "absolute": "/etc/passwd",
    "dotdot": "../secret.txt",
    "deep": "channels/../../secret.txt",
    "backslash": "..\\secret.txt",
    "home": "~/secret.txt",
}


def raw_get(live_app: LiveApp, target: str) -> tuple[int, bytes]:
    url = urlsplit(live_app.base_url)
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}"
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall((head + "\r\nConnection: close\r\n\r\n").encode())
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def assert_refused(status: int, body: bytes) -> dict[str, Any]:
    assert 400 <= status < 500, (status, body[:200])
    assert SECRET not in body and b"root:" not in body
    payload = json.loads(body)
    assert payload["success"] is False and payload["error"]["code"], payload
    error: dict[str, Any] = payload["error"]
    return error


async def _add_bad_items(db_url: str, task_id: uuid.UUID) -> None:
    engine = create_async_engine(db_url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            session.add(
                TaskItem(
                    task_id=task_id,
                    step=PipelineStep.SOUND_EFFECTS,
                    item_key="scene-01",
                    scene_number=1,
                    status=ItemStatus.COMPLETED,
                    output_keys=STORED_BAD_KEYS,
                )
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def victim(live_app: LiveApp) -> str:
    """A task with hostile stored keys, and secrets inside and outside the workspace."""
    body = {"channel_slug": "demo", "title": "Victim", "queue": False}
    created = requests.post(
        f"{live_app.base_url}/api/v1/tasks", json=body, headers=AUTH, timeout=30
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["data"]["id"]
    root = Path(live_app.settings.workspace_root)
    (root.parent / "secret.txt").write_bytes(SECRET)
    (root / "secret.txt").write_bytes(SECRET)
    assert live_app.settings.database_url
    asyncio.run(_add_bad_items(live_app.settings.database_url, uuid.UUID(task_id)))
    return str(task_id)


@pytest.mark.parametrize("attack", TASK_ID_ATTACKS)
def test_task_id_traversal_is_refused(live_app: LiveApp, attack: str) -> None:
    for suffix in ("", "/artifacts", "/artifacts/secret.txt", "/approve"):
        assert_refused(*raw_get(live_app, f"/api/v1/tasks/{attack}{suffix}"))


@pytest.mark.parametrize("attack", NAME_ATTACKS)
def test_artifact_name_traversal_is_refused(live_app: LiveApp, victim: str, attack: str) -> None:
    assert_refused(*raw_get(live_app, f"/api/v1/tasks/{victim}/artifacts/{attack}"))


def test_stored_keys_that_escape_are_listed_unavailable_and_never_served(
    live_app: LiveApp, victim: str
) -> None:
    listed = requests.get(
        f"{live_app.base_url}/api/v1/tasks/{victim}/artifacts", headers=AUTH, timeout=30
    )
    assert listed.status_code == 200, listed.text
    artifacts = {a["output"]: a for a in listed.json()["data"]}
    assert set(artifacts) == set(STORED_BAD_KEYS)
    assert all(a["available"] is False and a["size"] is None for a in artifacts.values())
    for artifact in artifacts.values():
        status, body = raw_get(live_app, artifact["url"])
        error = assert_refused(status, body)
        assert error["code"] in {"ARTIFACT_MISSING", "ARTIFACT_NOT_FOUND"}, error
