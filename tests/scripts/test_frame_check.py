"""What a viewer sees in an offline scene: painted, moved and captioned by the real scripts.

The procedural painter, the Ken Burns mover and the assembler run as subprocesses on a small
frame. The same scene is assembled with captions off and on: the two may differ only in the
caption band, and every caption pixel sits inside the title-safe area (the centre 90 %).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.scripts.assembly_helpers import ENV, frames_rgb, make_voice, write_json
from tests.scripts.conftest import run_script

PROMPT = "a lighthouse on a rocky headland above the sea, at night under a starry sky"
NARRATION = "Every night a keeper climbed the stairs to keep the light burning bright"
SIZES = {"16:9": (640, 360), "9:16": (360, 640)}
SAFE = 0.05  # title-safe margin on each side, a fraction of the frame


def _ok(name: str, *args: str) -> None:
    run = run_script(name, *args, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]


def _scene(
    tmp_path: Path, aspect: str, watermark: dict[str, object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Frame 30 of the scene assembled without and with captions (both with ``watermark``)."""
    w, h = SIZES[aspect]
    image, clip = tmp_path / f"{w}.png", tmp_path / f"{w}.mp4"
    _ok("generate_asset.py", "--prompt", PROMPT, "--output", str(image), "--size", f"{w}x{h}",
        "--aspect-ratio", aspect)  # fmt: skip
    _ok("generate_video.py", "--image", str(image), "--output", str(clip), "--provider",
        "kenburns", "--duration", "2", "--size", f"{w}x{h}", "--prompt", "slow push in")  # fmt: skip
    voice = make_voice(tmp_path / f"{w}.wav", 1.8)
    frames = []
    for captions in (False, True):
        spec = write_json(tmp_path / f"{w}-{captions}.json", {
            "size": f"{w}x{h}", "number": 1, "clip": str(clip), "narration": str(voice),
            "narration_text": NARRATION, "captions": captions,
            **({"watermark": watermark} if watermark else {})})  # fmt: skip
        out = tmp_path / f"{w}-{captions}.mp4"
        _ok("assemble_video.py", "--scene", str(spec), "--output", str(out))
        frames.append(frames_rgb(out, [30])[30])
    return frames[0], frames[1]


@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_text_only_in_the_caption_band_inside_title_safe(tmp_path: Path, aspect: str) -> None:
    w, h = SIZES[aspect]
    plain, captioned = _scene(tmp_path, aspect)
    changed = np.abs(plain - captioned).max(axis=2) > 40
    rows, cols = np.nonzero(changed)
    assert rows.size > 50, "no caption drawn"
    # The caption band: the lower part of the frame, inside the title-safe area.
    assert rows.min() > h * 0.5, (aspect, rows.min())
    assert rows.max() < h * (1 - SAFE), (aspect, rows.max())
    assert cols.min() > w * SAFE and cols.max() < w * (1 - SAFE), (aspect, cols.min(), cols.max())
    # Above the band the captioned frame is the same picture: nothing else was burned in.
    top = slice(0, int(h * 0.5))
    assert np.abs(plain[top] - captioned[top]).mean() < 1.0
    # And the picture itself is a painted scene, not an empty frame.
    assert plain.std() > 10


@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_captions_stay_clear_of_a_watermark_on_their_edge(tmp_path: Path, aspect: str) -> None:
    w, h = SIZES[aspect]
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (200, 100), (255, 0, 255, 255)).save(logo)  # a 2:1 magenta block
    scale, margin = 0.4, 0.03
    mark = {"path": str(logo), "position": "bottom-right", "scale": scale, "opacity": 1.0,
            "margin": margin}  # fmt: skip
    plain, captioned = _scene(tmp_path, aspect, mark)
    logo_w = round(w * scale / 2) * 2
    logo_top = h - round(min(w, h) * margin) - logo_w // 2  # where the logo starts, from the top
    # The logo is where the geometry says: magenta just below its top edge.
    logo_x = w - round(min(w, h) * margin) - logo_w // 2  # the logo's middle column
    r, g, b = plain[logo_top + 3, logo_x]
    assert r > 200 and b > 200 and g < 80, (aspect, plain[logo_top + 3, logo_x])
    changed = np.abs(plain - captioned).max(axis=2) > 40
    rows, _ = np.nonzero(changed)
    assert rows.size > 50, "no caption drawn"
    assert rows.max() < logo_top, (aspect, rows.max(), logo_top)  # every caption pixel above it
