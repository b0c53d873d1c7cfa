"""The local fleet (``vidgen up``, ``vidgen demo``): one web and N workers as child processes.

The parent resolves the database first (starting the embedded server when ``DATABASE_URL`` is
unset) and hands the URL to every child, so all of them share one server whose lifetime is the
parent's. Children get SIGTERM on stop, SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.core.config import get_settings
from app.core.database import resolve_database_url


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread | None = None


@dataclass
class Fleet:
    workers: int = 3
    port: int | None = None
    log_sink: Callable[[str, str], None] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)

    def _env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env["DATABASE_URL"] = resolve_database_url(get_settings())
        env["WORKER_NAME"] = name
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _spawn(self, name: str, args: list[str]) -> Child:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            env=self._env(name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child = Child(name=name, process=proc)
        if proc.stdout is not None:
            child.pump = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
            child.pump.start()
        self.children.append(child)
        return child

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if self.log_sink is not None:
                self.log_sink(name, line)

    def start(self) -> None:
        web_args = ["web"] + (["--port", str(self.port)] if self.port else [])
        self._spawn("web", web_args)
        for index in range(1, self.workers + 1):
            self._spawn(f"worker-{index}", ["worker"])

    def dead_children(self) -> list[Child]:
        return [c for c in self.children if c.process.poll() is not None]

    def stop(self, grace_s: float = 20.0) -> None:
        for child in self.children:
            if child.process.poll() is None:
                _signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal(child.process, signal.SIGKILL)
                child.process.wait(timeout=5)
        for child in self.children:
            if child.pump is not None:
                child.pump.join(timeout=2)
        self.children.clear()


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def prefixed_printer(stream: IO[str] | None = None) -> Callable[[str, str], None]:
    out = stream or sys.stdout
    lock = threading.Lock()
    width = len("worker-3")

    def sink(name: str, line: str) -> None:
        with lock:
            out.write(f"{name:<{width}} | {line}\n")
            out.flush()

    return sink


def file_logger(path: Path) -> Callable[[str, str], None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a", encoding="utf-8")
    lock = threading.Lock()

    def sink(name: str, line: str) -> None:
        with lock:
            handle.write(f"{name} | {line}\n")
            handle.flush()

    return sink
