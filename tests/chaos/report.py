"""Print the campaign's figures as a table and keep them in workspace/test-artifacts/."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "workspace" / "test-artifacts"


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.1f} s, p95 {p95:.1f} s, max {ordered[-1]:.1f} s"


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, requirement) rows of the table."""
    kills = [r["recovery_s"] for r in figures["recovery"] if r["kind"] == "kill" and r["recovery_s"] is not None]  # fmt: skip
    restart = [r["recovery_s"] for r in figures["recovery"] if r["kind"] == "pg_restart"]
    inflight = [v for v in figures["inflight_recovery"] if v is not None]
    dup = figures["duplicates"]
    return [
        ("videos (channels)", f"{figures['videos']} ({figures['channels']})", ""),
        ("run time", f"{figures['elapsed_s']:.0f} s", ""),
        (
            "faults injected",
            f"{sum(figures['faults'].values())} of {figures['requests']} fake responses ({figures['fault_share']:.0%}): {figures['faults_by_kind']}",
            "steady 15-20%",
        ),
        ("workers SIGKILLed", str(figures["kills"]), ""),
        ("PostgreSQL restarts", str(figures["pg_restarts"]), "1"),
        ("workers that exited by themselves", str(len(figures["worker_self_exits"])), "0"),
        ("tasks lost", str(len(figures["lost"])), "0"),
        (
            "tasks published / expected failures",
            f"{figures['published']} / {figures['expected_failures']}",
            "",
        ),
        (
            "paid items generated more than once",
            str(len(dup["kling_created_twice"]) + len(dup["regenerated_after_done"])),
            "0",
        ),
        ("  Kling tasks created twice for an item", str(len(dup["kling_created_twice"])), "0"),
        ("  paid calls for an item already done", str(len(dup["regenerated_after_done"])), "0"),
        (
            "  sync paid calls repeated in flight (kill mid-call)",
            str(len(dup["repeated_in_flight"])),
            "reported",
        ),
        (
            "  paid deliveries wasted by injected faults",
            str(len(dup["wasted_by_faults"])),
            "reported",
        ),
        ("YouTube videos created more than once", str(figures["youtube_duplicates"]), "0"),
        (
            "Notion requests, busiest 10 s window",
            f"{figures['notion_max_10s']} ({figures['notion_max_10s'] / 10:.1f}/s)",
            "<= 30 (3/s)",
        ),
        ("Notion requests, busiest 1 s window", str(figures["notion_max_1s"]), "reported"),
        ("recovery after a kill (next item done)", _summary(kills), "reported"),
        (
            "killed worker's in-flight item done again (reclaim + re-run)",
            _summary(inflight),
            "reported",
        ),
        ("recovery after PostgreSQL restart", _summary(restart), "reported"),
    ]


def markdown(figures: dict[str, Any]) -> str:
    lines = ["| metric | value | requirement |", "|---|---|---|"]
    lines += [f"| {m} | {v} | {r} |" for m, v, r in rows(figures)]
    return "\n".join(lines) + "\n"


def write(figures: dict[str, Any]) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "chaos-report.json").write_text(json.dumps(figures, indent=2, default=str))
    target = ARTIFACTS / "chaos-report.md"
    target.write_text("# Chaos campaign\n\n" + markdown(figures))
    return target
