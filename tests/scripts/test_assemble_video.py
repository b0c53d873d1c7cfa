"""assemble_video.py --scene as a real subprocess: trim/extend, mix, captions, watermark, copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.scripts.assembly_helpers import (
    ENV,
    facts,
    frames_rgb,
    loudness,
    make_clip,
    make_noise,
    make_voice,
    packets,
    write_json,
)
from tests.scripts.conftest import ScriptRun, run_script

INJECTION_TEXT = "It's 5:00 \\N {\\c&H0000FF&}{\\fs150}red, [x;y] a\\b 'q'"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("scene-media")
    from PIL import Image

    logo = d / "logo.png"
    Image.new("RGBA", (64, 64), (255, 0, 0, 255)).save(logo)
    return {
        "clip3": make_clip(d / "clip3.mp4", 3.0),
        "clip22": make_clip(d / "clip22.mp4", 2.2),
        "clip1": make_clip(d / "clip1.mp4", 1.0),
        "clip25": make_clip(d / "clip25.mp4", 2.5),
        "gray": make_clip(d / "gray.mp4", 2.0, source="color=c=gray"),
        "voice2": make_voice(d / "voice2.wav", 2.0),
        "sfx": make_noise(d / "sfx.wav", 3.0),
        "logo": logo,
    }


def render(
    tmp_path: Path,
    scene: dict[str, Any],
    name: str = "seg",
    *extra: str,
    env: dict[str, str] | None = None,
) -> ScriptRun:
    spec = write_json(tmp_path / f"{name}.json", {"size": "640x360", **scene})
    return run_script(
        "assemble_video.py", "--scene", str(spec), "--output", str(tmp_path / f"{name}.mp4"), *extra,
        env={**ENV, **(env or {})},
    )  # fmt: skip


def ok(run: ScriptRun) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("❌") == 0
    return run.result


def test_help_and_bad_usage(tmp_path: Path) -> None:
    assert run_script("assemble_video.py", "--help").returncode == 0
    for args in ([], ["--output", "x.mp4"], ["--scene", "a.json", "--manifest", "b.json", "--output", "x.mp4"],
                 ["--scene", "a.json", "--output", "x.mp4", "--preset", "warp"]):  # fmt: skip
        assert run_script("assemble_video.py", *args).returncode == 2, args
    bad = run_script("assemble_video.py", "--scene", "a.json", "--output", str(tmp_path / "x.avi"))
    assert bad.returncode == 2 and bad.stderr.startswith("❌")


def test_longer_clip_is_trimmed_and_audio_mixed(tmp_path: Path, media: dict[str, Path]) -> None:
    result = ok(render(tmp_path, {"number": 1, "clip": str(media["clip3"]), "narration": str(media["voice2"]),
                                  "sfx": str(media["sfx"]), "padding_s": 0.5}))  # fmt: skip
    out = facts(tmp_path / "seg.mp4")
    assert result["scene"]["clip_mode"] == "trim" and result["duration"] == pytest.approx(2.5)
    assert (out.width, out.height, out.fps, out.frames) == (640, 360, 30.0, 75)
    assert (out.vcodec, out.acodec, out.sample_rate, out.channels) == ("h264", "aac", 48000, 2)
    assert out.audio_s == pytest.approx(2.5, abs=0.03)
    assert loudness(tmp_path / "seg.mp4") > -35  # voice and effects are there, not silence


def test_a_scene_lasts_at_least_its_planned_length(tmp_path: Path, media: dict[str, Path]) -> None:
    # 2 s of voice + 0.5 s padding, but the plan asks for 3 s: the plan wins
    held = ok(render(tmp_path, {"number": 1, "clip": str(media["clip3"]), "narration": str(media["voice2"]),
                                "min_duration_s": 3.0}, "held"))  # fmt: skip
    assert held["duration"] == pytest.approx(3.0) and facts(tmp_path / "held.mp4").frames == 90
    # a plan shorter than the narration never cuts the voice
    spoken = ok(render(tmp_path, {"number": 1, "clip": str(media["clip3"]), "narration": str(media["voice2"]),
                                  "min_duration_s": 1.0}, "spoken"))  # fmt: skip
    assert spoken["duration"] == pytest.approx(2.5)


def test_much_shorter_clip_freezes_its_last_frame(tmp_path: Path, media: dict[str, Path]) -> None:
    result = ok(
        render(
            tmp_path, {"number": 2, "clip": str(media["clip1"]), "narration": str(media["voice2"])}
        )
    )
    assert result["scene"]["clip_mode"] == "freeze"
    out = facts(tmp_path / "seg.mp4")
    assert out.frames == 75
    f = frames_rgb(tmp_path / "seg.mp4", [10, 20, 45, 74])
    assert np.abs(f[10] - f[20]).mean() > 3  # the clip moves while it plays
    assert np.abs(f[45] - f[74]).mean() < 1.5  # then its last frame is held


def test_slightly_shorter_clip_is_slowed_not_frozen(tmp_path: Path, media: dict[str, Path]) -> None:
    result = ok(
        render(
            tmp_path, {"number": 3, "clip": str(media["clip22"]), "narration": str(media["voice2"])}
        )
    )
    assert result["scene"]["clip_mode"] == "slow"
    assert facts(tmp_path / "seg.mp4").frames == 75
    f = frames_rgb(tmp_path / "seg.mp4", [60, 74])
    assert np.abs(f[60] - f[74]).mean() > 3  # still moving at the end: slowed, not frozen


def test_delivery_format_clip_of_exact_length_is_stream_copied(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    result = ok(render(tmp_path, {"number": 4, "clip": str(media["clip25"]), "narration": str(media["voice2"]),
                                  "duration_s": 2.5}))  # fmt: skip
    assert result["scene"]["video"] == "copy"
    assert packets(tmp_path / "seg.mp4") == packets(media["clip25"])
    # The same clip needing captions must be re-encoded instead.
    again = ok(render(tmp_path, {"number": 4, "clip": str(media["clip25"]), "narration": str(media["voice2"]),
                                 "duration_s": 2.5, "narration_text": "hello there", "captions": True}, "cap"))  # fmt: skip
    assert again["scene"]["video"] == "encode"


def _changed_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.nonzero(np.abs(a - b).max(axis=2).max(axis=1) > 60)[0]


def test_captions_burned_in_the_caption_area_only(tmp_path: Path, media: dict[str, Path]) -> None:
    scene = {"number": 5, "clip": str(media["clip3"]), "narration": str(media["voice2"]),
             "narration_text": "The quick brown fox jumps over the lazy dog today"}  # fmt: skip
    plain = ok(render(tmp_path, scene, "plain"))
    captioned = ok(
        render(tmp_path, {**scene, "captions": {"font_size": 64, "colour": "#FFFF00"}}, "cap")
    )
    assert plain["scene"]["caption_chunks"] == 0 and captioned["scene"]["caption_chunks"] == 2
    a = frames_rgb(tmp_path / "plain.mp4", [15])[15]
    b = frames_rgb(tmp_path / "cap.mp4", [15])[15]
    rows = _changed_rows(a, b)
    assert rows.size > 10, "no caption drawn"
    assert rows.min() > 360 * 0.7, (
        f"caption pixels outside the bottom area: rows {rows.min()}..{rows.max()}"
    )
    assert np.abs(a[:240] - b[:240]).mean() < 2  # elsewhere the two renders agree


def test_injection_text_renders_as_plain_text(tmp_path: Path, media: dict[str, Path]) -> None:
    # A temp dir with filtergraph metacharacters in its path exercises the path escaping too.
    weird = tmp_path / "we'ird:dir,[x];y"
    weird.mkdir()
    scene = {"number": 6, "clip": str(media["gray"]), "narration": str(media["voice2"]),
             "narration_text": INJECTION_TEXT, "captions": {"words_per_chunk": 20}}  # fmt: skip
    result = ok(render(tmp_path, scene, "inj", env={"TMPDIR": str(weird)}))
    assert result["scene"]["caption_chunks"] == 1
    plain = ok(render(tmp_path, {**scene, "captions": False}, "noinj"))
    assert plain["scene"]["caption_chunks"] == 0
    a = frames_rgb(tmp_path / "noinj.mp4", [20])[20]
    b = frames_rgb(tmp_path / "inj.mp4", [20])[20]
    rows = _changed_rows(a, b)
    assert rows.size > 5, "caption missing"
    # One line of normal-size text: no \N line break and no {\fs150} took effect ...
    assert rows.max() - rows.min() < 360 * 0.10, f"caption spans rows {rows.min()}..{rows.max()}"
    # ... and no {\c...} colour override: white text, black outline, on gray.
    red = (b[..., 0] > 150) & (b[..., 1] < 90) & (b[..., 2] < 90)
    assert red.sum() == 0


def test_watermark_is_overlaid(tmp_path: Path, media: dict[str, Path]) -> None:
    scene = {"number": 7, "clip": str(media["gray"]), "narration": str(media["voice2"]),
             "watermark": {"path": str(media["logo"]), "position": "top-left", "opacity": 1.0, "scale": 0.1}}  # fmt: skip
    result = ok(render(tmp_path, scene))
    assert result["scene"]["watermark"] is True
    f = frames_rgb(tmp_path / "seg.mp4", [5])[5]
    corner, middle = f[20:40, 20:40].mean(axis=(0, 1)), f[170:190, 310:330].mean(axis=(0, 1))
    assert corner[0] > 200 and corner[1] < 60, corner  # the red logo
    assert abs(middle[0] - middle[1]) < 10  # gray elsewhere


@pytest.mark.parametrize(
    ("scene", "code", "words"),
    [
        ({"number": 2, "narration": "VOICE"}, 2, ["scene 2", "'clip'", "required"]),
        ({"number": 3, "clip": "CLIP", "narration": "VOICE", "duration_s": "long"}, 2, ["scene 3", "'duration_s'"]),
        ({"number": 4, "clip": "CLIP", "narration": "VOICE", "captons": True}, 2, ["scene 4", "'captons'"]),
        ({"number": 5, "clip": "CLIP", "narration": "VOICE", "captions": {"font_size": 1}}, 2, ["scene 5", "'font_size'"]),
        ({"number": 6, "clip": "CLIP", "narration": "VOICE", "watermark": {"path": "LOGO", "position": "nowhere"}},
         2, ["scene 6", "'position'"]),
        ({"number": 7, "clip": "CLIP", "narration": "VOICE", "size": "1920x1079"}, 2, ["scene 7", "'size'"]),
        ({"number": 8, "clip": "CLIP"}, 2, ["scene 8", "'narration'"]),
        ({"number": 9, "clip": "missing.mp4", "narration": "VOICE"}, 1, ["scene 9", "'clip'", "not found"]),
        ({"number": 10, "clip": "CORRUPT", "narration": "VOICE"}, 1, ["scene 10", "clip"]),
    ],
)  # fmt: skip
def test_scene_validation_names_scene_and_field(
    tmp_path: Path, media: dict[str, Path], scene: dict[str, Any], code: int, words: list[str]
) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    names = {
        "CLIP": media["clip3"],
        "VOICE": media["voice2"],
        "LOGO": media["logo"],
        "CORRUPT": corrupt,
    }
    scene = {k: str(names.get(v, v)) if isinstance(v, str) else v for k, v in scene.items()}
    if isinstance(scene.get("watermark"), dict):
        scene["watermark"] = {**scene["watermark"], "path": str(media["logo"])}
    run = render(tmp_path, scene)
    assert run.returncode == code, run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("❌") and all(w in line for w in words), line
    assert not (tmp_path / "seg.mp4").exists()
