"""GET /api/v1/audit-logs: filters, newest first, keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.models import AuditLog, Channel, Task
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task

URL = "/api/v1/audit-logs"


class Trail:
    alpha: Channel
    beta: Channel
    task_a: Task
    task_b: Task
    ids: dict[str, str]  # label -> row id


@pytest.fixture
async def trail(client: httpx.AsyncClient) -> Trail:
    book = Trail()
    book.alpha, book.beta = await add_channel("alpha"), await add_channel("beta")
    book.task_a = await add_task(book.alpha, title="a")
    book.task_b = await add_task(book.beta, title="b")
    spec: list[tuple[str, str, str, str, Task | None, Channel | None, datetime]] = [
        ("created_a", "api", "task.created", "task", book.task_a, book.alpha, _at(1, 9)),
        ("started_a", "worker-1", "item.started", "task_item", book.task_a, book.alpha, _at(1, 10)),
        (
            "retry_a",
            "worker",
            "item.retry_scheduled",
            "task_item",
            book.task_a,
            book.alpha,
            _at(2, 8),
        ),
        ("created_b", "api", "task.created", "task", book.task_b, book.beta, _at(2, 9)),
        ("approved_b", "notion:ann", "review.approved", "task", book.task_b, book.beta, _at(3, 9)),
        ("cred", "api", "credential.rotated", "channel", None, book.beta, _at(3, 11)),
        ("failed_a", "worker", "task.failed", "task", book.task_a, book.alpha, _at(4, 7)),
    ]
    rows = {
        label: AuditLog(
            actor=actor,
            action=action,
            entity_type=entity,
            entity_id=str(task.id) if task else str(channel.id if channel else ""),
            task_id=task.id if task else None,
            channel_id=channel.id if channel else None,
            details={"label": label},
            created_at=at,
        )
        for label, actor, action, entity, task, channel, at in spec
    }
    await add_rows(*rows.values())
    book.ids = {label: str(row.id) for label, row in rows.items()}
    return book


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


async def labels(http: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await http.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [row["details"]["label"] for row in response.json()["data"]["items"]]


async def test_newest_first_with_every_field(client: httpx.AsyncClient, trail: Trail) -> None:
    response = await client.get(URL)
    items = response.json()["data"]["items"]
    assert [row["details"]["label"] for row in items] == [
        "failed_a",
        "cred",
        "approved_b",
        "created_b",
        "retry_a",
        "started_a",
        "created_a",
    ]
    failed = items[0]
    assert failed["id"] == trail.ids["failed_a"]
    assert (failed["actor"], failed["action"], failed["entity_type"]) == (
        "worker",
        "task.failed",
        "task",
    )
    assert failed["task_id"] == str(trail.task_a.id)
    assert failed["channel_id"] == str(trail.alpha.id)
    assert failed["created_at"].startswith("2026-11-04T07:00:00")


async def test_filters(client: httpx.AsyncClient, trail: Trail) -> None:
    assert await labels(client, task_id=str(trail.task_b.id)) == ["approved_b", "created_b"]
    assert await labels(client, channel_id="beta") == ["cred", "approved_b", "created_b"]
    assert await labels(client, channel_id=str(trail.alpha.id), actor="worker") == [
        "failed_a",
        "retry_a",
    ]
    assert await labels(client, action=["task.created", "task.failed"]) == [
        "failed_a",
        "created_b",
        "created_a",
    ]
    assert await labels(client, entity_type="channel") == ["cred"]
    assert await labels(client, actor=["notion:ann", "worker-1"]) == ["approved_b", "started_a"]
    assert await labels(client, date_from="2026-11-02", date_to="2026-11-03") == [
        "cred",
        "approved_b",
        "created_b",
        "retry_a",
    ]
    assert await labels(
        client, date_from="2026-11-03T09:00:00Z", date_to="2026-11-03T09:00:00Z"
    ) == ["approved_b"]
    assert await labels(client, action="nothing.happened") == []


async def test_pages_cover_everything_once(client: httpx.AsyncClient, trail: Trail) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "channel_id": "alpha"}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(URL, params=params)
        data = response.json()["data"]
        seen += [row["details"]["label"] for row in data["items"]]
        cursor = data["pagination"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 2
    assert seen == ["failed_a", "retry_a", "started_a", "created_a"]


async def test_rows_added_between_pages_do_not_shift_them(
    client: httpx.AsyncClient, trail: Trail
) -> None:
    first = (await client.get(URL, params={"limit": 3})).json()["data"]
    await add_rows(
        AuditLog(actor="api", action="task.created", entity_type="task", created_at=_at(5, 1))
    )
    second = (
        await client.get(URL, params={"limit": 3, "cursor": first["pagination"]["next_cursor"]})
    ).json()["data"]
    assert [r["details"]["label"] for r in second["items"]] == ["created_b", "retry_a", "started_a"]


async def test_bad_requests(client: httpx.AsyncClient, trail: Trail) -> None:
    assert_error(await client.get(URL, params={"channel_id": "gamma"}), 404, "CHANNEL_NOT_FOUND")
    assert_error(await client.get(URL, params={"cursor": "bm90LWpzb24"}), 400, "INVALID_CURSOR")
    assert_error(await client.get(URL, params={"task_id": "not-a-uuid"}), 422, "VALIDATION_ERROR")
    assert_error(await client.get(URL, params={"limit": 0}), 422, "VALIDATION_ERROR")
