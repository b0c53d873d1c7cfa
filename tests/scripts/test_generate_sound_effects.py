"""generate_sound_effects.py as a real subprocess: FFmpeg synthesis offline, ElevenLabs against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.elevenlabs import DEFAULT_KEY, ElevenLabsFake, running
from tests.scripts.audio_checks import (
    describe,
    dynamics_db,
    loudness,
    mean_volume,
    samples,
    spectral_centroid,
)
from tests.scripts.conftest import ScriptRun, run_script

SECONDS = "2.0"


@pytest.fixture
def elevenlabs() -> Iterator[tuple[str, ElevenLabsFake]]:
    with running() as served:
        yield served


def sfx(out: Path, text: str, *args: str, **env: str) -> ScriptRun:
    return run_script(
        "generate_sound_effects.py",
        "--text",
        text,
        "--output",
        str(out),
        *args,
        env=env,
        timeout=120,
    )


def synth(tmp_path: Path, text: str, *args: str, name: str = "fx.wav") -> tuple[Path, ScriptRun]:
    out = tmp_path / name
    run = sfx(out, text, "--provider", "synth", "--duration", SECONDS, *args)
    assert run.returncode == 0, run.stderr
    return out, run


def assert_failed(run: ScriptRun, code: int, *fragments: str) -> None:
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("❌ "), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- synth (offline)


def test_synth_makes_a_stereo_48k_bed_of_the_exact_length(tmp_path: Path) -> None:
    out, run = synth(tmp_path, "gentle rain on a window")
    result = run.result
    assert result["provider"] == "synth"
    assert result["recipes"] == ["rain"]
    assert result["cost_usd"] == 0.0
    assert result["duration"] == pytest.approx(2.0, abs=0.05)
    audio = samples(out)
    assert audio.shape[1] == 2
    assert audio.shape[0] / 48000 == pytest.approx(2.0, abs=0.05)
    assert "48000 Hz" in describe(out) and "stereo" in describe(out)
    lufs, _ = loudness(out)
    assert -28.0 <= lufs <= -20.0, lufs  # sits under a voice
    assert mean_volume(out) > -45.0


@pytest.mark.parametrize("ext", ["mp3", "m4a"])
def test_synth_duration_holds_through_lossy_encoders(tmp_path: Path, ext: str) -> None:
    out, run = synth(tmp_path, "ocean waves", "--duration", "3.3", name=f"fx.{ext}")
    assert run.result["duration"] == pytest.approx(3.3, abs=0.05)
    assert samples(out).shape[0] / 48000 == pytest.approx(3.3, abs=0.05)


def test_synth_default_duration_is_five_seconds(tmp_path: Path) -> None:
    out = tmp_path / "fx.wav"
    run = sfx(out, "electrical hum", "--provider", "synth")
    assert run.returncode == 0, run.stderr
    assert samples(out).shape[0] / 48000 == pytest.approx(5.0, abs=0.05)


def test_synth_is_deterministic(tmp_path: Path) -> None:
    first, _ = synth(tmp_path, "storm with rain and thunder", name="a.wav")
    second, _ = synth(tmp_path, "storm with rain and thunder", name="b.wav")
    assert first.read_bytes() == second.read_bytes()


def test_keywords_shape_the_sound(tmp_path: Path) -> None:
    hum, _ = synth(tmp_path, "electrical hum", name="hum.wav")
    rain, _ = synth(tmp_path, "heavy rain", name="rain.wav")
    birds, _ = synth(tmp_path, "birds chirping", name="birds.wav")
    impact, run = synth(tmp_path, "a heavy impact", name="impact.wav")
    assert run.result["recipes"] == ["impact"]
    assert spectral_centroid(hum) < 300
    assert spectral_centroid(rain) > 1500
    assert spectral_centroid(birds) > 2500
    # A hit in silence is far peakier than a steady bed, and allowed to be louder.
    assert dynamics_db(impact) > 20
    assert dynamics_db(rain) < 3
    assert loudness(impact)[0] > loudness(rain)[0] + 2
    for path in (hum, rain, birds, impact):
        assert mean_volume(path) > -50.0, path.name


def test_several_keywords_are_mixed(tmp_path: Path) -> None:
    rain, _ = synth(tmp_path, "rain", name="rain.wav")
    storm, run = synth(tmp_path, "rain with rolling thunder", name="storm.wav")
    assert run.result["recipes"] == ["rain", "thunder"]
    a, b = samples(rain), samples(storm)
    assert not np.allclose(a, b, atol=1e-3)
    # Thunder adds low rumble under the rain: the mix's centre of energy drops.
    assert spectral_centroid(storm) < spectral_centroid(rain) * 0.8


def test_unknown_words_get_a_soft_ambient_bed(tmp_path: Path) -> None:
    out, run = synth(tmp_path, "a quiet contemplative moment")
    assert run.result["recipes"] == ["ambient"]
    lufs, _ = loudness(out)
    assert -28.0 <= lufs <= -20.0, lufs


def test_loop_joins_end_to_start(tmp_path: Path) -> None:
    looped, _ = synth(tmp_path, "wind through trees", "--loop", name="loop.wav")
    plain, _ = synth(tmp_path, "wind through trees", name="plain.wav")
    for path in (looped, plain):
        assert samples(path).shape[0] / 48000 == pytest.approx(2.0, abs=0.05)
    audio = samples(looped).mean(axis=1)
    rms = float(np.sqrt(np.mean(audio**2)))
    head = float(np.sqrt(np.mean(audio[:2400] ** 2)))
    tail = float(np.sqrt(np.mean(audio[-2400:] ** 2)))
    # No fade at either end of a loop, and no jump across the seam bigger than the signal moves anyway.
    assert head > 0.3 * rms and tail > 0.3 * rms
    steps = np.abs(np.diff(audio))
    assert abs(audio[0] - audio[-1]) < steps.max()
    # The plain clip fades out instead.
    plain_audio = samples(plain).mean(axis=1)
    assert np.sqrt(np.mean(plain_audio[-480:] ** 2)) < 0.1 * rms


@pytest.mark.parametrize(
    "args",
    [
        ["--provider", "synth", "--duration", "0"],
        ["--provider", "synth", "--duration", "abc"],
        ["--provider", "noise"],
        ["--prompt-influence", "1.5"],
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    run = sfx(tmp_path / "fx.wav", "rain", *args)
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "fx.wav").exists()


def test_blank_prompt_is_bad_usage(tmp_path: Path) -> None:
    run = sfx(tmp_path / "fx.wav", "  ", "--provider", "synth")
    assert run.returncode == 2
    assert "text is empty" in run.stderr


# ---------------------------------------------------------------- ElevenLabs (fake)


def el_env(url: str, key: str = DEFAULT_KEY, **extra: str) -> dict[str, str]:
    return {"ELEVENLABS_BASE_URL": url, "ELEVENLABS_API_KEY": key, **extra}


def test_elevenlabs_sends_the_documented_request(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    out = tmp_path / "fx.mp3"
    run = sfx(
        out,
        "door creaks open",
        "--provider",
        "elevenlabs",
        "--duration",
        "2.5",
        "--cost-usd",
        "0.2",
        **el_env(url),
    )
    assert run.returncode == 0, run.stderr
    [call] = fake.calls()
    assert call.path == "/v1/sound-generation"
    assert call.query == {"output_format": "mp3_44100_128"}
    assert call.headers["xi-api-key"] == DEFAULT_KEY
    assert call.body == {
        "text": "door creaks open",
        "duration_seconds": 2.5,
        "prompt_influence": 0.3,
        "loop": False,
    }
    result = run.result
    assert result["provider"] == "elevenlabs"
    assert result["cost_usd"] == pytest.approx(0.2)
    assert result["duration"] == pytest.approx(2.5, abs=0.1)
    assert result["remote_ids"]["request_id"]
    assert describe(out).startswith("mp3")
    assert mean_volume(out) > -40.0


def test_elevenlabs_without_duration_lets_the_model_decide(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    out = tmp_path / "fx.wav"
    run = sfx(
        out,
        "rain",
        "--provider",
        "elevenlabs",
        "--loop",
        "--prompt-influence",
        "0.8",
        **el_env(url),
    )
    assert run.returncode == 0, run.stderr
    body = fake.calls()[0].body
    assert body["duration_seconds"] is None
    assert body["loop"] is True
    assert body["prompt_influence"] == 0.8
    assert "pcm_s16le" in describe(out)


def test_elevenlabs_duration_outside_its_range_is_bad_usage(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    run = sfx(
        tmp_path / "fx.mp3", "rain", "--provider", "elevenlabs", "--duration", "45", **el_env(url)
    )
    assert_failed(run, 2, "0.5..30")
    assert fake.calls() == []


def test_elevenlabs_without_key_is_a_configuration_error(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    run = sfx(tmp_path / "fx.mp3", "rain", "--provider", "elevenlabs", ELEVENLABS_BASE_URL=url)
    assert_failed(run, 1, "ELEVENLABS_API_KEY")
    assert fake.calls() == []


def test_elevenlabs_wrong_key_fails_fast(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    run = sfx(tmp_path / "fx.mp3", "rain", "--provider", "elevenlabs", **el_env(url, key="nope"))
    assert_failed(run, 1, "HTTP 401", "invalid_api_key")
    assert len(fake.calls()) == 1
    assert not (tmp_path / "fx.mp3").exists()


def test_elevenlabs_429_then_success(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.fail_next(429, "rate_limit_exceeded", retry_after=0.1)
    out = tmp_path / "fx.mp3"
    run = sfx(out, "rain", "--provider", "elevenlabs", "--duration", "1", **el_env(url))
    assert run.returncode == 0, run.stderr
    assert len(fake.calls()) == 2
    assert mean_volume(out) > -40.0


def test_elevenlabs_timeout_is_reported(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    url, fake = elevenlabs
    fake.slow_next(10, times=3)
    run = sfx(
        tmp_path / "fx.mp3",
        "rain",
        "--provider",
        "elevenlabs",
        **el_env(url, SCRIPT_HTTP_TIMEOUT_SECONDS="0.5"),
    )
    assert_failed(run, 1, "timed out")
    assert len(fake.calls()) == 3


def test_elevenlabs_validation_error_is_reported_not_retried(
    tmp_path: Path, elevenlabs: tuple[str, ElevenLabsFake]
) -> None:
    """A 422 in FastAPI's list shape (a format the API does not offer) fails at once with its message."""
    url, fake = elevenlabs
    out = tmp_path / "fx.mp3"
    run = sfx(
        out, "rain", "--provider", "elevenlabs", "--output-format", "mp3_48000_128", **el_env(url)
    )
    assert_failed(run, 1, "HTTP 422", "output_format: Input should be a supported output format")
    assert len(fake.calls()) == 1
    assert not out.exists()
