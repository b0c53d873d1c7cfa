"""The real app (``create_app``) on an in-process transport, against this test's real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app

API_TOKEN = "test-token-0123456789abcdef"
BASE_URL = "http://testserver"


def app_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"api_token": SecretStr(API_TOKEN), "environment": "test"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def api_app() -> FastAPI:
    return create_app(app_settings())


def make_client(app: FastAPI, token: str | None = API_TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)


@pytest_asyncio.fixture
async def client(api_app: FastAPI, app_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated client; the database is this test's freshly migrated one."""
    async with make_client(api_app) as http:
        yield http


@pytest_asyncio.fixture
async def anon_client(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """No token, and no database behind it: whatever it reaches must not need one."""
    async with make_client(api_app, token=None) as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the error envelope with this status and code; returns its ``error``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert set(body) == {"success", "error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


@pytest_asyncio.fixture
async def workspace_client(
    tmp_path: Path, app_db: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """An authenticated client whose artifact store is this test's own workspace."""
    root = tmp_path / "workspace"
    root.mkdir()
    async with make_client(create_app(app_settings(workspace_root=root))) as http:
        yield http, root
