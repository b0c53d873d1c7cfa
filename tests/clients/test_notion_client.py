"""The Notion client against the fake: versions, data sources, pagination, retries, fail-fast errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.notion.board import BoardSchemaError, read_schema
from app.notion.client import (
    NotionRequestError,
    NotionUnavailableError,
    RetryPolicy,
    is_trashed,
)
from app.notion.rate_limit import PostgresRateLimiter
from tests.fakes.notion import DEFAULT_TOKEN, NotionFake, running
from tests.services.notion_support import add_board, make_client


@pytest.fixture
def notion() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as served:
        yield served


@pytest.mark.parametrize("version", ["2025-09-03", "2026-03-11"])
async def test_data_source_is_resolved_once_and_queries_follow_every_page(
    app_db: AsyncEngine, notion: tuple[str, NotionFake], version: str
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    pages = {fake.add_page(source_id, {"Name": f"r{i}", "Status": "Queued"}) for i in range(230)}
    client = make_client(url, app_db, version=version)

    assert await client.data_source_id(database_id) == source_id
    mark = fake.mark()
    assert await client.data_source_id(database_id) == source_id
    rows = await client.query(
        source_id, filter={"property": "Status", "status": {"equals": "Queued"}}, page_size=100
    )

    calls = fake.calls_since(mark)
    assert [c.path for c in calls] == [f"/v1/data_sources/{source_id}/query"] * 3
    assert {c.version for c in calls} == {version}
    assert {r["id"] for r in rows} == pages
    trashed = await client.request("PATCH", f"pages/{rows[0]['id']}", json={"in_trash": True})
    assert is_trashed(trashed) and ("archived" in trashed) == (version == "2025-09-03")
    await client.aclose()


async def test_the_2022_version_uses_database_paths(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    database_id, source_id = add_board(fake)
    fake.add_page(source_id, {"Name": "legacy"})
    client = make_client(url, app_db, version="2022-06-28")
    assert await client.data_source_id(database_id) == database_id
    [row] = await client.query(database_id)
    assert row["parent"] == {"type": "database_id", "database_id": database_id}
    assert fake.calls[-1].path == f"/v1/databases/{database_id}/query"


async def test_429_waits_retry_after_and_holds_back_every_user_of_the_bucket(
    app_db: AsyncEngine,
) -> None:
    with running(NotionFake(rate=1, window=1.0)) as (url, fake):
        _, source_id = add_board(fake)
        client = make_client(url, app_db, rate=100)  # paced far too fast on purpose
        # another process of the fleet: same integration, so same bucket, own limiter object
        other = make_client(url, app_db, rate=100)
        other.limiter = PostgresRateLimiter(app_db, bucket=client.limiter.bucket, rate=100)  # type: ignore[attr-defined]

        async def after_the_429() -> None:
            """Starts as soon as the 429 has been recorded as a fleet-wide pause."""
            wait = text(
                "SELECT EXTRACT(EPOCH FROM next_slot_at - clock_timestamp()) "
                "FROM notion_rate_limits WHERE bucket = :bucket"
            )
            deadline = asyncio.get_running_loop().time() + 5  # without a pause: go anyway, fail
            while asyncio.get_running_loop().time() < deadline:
                async with app_db.connect() as conn:
                    ahead = await conn.scalar(wait, {"bucket": other.limiter.bucket})  # type: ignore[attr-defined]
                if ahead is not None and float(ahead) > 0.5:
                    break
                await asyncio.sleep(0.01)
            await other.get_schema(source_id)

        await asyncio.gather(
            client.get_schema(source_id), client.get_schema(source_id), after_the_429()
        )

        assert [c.status for c in fake.calls].count(200) == 3  # all three got through
        limited = next(c for c in fake.calls if c.status == 429)
        later = [c for c in fake.calls if c.at > limited.at]
        assert later and all(c.at - limited.at >= 0.9 for c in later)  # Retry-After is 1 s


async def test_server_errors_and_timeouts_are_retried_with_backoff(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, fake = notion
    _, source_id = add_board(fake)
    client = make_client(url, app_db, timeout=0.5)
    fake.fail_next(503, "service_unavailable")
    fake.fail_next(502, "bad_gateway")
    fake.stall_next(2.0)
    schema = await client.get_schema(source_id)
    assert schema["id"] == source_id
    assert client.requests_sent == 4

    fake.fail_next(500, "internal_server_error", times=10)
    with pytest.raises(NotionUnavailableError) as failure:
        await client.get_schema(source_id)
    assert failure.value.code == "internal_server_error" and failure.value.status == 500
    assert client.requests_sent == 4 + RetryPolicy().backoff.attempts


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "validation_error"),
        (401, "unauthorized"),
        (403, "restricted_resource"),
        (404, "object_not_found"),
    ],
)
async def test_client_errors_fail_fast_with_notions_code(
    app_db: AsyncEngine, notion: tuple[str, NotionFake], status: int, code: str
) -> None:
    url, fake = notion
    _, source_id = add_board(fake)
    client = make_client(url, app_db)
    fake.fail_next(status, code)
    with pytest.raises(NotionRequestError) as failure:
        await client.get_schema(source_id)
    assert client.requests_sent == 1
    assert failure.value.code == code and failure.value.status == status
    assert f"Notion {status} {code}" in str(failure.value)
    assert DEFAULT_TOKEN not in str(failure.value)


async def test_a_missing_page_names_notions_error(
    app_db: AsyncEngine, notion: tuple[str, NotionFake]
) -> None:
    url, _ = notion
    client = make_client(url, app_db)
    with pytest.raises(NotionRequestError, match="object_not_found"):
        await client.get_page("00000000-0000-0000-0000-000000000000")


def test_schema_problems_name_the_column_and_the_fix(tmp_path: Path) -> None:
    fake = NotionFake()
    database_id, source_id = fake.add_database(
        "Half", {"Cost": {"rich_text": {}}, "Progress": {"rich_text": {}}}
    )
    source = fake.render_source(fake.data_sources[source_id], "2025-09-03")
    with pytest.raises(BoardSchemaError) as error:
        read_schema(database_id, source)
    assert error.value.problems == [
        "the Status column is missing: add a Status property of type select or status",
        "Cost is a rich_text property; it must be number",
    ]

    _, ok_id = add_board(fake, "select", omit=["YouTube", "Video"])
    schema = read_schema(database_id, fake.render_source(fake.data_sources[ok_id], "2026-03-11"))
    assert schema.status_kind == "select" and schema.title == "Name"
    # Optional columns are reported, not refused; this board also predates the statistics columns.
    stats_columns = {"Views", "Likes", "Avg view %", "Cost per 1k views", "Stats updated"}
    assert set(schema.missing) == {"YouTube", "Video"} | stats_columns
