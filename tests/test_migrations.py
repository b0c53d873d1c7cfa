"""The Alembic migrations: up from empty, down to base, up again; no drift from the models."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Enum, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.core import migrations
from app.core.config import PROJECT_ROOT, asyncpg_dsn, normalise_database_url
from app.models import Base

OUR_TABLES = set(Base.metadata.tables)
NOTION_SYNC_TABLES = {"notion_pages", "notion_rate_limits"}  # added by revision 0003
ALERT_TABLES = {"alert_deliveries"}  # added by revision 0004
STATS_TABLES = {"video_stats"}  # added by revision 0007
PGQUEUER_TABLES = {"pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules"}
OUR_ENUMS = {"task_status", "pipeline_step", "step_status", "item_status", "review_decision"}


async def _schema(url: str) -> dict[str, set[str]]:
    """What exists in the public schema: tables, enum types, functions, triggers."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        enums = await conn.fetch(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'public' AND t.typtype = 'e'"
        )
        functions = await conn.fetch(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
        )
        triggers = await conn.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    finally:
        await conn.close()
    return {
        "tables": {r[0] for r in tables},
        "enums": {r[0] for r in enums},
        "functions": {r[0] for r in functions},
        "triggers": {r[0] for r in triggers},
    }


class TestUpAndDown:
    async def test_upgrade_from_empty_creates_every_table_enum_and_trigger(
        self, empty_db_url: str
    ) -> None:
        assert await migrations.current_revision(empty_db_url) is None
        await migrations.upgrade_to_head(empty_db_url)

        schema = await _schema(empty_db_url)
        assert schema["tables"] == OUR_TABLES | PGQUEUER_TABLES | {"alembic_version"}
        assert OUR_ENUMS | {"pgqueuer_status"} <= schema["enums"]
        assert {"audit_logs_append_only", "fn_pgqueuer_changed"} <= schema["functions"]
        assert {"audit_logs_append_only", "audit_logs_no_truncate", "tg_pgqueuer_changed"} <= (
            schema["triggers"]
        )
        assert await migrations.current_revision(empty_db_url) == migrations.head_revision()

    async def test_down_to_base_removes_everything_and_up_again_works(
        self, empty_db_url: str
    ) -> None:
        await migrations.upgrade_to_head(empty_db_url)
        await migrations.downgrade_to("base", empty_db_url)

        schema = await _schema(empty_db_url)
        assert schema["tables"] == {"alembic_version"}  # Alembic's bookkeeping, now empty
        assert schema["enums"] == set()
        assert schema["functions"] == set()
        assert schema["triggers"] == set()
        assert await migrations.current_revision(empty_db_url) is None

        await migrations.upgrade_to_head(empty_db_url)
        assert await migrations.is_at_head(empty_db_url)
        assert (await _schema(empty_db_url))["tables"] >= OUR_TABLES | PGQUEUER_TABLES

    async def test_downgrading_one_step_removes_only_the_pgqueuer_schema(
        self, empty_db_url: str
    ) -> None:
        await migrations.upgrade_to_head(empty_db_url)
        await migrations.downgrade_to("0001", empty_db_url)

        schema = await _schema(empty_db_url)
        assert schema["tables"] == OUR_TABLES - NOTION_SYNC_TABLES - ALERT_TABLES - STATS_TABLES | {
            "alembic_version"
        }
        assert schema["enums"] == OUR_ENUMS
        assert not await migrations.is_at_head(empty_db_url)
        assert await migrations.current_revision(empty_db_url) == "0001"

    async def test_upgrade_at_head_is_a_no_op(self, db_url: str) -> None:
        before = await _schema(db_url)
        await migrations.upgrade_to_head(db_url)
        assert await _schema(db_url) == before
        assert await migrations.is_at_head(db_url)

    async def test_concurrent_upgrades_from_empty_both_succeed(self, empty_db_url: str) -> None:
        """The advisory lock serialises them; the second finds the schema at head."""
        await asyncio.gather(*(migrations.upgrade_to_head(empty_db_url) for _ in range(3)))
        assert await migrations.is_at_head(empty_db_url)

    async def test_alembic_command_line_works_from_any_directory(
        self, empty_db_url: str, tmp_path: Any
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["DATABASE_URL"] = empty_db_url
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(PROJECT_ROOT / "alembic.ini"),
                "upgrade",
                "head",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Running upgrade 0001 -> 0002" in proc.stderr
        assert await migrations.current_revision(empty_db_url) == migrations.head_revision()


class TestScripts:
    def test_there_is_exactly_one_head(self) -> None:
        script = ScriptDirectory.from_config(migrations.alembic_config())
        assert script.get_heads() == [migrations.head_revision()]

    def test_every_revision_has_a_downgrade_and_a_matching_file_name(self) -> None:
        script = ScriptDirectory.from_config(migrations.alembic_config())
        revisions = list(script.walk_revisions())
        assert {r.revision for r in revisions} == {
            "0001",
            "0002",
            "0003",
            "0004",
            "0005",
            "0006",
            "0007",
        }
        for rev in revisions:
            assert callable(getattr(rev.module, "downgrade", None)), rev.revision
            assert rev.path is not None
            assert os.path.basename(rev.path).startswith(rev.revision + "_")

    def test_pgqueuer_migration_notes_the_pinned_version(self) -> None:
        import pgqueuer

        rev = ScriptDirectory.from_config(migrations.alembic_config()).get_revision("0002")
        assert rev is not None
        assert rev.module.PGQUEUER_VERSION == pgqueuer.__version__ == "1.6.0"
        assert "PgQueuer 1.6.0" in (rev.module.__doc__ or "")


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": migrations.include_object,
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models_exactly(db_engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to do: models and migrations have not drifted apart."""
    async with db_engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_partial_indexes_keep_their_predicates(db_session: AsyncSession) -> None:
    """compare_metadata does not compare WHERE clauses, so check them here."""
    rows = await db_session.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
        {
            "names": [
                "ix_tasks_queued_dispatch",
                "ix_tasks_active_channel_id",
                "ix_task_items_unfinished",
            ]
        },
    )
    defs = {name: definition for name, definition in rows.all()}
    assert (
        "(channel_id, priority DESC, queued_at) WHERE (status = 'queued'"
        in defs["ix_tasks_queued_dispatch"]
    )
    assert "WHERE (status = ANY (ARRAY['running'" in defs["ix_tasks_active_channel_id"]
    assert "WHERE (status <> 'completed'" in defs["ix_task_items_unfinished"]


async def test_database_enums_have_the_models_values_in_order(db_session: AsyncSession) -> None:
    """compare_metadata ignores enum values, so compare them here."""
    expected = {
        column.type.name: list(column.type.enums)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Enum)
    }
    assert set(expected) == OUR_ENUMS
    for name, values in expected.items():
        rows = await db_session.execute(text(f"SELECT unnest(enum_range(NULL::{name}))::text"))
        assert rows.scalars().all() == values, name


class TestAuditLogIsAppendOnly:
    async def _insert(self, session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO audit_logs (id, actor, action, entity_type, details)"
                " VALUES (gen_random_uuid(), 'tester', 'task.created', 'task', '{}')"
            )
        )
        await session.commit()

    @pytest.mark.parametrize(
        ("statement", "operation"),
        [
            ("UPDATE audit_logs SET actor = 'mallory'", "UPDATE"),
            ("DELETE FROM audit_logs", "DELETE"),
            ("TRUNCATE audit_logs", "TRUNCATE"),
        ],
    )
    async def test_change_is_refused_with_a_clear_message(
        self, db_session: AsyncSession, statement: str, operation: str
    ) -> None:
        await self._insert(db_session)
        with pytest.raises(
            DBAPIError, match=f"audit_logs is append-only: {operation} is not allowed"
        ):
            await db_session.execute(text(statement))
        await db_session.rollback()

        rows = (await db_session.execute(text("SELECT actor FROM audit_logs"))).scalars().all()
        assert rows == ["tester"]

    async def test_insert_is_allowed(self, db_session: AsyncSession) -> None:
        await self._insert(db_session)
        await self._insert(db_session)
        count = (await db_session.execute(text("SELECT count(*) FROM audit_logs"))).scalar()
        assert count == 2


async def test_pgqueuer_accepts_the_migrated_schema(db_url: str) -> None:
    """PgQueuer's own structure check passes and a job round-trips through its tables."""
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        queries = Queries(AsyncpgDriver(conn))
        await QueueManager(queries).verify_structure()
        ids = await queries.enqueue("plan", b"{}", priority=5, dedupe_key="task-1:plan")
        assert len(ids) == 1
        sizes = await queries.queue_size()
        assert [(s.entrypoint, s.count, s.status) for s in sizes] == [("plan", 1, "queued")]
    finally:
        await conn.close()


class TestRevisionQueries:
    async def test_is_at_head_is_false_on_an_empty_database(self, empty_db_url: str) -> None:
        assert not await migrations.is_at_head(empty_db_url)

    async def test_process_engine_is_used_when_no_url_is_given(self, app_db: AsyncEngine) -> None:
        assert await migrations.current_revision() == migrations.head_revision()
        async with app_db.connect() as conn:
            assert await migrations.is_at_head(connection=conn)


async def _upgrade_to(revision: str, url: str) -> None:
    """Alembic's own ``upgrade`` to one revision (``app.core.migrations`` only goes to head)."""

    def run(connection: Connection) -> None:
        config = migrations.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_async_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


class TestQuotaProjectsMigration:
    """0006 keys the quota ledger by Cloud project; the rows spent so far must survive it."""

    DAY = date(2026, 12, 1)
    AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

    async def _rows(self, conn: asyncpg.Connection, columns: str) -> set[tuple[Any, ...]]:
        rows = await conn.fetch(f"SELECT {columns} FROM youtube_quota_usage")
        return {tuple(row) for row in rows}

    async def _add_channels(self, conn: asyncpg.Connection, *ids: uuid.UUID) -> None:
        await conn.executemany(
            "INSERT INTO channels (id, slug, name, active, priority, max_concurrent, config,"
            " config_hash) VALUES ($1, $2, $2, true, 0, 1, '{}', '')",
            [(channel_id, f"ch-{n}") for n, channel_id in enumerate(ids)],
        )

    async def _primary_key(self, conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT a.attname FROM pg_index i"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = 'youtube_quota_usage'::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int[], a.attnum::int)"
        )
        return [row[0] for row in rows]

    async def test_per_channel_rows_move_to_the_fleet_project_and_back(
        self, empty_db_url: str
    ) -> None:
        await _upgrade_to("0005", empty_db_url)
        alpha, beta = uuid.uuid4(), uuid.uuid4()
        day, later, at = self.DAY, self.DAY + timedelta(days=1), self.AT
        old_rows = {
            (alpha, day, 1650, 10_000, at),  # part-spent: units kept, not exhausted
            (alpha, later, 10_000, 10_000, at + timedelta(days=1)),  # set to its limit
            (beta, day, 5_000, 5_000, at),  # at its own (lower) limit
            (beta, later, 9_999, 10_000, at),  # one unit short: not exhausted
        }
        conn = await asyncpg.connect(asyncpg_dsn(empty_db_url))
        try:
            await self._add_channels(conn, alpha, beta)
            await conn.executemany(
                "INSERT INTO youtube_quota_usage"
                " (channel_id, date, units_used, daily_limit, updated_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                list(old_rows),
            )

            await _upgrade_to("0006", empty_db_url)
            columns = "project, channel_id, date, units_used, daily_limit, exhausted_at"
            assert await self._rows(conn, columns) == {
                ("fleet", alpha, day, 1650, 10_000, None),
                ("fleet", alpha, later, 10_000, 10_000, at + timedelta(days=1)),
                ("fleet", beta, day, 5_000, 5_000, at),
                ("fleet", beta, later, 9_999, 10_000, None),
            }
            assert await self._primary_key(conn) == ["project", "date", "channel_id"]

            await migrations.downgrade_to("0005", empty_db_url)
            old_columns = "channel_id, date, units_used, daily_limit, updated_at"
            assert await self._rows(conn, old_columns) == old_rows
            assert await self._primary_key(conn) == ["channel_id", "date"]
            names = await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'youtube_quota_usage'"
            )
            assert {row[0] for row in names} == set(old_columns.split(", "))
        finally:
            await conn.close()

    async def test_downgrade_folds_a_channels_projects_into_one_row(
        self, empty_db_url: str
    ) -> None:
        """Two projects' rows of one channel and day become one; "exhausted" becomes "at limit"."""
        await _upgrade_to("0006", empty_db_url)
        alpha, beta = uuid.uuid4(), uuid.uuid4()
        day, at = self.DAY, self.AT
        conn = await asyncpg.connect(asyncpg_dsn(empty_db_url))
        try:
            await self._add_channels(conn, alpha, beta)
            await conn.executemany(
                "INSERT INTO youtube_quota_usage (project, channel_id, date, units_used,"
                " daily_limit, exhausted_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [
                    ("fleet", alpha, day, 300, 10_000, None, at),
                    ("own-client", alpha, day, 200, 10_000, None, at + timedelta(hours=1)),
                    ("own-client", beta, day, 1_600, 10_000, at, at),  # quotaExceeded
                ],
            )
            await migrations.downgrade_to("0005", empty_db_url)
            columns = "channel_id, date, units_used, daily_limit, updated_at"
            assert await self._rows(conn, columns) == {
                (alpha, day, 500, 10_000, at + timedelta(hours=1)),
                (beta, day, 10_000, 10_000, at),
            }
        finally:
            await conn.close()
