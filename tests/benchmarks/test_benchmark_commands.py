"""Each benchmark, started as a user starts it (a subprocess, no vendor keys in its environment,
nothing but loopback), runs to its end in its quickest mode and ends with the ``--json`` line the
README's performance tables are made from. Figures are not judged (they depend on the machine);
that each is present and sane is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

RUNS = {
    "queue.py": (
        ["--quick"],
        {"items_per_s", "raw_a_prime_per_s", "cpu_ms_per_item", "commits_per_item",
         "dispatch_p99_ms", "step_p99_ms"},
    ),
    "api_load.py": (
        ["--quick", "--tasks", "300", "--concurrency", "10", "--endpoints", "tasks_first_page",
         "reviews"],
        {"api_rps", "bare_rps", "api_p99_ms", "reviews_rps", "reviews_p99_ms"},
    ),
    "demo_speed.py": (["--quick"], {"demo_s", "one_encode_s", "video_s"}),
}  # fmt: skip
VENDOR_ENV = ("_API_KEY", "_BASE_URL", "_UPLOAD_URL", "_TOKEN", "_SECRET")


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_runs_without_keys_and_prints_its_figures(
    script: str, db_url: str, tmp_path: Path
) -> None:
    args, keys = RUNS[script]
    env = {k: v for k, v in os.environ.items() if not k.endswith(VENDOR_ENV)}
    env.update({"DATABASE_URL": db_url, "WORKSPACE_ROOT": str(tmp_path / "workspace")})
    run = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / script), *args, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    missing = {k for k in keys if not isinstance(figures.get(k), int | float)}
    assert not missing, f"{script} --json lacks {missing}: {figures}"
    assert all(figures[k] > 0 for k in keys), figures
    if script == "demo_speed.py":
        assert 5.5 < figures["video_s"] < 9, figures  # the quick plan: 2 scenes of 3 s
        assert {"plan", "assembly"} <= set(figures["steps_s"]), figures
    if script == "api_load.py":
        assert figures["errors"] == 0, figures
