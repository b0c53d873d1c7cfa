"""The local fleet (``vidgen up``, ``vidgen demo``): one web and N workers as child processes.

The parent resolves the database first (starting the embedded server when ``DATABASE_URL`` is
unset) and hands the URL to every child, so all of them share one server whose lifetime is the
parent's.

Supervision (``serve_forever``, used by ``vidgen up``): a child that dies (crash, OOM, ``kill -9``)
is started again, the web as well as the workers, while the rest keep running. Restarts back off
exponentially (``RestartPolicy``: 1 s, 2 s, 4 s ... capped at 30 s), so a child that dies right
after starting costs one spawn per cap interval instead of a busy loop; the streak resets once a
child has stayed up ``reset_after_s`` (60 s). Every restart is a ``fleet.child_restarting``
warning (name, exit code, restart count, delay); after ``crash_loop_after`` (5) fast crashes in a
row a ``fleet.child_crash_loop`` error says so once per streak. We keep retrying at the cap rather
than give up: the usual causes (database restarting, a port still held by a leftover, a provider
key fixed in ``.env`` later) clear up by themselves, and a fleet that silently lost a worker is
worse than one that says, every 30 s, that it cannot start it.

Only SIGINT (Ctrl-C) or SIGTERM stops the fleet: children get SIGTERM, then SIGKILL after a
grace period. ``vidgen demo`` uses ``start``/``stop`` without supervision: it wants to fail fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from app.core.config import get_settings
from app.core.database import resolve_database_url
from app.core.logging import get_logger
from app.core.time import Backoff

log = get_logger("app.ops.fleet")


@dataclass(frozen=True)
class ChildSpec:
    """How to start one named child, kept so a dead child is started again exactly the same way."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff for restarts; ``streak`` counts deaths in a row that came before ``reset_after_s``."""

    # Exact waits (no jitter): one supervisor restarts its own children, nothing to spread out.
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=30.0, jitter=False))
    reset_after_s: float = 60.0
    crash_loop_after: int = 5


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread | None = None
    spec: ChildSpec | None = None
    started_at: float = 0.0
    restarts: int = 0
    streak: int = 0
    restart_at: float | None = None  # set while a dead child waits out its backoff


def cli_argv(*args: str) -> tuple[str, ...]:
    """A ``vidgen`` subcommand run with this interpreter (the venv's, whatever PATH says)."""
    return (sys.executable, "-m", "app.cli", *args)


