"""The Notion board: its columns, its Status labels, reading a row and writing our columns.

The board is read through its data source's schema, so Status may be a ``status`` or a ``select``
property, the title column may have any name, and a column we write but the board lacks is
skipped (``vidgen notion setup`` adds it) instead of failing every write. A column of the wrong
type, or no Status at all, is a ``BoardSchemaError`` naming the column and what it should be.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.models import PIPELINE_ORDER
from app.notion.client import is_trashed
from app.pipeline.state import NOTION_LABELS

STATUS = "Status"
CHANNEL = "Channel"
TOPIC = "Topic"
STORY = "Story Direction"
PRIORITY = "Priority"
PLAN = "Plan"
REVIEW_NOTES = "Review Notes"
REDO_SCENES = "Redo Scenes"
PROGRESS = "Progress"
COST = "Cost"
ERROR = "Error"
VIDEO = "Video"
YOUTUBE = "YouTube"
VIEWS = "Views"
LIKES = "Likes"
AVG_VIEW = "Avg view %"
COST_PER_1K = "Cost per 1k views"
STATS_UPDATED = "Stats updated"

MAX_TEXT = 2000  # Notion's limit per rich-text item and per URL


@dataclass(frozen=True)
class Column:
    name: str
    kinds: tuple[str, ...]  # accepted property types; the first is what setup creates
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column(STATUS, ("select", "status"), "what to do next, and where the video is"),
    Column(CHANNEL, ("select", "rich_text"), "channel slug or name (several channels, one board)"),
    Column(TOPIC, ("rich_text",), "what the video is about"),
    Column(STORY, ("rich_text",), "tone, structure, anything the planner should follow"),
    Column(PRIORITY, ("number", "select"), "-100..100, higher first (default 0)"),
    Column(PLAN, ("rich_text",), "optional hand-written production plan (JSON), used as is"),
    Column(REVIEW_NOTES, ("rich_text",), "notes read with Approve and Reject"),
    Column(REDO_SCENES, ("rich_text",), "scene numbers to redo with Reject, e.g. 2, 5"),
    Column(PROGRESS, ("rich_text",), "written by us: step progress, e.g. Videos 7/16"),
    Column(COST, ("number",), "written by us: money spent so far, USD"),
    Column(ERROR, ("rich_text",), "written by us: what went wrong, or what to fix in the row"),
    Column(VIDEO, ("url",), "written by us: the finished video file"),
    Column(YOUTUBE, ("url",), "written by us: the published video"),
    Column(VIEWS, ("number",), "written by us: views at the latest statistics fetch"),
    Column(LIKES, ("number",), "written by us: likes at the latest statistics fetch"),
    Column(AVG_VIEW, ("number",), "written by us: average percentage of the video watched"),
    Column(COST_PER_1K, ("number",), "written by us: the video's cost / views x 1000, USD"),
    Column(STATS_UPDATED, ("date",), "written by us: when a figure last changed"),
)
# Columns setup creates as dollar amounts.
DOLLAR_COLUMNS = frozenset({COST, COST_PER_1K})

# Labels that ask for something (the user sets them); "Queued" and "Draft" are also derived labels.
QUEUED, DRAFT, APPROVE, REJECT, CANCEL, RETRY = (
    "Queued",
    "Draft",
    "Approve",
    "Reject",
    "Cancel",
    "Retry",
)
ACTION_LABELS: tuple[str, ...] = (QUEUED, DRAFT, APPROVE, REJECT, CANCEL, RETRY)
INPUT_ERROR_LABEL = "Input Error"


def status_labels() -> list[str]:
    """Every label the product reads or writes, in board order (setup creates these options)."""
    labels = [DRAFT, QUEUED]
    for step in PIPELINE_ORDER:
        labels.extend(NOTION_LABELS[step])
    labels += [APPROVE, REJECT, CANCEL, RETRY, "Cancelled", "Published", INPUT_ERROR_LABEL]
    return list(dict.fromkeys(labels))


def pipeline_labels() -> frozenset[str]:
    """Labels only the pipeline sets (a row showing one by hand is a mistake to point out)."""
    return frozenset(status_labels()) - set(ACTION_LABELS) - {INPUT_ERROR_LABEL}


# Our writable fields, keyed the way NotionPage.pushed/observed store them.
OUTPUT_COLUMNS: dict[str, str] = {
    "status": STATUS,
    "progress": PROGRESS,
    "cost": COST,
    "error": ERROR,
    "video": VIDEO,
    "youtube": YOUTUBE,
    "views": VIEWS,
    "likes": LIKES,
    "avg_view_pct": AVG_VIEW,
    "cost_per_1k": COST_PER_1K,
    "stats_updated": STATS_UPDATED,
}


class BoardSchemaError(Exception):
    """The board is not set up: every problem is listed, each naming a column."""

    def __init__(self, database_id: str, problems: list[str]) -> None:
        self.database_id = database_id
        self.problems = problems
        super().__init__(
            f"Notion board {database_id} is not set up: "
            + "; ".join(problems)
            + f" (run `vidgen notion setup {database_id}`)"
        )


@dataclass(frozen=True)
class BoardSchema:
    title: str
    kinds: dict[str, str]  # our column name -> its property type on this board
    status_options: frozenset[str]
    missing: tuple[str, ...]

    @property
    def status_kind(self) -> str:
        return self.kinds[STATUS]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "kinds": self.kinds,
            "status_options": sorted(self.status_options),
            "missing": list(self.missing),
        }


def schema_problems(properties: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems that stop the sync, columns that are merely missing)."""
    problems: list[str] = []
    missing: list[str] = []
    for column in COLUMNS:
        prop = properties.get(column.name)
        if prop is None:
            if column.name == STATUS:
                problems.append(
                    "the Status column is missing: add a Status property of type select or status"
                )
            else:
                missing.append(column.name)
        elif prop.get("type") not in column.kinds:
            expected = " or ".join(column.kinds)
            problems.append(
                f"{column.name} is a {prop.get('type')} property; it must be {expected}"
            )
    if not any(p.get("type") == "title" for p in properties.values()):
        problems.append("the board has no title column")
    return problems, missing


