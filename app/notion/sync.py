"""Keeping tasks and the Notion board in step: poll, webhook follow-up and push, under one leader.

A poll asks each board only for rows edited since its cursor (``last_edited_time`` with a minute
of overlap, because Notion truncates it to the minute). The cursor follows Notion's own clock
(its Date header), not only the newest edit, so rows written in a burst stop matching a few
minutes later and an idle 10,000-row board costs one request. Webhook events name pages
without their content: the leader fetches each named page once however many events name it.
After each pass the pusher writes back what changed, and applies at once any person's edit its
PATCH answers carried. Only the leader (a PostgreSQL advisory lock held on its own connection,
like the dispatcher) talks to Notion for sync, so the single fleet-wide pace of 3 requests/s is
spent on one ordered stream of work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from app.core.config import Settings
from app.core.database import get_engine, session_scope
from app.core.leader import LeaderLoop
from app.core.logging import get_logger, register_secret
from app.core.time import utc_now
from app.models import Channel, NotionPage, NotionSyncState, WebhookEvent
from app.notion.board import (
    ACTION_LABELS,
    DRAFT,
    STATUS,
    BoardRow,
    BoardSchemaError,
    read_row,
)
from app.notion.boards import Board, BoardCache
from app.notion.client import NotionClient, NotionError, NotionRequestError
from app.notion.push import Pusher, PushReport, file_link
from app.notion.rate_limit import PostgresRateLimiter, bucket_for_token
from app.notion.rows import BoardChannels, RowOutcome, apply_row
from app.notion.webhook import NOTION_CHANNEL
from app.notion.webhook import SOURCE as WEBHOOK_SOURCE
from app.pipeline.queue import DISPATCH_CHANNEL

log = get_logger("notion.sync")

NOTION_LOCK_KEY = 0x76_69_64_67_06  # "vidg" + 6
PAGE_FETCH_LIMIT = 10  # more distinct pages than this in one batch: one incremental poll is cheaper


@dataclass
class PollReport:
    database_id: str
    rows: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class NotionSync:
    """The work of a sync pass; the leader loop only decides when to do it."""

    def __init__(
        self,
        client: NotionClient,
        *,
        pusher: Pusher,
        overlap_seconds: float = 60.0,
        schema_ttl_seconds: float = 600.0,
    ) -> None:
        self.client = client
        self.pusher = pusher
        self.overlap = timedelta(seconds=overlap_seconds)
        self.boards = BoardCache(client, schema_ttl_seconds=schema_ttl_seconds)
        self.held: set[str] = set()  # rows whose processing crashed: not pushed until it works

    async def board_ids(self) -> list[str]:
        """Boards with at least one active channel."""
        async with session_scope() as session:
            rows = await session.scalars(
                select(Channel.notion_database_id)
                .where(Channel.active, Channel.notion_database_id.is_not(None))
                .distinct()
            )
            return sorted(str(r) for r in rows)

    async def board(self, database_id: str, *, refresh: bool = False) -> Board:
        return await self.boards.get(database_id, refresh=refresh)

    async def _channels(self, database_id: str) -> BoardChannels:
        async with session_scope() as session:
            found = await session.scalars(
                select(Channel)
                .where(Channel.notion_database_id == database_id)
                .order_by(Channel.slug)
            )
            return BoardChannels(database_id, tuple(found))

    async def poll(self, database_id: str) -> PollReport:
        """Apply every row edited since the cursor; the first poll reads only rows asking for action."""
        report = PollReport(database_id)
        board = await self.board(database_id)
        async with session_scope() as session:
            state = await session.get(NotionSyncState, database_id)
            cursor = state.last_edited_cursor if state is not None else None
        started = utc_now()  # the first cursor when Notion's answers carry no Date header
        if cursor is None:
            kind = board.schema.status_kind
            query_filter: dict[str, Any] = {
                "or": [
                    {"property": STATUS, kind: {"equals": label}}
                    for label in ACTION_LABELS
                    if label != DRAFT  # a draft row has nothing to start yet
                ]
            }
        else:
            since = (cursor - self.overlap).isoformat().replace("+00:00", "Z")
            query_filter = {
                "timestamp": "last_edited_time",
                "last_edited_time": {"on_or_after": since},
            }
        rows, answered = {}, None
        async for page in self.client.iter_query(board.data_source_id, filter=query_filter):
            answered = answered or self.client.server_time  # when the first page was answered
            row = read_row(database_id, page, board.schema)
            rows[row.page_id] = row  # a row met twice (it moved while we paged) counts once
        report.rows = len(rows)
        newest, failed_at = await self.apply(list(rows.values()), report)
        # Every later edit is stamped at least the minute of the first answer: the cursor moves
        # with Notion's clock (less a settling margin) even when no row changes, so an idle
        # board soon costs one empty query a poll.
        server = answered or self.client.server_time
        moment = server - self.overlap if server is not None else None
        if failed_at:
            next_cursor = None if cursor is None else max(cursor, failed_at)
        elif cursor is None:
            next_cursor = max(moment or started, newest or started)
        else:
            next_cursor = max(cursor, newest or cursor, moment or cursor)
        async with session_scope() as session:
            state = await session.get(NotionSyncState, database_id)
            assert state is not None  # board() created it
            state.last_edited_cursor, state.last_polled_at = next_cursor, utc_now()
        return report

    async def apply(
        self, rows: list[BoardRow], report: PollReport
    ) -> tuple[datetime | None, datetime | None]:
        """Apply rows oldest edit first: (newest edit applied, oldest edit that crashed)."""
        channels = await self._channels(report.database_id)
        newest: datetime | None = None
        failed_at: datetime | None = None
        for row in sorted(rows, key=lambda r: r.last_edited_time):
            try:
                outcome = await apply_row(row, channels)
            except Exception:
                # Unexpected (a bug, a lost database): the cursor stays before this row so the
                # next poll retries it, and the pusher leaves the row alone until then.
                log.exception("notion.row.crashed", page_id=row.page_id)
                outcome = RowOutcome.ERROR
                failed_at = failed_at or row.last_edited_time
                self.held.add(row.page_id)
            else:
                self.held.discard(row.page_id)
                newest = row.last_edited_time
            report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
        return newest, failed_at

    async def poll_all(self) -> list[PollReport]:
        reports = []
        for database_id in await self.board_ids():
            try:
                reports.append(await self.poll(database_id))
            except (BoardSchemaError, NotionError) as exc:
                if not isinstance(exc, BoardSchemaError):  # that one is logged once, when new
                    log.error("notion.poll.failed", database_id=database_id, error=str(exc))
                self.boards.forget(database_id)  # re-read the schema next time
                reports.append(PollReport(database_id, error=str(exc)))
        return reports

    async def push_all(self) -> list[PushReport]:
        reports = []
        for database_id in await self.board_ids():
            try:
                board = await self.board(database_id)
                report = await self.pusher.push(database_id, board.schema, hold=self.held)
                if report.user_edits:  # a person's edit came back in a PATCH answer: act now
                    await self.apply(report.user_edits, PollReport(database_id))
                reports.append(report)
            except NotionError as exc:
                log.error("notion.push.board_failed", database_id=database_id, error=str(exc))
            except BoardSchemaError:
                pass  # logged once by ``record_problem``; ``board_problems`` lists it
        return reports

    async def process_events(self, limit: int = 200) -> bool:
        """Follow up webhook deliveries; True when a full incremental poll is the better answer."""
        async with session_scope() as session:
            events = list(
                await session.scalars(
                    select(WebhookEvent)
                    .where(
                        WebhookEvent.source == WEBHOOK_SOURCE, WebhookEvent.processed_at.is_(None)
                    )
                    .order_by(WebhookEvent.received_at)
                    .limit(limit)
                )
            )
        if not events:
            return False
        pages = {
            str(e.payload.get("entity", {}).get("id"))
            for e in events
            if e.event_type.startswith("page.")
        }
        wants_poll = len(pages) > PAGE_FETCH_LIMIT or any(
            not e.event_type.startswith("page.") for e in events
        )
        if not wants_poll:
            for page_id in sorted(pages):
                try:
                    await self._follow_page(page_id)
                except NotionError as exc:
                    # the change is still on the board: the incremental poll will find it
                    log.warning("notion.event.page_failed", page_id=page_id, code=exc.code)
                    wants_poll = True
        async with session_scope() as session:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_([e.id for e in events]))
                .values(processed_at=utc_now())
            )
        return wants_poll

    async def _follow_page(self, page_id: str) -> None:
        try:
            page_id = str(uuid.UUID(page_id))
        except ValueError:
            log.warning("notion.event.bad_page_id")
            return
        try:
            page = await self.client.get_page(page_id)
        except NotionRequestError as exc:
            if exc.code == "object_not_found":
                async with session_scope() as session:
                    await session.execute(
                        update(NotionPage)
                        .where(NotionPage.page_id == page_id)
                        .values(in_trash=True)
                    )
                return
            raise
        database_id = (page.get("parent") or {}).get("database_id")
        if database_id not in await self.board_ids():
            return  # not one of our boards
        board = await self.board(database_id)
        report = PollReport(database_id)
        await self.apply([read_row(database_id, page, board.schema)], report)


class NotionPoller(LeaderLoop):
    """The leader loop: poll every ``poll_seconds``, push every ``push_seconds``, wake on events."""

    _log = log
    _event = "notion.leader"
    _application_name = "notion-sync"
    _lock_key = NOTION_LOCK_KEY

    def __init__(
        self,
        sync: NotionSync,
        *,
        poll_seconds: float = 60.0,
        push_seconds: float = 5.0,
        settle_seconds: float = 0.5,
        retry_seconds: float = 2.0,
    ) -> None:
        super().__init__(retry_seconds=retry_seconds)
        self.sync = sync
        self.poll_seconds = poll_seconds
        self.push_seconds = push_seconds
        self.settle_seconds = settle_seconds
        self.cycles = 0

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))

    async def _wait_for_lock(self) -> None:
        """Like every pause of the poller, cut short by its wake event (``stop()`` sets it too)."""
        await self._sleep(self.retry_seconds)

    async def _serve(self, conn: Any) -> None:
        log.info("notion.leader.acquired")
        for channel in (NOTION_CHANNEL, DISPATCH_CHANNEL):
            await conn.add_listener(channel, lambda *_: self._wake.set())
        next_poll = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            poll_now = await self.sync.process_events()
            if poll_now or time.monotonic() >= next_poll:
                await self.sync.poll_all()
                next_poll = time.monotonic() + self.poll_seconds
            await self.sync.push_all()
            self.cycles += 1
            if conn.is_closed():
                raise OSError("notion leader connection closed")
            await conn.fetchval("SELECT 1")
            await self._sleep(min(self.push_seconds, next_poll - time.monotonic()))
            if self._wake.is_set():
                await asyncio.sleep(self.settle_seconds)  # let a burst of changes gather


def build_client(settings: Settings) -> NotionClient:
    """The process's Notion client, paced by the fleet-wide limiter (needs ``init_engine``)."""
    if settings.notion_api_token is None:
        raise ValueError("NOTION_API_TOKEN is not set")
    token = settings.notion_api_token.get_secret_value()
    register_secret(token)
    limiter = PostgresRateLimiter(
        get_engine(), bucket=bucket_for_token(token), rate=settings.notion_rate_per_second
    )
    return NotionClient(
        token=token,
        limiter=limiter,
        base_url=settings.notion_base_url,
        version=settings.notion_version,
    )


def build_sync(client: NotionClient, settings: Settings) -> NotionSync:
    return NotionSync(client, pusher=Pusher(client, link=file_link(settings.workspace_root)))


@asynccontextmanager
async def notion_poller(settings: Settings) -> AsyncIterator[NotionPoller | None]:
    """Run the leader loop for the life of the web process (nothing without NOTION_API_TOKEN)."""
    if settings.notion_api_token is None:
        log.info("notion.sync.disabled", reason="NOTION_API_TOKEN is not set")
        yield None
        return
    client = build_client(settings)
    poller = NotionPoller(
        build_sync(client, settings), poll_seconds=settings.notion_poll_interval_seconds
    )
    task = asyncio.create_task(poller.run(), name="notion-poller")
    try:
        yield poller
    finally:
        poller.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 10)
        await client.aclose()
