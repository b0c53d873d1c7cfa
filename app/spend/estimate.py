"""What an item will cost before it runs, read from the same inputs the script receives.

The price a script reports comes from its own arguments (``--cost-usd``, or ElevenLabs'
``--cost-per-1k-chars`` times the characters of ``--text``), so estimating from those arguments
gives exactly the figure the ledger will record for a successful call. Offline providers take no
price argument and cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

PLAN_COST_KEY = "cost_usd"  # a plan item's price per call (LLM planners only)


def _flag_values(args: Sequence[str]) -> dict[str, str]:
    """``--flag value`` pairs; a value that itself starts with ``--`` (a prompt) stays a value."""
    values: dict[str, str] = {}
    index = 0
    while index < len(args):
        token = args[index]
        if token.startswith("--") and index + 1 < len(args):
            values[token] = args[index + 1]
            index += 2
        else:
            index += 1
    return values


def _usd(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def estimate_item_cost(inputs: Mapping[str, Any]) -> Decimal:
    """USD one run of the item costs; 0 for offline work."""
    kind = inputs.get("kind")
    if kind == "plan":
        return _usd(inputs.get(PLAN_COST_KEY, 0))
    if kind != "script":
        return Decimal(0)
    flags = _flag_values([str(arg) for arg in inputs.get("args", [])])
    if "--cost-usd" in flags:
        return _usd(flags["--cost-usd"])
    if "--cost-per-1k-chars" in flags:
        characters = len(flags.get("--text", ""))
        return _usd(flags["--cost-per-1k-chars"]) * characters / 1000
    return Decimal(0)


def estimate_cost(items_inputs: Iterable[Mapping[str, Any]]) -> Decimal:
    return sum((estimate_item_cost(inputs) for inputs in items_inputs), Decimal(0))
