"""Applying one board row to its task: create it, update it, or do what its Status label asks.

Each row is its own short transaction under a per-page advisory lock, so a bad row (no title,
unknown channel, bad priority, an action its task cannot take) records its complaint and never
affects another row. A row whose user-controlled fields are unchanged since we last processed it
(the poll's minute of overlap, our own writes echoing back) is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import session_scope
from app.core.errors import AppError
from app.core.logging import get_logger
from app.models import Channel, NotionPage, Task, TaskStatus
from app.notion import actions as notion_actions
from app.notion.actions import NOTION_ACTOR, ActionRefusedError
from app.notion.board import (
    ACTION_LABELS,
    APPROVE,
    CANCEL,
    INPUT_ERROR_LABEL,
    QUEUED,
    REJECT,
    RETRY,
    BoardRow,
    pipeline_labels,
)
from app.pipeline.schemas import MAX_PRIORITY, TaskCreate
from app.pipeline.service import create_task
from app.pipeline.state import InvalidTransitionError, notion_label
from app.planning.plan import PlanValidationError, parse_plan

log = get_logger("notion.rows")


class RowOutcome(StrEnum):
    SKIPPED = "skipped"  # already processed this content
    STALE = "stale"  # older than what we already saw
    IGNORED = "ignored"  # a draft row: the user's notebook, nothing to do
    CREATED = "created"
    UPDATED = "updated"
    ACTED = "acted"
    ERROR = "error"  # the row got a complaint in its Error column
    TRASHED = "trashed"


class RowInputError(Exception):
    """Something in the row the user must fix; the message goes to its Error column."""


@dataclass(frozen=True)
class BoardChannels:
    """The channels a board feeds (their ``notion.database_id`` is this board)."""

    database_id: str
    channels: tuple[Channel, ...]

    def resolve(self, value: str | None) -> Channel:
        if value:
            wanted = value.strip().lower()
            for channel in self.channels:
                if wanted in (channel.slug.lower(), channel.name.lower()):
                    return channel
            known = ", ".join(c.slug for c in self.channels) or "none"
            raise RowInputError(f"unknown channel '{value}': this board feeds {known}")
        if len(self.channels) == 1:
            return self.channels[0]
        known = ", ".join(c.slug for c in self.channels)
        raise RowInputError(f"Channel is empty: set it to one of {known}")


def parse_priority(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise RowInputError(
            f"Priority must be a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}, got '{raw}'"
        ) from None
    if not value.is_integer() or abs(value) > MAX_PRIORITY:
        raise RowInputError(
            f"Priority must be a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}, got '{raw}'"
        )
    return int(value)


_SCENE_LIST = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*[,; ]\s*\d+(\s*-\s*\d+)?)*\s*$")


def parse_scenes(raw: Any) -> list[int]:
    """``"2, 5"``, ``"2 5"`` or ``"3-6"``: scene numbers, sorted, without repeats."""
    if not raw:
        return []
    text_value = str(raw)
    if not _SCENE_LIST.match(text_value):
        raise RowInputError(
            f"Redo Scenes must list scene numbers like '2, 5' or '3-6', got '{raw}'"
        )
    numbers: set[int] = set()
    for part in re.split(r"\s*[,; ]\s*", text_value.strip()):
        if "-" in part:
            low, high = (int(p) for p in part.split("-"))
            numbers.update(range(min(low, high), max(low, high) + 1))
        elif part:
            numbers.add(int(part))
    return sorted(numbers)


def _plan(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        return parse_plan(str(raw)).model_dump(mode="json")
    except PlanValidationError as exc:
        raise RowInputError(
            "Plan is not a valid production plan: " + "; ".join(exc.messages)
        ) from None


def _task_fields(row: BoardRow) -> dict[str, Any]:
    title = (row.inputs.get("title") or "").strip()
    if not title:
        raise RowInputError("the row has no title: name the video in the title column")
    return {
        "title": title,
        "topic": row.inputs.get("topic") or None,
        "story_direction": row.inputs.get("story_direction") or None,
        "priority": parse_priority(row.inputs.get("priority")),
        "plan": _plan(row.inputs.get("plan")),
    }


async def _create(session: AsyncSession, row: BoardRow, board: BoardChannels) -> Task:
    fields = _task_fields(row)
    channel = board.resolve(row.inputs.get("channel"))
    try:
        data = TaskCreate(channel_id=channel.id, queue=True, **fields)
        task = await create_task(session, data=data, actor=NOTION_ACTOR)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RowInputError(f"the row is not a valid video: {problems}") from None
    except AppError as exc:
        raise RowInputError(exc.message) from None
    task.notion_page_id = row.page_id
    if fields["plan"] is not None:
        task.plan_source = "notion"
    return task


def _update_editable(task: Task, row: BoardRow) -> None:
    """Before production starts, the row's edits are the task's."""
    fields = _task_fields(row)
    task.title, task.topic = fields["title"][:300], fields["topic"]
    task.story_direction, task.priority = fields["story_direction"], fields["priority"]
    if fields["plan"] is not None and fields["plan"] != task.plan:
        task.plan, task.plan_source = fields["plan"], "notion"


async def _decide(
    session: AsyncSession,
    row: BoardRow,
    task: Task | None,
    board: BoardChannels,
    *,
    consumed: str | None,
) -> RowOutcome:
    label = row.status
    if task is None:
        if label == QUEUED:
            await _create(session, row, board)
            return RowOutcome.CREATED
        if label in (APPROVE, REJECT, CANCEL, RETRY):
            raise RowInputError(
                f"{label} needs a video and this row has none yet: set Status to Queued to start one"
            )
        if label in pipeline_labels():
            raise RowInputError(_by_hand(label) + "set Status to Queued to start this video")
        if label == INPUT_ERROR_LABEL:  # edited since our complaint: say what is still wrong
            _task_fields(row)
            board.resolve(row.inputs.get("channel"))
            return RowOutcome.UPDATED  # nothing is: the complaint goes
        return RowOutcome.IGNORED
    current = notion_label(task.status, task.step)
    if task.status in (TaskStatus.DRAFT, TaskStatus.QUEUED):
        _update_editable(task, row)
    if label is not None and label == consumed:
        return RowOutcome.UPDATED  # acted on already; the row still shows it until our write
    if label in ACTION_LABELS and label != current:
        async with session.begin_nested():  # a refused action leaves no half-change behind
            await notion_actions.perform(
                session,
                task,
                label,
                notes=row.inputs.get("review_notes") or None,
                scenes=parse_scenes(row.inputs.get("redo_scenes")),
            )
        return RowOutcome.ACTED
    if label in (None, current, INPUT_ERROR_LABEL):
        return RowOutcome.UPDATED
    raise RowInputError(
        _by_hand(label)
        + "to act on this video choose Approve or Reject (at a review), Cancel, or Retry (after an "
        "error)"
    )


def _by_hand(label: str) -> str:
    return f"'{label}' is set by the pipeline, not by hand: "


def observation(
    row: BoardRow, previous: dict[str, Any], inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What ``NotionPage.observed`` holds: the row's outputs, the inputs processed (``inputs``,
    default the row's) and, while the board still shows it, the command already acted on, so an
    edit to another column before our write-back does not act on it a second time."""
    processed = row.inputs if inputs is None else inputs
    consumed = previous.get("consumed")
    keep = {"consumed": consumed} if consumed and consumed == processed.get("status") else {}
    return {**row.outputs, "inputs": processed, **keep}


