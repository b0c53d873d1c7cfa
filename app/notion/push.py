"""Writing task state back to the board: one PATCH per row per burst, and only what changed.

Each push cycle computes, for every row whose task may have changed, the values the row should
show (Status label, "Videos 7/16", cost, error, video link, YouTube URL, and once published the
statistics columns of ``app.notion.stats_columns``), compares them with what
the row showed when last read, and sends one PATCH with only the differing fields. Changes that
happen between cycles therefore coalesce into one write. A field other than Status whose value on
the board differs from what we last wrote was edited by a person after our write: it is theirs and
is left alone. Status is the board's command column: once a command there is acted on, the label
replaces it; until then (a command seen only in the answer to one of our PATCHes) it is never
written over, and the row goes back to the sync to be applied at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import session_scope
from app.core.logging import get_logger
from app.models import NotionPage, PipelineStep, Task, TaskItem, TaskStatus
from app.notion.board import (
    INPUT_ERROR_LABEL,
    MAX_TEXT,
    OUTPUT_COLUMNS,
    BoardRow,
    BoardSchema,
    fingerprint,
    normalise_cost,
    property_writes,
    read_row,
)
from app.notion.client import NotionClient, NotionError, NotionRequestError
from app.notion.rows import command_pending, lock_page, observation
from app.notion.stats_columns import LATEST_FETCH, STATS_KEYS, Figures, latest_figures, stats_values
from app.pipeline.state import notion_label

log = get_logger("notion.push")

STEP_TITLES: dict[PipelineStep, str] = {
    PipelineStep.PLAN: "Plan",
    PipelineStep.ASSETS: "Assets",
    PipelineStep.COMPOSITES: "Composites",
    PipelineStep.VIDEOS: "Videos",
    PipelineStep.NARRATION: "Narration",
    PipelineStep.SOUND_EFFECTS: "Sound",
    PipelineStep.ASSEMBLY: "Assembly",
    PipelineStep.UPLOAD: "Upload",
}
EMPTY: dict[str, Any] = {
    "status": None,
    "progress": "",
    "cost": None,
    "error": "",
    "video": None,
    "youtube": None,
    **dict.fromkeys(STATS_KEYS),
}
MAX_WRITE_ATTEMPTS = 3  # a write Notion refuses (400) is tried this often, then shown in Error
FAILED_WRITE = "__failed__"  # key in NotionPage.pushed: the values Notion refused, and how often
_SHOWS_PROGRESS = (TaskStatus.RUNNING, TaskStatus.AWAITING_REVIEW, TaskStatus.FAILED)

# Everything a row shows about its task except item progress (running tasks are always looked at).
TASK_DIGEST = func.md5(
    func.concat_ws(
        "|",
        cast(Task.status, Text),
        cast(Task.step, Text),
        cast(Task.total_cost_usd, Text),
        Task.error_message,
        Task.final_video_key,
        Task.youtube_url,
        LATEST_FETCH,
    )
)


def fit_text(value: str | None) -> str:
    text = (value or "").strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def progress_text(task: Task, counts: dict[PipelineStep, tuple[int, int]]) -> str:
    if task.status == TaskStatus.PUBLISHED:
        return "Done"
    if task.status not in _SHOWS_PROGRESS:
        return ""
    done, total = counts.get(task.step, (0, 0))
    title = STEP_TITLES[task.step]
    return f"{title} {done}/{total}" if total else title


def file_link(workspace_root: Path) -> Callable[[str], str]:
    """Artifact key to link: a URL key is used as is, a workspace key becomes a file URI."""

    def link(key: str) -> str:
        if key.startswith(("http://", "https://")):
            return key
        return Path(workspace_root, *key.split("/")).resolve().as_uri()

    return link


@dataclass
class Candidate:
    page: NotionPage
    task: Task | None
    digest: str | None
    counts: dict[PipelineStep, tuple[int, int]] = field(default_factory=dict)
    figures: Figures | None = None


async def load_candidates(
    session: AsyncSession, database_id: str, *, limit: int
) -> list[Candidate]:
    """Rows that may need a write: processed since, task changed, or task running (items move)."""
    query = (
        select(NotionPage, Task, TASK_DIGEST)
        .outerjoin(Task, Task.notion_page_id == NotionPage.page_id)
        .where(NotionPage.database_id == database_id, NotionPage.in_trash.is_(False))
        .where(
            or_(
                NotionPage.dirty,
                NotionPage.task_digest.is_distinct_from(TASK_DIGEST),
                Task.status == TaskStatus.RUNNING,
            )
        )
        .order_by(NotionPage.dirty.desc(), NotionPage.updated_at)
        .limit(limit)
    )
    found = [Candidate(page, task, digest) for page, task, digest in (await session.execute(query))]
    published = [c.task.id for c in found if c.task and c.task.status == TaskStatus.PUBLISHED]
    figures = await latest_figures(session, published)
    for candidate in found:
        if candidate.task is not None:
            candidate.figures = figures.get(candidate.task.id)
    task_ids = [c.task.id for c in found if c.task is not None and c.task.status in _SHOWS_PROGRESS]
    if task_ids:
        counts = await session.execute(
            select(
                TaskItem.task_id,
                TaskItem.step,
                func.count().filter(TaskItem.status == "completed"),
                func.count(),
            )
            .where(TaskItem.task_id.in_(task_ids))
            .group_by(TaskItem.task_id, TaskItem.step)
        )
        by_task: dict[Any, dict[PipelineStep, tuple[int, int]]] = {}
        for task_id, step, done, total in counts:
            by_task.setdefault(task_id, {})[step] = (int(done), int(total))
        for candidate in found:
            if candidate.task is not None:
                candidate.counts = by_task.get(candidate.task.id, {})
    return found


def desired(candidate: Candidate, link: Callable[[str], str]) -> dict[str, Any]:
    """What the row should show now."""
    page, task = candidate.page, candidate.task
    if task is None:
        if page.row_error:
            return {"status": INPUT_ERROR_LABEL, "error": fit_text(page.row_error)}
        return {"error": ""} if page.pushed.get("error") else {}
    label = notion_label(task.status, task.step)
    if page.row_error and page.row_error_label != label:
        page.row_error = page.row_error_label = None  # the task moved on: the complaint is stale
    failure = task.error_message if task.status == TaskStatus.FAILED else None
    return {
        "status": label,
        "progress": progress_text(task, candidate.counts),
        "cost": normalise_cost(task.total_cost_usd) if task.total_cost_usd else None,
        "error": fit_text(page.row_error or failure),
        "video": link(task.final_video_key) if task.final_video_key else None,
        "youtube": task.youtube_url or None,
        **stats_values(task, candidate.figures, page.observed),
    }


def plan_writes(page: NotionPage, want: dict[str, Any], schema: BoardSchema) -> dict[str, Any]:
    """The fields to send: different on the board, on the board at all, and still ours."""
    writes: dict[str, Any] = {}
    for key, value in want.items():
        if OUTPUT_COLUMNS[key] not in schema.kinds:
            continue
        if key == "status" and command_pending(page.observed):
            continue  # a command we have not acted on yet: writing over it would lose it
        seen = page.observed.get(key, EMPTY[key])
        if seen == value:
            page.pushed = {**page.pushed, key: value}  # already right: count it as ours
            continue
        if key != "status":
            if key in page.pushed and seen != page.pushed[key]:
                continue  # a person changed it after our last write
            if key not in page.pushed and seen not in (None, ""):
                continue  # a person's value we never wrote
        writes[key] = value
    return writes


def writes_digest(writes: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(writes, sort_keys=True, default=str).encode()).hexdigest()[:32]


def given_up(failed: Any, digest: str) -> dict[str, Any] | None:
    """The refusal record when these very values were refused ``MAX_WRITE_ATTEMPTS`` times."""
    if isinstance(failed, dict) and failed.get("digest") == digest:
        if int(failed.get("attempts", 0)) >= MAX_WRITE_ATTEMPTS:
            return failed
    return None


def refusal(previous: Any, digest: str, exc: NotionRequestError) -> dict[str, Any]:
    """Count one more refusal of the values ``digest`` (a 400 may be a passing conflict)."""
    again = isinstance(previous, dict) and previous.get("digest") == digest
    return {
        "digest": digest,
        "attempts": int(previous.get("attempts", 0)) + 1 if again else 1,
        "message": fit_text(f"Notion refused the update ({exc.code}): {exc}"),
        "shown": False,
    }


@dataclass
class PushReport:
    considered: int = 0
    written: int = 0
    refused: int = 0
    deferred: int = 0
    user_edits: list[BoardRow] = field(default_factory=list)  # rows to apply: seen in answers


@dataclass(eq=False)
class Pusher:
    """Runs one push cycle for one board; ``max_writes`` bounds a cycle's length."""

    client: NotionClient
    _: KW_ONLY
    link: Callable[[str], str]
    max_candidates: int = 500
    max_writes: int = 90
    concurrency: int = 4

    async def push(
        self,
        database_id: str,
        schema: BoardSchema,
        *,
        hold: frozenset[str] | set[str] = frozenset(),
    ) -> PushReport:
        async with session_scope() as session:
            candidates = await load_candidates(session, database_id, limit=self.max_candidates)
        candidates = [c for c in candidates if c.page.page_id not in hold]
        report = PushReport(considered=len(candidates))
        budget = [self.max_writes]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(candidate: Candidate) -> None:
            async with gate:
                await self._push_one(candidate, schema, report, budget)

        await asyncio.gather(*(one(c) for c in candidates))
        return report

    async def _push_one(
        self, candidate: Candidate, schema: BoardSchema, report: PushReport, budget: list[int]
    ) -> None:
        page = candidate.page
        want = desired(candidate, self.link)
        digest = writes_digest(want)
        failed = given_up(page.pushed.get(FAILED_WRITE), digest)
        if failed is not None:  # refused too often: show why once, then wait for a change
            want = {} if failed["shown"] else {"error": failed["message"]}
            failed = {**failed, "shown": True}
        writes = plan_writes(page, want, schema)
        response: dict[str, Any] | None = None
        if writes:
            if budget[0] <= 0:
                report.deferred += 1
                return
            budget[0] -= 1
            try:
                response = await self.client.update_page(
                    page.page_id, property_writes(schema, writes)
                )
            except NotionRequestError as exc:
                report.refused += 1
                log.warning(
                    "notion.push.refused", page_id=page.page_id, code=exc.code, error=str(exc)
                )
                gone = exc.code == "object_not_found"
                refused = failed or refusal(page.pushed.get(FAILED_WRITE), digest, exc)
                await self._record(candidate, {}, None, schema, refused=refused, gone=gone)
                return
            except NotionError as exc:
                report.deferred += 1
                log.warning("notion.push.failed", page_id=page.page_id, code=exc.code)
                return
            report.written += 1
        edited = await self._record(candidate, writes, response, schema, refused=failed)
        if edited is not None:
            report.user_edits.append(edited)

    async def _record(
        self,
        candidate: Candidate,
        writes: dict[str, Any],
        response: dict[str, Any] | None,
        schema: BoardSchema,
        *,
        refused: dict[str, Any] | None = None,
        gone: bool = False,
    ) -> BoardRow | None:
        """Store what was written and what the answer showed; the row back when the answer
        carries a person's edit made since we last read it (it still has to be applied)."""
        seen = candidate.page
        async with session_scope() as session:
            await lock_page(session, seen.page_id)
            page = await session.get(NotionPage, seen.page_id)
            if page is None:
                return None
            pushed = {k: v for k, v in seen.pushed.items() if k != FAILED_WRITE} | writes
            if refused:
                pushed[FAILED_WRITE] = refused
            page.pushed = pushed
            page.row_error, page.row_error_label = seen.row_error, seen.row_error_label
            page.task_digest, page.in_trash = candidate.digest, gone
            page.dirty = refused is not None and not refused["shown"] and not gone  # retry it
            if response is None:
                return None
            row = read_row(page.database_id, response, schema)
            processed = dict(seen.observed.get("inputs") or {})
            processed["status"] = writes.get("status", processed.get("status"))
            echo = row.inputs_hash() == fingerprint(processed)
            if echo:
                page.inputs_hash = row.inputs_hash()  # our write, echoed: nothing new from the user
            # Otherwise the inputs stay those processed, so the person's edit is still new to
            # apply_row (and a Status command in it is not written over meanwhile).
            page.observed = observation(row, seen.observed, None if echo else processed)
            page.written_at = row.last_edited_time
            if page.last_edited_time is None or row.last_edited_time > page.last_edited_time:
                page.last_edited_time = row.last_edited_time
            return None if echo else row
