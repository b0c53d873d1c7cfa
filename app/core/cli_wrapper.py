"""The one door from the orchestration layer to the CLI scripts in ``scripts/``.

Paid work starts only inside the scripts, so this wrapper is where the worker keeps control of it:
no shell; an explicit environment (secrets travel only there, never in argv where ``ps`` and
``/proc/<pid>/cmdline`` show them to every user); a timeout or cancellation takes down the whole
process group, FFmpeg children included; output capture is bounded so a chatty script cannot
exhaust the worker; and event lines (a Kling task id, say) reach the caller while the script still
runs, so the remote id is recorded before the long wait it belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.logging import REDACTED, get_logger, redact_text
from app.core.script_process import (
    EventCallback,
    StdoutCollector,
    Tail,
    drain_into,
    kill_group,
    signal_group,
    supervise,
)

__all__ = [
    "SCRIPTS_DIR",
    "CLIScriptError",
    "CLIScriptOutputError",
    "CLIScriptTimeoutError",
    "EventCallback",
    "InvalidScriptError",
    "ScriptResult",
    "build_script_env",
    "is_retryable",
    "resolve_script",
    "run_cli_script",
]

log = get_logger(__name__)

SCRIPTS_DIR = PROJECT_ROOT / "scripts"
MAX_STDOUT_BYTES = 1024 * 1024
MAX_STDERR_BYTES = 64 * 1024
KILL_GRACE_SECONDS = 5.0
# After the script exits, how long its pipes may stay open (held by something it started)
# before the rest of its process group is killed.
EXIT_DRAIN_SECONDS = 2.0

_SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\.py")
_BASE_ENV_NAMES = frozenset(
    "PATH HOME LANG LC_ALL LC_CTYPE TZ TMPDIR FFMPEG_BINARY XDG_RUNTIME_DIR SSL_CERT_FILE "
    "SSL_CERT_DIR HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy "
    "CATBOX_UPLOAD_URL".split()
)
_FIXED_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}
_SECRET_ENV_KEY = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH|WEBHOOK", re.IGNORECASE)

_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
_RETRYABLE_STATUS = frozenset({408, 425, 429})
# A script's own word that a paid request went out unanswered (e.g. KIE createTask timing out).
_MAYBE_PAID = re.compile(r"may have been created|may have been charged", re.IGNORECASE)
_PR_SET_PDEATHSIG = 1  # prctl(2) option: signal the caller when its parent dies
_TRANSIENT = re.compile(
    r"timed out|timeout|network error|connection (?:reset|refused|aborted|error)|"
    r"temporarily unavailable|rate limit|too many requests",
    re.IGNORECASE,
)


class InvalidScriptError(ValueError):
    """The script name is not a plain ``name.py`` that exists in the scripts directory."""


class CLIScriptError(Exception):
    """A script failed; ``message`` is its one ``❌`` line, worded to be shown on the task."""

    def __init__(
        self,
        script: str,
        exit_code: int,
        message: str,
        *,
        stderr: str = "",
        stdout: str = "",
        retryable: bool = False,
    ) -> None:
        self.script = script
        self.exit_code = exit_code
        self.message = message
        self.stderr = stderr
        self.stdout = stdout
        self.retryable = retryable
        super().__init__(f"{script} failed (exit {exit_code}): {message}")


class CLIScriptTimeoutError(CLIScriptError):
    """The script outlived its timeout and its process group was killed; worth another try."""

    def __init__(
        self, script: str, timeout: float, exit_code: int, *, stderr: str = "", stdout: str = ""
    ) -> None:
        self.timeout = timeout
        super().__init__(
            script,
            exit_code,
            f"timed out after {timeout:g}s (process group killed)",
            stderr=stderr,
            stdout=stdout,
            retryable=True,
        )


class CLIScriptOutputError(CLIScriptError):
    """Exit 0 without a usable JSON result line: a script bug, so retrying would not help."""


@dataclass(frozen=True)
class ScriptResult:
    """The script's final JSON line, typed; ``raw`` keeps every field, including extras."""

    script: str
    outputs: dict[str, str]
    provider: str | None
    model: str | None
    duration: float | None
    cost_usd: float
    remote_ids: dict[str, str]
    raw: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    elapsed_s: float = 0.0


