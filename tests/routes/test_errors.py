"""Every kind of failure answers in the error envelope."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from app.models import TaskStatus
from app.pipeline.state import ensure_transition
from tests.routes.conftest import assert_error, make_client


async def test_unknown_task_is_404(client: httpx.AsyncClient) -> None:
    task_id = uuid.uuid4()
    error = assert_error(await client.get(f"/api/v1/tasks/{task_id}"), 404, "TASK_NOT_FOUND")
    assert str(task_id) in error["message"]
    assert error["details"] == {"task_id": str(task_id)}


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")
    assert error["message"] == "no such route"
    assert_error(await client.get("/nowhere"), 404, "NOT_FOUND")


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/tasks")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    # Starlette names the methods of the first route matching the path only.
    assert response.headers["allow"] in {"GET", "POST"}


async def test_query_validation_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/tasks", params={"limit": 0, "status": "bogus"})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    locs = {tuple(entry["loc"]) for entry in error["details"]["errors"]}
    assert locs == {("query", "limit"), ("query", "status", 0)}
    assert "query.limit" in error["message"]


async def test_body_validation_is_422_naming_the_fields(client: httpx.AsyncClient) -> None:
    body = {"channel_slug": "demo", "title": "", "priority": "high", "surprise": 1}
    error = assert_error(await client.post("/api/v1/tasks", json=body), 422, "VALIDATION_ERROR")
    entries = {tuple(entry["loc"]): entry for entry in error["details"]["errors"]}
    assert set(entries) == {("body", "title"), ("body", "priority"), ("body", "surprise")}
    assert entries[("body", "priority")]["field"] == "priority"
    assert entries[("body", "title")]["message"].startswith("title: ")


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["type"] == "json_invalid"


async def test_invalid_transition_is_409(api_app: FastAPI) -> None:
    @api_app.post("/test/publish-again")
    async def publish_again() -> None:
        ensure_transition(TaskStatus.PUBLISHED, TaskStatus.QUEUED)

    async with make_client(api_app) as http:
        error = assert_error(await http.post("/test/publish-again"), 409, "INVALID_TRANSITION")
    assert error["details"] == {"current": "published", "target": "queued"}
    assert "published" in error["message"] and "queued" in error["message"]


async def test_unexpected_error_is_500_generic_and_logged(api_app: FastAPI) -> None:
    @api_app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    # raise_app_exceptions=True: the error must be answered, not re-raised to the server.
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        with capture_logs() as logs:
            response = await http.get("/test/boom")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "hunter2" not in response.text
    assert error["details"] == {}
    [entry] = [e for e in logs if e["event"] == "http.unhandled_error"]
    assert entry["log_level"] == "error"
    assert entry["exc_info"] is True
    assert entry["path"] == "/test/boom"
