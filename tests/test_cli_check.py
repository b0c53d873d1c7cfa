"""`vidgen check` as a real subprocess: a broken environment lists every problem at once."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from app.core.config import PROJECT_ROOT

DEMO_YAML = PROJECT_ROOT / "channel_configs" / "demo.yaml"
DB_PASSWORD = "db-pass-Zq81xT4vLm0"
S3_SECRET = "s3-secret-Qw7Hj2Kp9Rt5"
GEMINI_KEY = "gemini-key-Ux3Nb6Vc1Ye8"

VOICE_CHANNEL = """\
slug: voices
name: Voices
active: true
providers:
  planner: template
  image: local
  video: kenburns
  voice: elevenlabs
  sfx: synth
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_check(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A clean environment (nothing inherited but PATH/HOME) and a cwd without a .env file."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "XDG_RUNTIME_DIR") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "check", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def broken_env(tmp_path: Path) -> dict[str, str]:
    channels = tmp_path / "channels"
    channels.mkdir()
    (channels / "voices.yaml").write_text(VOICE_CHANNEL)
    broken = DEMO_YAML.read_text().replace("max_concurrent: 2", "max_concurrent: lots")
    (channels / "broken.yaml").write_text(broken.replace("slug: demo", "slug: broken"))
    blocker = tmp_path / "a-file"
    blocker.write_text("the workspace cannot be created under a file")
    return {
        "ENVIRONMENT": "production",
        "DATABASE_URL": f"postgresql://vidgen:{DB_PASSWORD}@127.0.0.1:{closed_port()}/vidgen",
        "FERNET_KEYS": Fernet.generate_key().decode(),
        "WORKSPACE_ROOT": str(blocker / "workspace"),
        "CHANNEL_CONFIGS_DIR": str(channels),
        "ARTIFACT_STORE": "s3",
        "S3_SECRET_ACCESS_KEY": S3_SECRET,
        "GEMINI_API_KEY": GEMINI_KEY,
        "PORT": "not-a-number",
    }


def test_check_lists_every_problem_of_a_broken_environment(tmp_path: Path) -> None:
    env = broken_env(tmp_path)
    result = run_check(env, tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines() if "  FATAL  " in line}
    assert set(rows) >= {
        "settings: PORT",
        "api token",
        "database",
        "channel config channels/broken.yaml",
        "keys: voices",
        "workspace",
        "artifact store",
    }, out
    assert "API_TOKEN is not set" in rows["api token"]
    assert "127.0.0.1" in rows["database"] and "vidgen:***@" in rows["database"]
    assert "max_concurrent" in out  # the YAML problem names its field
    assert "ELEVENLABS_API_KEY (voice)" in rows["keys: voices"]
    assert "S3_BUCKET" in rows["artifact store"] and "S3_ACCESS_KEY_ID" in rows["artifact store"]
    assert "not checked: the database is unreachable" in out
    assert "fix: run `vidgen migrate`" not in out  # unknown, not claimed behind
    assert out.splitlines()[-1].startswith("❌ 7 fatal")
    for secret in (DB_PASSWORD, S3_SECRET, GEMINI_KEY, env["FERNET_KEYS"]):
        assert secret not in out + result.stderr


def test_check_json_has_the_same_findings(tmp_path: Path) -> None:
    env = broken_env(tmp_path)
    result = run_check(env, tmp_path, "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False
    fatal = {c["name"] for c in data["checks"] if c["status"] == "fatal"}
    assert {"database", "keys: voices", "workspace", "api token"} <= fatal
    assert all(c["fix"] for c in data["checks"] if c["status"] == "fatal")
    assert DB_PASSWORD not in result.stdout and S3_SECRET not in result.stdout


def test_check_passes_on_a_good_environment(db_url: str, tmp_path: Path) -> None:
    channels = tmp_path / "channels"
    channels.mkdir()
    shutil.copy(DEMO_YAML, channels / "demo.yaml")
    env = {
        "DATABASE_URL": db_url,
        "API_TOKEN": "a-good-long-api-token-0123456789",
        "WORKSPACE_ROOT": str(tmp_path / "workspace"),
        "CHANNEL_CONFIGS_DIR": str(channels),
    }
    result = run_check(env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FATAL" not in result.stdout
    for line in ("migrations       ok", "keys: demo", "espeak-ng", "ffmpeg           ok"):
        assert line in result.stdout, result.stdout
    assert "hibari's bundled voice present, offline (used by demo)" in result.stdout
    assert "database at head" in result.stdout
    assert (tmp_path / "workspace").is_dir()
    probes = [p for p in (tmp_path / "workspace").rglob("*check*") if p.is_file()]
    assert probes == []  # the write/read probes were deleted


def test_worker_refuses_to_start_without_a_key_it_needs(db_url: str, tmp_path: Path) -> None:
    channels = tmp_path / "channels"
    channels.mkdir()
    (channels / "voices.yaml").write_text(VOICE_CHANNEL)
    env = {
        "DATABASE_URL": db_url,
        "WORKSPACE_ROOT": str(tmp_path / "workspace"),
        "CHANNEL_CONFIGS_DIR": str(channels),
        "LOG_FORMAT": "console",
    }
    base = {k: os.environ[k] for k in ("PATH", "HOME", "XDG_RUNTIME_DIR") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "keys: voices" in result.stderr and "ELEVENLABS_API_KEY" in result.stderr
    assert "worker.ready" not in result.stdout + result.stderr


ENV_EXAMPLE = PROJECT_ROOT / ".env.example"


def test_env_example_names_every_setting_and_loads(tmp_path: Path) -> None:
    from app.core.config import Settings

    text = ENV_EXAMPLE.read_text()
    named = {line.lstrip("# ").split("=", 1)[0] for line in text.splitlines() if "=" in line}
    missing = {name.upper() for name in Settings.model_fields} - named
    assert not missing, f".env.example lacks {sorted(missing)}"
    # Copied as is to .env, it is a valid configuration (commented lines keep the defaults).
    (tmp_path / ".env").write_text(text)
    channels = tmp_path / "channels"
    channels.mkdir()
    result = run_check(
        {
            "WORKSPACE_ROOT": str(tmp_path / "ws"),
            "CHANNEL_CONFIGS_DIR": str(channels),
            # No embedded server for this one (slow to initialise); unreachable is fine here.
            "DATABASE_URL": f"postgresql://u@127.0.0.1:{closed_port()}/x",
        },
        tmp_path,
        "--json",
    )
    data = json.loads(result.stdout)
    names = [c["name"] for c in data["checks"]]
    assert names[0] == "settings" and data["checks"][0]["status"] == "ok", data["checks"][0]
    assert not any(n.startswith("settings:") for n in names)
