"""assemble_video.py --manifest as a real subprocess: concat by stream copy, intro/outro cache,
music, two-pass loudness, raw scenes, 16:9 and 9:16, schema errors, missing segments."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.scripts.assembly_helpers import (
    ENV,
    facts,
    ffmpeg,
    loudness,
    make_clip,
    make_noise,
    make_voice,
    packets,
    write_json,
)
from tests.scripts.conftest import ScriptRun, run_script


def assemble(manifest: Path, output: Path, *extra: str) -> ScriptRun:
    return run_script(
        "assemble_video.py", "--manifest", str(manifest), "--output", str(output), *extra, env=ENV
    )


def ok(run: ScriptRun) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr
    return run.result


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two finished segments (made by the script itself) plus foreign intro/outro and music."""
    d = tmp_path_factory.mktemp("manifest-media")
    m = {
        "clip3": make_clip(d / "clip3.mp4", 3.0),
        "clip1": make_clip(d / "clip1.mp4", 1.0),
        "voice2": make_voice(d / "voice2.wav", 2.0),
        "voice1": make_voice(d / "voice1.wav", 1.5, freq=330),
        "sfx": make_noise(d / "sfx.wav", 3.0),
        "music": d / "music.mp3",
        "intro": d / "intro.mp4",
        "outro": d / "outro.mp4",
    }
    ffmpeg("-f", "lavfi", "-i", "sine=f=330:d=1:sample_rate=44100", "-ac", "2", str(m["music"]))
    ffmpeg("-f", "lavfi", "-i", "smptebars=s=320x240:r=25:d=1", "-f", "lavfi", "-i", "sine=f=880:d=1",
           "-c:v", "libx264", "-profile:v", "baseline", "-c:a", "aac", "-shortest", str(m["intro"]))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=640x480:r=24:d=0.8", str(m["outro"]))
    scenes = [
        {"number": 1, "clip": str(m["clip3"]), "narration": str(m["voice2"]), "sfx": str(m["sfx"])},
        {"number": 2, "clip": str(m["clip1"]), "narration": str(m["voice1"])},
    ]
    for scene in scenes:
        spec = write_json(d / f"scene{scene['number']}.json", {"size": "640x360", **scene})
        out = d / f"seg{scene['number']}.mp4"
        ok(run_script("assemble_video.py", "--scene", str(spec), "--output", str(out), env=ENV))
        m[f"seg{scene['number']}"] = out
    return m


