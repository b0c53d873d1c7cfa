"""Captions timed to the voice: espeak-ng's word events, through the sidecar, into the assembler.

Real subprocesses and real FFmpeg. The sentence has one long spoken group (a seven-digit number,
short on the page, several seconds aloud) and several short words, so a split of the speech by
chunk length puts the second caption seconds before the voice reaches it.
"""

from __future__ import annotations

import itertools
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.scripts.assembly_helpers import ENV, frames_rgb, make_clip, write_json
from tests.scripts.conftest import run_script

SENTENCE = "Ships 7777777 and more came home safely at night."
WORDS = SENTENCE.split()
CHUNK = 2  # words per caption: "Ships 7777777" | "and more" | "came home" | "safely at" | "night."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("spoken")
    wav = d / "narration.wav"
    run = run_script(
        "generate_audio.py", "--text", SENTENCE, "--output", str(wav), "--provider", "espeak",
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    sidecar = wav.with_name(wav.name + ".words.json")
    assert run.result["words_output"] == str(sidecar) and run.result["words"] == len(WORDS)
    with wave.open(str(wav)) as w:
        duration = w.getnframes() / w.getframerate()
    clip = make_clip(d / "gray.mp4", 2.0, source="color=c=gray")
    return {"wav": wav, "sidecar": sidecar, "duration": duration, "clip": clip, "dir": d}


def test_espeak_writes_one_timing_per_word_within_the_audio(spoken: dict[str, Any]) -> None:
    words = json.loads(spoken["sidecar"].read_text())
    assert [w["word"] for w in words] == WORDS
    starts = [w["start_s"] for w in words]
    assert starts[0] == pytest.approx(0.0, abs=0.3)
    assert all(b > a for a, b in itertools.pairwise(starts)), starts
    assert all(0 <= s < spoken["duration"] for s in starts), (starts, spoken["duration"])
    assert [w["end_s"] for w in words[:-1]] == starts[1:]
    assert words[-1]["end_s"] == pytest.approx(spoken["duration"], abs=0.01)
    # the number is the long group: it takes more than half of the speech
    number = words[1]["end_s"] - words[1]["start_s"]
    assert number > 0.5 * spoken["duration"], words


def _render(spoken: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    d: Path = spoken["dir"]
    scene = {"number": 1, "size": "640x360", "clip": str(spoken["clip"]),
             "narration": str(spoken["wav"]), "narration_text": SENTENCE,
             "captions": {"words_per_chunk": CHUNK}, **extra}  # fmt: skip
    spec = write_json(d / f"{name}.json", scene)
    out = d / f"{name}.mp4"
    run = run_script("assemble_video.py", "--scene", str(spec), "--output", str(out), env=ENV)
    assert run.returncode == 0, run.stderr
    return {**run.result["scene"], "path": out}


def _caption_band(path: Path, seconds: list[float]) -> list[np.ndarray]:
    frames = frames_rgb(path, [round(s * 30) for s in seconds])
    return [frames[round(s * 30)][250:].astype(float) for s in seconds]


def test_captions_change_on_the_spoken_words(spoken: dict[str, Any]) -> None:
    words = json.loads(spoken["sidecar"].read_text())
    timed = _render(spoken, "timed", words=str(spoken["sidecar"]))
    split = _render(spoken, "split")  # no timings: today's split by length
    assert (timed["caption_timing"], split["caption_timing"]) == ("words", "length")
    firsts = [words[i]["start_s"] for i in range(0, len(WORDS), CHUNK)]
    assert timed["caption_starts"] == pytest.approx(firsts, abs=0.011)
    gaps = [
        abs(a - b) for a, b in zip(timed["caption_starts"], split["caption_starts"], strict=True)
    ]
    assert max(gaps) > 0.3, (timed["caption_starts"], split["caption_starts"])

    # What a viewer sees: while the number is being spoken the first caption stays up, and the
    # second appears only once the voice reaches "and" (the split shows it far too early).
    second_by_split, second_spoken = split["caption_starts"][1], timed["caption_starts"][1]
    assert second_spoken - second_by_split > 1.0
    early = (second_by_split + second_spoken) / 2
    probe = [0.2, early, second_spoken + 0.2]
    first, during, after = _caption_band(timed["path"], probe)
    assert np.abs(first - during).mean() < 1.0, "the caption changed before the word was spoken"
    assert np.abs(during - after).mean() > 1.0, "the caption did not change on the spoken word"
    s_first, s_during, _ = _caption_band(split["path"], probe)
    assert np.abs(s_first - s_during).mean() > 1.0  # the length split changes early


def test_missing_or_mismatched_timings_fall_back_to_the_length_split(
    spoken: dict[str, Any],
) -> None:
    missing = _render(spoken, "missing", words=str(spoken["dir"] / "none.words.json"))
    assert missing["caption_timing"] == "length"
    other = write_json(
        spoken["dir"] / "other.words.json", [{"word": "Hi", "start_s": 0, "end_s": 1}]
    )
    mismatched = _render(spoken, "mismatch", words=str(other))
    assert mismatched["caption_timing"] == "length"
    assert mismatched["caption_starts"] == missing["caption_starts"]
