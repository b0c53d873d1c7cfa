"""Helpers for running the CLI scripts as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@dataclass
class ScriptRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The last stdout line, parsed: the script's JSON result."""
        lines = [line for line in self.stdout.strip().splitlines() if line.strip()]
        assert lines, f"no stdout; stderr={self.stderr}"
        return json.loads(lines[-1])


def run_script(
    name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> ScriptRun:
    """Run ``scripts/<name>`` with a clean environment (no inherited provider keys)."""
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    base["SCRIPT_RETRY_BASE_SECONDS"] = "0.05"
    base.update(env or {})
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=timeout,
        check=False,
    )
    return ScriptRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def script() -> Any:
    return run_script
