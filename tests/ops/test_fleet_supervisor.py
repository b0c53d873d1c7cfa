"""``vidgen up``'s supervisor with real child processes (tiny Python one-liners standing in for
web and workers): a dead child comes back with backoff and says so; only a signal stops the fleet.

Backoff is checked with an injected clock the test moves by hand, so nothing here asserts on
elapsed time; real waits are for conditions, with generous timeouts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.core.config import PROJECT_ROOT
from app.core.time import Backoff
from app.ops.fleet import Child, ChildSpec, Fleet, RestartPolicy

SLEEPER = (sys.executable, "-c", "import time; print('up', flush=True); time.sleep(3600)")
CRASHER = (sys.executable, "-c", "raise SystemExit(3)")
UNUSED_DB = "postgresql://nobody@127.0.0.1:1/unused"  # children here never connect


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fleets() -> Iterator[list[Fleet]]:
    made: list[Fleet] = []
    yield made
    for fleet in made:
        fleet.stop(grace_s=2)


def make_fleet(fleets: list[Fleet], specs: list[ChildSpec], **kwargs: Any) -> Fleet:
    fleet = Fleet(specs=specs, database_url=UNUSED_DB, **kwargs)
    fleets.append(fleet)
    fleet.start()
    return fleet


def child(fleet: Fleet, name: str) -> Child:
    return next(c for c in fleet.children if c.name == name)


def respawned(fleet: Fleet, name: str, old_pid: int) -> bool:
    proc = child(fleet, name).process
    return proc.pid != old_pid and proc.poll() is None


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == name]


def test_a_killed_worker_and_web_are_restarted_while_the_rest_keep_running(
    fleets: list[Fleet],
) -> None:
    specs = [
        ChildSpec("web", SLEEPER),
        ChildSpec("worker-1", SLEEPER),
        ChildSpec("worker-2", SLEEPER),
    ]
    with capture_logs() as logs:
        fleet = make_fleet(
            fleets, specs, policy=RestartPolicy(backoff=Backoff(base_s=0.05, jitter=False))
        )
        stop = threading.Event()
        supervisor = threading.Thread(target=fleet.supervise, args=(stop, 0.02), daemon=True)
        supervisor.start()
        try:
            sibling = child(fleet, "worker-2").process.pid
            for name in ("worker-1", "web"):
                old = child(fleet, name).process.pid
                os.kill(old, signal.SIGKILL)
                wait_for(partial(respawned, fleet, name, old), f"{name} to be running again")
        finally:
            stop.set()
            supervisor.join(timeout=30)

    assert child(fleet, "worker-2").process.pid == sibling  # the fleet did not stop
    assert child(fleet, "worker-2").process.poll() is None
    restarting = events(logs, "fleet.child_restarting")
    assert [(e["name"], e["exit_code"], e["signal"], e["restarts"]) for e in restarting] == [
        ("worker-1", -9, "SIGKILL", 1),
        ("web", -9, "SIGKILL", 1),
    ]
    assert all(e["delay_s"] == 0.05 and e["log_level"] == "warning" for e in restarting)
    assert [e["name"] for e in events(logs, "fleet.child_restarted")] == ["worker-1", "web"]


def _wait_death_noticed(fleet: Fleet, target: Child) -> None:
    def noticed() -> bool:
        fleet.poll()
        return target.restart_at is not None

    wait_for(noticed, f"{target.name}'s death to be noticed")


def test_a_child_that_keeps_crashing_backs_off_to_the_cap_and_is_reported_once(
    fleets: list[Fleet],
) -> None:
    clock = FakeClock()
    policy = RestartPolicy(
        backoff=Backoff(base_s=1, cap_s=8, jitter=False), reset_after_s=60, crash_loop_after=4
    )
    with capture_logs() as logs:
        fleet = make_fleet(fleets, [ChildSpec("worker-1", CRASHER)], policy=policy, clock=clock)
        crasher = child(fleet, "worker-1")
        delays = []
        for _ in range(6):
            _wait_death_noticed(fleet, crasher)
            assert crasher.restart_at is not None
            delays.append(crasher.restart_at - clock.now)
            dead_pid = crasher.process.pid
            for _ in range(50):  # polled as fast as you like: nothing respawns before it is due
                fleet.poll()
            assert crasher.process.pid == dead_pid
            clock.now = crasher.restart_at
            fleet.poll()
            assert crasher.process.pid != dead_pid

    assert delays == [1, 2, 4, 8, 8, 8]
    restarting = events(logs, "fleet.child_restarting")
    assert [(e["exit_code"], e["restarts"], e["streak"]) for e in restarting] == [
        (3, n, n) for n in range(1, 7)
    ]
    loops = events(logs, "fleet.child_crash_loop")
    assert len(loops) == 1
    assert loops[0]["name"] == "worker-1"
    assert loops[0]["streak"] == 4
    assert loops[0]["log_level"] == "error"
    assert "still retrying" in loops[0]["hint"]


def test_backoff_resets_once_the_child_has_stayed_up_a_while(fleets: list[Fleet]) -> None:
    clock = FakeClock()
    policy = RestartPolicy(backoff=Backoff(base_s=1, cap_s=8, jitter=False), reset_after_s=10)
    with capture_logs() as logs:
        fleet = make_fleet(fleets, [ChildSpec("worker-1", SLEEPER)], policy=policy, clock=clock)
        sleeper = child(fleet, "worker-1")
        for up_for in (0.0, 0.0, 10.0):
            clock.now += up_for
            os.kill(sleeper.process.pid, signal.SIGKILL)
            _wait_death_noticed(fleet, sleeper)
            assert sleeper.restart_at is not None
            clock.now = sleeper.restart_at
            fleet.poll()
            assert sleeper.process.poll() is None

    restarting = events(logs, "fleet.child_restarting")
    assert [(e["delay_s"], e["streak"], e["restarts"]) for e in restarting] == [
        (1, 1, 1),
        (2, 2, 2),
        (1, 1, 3),  # stayed up reset_after_s: streak and delay start over, the count does not
    ]
    assert not events(logs, "fleet.child_crash_loop")


def _line_starting(text: str, prefix: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(prefix)), prefix)


DRIVER = textwrap.dedent(
    """
    import sys
    from app.core.logging import configure_logging
    from app.ops.fleet import ChildSpec, Fleet, serve_forever

    configure_logging("INFO", "json")
    polite = (sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(3600)")
    stubborn = (sys.executable, "-c", (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(3600)"
    ))
    def sink(name, line):
        print(f"{name} | {line}", flush=True)
    fleet = Fleet(
        specs=[ChildSpec("polite", polite), ChildSpec("stubborn", stubborn)],
        database_url=sys.argv[1], log_sink=sink,
    )
    fleet.start()
    print("pids", *[c.process.pid for c in fleet.children], flush=True)
    print("stopped-by", serve_forever(fleet, grace_s=1.0, poll_s=0.05), flush=True)
    """
)


def test_sigterm_stops_the_whole_fleet_term_then_kill_after_the_grace(tmp_path: Path) -> None:
    # The driver writes to files, not pipes: a pipe nobody drains can block the driver before it
    # is ready, and a timeout then says nothing about why. Files never block and are shown on failure.
    out_path, err_path = tmp_path / "driver.out", tmp_path / "driver.err"
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER, UNUSED_DB],
            cwd=PROJECT_ROOT,
            stdout=out_file,
            stderr=err_file,
            text=True,
        )
    pids: list[int] = []

    def output() -> str:
        return f"stdout: {out_path.read_text()!r}\nstderr: {err_path.read_text()!r}"

    def ready() -> bool:
        assert driver.poll() is None, f"driver exited early ({driver.returncode}): {output()}"
        lines = set(out_path.read_text().splitlines())
        return {"polite | ready", "stubborn | ready"} <= lines

    try:
        try:
            wait_for(ready, "both children to be ready", timeout_s=120)
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}\n{output()}") from None
        pids = [int(p) for p in _line_starting(out_path.read_text(), "pids ").split()[1:]]
        driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
        pids = pids or [int(p) for p in _line_starting(out_path.read_text(), "pids ").split()[1:]]
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    out, err = out_path.read_text(), err_path.read_text()

    assert driver.returncode == 0, err
    assert "stopped-by SIGTERM" in out
    assert len(pids) == 2
    wait_for(lambda: not any(alive(p) for p in pids), "every child to be gone")
    assert '"event": "fleet.stopping"' in err
    assert '"event": "fleet.child_killed"' in err and '"name": "stubborn"' in err
    assert '"name": "polite"' not in err  # it went on SIGTERM, nobody had to kill it
