"""Notion property values for the fake: write bodies in, stored values, response objects out, filters.

Follows shared/reference/external-apis.md section 1: value shapes per type, the 2,000-character
rich-text and URL limits, status options that must exist (select options are created on write),
filters whose type key must match the property's type, compound filters nested at most two deep.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

COLOURS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")
MAX_TEXT = 2000
MAX_ARRAY = 100


class NotionFakeError(Exception):
    """Becomes an error response with Notion's body shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def validation(message: str) -> NotionFakeError:
    return NotionFakeError(400, "validation_error", message)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise validation(f"'{text}' is not an ISO 8601 date-time with an offset")
    return value


def rich_text(content: str) -> list[dict[str, Any]]:
    if not content:
        return []
    return [
        {
            "type": "text",
            "text": {"content": content, "link": None},
            "annotations": {
                "bold": False,
                "italic": False,
                "strikethrough": False,
                "underline": False,
                "code": False,
                "color": "default",
            },
            "plain_text": content,
            "href": None,
        }
    ]


def new_option(name: str, index: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4())[:8],
        "name": name,
        "color": COLOURS[index % len(COLOURS)],
        "description": None,
    }


def find_option(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    for option in schema[schema["type"]].get("options", []):
        if option["name"] == name:
            return dict(option)
    return None


def _text_items(prop: str, items: Any) -> str:
    if not isinstance(items, list):
        raise validation(f"body.properties.{prop} should be an array of rich text objects")
    if len(items) > MAX_ARRAY:
        raise validation(f"body.properties.{prop}.length should be ≤ {MAX_ARRAY}")
    parts: list[str] = []
    for item in items:
        text = item.get("text") if isinstance(item, dict) else None
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str):
            raise validation(f"body.properties.{prop}[].text.content should be a string")
        if len(content) > MAX_TEXT:
            raise validation(
                f"body.properties.{prop}[].text.content.length should be ≤ {MAX_TEXT}, "
                f"instead was {len(content)}."
            )
        parts.append(content)
    return "".join(parts)


def stored_from_write(name: str, schema: dict[str, Any], value: Any) -> Any:
    """The stored (simple) value of a property write body such as ``{"status": {"name": "x"}}``."""
    kind = schema["type"]
    if not isinstance(value, dict) or kind not in value:
        raise validation(f"{name} is expected to be {kind}.")
    raw = value[kind]
    if kind in ("title", "rich_text"):
        return _text_items(name, raw)
    if kind == "number":
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise validation(f"body.properties.{name}.number should be a number or null")
        return raw
    if kind == "url":
        if raw is not None and (not isinstance(raw, str) or len(raw) > MAX_TEXT):
            raise validation(f"body.properties.{name}.url should be a string of ≤ {MAX_TEXT}")
        return raw or None
    if kind == "checkbox":
        if not isinstance(raw, bool):
            raise validation(f"body.properties.{name}.checkbox should be a boolean")
        return raw
    if kind in ("select", "status"):
        if raw is None:
            return None
        option_name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(option_name, str) or not option_name:
            raise validation(f"body.properties.{name}.{kind}.name should be a string")
        if find_option(schema, option_name) is None:
            if kind == "status":
                raise validation(
                    f'Invalid status option. Status option "{option_name}" does not exist".'
                )
            options = schema["select"].setdefault("options", [])
            options.append(new_option(option_name, len(options)))
        return option_name
    if kind == "date":
        return raw.get("start") if isinstance(raw, dict) else None
    raise validation(f"the fake does not support writing {kind} properties")


def value_object(schema: dict[str, Any], stored: Any) -> dict[str, Any]:
    """A property value as the API returns it inside a page."""
    kind = schema["type"]
    out: dict[str, Any] = {"id": schema["id"], "type": kind}
    if kind in ("title", "rich_text"):
        out[kind] = rich_text(stored or "")
    elif kind in ("select", "status"):
        out[kind] = find_option(schema, stored) if stored else None
    elif kind == "date":
        out[kind] = {"start": stored, "end": None, "time_zone": None} if stored else None
    elif kind == "checkbox":
        out[kind] = bool(stored)
    else:
        out[kind] = stored
    return out


