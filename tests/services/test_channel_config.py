"""Channel YAML validation: the shipped files load, and every bad file says which file and field."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from app.channels.config import (
    ChannelConfig,
    ChannelConfigError,
    load_channel_config,
    load_channel_configs,
    render_template,
)
from app.channels.sync import get_channel_config
from app.core.config import PROJECT_ROOT
from app.models import Channel, PipelineStep

BAD_DIR = Path(__file__).resolve().parents[1] / "data" / "bad_channel_configs"
SHIPPED_DIR = PROJECT_ROOT / "channel_configs"

MINIMAL = """slug: {slug}
name: Test Channel
providers:
  planner: template
  image: local
  video: kenburns
  voice: espeak
  sfx: synth
"""

# file stem -> (field path named in the message, or None for whole-file problems; expected text)
EXPECTED: dict[str, tuple[str | None, str]] = {
    "unknown-key": ("providers.video.kling.modle", "unknown key; did you mean 'model'?"),
    "wrong-type": ("max_concurrent", "expected a whole number, got 'three'"),
    "bad-provider": ("providers.video", "'kling2' is not one of kling, kenburns"),
    "bad-provider-mapping": (
        "providers.image.provider",
        "'imagen' is not one of gemini, openai, local",
    ),
    "bad-aspect-ratio": ("frame.aspect_ratio", "'4:3' is not one of 16:9, 9:16"),
    "negative-budget": ("budget.per_video_usd", "must be greater than 0, got -5"),
    "bad-gate": ("review_gates[1]", "'voice' is not one of plan, assets, composites"),
    "gate-upload": ("review_gates", "a gate after upload holds nothing back"),
    "slug-mismatch": ("slug", "'some-other-channel' must equal the file name 'slug-mismatch'"),
    "bad-slug-chars": ("slug", "'Bad_Slug' is not a slug"),
    "empty": (None, "file is empty"),
    "list-top-level": (None, "the top level must be a mapping of keys"),
    "scalar-top-level": (None, "not a single value (str)"),
    "syntax-error": (None, "YAML syntax error at line 11, column 10"),
    "duplicate-key": ("frame.aspect_ratio", "duplicate key (first on line 10, again on line 11)"),
    "max-concurrent-zero": ("max_concurrent", "must be at least 1, got 0"),
    "bad-privacy": ("youtube.privacy", "'secret' is not one of public, unlisted, private"),
    "title-too-long": ("youtube.title_template", "fixed text is 121 bytes; YouTube allows 100"),
    "bad-placeholder": ("youtube.title_template", "unknown placeholder {{ titel }}"),
    "publish-needs-private": ("youtube", "publish_at needs privacy: private"),
    "bad-timezone": ("youtube.publish_at.timezone", "unknown time zone 'Mars/Olympus_Mons'"),
    "missing-name": ("name", "required key is missing"),
    "missing-providers": ("providers", "required key is missing"),
    "name-wrong-type": ("name", "expected text, got a list"),
    "non-utf8": (None, "is not UTF-8 text (byte 0xe9 on line 2)"),
    "tabs": (None, "line 7 is indented with a tab"),
    "bad-colour": ("branding.captions.colour", "expected a hex colour like #FFFFFF, got 'white'"),
    "secret-in-yaml": ("gemini_api_key", "secrets never go in channel YAML"),
    "section-not-mapping": ("frame", "expected a mapping (indented key: value lines), got '16:9'"),
    "kling-reserved-input": ("providers.video.kling.input", "prompt: filled in per scene"),
    "budget-video-over-day": ("budget", "per_video_usd is larger than per_day_usd"),
    "bad-notion-id": ("notion.database_id", "expected the 32-hex-digit id"),
    "voice-speed-range": ("providers.voice.elevenlabs.speed", "must be at most 1.2, got 2"),
    "watermark-not-png": ("branding.watermark.path", "expected a file ending in .png"),
    "wrong-bool": ("youtube.made_for_kids", "expected true or false, got 'sometimes'"),
    "bad-language": ("youtube.language", "'English' is not a language code; use a BCP-47 code"),
    "recursive-alias": ("name[0]", "aliases (*name) are not supported"),
}


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_corpus_matches_the_table() -> None:
    files = {p.stem for p in BAD_DIR.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 15


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_bad_file_names_file_and_field(stem: str) -> None:
    field, fragment = EXPECTED[stem]
    with pytest.raises(ChannelConfigError) as info:
        load_channel_config(BAD_DIR / f"{stem}.yaml")
    message = str(info.value)
    assert len(info.value.problems) == 1, message
    assert info.value.problems[0].file.endswith(f"bad_channel_configs/{stem}.yaml")
    assert message.startswith(f"{info.value.problems[0].file}: "), message
    if field is not None:
        assert f"{stem}.yaml: {field}: " in message, message
        assert info.value.problems[0].field == field
    assert fragment in message, message


def test_secret_value_is_not_echoed() -> None:
    with pytest.raises(ChannelConfigError) as info:
        load_channel_config(BAD_DIR / "secret-in-yaml.yaml")
    assert "AIzaSy" not in str(info.value)


def test_directory_reports_every_file_at_once() -> None:
    with pytest.raises(ChannelConfigError) as info:
        load_channel_configs(BAD_DIR)
    files = {Path(p.file).stem for p in info.value.problems}
    assert files == set(EXPECTED)
    assert str(info.value).startswith(f"{len(EXPECTED)} problems in channel configs:\n")


def test_all_problems_of_one_file_are_listed(tmp_path: Path) -> None:
    text = (
        MINIMAL.format(slug="many") + "max_concurrent: 0\nframe:\n  aspect_ratio: 4:3\ncolor: red\n"
    )
    path = _write(tmp_path, "many.yaml", text)
    with pytest.raises(ChannelConfigError) as info:
        load_channel_config(path)
    assert {p.field for p in info.value.problems} == {
        "max_concurrent",
        "frame.aspect_ratio",
        "color",
    }


def test_shipped_configs_are_valid() -> None:
    configs = {c.slug: c for c in load_channel_configs(SHIPPED_DIR)}
    assert {"demo", "deep-sea-tales"} <= set(configs)
    demo = configs["demo"]
    assert demo.active
    assert demo.providers.paid == frozenset()
    assert (demo.providers.image.provider, demo.providers.video.provider) == ("local", "kenburns")
    assert (demo.providers.voice.provider, demo.providers.sfx.provider) == ("hibari", "synth")
    assert demo.providers.planner.provider == "template"
    assert demo.frame.size == "1920x1080"
    assert demo.branding.captions.enabled
    paid = configs["deep-sea-tales"]
    assert not paid.active  # a checkout without keys must still start
    assert paid.providers.paid == frozenset({"gemini", "kling", "elevenlabs"})
    assert paid.frame.size == "1080x1920"
    assert paid.budget.per_video_usd is not None
    assert "{{ title }}" in paid.youtube.title_template


def test_duplicate_slug_across_files_names_both(tmp_path: Path) -> None:
    shutil.copy(SHIPPED_DIR / "demo.yaml", tmp_path / "demo.yaml")
    shutil.copy(SHIPPED_DIR / "demo.yaml", tmp_path / "demo.yml")
    with pytest.raises(ChannelConfigError) as info:
        load_channel_configs(tmp_path)
    (problem,) = info.value.problems
    assert problem.field == "slug"
    assert problem.file.endswith("demo.yml")
    assert "'demo' is also used by" in problem.message
    assert problem.message.split("is also used by ")[1].split(";")[0].endswith("demo.yaml")


def test_hidden_and_foreign_files_are_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "one.yaml", MINIMAL.format(slug="one"))
    _write(tmp_path, ".draft.yaml", "nonsense: [")
    _write(tmp_path, "notes.txt", "not yaml: [")
    assert [c.slug for c in load_channel_configs(tmp_path)] == ["one"]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ChannelConfigError, match="channel config folder not found"):
        load_channel_configs(tmp_path / "nope")


def test_unquoted_ratio_and_time_stay_text(tmp_path: Path) -> None:
    """YAML 1.1 would read 9:16 as 556 and 17:30 as 1050 (base 60)."""
    text = MINIMAL.format(slug="ratio") + (
        "frame:\n  aspect_ratio: 9:16\nyoutube:\n  publish_at:\n    time: 17:30\n"
    )
    config = load_channel_config(_write(tmp_path, "ratio.yaml", text))
    assert config.frame.size == "1080x1920"
    assert config.youtube.publish_at is not None
    assert config.youtube.publish_at.time == time(17, 30)


def test_defaults_of_a_minimal_config(tmp_path: Path) -> None:
    config = load_channel_config(_write(tmp_path, "min.yaml", MINIMAL.format(slug="min")))
    assert config.review_gates == [
        PipelineStep.PLAN,
        PipelineStep.ASSETS,
        PipelineStep.VIDEOS,
        PipelineStep.SOUND_EFFECTS,
        PipelineStep.ASSEMBLY,
    ]
    assert config.youtube.privacy == "private"
    assert config.youtube.contains_synthetic_media is True
    assert config.frame.size == "1920x1080"
    assert config.budget.per_video_usd is None
    assert config.max_concurrent == 1


def test_shorthand_equals_mapping(tmp_path: Path) -> None:
    short = load_channel_config(_write(tmp_path, "a.yaml", MINIMAL.format(slug="a")))
    long_text = MINIMAL.format(slug="a").replace(
        "  video: kenburns\n", "  video:\n    provider: kenburns\n"
    )
    (tmp_path / "long").mkdir()
    long = load_channel_config(_write(tmp_path / "long", "a.yaml", long_text))
    assert short == long


def test_gates_are_kept_in_pipeline_order(tmp_path: Path) -> None:
    text = MINIMAL.format(slug="g") + "review_gates: [assembly, plan]\n"
    config = load_channel_config(_write(tmp_path, "g.yaml", text))
    assert config.review_gates == [PipelineStep.PLAN, PipelineStep.ASSEMBLY]
    assert config.has_gate(PipelineStep.PLAN) and not config.has_gate(PipelineStep.VIDEOS)


def test_notion_id_is_normalised(tmp_path: Path) -> None:
    text = MINIMAL.format(slug="n") + "notion:\n  database_id: 1F2E3D4C5B6A79881F2E3D4C5B6A7988\n"
    config = load_channel_config(_write(tmp_path, "n.yaml", text))
    assert config.notion.database_id == "1f2e3d4c-5b6a-7988-1f2e-3d4c5b6a7988"


def test_json_round_trip_of_shipped_configs() -> None:
    for config in load_channel_configs(SHIPPED_DIR):
        data = json.loads(json.dumps(config.model_dump(mode="json")))
        assert "size" not in data["frame"]  # derived values are not stored
        assert ChannelConfig.model_validate(data) == config


def test_render_template() -> None:
    values = {"title": "The Abyss", "channel_name": "Deep Sea Tales"}
    assert render_template("{{ title }} | {{channel_name}}", values) == "The Abyss | Deep Sea Tales"
    assert render_template("{{ topic }}!", values) == "!"


def test_next_publish_at_respects_zone_and_delay(tmp_path: Path) -> None:
    text = MINIMAL.format(slug="p") + (
        'youtube:\n  publish_at:\n    time: "17:00"\n    timezone: America/New_York\n'
    )
    schedule = load_channel_config(_write(tmp_path, "p.yaml", text)).youtube.publish_at
    assert schedule is not None
    morning = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert schedule.next_publish_at(morning) == datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    late = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)  # 16:30 EDT: under an hour before 17:00
    assert schedule.next_publish_at(late) == datetime(2026, 3, 11, 21, 0, tzinfo=UTC)


def test_stored_config_that_no_longer_validates_names_the_channel() -> None:
    config = load_channel_config(SHIPPED_DIR / "demo.yaml").model_dump(mode="json")
    config["providers"]["video"]["provider"] = "sora"
    channel = Channel(slug="demo", name="Demo", config=config)
    with pytest.raises(ChannelConfigError) as info:
        get_channel_config(channel)
    assert str(info.value).startswith(
        "channel demo (stored config): providers.video.provider: 'sora' is not one of"
    )
