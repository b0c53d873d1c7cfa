"""The ``openai`` voice block becomes ``generate_audio.py``'s flags: set settings are passed,
unset ones are left out so the script keeps its own defaults."""

from __future__ import annotations

from typing import Any

from app.channels.config import ChannelConfig
from app.pipeline.items import openai_voice_args

OFFLINE = {"planner": "template", "image": "local", "video": "kenburns", "sfx": "synth"}


def _config(openai: dict[str, Any]) -> ChannelConfig:
    providers = {**OFFLINE, "voice": {"provider": "openai", "openai": openai}}
    return ChannelConfig.model_validate({"slug": "talk", "name": "Talk", "providers": providers})


def test_given_settings_become_flags() -> None:
    args = openai_voice_args(_config({
        "model": "kokoro", "voice": "af_sky", "speed": 1.25, "instructions": "calm",
        "base_url": "http://127.0.0.1:8880/v1", "cost_per_1k_chars_usd": 0}))  # fmt: skip
    flags = dict(zip(args[::2], args[1::2], strict=True))
    assert flags == {
        "--tts-model": "kokoro",
        "--tts-voice": "af_sky",
        "--tts-speed": "1.25",
        "--cost-per-1k-chars": "0",
        "--instructions": "calm",
        "--base-url": "http://127.0.0.1:8880/v1",
    }


def test_unset_settings_are_left_out() -> None:
    args = openai_voice_args(_config({}))
    assert "--instructions" not in args and "--base-url" not in args
    assert len(args) == 8  # model, voice, speed and price only
