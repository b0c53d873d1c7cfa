"""structlog output is JSON on stderr and secrets never reach it, wherever they hide."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from app.core.logging import (
    REDACTED,
    bind_context,
    configure_logging,
    get_logger,
    register_secret,
)

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def start_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], LogLines]]:
    """Configure JSON logging into the captured stderr (``_isolate_logging`` restores it).

    Configuring happens inside the test: the logger keeps the ``sys.stderr`` of that moment, and
    pytest swaps the captured stream between setup and call.
    """

    def read() -> list[dict[str, Any]]:
        captured = capsys.readouterr()
        assert captured.out == ""
        return [json.loads(line) for line in captured.err.splitlines() if line.strip()]

    def start() -> LogLines:
        configure_logging("DEBUG", "json", process="test")
        capsys.readouterr()
        return read

    try:
        yield start
    finally:
        structlog.contextvars.clear_contextvars()


def _raw(line: dict[str, Any]) -> str:
    return json.dumps(line)


def test_output_is_json_with_bound_context(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    task_id = str(uuid.uuid4())
    bind_context(task_id=task_id, channel="demo", step="videos", worker="worker-1")
    get_logger("test").info("task.step.finished", duration_ms=1234, token_count=7)
    (line,) = logs()
    assert line["event"] == "task.step.finished"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert (line["task_id"], line["channel"], line["step"], line["worker"]) == (
        task_id,
        "demo",
        "videos",
        "worker-1",
    )
    assert line["process"] == "test"
    assert line["duration_ms"] == 1234
    assert line["token_count"] == 7  # numbers under secret-sounding keys are not secrets


def test_authorization_headers_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    get_logger().info(
        "http.request",
        headers={
            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
            "xi-api-key": "el-0123456789abcdef",
            "x-goog-api-key": "gk-0123456789abcdef",
            "Accept": "application/json",
        },
    )
    (line,) = logs()
    headers = line["headers"]
    assert headers["Authorization"] == REDACTED
    assert headers["xi-api-key"] == REDACTED
    assert headers["x-goog-api-key"] == REDACTED
    assert headers["Accept"] == "application/json"
    for leak in ("eyJhbGciOiJIUzI1NiJ9", "el-0123456789abcdef", "gk-0123456789abcdef"):
        assert leak not in _raw(line)


def test_bearer_tokens_in_free_text_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    get_logger().warning("retry: sent 'Authorization: Bearer abcDEF123456.xyz' and got 401")
    (line,) = logs()
    assert "abcDEF123456" not in line["event"]
    assert line["event"] == "retry: sent 'Authorization: Bearer [REDACTED]' and got 401"


def test_api_keys_in_nested_structures_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    get_logger().info(
        "provider.call",
        request={
            "params": {"api_key": "k-0123456789abcdef", "model": "gemini-3.1-flash-image"},
            "attempts": [{"token": "t-0123456789abcdef"}, {"note": "url?key=q-0123456789abc"}],
        },
        gemini_api_key="AIzaSyA-0123456789abcdefghijklmnop",
    )
    (line,) = logs()
    raw = _raw(line)
    for leak in ("k-0123456789abcdef", "t-0123456789abcdef", "q-0123456789abc", "AIzaSyA-0123"):
        assert leak not in raw
    assert line["request"]["params"]["model"] == "gemini-3.1-flash-image"
    assert line["request"]["params"]["api_key"] == REDACTED
    assert line["gemini_api_key"] == REDACTED


def test_discord_webhook_urls_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    url = "https://discord.com/api/webhooks/123456789012345678/AbC-dEf_ghIJklmn0123"
    get_logger().error(f"alert failed posting to {url}", target=url, alert={"url": url})
    (line,) = logs()
    raw = _raw(line)
    assert "AbC-dEf_ghIJklmn0123" not in raw
    assert "123456789012345678" not in raw
    assert line["target"] == REDACTED


def test_database_passwords_in_urls_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    dsn = "postgresql+asyncpg://vidgen:hunter2-Secret@db.internal:5432/vidgen"
    get_logger().info(f"connecting to {dsn}", dsn=dsn)
    (line,) = logs()
    assert "hunter2-Secret" not in _raw(line)
    assert "db.internal:5432" in line["event"]  # the rest of the URL stays useful


def test_registered_secrets_are_redacted_inside_free_text(
    start_logs: Callable[[], LogLines],
) -> None:
    logs = start_logs()
    secret = f"opaque{uuid.uuid4().hex}"  # no pattern would recognise it
    register_secret(secret)
    get_logger().info(f"using credential {secret} for channel demo", note=[f"x{secret}y"])
    (line,) = logs()
    assert secret not in _raw(line)
    assert line["event"] == f"using credential {REDACTED} for channel demo"


def test_exception_text_is_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    secret = f"opaque{uuid.uuid4().hex}"
    register_secret(secret)
    try:
        raise RuntimeError(f"upstream rejected {secret} with Bearer zzzzzzzz1234")
    except RuntimeError:
        get_logger().exception("provider.failed")
    (line,) = logs()
    assert "RuntimeError" in line["exception"]
    assert secret not in line["exception"]
    assert "zzzzzzzz1234" not in line["exception"]


def test_provider_tokens_in_free_text_are_redacted(start_logs: Callable[[], LogLines]) -> None:
    logs = start_logs()
    leaks = {
        "notion": "ntn_4128394710abcdefGHIJKLmnopqrstu",
        "refresh": "1//0gAbCdEfGhIjKlMnOpQrStUvWxYz-0123",
        "header": "0123456789abcdef0123456789abcdef",
        "userinfo": "pw-9876543210",
    }
    get_logger().info(
        f"notion {leaks['notion']} refresh {leaks['refresh']} "
        f"xi-api-key: {leaks['header']} proxy https://bot:{leaks['userinfo']}@proxy.test:3128"
    )
    get_logger().info("GEMINI_API_KEY: not set")  # plain words after a key name stay readable
    first, second = logs()
    for leak in leaks.values():
        assert leak not in first["event"]
    assert "proxy.test:3128" in first["event"]
    assert second["event"] == "GEMINI_API_KEY: not set"


def test_stdlib_log_lines_hide_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("httpx").warning(
        "GET https://api.example.test/v1?api_key=abcdef123456 with Bearer tok123456789"
    )
    err = capsys.readouterr().err
    assert "WARNING httpx GET https://api.example.test/v1?api_key=" in err
    assert "abcdef123456" not in err and "tok123456789" not in err
