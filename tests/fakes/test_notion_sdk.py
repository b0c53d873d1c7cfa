"""The Notion fake, checked with the official Python SDK (notion-client): if it is happy, so are we.

Our own client talks to the fake through plain httpx; these tests keep the fake honest about the
paths per version, the page and list shapes, filters, pagination, errors and rate limiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from notion_client import APIErrorCode, APIResponseError, Client
from notion_client.helpers import collect_paginated_api, is_full_page

from tests.fakes.notion import DEFAULT_TOKEN, NotionFake, running

STATUS_OPTIONS = ["Draft", "Queued", "Planning", "Published"]


@pytest.fixture
def served() -> Iterator[tuple[str, NotionFake]]:
    with running(NotionFake(rate=1000)) as (url, fake):
        yield url.removesuffix("/v1"), fake


def board(fake: NotionFake, status_kind: str = "status") -> tuple[str, str]:
    return fake.add_database(
        "Videos",
        {
            "Status": {status_kind: {"options": STATUS_OPTIONS}},
            "Topic": {"rich_text": {}},
            "Cost": {"number": {"format": "dollar"}},
            "YouTube": {"url": {}},
        },
    )


def sdk(root: str, version: str = "2025-09-03") -> Client:
    return Client(auth=DEFAULT_TOKEN, base_url=root, notion_version=version)


def test_sdk_finds_the_data_source_and_reads_its_schema(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    database_id, source_id = board(fake)
    client = sdk(root)
    database = client.databases.retrieve(database_id=database_id)
    assert database["data_sources"] == [{"id": source_id, "name": "Videos"}]
    source = client.data_sources.retrieve(data_source_id=source_id)
    assert source["object"] == "data_source"
    assert source["properties"]["Status"]["type"] == "status"
    assert [
        o["name"] for o in source["properties"]["Status"]["status"]["options"]
    ] == STATUS_OPTIONS
    assert source["properties"]["Name"]["type"] == "title"


def test_sdk_queries_with_status_filter_across_pages(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    _, source_id = board(fake)
    queued = {fake.add_page(source_id, {"Name": f"q{i}", "Status": "Queued"}) for i in range(130)}
    for i in range(20):
        fake.add_page(source_id, {"Name": f"d{i}", "Status": "Draft"})
    client = sdk(root)
    rows = collect_paginated_api(
        client.data_sources.query,
        data_source_id=source_id,
        filter={"property": "Status", "status": {"equals": "Queued"}},
    )
    assert {r["id"] for r in rows} == queued
    assert all(is_full_page(r) for r in rows)
    first = client.data_sources.query(data_source_id=source_id, page_size=100)
    assert first["has_more"] is True and first["next_cursor"]
    assert first["type"] == "page_or_data_source" and len(first["results"]) == 100
    assert first["results"][0]["parent"]["data_source_id"] == source_id


def test_sdk_filters_on_last_edited_time(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    _, source_id = board(fake)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for i in range(5):
        fake.add_page(source_id, {"Name": f"old{i}"}, edited=long_ago)
    fresh = fake.add_page(source_id, {"Name": "fresh"})
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    rows = sdk(root).data_sources.query(
        data_source_id=source_id,
        filter={"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since}},
    )["results"]
    assert [r["id"] for r in rows] == [fresh]
    assert rows[0]["last_edited_time"].endswith(":00.000Z")  # truncated to the minute


def test_sdk_updates_and_creates_pages(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    _, source_id = board(fake)
    page_id = fake.add_page(source_id, {"Name": "A video", "Status": "Draft"})
    client = sdk(root)
    updated = client.pages.update(
        page_id=page_id,
        properties={
            "Status": {"status": {"name": "Queued"}},
            "Cost": {"number": 1.25},
            "Topic": {"rich_text": [{"text": {"content": "whales"}}]},
        },
    )
    assert updated["properties"]["Status"]["status"]["name"] == "Queued"
    again = client.pages.retrieve(page_id=page_id)
    assert again["properties"]["Cost"]["number"] == 1.25
    assert again["properties"]["Topic"]["rich_text"][0]["plain_text"] == "whales"
    assert again["archived"] is False and again["in_trash"] is False
    created = client.pages.create(
        parent={"type": "data_source_id", "data_source_id": source_id},
        properties={"Name": {"title": [{"text": {"content": "New"}}]}},
    )
    assert fake.values(created["id"])["Name"] == "New"


def test_sdk_with_2026_03_11_sees_in_trash_only(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    _, source_id = board(fake)
    page_id = fake.add_page(source_id, {"Name": "x"})
    page = sdk(root, "2026-03-11").pages.update(page_id=page_id, in_trash=True)
    assert page["in_trash"] is True and "archived" not in page


def test_paths_must_match_the_version(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    database_id, source_id = board(fake)
    with pytest.raises(APIResponseError) as error:
        sdk(root, "2022-06-28").data_sources.query(data_source_id=source_id)
    assert error.value.code == APIErrorCode.InvalidRequestURL
    legacy = sdk(root, "2022-06-28").databases.retrieve(database_id=database_id)
    assert "properties" in legacy and "data_sources" not in legacy


def test_errors_have_notions_codes(served: tuple[str, NotionFake]) -> None:
    root, fake = served
    _, source_id = board(fake)
    with pytest.raises(APIResponseError) as error:
        Client(auth="ntn_wrong", base_url=root).data_sources.retrieve(data_source_id=source_id)
    assert error.value.code == APIErrorCode.Unauthorized and error.value.status == 401
    with pytest.raises(APIResponseError) as error:
        sdk(root).pages.retrieve(page_id="00000000-0000-0000-0000-000000000000")
    assert error.value.code == APIErrorCode.ObjectNotFound
    page_id = fake.add_page(source_id, {"Name": "x"})
    with pytest.raises(APIResponseError) as error:
        sdk(root).pages.update(page_id=page_id, properties={"Status": {"status": {"name": "Nope"}}})
    assert error.value.code == APIErrorCode.ValidationError
    with pytest.raises(APIResponseError) as error:
        sdk(root).data_sources.update(
            data_source_id=source_id,
            properties={"Status": {"status": {"options": [{"name": "X"}]}}},
        )
    assert error.value.code == APIErrorCode.ValidationError


def test_rate_limit_answers_429_with_retry_after_and_the_sdk_recovers() -> None:
    with running(NotionFake(rate=2, window=1.0)) as (url, fake):
        _, source_id = board(fake)
        client = sdk(url.removesuffix("/v1"))
        for _ in range(4):
            client.data_sources.retrieve(data_source_id=source_id)
        limited = [c for c in fake.calls if c.status == 429]
        assert limited, "four requests at once should exceed 2 per second"
        assert sum(c.status == 200 for c in fake.calls) == 4
