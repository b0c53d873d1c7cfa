"""run_cli_script against real child processes: small throwaway scripts and the real ones."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.core import cli_wrapper
from app.core.cli_wrapper import (
    SCRIPTS_DIR,
    CLIScriptError,
    CLIScriptOutputError,
    CLIScriptTimeoutError,
    InvalidScriptError,
    build_script_env,
    is_retryable,
    run_cli_script,
)

pytestmark = pytest.mark.timeout(120)

# Wait until a file exists; the test creates it from on_event, so the script can only get
# past this point if the event reached the caller while the script was still running.
_WAIT_FOR_GO = """
def wait_for(path):
    for _ in range(12000):
        if os.path.exists(path):
            return
        time.sleep(0.01)
    print("❌ never released", file=sys.stderr)
    sys.exit(1)
"""

SCRIPTS: dict[str, str] = {
    "ok.py": """
import json, sys
print("progress: working")
print(json.dumps({"event": "progress", "pct": 50}))
print(json.dumps({"ok": True, "outputs": {"image": sys.argv[2]}, "provider": "local",
                  "model": "procedural-v1", "duration": 1.5, "cost_usd": 0.039,
                  "remote_ids": {"task": 42}, "width": 1920}))
""",
    "fail.py": """
import sys
print("some progress on stdout")
print("Traceback-looking noise", file=sys.stderr)
print("❌ " + sys.argv[1], file=sys.stderr)
sys.exit(1)
""",
    "usage.py": """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--output", required=True)
p.parse_args()
""",
    "noresult.py": """
print("done, but no JSON")
""",
    "sleeper.py": """
import json, os, signal, subprocess, sys, time
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the child through exec
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(json.dumps({"event": "started", "pid": os.getpid(), "child": child.pid}), flush=True)
time.sleep(600)
""",
    "leftover.py": """
import json, os, subprocess, sys
# The child inherits stdout and outlives the script: the pipe stays open after it exits.
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(json.dumps({"event": "started", "pid": os.getpid(), "child": child.pid}), flush=True)
print(json.dumps({"ok": True, "outputs": {}, "provider": "local"}), flush=True)
""",
    "waiter.py": "import json, os, sys, time\n"
    + _WAIT_FOR_GO
    + """
print(json.dumps({"event": "remote_task", "task_id": "kling-123", "pid": os.getpid()}), flush=True)
wait_for(sys.argv[1])
print(json.dumps({"ok": True, "outputs": {"video": "v.mp4"}, "provider": "kling",
                  "remote_ids": {"task_id": "kling-123"}, "cost_usd": 0.28}))
""",
    "envcheck.py": "import hashlib, json, os, sys, time\n"
    + _WAIT_FOR_GO
    + """
print(json.dumps({"event": "ready", "pid": os.getpid()}), flush=True)
wait_for(sys.argv[1])
secret = os.environ.get("GEMINI_API_KEY", "")
print(json.dumps({"ok": True, "outputs": {}, "provider": "gemini",
                  "key_sha256": hashlib.sha256(secret.encode()).hexdigest(),
                  "env_names": sorted(os.environ)}))
""",
    "leaky.py": """
import os, sys
print("❌ auth failed for key " + os.environ["GEMINI_API_KEY"] + " at HTTP 401", file=sys.stderr)
sys.exit(1)
""",
    "huge.py": """
import json, sys
out, err = sys.stdout.buffer, sys.stderr.buffer
for _ in range(4 * 1024):
    out.write(b"x" * 1023 + b"\\n")                  # 4 MiB of ordinary lines
out.write(b'{"event": "giant", "pad": "' + b"y" * (3 * 1024 * 1024) + b'"}\\n')  # one 3 MiB line
err.write(b"e" * (2 * 1024 * 1024) + b"\\nlast stderr line\\n")
if sys.argv[1] == "fail":
    out.write(b"END-OF-STDOUT\\n")
    err.write("❌ ran out of patience\\n".encode())
    sys.exit(1)
out.write(json.dumps({"ok": True, "outputs": {"log": "big"}, "provider": "local"}).encode() + b"\\n")
""",
}


@pytest.fixture
def scripts_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "scripts"
    directory.mkdir()
    for name, body in SCRIPTS.items():
        (directory / name).write_text(body.lstrip(), encoding="utf-8")
    return directory


def _gone(pid: int) -> bool:
    """No such process, or only its zombie left (dead, waiting for whoever reaps orphans)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status


