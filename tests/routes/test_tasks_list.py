"""GET /api/v1/tasks: filters (status, channel, created_at range) and cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.models import Channel, Task, TaskStatus
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_task

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def _ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/v1/tasks", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]["items"]]


def _newest_first(*tasks: Task) -> list[str]:
    return [str(t.id) for t in sorted(tasks, key=lambda t: (t.created_at, t.id), reverse=True)]


async def _two_channels() -> tuple[Channel, Channel]:
    return await add_channel("alpha"), await add_channel("beta")


async def test_list_shape_and_order(client: httpx.AsyncClient) -> None:
    alpha, _ = await _two_channels()
    old = await add_task(alpha, title="old", created_at=T0)
    new = await add_task(alpha, title="new", created_at=T0 + timedelta(hours=1))
    response = await client.get("/api/v1/tasks")
    body = response.json()
    assert body["success"] is True
    assert body["data"]["pagination"] == {"next_cursor": None, "limit": 50}
    items = body["data"]["items"]
    assert [i["id"] for i in items] == [str(new.id), str(old.id)]
    assert items[0]["title"] == "new" and "plan" not in items[0]


async def test_filter_by_status(client: httpx.AsyncClient) -> None:
    alpha, _ = await _two_channels()
    queued = await add_task(alpha, status=TaskStatus.QUEUED, created_at=T0)
    failed = await add_task(alpha, status=TaskStatus.FAILED, created_at=T0 + timedelta(minutes=1))
    draft = await add_task(alpha, status=TaskStatus.DRAFT, created_at=T0 + timedelta(minutes=2))
    assert await _ids(client, status="failed") == [str(failed.id)]
    assert await _ids(client, status=["queued", "draft"]) == _newest_first(queued, draft)
    assert await _ids(client, status="published") == []


async def test_filter_by_channel_id_or_slug(client: httpx.AsyncClient) -> None:
    alpha, beta = await _two_channels()
    a = await add_task(alpha, created_at=T0)
    b = await add_task(beta, created_at=T0)
    assert await _ids(client, channel_id=str(alpha.id)) == [str(a.id)]
    assert await _ids(client, channel_id="beta") == [str(b.id)]
    response = await client.get("/api/v1/tasks", params={"channel_id": "gamma"})
    assert_error(response, 404, "CHANNEL_NOT_FOUND")


async def test_filter_by_created_at_range(client: httpx.AsyncClient) -> None:
    alpha, _ = await _two_channels()
    day1_start = await add_task(alpha, created_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    day1_end = await add_task(
        alpha, created_at=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    )
    day2 = await add_task(alpha, created_at=datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    day3 = await add_task(alpha, created_at=datetime(2026, 3, 3, 9, 30, tzinfo=UTC))

    # Plain dates cover whole UTC days at both ends.
    assert await _ids(client, date_from="2026-03-01", date_to="2026-03-01") == _newest_first(
        day1_start, day1_end
    )
    assert await _ids(client, date_from="2026-03-02") == _newest_first(day2, day3)
    assert await _ids(client, date_to="2026-03-02") == _newest_first(day1_start, day1_end, day2)
    # Datetimes are exact and date_to is included; an offset is honoured.
    assert await _ids(client, date_from="2026-03-02T00:00:00Z", date_to="2026-03-03T09:30:00Z") == (
        _newest_first(day2, day3)
    )
    assert await _ids(client, date_to="2026-03-03T09:29:59Z", date_from="2026-03-01T23:59:59Z") == (
        _newest_first(day1_end, day2)
    )
    assert await _ids(client, date_from="2026-03-03T10:30:00+01:00") == [str(day3.id)]
    # Filters combine.
    assert await _ids(client, date_from="2026-03-02", status="failed") == []


async def test_bad_date_range_and_values(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/tasks", params={"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )
    assert_error(response, 400, "INVALID_DATE_RANGE")
    response = await client.get("/api/v1/tasks", params={"date_from": "yesterday"})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["loc"][:2] == ["query", "date_from"]


async def test_cursor_pagination_has_no_duplicates_or_gaps(client: httpx.AsyncClient) -> None:
    alpha, beta = await _two_channels()
    tasks = [await add_task(alpha, created_at=T0 + timedelta(seconds=i)) for i in range(5)]
    # Three tasks created in the same microsecond: the id breaks the tie.
    tasks += [await add_task(beta, created_at=T0 + timedelta(seconds=2)) for _ in range(3)]
    expected = _newest_first(*tasks)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/tasks", params=params)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["pagination"]["limit"] == 3
        seen += [item["id"] for item in data["items"]]
        pages += 1
        cursor = data["pagination"]["next_cursor"]
        if cursor is None:
            break
        assert len(data["items"]) == 3
        assert pages < 10
    assert pages == 3
    assert seen == expected


async def test_pagination_with_filter_and_exact_page_boundary(client: httpx.AsyncClient) -> None:
    alpha, beta = await _two_channels()
    mine = [await add_task(alpha, created_at=T0 + timedelta(seconds=i)) for i in range(4)]
    for i in range(3):
        await add_task(beta, created_at=T0 + timedelta(seconds=i))
    first = (await client.get("/api/v1/tasks", params={"limit": 2, "channel_id": "alpha"})).json()
    cursor = first["data"]["pagination"]["next_cursor"]
    second = (
        await client.get(
            "/api/v1/tasks", params={"limit": 2, "channel_id": "alpha", "cursor": cursor}
        )
    ).json()
    ids = [i["id"] for i in first["data"]["items"] + second["data"]["items"]]
    assert ids == _newest_first(*mine)
    # Exactly two left: the second page is the last one.
    assert second["data"]["pagination"]["next_cursor"] is None


async def test_bad_cursor_and_limit(client: httpx.AsyncClient) -> None:
    for cursor in ("not-a-cursor", "bm9wZQ", "WyJ4IiwgInkiXQ"):
        response = await client.get("/api/v1/tasks", params={"cursor": cursor})
        assert_error(response, 400, "INVALID_CURSOR")
    for limit in (0, 201):
        response = await client.get("/api/v1/tasks", params={"limit": limit})
        assert_error(response, 422, "VALIDATION_ERROR")
    response = await client.get("/api/v1/tasks", params={"limit": 200})
    assert response.json()["data"]["pagination"]["limit"] == 200
