"""Database fixtures: one real PostgreSQL per run, a migrated template, a fresh copy per test.

The server is ``DATABASE_URL`` when set (read at import, before any test can change it), else the
embedded server in ``workspace/test-postgres`` (shared with other pytest runs on this machine; the
wheel keeps it up while any of them lives). The template is built once per run by running the
Alembic migrations, so every test also exercises them; each test that asks for a database gets
``CREATE DATABASE ... TEMPLATE`` (0.04 s on an idle machine, ~0.5 s on a busy disk, so one spare
is made ahead in the background) and it is dropped afterwards.

Fixtures: ``pg_admin_url`` (session, ``postgresql://`` URL of the admin database), ``db_url``
(``postgresql+asyncpg://`` URL of this test's database), ``empty_db_url`` (a database with no
migrations applied), ``db_engine``, ``db_session``
(expire_on_commit=False, tests may commit) and ``app_db`` (the process engine of
``app.core.database`` pointed at this test's database; yields it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core.config import PROJECT_ROOT, asyncpg_dsn, get_settings, normalise_database_url

TEST_PG_DIR = PROJECT_ROOT / "workspace" / "test-postgres"
DB_PREFIX = "vidgen_test_"
_ENV_DATABASE_URL = os.environ.get("DATABASE_URL") or None
_counter = itertools.count(1)

# Durability is worthless for throw-away test databases; sighup settings apply on reload.
_TEST_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
# Take effect at the server's next start (it stops when the last run using it exits).
_RESTART_SETTINGS = {"max_connections": "300"}


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced (query string such as ``?host=`` kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def _tune_and_clean(admin_url: str) -> None:
    """Speed settings for the embedded test server; drop databases left by killed runs."""
    conn = await _admin(admin_url)
    try:
        for name, value in {**_TEST_SERVER_SETTINGS, **_RESTART_SETTINGS}.items():
            current = await conn.fetchval(f"SELECT current_setting('{name}')")
            if current != value:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", DB_PREFIX + "%"
        )
        for row in names:
            pid_part = row["datname"].removeprefix(DB_PREFIX).removeprefix("tpl_").split("_")[0]
            if pid_part.isdigit() and not _pid_alive(int(pid_part)):
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """Plain ``postgresql://`` URL of the test server's admin database."""
    if _ENV_DATABASE_URL:
        return asyncpg_dsn(_ENV_DATABASE_URL)
    from app.core.database import _run_sync, start_embedded_postgres

    uri = start_embedded_postgres(TEST_PG_DIR)
    admin_url = with_database(uri, "postgres")
    _run_sync(_tune_and_clean(admin_url))
    return admin_url


async def _create_database(admin_url: str, name: str, template: str | None = None) -> None:
    conn = await _admin(admin_url)
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await _admin(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class _TemplateCopies:
    """Hands out copies of the template, keeping one spare being made in the background.

    A copy costs a few hundred milliseconds of file copying on a slow disk; the server does
    it while the previous test runs, so most tests find theirs ready.
    """

    def __init__(self, admin_url: str, template: str) -> None:
        self.admin_url = admin_url
        self.template = template
        self._spare: asyncio.Task[str] | None = None

    async def _make(self) -> str:
        name = f"{DB_PREFIX}{os.getpid()}_{next(_counter)}"
        await _create_database(self.admin_url, name, self.template)
        return name

    async def take(self) -> str:
        spare, self._spare = self._spare, None
        name: str | None = None
        if spare is not None:
            try:
                name = await spare
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                name = None  # the server restarted under it (a restart test): make a new one
        if name is None:
            name = await self._make()
        self._spare = asyncio.create_task(self._make())
        return name

    async def close(self) -> None:
        if self._spare is not None:
            try:
                await _drop_database(self.admin_url, await self._spare)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # never made (server restarted); a later run drops leftovers by pid
            finally:
                self._spare = None


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_template(pg_admin_url: str) -> AsyncIterator[str]:
    """Name of a database migrated to head once for this run; tests get copies of it."""
    from app.core.migrations import upgrade_to_head

    name = f"{DB_PREFIX}tpl_{os.getpid()}_{secrets.token_hex(3)}"
    await _create_database(pg_admin_url, name)
    try:
        await upgrade_to_head(normalise_database_url(with_database(pg_admin_url, name)))
        yield name
    finally:
        await _drop_database(pg_admin_url, name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _template_copies(pg_admin_url: str, pg_template: str) -> AsyncIterator[_TemplateCopies]:
    copies = _TemplateCopies(pg_admin_url, pg_template)
    try:
        yield copies
    finally:
        await copies.close()


@pytest_asyncio.fixture
async def db_url(pg_admin_url: str, _template_copies: _TemplateCopies) -> AsyncIterator[str]:
    """``postgresql+asyncpg://`` URL of a fresh, migrated database for this test only."""
    name = await _template_copies.take()
    try:
        yield normalise_database_url(with_database(pg_admin_url, name))
    finally:
        await _drop_database(pg_admin_url, name)


@pytest_asyncio.fixture
async def empty_db_url(pg_admin_url: str) -> AsyncIterator[str]:
    """``postgresql+asyncpg://`` URL of a brand-new database with no migrations applied."""
    name = f"{DB_PREFIX}{os.getpid()}_{next(_counter)}_empty"
    await _create_database(pg_admin_url, name)
    try:
        yield normalise_database_url(with_database(pg_admin_url, name))
    finally:
        await _drop_database(pg_admin_url, name)


@pytest_asyncio.fixture
async def db_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url, pool_size=5, max_overflow=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def db_session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(db_engine, expire_on_commit=False) as session:
        yield session


@pytest_asyncio.fixture
async def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    """Point ``app.core.database`` (``session_scope``, ``get_db``) at this test's database.

    ``DATABASE_URL`` is set for the test, so subprocesses it starts use the same database.
    """
    from app.core import database

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    engine = database.init_engine(application_name="test", settings=get_settings())
    try:
        yield engine
    finally:
        await database.dispose_engine()
        get_settings.cache_clear()


@pytest.fixture
def clear_settings_cache() -> Iterator[None]:
    """For tests that change environment variables read by ``get_settings()``."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _logging_baseline() -> tuple[list[logging.Handler], int, dict[str, object]]:
    """How logging was before any fixture or lifespan touched it."""
    root = logging.getLogger()
    return list(root.handlers), root.level, dict(structlog.get_config())


@pytest.fixture(autouse=True)
def _isolate_logging(
    _logging_baseline: tuple[list[logging.Handler], int, dict[str, object]],
) -> Iterator[None]:
    """A lifespan or CLI run in-process reconfigures logging process-wide (level, handlers).

    Put the baseline back after every test (package-scoped servers included), so a later test's
    ``capture_logs`` sees INFO events whatever ran before it.
    """
    yield
    handlers, level, config = _logging_baseline
    root = logging.getLogger()
    root.handlers = list(handlers)
    root.setLevel(level)
    structlog.configure(**config)  # type: ignore[arg-type]
