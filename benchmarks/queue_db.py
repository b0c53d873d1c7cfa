"""The benchmark's database: a fresh, migrated database per run, and counters read from the server.

The server is ``DATABASE_URL``'s when set (its user needs CREATEDB), else an embedded server with
its own data directory (``workspace/bench-postgres``) so a benchmark never shares a server with
test runs. Every phase of one run uses the same database, so their figures compare.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.core.config import PROJECT_ROOT, asyncpg_dsn, get_settings, normalise_database_url
from benchmarks._common import with_database as _with_database

BENCH_PG_DIR = PROJECT_ROOT / "workspace" / "bench-postgres"
DB_PREFIX = "vidgen_bench_"
SHOWN_SETTINGS = ("server_version", "fsync", "synchronous_commit", "shared_buffers")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class BenchDatabase:
    name: str
    dsn: str  # postgresql:// for asyncpg and PgQueuer
    url: str  # postgresql+asyncpg:// for SQLAlchemy and the fleet's DATABASE_URL
    admin_dsn: str
    postmaster_pid: int | None  # local server only: its CPU time is counted per phase
    settings: dict[str, str]

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn)

    async def drop(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def set_option(self, name: str, value: str) -> None:
        """A server setting for every later session of this database (what-if experiments)."""
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'ALTER DATABASE "{self.name}" SET {name} = {value}')
        finally:
            await conn.close()
        self.settings[name] = f"{value} (this database)"

    async def xact_counters(self) -> dict[str, int]:
        """Commits and row changes of this database so far (pg_stat_database, cumulative)."""
        conn = await self.connect()
        try:
            row = await conn.fetchrow(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,"
                " tup_fetched FROM pg_stat_database WHERE datname = current_database()"
            )
            await conn.execute("SELECT pg_stat_clear_snapshot()")
        finally:
            await conn.close()
        return dict(row) if row else {}

    def server_cpu_s(self) -> float:
        """CPU seconds of the server: postmaster, live backends, and backends that have exited."""
        if self.postmaster_pid is None:
            return 0.0
        total = _proc_cpu_s(self.postmaster_pid, with_children=True)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _ppid(int(entry.name)) == self.postmaster_pid:
                total += _proc_cpu_s(int(entry.name))
        return total


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields after "pid (comm) "


def _ppid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _proc_cpu_s(pid: int, *, with_children: bool = False) -> float:
    """utime+stime (and the reaped children's, when asked) of one process, in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _CLK_TCK


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _local_postmaster(backend_pid: int) -> int | None:
    """The server's main process when it runs on this machine (its backend is ours), else None."""
    parent = _ppid(backend_pid) if _comm(backend_pid).startswith("postgres") else None
    return parent if parent is not None and _comm(parent).startswith("postgres") else None


def process_cpu_s(pids: list[int]) -> float:
    return sum(_proc_cpu_s(pid) for pid in pids)


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    return sum(parts) - idle, sum(parts)


def _server_uri() -> str:
    env = os.environ.get("DATABASE_URL")
    if env:
        return asyncpg_dsn(env)
    from app.core.database import start_embedded_postgres

    return start_embedded_postgres(BENCH_PG_DIR)


async def create_bench_database() -> BenchDatabase:
    """A brand-new database migrated to head; leftovers of killed runs are dropped first."""
    from app.core.migrations import upgrade_to_head

    server = _server_uri()
    admin_dsn = _with_database(server, "postgres")
    name = f"{DB_PREFIX}{os.getpid()}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        for row in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", DB_PREFIX + "%"
        ):
            pid = row["datname"].removeprefix(DB_PREFIX)
            if pid.isdigit() and not _pid_alive(int(pid)):
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        settings = {s: str(await conn.fetchval(f"SHOW {s}")) for s in SHOWN_SETTINGS}
        postmaster = _local_postmaster(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()
    dsn = _with_database(server, name)
    url = normalise_database_url(dsn)
    await upgrade_to_head(url)
    os.environ["DATABASE_URL"] = url  # this process's engine and every child use it
    get_settings.cache_clear()
    return BenchDatabase(
        name=name,
        dsn=dsn,
        url=url,
        admin_dsn=admin_dsn,
        postmaster_pid=postmaster,
        settings=settings,
    )
