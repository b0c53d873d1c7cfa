"""Preparing an existing Notion database to be a board: add missing columns and Status options.

Idempotent: it only adds. A column of the wrong type is reported, never converted (converting
loses the column's data), and a ``status``-type Status column's options are listed for the user
to add by hand, because Notion's API cannot change a status property's options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.notion.board import (
    APPROVE,
    CANCEL,
    COLUMNS,
    DOLLAR_COLUMNS,
    INPUT_ERROR_LABEL,
    QUEUED,
    REJECT,
    RETRY,
    STATUS,
    status_labels,
)
from app.notion.client import NotionClient


@dataclass
class SetupResult:
    database_id: str
    data_source_id: str = ""
    added_columns: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)
    needs_you: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added_columns or self.added_options)


def label_colour(label: str) -> str:
    if "Error" in label or label == INPUT_ERROR_LABEL:
        return "red"
    if label in (APPROVE, "Published"):
        return "green"
    if "Ready" in label or label == "Final Review":
        return "yellow"
    if label in (REJECT, RETRY):
        return "orange"
    if label in (CANCEL, "Cancelled"):
        return "gray"
    if label == QUEUED:
        return "purple"
    return "blue" if label != "Draft" else "default"


def plan_setup(result: SetupResult, properties: dict[str, Any]) -> dict[str, Any]:
    """The schema PATCH body that makes ``properties`` a board (empty: nothing to do)."""
    changes: dict[str, Any] = {}
    for column in COLUMNS:
        prop = properties.get(column.name)
        kind = column.kinds[0]
        if prop is None:
            config: dict[str, Any] = {}
            if column.name == STATUS:
                config = {
                    "options": [{"name": n, "color": label_colour(n)} for n in status_labels()]
                }
                result.added_options.extend(status_labels())
            elif kind == "number":
                config = {"format": "dollar" if column.name in DOLLAR_COLUMNS else "number"}
            changes[column.name] = {kind: config}
            result.added_columns.append(f"{column.name} ({kind})")
        elif prop.get("type") not in column.kinds:
            result.needs_you.append(
                f"{column.name} is a {prop.get('type')} column; change it to "
                f"{' or '.join(column.kinds)} in Notion (setup never converts a column: "
                "that would lose its data)"
            )
    status = properties.get(STATUS)
    if status is not None and status.get("type") in ("select", "status"):
        kind = status["type"]
        options = status.get(kind, {}).get("options", [])
        have = {o["name"] for o in options}
        missing = [label for label in status_labels() if label not in have]
        if missing and kind == "select":
            kept = [{"id": o["id"], "name": o["name"], "color": o.get("color")} for o in options]
            added = [{"name": n, "color": label_colour(n)} for n in missing]
            changes[STATUS] = {"select": {"options": kept + added}}
            result.added_options.extend(missing)
        elif missing:
            result.needs_you.append(
                "add these options to the Status column in Notion (Notion's API cannot change "
                f"the options of a status-type column): {', '.join(missing)}"
            )
    return changes


async def setup_board(
    client: NotionClient, database_id: str, *, dry_run: bool = False
) -> SetupResult:
    result = SetupResult(database_id)
    result.data_source_id = await client.data_source_id(database_id)
    source = await client.get_schema(result.data_source_id)
    changes = plan_setup(result, source.get("properties") or {})
    if changes and not dry_run:
        await client.update_schema(result.data_source_id, changes)
    return result