def _wait_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.02)
    return _gone(pid)


async def test_success_returns_typed_result_and_events(scripts_dir: Path) -> None:
    events: list[dict[str, Any]] = []
    result = await run_cli_script(
        "ok.py",
        ["--output", "/tmp/x.png"],
        timeout=60,
        on_event=events.append,
        scripts_dir=scripts_dir,
    )
    assert result.script == "ok.py"
    assert result.outputs == {"image": "/tmp/x.png"}
    assert result.provider == "local"
    assert result.model == "procedural-v1"
    assert result.duration == 1.5
    assert result.cost_usd == pytest.approx(0.039)
    assert result.remote_ids == {"task": "42"}  # lenient: an int id is kept, as a string
    assert result.raw["width"] == 1920
    assert events == [{"event": "progress", "pct": 50}]
    assert result.events == events


async def test_failure_raises_with_the_cross_line(scripts_dir: Path) -> None:
    msg = "generate image: HTTP 401: API key not valid (check the API key)"
    with pytest.raises(CLIScriptError) as info:
        await run_cli_script("fail.py", [msg], timeout=60, scripts_dir=scripts_dir)
    exc = info.value
    assert type(exc) is CLIScriptError
    assert exc.exit_code == 1
    assert exc.message == msg
    assert str(exc) == f"fail.py failed (exit 1): {msg}"
    assert "Traceback-looking noise" in exc.stderr
    assert "some progress on stdout" in exc.stdout
    assert exc.retryable is False


@pytest.mark.parametrize(
    ("message", "retryable"),
    [
        ("create task: HTTP 429: rate limited", True),
        ("generate image: HTTP 503: overloaded", True),
        ("download: timed out after 3 attempts", True),
        ("upload: network error after 3 attempts: connection refused", True),
        ("generate image: HTTP 401: bad key (check the API key)", False),
        ("text to speech: HTTP 402: quota (the account is out of credits)", False),
        ("generate image: HTTP 400: prompt blocked by safety filter", False),
        ("GEMINI_API_KEY is not set: the gemini provider needs it", False),
        ("character image not found: /w/a.png", False),
    ],
)
async def test_retryable_hint_follows_the_message(
    scripts_dir: Path, message: str, retryable: bool
) -> None:
    with pytest.raises(CLIScriptError) as info:
        await run_cli_script("fail.py", [message], timeout=60, scripts_dir=scripts_dir)
    assert info.value.retryable is retryable


def test_classifier_edges() -> None:
    assert is_retryable(2, "HTTP 503") is False  # bad usage never fixes itself
    assert is_retryable(-9, "") is True  # killed from outside (OOM killer)
    assert is_retryable(1, "HTTP 500 then HTTP 403") is False  # the last status decides
    assert is_retryable(1, "manifest scene 3: field 'narration' is required") is False


async def test_bad_usage_is_exit_2_with_argparse_message(scripts_dir: Path) -> None:
    with pytest.raises(CLIScriptError) as info:
        await run_cli_script("usage.py", [], timeout=60, scripts_dir=scripts_dir)
    assert info.value.exit_code == 2
    assert "the following arguments are required: --output" in info.value.message
    assert info.value.retryable is False


async def test_exit_0_without_result_line_is_an_output_error(scripts_dir: Path) -> None:
    with pytest.raises(CLIScriptOutputError) as info:
        await run_cli_script("noresult.py", [], timeout=60, scripts_dir=scripts_dir)
    assert info.value.exit_code == 0
    assert "no JSON result line" in info.value.message
    assert info.value.retryable is False


@pytest.mark.parametrize(
    "name",
    ["../ok.py", "/tmp/ok.py", "sub/ok.py", "ok.sh", "ok", "_private.py", "missing.py", "ok.py\0"],
)
async def test_script_names_are_refused(scripts_dir: Path, name: str) -> None:
    with pytest.raises(InvalidScriptError):
        await run_cli_script(name, [], timeout=60, scripts_dir=scripts_dir)