def read_schema(database_id: str, source: dict[str, Any]) -> BoardSchema:
    properties: dict[str, Any] = source.get("properties") or {}
    problems, missing = schema_problems(properties)
    if problems:
        raise BoardSchemaError(database_id, problems)
    status = properties[STATUS]
    options = status.get(status["type"], {}).get("options", [])
    return BoardSchema(
        title=next(name for name, p in properties.items() if p.get("type") == "title"),
        kinds={c.name: properties[c.name]["type"] for c in COLUMNS if c.name in properties},
        status_options=frozenset(o["name"] for o in options),
        missing=tuple(missing),
    )


# C0 controls and DEL except tab and newline: PostgreSQL cannot store NUL at all, and the rest
# are invisible in Notion yet would travel into titles, file metadata and logs.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str) -> str:
    return _CONTROL.sub("", value)


def clean_title(value: str) -> str:
    """One line of visible text; a title of nothing but zero-width characters is no title."""
    title = " ".join(clean_text(value).split())
    return "" if all(unicodedata.category(c) == "Cf" for c in title) else title


def plain_text(value: dict[str, Any]) -> str:
    kind = value.get("type", "")
    items = value.get(kind) or []
    return clean_text(
        "".join(item.get("plain_text") or item.get("text", {}).get("content", "") for item in items)
    )


def _value(prop: dict[str, Any] | None) -> Any:
    if prop is None:
        return None
    kind = prop.get("type")
    raw = prop.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return plain_text(prop).strip()
    if kind in ("select", "status"):
        name = raw.get("name") if isinstance(raw, dict) else None
        return clean_text(name) if isinstance(name, str) else None
    return raw


def normalise_cost(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01")))


def _number(value: Any) -> float | None:
    """A number column as compared with what we would write (ints stay equal to floats)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def normalise_moment(value: Any) -> str | None:
    """A date column's start, to the minute in UTC: Notion may echo another spelling of it."""
    start = value.get("start") if isinstance(value, dict) else value
    if not isinstance(start, str) or not start:
        return None
    try:
        moment = _parse_time(start)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00.000+00:00")


@dataclass(frozen=True)
class BoardRow:
    page_id: str
    database_id: str
    last_edited_time: datetime
    in_trash: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def status(self) -> str | None:
        value = self.inputs.get("status")
        return str(value) if value else None

    def inputs_hash(self) -> str:
        return fingerprint(self.inputs)


def fingerprint(inputs: dict[str, Any]) -> str:
    """Of what the user controls in a row: equal fingerprints mean nothing new to process."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_row(database_id: str, page: dict[str, Any], schema: BoardSchema) -> BoardRow:
    props: dict[str, Any] = page.get("properties") or {}
    inputs = {
        "title": clean_title(_value(props.get(schema.title)) or ""),
        "status": _value(props.get(STATUS)),
        "channel": _value(props.get(CHANNEL)),
        "topic": _value(props.get(TOPIC)),
        "story_direction": _value(props.get(STORY)),
        "priority": _value(props.get(PRIORITY)),
        "plan": _value(props.get(PLAN)),
        "review_notes": _value(props.get(REVIEW_NOTES)),
        "redo_scenes": _value(props.get(REDO_SCENES)),
    }
    outputs = {
        "status": inputs["status"],
        "progress": _value(props.get(PROGRESS)) or "",
        "cost": normalise_cost(_value(props.get(COST))),
        "error": _value(props.get(ERROR)) or "",
        "video": _value(props.get(VIDEO)) or None,
        "youtube": _value(props.get(YOUTUBE)) or None,
        "views": _number(_value(props.get(VIEWS))),
        "likes": _number(_value(props.get(LIKES))),
        "avg_view_pct": _number(_value(props.get(AVG_VIEW))),
        "cost_per_1k": normalise_cost(_value(props.get(COST_PER_1K))),
        "stats_updated": normalise_moment(_value(props.get(STATS_UPDATED))),
    }
    return BoardRow(
        page_id=str(page["id"]),
        database_id=database_id,
        last_edited_time=_parse_time(str(page["last_edited_time"])),
        in_trash=is_trashed(page),
        inputs=inputs,
        outputs=outputs,
    )


def _text(value: Any) -> list[dict[str, Any]]:
    text = str(value or "")
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return [{"text": {"content": text}}] if text else []


def property_writes(schema: BoardSchema, values: dict[str, Any]) -> dict[str, Any]:
    """The PATCH ``properties`` body for our fields, leaving out columns the board lacks."""
    body: dict[str, Any] = {}
    for key, value in values.items():
        name = OUTPUT_COLUMNS[key]
        kind = schema.kinds.get(name)
        if kind is None:
            continue
        if kind in ("select", "status"):
            body[name] = {kind: {"name": value} if value else None}
        elif kind == "rich_text":
            body[name] = {"rich_text": _text(value)}
        elif kind == "number":
            body[name] = {"number": value}
        elif kind == "url":
            body[name] = {"url": str(value)[:MAX_TEXT] if value else None}
        elif kind == "date":
            body[name] = {"date": {"start": value} if value else None}
    return body
