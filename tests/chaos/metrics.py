"""The campaign's figures, computed from what the fakes saw and what the API reports.

Paid generations are counted from the vendor's side: a generation is *delivered* when the fake
did the work and its answer reached the client intact (HTTP 200 and no fault applied to it),
*wasted* when the fake did the work but an injected ``truncate``/``corrupt`` broke the delivery.
Kling is counted from the fake's own task table (a createTask that made a task).

- ``kling_created_twice``: items with more than one Kling task. Must be 0: the task id is
  recorded before waiting, so a killed worker's successor resumes instead of paying again.
- ``regenerated_after_done``: paid generations for an item that arrived after the item was
  recorded complete. Must be 0.
- ``repeated_in_flight``: extra deliveries for an item that had not finished yet (a worker killed
  mid-call re-runs a synchronous call; nothing can resume a lost HTTP answer). Reported.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.chaos.driver import Blow
from tests.chaos.stack import Stack
from tests.fakes.faults import POST_KINDS

TAG = re.compile(r"tag(\d{2})")
NARRATION = re.compile(r"Video (\d+) starts now")


@dataclass
class PaidCounts:
    delivered: Counter[tuple[str, int]] = field(default_factory=Counter)
    wasted: Counter[tuple[str, int]] = field(default_factory=Counter)
    arrivals: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))


def _json(raw: bytes | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _text_of(body: Any) -> str:
    return json.dumps(body) if body is not None else ""


def paid_generations(stack: Stack) -> PaidCounts:
    counts = PaidCounts()
    for record in stack.faults["gemini"].exchanges:
        match = TAG.search(_text_of(_json(record.body)))
        if record.method == "POST" and record.status == 200 and match:
            _count(counts, ("assets", int(match.group(1))), record.fault, record.at)
    for record in stack.faults["eleven"].exchanges:
        body = _json(record.body)
        if record.method != "POST" or record.status != 200 or not isinstance(body, dict):
            continue
        text = str(body.get("text", ""))
        found = NARRATION.search(text) if "text-to-speech" in record.path else TAG.search(text)
        step = "narration" if "text-to-speech" in record.path else "sound_effects"
        if found:
            _count(counts, (step, int(found.group(1))), record.fault, record.at)
    for task in stack.kie.tasks.values():
        match = TAG.search(str(task.params.get("prompt", "")))
        if match:
            _count(counts, ("videos", int(match.group(1))), None, task.created)
    return counts


def _count(counts: PaidCounts, key: tuple[str, int], fault: str | None, at: float) -> None:
    if fault in POST_KINDS:
        counts.wasted[key] += 1
        return
    counts.delivered[key] += 1
    counts.arrivals[key].append(at)


def completion_times(details: dict[int, dict[str, Any]]) -> dict[tuple[str, int], float]:
    """(step, video number) -> when its single scene's item was recorded complete."""
    done: dict[tuple[str, int], float] = {}
    for number, detail in details.items():
        for item in detail["items"]:
            if item["completed_at"]:
                moment = datetime.fromisoformat(item["completed_at"]).timestamp()
                done[(item["step"], number)] = moment
    return done


def duplicate_figures(
    counts: PaidCounts, done: dict[tuple[str, int], float]
) -> dict[str, list[str]]:
    kling_twice = [f"{k[0]}:{k[1]:02d}" for k, n in counts.delivered.items() if k[0] == "videos" and n > 1]  # fmt: skip
    after_done = [
        f"{key[0]}:{key[1]:02d}"
        for key, times in counts.arrivals.items()
        if key in done and any(t > done[key] + 0.05 for t in times)
    ]
    in_flight = [f"{k[0]}:{k[1]:02d}" for k, n in counts.delivered.items() if n > 1 and k[0] != "videos"]  # fmt: skip
    return {
        "kling_created_twice": kling_twice,
        "regenerated_after_done": after_done,
        "repeated_in_flight": in_flight,
        "wasted_by_faults": [f"{k[0]}:{k[1]:02d}x{n}" for k, n in counts.wasted.items()],
    }


def youtube_duplicates(stack: Stack) -> dict[str, int]:
    """Videos per title on the fake; every title is one task's."""
    titles = Counter(
        str(v.resource.get("snippet", {}).get("title")) for v in stack.youtube.videos.values()
    )
    return dict(titles)


def max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def recovery_times(blows: list[Blow], done: list[float]) -> list[dict[str, Any]]:
    """Per blow: seconds from when it landed to the next item any worker completed."""
    ordered = sorted(done)
    rows = []
    for blow in blows:
        after = next((t for t in ordered if t > blow.until), None)
        rows.append(
            {
                "kind": blow.kind,
                "target": blow.target,
                "at": blow.at,
                "recovery_s": round(after - blow.at, 2) if after is not None else None,
            }
        )
    return rows


def inflight_recovery(
    blows: list[Blow], starts: list[dict[str, Any]], completed: dict[str, float]
) -> list[float | None]:
    """Per kill: seconds until the item the victim was running was completed by someone else
    (``None`` when the victim held no unfinished item). ``starts`` are ``item.started`` audit
    events; ``completed`` maps item id -> completion time."""
    out: list[float | None] = []
    for blow in blows:
        if blow.kind != "kill":
            continue
        held = [
            e
            for e in starts
            if e["actor"] == blow.target
            and datetime.fromisoformat(e["created_at"]).timestamp() < blow.at
            and completed.get(str(e["entity_id"]), 0.0) > blow.at
        ]
        finish = [completed[str(e["entity_id"])] for e in held]
        out.append(round(max(finish) - blow.at, 2) if finish else None)
    return out


def kling_story(stack: Stack, keys: list[str]) -> dict[str, list[str]]:
    """For each duplicated Kling item: its createTask exchanges (arrival, answer, status, fault)
    and the tasks the fake made, to tell a kill in the record window from a late answer."""
    story: dict[str, list[str]] = {}
    for key in keys:
        number = int(key.rsplit(":", 1)[1])
        tag = f"tag{number:02d}"
        lines = [
            f"createTask at {e.at:.2f} answered {e.done and round(e.done - e.at, 2)} s "
            f"status {e.status} fault {e.fault}"
            for e in stack.faults["kie"].exchanges
            if e.path.endswith("createTask") and e.body and tag.encode() in e.body
        ]
        lines += [
            f"task {t.task_id[:8]} created {t.created:.2f}"
            for t in stack.kie.tasks.values()
            if tag in str(t.params.get("prompt", ""))
        ]
        story[key] = lines
    return story
