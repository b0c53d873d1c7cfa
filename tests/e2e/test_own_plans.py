"""Plans people bring, end to end: the user's own media in the video, and ``vidgen demo --plan``
with the original project's episode format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.e2e.harness import FleetHarness, published, wait_for, write_channel
from tests.scripts.assembly_helpers import make_clip, make_voice

pytestmark = pytest.mark.slow


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / 1_000_000


def _middle_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[len(frames) // 2]


def test_own_image_clip_and_voice_are_what_the_video_shows_and_says(
    fleet: FleetHarness, tmp_path: Path
) -> None:
    write_channel(fleet.configs, "mine", gates="[]")
    image = tmp_path / "red.png"
    Image.new("RGB", (1920, 1080), (220, 20, 20)).save(image)
    voice = make_voice(tmp_path / "voice.wav", 4.0)
    clip = make_clip(tmp_path / "blue.mp4", 2.0, size="1920x1080", source="color=c=blue")
    plan = {
        "title": "Brought my own",
        "scenes": [
            {"narration": "My own picture.", "visual_prompt": "unused: the image is mine"},
            {"narration": "My own clip.", "visual_prompt": "unused: the clip is mine"},
            {"narration": "A generated scene.", "visual_prompt": "a forest at dawn"},
        ],
    }
    fleet.start()
    with fleet.client() as client:
        created = client.post(
            "/api/v1/tasks",
            json={"channel_slug": "mine", "title": "Mine", "plan": plan, "queue": False},
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["data"]["id"]
        for scene, kind, path in ((1, "image", image), (1, "narration", voice), (2, "clip", clip)):
            sent = client.post(
                f"/api/v1/tasks/{task_id}/media",
                data={"scene": str(scene), "kind": kind},
                files={"file": (path.name, path.read_bytes())},
            )
            assert sent.status_code == 201, sent.text
        assert client.post(f"/api/v1/tasks/{task_id}/queue").status_code == 200
        detail = wait_for(client, task_id, until=published, harness=fleet)

    items = {(i["step"], i["item_key"]): i for i in detail["items"]}
    # only scene 3's image was generated: scene 1 brought its image, scene 2 its whole clip
    assert [k for k in items if k[0] == "assets"] == [("assets", "scene-03")]

    def output(step: str, key: str) -> bytes:
        return (fleet.workspace / items[(step, key)]["output_keys"]["output"]).read_bytes()

    # the user's files stand where the steps' outputs would be, byte for byte
    assert output("videos", "scene-02") == clip.read_bytes()
    assert output("narration", "scene-01") == voice.read_bytes()
    assert output("narration", "scene-02") != voice.read_bytes()
    assert [c for c in detail["costs"] if c["service"] == "user_media"] == []

    segments = {
        int(p.stem.split("-")[1]): p
        for p in (fleet.workspace / detail["final_video_key"]).parent.parent.glob(
            "segments/scene-*.mp4"
        )
    }
    # scene 1 speaks the user's 4 s recording (+ padding), not espeak's two words
    assert _duration(segments[1]) == pytest.approx(4.5, abs=0.1)
    red, blue = _middle_frame(segments[1]), _middle_frame(segments[2])
    centre = (slice(400, 600), slice(800, 1100))  # above the captions
    assert red[centre].mean(axis=(0, 1)) == pytest.approx([220, 20, 20], abs=25)
    assert blue[centre].mean(axis=(0, 1)) == pytest.approx([0, 0, 255], abs=25)


def test_demo_takes_an_original_project_episode_plan(fleet: FleetHarness, tmp_path: Path) -> None:
    """``vidgen demo --plan``, as a new user runs it: a seed image next to the plan is used, a
    missing one is reported, and every scene lasts at least its planned ``duration_s``."""
    write_channel(fleet.configs, "demo", gates="[]")
    (tmp_path / "seeds").mkdir()
    Image.new("RGB", (1920, 1080), (20, 160, 60)).save(tmp_path / "seeds" / "two.png")
    plan = {
        "title": "Secrets of the Deep Sea",
        "topic": "Bioluminescent life",
        "scenes": [
            {"number": 1, "visual_prompt": "dark water", "narration": "Deep beneath the waves.",
             "motion_prompt": "slow descent", "sfx_prompt": "rumble", "duration_s": 5},
            {"number": 2, "visual_prompt": "green glow", "narration": "Life glows.",
             "seed_image": "seeds/two.png", "motion_prompt": "drift", "sfx_prompt": "bubbles",
             "duration_s": 4},
            {"number": 3, "visual_prompt": "an anglerfish", "narration": "A lantern fish.",
             "seed_image": "seeds/missing.png", "motion_prompt": "push in",
             "sfx_prompt": "creak", "duration_s": 3},
        ],
    }  # fmt: skip
    plan_file = tmp_path / "episode.json"
    plan_file.write_text(json.dumps(plan))
    env = fleet.env("demo")
    env.pop("API_TOKEN")  # the demo makes its own
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--plan", str(plan_file), "--workers", "2"],
        env={**env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=os.getcwd(),
    )
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    assert "Plan read as the episode format" in out
    assert "scene 1: visual_prompt → asset 'scene-01' prompt (layout single)" in out
    assert "scene 2: your image two.png is used (no cost)" in out
    assert "scene 3: image file seeds/missing.png not found next to the plan" in out
    final = Path(out.split("Final video:")[1].split()[0])
    # 5 + 4 + 3 s planned; espeak says each line in under that, so the plan sets the length
    assert _duration(final) == pytest.approx(12.0, abs=0.3)
    # 6 s in is scene 2 (5 s to 9 s), made from the seed image
    assert _middle_frame(final)[400:600, 800:1100].mean(axis=(0, 1)) == pytest.approx(
        [20, 160, 60], abs=30
    )
