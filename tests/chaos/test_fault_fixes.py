"""Regression tests for what the chaos campaign found, each at the smallest scale that shows it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.cli_wrapper import is_retryable
from app.core.config import get_settings
from app.main import create_app
from tests.fakes.catbox import FakeCatbox
from tests.fakes.elevenlabs import ElevenLabsFake
from tests.fakes.elevenlabs import create_app as elevenlabs_app
from tests.fakes.faults import FaultInjector, FaultRule
from tests.fakes.kie import API_KEY, FakeKie
from tests.fakes.server import serve
from tests.routes.conftest import app_settings, assert_error, make_client
from tests.scripts.conftest import run_script
from tests.scripts.video_checks import make_clip, make_image


def test_a_corrupt_kling_download_is_fetched_again_without_a_second_task(tmp_path: Path) -> None:
    """The file host answered 200 with an HTML page instead of the clip (once): the script
    downloads it again instead of failing an item whose paid part is already done."""
    kie = FakeKie(video=make_clip(tmp_path / "kling.mp4", seconds=2, size="320x180", fps=24, faststart=False))  # fmt: skip
    faults = FaultInjector(rate=1.0, rules=[FaultRule("/files/", ("corrupt",))], limit=1)
    with serve(faults.wrap(kie.app())) as kie_url, serve(FakeCatbox().app()) as catbox_url:
        env = {
            "KIE_API_KEY": API_KEY,
            "KIE_BASE_URL": f"{kie_url}/api/v1",
            "CATBOX_UPLOAD_URL": f"{catbox_url}/user/api.php",
        }
        out = tmp_path / "clip.mp4"
        run = run_script(
            "generate_video.py",
            "--image", str(make_image(tmp_path / "scene.png", (400, 260))),
            "--prompt", "slow push in", "--output", str(out), "--provider", "kling",
            "--duration", "1", "--size", "320x180", "--poll-interval", "0.05",
            env=env, timeout=120,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert faults.injected["corrupt"] == 1
    assert kie.downloads == 2  # the corrupt one, then the good one
    assert kie.create_calls == 1 and len(kie.tasks) == 1  # paid once
    assert json.loads(run.stdout.strip().splitlines()[-1])["remote_ids"]["kling_task_id"]
    assert out.stat().st_size > 1000


def test_a_corrupt_elevenlabs_answer_is_asked_again(tmp_path: Path) -> None:
    """ElevenLabs (or a proxy in front of it) answered 200 with a page, not audio: the script
    asks again instead of failing the item on an FFmpeg error."""
    fake = ElevenLabsFake()
    app, _ = elevenlabs_app(fake)
    faults = FaultInjector(rate=1.0, rules=[FaultRule("/v1/", ("corrupt",))], limit=1)
    with serve(faults.wrap(app)) as url:
        out = tmp_path / "line.wav"
        run = run_script(
            "generate_audio.py", "--text", "The harbour wakes up.", "--output", str(out),
            "--provider", "elevenlabs",
            env={"ELEVENLABS_API_KEY": fake.api_key, "ELEVENLABS_BASE_URL": url}, timeout=120,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert faults.injected["corrupt"] == 1
    assert len(fake.calls("/v1/text-to-speech")) == 2
    assert out.stat().st_size > 1000


def test_an_unanswered_kling_create_is_not_retried_by_the_worker(tmp_path: Path) -> None:
    """createTask went out and no answer came back in time: KIE may have started (and billed)
    a task. The script refuses to send it again, and the worker must not either."""
    kie = FakeKie(video=make_clip(tmp_path / "kling.mp4", seconds=1, size="320x180", fps=24, faststart=False))  # fmt: skip
    faults = FaultInjector(
        rate=1.0, rules=[FaultRule("/api/v1/jobs/createTask", ("timeout",))], limit=1, stall_s=5
    )
    with serve(faults.wrap(kie.app())) as kie_url, serve(FakeCatbox().app()) as catbox_url:
        env = {
            "KIE_API_KEY": API_KEY,
            "KIE_BASE_URL": f"{kie_url}/api/v1",
            "CATBOX_UPLOAD_URL": f"{catbox_url}/user/api.php",
            "SCRIPT_HTTP_TIMEOUT_SECONDS": "1",
        }
        run = run_script(
            "generate_video.py",
            "--image", str(make_image(tmp_path / "scene.png", (400, 260))),
            "--prompt", "slow push in", "--output", str(tmp_path / "clip.mp4"),
            "--provider", "kling", "--duration", "1", "--size", "320x180",
            env=env, timeout=120,
        )  # fmt: skip
    assert run.returncode == 1
    message = run.stderr.strip().splitlines()[-1].removeprefix("❌ ")
    assert "may have been created" in message
    assert faults.injected["timeout"] == 1
    assert is_retryable(1, message) is False


async def test_a_database_that_is_down_gives_503_not_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While PostgreSQL restarts its socket is missing (asyncpg raises a bare OSError) or it
    refuses with "shutting down": clients get a 503 to retry, not an unhandled 500."""
    from app.core import database

    gone = f"postgresql+asyncpg://postgres@/vidgen?host={tmp_path / 'no-socket-here'}"
    monkeypatch.setenv("DATABASE_URL", gone)
    get_settings.cache_clear()
    database.init_engine(application_name="test-down", settings=get_settings())
    try:
        async with make_client(create_app(app_settings())) as client:
            response = await client.get("/api/v1/tasks")
    finally:
        await database.dispose_engine()
        get_settings.cache_clear()
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"] == "2"


PARENT = """
import asyncio, sys
from pathlib import Path
from app.core.cli_wrapper import run_cli_script
asyncio.run(run_cli_script("sleeper.py", [], timeout=60, scripts_dir=Path(sys.argv[1])))
"""


def test_a_script_dies_with_its_sigkilled_worker(tmp_path: Path) -> None:
    """A worker killed with SIGKILL (OOM killer, kill -9) takes its running script with it, so
    no orphan finishes a paid call while another worker runs the item again."""
    (tmp_path / "sleeper.py").write_text(
        "import os, time, pathlib\n"
        f"pathlib.Path({str(tmp_path / 'pid')!r}).write_text(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)])
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the script outlived its SIGKILLed worker"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has already died
