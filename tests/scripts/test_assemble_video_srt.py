"""assemble_video.py --manifest --srt: the whole video's captions as SRT, timed on the final timeline
(each segment's chunks shifted by its start, the intro's length counted)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tests.scripts.assembly_helpers import ENV, ffmpeg, make_clip, make_voice, write_json
from tests.scripts.conftest import run_script

TEXTS = ["One two three four five six. Seven.", "Hello there."]
CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("srt-media")
    m = {"intro": d / "intro.mp4"}
    ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=640x360:r=30:d=1", "-f", "lavfi", "-i",
           "sine=f=880:d=1", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(m["intro"]))  # fmt: skip
    for n, (clip_s, voice_s) in enumerate(((3.0, 2.0), (1.0, 1.5)), start=1):
        clip, voice = make_clip(d / f"clip{n}.mp4", clip_s), make_voice(d / f"v{n}.wav", voice_s)
        spec = write_json(d / f"scene{n}.json", {
            "number": n, "size": "640x360", "clip": str(clip), "narration": str(voice),
        })  # fmt: skip
        seg = d / f"seg{n}.mp4"
        run = run_script("assemble_video.py", "--scene", str(spec), "--output", str(seg), env=ENV)
        assert run.returncode == 0, run.stderr
        m[f"seg{n}"], m[f"voice{n}"] = seg, voice
    return m


def test_srt_cues_follow_the_segments_after_the_intro(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    manifest = write_json(tmp_path / "m.json", {
        "segments": [
            {"path": str(media[f"seg{n}"]), "number": n, "text": TEXTS[n - 1],
             "narration": str(media[f"voice{n}"])}
            for n in (1, 2)
        ],
        "intro": str(media["intro"]),
    })  # fmt: skip
    out, srt = tmp_path / "final.mp4", tmp_path / "final.srt"
    run = run_script(
        "assemble_video.py", "--manifest", str(manifest), "--output", str(out),
        "--srt", str(srt), env=ENV,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["outputs"]["srt"] == str(srt)
    pieces = result["pieces"]
    assert pieces[0]["label"] == "intro"
    starts, t = [], 0.0
    for piece in pieces:
        if piece["label"].startswith("segment"):
            starts.append((t, t + piece["duration"]))
        t += piece["duration"]
    cues = [
        (int(g[0]), _seconds(*g[1:5]), _seconds(*g[5:9]), g[9])
        for g in CUE.findall(srt.read_text(encoding="utf-8"))
    ]
    # 5 words a chunk on a landscape frame, cut after a sentence end: 3 chunks, then 1.
    assert [c[3] for c in cues] == ["One two three four five", "six.", "Seven.", "Hello there."]
    assert [c[0] for c in cues] == [1, 2, 3, 4] and result["srt_cues"] == 4
    (s1, e1), (s2, e2) = starts
    assert s1 == pytest.approx(pieces[0]["duration"], abs=0.002) and s1 > 0.9
    assert cues[0][1] == pytest.approx(s1, abs=0.002)  # the first chunk starts with its segment
    assert cues[3][1] == pytest.approx(s2, abs=0.002)
    for _, start, end, _ in cues[:3]:
        assert s1 - 0.002 <= start < end <= e1 + 0.002
    assert s2 - 0.002 <= cues[3][1] < cues[3][2] <= e2 + 0.002
    # the voice of scene 1 lasts 2 s: its chunks are spoken within it (the last one lingers 0.4 s)
    assert cues[2][2] == pytest.approx(min(e1, s1 + 2.0 + 0.4), abs=0.01)
    assert all(a[2] <= b[1] + 0.002 for a, b in itertools.pairwise(cues))
