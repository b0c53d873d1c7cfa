"""Media that is not what its extension says, handed to the scripts that consume it.

Each script must exit non-zero with one clear ``❌`` line naming the file, never a bare traceback,
and leave no output behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.assembly_helpers import ENV, ffmpeg, make_voice, write_json
from tests.scripts.conftest import run_script

CORPUS = Path(__file__).parent / "corpus" / "media"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus plus good inputs and two kinds of truncated MP4 made from a real encode."""
    d = tmp_path_factory.mktemp("media")
    files = {p.name: p for p in CORPUS.iterdir()}
    good = d / "good.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(good))  # fmt: skip
    data = good.read_bytes()
    (d / "truncated-head.mp4").write_bytes(data[:2000])  # index (moov) cut off
    (d / "truncated-tail.mp4").write_bytes(data[: len(data) // 2])  # frames cut off
    from PIL import Image

    Image.new("RGB", (320, 180), (90, 90, 200)).save(d / "good.png")
    make_voice(d / "good.wav", 1.0)
    for path in d.iterdir():
        files[path.name] = path
    return files


def assert_refused_naming(run_args: list[str], bad: str, output: Path, **kw: object) -> None:
    run = run_script(*run_args, **kw)  # type: ignore[arg-type]
    assert run.returncode != 0, run.stdout
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    assert lines and lines[-1].startswith("❌"), run.stderr[-1500:]
    assert bad in lines[-1], lines[-1]
    assert "Traceback" not in run.stderr, run.stderr[-1500:]
    assert not output.exists()


@pytest.mark.parametrize(
    ("script", "flag", "bad"),
    [
        ("create_composite.py", "--character", "text-named.png"),
        ("create_split_screen.py", "--second", "text-named.png"),
        ("generate_video.py", "--image", "text-named.png"),
        ("generate_asset.py", "--reference-image", "text-named.png"),
        ("generate_video.py", "--image", "truncated-head.mp4"),
    ],
)
def test_image_consumers_refuse_what_is_not_an_image(
    media: dict[str, Path], tmp_path: Path, script: str, flag: str, bad: str
) -> None:
    good = str(media["good.png"])
    output = tmp_path / ("out.mp4" if script == "generate_video.py" else "out.png")
    args = {
        "create_composite.py": ["--environment", good],
        "create_split_screen.py": ["--first", good],
        "generate_video.py": [
            "--prompt",
            "pan",
            "--provider",
            "kenburns",
            "--duration",
            "1",
            "--size",
            "320x180",
        ],
        "generate_asset.py": ["--prompt", "a fox", "--provider", "local", "--size", "320x180"],
    }[script]
    assert_refused_naming(
        [script, flag, str(media[bad]), *args, "--output", str(output)], bad, output
    )


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("clip", "png-named.mp4"),
        ("clip", "text-named.png"),
        ("clip", "truncated-head.mp4"),
        ("clip", "truncated-tail.mp4"),
        ("narration", "zero-byte.wav"),
        ("narration", "header-only.wav"),
        ("narration", "html-named.wav"),
        ("sfx", "zero-byte.wav"),
    ],
)
def test_assembly_refuses_media_that_is_not_what_it_claims(
    media: dict[str, Path], tmp_path: Path, field: str, bad: str
) -> None:
    scene = {"size": "320x180", "number": 1, "clip": str(media["good.mp4"]),
             "narration": str(media["good.wav"]), field: str(media[bad])}  # fmt: skip
    if field == "clip" and bad == "truncated-tail.mp4":
        scene["duration_s"] = 2.0  # the index still claims 2 s: it must not pass as a short clip
    spec = write_json(tmp_path / "scene.json", scene)
    output = tmp_path / "scene.mp4"
    assert_refused_naming(
        ["assemble_video.py", "--scene", str(spec), "--output", str(output)], bad, output, env=ENV
    )
