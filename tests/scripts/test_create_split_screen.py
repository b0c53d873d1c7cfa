"""create_split_screen.py as a real subprocess on real image files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

SCRIPT = "create_split_screen.py"
RED = (210, 30, 30)
BLUE = (30, 60, 200)
GREEN = (20, 180, 60)
DIVIDER = (245, 245, 245)


def close_to(pixel: Any, colour: tuple[int, int, int], tolerance: int = 16) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def solid(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def load(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        return img.copy()


def split(script: Any, tmp_path: Path, *extra: str) -> tuple[Image.Image, dict[str, Any]]:
    first = solid(tmp_path / "first.png", RED, (200, 300))
    second = solid(tmp_path / "second.jpg", BLUE, (500, 200))
    out = tmp_path / "split.png"
    run = script(
        SCRIPT, "--first", str(first), "--second", str(second), "--output", str(out), *extra
    )
    assert run.returncode == 0, run.stderr
    return load(out), run.result


def test_vertical_is_side_by_side(script: Any, tmp_path: Path) -> None:
    img, result = split(script, tmp_path, "--size", "320x180", "--divider", "4")
    assert result["provider"] == "pillow" and result["orientation"] == "vertical"
    assert img.size == (320, 180) and img.mode == "RGB"
    for y in (0, 90, 179):
        assert all(close_to(img.getpixel((x, y)), RED) for x in range(0, 158))
        assert all(close_to(img.getpixel((x, y)), DIVIDER) for x in range(158, 162))
        assert all(close_to(img.getpixel((x, y)), BLUE) for x in range(162, 320))


def test_horizontal_is_stacked(script: Any, tmp_path: Path) -> None:
    img, result = split(
        script, tmp_path, "--orientation", "horizontal", "--size", "180x320", "--divider", "6"
    )
    assert result["orientation"] == "horizontal"
    assert img.size == (180, 320)
    for x in (0, 90, 179):
        assert all(close_to(img.getpixel((x, y)), RED) for y in range(0, 157))
        assert all(close_to(img.getpixel((x, y)), DIVIDER) for y in range(157, 163))
        assert all(close_to(img.getpixel((x, y)), BLUE) for y in range(163, 320))


def test_default_size_and_divider(script: Any, tmp_path: Path) -> None:
    img, _ = split(script, tmp_path)
    assert img.size == (1920, 1080)
    assert close_to(img.getpixel((960, 540)), DIVIDER)
    assert close_to(img.getpixel((950, 540)), RED) and close_to(img.getpixel((970, 540)), BLUE)


def test_no_divider(script: Any, tmp_path: Path) -> None:
    img, _ = split(script, tmp_path, "--size", "320x180", "--divider", "0")
    assert close_to(img.getpixel((159, 90)), RED) and close_to(img.getpixel((160, 90)), BLUE)
    assert not any(close_to(img.getpixel((x, 90)), DIVIDER) for x in range(320))


def test_halves_are_cover_fitted_from_the_centre(script: Any, tmp_path: Path) -> None:
    """A wide image in a tall half: its centre fills the half, its green sides are cropped."""
    wide = Image.new("RGB", (600, 100), GREEN)
    ImageDraw.Draw(wide).rectangle((200, 0, 399, 99), fill=RED)
    wide.save(tmp_path / "wide.png")
    second = Image.new("RGBA", (100, 100), (*BLUE, 255))
    second.save(tmp_path / "second.png")
    out = tmp_path / "split.png"
    run = script(
        SCRIPT,
        "--first",
        str(tmp_path / "wide.png"),
        "--second",
        str(tmp_path / "second.png"),
        "--output",
        str(out),
        "--size",
        "320x180",
        "--divider",
        "4",
    )
    assert run.returncode == 0, run.stderr
    img = load(out)
    assert img.mode == "RGB"
    for x in range(0, 158, 4):
        for y in (0, 90, 179):
            assert close_to(img.getpixel((x, y)), RED), (x, y)
    assert close_to(img.getpixel((319, 179)), BLUE)


@pytest.mark.parametrize("which", ["first", "second"])
@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_bad_inputs_exit_1_naming_the_file(
    script: Any, tmp_path: Path, which: str, problem: str
) -> None:
    files = {
        "first": solid(tmp_path / "a.png", RED, (50, 50)),
        "second": solid(tmp_path / "b.png", BLUE, (50, 50)),
    }
    bad = tmp_path / f"bad-{which}.png"
    if problem == "corrupt":
        bad.write_bytes(b"GIF89a but not really")
    files[which] = bad
    out = tmp_path / "split.png"
    run = script(
        SCRIPT,
        "--first",
        str(files["first"]),
        "--second",
        str(files["second"]),
        "--output",
        str(out),
    )
    assert run.returncode == 1
    assert run.stderr.startswith("❌") and f"bad-{which}.png" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--orientation", "diagonal"],
        ["--divider", "-1"],
        ["--divider", "thin"],
        ["--size", "1920"],
        ["--size", "40x40", "--divider", "20"],
    ],
)
def test_bad_arguments_exit_2(script: Any, tmp_path: Path, extra: list[str]) -> None:
    a, b = solid(tmp_path / "a.png", RED, (50, 50)), solid(tmp_path / "b.png", BLUE, (50, 50))
    run = script(
        SCRIPT, "--first", str(a), "--second", str(b), "--output", str(tmp_path / "s.png"), *extra
    )
    assert run.returncode == 2, run.stderr
    assert not (tmp_path / "s.png").exists()


def test_help_documents_orientation(script: Any) -> None:
    run = script(SCRIPT, "--help")
    assert run.returncode == 0
    assert "side by side" in run.stdout and "stacked" in run.stdout
