"""Shell, argv and FFmpeg-filter injection through prompts, narration and captions.

The scripts run as real subprocesses with every hostile text of the corpus, the way the worker
calls them (an argv list, no shell). Each run either renders the text literally or refuses with
a clear message; no marker file the texts try to create may ever appear.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.scripts.assembly_helpers import ENV, facts, make_clip, make_voice, write_json
from tests.scripts.conftest import SCRIPTS, ScriptRun, run_script

CORPUS = Path(__file__).parent / "corpus" / "hostile_text.json"
ARGV_SHAPED = ("-Hello", "--output={MARK}-argv.png")  # must each be the whole value


def hostile_texts(mark: Path) -> list[str]:
    texts: list[str] = json.loads(CORPUS.read_text(encoding="utf-8"))["texts"]
    return [t.replace("{MARK}", str(mark)) for t in texts]


def joined_text(mark: Path) -> str:
    """Every corpus text in one value (one run per script keeps the suite fast)."""
    return " ".join(t for t in hostile_texts(mark) if t.split("=")[0] not in {"-Hello", "--output"})


def assert_clean(run: ScriptRun, mark: Path) -> dict[str, object]:
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    leftovers = sorted(p.name for p in mark.parent.iterdir() if p.name.startswith(mark.name))
    assert leftovers == [], f"injection created {leftovers}"
    return run.result


@pytest.fixture
def mark(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


def test_corpus_has_every_kind_of_attack(mark: Path) -> None:
    text = "\n".join(hostile_texts(mark))
    for needle in ("$(", "`", "; rm -rf", "[out]", "drawtext=", "%{pts}", "\\N", "\n", "\u202e"):
        assert needle in text, needle
    assert set(ARGV_SHAPED) <= set(json.loads(CORPUS.read_text())["texts"])


def test_image_and_voice_and_effect_take_text_literally(tmp_path: Path, mark: Path) -> None:
    text = joined_text(mark)
    image = tmp_path / "asset.png"
    result = assert_clean(
        run_script("generate_asset.py", "--prompt", text, "--output", str(image),
                   "--provider", "local", "--size", "320x180"),
        mark,
    )  # fmt: skip
    assert result["outputs"] == {"image": str(image)} and image.read_bytes()[:4] == b"\x89PNG"
    voice = tmp_path / "voice.wav"
    result = assert_clean(
        run_script("generate_audio.py", "--text", text, "--output", str(voice),
                   "--provider", "espeak"),
        mark,
    )  # fmt: skip
    assert float(result["duration"]) > 1 and voice.stat().st_size > 1000  # type: ignore[arg-type]
    sfx = tmp_path / "sfx.wav"
    assert_clean(
        run_script("generate_sound_effects.py", "--text", text, "--output", str(sfx),
                   "--provider", "synth", "--duration", "1"),
        mark,
    )  # fmt: skip
    assert sfx.stat().st_size > 1000


def test_text_shaped_like_an_option_is_still_the_value(tmp_path: Path, mark: Path) -> None:
    """Narration "-Hello" once failed the step with argparse's "expected one argument"; and
    "--output=..." as a prompt must not become the output path."""
    hello, sneaky = (t.replace("{MARK}", str(mark)) for t in ARGV_SHAPED)
    voice = tmp_path / "voice.wav"
    result = assert_clean(
        run_script("generate_audio.py", "--text", hello, "--output", str(voice),
                   "--provider", "espeak"),
        mark,
    )  # fmt: skip
    assert result["characters"] == len(hello) and voice.stat().st_size > 1000
    image = tmp_path / "asset.png"
    result = assert_clean(
        run_script("generate_asset.py", "--prompt", sneaky, "--output", str(image),
                   "--provider", "local", "--size", "320x180"),
        mark,
    )  # fmt: skip
    assert result["outputs"] == {"image": str(image)} and image.is_file()


def test_motion_prompt_cannot_reach_the_filtergraph(tmp_path: Path, mark: Path) -> None:
    image = tmp_path / "still.png"
    assert_clean(
        run_script("generate_asset.py", "--prompt", "a hill", "--output", str(image),
                   "--provider", "local", "--size", "320x180"),
        mark,
    )  # fmt: skip
    clip = tmp_path / "clip.mp4"
    assert_clean(
        run_script("generate_video.py", "--image", str(image), "--prompt", joined_text(mark),
                   "--output", str(clip), "--provider", "kenburns", "--duration", "1",
                   "--size", "320x180"),
        mark,
    )  # fmt: skip
    made = facts(clip)
    assert (made.width, made.height) == (320, 180)
    assert 0.9 <= made.video_s <= 1.1  # no injected trim/loop changed the length


def test_captions_with_hostile_narration_render_as_one_dialogue_each(
    tmp_path: Path, mark: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 2.0, size="320x180", source="color=c=gray")
    voice = make_voice(tmp_path / "voice.wav", 2.0)
    text = joined_text(mark)
    scene = {"size": "320x180", "number": 1, "clip": str(clip), "narration": str(voice),
             "narration_text": text, "captions": {"words_per_chunk": 4}}  # fmt: skip
    spec = write_json(tmp_path / "scene.json", scene)
    out = tmp_path / "scene.mp4"
    result = assert_clean(
        run_script("assemble_video.py", "--scene", str(spec), "--output", str(out), env=ENV),
        mark,
    )
    made = facts(out)
    assert (made.width, made.height) == (320, 180)
    assert 1.9 <= made.video_s <= 2.6
    # The .ass the script writes: exactly one Dialogue line per chunk, nothing able to start
    # a line or an override block of its own.
    sys.path.insert(0, str(SCRIPTS))
    try:
        from _assembly_captions import build_ass, chunk_words, time_cues
        from _assembly_schema import CaptionStyle
    finally:
        sys.path.remove(str(SCRIPTS))
    chunks = chunk_words(text, 4)
    cues = time_cues(chunks, 2.0, 2.5)
    ass = build_ass(cues, CaptionStyle(enabled=True), (320, 180), "DejaVu Sans")
    dialogue = [line for line in ass.splitlines() if line.startswith("Dialogue:")]
    assert len(dialogue) == len(cues) == result["scene"]["caption_chunks"]  # type: ignore[index]
    assert ass.splitlines().count("[Events]") == 1 and "\r" not in ass
    for line in dialogue:
        body = line.split(",,", 1)[1].split(",", 5)[-1]
        assert "{" not in body.replace("\\{", ""), line  # every brace is libass-escaped
        assert "\\N" not in body and "\\h" not in body, line
