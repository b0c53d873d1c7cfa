"""generate_asset.py as a real subprocess: the offline drawing and Gemini against its fake."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.planning.template_places import PLACES
from tests.fakes.gemini import API_KEY, DRAFT_COLOUR, FINAL_COLOUR, FakeGemini, Reply
from tests.fakes.server import serve

SCRIPT = "generate_asset.py"


@pytest.fixture
def gemini() -> Iterator[tuple[FakeGemini, dict[str, str]]]:
    fake = FakeGemini()
    with serve(fake.app()) as url:
        yield fake, {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": API_KEY}


def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path


def opened(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        assert img.format == "PNG"
        return img.copy()


def close_to(pixel: Any, colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


# ---------------------------------------------------------------- local provider


def test_local_environment_has_no_text_unless_labelled(script: Any, tmp_path: Path) -> None:
    """By default the prompt is never burned in; ``--label`` (debugging) adds the dark band."""
    plain, labelled = tmp_path / "plain.png", tmp_path / "label.png"
    prompt = "A sunny beach at midday with a very long description that must be cut short"
    for out, extra in ((plain, []), (labelled, ["--label"])):
        run = script(SCRIPT, "--prompt", prompt, "--size", "640x360", "--output", str(out), *extra)
        assert run.returncode == 0, run.stderr
    a, b = opened(plain).convert("RGB"), opened(labelled).convert("RGB")

    # A midday sky has no near-black pixel: dark ones in the top quarter are the label band.
    def dark(img: Image.Image) -> int:
        top = img.crop((0, 0, img.width, img.height // 4))
        raw = top.tobytes()
        return sum(1 for i in range(0, len(raw), 3) if raw[i] + raw[i + 1] + raw[i + 2] < 200)

    assert dark(a) == 0
    assert dark(b) > 500


@pytest.mark.parametrize("kind", sorted(PLACES))
def test_every_planner_place_paints_as_its_kind(script: Any, tmp_path: Path, kind: str) -> None:
    """The template planner's prompt for each place is recognised by the painter as that place."""
    out = tmp_path / "env.png"
    prompt = f"{PLACES[kind].prompt}, at night under a starry sky, the focus on the left"
    run = script(SCRIPT, "--prompt", prompt, "--size", "320x180", "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert run.result["scene_kind"] == kind
    assert run.result["time"] == "night"
    assert run.result["subject_side"] == "left"


def test_local_environment_default_size_and_result(script: Any, tmp_path: Path) -> None:
    out = tmp_path / "env.png"
    run = script(SCRIPT, "--prompt", "A misty pine forest at dawn", "--output", str(out))
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["ok"] is True
    assert result["outputs"] == {"image": str(out)}
    assert result["provider"] == "local"
    assert result["cost_usd"] == 0
    img = opened(out)
    assert img.size == (1920, 1080)
    assert img.mode == "RGB"
    # A scene, not a flat fill: many colours, and the sky differs from the ground.
    assert len(img.getcolors(maxcolors=1_000_000) or []) > 200
    assert not close_to(img.getpixel((960, 20)), img.getpixel((960, 1070))[:3], tolerance=30)


@pytest.mark.parametrize(("ratio", "size"), [("9:16", (1080, 1920)), ("1:1", (1024, 1024))])
def test_local_size_follows_aspect_ratio(
    script: Any, tmp_path: Path, ratio: str, size: tuple[int, int]
) -> None:
    out = tmp_path / "a.png"
    run = script(
        SCRIPT, "--prompt", "City skyline at night", "--aspect-ratio", ratio, "--output", str(out)
    )
    assert run.returncode == 0, run.stderr
    assert opened(out).size == size


def test_local_is_deterministic_per_prompt(script: Any, tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    prompts = ["Ocean beach at sunset", "Ocean beach at sunset", "Desert dunes at noon"]
    for prompt, path in zip(prompts, paths, strict=True):
        run = script(SCRIPT, "--prompt", prompt, "--size", "320x180", "--output", str(path))
        assert run.returncode == 0, run.stderr
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("kind", ["character", "prop"])
def test_local_figures_have_transparent_background(script: Any, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.png"
    prompt = "Captain Mira, a brave explorer" if kind == "character" else "A golden key"
    run = script(
        SCRIPT, "--prompt", prompt, "--kind", kind, "--size", "400x400", "--output", str(out)
    )
    assert run.returncode == 0, run.stderr
    img = opened(out)
    assert img.mode == "RGBA"
    alpha = img.getchannel("A")
    for corner in [(0, 0), (399, 0), (0, 399), (399, 399)]:
        assert alpha.getpixel(corner) == 0
    opaque = alpha.histogram()[255]
    assert 0.02 * 400 * 400 < opaque < 0.6 * 400 * 400  # a figure, not an empty or filled canvas
    bbox = alpha.getbbox()
    assert bbox is not None and bbox[0] > 0 and bbox[2] < 400


def test_local_different_kinds_differ(script: Any, tmp_path: Path) -> None:
    robot, person = tmp_path / "robot.png", tmp_path / "person.png"
    for prompt, out in (("A friendly robot", robot), ("A friendly person", person)):
        run = script(
            SCRIPT,
            "--prompt",
            prompt,
            "--kind",
            "character",
            "--size",
            "200x200",
            "--output",
            str(out),
        )
        assert run.returncode == 0, run.stderr
    assert opened(robot).tobytes() != opened(person).tobytes()


# ---------------------------------------------------------------- gemini provider


def test_gemini_success_writes_final_image(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    fake.replies.append(Reply(thoughts=2))
    out = tmp_path / "g.png"
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "A lighthouse",
        "--aspect-ratio",
        "9:16",
        "--model",
        "gemini-3-pro-image",
        "--cost-usd",
        "0.134",
        "--output",
        str(out),
        env=env,
    )
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["provider"] == "gemini"
    assert result["model"] == "gemini-3-pro-image"
    assert result["cost_usd"] == pytest.approx(0.134)
    assert result["remote_ids"]["response_id"]
    assert fake.calls == 1
    request = fake.requests[0]
    assert request["model"] == "gemini-3-pro-image"
    assert request["api_key"] == API_KEY
    config = request["body"]["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "9:16", "imageSize": "1K"}
    assert request["body"]["contents"][0]["parts"][0]["text"].startswith("A lighthouse")
    img = opened(out)
    assert img.size == (768, 1376)
    assert close_to(img.getpixel((5, 5)), FINAL_COLOUR)  # the final image, not a thought draft
    assert not close_to(img.getpixel((5, 5)), DRAFT_COLOUR)
    assert API_KEY not in run.stdout + run.stderr


def test_gemini_sends_reference_images_and_defaults(
    script: Any, tmp_path: Path, gemini: Any
) -> None:
    fake, env = gemini
    refs = [png(tmp_path / "r1.png", (200, 10, 10)), png(tmp_path / "r2.png", (10, 10, 200))]
    out = tmp_path / "g.png"
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "Mira waves",
        "--kind",
        "character",
        "--reference-image",
        str(refs[0]),
        "--reference-image",
        str(refs[1]),
        "--output",
        str(out),
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert fake.reference_images() == [refs[0].read_bytes(), refs[1].read_bytes()]
    parts = fake.requests[0]["body"]["contents"][0]["parts"]
    assert all(p["inlineData"]["mimeType"] == "image/png" for p in parts[1:])
    assert "plain uniform" in parts[0]["text"]  # the keying hint for characters
    assert fake.requests[0]["model"] == "gemini-3.1-flash-image"
    assert run.result["cost_usd"] == pytest.approx(0.039)
    assert opened(out).size == (1376, 768)


def test_gemini_jpeg_is_converted_to_png(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    fake.replies.append(Reply(mime_type="image/jpeg"))
    out = tmp_path / "g.png"
    run = script(SCRIPT, "--provider", "gemini", "--prompt", "x", "--output", str(out), env=env)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert close_to(opened(out).getpixel((5, 5)), FINAL_COLOUR)


def test_gemini_missing_key_fails_without_calling(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    out = tmp_path / "g.png"
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "x",
        "--output",
        str(out),
        env={"GEMINI_BASE_URL": env["GEMINI_BASE_URL"]},
    )
    assert run.returncode == 1
    assert run.stderr.startswith("❌") and "GEMINI_API_KEY" in run.stderr
    assert fake.calls == 0
    assert not out.exists()


def test_gemini_wrong_key_fails_fast_with_googles_message(
    script: Any, tmp_path: Path, gemini: Any
) -> None:
    fake, env = gemini
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "x",
        "--output",
        str(tmp_path / "g.png"),
        env={**env, "GEMINI_API_KEY": "wrong-key"},
    )
    assert run.returncode == 1
    assert "API key not valid" in run.stderr and "HTTP 400" in run.stderr
    assert "check GEMINI_API_KEY" in run.stderr
    assert "wrong-key" not in run.stderr
    assert fake.calls == 1


@pytest.mark.parametrize(("status", "text"), [(401, "HTTP 401"), (404, "not found")])
def test_gemini_client_errors_are_not_retried(
    script: Any, tmp_path: Path, gemini: Any, status: int, text: str
) -> None:
    fake, env = gemini
    args = ["--model", "gemini-2.0-retired"] if status == 404 else []
    if status == 401:
        fake.replies.append(Reply(status=401))
    out = tmp_path / "g.png"
    run = script(
        SCRIPT, "--provider", "gemini", "--prompt", "x", *args, "--output", str(out), env=env
    )
    assert run.returncode == 1
    assert text in run.stderr
    assert fake.calls == 1
    assert not out.exists()


def test_gemini_429_then_success_honours_retry_after(
    script: Any, tmp_path: Path, gemini: Any
) -> None:
    fake, env = gemini
    fake.replies.append(Reply(status=429, retry_after=1))
    out = tmp_path / "g.png"
    run = script(SCRIPT, "--provider", "gemini", "--prompt", "x", "--output", str(out), env=env)
    assert run.returncode == 0, run.stderr
    assert fake.calls == 2
    # The wait came from Retry-After (1 s), not from the 0.05 s test backoff.
    assert fake.requests[1]["at"] - fake.requests[0]["at"] >= 0.9
    assert close_to(opened(out).getpixel((5, 5)), FINAL_COLOUR)


def test_gemini_retry_info_in_body_and_503(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    fake.replies += [Reply(status=429, retry_after=1, retry_info_only=True), Reply(status=503)]
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "x",
        "--output",
        str(tmp_path / "g.png"),
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert fake.calls == 3
    assert fake.requests[1]["at"] - fake.requests[0]["at"] >= 0.9


def test_gemini_gives_up_after_three_attempts(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    fake.replies += [Reply(status=500)] * 4
    out = tmp_path / "g.png"
    run = script(SCRIPT, "--provider", "gemini", "--prompt", "x", "--output", str(out), env=env)
    assert run.returncode == 1
    assert "HTTP 500" in run.stderr
    assert fake.calls == 3
    assert not out.exists()


def test_gemini_timeout(script: Any, tmp_path: Path, gemini: Any) -> None:
    fake, env = gemini
    fake.replies += [Reply(delay=3)] * 3
    out = tmp_path / "g.png"
    run = script(
        SCRIPT,
        "--provider",
        "gemini",
        "--prompt",
        "x",
        "--output",
        str(out),
        env={**env, "SCRIPT_HTTP_TIMEOUT_SECONDS": "0.4"},
    )
    assert run.returncode == 1
    assert "timed out" in run.stderr
    assert fake.calls == 3
    assert not out.exists()


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(block_reason="PROHIBITED_CONTENT"), "PROHIBITED_CONTENT"),
        (Reply(finish_reason="IMAGE_SAFETY"), "IMAGE_SAFETY"),
    ],
)
def test_gemini_refusals_name_the_reason(
    script: Any, tmp_path: Path, gemini: Any, reply: Reply, reason: str
) -> None:
    fake, env = gemini
    fake.replies.append(reply)
    out = tmp_path / "g.png"
    run = script(SCRIPT, "--provider", "gemini", "--prompt", "x", "--output", str(out), env=env)
    assert run.returncode == 1
    assert reason in run.stderr
    assert fake.calls == 1  # a refusal is an answer, not a transient failure
    assert not out.exists()


# ---------------------------------------------------------------- bad usage and bad inputs


@pytest.mark.parametrize(
    "args",
    [
        ["--output", "x.png"],
        ["--prompt", "x"],
        ["--prompt", "   ", "--output", "x.png"],
        ["--prompt", "x", "--output", "x.png", "--provider", "dalle"],
        ["--prompt", "x", "--output", "x.png", "--aspect-ratio", "4:3"],
        ["--prompt", "x", "--output", "x.png", "--size", "big"],
        ["--prompt", "x", "--output", "x.png", "--model", "../evil"],
        ["--prompt", "x", "--output", "x.png", "--cost-usd", "-1"],
        ["--prompt", "x", "--output", "x.png", "--image-size", "2k"],
    ],
)
def test_bad_arguments_exit_2(script: Any, tmp_path: Path, args: list[str]) -> None:
    run = script(SCRIPT, *[a if a != "x.png" else str(tmp_path / a) for a in args])
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "x.png").exists()


def test_help(script: Any) -> None:
    run = script(SCRIPT, "--help")
    assert run.returncode == 0
    assert "--reference-image" in run.stdout and "--provider" in run.stdout


@pytest.mark.parametrize("provider", ["local", "gemini"])
@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_bad_reference_image_exit_1(
    script: Any, tmp_path: Path, gemini: Any, provider: str, problem: str
) -> None:
    fake, env = gemini
    ref = tmp_path / "ref.png"
    if problem == "corrupt":
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, format="PNG")
        ref.write_bytes(buf.getvalue()[:60])  # a truncated PNG
    out = tmp_path / "g.png"
    run = script(
        SCRIPT,
        "--provider",
        provider,
        "--prompt",
        "x",
        "--reference-image",
        str(ref),
        "--output",
        str(out),
        env=env,
    )
    assert run.returncode == 1
    assert "ref.png" in run.stderr and run.stderr.startswith("❌")
    assert fake.calls == 0
    assert not out.exists()