def resolve_script(script: str, scripts_dir: Path | None = None) -> Path:
    """Map a bare script name to its file, refusing anything that could run code elsewhere."""
    directory = (scripts_dir or SCRIPTS_DIR).resolve()
    if not _SCRIPT_NAME.fullmatch(script):
        raise InvalidScriptError(f"not a plain script name: {script!r}")
    path = (directory / script).resolve()
    if path.parent != directory or not path.is_file():
        raise InvalidScriptError(f"no script {script!r} in {directory}")
    return path


def build_script_env(
    extra: Mapping[str, str] | None = None,
    *,
    base: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> dict[str, str]:
    """The child's whole environment: a small allow-list of ours, service URLs, then ``extra``.

    Nothing else of the worker's environment (its database URL, Fernet keys, other channels' keys)
    leaks into a script; the caller passes the channel's secrets in ``extra``.
    """
    source = os.environ if base is None else base
    env = {
        name: value
        for name, value in source.items()
        if name in _BASE_ENV_NAMES or name.startswith("SCRIPT_") or name.endswith("_BASE_URL")
    }
    cfg = settings or get_settings()
    service_urls = {
        "GEMINI_BASE_URL": cfg.gemini_base_url,
        "KIE_BASE_URL": cfg.kie_base_url,
        "CATBOX_UPLOAD_URL": cfg.catbox_upload_url,
        "ELEVENLABS_BASE_URL": cfg.elevenlabs_base_url,
    }
    for name, value in service_urls.items():
        env.setdefault(name, value)
    env.update(_FIXED_ENV)
    env.update(extra or {})
    return env


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A script runs in its own session (so a timeout can kill its whole group), which also
    means a SIGKILLed worker would leave it running: a paid call finishing unrecorded while
    another worker re-runs the item pays twice. On Linux the kernel sends it SIGTERM when its
    worker dies: a script ends at once, except one that holds SIGTERM for a moment to write
    down a paid create whose answer is on its way (``generate_video.py --task-id-file``)."""

    def arm() -> None:  # runs in the child between fork and exec
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return  # not Linux: the script outlives a killed worker, as before
        if os.getppid() != parent:  # the worker died before prctl took effect
            os._exit(1)

    return arm


def is_retryable(exit_code: int, message: str) -> bool:
    """Whether another attempt may succeed: rate limits, server errors and network trouble only.

    Usage errors, bad keys, missing credit and bad input fail the same way every time, and
    retrying a paid call that the vendor rejected only costs money.
    """
    if exit_code < 0:  # killed by a signal from outside (OOM killer, operator)
        return True
    if exit_code != 1:
        return False
    if _MAYBE_PAID.search(message):
        return False  # the vendor may have started paid work: a re-run could pay twice
    statuses = _HTTP_STATUS.findall(message)
    if statuses:
        status = int(statuses[-1])
        return status in _RETRYABLE_STATUS or 500 <= status <= 599
    return bool(_TRANSIENT.search(message))


async def run_cli_script(
    script: str,
    args: Sequence[str],
    *,
    timeout: float,  # noqa: ASYNC109 - a per-script deadline the caller chooses
    env: Mapping[str, str] | None = None,
    on_event: EventCallback | None = None,
    cwd: str | os.PathLike[str] | None = None,
    scripts_dir: Path | None = None,
    kill_grace: float = KILL_GRACE_SECONDS,
    max_stdout: int = MAX_STDOUT_BYTES,
    max_stderr: int = MAX_STDERR_BYTES,
) -> ScriptResult:
    """Run ``scripts/<script> args...`` with ``sys.executable`` and return its parsed result.

    ``env`` carries the secrets (never put them in ``args``). Each stdout line that is a JSON
    object with an ``"event"`` key goes to ``on_event`` as soon as it arrives; while the callback
    runs the script's output is not read, so the script cannot get far ahead of the record. If
    the callback raises, the script is killed and the callback's exception propagates. The
    ``timeout`` covers the whole run, callbacks included.

    Raises CLIScriptError (non-zero exit), CLIScriptTimeoutError, CLIScriptOutputError (exit 0
    without a result line) and InvalidScriptError (bad name, before anything runs).
    """
    path = resolve_script(script, scripts_dir)
    secrets = [v for k, v in (env or {}).items() if _SECRET_ENV_KEY.search(k) and len(v) >= 4]
    stdout = StdoutCollector(max_stdout, on_event)
    stderr = Tail(max_stderr)
    started = time.monotonic()
    log.info("cli_script_started", script=script, arg_count=len(args), timeout_s=timeout)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(path),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=build_script_env(env),
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_die_with_parent(os.getpid()),
    )
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        asyncio.create_task(stdout.consume(proc.stdout)),
        asyncio.create_task(drain_into(proc.stderr, stderr)),
    ]

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return redact_text(text)

    try:
        async with asyncio.timeout(timeout) as deadline:
            exit_code = await supervise(proc, readers, drain_seconds=EXIT_DRAIN_SECONDS)
    except TimeoutError:
        if not deadline.expired():
            await kill_group(proc, kill_grace)
            raise  # a TimeoutError from on_event, not ours
        await kill_group(proc, kill_grace)
        elapsed = time.monotonic() - started
        log.warning(
            "cli_script_timed_out", script=script, timeout_s=timeout, duration_s=round(elapsed, 3)
        )
        raise CLIScriptTimeoutError(
            script,
            timeout,
            proc.returncode if proc.returncode is not None else -signal.SIGKILL,
            stderr=scrub(stderr.text()),
            stdout=scrub(stdout.tail.text()),
        ) from None
    except BaseException as exc:
        await kill_group(proc, kill_grace)
        event = (
            "cli_script_cancelled"
            if isinstance(exc, asyncio.CancelledError)
            else "cli_script_aborted"
        )
        log.warning(event, script=script, error_type=type(exc).__name__)
        raise
    finally:
        signal_group(proc.pid, signal.SIGKILL)  # nothing the script started outlives it
        for reader in readers:
            reader.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout=kill_grace + 1)

    elapsed = time.monotonic() - started
    err_text = scrub(stderr.text())
    if exit_code != 0:
        message = scrub(_error_message(err_text, exit_code))
        retryable = is_retryable(exit_code, message)
        log.warning(
            "cli_script_failed",
            script=script,
            exit_code=exit_code,
            duration_s=round(elapsed, 3),
            retryable=retryable,
            error=message,
        )
        raise CLIScriptError(
            script,
            exit_code,
            message,
            stderr=err_text,
            stdout=scrub(stdout.tail.text()),
            retryable=retryable,
        )
    result = _parse_result(script, stdout, err_text, elapsed)
    log.info(
        "cli_script_finished",
        script=script,
        exit_code=0,
        duration_s=round(elapsed, 3),
        provider=result.provider,
        cost_usd=result.cost_usd,
    )
    return result


def _error_message(stderr: str, exit_code: int) -> str:
    """The ``❌`` line without its mark; else the last stderr line (argparse, a traceback)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("❌"):
            return line.removeprefix("❌").strip()[:2000] or "failed without a message"
    if lines:
        return lines[-1][:2000]
    return f"exited with code {exit_code} and printed no error"


def _parse_result(
    script: str, stdout: StdoutCollector, stderr: str, elapsed: float
) -> ScriptResult:
    raw = stdout.result

    def bad(why: str) -> CLIScriptOutputError:
        log.warning("cli_script_bad_output", script=script, error=why)
        return CLIScriptOutputError(script, 0, why, stderr=stderr, stdout=stdout.tail.text())

    if raw is None:
        raise bad("exited 0 but printed no JSON result line")
    if raw.get("ok") is False:
        raise bad("exited 0 but its result says ok=false")
    try:
        return ScriptResult(
            script=script,
            outputs=_str_map(raw.get("outputs")),
            provider=_opt_str(raw.get("provider")),
            model=_opt_str(raw.get("model")),
            duration=None if raw.get("duration") is None else float(raw["duration"]),
            cost_usd=float(raw.get("cost_usd") or 0.0),
            remote_ids=_str_map(raw.get("remote_ids")),
            raw=raw,
            events=list(stdout.events),
            stderr=stderr,
            elapsed_s=elapsed,
        )
    except (TypeError, ValueError) as exc:
        raise bad(f"result line has a malformed field: {exc}") from None


def _str_map(value: object) -> dict[str, str]:
    """Lenient on value types: a paid result must not be lost over an int where a str was meant."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
