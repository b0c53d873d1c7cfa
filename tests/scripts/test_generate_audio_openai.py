"""generate_audio.py --provider openai as a real subprocess against the OpenAI-compatible fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_compat import API_KEY, FakeOpenAI, Reply
from tests.fakes.server import serve
from tests.scripts.conftest import ScriptRun, run_script

TEXT = "The keeper climbed the stairs one more time, and the light came on."  # 13 words


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def url(fake: FakeOpenAI) -> Iterator[str]:
    with serve(fake.app()) as base:
        yield f"{base}/v1"


def speak(out: Path, url: str, *args: str, key: str | None = API_KEY) -> ScriptRun:
    env = {"OPENAI_BASE_URL": url, **({"OPENAI_API_KEY": key} if key else {})}
    argv = ["--provider", "openai", "--text", TEXT, "--output", str(out), *args]
    return run_script("generate_audio.py", *argv, env=env, timeout=120)


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_speech_is_fetched_checked_encoded_and_priced_per_character(
    tmp_path: Path, fake: FakeOpenAI, url: str, suffix: str
) -> None:
    out = tmp_path / f"scene{suffix}"
    run = speak(out, url, "--tts-model", "kokoro", "--tts-voice", "af_heart",
                "--tts-speed", "1.3", "--cost-per-1k-chars", "0.015")  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = run.result
    assert (result["provider"], result["model"], result["voice"]) == (
        "openai",
        "kokoro",
        "af_heart",
    )
    assert result["characters"] == len(TEXT)
    assert result["cost_usd"] == round(len(TEXT) / 1000 * 0.015, 6)
    assert result["duration"] == pytest.approx(13 / 2.5 / 1.3, abs=0.1)  # the fake's pace
    body = fake.requests[0]["body"]
    assert body == {"model": "kokoro", "input": TEXT, "voice": "af_heart",
                    "response_format": "wav", "speed": 1.3}  # fmt: skip
    assert fake.requests[0]["authorization"] == f"Bearer {API_KEY}"
    assert out.stat().st_size > 0 and API_KEY not in run.stdout + run.stderr


def test_a_local_server_needs_no_key_and_the_base_url_can_be_given(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    fake.api_key = None
    out = tmp_path / "scene.wav"
    run = speak(out, "http://127.0.0.1:9/v1", "--base-url", url, "--tts-model", "tts-1", key=None)
    assert run.returncode == 0, run.stderr
    assert fake.requests[0]["authorization"] is None


def test_5xx_is_retried_and_a_bad_key_fails_in_one_line_without_the_key(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    fake.replies = [Reply(status=503)]
    ok = speak(tmp_path / "a.wav", url)
    assert ok.returncode == 0, ok.stderr
    assert len(fake.requests) == 2

    refused = speak(tmp_path / "b.wav", url, key="sk-not-the-right-one")
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr and "Incorrect API key" in refused.stderr
    assert "sk-not-the-right-one" not in refused.stderr + refused.stdout
    assert not (tmp_path / "b.wav").exists()
