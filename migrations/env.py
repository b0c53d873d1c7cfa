"""Alembic environment: async, URL from the caller or from app.core.database.resolve_database_url().

Where the database comes from, first match wins:
1. ``config.attributes["connection"]``: a sync Connection handed over by app.core.migrations
   (it holds the advisory lock and owns the transaction).
2. ``alembic -x url=...`` or the config's ``sqlalchemy.url``.
3. ``resolve_database_url()``: ``DATABASE_URL``, else the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import normalise_database_url
from app.core.migrations import include_object
from app.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _given_url() -> str | None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    return normalise_database_url(url) if url else None


def _database_url() -> str:
    url = _given_url()
    if url:
        return url
    from app.core.database import resolve_database_url

    return resolve_database_url()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_object=include_object,
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """``alembic upgrade head --sql``: print the SQL instead of running it (no server needed)."""
    url = _given_url()
    context.configure(
        url=url,
        dialect_name=None if url else "postgresql",
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
