"""``vidgen demo``: one video end to end, offline, through the real fleet (web + 3 workers).

It drives the product the way a user would: starts the fleet, creates the task through the API,
watches it with a progress bar per step, approves each review gate (unless ``--review``), and
prints the final MP4's path, duration, cost and the time each step took.
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.core.config import get_settings
from app.models import PIPELINE_ORDER
from app.ops.demo_plan import PlanFile, PlanFileError, read_plan_file, upload_media
from app.ops.fleet import Fleet, file_logger

SAMPLE_TOPIC = "How lighthouses guided ships through the night"
SAMPLE_DIRECTION = (
    "On a stormy coast, a single light cuts through the rain. "
    "The first lighthouses burned wood and coal in open fires. "
    "Then a new kind of glass lens sent the beam far out to sea. "
    "And every night, a keeper stayed awake to keep the light burning."
)


class DemoError(Exception):
    pass


@dataclass
class DemoOptions:
    topic: str | None = None
    plan_file: Path | None = None
    review: bool = False
    channel: str = "demo"
    workers: int = 3
    timeout_s: float = 1800.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(client: httpx.Client, fleet: Fleet, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if fleet.dead_children():
            names = ", ".join(c.name for c in fleet.dead_children())
            raise DemoError(f"{names} exited during start-up: see the fleet log")
        try:
            if client.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise DemoError("the web service did not become ready in time: see the fleet log")


def _create_task(
    client: httpx.Client, options: DemoOptions, plan_file: PlanFile | None, console: Console
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_slug": options.channel,
        "title": options.topic or SAMPLE_TOPIC,
        "topic": options.topic or SAMPLE_TOPIC,
        "story_direction": None if options.topic else SAMPLE_DIRECTION,
    }
    if plan_file is not None:
        plan = plan_file.plan
        body["plan"] = plan
        body["title"] = plan.get("title", body["title"])
        body["topic"] = plan.get("topic") or body["title"]
        body["queue"] = not plan_file.media  # a draft until its media is uploaded
    data = _answer(client.post("/api/v1/tasks", json=body), "creating the task")
    if plan_file is not None:
        _report_plan(client, data["id"], plan_file, console)
    return data


def _answer(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        error = response.json().get("error", {})
        details = error.get("details", {})
        problems = details.get("errors") or details.get("problems") or []
        lines = "".join(
            f"\n  - {p.get('message', p) if isinstance(p, dict) else p}" for p in problems
        )
        raise DemoError(
            f"{what} failed:{lines}"
            if lines
            else f"{what} failed: {error.get('message', response.text)}"
        )
    data: dict[str, Any] = response.json()["data"]
    return data


def _report_plan(client: httpx.Client, task_id: str, plan_file: PlanFile, console: Console) -> None:
    """What the plan became (the conversion's lines), then its files uploaded and the task queued."""
    plan = _answer(client.get(f"/api/v1/tasks/{task_id}"), "reading the task")["plan"]
    imported = plan.get("imported") or {}
    if imported:
        console.print(f"Plan read as the [bold]{imported['format']}[/] format:")
        for line in imported.get("mapped", []):
            console.print(f"  · {line}")
    for line in plan_file.missing:
        console.print(f"  [yellow]![/] {line}")
    if plan_file.media:
        try:
            for line in upload_media(client, task_id, plan_file):
                console.print(f"  · {line}")
        except PlanFileError as exc:
            raise DemoError(str(exc)) from None
        _answer(client.post(f"/api/v1/tasks/{task_id}/queue"), "queuing the task")


def run_demo(options: DemoOptions, console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    try:
        plan_file = read_plan_file(options.plan_file) if options.plan_file else None
    except PlanFileError as exc:
        raise DemoError(str(exc)) from None
    settings = get_settings()
    token = (
        settings.api_token.get_secret_value() if settings.api_token else secrets.token_urlsafe(24)
    )
    port = _free_port()
    log_path = settings.workspace_root / "logs" / "demo-fleet.log"
    fleet = Fleet(
        workers=options.workers,
        port=port,
        log_sink=file_logger(log_path),
        extra_env={"API_TOKEN": token, "HOST": "127.0.0.1"},
    )
    console.print(f"[bold]Starting the fleet[/] (web + {options.workers} workers; log: {log_path})")
    started = time.monotonic()
    fleet.start()
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as client:
            _wait_ready(client, fleet)
            task = _create_task(client, options, plan_file, console)
            console.print(f"Task [bold]{task['id']}[/]: {task['title']}")
            detail = _watch(client, fleet, task["id"], options, console)
    finally:
        fleet.stop()
    return _summary(detail, time.monotonic() - started, console)


def _watch(
    client: httpx.Client, fleet: Fleet, task_id: str, options: DemoOptions, console: Console
) -> dict[str, Any]:
    deadline = time.monotonic() + options.timeout_s
    bars: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for step in PIPELINE_ORDER:
            bars[step.value] = progress.add_task(step.value, total=None, start=False)
        while True:
            if time.monotonic() > deadline:
                raise DemoError(f"the video did not finish within {options.timeout_s:.0f}s")
            if len(fleet.dead_children()) == len(fleet.children):
                raise DemoError("every fleet process exited: see the fleet log")
            detail: dict[str, Any] = client.get(f"/api/v1/tasks/{task_id}").json()["data"]
            _update_bars(progress, bars, detail)
            status = detail["status"]
            if status == "published":
                return detail
            if status in ("failed", "cancelled"):
                raise DemoError(
                    f"the task {status} at step {detail['step']}: "
                    f"{detail.get('error_code')}: {detail.get('error_message')}"
                )
            if status == "awaiting_review":
                if options.review:
                    progress.console.print(
                        f"Waiting for review after [bold]{detail['step']}[/]: "
                        f"POST /api/v1/tasks/{task_id}/approve"
                    )
                    time.sleep(2)
                else:
                    response = client.post(
                        f"/api/v1/tasks/{task_id}/approve", json={"notes": "demo: auto-approved"}
                    )
                    if response.status_code >= 400 and response.status_code != 409:
                        raise DemoError(f"approve failed: {response.text}")
            time.sleep(0.25)


def _update_bars(progress: Progress, bars: dict[str, TaskID], detail: dict[str, Any]) -> None:
    counts: dict[str, list[int]] = {}
    for item in detail.get("items", []):
        done_total = counts.setdefault(item["step"], [0, 0])
        done_total[1] += 1
        done_total[0] += item["status"] == "completed"
    for step_row in detail.get("steps", []):
        bar = bars[step_row["step"]]
        done, total = counts.get(step_row["step"], [0, 0])
        progress.start_task(bar)
        progress.update(
            bar,
            total=max(total, 1),
            completed=done if total else int(step_row["status"] == "completed"),
        )
        if step_row["status"] == "completed":
            progress.stop_task(bar)


def _summary(detail: dict[str, Any], elapsed: float, console: Console) -> dict[str, Any]:
    from app.artifacts.configured import fetch_path
    from app.artifacts.media_probe import media_duration

    final = fetch_path(detail["final_video_key"])
    duration = media_duration(final)
    table = Table(title="Time per step")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    steps = {s["step"]: s for s in detail.get("steps", [])}
    for step in PIPELINE_ORDER:
        row = steps.get(step.value)
        ms = row.get("duration_ms") if row else None
        table.add_row(step.value, f"{ms / 1000:.1f}" if ms is not None else "-")
    console.print(table)
    cost = detail.get("total_cost_usd", 0)
    console.print(f"✅ Final video: [bold]{final}[/]")
    console.print(
        f"   duration {duration:.2f} s · cost ${float(cost):.2f} · total time {elapsed:.1f} s"
    )
    return {
        "final_video": str(final),
        "duration_s": duration,
        "cost_usd": float(cost),
        "elapsed_s": elapsed,
    }
