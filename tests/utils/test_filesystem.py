"""Workspace path helpers: the layout, and ids that try to leave the workspace."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core import filesystem as fs
from app.core.config import get_settings
from app.core.filesystem import UnsafePathError, safe_join

TRAVERSALS = [
    "..",
    ".",
    "a/../..",
    "../etc",
    "/etc",
    "/",
    "a\x00b",
    "..\\x",
    "C:\\Windows",
    "",
    "x" * 256,
    "line\nbreak",
]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_safe_join_refuses_escaping_parts(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        safe_join(tmp_path, "channels", bad)
    assert info.value.part == bad
    assert repr(bad)[:20] in str(info.value)  # the message names the bad part


@pytest.mark.parametrize("bad", TRAVERSALS)
@pytest.mark.parametrize("where", ["channel", "task"])
def test_helpers_refuse_escaping_ids(tmp_path: Path, bad: str, where: str) -> None:
    root = tmp_path / "ws"
    channel, task = (bad, "t1") if where == "channel" else ("c1", bad)
    with pytest.raises(UnsafePathError):
        fs.get_asset_dir(channel, task, root=root)
    created = [p for p in tmp_path.rglob("*")]
    assert all(p.is_relative_to(root) for p in created)  # nothing made outside the root


def test_non_string_parts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path, True)
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path, Path("a"))  # type: ignore[arg-type]


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "channels").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "channels" / "evil").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="resolves outside"):
        fs.get_project_dir("evil", "t1", root=root)
    assert not (outside / "projects").exists()


HELPERS: list[tuple[Callable[..., Path], str]] = [
    (fs.get_asset_dir, "assets"),
    (fs.get_composite_dir, "composites"),
    (fs.get_video_dir, "videos"),
    (fs.get_audio_dir, "audio"),
    (fs.get_sfx_dir, "sfx"),
    (fs.get_segment_dir, "segments"),
    (fs.get_final_dir, "final"),
]


@pytest.mark.parametrize(("helper", "name"), HELPERS)
def test_project_dirs_are_created_under_the_root(
    tmp_path: Path, helper: Callable[..., Path], name: str
) -> None:
    root = tmp_path / "ws"
    task_id = uuid.uuid4()
    path = helper("poke1", task_id, root=root)
    assert path == root.resolve() / "channels" / "poke1" / "projects" / str(task_id) / name
    assert path.is_dir() and path.is_absolute()


def test_channel_project_and_published_dirs(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert fs.get_channel_workspace("ch-1_ok.v2", root=root) == root / "channels" / "ch-1_ok.v2"
    assert fs.get_project_dir("ch", 17, root=root) == root / "channels" / "ch" / "projects" / "17"
    assert fs.get_published_dir(root=root) == root / "published"
    for path in (root / "channels" / "ch-1_ok.v2", root / "channels/ch/projects/17"):
        assert path.is_dir()
    assert (root / "published").is_dir()
    # Calling again is harmless (the directory already exists).
    assert fs.get_published_dir(root=root) == root / "published"


def test_names_with_dots_and_unicode_are_fine(tmp_path: Path) -> None:
    assert (
        safe_join(tmp_path, "a..b", "...", "café") == tmp_path.resolve() / "a..b" / "..." / "café"
    )


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = fs.get_channel_workspace("c1", root="./workspace")
    assert path == tmp_path.resolve() / "workspace" / "channels" / "c1"


def test_default_root_comes_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSPACE_ROOT", str(tmp_path / "from-env"))
    get_settings.cache_clear()
    try:
        path = fs.get_channel_workspace("c1")
    finally:
        get_settings.cache_clear()
    assert path == (tmp_path / "from-env" / "channels" / "c1").resolve()
    assert path.is_dir()
