"""Video metadata from the channel's templates, YouTube's limits, and the thumbnail's size."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from app.channels.config import ChannelConfig
from app.youtube.metadata import MetadataError, build_video_resource
from app.youtube.thumbnail import THUMBNAIL_MAX_BYTES, encode_jpeg, make_thumbnail
from tests.services.youtube_support import make_mp4

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)


def config(**youtube: object) -> ChannelConfig:
    return ChannelConfig.model_validate(
        {
            "slug": "tube",
            "name": "Tube",
            "providers": {"planner": "template", "image": "local", "video": "kenburns", "voice": "espeak", "sfx": "synth"},
            "youtube": youtube,
        }
    )  # fmt: skip


def build(
    cfg: ChannelConfig, title: str = "Whales", topic: str | None = "song"
) -> dict[str, object]:
    return build_video_resource(cfg, title=title, topic=topic, channel_name="Tube", now=NOW)


def test_defaults_are_private_and_declare_synthetic_media() -> None:
    resource = build(config())
    assert resource == {
        "snippet": {"title": "Whales", "description": "Whales", "categoryId": "22", "defaultLanguage": "en", "defaultAudioLanguage": "en"},
        "status": {"privacyStatus": "private", "selfDeclaredMadeForKids": False, "containsSyntheticMedia": True},
    }  # fmt: skip


def test_templates_tags_category_and_schedule() -> None:
    cfg = config(
        title_template="{{ title }} ({{ channel_name }})",
        description_template="{{ topic }} on {{ date }}",
        tags=["sea", "whales"],
        category_id=27,
        language="pt-BR",
        made_for_kids=True,
        publish_at={"time": "17:30", "timezone": "Europe/London", "min_delay_minutes": 60},
    )
    resource = build(cfg)
    assert resource["snippet"] == {
        "title": "Whales (Tube)",
        "description": "song on 2026-05-04",
        "categoryId": "27",
        "defaultLanguage": "pt-BR",
        "defaultAudioLanguage": "pt-BR",
        "tags": ["sea", "whales"],
    }
    # 15:00 UTC is 16:00 in London (BST); the next 17:30 at least an hour later is today's
    assert resource["status"] == {
        "privacyStatus": "private",
        "selfDeclaredMadeForKids": True,
        "containsSyntheticMedia": True,
        "publishAt": "2026-05-04T16:30:00Z",
    }


def test_long_title_names_the_title_template() -> None:
    with pytest.raises(MetadataError) as error:
        build(config(title_template="Episode: {{ title }}"), title="x" * 95)
    assert error.value.template == "youtube.title_template"
    assert "channel tube: youtube.title_template renders a title of 104 characters; YouTube allows 100" in error.value.message  # fmt: skip


def test_description_limit_counts_bytes_and_names_its_template() -> None:
    with pytest.raises(MetadataError) as error:
        build(config(description_template="{{ topic }}"), topic="é" * 2600)  # 5,200 bytes
    assert error.value.template == "youtube.description_template"
    assert "description of 5200 bytes; YouTube allows 5000" in error.value.message


def test_angle_brackets_from_the_task_are_refused_by_template() -> None:
    with pytest.raises(
        MetadataError, match=r"youtube\.title_template renders a title containing '<' or '>'"
    ):
        build(config(), title="Fish <3")
    with pytest.raises(
        MetadataError, match=r"youtube\.description_template renders a description containing"
    ):
        build(config(description_template="{{ topic }}"), topic="a > b")


def test_empty_title_is_refused() -> None:
    with pytest.raises(MetadataError, match="renders an empty title"):
        build(config(title_template="{{ topic }}"), topic="  ")


def test_thumbnail_config_takes_one_source() -> None:
    assert config(thumbnail={"asset": "hero"}).youtube.thumbnail.asset == "hero"
    with pytest.raises(ValueError, match="give frame_at_s or asset, not both"):
        config(thumbnail={"asset": "hero", "frame_at_s": 1.0})


def test_thumbnail_is_a_jpeg_under_two_megabytes(tmp_path: Path) -> None:
    noise = Image.effect_noise((1600, 1200), 120).convert("RGB")
    data = encode_jpeg(noise)
    assert len(data) <= THUMBNAIL_MAX_BYTES
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.width <= 1280 and image.height <= 720
    tiny = encode_jpeg(noise, max_bytes=50_000)  # quality, then size, come down until it fits
    assert len(tiny) <= 50_000

    video = tmp_path / "v.mp4"
    make_mp4(video, seconds=2)
    frame = make_thumbnail(video=video, frame_at_s=1.5, image=None)
    with Image.open(io.BytesIO(frame)) as image:
        assert image.size == (320, 240)
    asset = tmp_path / "hero.png"
    Image.new("RGB", (64, 32), (200, 10, 10)).save(asset)
    from_asset = make_thumbnail(video=video, frame_at_s=None, image=asset)
    with Image.open(io.BytesIO(from_asset)) as image:
        assert image.size == (64, 32)
        red, green, _ = image.getpixel((5, 5))  # type: ignore[misc]
        assert red > 180 and green < 40
