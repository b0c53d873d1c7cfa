"""generate_asset.py --provider openai as a real subprocess against the OpenAI-compatible fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.openai_compat import API_KEY, FakeOpenAI, Reply
from tests.fakes.server import serve
from tests.scripts.conftest import ScriptRun, run_script

PROMPT = "A lighthouse on a cliff at dusk, waves below"


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def url(fake: FakeOpenAI) -> Iterator[str]:
    with serve(fake.app()) as base:
        yield f"{base}/v1"


def draw(out: Path, url: str, *args: str, key: str | None = API_KEY) -> ScriptRun:
    env = {"OPENAI_BASE_URL": url, **({"OPENAI_API_KEY": key} if key else {})}
    argv = ["--provider", "openai", "--prompt", PROMPT, "--output", str(out), *args]
    return run_script("generate_asset.py", *argv, env=env, timeout=120)


def colours(path: Path) -> int:
    with Image.open(path) as img:
        return len(img.convert("RGB").getcolors(1 << 20) or [])


def test_b64_json_becomes_a_png_of_the_frame_size_priced_per_image(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    out = tmp_path / "env.png"
    run = draw(out, url, "--kind", "environment", "--aspect-ratio", "16:9",
               "--size", "1920x1080", "--quality", "medium", "--cost-usd", "0.063")  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = run.result
    assert (result["provider"], result["model"], result["cost_usd"]) == (
        "openai",
        "gpt-image-1",
        0.063,
    )
    assert (result["width"], result["height"]) == (1920, 1080)
    assert result["outputs"]["image"] == str(out)
    (sent,) = fake.image_requests()
    # a GPT image model refuses response_format, so none is sent; 16:9 asks for its 3:2 size
    assert sent["body"] == {"model": "gpt-image-1", "prompt": PROMPT, "n": 1,
                            "size": "1536x1024", "quality": "medium"}  # fmt: skip
    assert sent["authorization"] == f"Bearer {API_KEY}"
    with Image.open(out) as img:
        assert (img.format, img.size, img.mode) == ("PNG", (1920, 1080), "RGB")
    assert colours(out) > 100  # the fake's landscape, not a blank frame
    assert API_KEY not in run.stdout + run.stderr


def test_a_url_answer_is_downloaded_without_the_key_and_figures_get_the_backdrop_hint(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    out = tmp_path / "hero.png"
    run = draw(out, url, "--model", "dall-e-3", "--kind", "character", "--aspect-ratio", "1:1",
               "--openai-size", "1024x1024", "--quality", "hd", "--cost-usd", "0.08")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (run.result["model"], run.result["width"], run.result["height"]) == (
        "dall-e-3",
        1024,
        1024,
    )
    body = fake.image_requests()[0]["body"]
    assert body["response_format"] == "b64_json"  # DALL-E takes it
    assert body["prompt"].startswith(PROMPT) and "plain uniform light background" in body["prompt"]

    fake.image_as_url = True  # a vendor that links whatever it was asked
    linked = tmp_path / "linked.png"
    run = draw(linked, url, "--model", "dall-e-3", "--aspect-ratio", "9:16", "--openai-size",
               "1024x1792", "--size", "1080x1920")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert len(fake.files) == 1
    with Image.open(linked) as img:
        assert img.size == (1080, 1920)
    assert colours(linked) > 100


def test_a_local_server_needs_no_key_and_the_base_url_can_be_given(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    fake.api_key = None
    run = draw(tmp_path / "a.png", "http://127.0.0.1:9/v1", "--base-url", url, key=None)
    assert run.returncode == 0, run.stderr
    assert fake.image_requests()[0]["authorization"] is None
    assert run.result["cost_usd"] == 0.063  # the default price of a gpt-image-1 medium image


def test_429_and_5xx_are_retried_after_the_servers_wait(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    fake.replies = [Reply(status=429, retry_after_ms=400), Reply(status=503)]
    run = draw(tmp_path / "a.png", url)
    assert run.returncode == 0, run.stderr
    first, second, _third = fake.image_requests()
    assert second["at"] - first["at"] >= 0.4  # retry-after-ms, not the 0.05 s backoff
    assert (tmp_path / "a.png").is_file()


def test_insufficient_quota_fails_at_once_and_a_bad_key_is_named_without_its_value(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    fake.replies = [Reply(status=429, code="insufficient_quota")]
    broke = draw(tmp_path / "a.png", url)
    assert broke.returncode == 1
    assert len(fake.image_requests()) == 1  # no wait cures an empty account
    assert "HTTP 429" in broke.stderr and "exceeded your current quota" in broke.stderr
    assert "not retried" in broke.stderr and broke.stderr.count("\n") == 1

    wrong = "sk-not-the-right-one-1234"
    refused = draw(tmp_path / "b.png", url, key=wrong)
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr and "OPENAI_API_KEY" in refused.stderr
    assert wrong not in refused.stderr + refused.stdout
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()

    fake.replies = [Reply(status=500)] * 3
    down = draw(tmp_path / "c.png", url)
    assert down.returncode == 1 and "HTTP 500" in down.stderr
    assert len(fake.image_requests()) == 2 + 3  # three attempts, then the error


@pytest.mark.parametrize("as_url", [False, True])
def test_an_answer_that_is_not_an_image_is_a_clear_error(
    tmp_path: Path, fake: FakeOpenAI, url: str, as_url: bool
) -> None:
    fake.image_bytes = b"<html><body>Service unavailable</body></html>"
    fake.image_as_url = as_url
    run = draw(tmp_path / "a.png", url)
    assert run.returncode == 1
    assert "the server's answer is not an image" in run.stderr
    assert not (tmp_path / "a.png").exists()


def test_a_size_the_model_does_not_draw_is_the_servers_400_without_retry(
    tmp_path: Path, fake: FakeOpenAI, url: str
) -> None:
    run = draw(tmp_path / "a.png", url, "--openai-size", "1792x1024")
    assert run.returncode == 1
    assert "HTTP 400" in run.stderr and "Invalid size '1792x1024'" in run.stderr
    assert len(fake.image_requests()) == 1
