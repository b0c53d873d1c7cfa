"""A task goes in, a finished video comes out, through the real fleet."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.e2e.harness import FleetHarness, published, short_plan, wait_for

pytestmark = pytest.mark.slow


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / 1_000_000


def test_task_publishes_a_playable_video_matching_its_plan(fleet: FleetHarness) -> None:
    fleet.start()
    with fleet.client() as client:
        created = client.post(
            "/api/v1/tasks",
            json={"channel_slug": "e2e", "title": "Short film", "plan": short_plan(3)},
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["data"]["id"]
        detail = wait_for(client, task_id, until=published, harness=fleet)

    final = fleet.workspace / detail["final_video_key"]
    published_copy = fleet.workspace / "published" / f"{task_id}.mp4"
    assert final.is_file() and published_copy.is_file()
    assert published_copy.read_bytes() == final.read_bytes()

    # captions are on: the final item wrote the whole video's SRT next to it, one scene after another
    srt = (final.parent / "captions.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ") and srt.count(" --> ") >= 3
    segments = sorted((final.parent.parent / "segments").glob("scene-*.mp4"))
    assert len(segments) == 3
    # the final cut is the scenes back to back: its length is the sum of the segments'
    assert _duration(final) == pytest.approx(sum(_duration(s) for s in segments), abs=0.25)
    # each scene lasts at least its narration (plus padding) and at least a second
    assert all(_duration(s) >= 1.0 for s in segments)
    with av.open(str(final)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert container.streams.audio, "the final video has no audio track"
        frame = next(container.decode(video=0)).to_ndarray(format="gray")
        assert frame.std() > 5, "the first frame is flat (black or blank)"

    steps = {s["step"]: s for s in detail["steps"]}
    assert set(steps) == {
        "plan",
        "assets",
        "composites",
        "videos",
        "narration",
        "sound_effects",
        "assembly",
        "upload",
    }
    assert all(s["status"] == "completed" for s in steps.values())
    assert all(item["status"] == "completed" for item in detail["items"])
    captions = next(i for i in detail["items"] if i["item_key"] == "captions")
    assert captions["step"] == "upload"  # published offline: no caption track to put anywhere
    # every item ran exactly once: no paid or CPU work was repeated
    assert [i for i in detail["items"] if i["attempts"] != 1] == []
