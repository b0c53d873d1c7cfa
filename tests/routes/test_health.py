"""Probes and start-up: /health, /ready, and the lifespan (engine, channel sync, bad YAML)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.channels.config import ChannelConfigError
from app.core import database
from app.core.config import PROJECT_ROOT
from app.main import create_app
from app.models import Channel
from tests.routes.conftest import app_settings, assert_error, make_client

DEMO_YAML = PROJECT_ROOT / "channel_configs" / "demo.yaml"


async def test_health_is_ok_without_database(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"status": "ok"}}


async def test_ready_on_migrated_database(
    anon_client: httpx.AsyncClient, app_db: AsyncEngine
) -> None:
    response = await anon_client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {"database": "ok", "migrations": "at_head"}}


async def test_not_ready_without_database(anon_client: httpx.AsyncClient) -> None:
    error = assert_error(await anon_client.get("/ready"), 503, "NOT_READY")
    assert error["details"] == {"database": "unreachable", "migrations": "unknown"}


@pytest_asyncio.fixture
async def unmigrated_engine(empty_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = database.init_engine(
        application_name="test", settings=app_settings(database_url=empty_db_url)
    )
    try:
        yield engine
    finally:
        await database.dispose_engine()


async def test_not_ready_before_migrations(
    anon_client: httpx.AsyncClient, unmigrated_engine: AsyncEngine
) -> None:
    error = assert_error(await anon_client.get("/ready"), 503, "NOT_READY")
    assert error["details"] == {"database": "ok", "migrations": "behind"}
    assert "migrations" in error["message"]


async def test_startup_syncs_channels_and_serves(db_url: str, tmp_path: Path) -> None:
    shutil.copy(DEMO_YAML, tmp_path / "demo.yaml")
    app = create_app(app_settings(database_url=db_url, channel_configs_dir=tmp_path))
    async with app.router.lifespan_context(app), make_client(app) as http:
        response = await http.get("/api/v1/channels/demo")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["slug"] == "demo"
        assert (await http.get("/ready")).status_code == 200
    with pytest.raises(RuntimeError, match="not initialised"):
        database.get_engine()  # disposed at shutdown


async def test_bad_channel_yaml_stops_startup(
    db_url: str, db_session: AsyncSession, tmp_path: Path
) -> None:
    text = DEMO_YAML.read_text().replace("max_concurrent: 2", "max_concurrent: lots")
    (tmp_path / "demo.yaml").write_text(text)
    app = create_app(app_settings(database_url=db_url, channel_configs_dir=tmp_path))
    with pytest.raises(ChannelConfigError, match=r"demo\.yaml: max_concurrent"):
        async with app.router.lifespan_context(app):
            pytest.fail("the app started with a bad channel config")
    assert (await db_session.scalars(select(Channel))).all() == []
    with pytest.raises(RuntimeError, match="not initialised"):
        database.get_engine()
