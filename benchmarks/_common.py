"""Small process helpers several benchmarks share (free ports, stopping a process group, CPU)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def with_database(url: str, name: str) -> str:
    """``url`` naming another database of the same server (query string such as ``?host=`` kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process's whole group (it was started with ``start_new_session=True``)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (utime+stime) of a process and its live descendants, from /proc.

    Counts children too, so a server that forks workers (uvicorn ``--workers``) is measured whole.
    """
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            raw = Path(f"/proc/{current}/stat").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / _CLK_TCK
        pending.extend(int(child) for child in children)
    return total