@dataclass
class Fleet:
    workers: int = 3
    port: int | None = None
    log_sink: Callable[[str, str], None] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    specs: list[ChildSpec] | None = None  # default: web + ``workers`` workers
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    database_url: str | None = None  # default: resolved (embedded server started) at start()
    clock: Callable[[], float] = time.monotonic  # injectable so tests drive backoff without sleeps

    def default_specs(self) -> list[ChildSpec]:
        web_args = ["web"] + (["--port", str(self.port)] if self.port else [])
        specs = [ChildSpec("web", cli_argv(*web_args))]
        specs += [ChildSpec(f"worker-{i}", cli_argv("worker")) for i in range(1, self.workers + 1)]
        return specs

    def _env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        if self.database_url is None:
            self.database_url = resolve_database_url(get_settings())
        env["DATABASE_URL"] = self.database_url
        env["WORKER_NAME"] = name
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _popen(self, spec: ChildSpec) -> tuple[subprocess.Popen[bytes], threading.Thread | None]:
        proc = subprocess.Popen(
            list(spec.argv),
            env=self._env(spec.name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: Ctrl-C reaches the parent only, we stop them
        )
        pump = None
        if proc.stdout is not None:
            pump = threading.Thread(target=self._pump, args=(spec.name, proc.stdout), daemon=True)
            pump.start()
        return proc, pump

    def _spawn(self, spec: ChildSpec) -> Child:
        proc, pump = self._popen(spec)
        child = Child(name=spec.name, process=proc, pump=pump, spec=spec, started_at=self.clock())
        self.children.append(child)
        return child

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if self.log_sink is not None:
                self.log_sink(name, line)

    def start(self) -> None:
        for spec in self.specs if self.specs is not None else self.default_specs():
            self._spawn(spec)

    def dead_children(self) -> list[Child]:
        return [c for c in self.children if c.process.poll() is not None]

    def poll(self) -> None:
        """One supervision step: notice deaths, schedule their restart, start those now due.

        Never blocks or sleeps, so the caller decides the pace; a child waiting out its backoff
        is only looked at again, not spawned, until ``restart_at`` has passed.
        """
        now = self.clock()
        for child in self.children:
            if child.restart_at is None:
                code = child.process.poll()
                if code is None or child.spec is None:
                    continue
                self._schedule_restart(child, code, now)
            if child.restart_at is not None and now >= child.restart_at:
                self._respawn(child, now)

    def _schedule_restart(self, child: Child, code: int, now: float) -> None:
        uptime = now - child.started_at
        if uptime >= self.policy.reset_after_s:
            child.streak = 0
        child.streak += 1
        child.restarts += 1
        delay = self.policy.backoff.delay(child.streak)
        child.restart_at = now + delay
        _signal(child.process, signal.SIGKILL)  # helpers left in its group would hold port/pipe
        log.warning(
            "fleet.child_restarting",
            name=child.name,
            exit_code=code,
            signal=_signal_name(code),
            restarts=child.restarts,
            streak=child.streak,
            uptime_s=round(uptime, 3),
            delay_s=delay,
        )
        if child.streak == self.policy.crash_loop_after:
            log.error(
                "fleet.child_crash_loop",
                name=child.name,
                exit_code=code,
                streak=child.streak,
                delay_s=self.policy.backoff.cap_s,
                hint=(
                    f"{child.name} died {child.streak} times in a row within "
                    f"{self.policy.reset_after_s:g}s of starting; still retrying (at most every "
                    f"{self.policy.backoff.cap_s:g}s): read its last lines above"
                ),
            )

    def _respawn(self, child: Child, now: float) -> None:
        assert child.spec is not None  # only children with a spec are ever scheduled
        child.process, child.pump = self._popen(child.spec)
        child.started_at = now
        child.restart_at = None
        log.info(
            "fleet.child_restarted", name=child.name, pid=child.process.pid, restarts=child.restarts
        )

    def supervise(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Keep the fleet whole until ``stop`` is set (by a signal handler or a test)."""
        while not stop.is_set():
            self.poll()
            stop.wait(poll_s)

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
                log.warning("fleet.child_killed", name=child.name, grace_s=grace_s)
                _signal(child.process, signal.SIGKILL)
                child.process.wait(timeout=5)
        for child in self.children:
            if child.pump is not None:
                child.pump.join(timeout=2)
        self.children.clear()


def serve_forever(fleet: Fleet, *, grace_s: float = 20.0, poll_s: float = 0.5) -> str:
    """Supervise ``fleet`` until SIGINT or SIGTERM, then stop it; return the signal's name.

    Both signals only set an event (no ``KeyboardInterrupt`` mid-restart), so the fleet is never
    left half-spawned, and a ``kill`` from systemd or a terminal gets the same orderly stop.
    """
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    with _handlers((signal.SIGINT, signal.SIGTERM), on_signal):
        try:
            fleet.supervise(stop, poll_s=poll_s)
        finally:
            log.info("fleet.stopping", signal=received[0] if received else None, grace_s=grace_s)
            fleet.stop(grace_s=grace_s)
    return received[0] if received else ""


@contextmanager
def _handlers(
    signals: tuple[signal.Signals, ...], handler: Callable[[int, FrameType | None], None]
) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already (or its pid was reused by someone we may not signal)


def _signal_name(code: int) -> str | None:
    """Popen reports death by signal N as exit code -N; name it so ``-9`` reads as SIGKILL."""
    if code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return None


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
