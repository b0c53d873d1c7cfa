"""Process-group supervision and bounded output readers behind ``cli_wrapper.run_cli_script``.

A script may print megabytes (an FFmpeg log, a runaway loop), and one line may have no end; what
is kept is bounded either way: the tail of each stream, the last result line and a few events.
A script leads its own session, so its pid is its process group id and one signal reaches every
process it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

EventCallback = Callable[[dict[str, Any]], Awaitable[None] | None]

CHUNK_BYTES = 64 * 1024
MAX_KEPT_EVENTS = 100
EXIT_POLL_SECONDS = 0.05


class Tail:
    """The last ``limit`` bytes written, held as chunks so trimming never copies the whole buffer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._chunks and self._size - len(self._chunks[0]) >= self.limit:
            self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        return b"".join(self._chunks)[-self.limit :].decode("utf-8", errors="replace")


async def drain_into(stream: asyncio.StreamReader, tail: Tail) -> None:
    while chunk := await stream.read(CHUNK_BYTES):
        tail.add(chunk)


class StdoutCollector:
    """Splits stdout into lines as it arrives: event lines go to the callback, the last other
    JSON object is the result. A line longer than ``limit`` is dropped whole, never buffered."""

    def __init__(self, limit: int, on_event: EventCallback | None) -> None:
        self.limit = limit
        self.tail = Tail(limit)
        self.events: list[dict[str, Any]] = []
        self.result: dict[str, Any] | None = None
        self._on_event = on_event
        self._pending = bytearray()
        self._skipping = False

    async def consume(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(CHUNK_BYTES):
            self.tail.add(chunk)
            *complete, rest = chunk.split(b"\n")
            for part in complete:
                if self._skipping:  # this newline ends an over-long line
                    self._skipping = False
                    continue
                self._pending += part
                line = bytes(self._pending)
                self._pending.clear()
                await self._line(line)
            if not self._skipping:
                self._pending += rest
                if len(self._pending) > self.limit:
                    self._pending.clear()
                    self._skipping = True
        if self._pending and not self._skipping:
            await self._line(bytes(self._pending))
        self._pending.clear()

    async def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"{"):
            return
        try:
            obj = json.loads(line)
        except ValueError:  # also UnicodeDecodeError
            return
        if not isinstance(obj, dict):
            return
        if "event" not in obj:
            self.result = obj
            return
        if len(self.events) < MAX_KEPT_EVENTS:
            self.events.append(obj)
        if self._on_event is not None:
            outcome = self._on_event(obj)
            if inspect.isawaitable(outcome):
                await outcome


async def supervise(
    proc: asyncio.subprocess.Process, readers: list[asyncio.Task[None]], *, drain_seconds: float
) -> int:
    """Wait for the script to exit while its output streams in; surface reader errors at once."""
    exited = asyncio.create_task(wait_exit(proc))
    try:
        pending: set[asyncio.Task[Any]] = {exited, *readers}
        while not exited.done():
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not exited:
                    task.result()  # an on_event failure stops everything now
        # Its pipes close with it, unless a child it left behind still holds them.
        _, still_open = await asyncio.wait(readers, timeout=drain_seconds)
        if still_open:
            signal_group(proc.pid, signal.SIGKILL)
            await asyncio.wait(still_open)
        for reader in readers:
            reader.result()
        return exited.result()
    finally:
        exited.cancel()


async def wait_exit(proc: asyncio.subprocess.Process) -> int:
    """The leader's exit status. Polled, because ``proc.wait()`` also waits for the pipes to
    close, and a child the script left behind may hold them open indefinitely."""
    while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only event
        await asyncio.sleep(EXIT_POLL_SECONDS)
    return proc.returncode


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal the script's whole process group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the group, give the leader ``grace`` seconds to exit, then SIGKILL what is left."""
    try:
        if not signal_group(proc.pid, signal.SIGTERM):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wait_exit(proc), timeout=grace)
    finally:  # even when cancelled again while waiting
        signal_group(proc.pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (a killed child its parent has not reaped yet is gone for us)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
