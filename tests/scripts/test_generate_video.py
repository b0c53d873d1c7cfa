"""generate_video.py as a real subprocess: Ken Burns offline, Kling against fake KIE.ai and catbox servers."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.catbox import FakeCatbox
from tests.fakes.kie import API_KEY, FakeKie, Scripted
from tests.fakes.server import serve
from tests.scripts.conftest import SCRIPTS, ScriptRun, run_script
from tests.scripts.video_checks import best_shift, facts, gray_frames, make_clip, make_image

SIZE = "320x180"
FAST_POLL = ["--poll-interval", "0.05"]
KENBURNS_PROFILE = "Constrained Baseline"  # what x264 ultrafast writes: a cheap intermediate


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An input image and two vendor-like clips: 24 fps 2 s (moov last), and one in delivery format."""
    root = tmp_path_factory.mktemp("media")
    return {
        "image": make_image(root / "scene.png", (400, 260)),
        "clip": make_clip(root / "kling.mp4", seconds=2, size="480x270", fps=24, faststart=False),
        "ready": make_clip(root / "ready.mp4", seconds=1, size=SIZE, fps=30, faststart=True),
    }


@dataclass
class Fakes:
    kie: FakeKie
    catbox: FakeCatbox
    env: dict[str, str]


@pytest.fixture
def fakes(media: dict[str, Path]) -> Iterator[Fakes]:
    kie = FakeKie(video=media["clip"])
    catbox = FakeCatbox()
    with serve(kie.app()) as kie_url, serve(catbox.app()) as catbox_url:
        env = {
            "KIE_API_KEY": API_KEY,
            "KIE_BASE_URL": f"{kie_url}/api/v1",
            "CATBOX_UPLOAD_URL": f"{catbox_url}/user/api.php",
        }
        yield Fakes(kie, catbox, env)


def video(
    out: Path, image: Path, *args: str, prompt: str = "slow push in", **env: str
) -> ScriptRun:
    argv = ["--image", str(image), "--prompt", prompt, "--output", str(out), *args]
    return run_script("generate_video.py", *argv, env=env, timeout=120)


def kling(out: Path, image: Path, fakes: Fakes, *args: str, **env: str) -> ScriptRun:
    argv = ["--provider", "kling", "--duration", "1", "--size", SIZE, *FAST_POLL, *args]
    return video(out, image, *argv, **{**fakes.env, **env})


