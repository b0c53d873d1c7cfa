"""The real app served by uvicorn on loopback, with its own lifespan, against a fresh test database.

Fuzzing goes over real HTTP rather than an in-process transport: the app's engine, dispatcher
and lifespan run in the server's own event loop, exactly as under ``vidgen web``, and transport
details (chunked bodies, Content-Length) are real.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from pydantic import SecretStr

from app.core.config import PROJECT_ROOT, Settings, normalise_database_url
from app.core.database import _run_sync
from app.main import create_app
from tests.conftest import DB_PREFIX, with_database
from tests.fakes.server import free_port

API_TOKEN = "fuzz-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    settings: Settings


async def _admin_sql(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fuzz_settings(db_url: str, workspace: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "api_token": SecretStr(API_TOKEN),
        "environment": "test",
        "database_url": db_url,
        "workspace_root": workspace,
        "channel_configs_dir": PROJECT_ROOT / "channel_configs",
        "log_level": "CRITICAL",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def live_app(
    pg_admin_url: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """``create_app`` under uvicorn (lifespan on) with a database of its own, shared by tests/fuzz."""
    name = f"{DB_PREFIX}{os.getpid()}_fuzz_{free_port()}"
    _run_sync(_admin_sql(pg_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    settings = fuzz_settings(
        normalise_database_url(with_database(pg_admin_url, name)),
        tmp_path_factory.mktemp("fuzz-workspace"),
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="critical", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the app did not start under uvicorn")
            time.sleep(0.05)
        yield LiveApp(base_url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        _run_sync(_admin_sql(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
