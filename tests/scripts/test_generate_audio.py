"""generate_audio.py as a real subprocess: espeak-ng and hibari offline, ElevenLabs against the local fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.elevenlabs import DEFAULT_KEY, ElevenLabsFake, running, speech_seconds
from tests.scripts.audio_checks import describe, loudness, mean_volume, samples
from tests.scripts.conftest import ScriptRun, run_script

NARRATION = "The old lighthouse keeper climbed the stairs every night to watch the ships come home."
WORDS = len(NARRATION.split())


@pytest.fixture
def elevenlabs() -> Iterator[tuple[str, ElevenLabsFake]]:
    with running() as served:
        yield served


def tts(
    out: Path, *args: str, url: str | None = None, key: str | None = DEFAULT_KEY, **env: str
) -> ScriptRun:
    full_env = dict(env)
    if url is not None:
        full_env["ELEVENLABS_BASE_URL"] = url
    if key is not None:
        full_env["ELEVENLABS_API_KEY"] = key
    return run_script(
        "generate_audio.py",
        "--text",
        NARRATION,
        "--output",
        str(out),
        *args,
        env=full_env,
        timeout=120,
    )


def assert_failed(run: ScriptRun, code: int, *fragments: str) -> None:
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("❌ "), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- espeak (offline)


def test_espeak_speaks_the_text_at_a_plausible_pace(tmp_path: Path) -> None:
    out = tmp_path / "narration.wav"
    run = tts(out, "--provider", "espeak", key=None)
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["ok"] is True
    assert result["provider"] == "espeak"
    assert result["outputs"] == {"audio": str(out)}
    assert result["cost_usd"] == 0.0
    assert "pcm_s16le" in describe(out)
    assert mean_volume(out) > -35.0, "narration is silent"
    words_per_second = WORDS / result["duration"]
    assert 1.5 <= words_per_second <= 4.5, result["duration"]


# ---------------------------------------------------------------- hibari (offline neural voice)


def test_hibari_speaks_the_text_offline_unclipped_and_the_same_every_time(tmp_path: Path) -> None:
    first, again = tmp_path / "a.wav", tmp_path / "b.wav"
    run = tts(first, "--provider", "hibari", key=None)
    assert run.returncode == 0, run.stderr
    result = run.result
    assert (result["provider"], result["model"], result["cost_usd"]) == (
        "hibari",
        "hibari:heart",
        0.0,
    )
    assert "24000 Hz" in describe(first)
    words_per_second = WORDS / result["duration"]
    assert 1.5 <= words_per_second <= 4.5, result["duration"]
    lufs, _ = loudness(first)
    assert -40.0 < lufs < -10.0, lufs  # speech, not silence; assembly normalises it later
    assert float(abs(samples(first, rate=24000)).max()) < 0.999  # never clipped
    assert tts(again, "--provider", "hibari", key=None).returncode == 0
    assert first.read_bytes() == again.read_bytes()  # fixed seed: same text, same voice


def test_hibari_speed_changes_the_pace(tmp_path: Path) -> None:
    slow = tts(tmp_path / "slow.wav", "--provider", "hibari", "--hibari-speed", "0.7", key=None)
    fast = tts(tmp_path / "fast.mp3", "--provider", "hibari", "--hibari-speed", "1.5", key=None)
    assert slow.returncode == 0 and fast.returncode == 0, slow.stderr + fast.stderr
    assert slow.result["duration"] > 1.6 * fast.result["duration"]


def test_espeak_rate_changes_the_pace(tmp_path: Path) -> None:
    slow = tts(tmp_path / "slow.wav", "--provider", "espeak", "--rate", "110", key=None)
    fast = tts(tmp_path / "fast.wav", "--provider", "espeak", "--rate", "300", key=None)
    assert slow.returncode == 0 and fast.returncode == 0, slow.stderr + fast.stderr
    assert slow.result["duration"] > 1.8 * fast.result["duration"]


def test_espeak_encodes_to_the_extension_asked(tmp_path: Path) -> None:
    out = tmp_path / "narration.mp3"
    run = tts(out, "--provider", "espeak", "--pitch", "30", key=None)
    assert run.returncode == 0, run.stderr
    assert describe(out).startswith("mp3")
    assert mean_volume(out) > -35.0


def test_espeak_unknown_voice_fails_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "narration.wav"
    run = tts(out, "--provider", "espeak", "--voice", "no-such-voice", key=None)
    assert_failed(run, 1, "no-such-voice")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "temporary files were left behind"


@pytest.mark.parametrize(
    "args",
    [
        ["--provider", "festival"],
        ["--provider", "espeak", "--rate", "10"],
        ["--provider", "espeak", "--pitch", "120"],
        ["--stability", "1.5"],
        ["--speed", "2"],
        ["--output-format", "flac_48000"],
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    run = tts(tmp_path / "n.wav", *args, key=None)
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "n.wav").exists()


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_bad_usage(tmp_path: Path, text: str) -> None:
    run = run_script(
        "generate_audio.py",
        "--provider",
        "espeak",
        "--text",
        text,
        "--output",
        str(tmp_path / "n.wav"),
    )
    assert run.returncode == 2
    assert "text is empty" in run.stderr


def test_unknown_output_extension_is_bad_usage(tmp_path: Path) -> None:
    run = tts(tmp_path / "n.txt", "--provider", "espeak", key=None)
    assert run.returncode == 2
    assert "output must end in one of" in run.stderr


def test_help_exits_0() -> None:
    run = run_script("generate_audio.py", "--help")
    assert run.returncode == 0
    assert "--voice-id" in run.stdout and "--rate" in run.stdout


# ---------------------------------------------------------------- ElevenLabs (fake)


def test_elevenlabs_sends_the_documented_request(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    out = tmp_path / "narration.mp3"
    run = tts(
        out, "--provider", "elevenlabs", "--voice-id", "voice-narrator", "--stability", "0.4",
        "--speed", "1.1", "--cost-per-1k-chars", "0.5", url=url,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    [call] = fake.calls()
    assert call.path == "/v1/text-to-speech/voice-narrator"
    assert call.query == {"output_format": "mp3_44100_128"}
    assert call.headers["xi-api-key"] == DEFAULT_KEY
    assert call.body == {
        "text": NARRATION,
        "model_id": "eleven_multilingual_v2",
        "voice_settings": {"stability": 0.4, "speed": 1.1},
    }
    result = run.result
    assert result["provider"] == "elevenlabs"
    assert result["model"] == "eleven_multilingual_v2"
    assert result["cost_usd"] == pytest.approx(len(NARRATION) / 1000 * 0.5, abs=1e-6)
    assert result["remote_ids"]["request_id"]
    assert result["duration"] == pytest.approx(speech_seconds(NARRATION), abs=0.1)
    assert describe(out).startswith("mp3")
    assert mean_volume(out) > -35.0
    assert DEFAULT_KEY not in run.stdout + run.stderr


def test_elevenlabs_mp3_is_converted_for_a_wav_output(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    out = tmp_path / "narration.wav"
    run = tts(out, "--provider", "elevenlabs", url=url)
    assert run.returncode == 0, run.stderr
    assert fake.calls()[0].query["output_format"] == "mp3_44100_128"
    assert out.read_bytes()[:4] == b"RIFF"
    assert "pcm_s16le" in describe(out)
    assert run.result["duration"] == pytest.approx(speech_seconds(NARRATION), abs=0.1)


def test_elevenlabs_raw_pcm_is_wrapped(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    out = tmp_path / "narration.wav"
    run = tts(out, "--provider", "elevenlabs", "--output-format", "pcm_24000", url=url)
    assert run.returncode == 0, run.stderr
    assert fake.calls()[0].query["output_format"] == "pcm_24000"
    assert "24000 Hz" in describe(out)
    assert run.result["duration"] == pytest.approx(speech_seconds(NARRATION), abs=0.05)


def test_elevenlabs_without_key_is_a_configuration_error(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    run = tts(tmp_path / "n.mp3", "--provider", "elevenlabs", url=url, key=None)
    assert_failed(run, 1, "ELEVENLABS_API_KEY")
    assert fake.calls() == []


@pytest.mark.parametrize("legacy", [False, True], ids=["current-errors", "legacy-errors"])
def test_elevenlabs_wrong_key_fails_fast(tmp_path: Path, legacy: bool) -> None:
    with running(ElevenLabsFake(legacy_errors=legacy)) as (url, fake):
        run = tts(tmp_path / "n.mp3", "--provider", "elevenlabs", url=url, key="wrong-key")
        assert len(fake.calls()) == 1
    assert_failed(run, 1, "HTTP 401", "invalid_api_key", "Invalid API key", "check the API key")
    assert "wrong-key" not in run.stderr
    assert not (tmp_path / "n.mp3").exists()


@pytest.mark.parametrize("legacy", [False, True], ids=["current-errors", "legacy-errors"])
def test_elevenlabs_unknown_voice_reports_the_vendor_message(tmp_path: Path, legacy: bool) -> None:
    with running(ElevenLabsFake(legacy_errors=legacy)) as (url, fake):
        run = tts(tmp_path / "n.mp3", "--provider", "elevenlabs", "--voice-id", "ghost", url=url)
        assert len(fake.calls()) == 1, "a 400 must not be retried"
    assert_failed(run, 1, "HTTP 400", "voice_not_found", "voice_id ghost does not exist")


def test_elevenlabs_429_then_success(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.fail_next(429, "rate_limit_exceeded", retry_after=0.1)
    out = tmp_path / "n.mp3"
    run = tts(out, "--provider", "elevenlabs", url=url)
    assert run.returncode == 0, run.stderr
    assert len(fake.calls()) == 2
    assert mean_volume(out) > -35.0


def test_elevenlabs_concurrency_limit_is_waited_out(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.fail_next(429, "concurrent_limit_exceeded", times=2)
    run = tts(tmp_path / "n.mp3", "--provider", "elevenlabs", url=url)
    assert run.returncode == 0, run.stderr
    assert len(fake.calls()) == 3


def test_elevenlabs_server_errors_give_up_after_three_attempts(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.fail_next(503, "service_unavailable", "The service is busy", times=5)
    run = tts(tmp_path / "n.mp3", "--provider", "elevenlabs", url=url)
    assert_failed(run, 1, "HTTP 503", "The service is busy")
    assert len(fake.calls()) == 3


def test_elevenlabs_timeout_is_retried_then_reported(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.slow_next(10, times=3)
    out = tmp_path / "n.mp3"
    run = tts(out, "--provider", "elevenlabs", url=url, SCRIPT_HTTP_TIMEOUT_SECONDS="0.5")
    assert_failed(run, 1, "timed out")
    assert len(fake.calls()) == 3
    assert not out.exists()


def test_elevenlabs_one_timeout_then_success(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.slow_next(10)
    run = tts(
        tmp_path / "n.mp3", "--provider", "elevenlabs", url=url, SCRIPT_HTTP_TIMEOUT_SECONDS="1"
    )
    assert run.returncode == 0, run.stderr
    assert len(fake.calls()) == 2


def test_elevenlabs_text_over_the_limit_is_refused(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    run = run_script(
        "generate_audio.py", "--text", "word " * 2500, "--output", str(tmp_path / "n.mp3"),
        env={"ELEVENLABS_BASE_URL": url, "ELEVENLABS_API_KEY": DEFAULT_KEY},
    )  # fmt: skip
    assert_failed(run, 1, "max_character_limit_exceeded")
    assert len(fake.calls()) == 1
