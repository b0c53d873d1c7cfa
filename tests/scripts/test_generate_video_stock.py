"""generate_video.py --provider pexels|pixabay as a real subprocess against the stock fakes: the pick
(orientation, resolution, length, no reuse), the download, the exact cut, credits, the fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.server import serve
from tests.fakes.stock import PEXELS_KEY, PIXABAY_KEY, FakeStock
from tests.scripts.conftest import ScriptRun, run_script
from tests.scripts.test_generate_video import KENBURNS_PROFILE, assert_delivery
from tests.scripts.video_checks import make_image

SIZE = "640x360"


@dataclass
class Stock:
    fake: FakeStock
    env: dict[str, str]
    cache: Path
    image: Path


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stock-media")


@pytest.fixture
def stock(media_dir: Path, tmp_path: Path) -> Iterator[Stock]:
    fake = FakeStock(media_dir)
    with serve(fake.app()) as url:
        env = {
            "PEXELS_API_KEY": PEXELS_KEY,
            "PEXELS_BASE_URL": url,
            "PIXABAY_API_KEY": PIXABAY_KEY,
            "PIXABAY_BASE_URL": url,
        }
        yield Stock(fake, env, tmp_path / "cache", make_image(tmp_path / "still.png", (400, 260)))


def clip(
    stock: Stock, vendor: str, scene: int, *args: str, task: str = "t1", duration: str = "3"
) -> ScriptRun:
    out = stock.cache.parent / f"{task}-{scene}.mp4"
    argv = [
        "--image", str(stock.image), "--prompt", "slow push in on a city at night",
        "--output", str(out), "--provider", vendor, "--duration", duration, "--size", SIZE,
        "--cache-dir", str(stock.cache), "--channel", "cheap", "--task-id", task,
        "--scene", str(scene), *args,
    ]  # fmt: skip
    return run_script("generate_video.py", *argv, env=stock.env, timeout=120)


@pytest.mark.parametrize("vendor", ["pexels", "pixabay"])
def test_a_clip_is_picked_downloaded_cut_to_the_scene_and_credited(
    stock: Stock, vendor: str
) -> None:
    run = clip(stock, vendor, 1, "--query", "city night")
    assert run.returncode == 0, run.stderr
    result = run.result
    assert_delivery(Path(result["outputs"]["video"]), 3.0, SIZE)
    # 101 is 8 s (102 is too short for 3 s); the 960x540 file is the smallest at least 640x360.
    assert result["stock_id"] == f"{vendor}:101" and result["cost_usd"] == 0
    assert stock.fake.downloads == ["101-960x540.mp4"]
    credit = result["attribution"]
    assert (
        credit["credit"]
        == {
            "pexels": "Video by Ana Lopez on Pexels: https://www.pexels.com/video/clip-101/",
            "pixabay": "Video by AnaLopez on Pixabay: https://pixabay.com/videos/clip-101/",
        }[vendor]
    )
    (search,) = stock.fake.searches
    if vendor == "pexels":
        assert search["params"]["orientation"] == "landscape" and search["auth"] == PEXELS_KEY
    else:
        assert search["params"]["orientation"] == "horizontal"
        assert (search["params"]["min_width"], search["params"]["min_height"]) == ("640", "360")
    assert PEXELS_KEY not in run.stdout + run.stderr and PIXABAY_KEY not in run.stdout + run.stderr


def test_no_clip_repeats_in_a_video_or_the_channels_recent_videos_and_searches_are_cached(
    stock: Stock,
) -> None:
    picks = [clip(stock, "pexels", n, "--query", "city night").result["stock_id"] for n in (1, 2)]
    assert picks == ["pexels:101", "pexels:103"]  # 102 is too short
    assert len(stock.fake.searches) == 1  # the second scene's search came from the 24 h cache
    again = clip(stock, "pexels", 1, "--query", "city night").result
    assert again["stock_id"] == "pexels:101"  # a re-run keeps its scene's pick

    next_video = clip(
        stock, "pexels", 1, "--query", "city night", "--fallback", "kenburns", task="t2"
    ).result
    assert next_video["provider"] == "kenburns"  # both usable clips were used by the last video
    assert next_video["fallback_from"] == "pexels"
    assert "no pexels clip for 'city night'" in next_video["fallback_reason"]
    outside = clip(stock, "pexels", 1, "--query", "city night", "--reuse-window", "0", task="t3")
    assert outside.result["stock_id"] == "pexels:101"  # older than the window: usable again


def test_an_empty_url_size_is_skipped_and_a_cut_short_download_moves_to_the_next_clip(
    stock: Stock,
) -> None:
    stock.fake.cut_short = {"101-960x540.mp4"}
    run = clip(stock, "pixabay", 1, "--query", "city night")
    assert run.returncode == 0, run.stderr
    assert run.result["stock_id"] == "pixabay:103"
    assert stock.fake.downloads == ["101-960x540.mp4", "103-960x540.mp4"]  # never the 4K ""


@pytest.mark.parametrize("reply", ["empty", 500, 429])
def test_no_results_or_a_vendor_failing_falls_back_to_ken_burns_and_says_why(
    stock: Stock, reply: int | str
) -> None:
    stock.fake.replies = [reply] * 3
    run = clip(stock, "pexels", 1, "--fallback", "kenburns")
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["provider"] == "kenburns" and result["fallback_from"] == "pexels"
    assert result["query"] == "city night"  # derived from the motion prompt
    assert_delivery(Path(result["outputs"]["video"]), 3.0, SIZE, KENBURNS_PROFILE)
    expected = "no pexels clip" if reply == "empty" else f"HTTP {reply}"
    assert expected in result["fallback_reason"]


def test_without_a_fallback_no_clip_fails_and_a_bad_key_fails_without_showing_it(
    stock: Stock,
) -> None:
    stock.fake.replies = ["empty"]
    empty = clip(stock, "pexels", 1)
    assert empty.returncode == 1 and "names no fallback video provider" in empty.stderr
    stock.env["PIXABAY_API_KEY"] = "wrong-pixabay-secret"
    refused = clip(stock, "pixabay", 1, "--fallback", "kenburns")
    assert refused.returncode == 1
    assert "Pixabay refused the key (HTTP 400): check PIXABAY_API_KEY" in refused.stderr
    assert "wrong-pixabay-secret" not in refused.stderr + refused.stdout


def test_the_fleet_window_holds_each_vendor_under_its_published_limit(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
    import _stock

    now = 1_000_000.0
    for _ in range(100):
        _stock.take_rate_slot(tmp_path, "pixabay", now=now)
    stamps = json.loads((tmp_path / "rate-pixabay.json").read_text())
    assert len(stamps) == 100
    _stock.MAX_RATE_WAIT_S = 0.0
    with pytest.raises(_stock.StockUnavailableError, match="100 requests per 60s"):
        _stock.take_rate_slot(tmp_path, "pixabay", now=now + 30)
    _stock.take_rate_slot(tmp_path, "pixabay", now=now + 61)  # the window moved on
    assert _stock.RATE_LIMITS == {"pexels": (200, 3600.0), "pixabay": (100, 60.0)}
