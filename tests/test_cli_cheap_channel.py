"""The cheap example channel: `vidgen check` names exactly the keys it still needs, and the cost
estimator prices one 16-scene video at cents (both as real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.core.config import PROJECT_ROOT
from tests.test_cli_check import run_check

CHEAP_YAML = PROJECT_ROOT / "channel_configs" / "cheap-stock.yaml"


def _active_copy(tmp_path: Path) -> Path:
    channels = tmp_path / "channels"
    channels.mkdir()
    text = CHEAP_YAML.read_text().replace("active: false", "active: true")
    (channels / "cheap-stock.yaml").write_text(text)
    return channels


def test_check_names_the_openai_and_pexels_keys_and_nothing_else(
    db_url: str, tmp_path: Path
) -> None:
    channels = _active_copy(tmp_path)
    env = {
        "DATABASE_URL": db_url,
        "API_TOKEN": "a-good-long-api-token-0123456789",
        "WORKSPACE_ROOT": str(tmp_path / "workspace"),
        "CHANNEL_CONFIGS_DIR": str(channels),
    }
    result = run_check(env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("keys: cheap-stock")]
    assert "OPENAI_API_KEY (planner, voice)" in row and "PEXELS_API_KEY (video)" in row
    for other in ("GEMINI", "KIE", "ELEVENLABS", "PIXABAY"):
        assert other not in row

    keyed = run_check({**env, "OPENAI_API_KEY": "sk-x", "PEXELS_API_KEY": "px-y"}, tmp_path)
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr
    assert "sk-x" not in keyed.stdout and "px-y" not in keyed.stdout


def test_the_cost_estimator_prices_a_16_scene_cheap_video_at_cents() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "channels", "cost-estimate", "cheap-stock"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"CHANNEL_CONFIGS_DIR": str(CHEAP_YAML.parent), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    # plan: 2500 x $0.15/M + 6000 x $0.60/M; narration: 16 x 84 characters x $0.015/1k
    assert lines["plan"] == "$0.0040" and lines["videos"] == "$0.0000"
    assert lines["narration"] == "$0.0202"
    assert lines["total"] == "$0.0241 for 16 scenes"
