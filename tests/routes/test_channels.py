"""GET /api/v1/channels and /api/v1/channels/{channel_id} (id or slug)."""

from __future__ import annotations

import uuid

import httpx

from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel


async def test_list_channels_by_slug(client: httpx.AsyncClient) -> None:
    zeta = await add_channel("zeta", active=False, priority=3, config={"voice": "x"})
    alpha = await add_channel("alpha", max_concurrent=4)
    response = await client.get("/api/v1/channels")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert [c["slug"] for c in body["data"]] == ["alpha", "zeta"]
    first, second = body["data"]
    assert first["id"] == str(alpha.id) and first["max_concurrent"] == 4 and first["active"]
    assert second["id"] == str(zeta.id) and second["priority"] == 3 and not second["active"]
    assert second["config"] == {"voice": "x"}


async def test_list_channels_empty(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/channels")
    assert response.json() == {"success": True, "data": []}


async def test_get_channel_by_id_and_by_slug(client: httpx.AsyncClient) -> None:
    channel = await add_channel("space-facts", name="Space Facts")
    await add_channel("other")
    for ref in (str(channel.id), "space-facts"):
        response = await client.get(f"/api/v1/channels/{ref}")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["id"] == str(channel.id)
        assert data["name"] == "Space Facts"


async def test_unknown_channel_is_404(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.get("/api/v1/channels/nope"), 404, "CHANNEL_NOT_FOUND")
    assert "nope" in error["message"]
    assert_error(await client.get(f"/api/v1/channels/{uuid.uuid4()}"), 404, "CHANNEL_NOT_FOUND")
