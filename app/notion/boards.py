"""Which data source a board reads from and what its columns are, remembered between cycles.

The leader meets every board each poll and each push, so the lookup is cached: the data source
id for good (also stored, so a restart costs no lookup), the schema for ``schema_ttl`` seconds. A
board that is not set up raises ``BoardSchemaError`` and, while its back-off runs, does so
without asking Notion again (``problems``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import NotionSyncState
from app.notion.board import BoardSchema, BoardSchemaError, read_schema
from app.notion.client import NotionClient
from app.notion.problems import record_problem, waiting_problem

log = get_logger("notion.boards")


@dataclass
class Board:
    database_id: str
    data_source_id: str
    schema: BoardSchema
    read_at: float


async def sync_state(session: AsyncSession, database_id: str) -> NotionSyncState:
    state = await session.get(NotionSyncState, database_id)
    if state is None:
        state = NotionSyncState(database_id=database_id)
        session.add(state)
    return state


class BoardCache:
    def __init__(self, client: NotionClient, *, schema_ttl_seconds: float = 600.0) -> None:
        self.client = client
        self.schema_ttl = schema_ttl_seconds
        self._boards: dict[str, Board] = {}

    def forget(self, database_id: str) -> None:
        self._boards.pop(database_id, None)

    async def get(self, database_id: str, *, refresh: bool = False) -> Board:
        known = self._boards.get(database_id)
        if known is not None and not refresh and time.monotonic() - known.read_at < self.schema_ttl:
            return known
        async with session_scope() as session:
            state = await session.get(NotionSyncState, database_id)
            if state is not None and state.data_source_id:
                self.client.remember_data_source(database_id, state.data_source_id)
            waiting = None if refresh else await waiting_problem(session, database_id)
        if waiting is not None:
            raise waiting
        source_id = await self.client.data_source_id(database_id)
        try:
            schema = read_schema(database_id, await self.client.get_schema(source_id))
        except BoardSchemaError as exc:
            async with session_scope() as session:
                state = await sync_state(session, database_id)
                state.data_source_id = source_id
                record_problem(state, exc)
            raise
        if schema.missing:
            log.warning(
                "notion.board.columns_missing", database_id=database_id, missing=schema.missing
            )
        async with session_scope() as session:
            state = await sync_state(session, database_id)
            state.data_source_id, state.schema = source_id, schema.to_json()
        board = Board(database_id, source_id, schema, time.monotonic())
        self._boards[database_id] = board
        return board
