"""The pool after PostgreSQL drops its connections (a restart, an admin's terminate): no
``pool_pre_ping`` round trip, yet the next request still gets a working connection."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from app.core.config import asyncpg_dsn

API = "/api/v1"


async def _terminate_web_backends(db_url: str) -> int:
    """End every server process of this database's ``test`` engine, as a restart would."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'test'"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return len(rows)


async def test_requests_succeed_after_the_server_closed_every_pooled_connection(
    client: httpx.AsyncClient, db_url: str
) -> None:
    for _ in range(3):  # more than one pooled connection, all idle afterwards
        assert (await client.get(f"{API}/tasks")).status_code == 200
    assert await _terminate_web_backends(db_url) >= 1
    await asyncio.sleep(0.2)  # the closed sockets' EOF reaches asyncpg
    for _ in range(3):
        response = await client.get(f"{API}/tasks")
        assert response.status_code == 200, response.text
