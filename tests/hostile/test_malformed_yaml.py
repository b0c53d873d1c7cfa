"""Hostile channel YAML: each file gets a clear error naming it (and the line), quickly, and the
good files next to it are unaffected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.channels.config import (
    MAX_CONFIG_BYTES,
    ChannelConfigError,
    load_channel_config,
    load_channel_configs,
)

CORPUS = Path(__file__).parent / "corpus" / "yaml"
GOOD = """slug: {slug}
name: Good Channel
providers:
  planner: template
  image: local
  video: kenburns
  voice: espeak
  sfx: synth
"""
# file stem -> text the one-line error must contain
EXPECTED = {
    "billion-laughs": "b[0]: aliases (*name) are not supported",
    "merge-key-alias": "providers.<<: aliases (*name) are not supported",
    "python-tag": "could not determine a constructor for the tag",
    "nul-byte": "control character U+0000 at line 2, column 11",
    "binary": "is not UTF-8 text (byte 0x80 on line 2)",
    "png-named-yaml": "is not UTF-8 text (byte 0x89 on line 1)",
    "duplicate-top-key": "name: duplicate key (first on line 2, again on line 9)",
    "tabs-and-spaces": "line 5 is indented with a tab",
}


def test_corpus_matches_the_table() -> None:
    stems = {p.stem for p in CORPUS.glob("*.yaml")}
    assert stems == set(EXPECTED) | {"bom-and-crlf"}


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_hostile_file_gets_a_clear_error(stem: str) -> None:
    path = CORPUS / f"{stem}.yaml"
    with pytest.raises(ChannelConfigError) as caught:
        load_channel_config(path)
    message = str(caught.value)
    assert f"{stem}.yaml" in message
    assert EXPECTED[stem] in message
    assert "Traceback" not in message


def test_yaml_tags_never_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = GOOD.format(slug="tagged") + f'x: !!python/object/apply:os.system ["touch {marker}"]\n'
    path = tmp_path / "tagged.yaml"
    path.write_text(text)
    with pytest.raises(ChannelConfigError):
        load_channel_config(path)
    assert not marker.exists()


def test_bom_and_crlf_are_fine() -> None:
    assert load_channel_config(CORPUS / "bom-and-crlf.yaml").slug == "bom-and-crlf"


def test_ten_megabyte_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as out:
        out.write(GOOD.format(slug="huge"))
        out.write("description: |\n")
        out.writelines("  " + "x" * 97 + "\n" for _ in range(100_000))
    assert path.stat().st_size > 10_000_000 > MAX_CONFIG_BYTES
    with pytest.raises(ChannelConfigError) as caught:
        load_channel_config(path)  # refused by size: parsing it would take ~20 s here
    assert "huge.yaml" in str(caught.value)
    assert f"is {path.stat().st_size} bytes" in str(caught.value)
    assert f"at most {MAX_CONFIG_BYTES} bytes" in str(caught.value)


def test_bad_files_do_not_hide_or_break_good_ones(tmp_path: Path) -> None:
    for path in CORPUS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "good-one.yaml").write_text(GOOD.format(slug="good-one"))
    with pytest.raises(ChannelConfigError) as caught:
        load_channel_configs(tmp_path)
    message = str(caught.value)
    for stem in EXPECTED:
        assert f"{stem}.yaml" in message
    assert "good-one.yaml" not in message and "bom-and-crlf.yaml" not in message
    # The good file still loads on its own: nothing about it was touched.
    assert load_channel_config(tmp_path / "good-one.yaml").name == "Good Channel"
