"""GET /api/v1/video-costs: filters, sums per channel/service/day/step, paginated rows.

The expected sums are worked out by hand from the seven ledger rows below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.models import Channel, PipelineStep, Task, VideoCost
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task

URL = "/api/v1/video-costs"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


class Ledger:
    alpha: Channel
    beta: Channel
    a1: Task
    a2: Task
    b1: Task
    ids: list[str]  # row ids in ledger order (row 1 first)


@pytest.fixture
async def ledger(client: httpx.AsyncClient) -> Ledger:
    book = Ledger()
    book.alpha, book.beta = await add_channel("alpha"), await add_channel("beta")
    book.a1 = await add_task(book.alpha, title="a1")
    book.a2 = await add_task(book.alpha, title="a2")
    book.b1 = await add_task(book.beta, title="b1")
    spec: list[tuple[Task, PipelineStep, str, str, str, str, datetime]] = [
        (book.a1, PipelineStep.ASSETS, "gemini", "1", "image", "0.039", _at(1, 10)),
        (book.a1, PipelineStep.VIDEOS, "kling", "5", "seconds", "0.35", _at(1, 23, 30)),
        (book.a1, PipelineStep.VIDEOS, "kling", "5", "seconds", "0.35", _at(2, 0, 10)),
        (book.a2, PipelineStep.NARRATION, "elevenlabs", "120", "characters", "0.036", _at(2, 12)),
        (book.b1, PipelineStep.VIDEOS, "kling", "10", "seconds", "0.70", _at(2, 13)),
        (book.b1, PipelineStep.ASSETS, "gemini", "2", "image", "0.078", _at(3, 9)),
        (book.b1, PipelineStep.UPLOAD, "youtube", "1600", "quota", "0", _at(3, 10)),
    ]
    rows = [
        VideoCost(
            task_id=task.id,
            channel_id=task.channel_id,
            step=step,
            item_key=f"item-{n}",
            service=service,
            units=Decimal(units),
            unit_label=label,
            cost_usd=Decimal(usd),
            idempotency_key=f"row-{n}",
            created_at=at,
        )
        for n, (task, step, service, units, label, usd, at) in enumerate(spec, start=1)
    ]
    await add_rows(*rows)
    book.ids = [str(row.id) for row in rows]
    return book


def sums(entry: dict[str, Any]) -> tuple[Decimal, Decimal, int]:
    return Decimal(entry["cost_usd"]), Decimal(entry["units"]), entry["count"]


def groups(data: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal, int]]:
    return {group["key"]: sums(group) for group in data["groups"]}


async def report(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get(URL, params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def d(text: str) -> Decimal:
    return Decimal(text)


async def test_sums_per_channel(client: httpx.AsyncClient, ledger: Ledger) -> None:
    data = await report(client, group_by="channel")
    assert groups(data) == {
        "alpha": (d("0.775"), d("131"), 4),
        "beta": (d("0.778"), d("1612"), 3),
    }
    ids = {g["key"]: g["channel_id"] for g in data["groups"]}
    assert ids == {"alpha": str(ledger.alpha.id), "beta": str(ledger.beta.id)}
    assert sums(data["totals"]) == (d("1.553"), d("1743"), 7)
    assert data["items"] is None and data["pagination"] is None


async def test_sums_per_service(client: httpx.AsyncClient, ledger: Ledger) -> None:
    data = await report(client, group_by="service")
    assert list(groups(data).items()) == [
        ("elevenlabs", (d("0.036"), d("120"), 1)),
        ("gemini", (d("0.117"), d("3"), 2)),
        ("kling", (d("1.40"), d("20"), 3)),
        ("youtube", (d("0"), d("1600"), 1)),
    ]
    assert all(g["channel_id"] is None for g in data["groups"])


async def test_sums_per_utc_day(client: httpx.AsyncClient, ledger: Ledger) -> None:
    data = await report(client, group_by="day")
    assert list(groups(data).items()) == [
        ("2026-11-01", (d("0.389"), d("6"), 2)),
        ("2026-11-02", (d("1.086"), d("135"), 3)),
        ("2026-11-03", (d("0.078"), d("1602"), 2)),
    ]


async def test_sums_per_step_in_pipeline_order(client: httpx.AsyncClient, ledger: Ledger) -> None:
    data = await report(client, group_by="step")
    assert list(groups(data).items()) == [
        ("assets", (d("0.117"), d("3"), 2)),
        ("videos", (d("1.40"), d("20"), 3)),
        ("narration", (d("0.036"), d("120"), 1)),
        ("upload", (d("0"), d("1600"), 1)),
    ]


async def test_filters_combine_with_groups(client: httpx.AsyncClient, ledger: Ledger) -> None:
    beta = await report(client, channel_id="beta", group_by="service")
    assert groups(beta) == {
        "gemini": (d("0.078"), d("2"), 1),
        "kling": (d("0.70"), d("10"), 1),
        "youtube": (d("0"), d("1600"), 1),
    }
    by_id = await report(client, channel_id=str(ledger.beta.id), group_by="service")
    assert groups(by_id) == groups(beta)
    one_day = await report(client, date_from="2026-11-02", date_to="2026-11-02", group_by="channel")
    assert groups(one_day) == {
        "alpha": (d("0.386"), d("125"), 2),
        "beta": (d("0.70"), d("10"), 1),
    }
    exact = await report(
        client, date_from="2026-11-01T23:30:00Z", date_to="2026-11-02T12:00:00Z", group_by="day"
    )
    assert groups(exact) == {
        "2026-11-01": (d("0.35"), d("5"), 1),
        "2026-11-02": (d("0.386"), d("125"), 2),
    }
    task = await report(client, task_id=str(ledger.a1.id))
    assert sums(task["totals"]) == (d("0.739"), d("11"), 3)
    step = await report(client, step="videos", channel_id="alpha")
    assert sums(step["totals"]) == (d("0.70"), d("10"), 2)


async def test_rows_newest_first_with_filters(client: httpx.AsyncClient, ledger: Ledger) -> None:
    data = await report(client, service="kling")
    assert [row["id"] for row in data["items"]] == [ledger.ids[4], ledger.ids[2], ledger.ids[1]]
    first = data["items"][0]
    assert first["task_id"] == str(ledger.b1.id)
    assert first["channel_id"] == str(ledger.beta.id)
    assert (first["step"], first["service"], first["unit_label"]) == ("videos", "kling", "seconds")
    assert Decimal(first["cost_usd"]) == d("0.70")
    assert data["groups"] is None and data["group_by"] is None
    assert sums(data["totals"]) == (d("1.40"), d("20"), 3)


async def test_rows_paginate_without_gaps_or_repeats(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        data = await report(client, **params)
        assert sums(data["totals"]) == (d("1.553"), d("1743"), 7)  # totals ignore paging
        assert data["pagination"]["limit"] == 3
        seen += [row["id"] for row in data["items"]]
        cursor = data["pagination"]["next_cursor"]
    assert cursor is None
    assert seen == list(reversed(ledger.ids))


async def test_empty_ledger_sums_to_zero(client: httpx.AsyncClient) -> None:
    data = await report(client, group_by="channel")
    assert data["groups"] == []
    assert sums(data["totals"]) == (d("0"), d("0"), 0)


async def test_bad_requests(client: httpx.AsyncClient, ledger: Ledger) -> None:
    assert_error(await client.get(URL, params={"channel_id": "nope"}), 404, "CHANNEL_NOT_FOUND")
    assert_error(await client.get(URL, params={"group_by": "month"}), 422, "VALIDATION_ERROR")
    assert_error(await client.get(URL, params={"cursor": "%%%"}), 400, "INVALID_CURSOR")
    assert_error(
        await client.get(URL, params={"date_from": "2026-11-03", "date_to": "2026-11-01"}),
        400,
        "INVALID_DATE_RANGE",
    )
