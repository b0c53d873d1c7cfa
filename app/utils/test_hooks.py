"""A pause point for crash tests: hold a named item forever so a test can SIGKILL its worker.

Active only when ``VIDGEN_TEST_PAUSE_AT`` is set (never in production). It lists
``step:item`` pairs, comma-separated; the first attempt of a matching item writes a marker file
(with the worker's pid) into ``VIDGEN_TEST_PAUSE_DIR`` and then never returns.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path


async def pause_if_asked(step: str, item_key: str, attempt: int, worker: str) -> None:
    wanted = os.environ.get("VIDGEN_TEST_PAUSE_AT")
    if not wanted or attempt != 1:
        return
    if f"{step}:{item_key}" not in {w.strip() for w in wanted.split(",")}:
        return
    info = {"pid": os.getpid(), "worker": worker, "step": step, "item": item_key}
    await asyncio.to_thread(_write_marker, f"{step}-{item_key}.json", info)
    await asyncio.Event().wait()


def _write_marker(name: str, info: dict[str, object]) -> None:
    directory = Path(os.environ.get("VIDGEN_TEST_PAUSE_DIR", "."))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(info))
