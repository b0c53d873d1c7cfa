"""The embedded PostgreSQL stops once its last *live* user leaves, even after a ``kill -9``.

The wheel keeps the pids of the processes using a data directory in ``.handle_pids.json`` and
stops the server when the exiting process is the only one left there; a ``kill -9``ed process
never removes itself. Real server, real processes, a data directory of the test's own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from app.core.database import start_embedded_postgres

    start_embedded_postgres(Path(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.read()  # leave normally (atexit runs) when the test closes our stdin
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_exit(pid: int, timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Holders:
    """Processes that each asked for the server on ``data_dir``; cleaned up whatever happens."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.procs: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(self.data_dir)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", "the holder could not start the server"
        return proc

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def handle_pids(self) -> list[int]:
        path = self.data_dir / ".handle_pids.json"
        return list(json.loads(path.read_text())) if path.exists() else []

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            pid = self.postmaster_pid()
            if alive(pid):
                os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
                if not wait_for_exit(pid, 30):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[Holders]:
    made = Holders(tmp_path / "pg")
    yield made
    made.close()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=90) == 0


def sigkill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("when", ["killed_while_another_uses_it", "killed_as_the_last_user"])
def test_server_stops_when_the_last_live_user_leaves_after_a_kill_9(
    holders: Holders, when: str
) -> None:
    first = holders.start()
    postmaster = holders.postmaster_pid()
    if when == "killed_while_another_uses_it":
        second = holders.start()
        assert {first.pid, second.pid} <= set(holders.handle_pids())
        sigkill(first)
    else:
        sigkill(first)
        assert alive(postmaster)  # nobody left to stop it: it is still up, as the wheel leaves it
        second = holders.start()
        assert holders.postmaster_pid() == postmaster  # joined, not restarted
    release(second)

    assert wait_for_exit(postmaster), "the server outlived its last live user"
    assert holders.handle_pids() == []
