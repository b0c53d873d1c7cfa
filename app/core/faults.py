"""Fault injection for crash drills: hold a named item forever so the drill can SIGKILL its worker.

Set ``VIDGEN_FAULT_PAUSE_AT`` to comma-separated ``step:item`` pairs (``videos:scene-02``); the
first attempt of a matching item writes ``<step>-<item>.json`` (with the worker's pid) into
``VIDGEN_FAULT_PAUSE_DIR`` and then never returns. The crash-safety tests use it to kill a
worker at every step and prove nothing is lost or paid twice; an operator can use it the same way
to rehearse a crash on staging. Off by default, and ``Settings`` refuses it in production.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from app.core.config import get_settings


async def pause_if_asked(step: str, item_key: str, attempt: int, worker: str) -> None:
    settings = get_settings()
    wanted = settings.vidgen_fault_pause_at
    if not wanted or attempt != 1:
        return
    if f"{step}:{item_key}" not in {w.strip() for w in wanted.split(",")}:
        return
    info = {"pid": os.getpid(), "worker": worker, "step": step, "item": item_key}
    await asyncio.to_thread(
        _write_marker, settings.vidgen_fault_pause_dir, f"{step}-{item_key}.json", info
    )
    await asyncio.Event().wait()


def _write_marker(directory: Path, name: str, info: dict[str, object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(info))
