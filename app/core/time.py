"""Time for the whole app: one timezone-aware clock, and one exponential backoff.

Every retry loop (YouTube and OAuth calls, Notion calls, alert delivery) and the fleet's restarts
wait the same way, doubling from a base up to a cap; only the figures differ, so they share
``Backoff`` instead of each writing the formula again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backoff:
    """Waits of ``base_s``, doubling after each failure, capped at ``cap_s``; ``attempts`` tries in
    all for a retry loop (a supervisor that restarts forever leaves it unread).

    With ``jitter`` each wait is drawn from the upper half of its step, so clients that failed
    together do not all come back at the same instant; without it the waits are exact.
    """

    attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 32.0
    jitter: bool = True

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (1 for the first)."""
        raw = min(self.cap_s, self.base_s * 2.0 ** max(failures - 1, 0))
        return raw * (0.5 + random.random() / 2) if self.jitter else raw
