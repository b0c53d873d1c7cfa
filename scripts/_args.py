"""Argument types and the provider switch several scripts share, beside ``_common``'s parser.

Kept apart so ``_common`` stays the plumbing every script needs (result line, FFmpeg, HTTP).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def number_in(
    low: float,
    high: float,
    *,
    kind: type[float] | type[int] = float,
    not_number: str = "expected a number, got {value!r}",
    out_of_range: str = "expected {low:g}..{high:g}, got {value}",
) -> Callable[[str], Any]:
    """argparse type factory: a number of ``kind`` within ``low..high`` inclusive.

    The messages are templates (``value``, ``low``, ``high``) so each option can keep the wording
    its callers already know.
    """

    def parse(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(not_number.format(value=value)) from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(out_of_range.format(value=value, low=low, high=high))
        return number

    return parse


def provider_main(
    build_parser: Callable[[], argparse.ArgumentParser],
    runners: dict[str, Callable[[argparse.Namespace], None]],
) -> Callable[[list[str] | None], None]:
    """A script's main that hands the parsed arguments to the runner of the chosen ``--provider``."""

    def main(argv: list[str] | None = None) -> None:
        args = build_parser().parse_args(argv)
        runners[args.provider](args)

    return main
