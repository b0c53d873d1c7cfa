"""Turn pydantic validation errors into one-line messages that say what to change.

Pydantic's wording ("Input should be 'kling' or 'kenburns'") is written for programmers; an
operator editing YAML needs the allowed values, the allowed keys of the section they are in and a
"did you mean", and never a secret echoed back (values are scrubbed and shortened).
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from app.channels.config_schema import ChannelConfig
from app.core.logging import redact_text

Loc = tuple[str | int, ...]

_SECRET_KEY = re.compile(r"(key|token|secret|password|credential)", re.IGNORECASE)
_NUMBER_TYPES = {
    "float_type",
    "float_parsing",
    "decimal_type",
    "decimal_parsing",
    "finite_number",
}
_WHOLE_NUMBER_TYPES = {"int_type", "int_parsing", "int_from_float", "int_parsing_size"}
_MAPPING_TYPES = {"model_type", "dict_type", "model_attributes_type"}


def field_path(loc: Loc) -> str:
    """``("review_gates", 2)`` -> ``review_gates[2]``; ``("a", "b")`` -> ``a.b``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def show(value: Any) -> str:
    """A short, secret-free rendering of a value from the YAML."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(redact_text(text))
    return redact_text(str(value))[:40]


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The config section a location points into, to list the keys allowed there."""
    current: Any = ChannelConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = get_args(current)
            current = args[-1] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _truncate_to_input(loc: Loc, data: Any) -> Loc:
    """Stop the path where the YAML has a plain value (``video: kling2`` is ``providers.video``)."""
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict | list) or index == 0:
            return loc
        else:
            return loc[:index]
    return loc


def _options(expected: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


def _unknown_key(loc: Loc) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    allowed = sorted(model.model_fields) if model else []
    parts = ["unknown key"]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        parts.append(f"did you mean {close[0]!r}?")
    if allowed:
        parts.append(f"allowed here: {', '.join(allowed)}")
    if _SECRET_KEY.search(key) and key not in allowed:
        parts.append(
            "secrets never go in channel YAML: set them in the environment or store them "
            "as channel credentials"
        )
    message = "; ".join(parts)
    return message


def _bound(kind: str, ctx: dict[str, Any], got: str) -> str:
    words = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    word, key = words[kind]
    return f"must be {word} {ctx.get(key)}, got {got}"


def describe_error(error: Any, data: Any) -> tuple[Loc, str]:
    """(location, message) for one pydantic error dict, in the words of someone editing YAML."""
    loc: Loc = _truncate_to_input(tuple(error["loc"]), data)
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    got = show(error.get("input"))
    if kind == "extra_forbidden":
        return loc, _unknown_key(loc)
    if kind == "missing":
        return loc, "required key is missing; add it"
    if kind in ("literal_error", "enum"):
        return loc, f"{got} is not one of {_options(str(ctx.get('expected', '')))}"
    if kind in _WHOLE_NUMBER_TYPES:
        return loc, f"expected a whole number, got {got}"
    if kind in _NUMBER_TYPES:
        return loc, f"expected a number, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false, got {got}"
    if kind == "string_type":
        return loc, f"expected text, got {got}; put the value in quotes if it is text"
    if kind in _MAPPING_TYPES:
        return loc, f"expected a mapping (indented key: value lines), got {got}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return loc, f"expected a list (one '- item' per line), got {got}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return loc, _bound(kind, ctx, got)
    if kind == "string_too_short":
        return loc, "must not be empty"
    if kind == "string_too_long":
        return loc, f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        if "#" in str(ctx.get("pattern", "")):
            return loc, f"expected a hex colour like #FFFFFF, got {got}"
        return loc, f"{got} is not in the expected form ({ctx.get('pattern')})"
    if kind in ("time_parsing", "time_type"):
        return loc, f"expected a time of day like 17:00, got {got}"
    if kind in ("value_error", "assertion_error"):
        return loc, str(error["msg"]).removeprefix("Value error, ").removeprefix(
            "Assertion failed, "
        )
    return loc, str(error["msg"])