def command_pending(observed: dict[str, Any]) -> bool:
    """The board shows a Status we have not processed yet: a command no write may cover."""
    return observed.get("status") != (observed.get("inputs") or {}).get("status")


async def lock_page(session: AsyncSession, page_id: str) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": "notion-page:" + page_id},
    )


async def load_page_state(session: AsyncSession, row: BoardRow) -> NotionPage:
    page = await session.get(NotionPage, row.page_id)
    if page is None:
        page = NotionPage(
            page_id=row.page_id, database_id=row.database_id, observed={}, pushed={}, dirty=True
        )
        page.in_trash = False
        session.add(page)
    return page


async def apply_row(row: BoardRow, board: BoardChannels) -> RowOutcome:
    """Process one row in its own transaction; never raises for bad data (see ``RowOutcome``)."""
    async with session_scope() as session:
        await lock_page(session, row.page_id)
        page = await load_page_state(session, row)
        if page.last_edited_time is not None and row.last_edited_time < page.last_edited_time:
            return RowOutcome.STALE
        consumed = page.observed.get("consumed")
        page.observed = observation(row, page.observed)
        page.last_edited_time = row.last_edited_time
        task = await session.scalar(
            select(Task).where(Task.notion_page_id == row.page_id).with_for_update()
        )
        if row.in_trash:
            page.in_trash = page.dirty = True
            return await _trashed(session, task)
        page.in_trash = False
        fingerprint = row.inputs_hash()
        if page.inputs_hash == fingerprint:
            return RowOutcome.SKIPPED
        page.inputs_hash, page.dirty = fingerprint, True
        shown = notion_label(task.status, task.step) if task else INPUT_ERROR_LABEL
        try:
            outcome = await _decide(session, row, task, board, consumed=consumed)
        except (RowInputError, ActionRefusedError, InvalidTransitionError) as exc:
            page.row_error, page.row_error_label = str(exc), shown
            log.info("notion.row.refused", page_id=row.page_id, reason=str(exc))
            return RowOutcome.ERROR
        if outcome is RowOutcome.ACTED:
            page.observed = {**page.observed, "consumed": row.status}
        page.row_error = page.row_error_label = None  # accepted: an old complaint is stale
        return outcome


async def _trashed(session: AsyncSession, task: Task | None) -> RowOutcome:
    """A deleted row cancels a video that has not started; a started one only stops syncing."""
    if task is not None and task.status in (TaskStatus.DRAFT, TaskStatus.QUEUED):
        await notion_actions.cancel(session, task)
        task.status_reason = "its Notion row was deleted"
    return RowOutcome.TRASHED
