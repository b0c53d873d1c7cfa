"""The ElevenLabs fake, checked with the vendor's own Python SDK: if the SDK is happy, so are we.

The scripts talk to the fake through plain httpx; these tests keep the fake honest about the
paths, query parameters, auth header, audio answers and error shapes the real service uses.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import av
import pytest
from elevenlabs import VoiceSettings
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError

from tests.fakes.elevenlabs import DEFAULT_KEY, ElevenLabsFake, running, speech_seconds


@pytest.fixture
def fake() -> Iterator[tuple[ElevenLabs, ElevenLabsFake]]:
    with running() as (url, state):
        yield ElevenLabs(api_key=DEFAULT_KEY, base_url=url, timeout=30), state


def decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = sum(frame.samples for frame in container.decode(stream))
        return frames / stream.codec_context.sample_rate


def test_sdk_text_to_speech(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    client, state = fake
    text = "A short line for the narrator to read aloud."
    audio = b"".join(
        client.text_to_speech.convert(
            "21m00Tcm4TlvDq8ikWAM",
            text=text,
            model_id="eleven_multilingual_v2",
            output_format="mp3_44100_128",
            voice_settings=VoiceSettings(stability=0.5, similarity_boost=0.75),
        )
    )
    assert decoded_seconds(audio) == pytest.approx(speech_seconds(text), abs=0.1)
    [call] = state.calls()
    assert call.path == "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM"
    assert call.query["output_format"] == "mp3_44100_128"
    assert call.headers["xi-api-key"] == DEFAULT_KEY
    assert call.body["text"] == text
    assert call.body["voice_settings"]["stability"] == 0.5


def test_sdk_sound_effects(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    client, state = fake
    audio = b"".join(
        client.text_to_sound_effects.convert(
            text="glass shatters",
            duration_seconds=1.5,
            prompt_influence=0.5,
            output_format="pcm_16000",
        )
    )
    assert len(audio) / 2 / 16000 == pytest.approx(1.5, abs=0.05)  # raw 16-bit mono
    [call] = state.calls()
    assert call.path == "/v1/sound-generation"
    assert call.body["duration_seconds"] == 1.5


def test_sdk_sees_the_auth_error_shape(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    client, _ = fake
    bad = ElevenLabs(api_key="wrong", base_url=str(client._client_wrapper.get_base_url()))
    with pytest.raises(ApiError) as caught:
        b"".join(bad.text_to_speech.convert("21m00Tcm4TlvDq8ikWAM", text="hello"))
    assert caught.value.status_code == 401
    assert caught.value.body["detail"]["code"] == "invalid_api_key"


def test_sdk_sees_voice_not_found(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    client, _ = fake
    with pytest.raises(ApiError) as caught:
        b"".join(client.text_to_speech.convert("ghost", text="hello"))
    assert caught.value.status_code == 400
    assert caught.value.body["detail"]["status"] == "voice_not_found"


def test_sdk_sees_a_429_with_retry_after(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    """The SDK does not retry streamed audio itself; it must see the status, header and code."""
    client, state = fake
    state.fail_next(429, "concurrent_limit_exceeded", retry_after=2)
    with pytest.raises(ApiError) as caught:
        b"".join(client.text_to_speech.convert("21m00Tcm4TlvDq8ikWAM", text="hello there"))
    assert caught.value.status_code == 429
    assert caught.value.headers["retry-after"] == "2"
    assert caught.value.body["detail"]["code"] == "concurrent_limit_exceeded"
    audio = b"".join(client.text_to_speech.convert("21m00Tcm4TlvDq8ikWAM", text="hello there"))
    assert decoded_seconds(audio) > 0.3
    assert len(state.calls()) == 2


def test_sdk_formats_are_all_served(fake: tuple[ElevenLabs, ElevenLabsFake]) -> None:
    client, _ = fake
    for output_format in ("opus_48000_64", "wav_22050", "ulaw_8000"):
        audio = b"".join(
            client.text_to_sound_effects.convert(
                text="beep", duration_seconds=0.5, output_format=output_format
            )
        )
        assert len(audio) > 1000, output_format


def test_concurrency_beyond_the_plan_limit_is_refused(
    fake: tuple[ElevenLabs, ElevenLabsFake],
) -> None:
    """Two slow requests fill the (default, Free-plan) limit of 2; a third is refused at once."""
    client, state = fake
    state.slow_next(2.0, times=2)

    def speak() -> bytes:
        return b"".join(client.text_to_speech.convert("21m00Tcm4TlvDq8ikWAM", text="one two"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.submit(speak), pool.submit(speak)
        deadline = time.monotonic() + 10
        while len(state.calls()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ApiError) as caught:
            speak()
        assert caught.value.status_code == 429
        assert caught.value.body["detail"]["code"] == "concurrent_limit_exceeded"
        assert first.result() and second.result()
    assert speak(), "the limit frees up once the in-flight requests finish"
