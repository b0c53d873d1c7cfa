"""create_composite.py as a real subprocess on real image files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps

SCRIPT = "create_composite.py"
BLUE = (30, 60, 200)
RED = (210, 30, 30)
WHITE = (255, 255, 255)


def close_to(pixel: Any, colour: tuple[int, int, int], tolerance: int = 16) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def environment(path: Path, size: tuple[int, int] = (400, 300)) -> Path:
    Image.new("RGB", size, BLUE).save(path)
    return path


def transparent_character(path: Path) -> Path:
    """A red figure 60x160 in a 100x200 transparent canvas."""
    img = Image.new("RGBA", (100, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((20, 20, 79, 179), fill=(*RED, 255))
    img.save(path)
    return path


def opaque_character(path: Path, fmt: str = "PNG") -> Path:
    """A red body on a plain white backdrop, with a white eye enclosed by the body."""
    img = Image.new("RGB", (200, 300), WHITE)
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 30, 160, 270), fill=RED)
    draw.ellipse((85, 90, 115, 120), fill=WHITE)
    img.save(path, format=fmt)
    return path


def load(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        return img.copy()


def run_ok(script: Any, *args: str) -> dict[str, Any]:
    run = script(SCRIPT, *args)
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = run.result
    return result


def test_transparent_character_is_scaled_and_placed(script: Any, tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    result = run_ok(
        script,
        "--character",
        str(transparent_character(tmp_path / "ch.png")),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(out),
        "--size",
        "320x180",
        "--scale",
        "0.5",
    )
    assert result["provider"] == "pillow" and result["outputs"] == {"image": str(out)}
    assert result["keyed"] is False
    img = load(out)
    assert img.size == (320, 180) and img.mode == "RGB"
    x0, y0, x1, y1 = result["character_box"]
    assert y1 - y0 == 90  # the visible figure is half the frame height
    assert y1 == 180 - round(180 * 0.04)  # standing near the bottom edge
    assert abs((x0 + x1) / 2 - 160) <= 1  # centred
    assert close_to(img.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)), RED)
    assert close_to(img.getpixel((5, 5)), BLUE)
    assert close_to(img.getpixel((x0 - 3, (y0 + y1) // 2)), BLUE)
    red = sum(1 for x in range(320) for y in range(180) if close_to(img.getpixel((x, y)), RED))
    assert abs(red - (x1 - x0) * (y1 - y0)) < 0.1 * (x1 - x0) * (y1 - y0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_opaque_character_backdrop_is_keyed_out(script: Any, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "c.png"
    character = opaque_character(tmp_path / f"ch.{fmt.lower()}", fmt)
    result = run_ok(
        script,
        "--character",
        str(character),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(out),
        "--size",
        "320x180",
        "--scale",
        "0.8",
    )
    assert result["keyed"] is True
    img = load(out)
    x0, y0, x1, y1 = result["character_box"]
    # The figure's box corners were white backdrop: now they show the environment.
    for corner in [(x0 + 2, y0 + 2), (x1 - 3, y0 + 2), (x0 + 2, y1 - 3), (x1 - 3, y1 - 3)]:
        assert close_to(img.getpixel(corner), BLUE, 30), corner
    cx = (x0 + x1) // 2
    assert close_to(img.getpixel((cx, y0 + (y1 - y0) * 3 // 4)), RED, 30)
    # The eye is backdrop-coloured but enclosed by the body: it stays white.
    eye_y = y0 + round((105 - 30) / 240 * (y1 - y0))
    assert close_to(img.getpixel((cx, eye_y)), WHITE, 40)


@pytest.mark.parametrize(("position", "centre"), [("left", 80), ("right", 240)])
def test_named_positions(script: Any, tmp_path: Path, position: str, centre: int) -> None:
    result = run_ok(
        script,
        "--character",
        str(transparent_character(tmp_path / "ch.png")),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(tmp_path / "c.png"),
        "--size",
        "320x180",
        "--position",
        position,
    )
    x0, _, x1, _ = result["character_box"]
    assert abs((x0 + x1) / 2 - centre) <= 1


def test_pixel_position_is_top_left(script: Any, tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    result = run_ok(
        script,
        "--character",
        str(transparent_character(tmp_path / "ch.png")),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(out),
        "--size",
        "320x180",
        "--position",
        "30,20",
        "--scale",
        "0.4",
    )
    assert result["character_box"][:2] == [30, 20]
    img = load(out)
    assert close_to(img.getpixel((32, 22)), RED)
    assert close_to(img.getpixel((27, 22)), BLUE)


def test_environment_is_cover_fitted(script: Any, tmp_path: Path) -> None:
    """A square environment fills a 16:9 frame: the top band is cropped, no letterbox bars."""
    env = Image.new("RGB", (400, 400), BLUE)
    ImageDraw.Draw(env).rectangle((0, 0, 399, 40), fill=(250, 220, 0))
    env.save(tmp_path / "env.png")
    out = tmp_path / "c.png"
    run_ok(
        script,
        "--character",
        str(transparent_character(tmp_path / "ch.png")),
        "--environment",
        str(tmp_path / "env.png"),
        "--output",
        str(out),
        "--size",
        "320x180",
    )
    img = load(out)
    for x in range(0, 320, 8):
        assert close_to(img.getpixel((x, 0)), BLUE) and close_to(img.getpixel((x, 179)), BLUE)


def test_local_assets_composite_shows_the_character(script: Any, tmp_path: Path) -> None:
    character, env, out = tmp_path / "ch.png", tmp_path / "env.png", tmp_path / "c.png"
    for args in (
        [
            "--prompt",
            "Captain Mira",
            "--kind",
            "character",
            "--size",
            "300x300",
            "--output",
            str(character),
        ],
        ["--prompt", "A misty forest", "--size", "480x270", "--output", str(env)],
    ):
        run = script("generate_asset.py", *args)
        assert run.returncode == 0, run.stderr
    result = run_ok(
        script,
        "--character",
        str(character),
        "--environment",
        str(env),
        "--output",
        str(out),
        "--size",
        "480x270",
    )
    assert result["keyed"] is False  # the local character is already transparent
    img = load(out)
    bare = ImageOps.fit(load(env).convert("RGB"), (480, 270), method=Image.Resampling.LANCZOS)
    diff = ImageChops.difference(img, bare).convert("L")
    x0, y0, x1, y1 = result["character_box"]
    inside = diff.crop((x0, y0, x1, y1))
    changed = sum(inside.histogram()[31:]) / (inside.width * inside.height)
    assert changed > 0.2  # the character covers a good part of its box
    outside = diff.copy()
    ImageDraw.Draw(outside).rectangle((x0, y0, x1, y1), fill=0)
    assert outside.getbbox() is None  # and nothing else changed


@pytest.mark.parametrize("which", ["character", "environment"])
@pytest.mark.parametrize("problem", ["missing", "corrupt", "empty"])
def test_bad_inputs_exit_1_naming_the_file(
    script: Any, tmp_path: Path, which: str, problem: str
) -> None:
    files = {
        "character": transparent_character(tmp_path / "ch.png"),
        "environment": environment(tmp_path / "env.png"),
    }
    bad = tmp_path / f"bad-{which}.png"
    if problem == "corrupt":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    elif problem == "empty":
        bad.write_bytes(b"")
    files[which] = bad
    out = tmp_path / "c.png"
    run = script(
        SCRIPT,
        "--character",
        str(files["character"]),
        "--environment",
        str(files["environment"]),
        "--output",
        str(out),
    )
    assert run.returncode == 1
    assert run.stderr.startswith("❌") and f"bad-{which}.png" in run.stderr
    assert not out.exists()


def test_fully_transparent_character_exit_1(script: Any, tmp_path: Path) -> None:
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tmp_path / "ghost.png")
    run = script(
        SCRIPT,
        "--character",
        str(tmp_path / "ghost.png"),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(tmp_path / "c.png"),
    )
    assert run.returncode == 1 and "ghost.png" in run.stderr


@pytest.mark.parametrize(
    "extra",
    [
        ["--scale", "0"],
        ["--scale", "big"],
        ["--position", "top"],
        ["--position", "1,2,3"],
        ["--size", "10x10"],
        ["--provider", "gemini"],
    ],
)
def test_bad_arguments_exit_2(script: Any, tmp_path: Path, extra: list[str]) -> None:
    run = script(
        SCRIPT,
        "--character",
        str(transparent_character(tmp_path / "ch.png")),
        "--environment",
        str(environment(tmp_path / "env.png")),
        "--output",
        str(tmp_path / "c.png"),
        *extra,
    )
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "c.png").exists()


def test_missing_required_argument_exit_2(script: Any, tmp_path: Path) -> None:
    run = script(SCRIPT, "--character", "a.png", "--output", str(tmp_path / "c.png"))
    assert run.returncode == 2
    assert "--environment" in run.stderr