async def test_symlink_out_of_scripts_dir_is_refused(scripts_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('{}')\n")
    (scripts_dir / "link.py").symlink_to(outside)
    with pytest.raises(InvalidScriptError):
        await run_cli_script("link.py", [], timeout=60, scripts_dir=scripts_dir)


async def test_timeout_kills_the_whole_process_group(scripts_dir: Path) -> None:
    """Leader and child both ignore SIGTERM, so only the SIGKILL after the grace ends them."""
    seen: list[dict[str, Any]] = []
    with pytest.raises(CLIScriptTimeoutError) as info:
        await run_cli_script(
            "sleeper.py",
            ["--ignore-term"],
            timeout=4,
            kill_grace=0.3,
            on_event=seen.append,
            scripts_dir=scripts_dir,
        )
    assert seen, "the script never reported its child"
    assert info.value.retryable is True
    assert isinstance(info.value, CLIScriptError)
    assert "timed out after 4s" in str(info.value)
    assert _wait_gone(seen[0]["pid"]), "script still running"
    assert _wait_gone(seen[0]["child"]), "child of the script survived the timeout"


async def test_cancellation_kills_the_whole_process_group(scripts_dir: Path) -> None:
    started = asyncio.Event()
    seen: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        seen.append(event)
        started.set()

    task = asyncio.create_task(
        run_cli_script("sleeper.py", [], timeout=300, on_event=on_event, scripts_dir=scripts_dir)
    )
    await asyncio.wait_for(started.wait(), 60)
    assert not _gone(seen[0]["child"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _wait_gone(seen[0]["pid"])
    assert _wait_gone(seen[0]["child"])


async def test_event_reaches_caller_before_the_script_exits(
    scripts_dir: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    recorded: list[str] = []

    async def store_task_id(event: dict[str, Any]) -> None:
        assert event["event"] == "remote_task"
        assert Path(f"/proc/{event['pid']}").exists()  # the script is still alive
        recorded.append(event["task_id"])
        await asyncio.to_thread(go.touch)  # only now may the script finish

    result = await run_cli_script(
        "waiter.py", [str(go)], timeout=120, on_event=store_task_id, scripts_dir=scripts_dir
    )
    assert recorded == ["kling-123"]
    assert result.remote_ids == {"task_id": "kling-123"}
    assert result.cost_usd == pytest.approx(0.28)


async def test_failing_event_handler_kills_the_script(scripts_dir: Path, tmp_path: Path) -> None:
    pids: list[int] = []

    async def broken(event: dict[str, Any]) -> None:
        pids.append(event["pid"])
        raise RuntimeError("database unavailable")

    with pytest.raises(RuntimeError, match="database unavailable"):
        await run_cli_script(
            "waiter.py", [str(tmp_path / "never")], timeout=120, on_event=broken,
            kill_grace=1, scripts_dir=scripts_dir,
        )  # fmt: skip
    assert pids and _wait_gone(pids[0])


async def test_children_left_behind_are_killed_after_exit(
    scripts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_wrapper, "EXIT_DRAIN_SECONDS", 0.3)
    seen: list[dict[str, Any]] = []
    result = await run_cli_script(
        "leftover.py", [], timeout=120, on_event=seen.append, scripts_dir=scripts_dir
    )
    assert result.provider == "local"
    assert _wait_gone(seen[0]["child"]), "a child holding the pipe outlived the script"


async def test_secret_travels_in_env_only(
    scripts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "AIzaTEST-" + "k" * 30
    monkeypatch.setenv("WORKER_ONLY_SECRET", "must-not-leak")
    monkeypatch.setenv("SCRIPT_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("KIE_BASE_URL", "http://127.0.0.1:9/kie")
    go = tmp_path / "go"
    seen_by_proc: dict[str, bytes] = {}

    def inspect_child(event: dict[str, Any]) -> None:
        pid = event["pid"]
        seen_by_proc["cmdline"] = Path(f"/proc/{pid}/cmdline").read_bytes()
        seen_by_proc["environ"] = Path(f"/proc/{pid}/environ").read_bytes()
        go.touch()

    with capture_logs() as logs:
        result = await run_cli_script(
            "envcheck.py",
            [str(go), "--prompt", "a prompt"],
            timeout=120,
            env={"GEMINI_API_KEY": secret},
            on_event=inspect_child,
            scripts_dir=scripts_dir,
        )
    assert result.raw["key_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.encode() not in seen_by_proc["cmdline"]
    assert b"envcheck.py" in seen_by_proc["cmdline"]  # we did read the right process
    assert secret.encode() in seen_by_proc["environ"]
    names = set(result.raw["env_names"])
    assert "WORKER_ONLY_SECRET" not in names
    assert {"PATH", "SCRIPT_RETRY_BASE_SECONDS", "KIE_BASE_URL", "GEMINI_API_KEY"} <= names
    assert b"KIE_BASE_URL=http://127.0.0.1:9/kie" in seen_by_proc["environ"]
    logged = json.dumps(logs, default=str)
    assert [e["event"] for e in logs] == ["cli_script_started", "cli_script_finished"]
    assert secret not in logged and "a prompt" not in logged


async def test_secret_is_scrubbed_from_error_message(scripts_dir: Path) -> None:
    secret = "zz-private-key-value-1234"
    with capture_logs() as logs, pytest.raises(CLIScriptError) as info:
        await run_cli_script(
            "leaky.py", [], timeout=60, env={"GEMINI_API_KEY": secret}, scripts_dir=scripts_dir
        )
    assert secret not in str(info.value) and secret not in info.value.stderr
    assert "auth failed for key [REDACTED]" in info.value.message
    assert secret not in json.dumps(logs, default=str)


async def test_huge_output_is_bounded_and_result_still_found(scripts_dir: Path) -> None:
    events: list[dict[str, Any]] = []
    result = await run_cli_script(
        "huge.py", ["ok"], timeout=120, on_event=events.append, scripts_dir=scripts_dir
    )
    assert result.outputs == {"log": "big"}
    assert events == []  # the 3 MiB "event" line was over the line limit and dropped
    assert len(result.stderr.encode()) <= cli_wrapper.MAX_STDERR_BYTES
    assert result.stderr.endswith("last stderr line\n")


async def test_huge_output_on_failure_keeps_only_tails(scripts_dir: Path) -> None:
    with pytest.raises(CLIScriptError) as info:
        await run_cli_script("huge.py", ["fail"], timeout=120, scripts_dir=scripts_dir)
    exc = info.value
    assert exc.message == "ran out of patience"
    assert len(exc.stdout.encode()) <= cli_wrapper.MAX_STDOUT_BYTES
    assert exc.stdout.endswith("END-OF-STDOUT\n")
    assert len(exc.stderr.encode()) <= cli_wrapper.MAX_STDERR_BYTES


def test_base_env_is_an_allow_list() -> None:
    env = build_script_env(
        {"ELEVENLABS_API_KEY": "k1"},
        base={
            "PATH": "/bin",
            "DATABASE_URL": "postgresql://u:p@h/db",
            "FERNET_KEYS": "x",
            "SCRIPT_HTTP_TIMEOUT_SECONDS": "5",
            "GEMINI_BASE_URL": "http://127.0.0.1:1",
        },
    )
    assert env["PATH"] == "/bin"
    assert env["ELEVENLABS_API_KEY"] == "k1"
    assert env["SCRIPT_HTTP_TIMEOUT_SECONDS"] == "5"
    assert env["GEMINI_BASE_URL"] == "http://127.0.0.1:1"
    assert "KIE_BASE_URL" in env and "CATBOX_UPLOAD_URL" in env  # from settings
    assert "DATABASE_URL" not in env and "FERNET_KEYS" not in env


async def test_real_script_runs_through_the_wrapper(tmp_path: Path) -> None:
    if not (SCRIPTS_DIR / "generate_audio.py").is_file():
        pytest.skip("scripts/generate_audio.py does not exist yet")
    out = tmp_path / "line.wav"
    result = await run_cli_script(
        "generate_audio.py",
        ["--provider", "espeak", "--text", "The wrapper runs real scripts.", "--output", str(out)],
        timeout=120,
    )
    assert result.provider == "espeak"
    assert Path(result.outputs["audio"]) == out
    assert out.stat().st_size > 10_000
    assert result.duration is not None and result.duration > 0.5


async def test_real_script_bad_usage_exits_2() -> None:
    name = "generate_asset.py"
    if not (SCRIPTS_DIR / name).is_file():
        name = "generate_audio.py"
    if not (SCRIPTS_DIR / name).is_file():
        pytest.skip("no real script exists yet")
    with pytest.raises(CLIScriptError) as info:
        await run_cli_script(name, [], timeout=120)
    assert info.value.exit_code == 2
    assert "--output" in info.value.message