def empty_value(kind: str) -> Any:
    return False if kind == "checkbox" else None


_TEXT_OPS = {"equals", "does_not_equal", "contains", "does_not_contain", "starts_with", "ends_with"}
_NUMBER_OPS = {
    "equals": lambda a, b: a == b,
    "does_not_equal": lambda a, b: a != b,
    "greater_than": lambda a, b: a > b,
    "less_than": lambda a, b: a < b,
    "greater_than_or_equal_to": lambda a, b: a >= b,
    "less_than_or_equal_to": lambda a, b: a <= b,
}
_TIME_OPS = {
    "equals": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
    "on_or_before": lambda a, b: a <= b,
    "on_or_after": lambda a, b: a >= b,
}


def _check_condition(kind: str, stored: Any, condition: Any) -> bool:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise validation("a filter condition must have exactly one operator")
    [(op, arg)] = condition.items()
    if op == "is_empty":
        return stored in (None, "", [])
    if op == "is_not_empty":
        return stored not in (None, "", [])
    if kind in ("title", "rich_text", "url", "select", "status"):
        text = stored or ""
        allowed = {"equals", "does_not_equal"} if kind in ("select", "status") else _TEXT_OPS
        if op not in allowed or not isinstance(arg, str):
            raise validation(f"{kind} filter does not support '{op}' with {arg!r}")
        return {
            "equals": text == arg,
            "does_not_equal": text != arg,
            "contains": arg in text,
            "does_not_contain": arg not in text,
            "starts_with": text.startswith(arg),
            "ends_with": text.endswith(arg),
        }[op]
    if kind == "number":
        if op not in _NUMBER_OPS:
            raise validation(f"number filter does not support '{op}'")
        return stored is not None and bool(_NUMBER_OPS[op](stored, arg))
    if kind == "checkbox":
        if op not in ("equals", "does_not_equal"):
            raise validation(f"checkbox filter does not support '{op}'")
        return (bool(stored) == arg) == (op == "equals")
    raise validation(f"the fake cannot filter on {kind} properties")


def _time_condition(moment: datetime, condition: Any) -> bool:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise validation("a timestamp filter must have exactly one operator")
    [(op, arg)] = condition.items()
    if op not in _TIME_OPS or not isinstance(arg, str):
        raise validation(f"timestamp filter does not support '{op}'")
    return bool(_TIME_OPS[op](moment, parse_iso(arg)))


def matches(
    page_values: dict[str, Any],
    times: dict[str, datetime],
    schema: dict[str, dict[str, Any]],
    filt: dict[str, Any],
    depth: int = 0,
) -> bool:
    """Evaluate one Notion filter object against a page's stored values and timestamps."""
    for compound in ("and", "or"):
        if compound in filt:
            if depth >= 2:
                raise validation("filter nesting is limited to two levels of compound filters")
            parts = filt[compound]
            if not isinstance(parts, list):
                raise validation(f"body.filter.{compound} should be an array")
            results = (matches(page_values, times, schema, part, depth + 1) for part in parts)
            return all(results) if compound == "and" else any(results)
    if "timestamp" in filt:
        field = filt["timestamp"]
        if field not in times or field not in filt:
            raise validation("body.filter.timestamp should be created_time or last_edited_time")
        return _time_condition(times[field], filt[field])
    name = filt.get("property")
    prop = schema.get(name) if isinstance(name, str) else None
    if prop is None:
        prop = next((p for p in schema.values() if p["id"] == name), None)
    if prop is None:
        raise validation(f"Could not find property with name or id: {name}")
    kind = prop["type"]
    if kind not in filt:
        other = next((k for k in filt if k != "property"), "?")
        raise validation(
            f"body.filter.{other} is not a valid filter for {name}: the property is of type {kind}"
        )
    return _check_condition(kind, page_values.get(prop["name"]), filt[kind])


def error_response(exc: NotionFakeError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "object": "error",
            "status": exc.status,
            "code": exc.code,
            "message": exc.message,
            "request_id": str(uuid.uuid4()),
        },
        status_code=exc.status,
        headers=headers,
    )