def assert_failed(run: ScriptRun, code: int, *fragments: str) -> None:
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("❌ "), run.stderr
    if code == 1:
        assert len(lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[-1].lower(), lines[-1]
    assert API_KEY not in run.stdout + run.stderr


def assert_delivery(path: Path, seconds: float, size: str = SIZE, profile: str = "High") -> None:
    got = facts(path)
    assert f"{got.width}x{got.height}" == size
    assert abs(got.duration - seconds) <= 0.1, got
    assert got.frames == round(seconds * 30), got
    assert abs(got.fps - 30) < 0.01 and got.codec == "h264" and got.profile == profile, got
    assert got.pix_fmt == "yuv420p" and not got.has_audio, got


# ---------------------------------------------------------------- kenburns (offline)


def test_kenburns_makes_a_moving_clip_in_the_delivery_format(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    out = tmp_path / "clips" / "scene.mp4"
    run = video(out, media["image"], "--provider", "kenburns", "--duration", "1.5", "--size", SIZE)
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["ok"] is True and result["provider"] == "kenburns"
    assert result["outputs"] == {"video": str(out)} and result["cost_usd"] == 0
    assert abs(result["duration"] - 1.5) <= 0.1 and result["remote_ids"] == {}
    assert_delivery(out, 1.5, profile=KENBURNS_PROFILE)
    frames = gray_frames(out)
    assert float(np.mean(np.abs(frames[0] - frames[-1]))) > 5, "no motion between first and last"
    assert not [p for p in out.parent.iterdir() if p != out], "temporary files left behind"


@pytest.mark.parametrize(("prompt", "direction"), [("pan left", 1), ("Pans to the right", -1)])
def test_kenburns_pans_the_way_the_prompt_says(
    tmp_path: Path, media: dict[str, Path], prompt: str, direction: int
) -> None:
    out = tmp_path / "pan.mp4"
    run = video(
        out,
        media["image"],
        "--provider",
        "kenburns",
        "--duration",
        "1",
        "--size",
        SIZE,
        prompt=prompt,
    )
    assert run.returncode == 0, run.stderr
    assert run.result["motion"] == ("pan_left" if direction > 0 else "pan_right")
    frames = gray_frames(out)
    # Panning left moves the view left, so the picture slides right (and the other way round).
    assert np.sign(best_shift(frames[0], frames[-1], limit=60)) == direction


def test_kenburns_without_camera_words_is_deterministic(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    args = ("--provider", "kenburns", "--duration", "0.5", "--size", "160x90")
    prompt = "an owl on a branch at dusk"
    first = video(tmp_path / "a.mp4", media["image"], *args, prompt=prompt)
    second = video(tmp_path / "b.mp4", media["image"], *args, prompt=prompt)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.result["motion"] == second.result["motion"]
    assert first.result["motion"] in {"zoom_in", "zoom_out", "pan_left", "pan_right"}


def test_kenburns_default_size_is_the_image_size(tmp_path: Path, media: dict[str, Path]) -> None:
    out = tmp_path / "own.mp4"
    run = video(
        out, media["image"], "--provider", "kenburns", "--duration", "0.5", prompt="zoom out"
    )
    assert run.returncode == 0, run.stderr
    assert run.result["size"] == "400x260" and run.result["motion"] == "zoom_out"
    assert_delivery(out, 0.5, size="400x260", profile=KENBURNS_PROFILE)


def x264_options(path: Path) -> dict[str, str]:
    """The settings x264 wrote into the stream's SEI (``options: cabac=0 ref=1 ... crf=16.0``)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    text = data[start : data.index(b"\x00", start)].decode("ascii", "replace")
    pairs = text.partition("options: ")[2].split()
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def test_kenburns_clip_is_a_cheap_intermediate_at_a_low_crf(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    """Its segment re-encodes every frame at medium: the clip must be written ultrafast (no CABAC,
    no sub-pixel search, one reference) and at CRF 16 so the final loses nothing to it."""
    out = tmp_path / "clip.mp4"
    run = video(out, media["image"], "--provider", "kenburns", "--duration", "0.5", "--size", SIZE)
    assert run.returncode == 0, run.stderr
    assert run.result["encoder"] == {"preset": "ultrafast", "crf": 16}
    options = x264_options(out)
    assert (options["cabac"], options["subme"], options["me"], options["ref"]) == (
        "0",
        "0",
        "dia",
        "1",
    )
    assert options["rc"] == "crf" and float(options["crf"]) == 16.0, options


# ---------------------------------------------------------------- kling against the fakes


def test_kling_uploads_creates_polls_downloads_and_normalises(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    out = tmp_path / "kling.mp4"
    extra = ["--cost-usd", "0.35", "--negative-prompt", "blur", "--cfg-scale", "0.5"]
    run = kling(out, media["image"], fakes, *extra)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    task_id = next(iter(fakes.kie.tasks))
    assert lines[0] == {"event": "remote_task", "task_id": task_id}
    result = lines[-1]
    assert (
        result["provider"] == "kling" and result["model"] == "kling/v2-5-turbo-image-to-video-pro"
    )
    assert result["remote_ids"] == {"kling_task_id": task_id} and result["cost_usd"] == 0.35
    assert result["stream_copied"] is False and abs(result["duration"] - 1.0) <= 0.1
    # The image went through catbox to KIE byte for byte; the request was the documented one.
    image_bytes = media["image"].read_bytes()
    assert [data for _, data in fakes.catbox.uploads] == [image_bytes]
    assert fakes.kie.received_images == [image_bytes]
    params = fakes.kie.tasks[task_id].params
    assert params["duration"] == "5" and params["prompt"] == "slow push in"
    assert params["negative_prompt"] == "blur" and params["cfg_scale"] == 0.5
    assert fakes.kie.create_calls == 1 and fakes.kie.tasks[task_id].polls == 4
    assert_delivery(out, 1.0)  # 480x270 at 24 fps in, trimmed and re-encoded out


def test_kling_clip_already_in_delivery_format_is_stream_copied(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.video = media["ready"]
    out = tmp_path / "copied.mp4"
    run = kling(out, media["image"], fakes)
    assert run.returncode == 0, run.stderr
    assert run.result["stream_copied"] is True
    assert_delivery(out, 1.0)


def test_kling_without_key_is_a_configuration_error(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    run = kling(tmp_path / "x.mp4", media["image"], fakes, KIE_API_KEY="")
    assert_failed(run, 1, "KIE_API_KEY")
    assert fakes.catbox.uploads == [] and fakes.kie.create_calls == 0


def test_kling_wrong_key_fails_fast(tmp_path: Path, media: dict[str, Path], fakes: Fakes) -> None:
    run = kling(tmp_path / "x.mp4", media["image"], fakes, KIE_API_KEY="wrong")
    assert_failed(run, 1, "401", "KIE_API_KEY")
    assert fakes.kie.create_calls == 1


def test_kling_429_and_maintenance_are_retried(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.create_errors = [
        Scripted(429, "rate limited", status=429, headers={"Retry-After": "1"})
    ]
    fakes.kie.poll_errors = [Scripted(455, "service under maintenance")]  # HTTP 200, code in body
    out = tmp_path / "retried.mp4"
    run = kling(out, media["image"], fakes)
    assert run.returncode == 0, run.stderr
    assert fakes.kie.create_calls == 2 and len(fakes.kie.tasks) == 1
    assert_delivery(out, 1.0)


def test_kling_out_of_credits_fails_fast(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.create_errors = [Scripted(402, "Credits insufficient")]  # HTTP 200, code in body
    run = kling(tmp_path / "x.mp4", media["image"], fakes)
    assert_failed(run, 1, "402", "credits")
    assert fakes.kie.create_calls == 1 and fakes.kie.tasks == {}


def test_kling_http_timeout_names_the_task_to_resume(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.poll_hang_seconds = 30
    run = kling(
        tmp_path / "x.mp4", media["image"], fakes,
        SCRIPT_HTTP_TIMEOUT_SECONDS="2", SCRIPT_RETRY_ATTEMPTS="2",
    )  # fmt: skip
    # 2 s, not less: catbox and createTask must answer within it on a loaded machine; only the
    # poll hangs (30 s), so both poll attempts time out.
    task_id = next(iter(fakes.kie.tasks))
    assert_failed(run, 1, "timed out", f"--resume-task-id {task_id}")
    assert fakes.kie.poll_calls == 2


def test_kling_gives_up_after_max_wait(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.hold_generating = True
    run = kling(tmp_path / "x.mp4", media["image"], fakes, "--max-wait", "0.5")
    task_id = next(iter(fakes.kie.tasks))
    assert_failed(run, 1, "still generating", f"--resume-task-id {task_id}")


def test_kling_failed_task_reports_the_reason(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.fail_msg = "image violates the content policy"
    run = kling(tmp_path / "x.mp4", media["image"], fakes)
    assert_failed(run, 1, "failed", "content policy")


def test_catbox_failure_text_stops_before_the_paid_call(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.catbox.fail_text = "Something went wrong, try again later."
    run = kling(tmp_path / "x.mp4", media["image"], fakes)
    assert_failed(run, 1, "catbox", "something went wrong")
    assert fakes.kie.create_calls == 0


@pytest.mark.parametrize("mode", ["garbage", "truncated"])
def test_kling_corrupt_download_fails(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes, mode: str
) -> None:
    fakes.kie.download = mode
    out = tmp_path / "x.mp4"
    run = kling(out, media["image"], fakes)
    assert_failed(run, 1, "Kling clip")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_kling_resumes_after_a_crash_without_paying_twice(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes
) -> None:
    fakes.kie.hold_generating = True
    out = tmp_path / "resumed.mp4"
    id_file = tmp_path / "remote" / "task.json"
    argv = ["--image", str(media["image"]), "--prompt", "slow push in", "--output", str(out),
            "--provider", "kling", "--duration", "1", "--size", SIZE,
            "--max-wait", "60", "--task-id-file", str(id_file), *FAST_POLL]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    with subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_video.py"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**env, **fakes.env},
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no remote_task line within 60 s"
            first = proc.stdout.readline()
            event = json.loads(first)
            assert event["event"] == "remote_task", first
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    # written before the announcement, so it holds the id even if nobody read the line
    assert json.loads(id_file.read_text()) == {"task_id": event["task_id"]}
    assert [p.name for p in id_file.parent.iterdir()] == ["task.json"]  # no partial left
    fakes.kie.hold_generating = False

    run = kling(out, media["image"], fakes, "--resume-task-id", event["task_id"])
    assert run.returncode == 0, run.stderr
    assert run.result["remote_ids"] == {"kling_task_id": event["task_id"]}
    assert fakes.kie.create_calls == 1 and len(fakes.catbox.uploads) == 1
    assert_delivery(out, 1.0)


# ---------------------------------------------------------------- usage and inputs


@pytest.mark.parametrize(
    "args",
    [
        ["--prompt", "x", "--output", "o.mp4"],  # no --image
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--provider", "sora"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--duration", "0"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--duration", "12"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--size", "10x10"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--cfg-scale", "2"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mov"],
        ["--image", "i.png", "--prompt", " ", "--output", "o.mp4", "--provider", "kling"],
        ["--image", "i.png", "--prompt", "x", "--output", "o.mp4", "--provider", "kenburns",
         "--resume-task-id", "abc"],
    ],
)  # fmt: skip
def test_bad_arguments_exit_2(args: list[str]) -> None:
    run = run_script("generate_video.py", *args)
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""


def test_help_exits_0() -> None:
    run = run_script("generate_video.py", "--help")
    assert run.returncode == 0 and "--resume-task-id" in run.stdout


@pytest.mark.parametrize("provider", ["kenburns", "kling"])
@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_missing_or_corrupt_image_fails_before_any_call(
    tmp_path: Path, media: dict[str, Path], fakes: Fakes, provider: str, problem: str
) -> None:
    image = tmp_path / "broken.png"
    if problem == "corrupt":
        image.write_bytes(media["image"].read_bytes()[:3000])  # a PNG cut short
    args = ["--provider", provider, "--duration", "1", "--size", SIZE]
    run = video(tmp_path / "x.mp4", image, *args, **fakes.env)
    assert_failed(run, 1, "not found" if problem == "missing" else "not a readable image")
    assert fakes.catbox.uploads == [] and fakes.kie.create_calls == 0


@pytest.mark.parametrize(("side", "kept"), [("right", True), ("left", False)])
def test_kenburns_zoom_aims_at_the_side_the_prompt_names(
    tmp_path: Path, side: str, kept: bool
) -> None:
    """A marker at 96% of the width survives a push in toward the right, not toward the left."""
    from PIL import Image, ImageDraw

    image = tmp_path / "still.png"
    still = Image.new("RGB", (640, 360), (20, 40, 120))
    ImageDraw.Draw(still).rectangle((606, 150, 624, 210), fill=(255, 255, 255))
    still.save(image)
    out = tmp_path / "clip.mp4"
    run = run_script(
        "generate_video.py", "--image", str(image), "--output", str(out),
        "--provider", "kenburns", "--duration", "1", "--size", "320x180",
        "--prompt", f"slow push in toward the lighthouse on the {side}",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    last = gray_frames(out)[-1]
    assert bool(last.max() > 200) is kept
