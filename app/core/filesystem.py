"""Workspace paths for channels, tasks and their media, all built through ``safe_join``.

Channel ids, task ids and asset names arrive from Notion rows, the API and channel configs, so
any of them may be hostile or just odd; a path built from them must never leave the workspace.
Layout (the seed's, under a configurable root, ``WORKSPACE_ROOT``):
``channels/<channel_id>/projects/<task_id>/{assets,composites,videos,audio,sfx,segments,final}``
and ``published/``. Every helper creates its directory and returns an absolute path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from uuid import UUID

from app.core.config import get_settings

__all__ = [
    "UnsafePathError",
    "get_asset_dir",
    "get_audio_dir",
    "get_channel_workspace",
    "get_composite_dir",
    "get_final_dir",
    "get_project_dir",
    "get_published_dir",
    "get_segment_dir",
    "get_sfx_dir",
    "get_video_dir",
    "safe_join",
    "workspace_root",
]

PathPart = str | int | UUID
Root = str | Path | None

MAX_PART_BYTES = 255  # NAME_MAX on Linux file systems


class UnsafePathError(ValueError):
    """A path part that could escape the workspace or is not a usable file name."""

    def __init__(self, part: object, reason: str) -> None:
        shown = repr(part) if len(repr(part)) <= 80 else repr(part)[:77] + "..."
        self.part = part
        self.reason = reason
        super().__init__(f"unsafe path part {shown}: {reason}")


def workspace_root(root: Root = None) -> Path:
    """The absolute workspace root: ``root`` if given (tests), else ``settings.workspace_root``."""
    return Path(root if root is not None else get_settings().workspace_root).resolve()


def _check_part(part: PathPart) -> str:
    if isinstance(part, bool) or not isinstance(part, str | int | UUID):
        raise UnsafePathError(part, f"must be a string, int or UUID, not {type(part).__name__}")
    text = str(part)
    if not text:
        raise UnsafePathError(part, "empty")
    if text in (".", ".."):
        raise UnsafePathError(part, "relative directory reference")
    if "\x00" in text:
        raise UnsafePathError(part, "contains a NUL byte")
    if "/" in text or "\\" in text:
        raise UnsafePathError(part, "contains a path separator")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UnsafePathError(part, "contains a control character")
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_PART_BYTES:
        raise UnsafePathError(part, f"longer than {MAX_PART_BYTES} bytes")
    return text


def safe_join(root: str | Path, *parts: PathPart) -> Path:
    """``root/part/part...``, refusing any part that is not one plain name, and any result that
    resolves outside ``root`` (a symlink inside the workspace pointing elsewhere, say)."""
    base = Path(root).resolve()
    names = [_check_part(part) for part in parts]
    path = base.joinpath(*names).resolve()
    if not path.is_relative_to(base):
        raise UnsafePathError("/".join(names), f"resolves outside {base}")
    return path


def _ensure(root: Root, *parts: PathPart) -> Path:
    path = safe_join(workspace_root(root), *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_channel_workspace(channel_id: PathPart, *, root: Root = None) -> Path:
    return _ensure(root, "channels", channel_id)


def get_project_dir(channel_id: PathPart, task_id: PathPart, *, root: Root = None) -> Path:
    """One task's (one video's) working directory; the seed called a task a project."""
    return _ensure(root, "channels", channel_id, "projects", task_id)


class ProjectDirGetter(Protocol):
    def __call__(self, channel_id: PathPart, task_id: PathPart, *, root: Root = None) -> Path: ...


def _project_subdir(name: str) -> ProjectDirGetter:
    """The getter of one media folder of a task's working directory (the layout above)."""

    def get_dir(channel_id: PathPart, task_id: PathPart, *, root: Root = None) -> Path:
        return _ensure(root, "channels", channel_id, "projects", task_id, name)

    return get_dir


get_asset_dir = _project_subdir("assets")
get_composite_dir = _project_subdir("composites")
get_video_dir = _project_subdir("videos")
get_audio_dir = _project_subdir("audio")
get_sfx_dir = _project_subdir("sfx")
get_segment_dir = _project_subdir("segments")  # per-scene, concatenated by the final assembly
get_final_dir = _project_subdir("final")


def get_published_dir(*, root: Root = None) -> Path:
    return _ensure(root, "published")
