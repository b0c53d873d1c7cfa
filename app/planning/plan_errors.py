"""Turns pydantic's error locations inside a plan into messages a plan author can act on.

Pydantic locates an error by list index (``scenes.2.narration``); people think in scene numbers and asset
names, so every message here says ``scene 3: narration: ...`` or ``asset 'wizard': prompt: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from app.planning.plan_input import allowed_keys_hint


class PlanValidationError(ValueError):
    """A plan that breaks one or more rules; ``messages`` has one line per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages) or ["the plan is invalid"]
        super().__init__("invalid production plan: " + "; ".join(self.messages))


def _entry(plan_input: object, collection: str, index: int) -> Mapping[str, Any] | None:
    if not isinstance(plan_input, Mapping):
        return None
    entries = plan_input.get(collection)
    if isinstance(entries, list) and 0 <= index < len(entries):
        entry = entries[index]
        if isinstance(entry, Mapping):
            return entry
    return None


def _scene_label(plan_input: object, index: int) -> str:
    scene = _entry(plan_input, "scenes", index)
    number = scene.get("number") if scene is not None else None
    if isinstance(number, int) and not isinstance(number, bool):
        return f"scene {number}"
    if isinstance(number, str) and number.strip().isdigit():
        return f"scene {int(number)}"
    if scene is not None and number is None:
        return f"scene {index + 1}"  # an unnumbered hand-written scene is numbered by position
    return f"scene at position {index + 1}"


def _asset_label(plan_input: object, index: int) -> str:
    asset = _entry(plan_input, "assets", index)
    name = asset.get("name") if asset is not None else None
    if isinstance(name, str) and name.strip():
        return f"asset '{name.strip()}'"
    return f"asset at position {index + 1}"


def _field_path(parts: Sequence[str | int]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def describe_plan_error(loc: Sequence[str | int], message: str, plan_input: object) -> str:
    """One error at ``loc`` (relative to the plan) as ``scene N: field: message``."""
    parts = list(loc)
    label = ""
    if len(parts) >= 2 and parts[0] == "scenes" and isinstance(parts[1], int):
        label = _scene_label(plan_input, parts[1])
        parts = parts[2:]
    elif len(parts) >= 2 and parts[0] == "assets" and isinstance(parts[1], int):
        label = _asset_label(plan_input, parts[1])
        parts = parts[2:]
    field = _field_path(parts)
    if message == "Extra inputs are not permitted":
        hint = allowed_keys_hint(tuple(loc))
        message = f"{message} (a misspelt key?{' ' + hint if hint else ''})"
    prefix = ": ".join(p for p in (label, field) if p)
    return f"{prefix}: {message}" if prefix else message


def error_problems(error: Mapping[str, Any]) -> list[str] | None:
    """The individual problems of a plan-wide consistency error, or None for any other error."""
    ctx = error.get("ctx")
    problems = ctx.get("problems") if isinstance(ctx, Mapping) else None
    if isinstance(problems, list) and all(isinstance(p, str) for p in problems):
        return list(problems)
    return None


def plan_error_messages(exc: ValidationError, plan_input: object) -> list[str]:
    """Every error of ``exc`` (raised validating ``plan_input``) as a readable line."""
    messages: list[str] = []
    for error in exc.errors(include_url=False):
        problems = error_problems(error)
        if problems is not None:
            messages.extend(problems)
        else:
            messages.append(describe_plan_error(error["loc"], error["msg"], plan_input))
    return messages
