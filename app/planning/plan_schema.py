"""The plan model as a JSON Schema an LLM's structured-output mode accepts.

OpenAI's strict mode (and the vendors that copy it) takes only a subset of JSON Schema: every object
must say ``additionalProperties: false`` and list every property in ``required``; ``default`` is
refused, ``oneOf`` is not supported (``anyOf`` is), and length/range keywords are refused or ignored
depending on the vendor. So the schema pydantic writes is rewritten into that subset here, from the
model itself, so a field added to the plan reaches the LLM without anyone editing a prompt. The
dropped constraints are not lost: every answer is still validated with the plan model, and the
errors go back to the LLM in the repair round.
"""

from __future__ import annotations

from typing import Any

from app.planning.plan import ProductionPlan

PLAN_SCHEMA_NAME = "production_plan"

# Keywords outside the strict subset some OpenAI-compatible servers accept; the plan model checks them.
_DROPPED = frozenset(
    {
        "default",
        "title",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "discriminator",
    }
)


def _allows_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null":
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []))


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(entry) for entry in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "oneOf":
            key = "anyOf"
        if key in ("properties", "$defs"):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        else:
            out[key] = _strict(value)
    if out.get("type") == "object" or "properties" in out:
        properties: dict[str, Any] = out.get("properties", {})
        required = set(node.get("required", []))
        for name, sub in properties.items():
            # An optional field whose default is None may be null; one with another default
            # (an empty list) is simply always given.
            if name not in required and node["properties"][name].get("default", 0) is None:
                if not _allows_null(sub):
                    properties[name] = {"anyOf": [sub, {"type": "null"}]}
        out["properties"] = properties
        out["required"] = list(properties)
        out["additionalProperties"] = False
    return out


def plan_json_schema() -> dict[str, Any]:
    """The strict-mode JSON Schema of ``ProductionPlan`` (see the module docstring)."""
    schema: dict[str, Any] = _strict(ProductionPlan.model_json_schema())
    return schema