def test_segments_intro_outro_music_loudness_and_cache(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    cache = tmp_path / "cache"
    manifest = write_json(tmp_path / "m.json", {
        "segments": [str(media["seg1"]), {"path": str(media["seg2"]), "number": 2}],
        "intro": str(media["intro"]), "outro": str(media["outro"]),
        "music": {"path": str(media["music"]), "gain_db": -18}, "cache_dir": str(cache),
    })  # fmt: skip
    out = tmp_path / "final.mp4"
    result = ok(assemble(manifest, out))
    f = facts(out)
    assert (f.width, f.height, f.fps) == (640, 360, 30.0)
    assert (f.vcodec, f.acodec, f.sample_rate, f.channels) == ("h264", "aac", 48000, 2)
    scene_s = [s["duration"] for s in result["scenes"]]
    assert scene_s == [2.5, 2.0]
    labels = [p["label"] for p in result["pieces"]]
    assert labels == ["intro", "segment 1", "segment 2", "outro"]
    expected = sum(scene_s) + 1.0 + 0.8  # intro 1 s, outro 0.8 s
    assert f.video_s == pytest.approx(expected, abs=0.2)
    assert result["duration"] == pytest.approx(f.video_s, abs=0.01)
    assert f.audio_s == pytest.approx(f.video_s, abs=0.05)
    assert loudness(out) == pytest.approx(-14.0, abs=1.0)
    assert result["loudness"]["normalization_type"] in ("linear", "dynamic")
    # Scene video is stream-copied: segment 1's packets appear unchanged after the intro.
    intro_frames = round(result["pieces"][0]["duration"] * 30)
    seg1 = packets(media["seg1"])
    assert packets(out)[intro_frames : intro_frames + len(seg1)] == seg1
    assert result["cache_hits"] == {"intro": False, "outro": False}
    cached = sorted(cache.glob("*.mp4"))
    assert len(cached) == 2
    mtimes = [p.stat().st_mtime_ns for p in cached]

    again = ok(assemble(manifest, tmp_path / "again.mp4"))
    assert again["cache_hits"] == {"intro": True, "outro": True}
    assert [p.stat().st_mtime_ns for p in sorted(cache.glob("*.mp4"))] == mtimes
    assert facts(tmp_path / "again.mp4").frames == f.frames


def test_raw_scenes_are_rendered_then_concatenated(tmp_path: Path, media: dict[str, Path]) -> None:
    manifest = write_json(tmp_path / "m.json", {"size": "640x360", "scenes": [
        {"number": 1, "clip": str(media["clip3"]), "narration": str(media["voice2"]),
         "narration_text": "First scene words go here", "padding_s": 0.3},
        {"number": 2, "clip": str(media["clip1"]), "narration": str(media["voice1"]), "duration_s": 1.2},
    ]})  # fmt: skip
    out = tmp_path / "final.mp4"
    result = ok(assemble(manifest, out, "--captions", "--music", str(media["music"])))
    assert [s["duration"] for s in result["scenes"]] == [2.3, 1.2]
    assert [s["caption_chunks"] for s in result["rendered_scenes"]] == [1, 0]
    f = facts(out)
    assert f.frames == 69 + 36 and f.video_s == pytest.approx(3.5, abs=0.2)
    assert loudness(out) == pytest.approx(-14.0, abs=1.0)


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920"])
def test_full_size_landscape_and_portrait(
    tmp_path: Path, media: dict[str, Path], size: str
) -> None:
    manifest = write_json(tmp_path / "m.json", {"size": size, "scenes": [
        {"number": 1, "clip": str(media["clip1"]), "narration": str(media["voice1"]),
         "narration_text": "Captions in the channel style stay legible", "duration_s": 1.0,
         "captions": {"font_size": 72, "colour": "#FFFF00", "outline": 5}},
    ]})  # fmt: skip
    out = tmp_path / "final.mp4"
    ok(assemble(manifest, out))
    f = facts(out)
    assert f"{f.width}x{f.height}" == size and f.fps == 30.0 and f.frames == 30
    assert loudness(out) == pytest.approx(-14.0, abs=1.0)
    if os.environ.get("ASSEMBLY_KEEP_FRAMES"):  # for looking at the captions by eye
        ffmpeg(
            "-ss",
            "0.3",
            "-i",
            str(out),
            "-frames:v",
            "1",
            f"{os.environ['ASSEMBLY_KEEP_FRAMES']}/{size}.png",
        )


@pytest.mark.parametrize(
    ("manifest", "words"),
    [
        ({"segments": ["SEG"], "scenes": []}, ["manifest", "exactly one"]),
        ({"segments": "SEG"}, ["manifest", "'segments'"]),
        ({"segments": ["SEG", {"paht": "SEG"}]}, ["segment 2", "'paht'"]),
        ({"scenes": [{"number": 1, "clip": "CLIP", "narration": "VOICE"}, {"number": 2, "narration": "VOICE"}]},
         ["scene 2", "'clip'"]),
        ({"scenes": [{"number": 1, "clip": "CLIP", "narration": "VOICE", "padding_s": -1}]}, ["scene 1", "'padding_s'"]),
        ({"scenes": [{"clip": "CLIP", "narration": "VOICE"}]}, ["scene entry 1", "'number'"]),
        ({"scenes": [{"number": 1, "clip": "CLIP", "narration": "VOICE"}] * 2}, ["scene 1", "'number'"]),
        ({"segments": ["SEG"], "music": {"path": "SEG", "gain_db": "loud"}}, ["music", "'gain_db'"]),
        ({"segments": ["SEG"], "aspect_ratio": "4:3"}, ["manifest", "'aspect_ratio'"]),
    ],
)  # fmt: skip
def test_manifest_validation_names_scene_and_field(
    tmp_path: Path, media: dict[str, Path], manifest: dict[str, Any], words: list[str]
) -> None:
    names = {"SEG": str(media["seg1"]), "CLIP": str(media["clip1"]), "VOICE": str(media["voice1"])}

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    run = assemble(write_json(tmp_path / "m.json", fill(manifest)), tmp_path / "out.mp4")
    assert run.returncode == 2, run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("❌") and all(w in line for w in words), line
    assert not (tmp_path / "out.mp4").exists()


def test_missing_or_corrupt_segment_fails_naming_it(tmp_path: Path, media: dict[str, Path]) -> None:
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(media["seg2"].read_bytes()[:3000])  # truncated: header without frames
    for bad, word in ((tmp_path / "nope.mp4", "not found"), (corrupt, "broken.mp4")):
        manifest = write_json(tmp_path / "m.json", {"segments": [str(media["seg1"]), str(bad)]})
        run = assemble(manifest, tmp_path / "out.mp4")
        assert run.returncode == 1, run.stderr
        line = run.stderr.strip().splitlines()[-1]
        assert line.startswith("❌") and "segment 2" in line and word in line, line
        assert not (tmp_path / "out.mp4").exists()


def test_segment_from_other_encoder_settings_is_normalised(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    """A segment whose H.264 header differs would decode as garbage after a stream copy."""
    spec = write_json(tmp_path / "s.json", {"number": 3, "clip": str(media["clip1"]), "narration": str(media["voice1"]),
                                            "size": "640x360"})  # fmt: skip
    foreign = tmp_path / "foreign.mp4"
    ok(
        run_script(
            "assemble_video.py",
            "--scene",
            str(spec),
            "--output",
            str(foreign),
            "--preset",
            "veryfast",
        )
    )
    manifest = write_json(tmp_path / "m.json", {"segments": [str(media["seg1"]), str(foreign)]})
    out = tmp_path / "final.mp4"
    result = ok(assemble(manifest, out))
    assert result["normalized_segments"] == [2]
    assert facts(out).frames == 75 + 60
    assert "error" not in ffmpeg("-v", "error", "-i", str(out), "-f", "null", "-").lower()


def test_audio_stays_in_sync_across_segment_boundaries(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    """Each scene's voice starts with a beep: in the final cut every beep starts with its scene."""
    beep = tmp_path / "beep.wav"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=f=1000:d=0.15:sample_rate=22050",
        "-af",
        "apad=whole_dur=0.5",
        str(beep),
    )
    segments, starts, t = [], [], 0.0
    for number, seconds in enumerate((0.9, 1.1, 0.7, 1.0), start=1):
        spec = write_json(tmp_path / f"s{number}.json", {"number": number, "clip": str(media["clip1"]),
                          "narration": str(beep), "duration_s": seconds, "size": "640x360"})  # fmt: skip
        seg = tmp_path / f"seg{number}.mp4"
        ok(run_script("assemble_video.py", "--scene", str(spec), "--output", str(seg), env=ENV))
        segments.append(str(seg))
        starts.append(t)
        t += seconds
    out = tmp_path / "final.mp4"
    ok(assemble(write_json(tmp_path / "m.json", {"segments": segments}), out))
    import av
    import numpy as np

    with av.open(str(out)) as c:
        audio = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    loud = np.abs(audio) > 0.25 * np.abs(audio).max()
    for start in starts:
        i = round(start * 48000)
        onset = i + int(np.argmax(loud[i : i + 4800]))
        assert loud[i : i + 4800].any(), f"no beep after {start} s"
        assert 0 <= (onset - i) / 48000 < 0.01, (
            f"beep of the scene at {start} s starts at {onset / 48000:.4f} s"
        )
        if i:  # the previous scene's beep ended long before: nothing audible right before a start
            assert not loud[i - 2400 : i - 240].any(), f"sound just before {start} s: drift"
    assert facts(out).audio_s == pytest.approx(t, abs=0.03)


def test_silent_video_is_left_silent_and_result_is_strict_json(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    """A scene without voice or effects (duration_s only): no gain can reach -14 LUFS; no NaN/inf."""
    manifest = write_json(tmp_path / "m.json", {"size": "640x360", "scenes": [
        {"number": 1, "clip": str(media["clip1"]), "duration_s": 1.0}]})  # fmt: skip
    run = assemble(manifest, tmp_path / "silent.mp4")
    assert run.returncode == 0, run.stderr

    def reject(token: str) -> None:
        raise AssertionError(f"non-standard JSON constant {token}")

    result = json.loads(run.stdout.strip().splitlines()[-1], parse_constant=reject)
    assert result["loudness"]["normalization_type"] == "skipped (silent)"
    assert result["loudness"]["input_i"] is None
    f = facts(tmp_path / "silent.mp4")
    assert f.frames == 30 and f.audio_s == pytest.approx(1.0, abs=0.03)
