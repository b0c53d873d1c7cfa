"""Run and inspect the Alembic migrations from code (``vidgen migrate``, ``/ready``, tests).

Alembic runs on a connection we open here, so the advisory lock and the migrations share one
transaction: several processes starting at once queue on the lock, and the later ones find the
schema already at head and do nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.core.config import PROJECT_ROOT, normalise_database_url

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"

# Any fixed 64-bit number; only our own migration runners take this lock.
MIGRATION_LOCK_KEY = 0x76696467656E0001

# Tables that exist in the database but not in app.models (PgQueuer's own, installed by 0002).
EXTERNAL_TABLES = frozenset(
    {"pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules"}
)


def alembic_config(url: str | None = None) -> Config:
    """A Config pointing at the repository's migrations, whatever the current directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", normalise_database_url(url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Autogenerate filter: ignore PgQueuer's tables (they are not ORM models)."""
    return not (type_ == "table" and reflected and compare_to is None and name in EXTERNAL_TABLES)


def head_revision() -> str:
    """The single head of the migration scripts (raises if there are several)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


@asynccontextmanager
async def _connect(url: str | None) -> AsyncIterator[AsyncConnection]:
    """A one-off connection (NullPool: nothing kept open after a migration run)."""
    if url is None:
        from app.core.database import resolve_database_url

        # May start the embedded server (about a second): keep the event loop free meanwhile.
        url = await asyncio.to_thread(resolve_database_url)
    engine = create_async_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


def _run_command(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def _migrate(action: str, revision: str, url: str | None) -> None:
    async with _connect(url) as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            await conn.run_sync(_run_command, action, revision)


async def upgrade_to_head(url: str | None = None) -> None:
    """Apply every pending migration (default database: ``resolve_database_url()``)."""
    await _migrate("upgrade", "head", url)


async def downgrade_to(revision: str = "base", url: str | None = None) -> None:
    """Revert migrations down to ``revision`` (``base`` drops everything they created)."""
    await _migrate("downgrade", revision, url)


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(
    url: str | None = None, *, connection: AsyncConnection | None = None
) -> str | None:
    """The revision the database is at, or None before the first migration.

    With no argument, uses the process engine when one is initialised (cheap for ``/ready``).
    """
    if connection is not None:
        return await connection.run_sync(_read_revision)
    if url is None:
        from app.core.database import get_engine

        try:
            engine = get_engine()
        except RuntimeError:
            engine = None
        if engine is not None:
            async with engine.connect() as conn:
                return await conn.run_sync(_read_revision)
    async with _connect(url) as conn:
        return await conn.run_sync(_read_revision)


async def is_at_head(url: str | None = None, *, connection: AsyncConnection | None = None) -> bool:
    """True when the database's revision is the scripts' head."""
    return await current_revision(url, connection=connection) == head_revision()
