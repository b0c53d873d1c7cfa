"""Scene and manifest JSON for assemble_video.py, validated into dataclasses.

Hand-rolled rather than pydantic so every message names the scene (or segment) and the field in
words an operator can act on, e.g. ``scene 3: field 'clip': file not found``. Unknown keys are
errors too: a misspelt ``captons`` silently doing nothing is worse than a failed run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import _common

DEFAULT_PADDING_S = 0.5
DEFAULT_SFX_GAIN_DB = -6.0
DEFAULT_MUSIC_GAIN_DB = -20.0
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "center")
CAPTION_POSITIONS = ("bottom", "center", "top")
_HEX_COLOUR = re.compile(r"^#?[0-9a-fA-F]{6}$")


class SchemaError(_common.ScriptError):
    """Invalid scene/manifest JSON: the script exits 2 (the call itself is wrong)."""


@dataclass(frozen=True)
class CaptionStyle:
    """Channel caption style; sizes are pixels of a 1080-short-side frame (libass scales them)."""

    enabled: bool = False
    font: str | None = None
    font_file: Path | None = None
    font_size: float = 64.0
    colour: str = "#FFFFFF"
    outline_colour: str = "#000000"
    outline: float = 4.0
    shadow: float = 1.0
    bold: bool = True
    box: bool = False
    position: str = "bottom"
    margin: float | None = None
    words_per_chunk: int | None = None


@dataclass(frozen=True)
class Watermark:
    path: Path
    position: str = "bottom-right"
    opacity: float = 0.8
    scale: float = 0.12
    margin: float = 0.03


@dataclass(frozen=True)
class Scene:
    number: int
    clip: Path
    narration: Path | None
    sfx: Path | None = None
    narration_text: str = ""
    words: Path | None = None  # the voice's word timings, when it reports them
    duration_s: float | None = None
    padding_s: float = DEFAULT_PADDING_S
    min_duration_s: float = 0.0
    captions: CaptionStyle = field(default_factory=CaptionStyle)
    watermark: Watermark | None = None
    sfx_gain_db: float = DEFAULT_SFX_GAIN_DB
    size: tuple[int, int] = _common.SIZES["16:9"]
    fps: int = _common.DELIVERY_FPS


@dataclass(frozen=True)
class Music:
    path: Path
    gain_db: float = DEFAULT_MUSIC_GAIN_DB
    fade_in_s: float = 1.0
    fade_out_s: float = 2.0
    duck: bool = True


@dataclass(frozen=True)
class Manifest:
    segments: list[Path] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    intro: Path | None = None
    outro: Path | None = None
    music: Music | None = None
    cache_dir: Path | None = None
    size: tuple[int, int] | None = None
    texts: list[tuple[str, Path | None]] = field(default_factory=list)  # per segment, for SRT
    words_per_chunk: int | None = None


# ---------------------------------------------------------------- small typed readers


class _Reader:
    """Reads fields of one JSON object, prefixing every error with where it is."""

    def __init__(self, obj: Any, where: str, base: Path, allowed: set[str]) -> None:
        if not isinstance(obj, dict):
            raise SchemaError(f"{where}: must be a JSON object, got {type(obj).__name__}")
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise SchemaError(f"{where}: unknown field {unknown[0]!r}")
        self.obj, self.where, self.base = obj, where, base

    def err(self, name: str, msg: str) -> SchemaError:
        return SchemaError(f"{self.where}: field {name!r}: {msg}")

    def has(self, name: str) -> bool:
        return self.obj.get(name) is not None

    def number(self, name: str, default: float | None, lo: float, hi: float) -> float | None:
        value = self.obj.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.err(name, f"must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.err(name, f"must be between {lo:g} and {hi:g}, got {value!r}")
        return float(value)

    def integer(self, name: str, default: int | None, lo: int, hi: int) -> int | None:
        value = self.obj.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(name, f"must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.err(name, f"must be between {lo} and {hi}, got {value!r}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.obj.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.err(name, f"must be true or false, got {value!r}")
        return value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.obj.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.err(name, f"must be a string, got {type(value).__name__}")
        return value

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(name, default) or default
        if value not in options:
            raise self.err(name, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def colour(self, names: tuple[str, str], default: str) -> str:
        for name in names:
            value = self.text(name)
            if value is not None:
                if not _HEX_COLOUR.match(value):
                    raise self.err(name, f"must be a colour like #FFFFFF, got {value!r}")
                return "#" + value.lstrip("#").upper()
        return default

    def path(self, name: str, *, required: bool = False, must_exist: bool = True) -> Path | None:
        value = self.text(name)
        if value is None or not value.strip():
            if required:
                raise self.err(name, "is required")
            return None
        if "\x00" in value:
            raise self.err(name, "contains a NUL byte")
        path = Path(value)
        path = path if path.is_absolute() else self.base / path
        # A missing or empty file is a failed input (exit 1), not a malformed call (exit 2).
        if must_exist and not path.is_file():
            raise _common.ScriptError(f"{self.where}: field {name!r}: file not found: {path}")
        if must_exist and path.stat().st_size == 0:
            raise _common.ScriptError(f"{self.where}: field {name!r}: file is empty: {path}")
        return path


def _size(r: _Reader, default: tuple[int, int]) -> tuple[int, int]:
    raw_size, ratio = r.text("size"), r.text("aspect_ratio")
    if raw_size is not None:
        try:
            w, h = _common.parse_size(raw_size)
        except Exception as exc:
            raise r.err("size", str(exc)) from None
        if w % 2 or h % 2:
            raise r.err("size", f"width and height must be even for yuv420p, got {raw_size!r}")
        return w, h
    if ratio is not None:
        if ratio not in _common.SIZES:
            raise r.err("aspect_ratio", f"must be one of {', '.join(_common.SIZES)}, got {ratio!r}")
        return _common.SIZES[ratio]
    return default


_CAPTION_KEYS = {
    "enabled", "font", "font_file", "font_size", "color", "colour", "outline_color",
    "outline_colour", "outline", "shadow", "bold", "box", "position", "margin", "words_per_chunk",
}  # fmt: skip


def parse_captions(value: Any, where: str, base: Path, default: CaptionStyle) -> CaptionStyle:
    """``true``/``false`` toggles the inherited style; an object is a (channel) style, on by default."""
    if value is None:
        return default
    if isinstance(value, bool):
        return replace(default, enabled=value)
    r = _Reader(value, f"{where}: field 'captions'", base, _CAPTION_KEYS)
    return CaptionStyle(
        enabled=r.boolean("enabled", True),
        font=r.text("font", default.font),
        font_file=r.path("font_file") or default.font_file,
        font_size=r.number("font_size", default.font_size, 8, 400) or default.font_size,
        colour=r.colour(("colour", "color"), default.colour),
        outline_colour=r.colour(("outline_colour", "outline_color"), default.outline_colour),
        outline=r.number("outline", default.outline, 0, 40) or 0.0,
        shadow=r.number("shadow", default.shadow, 0, 40) or 0.0,
        bold=r.boolean("bold", default.bold),
        box=r.boolean("box", default.box),
        position=r.choice("position", default.position, CAPTION_POSITIONS),
        margin=r.number("margin", default.margin, 0, 1000),
        words_per_chunk=r.integer("words_per_chunk", default.words_per_chunk, 1, 20),
    )


def _file_field(value: Any, where: str, base: Path, keys: set[str]) -> tuple[_Reader, Path] | None:
    """A file-with-options field (watermark, music): absent, a bare path, or an object with ``path``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    r = _Reader(value, where, base, {"path", *keys})
    path = r.path("path", required=True)
    assert path is not None
    return r, path


def parse_watermark(value: Any, where: str, base: Path) -> Watermark | None:
    parsed = _file_field(
        value, f"{where}: field 'watermark'", base, {"position", "opacity", "scale", "margin"}
    )
    if parsed is None:
        return None
    r, path = parsed
    return Watermark(
        path=path,
        position=r.choice("position", "bottom-right", POSITIONS),
        opacity=r.number("opacity", 0.8, 0, 1) or 0.0,
        scale=r.number("scale", 0.12, 0.01, 1) or 0.12,
        margin=r.number("margin", 0.03, 0, 0.4) or 0.0,
    )


_SCENE_KEYS = {
    "number", "clip", "narration", "sfx", "narration_text", "words", "duration_s", "padding_s",
    "min_duration_s", "captions",
    "watermark", "sfx_gain_db", "size", "aspect_ratio", "fps",
}  # fmt: skip


@dataclass(frozen=True)
class SceneDefaults:
    """What a manifest (or the CLI) gives every raw scene that does not say otherwise."""

    size: tuple[int, int] = _common.SIZES["16:9"]
    captions: CaptionStyle = field(default_factory=CaptionStyle)
    watermark: Watermark | None = None
    force_captions: bool = False


def parse_scene(obj: Any, where: str, base: Path, defaults: SceneDefaults) -> Scene:
    if (
        isinstance(obj, dict)
        and isinstance(obj.get("number"), int)
        and not isinstance(obj["number"], bool)
    ):
        where = f"scene {obj['number']}"
    r = _Reader(obj, where, base, _SCENE_KEYS)
    number = r.integer("number", None, 1, 100_000)
    if number is None:
        raise r.err("number", "is required")
    clip = r.path("clip", required=True)
    narration = r.path("narration")
    duration_s = r.number("duration_s", None, 0.1, 3600)
    if narration is None and duration_s is None:
        raise r.err("narration", "is required (or give duration_s for a scene without voice)")
    captions = parse_captions(obj.get("captions"), where, base, defaults.captions)
    if defaults.force_captions:
        captions = replace(captions, enabled=True)
    fps = r.integer("fps", _common.DELIVERY_FPS, 1, 120)
    assert clip is not None and fps is not None
    if _common.DELIVERY_AUDIO_RATE % fps:
        raise r.err("fps", f"must divide {_common.DELIVERY_AUDIO_RATE} so audio and video align")
    watermark = parse_watermark(obj.get("watermark"), where, base) if "watermark" in obj else None
    return Scene(
        number=number,
        clip=clip,
        narration=narration,
        sfx=r.path("sfx"),
        narration_text=" ".join((r.text("narration_text") or "").split()),
        words=r.path("words", must_exist=False),
        duration_s=duration_s,
        padding_s=r.number("padding_s", DEFAULT_PADDING_S, 0, 60) or 0.0,
        min_duration_s=r.number("min_duration_s", 0.0, 0, 3600) or 0.0,
        captions=captions,
        watermark=watermark if "watermark" in obj else defaults.watermark,
        sfx_gain_db=r.number("sfx_gain_db", DEFAULT_SFX_GAIN_DB, -60, 20) or 0.0,
        size=_size(r, defaults.size),
        fps=fps,
    )


def _parse_music(value: Any, base: Path) -> Music | None:
    parsed = _file_field(
        value, "manifest: field 'music'", base, {"gain_db", "fade_in_s", "fade_out_s", "duck"}
    )
    if parsed is None:
        return None
    r, path = parsed
    return Music(
        path=path,
        gain_db=r.number("gain_db", DEFAULT_MUSIC_GAIN_DB, -60, 10) or 0.0,
        fade_in_s=r.number("fade_in_s", 1.0, 0, 60) or 0.0,
        fade_out_s=r.number("fade_out_s", 2.0, 0, 60) or 0.0,
        duck=r.boolean("duck", True),
    )


_MANIFEST_KEYS = {
    "segments", "scenes", "intro", "outro", "music", "cache_dir", "size", "aspect_ratio",
    "captions", "watermark", "title",
}  # fmt: skip


def load_json(path: Path, what: str) -> Any:
    _common.require_input(path, what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{what} {path.name} is not valid JSON: {exc}") from None


def parse_manifest(obj: Any, base: Path, force_captions: bool) -> Manifest:
    r = _Reader(obj, "manifest", base, _MANIFEST_KEYS)
    size = _size(r, (0, 0))
    defaults = SceneDefaults(
        size=size if size != (0, 0) else _common.SIZES["16:9"],
        captions=parse_captions(obj.get("captions"), "manifest", base, CaptionStyle()),
        watermark=parse_watermark(obj.get("watermark"), "manifest", base),
        force_captions=force_captions,
    )
    segments_raw, scenes_raw = obj.get("segments"), obj.get("scenes")
    if (segments_raw is None) == (scenes_raw is None):
        raise SchemaError(
            "manifest: give exactly one of field 'segments' (finished) or 'scenes' (raw)"
        )
    entries = segments_raw if segments_raw is not None else scenes_raw
    name = "segments" if segments_raw is not None else "scenes"
    if not isinstance(entries, list) or not entries:
        raise r.err(name, "must be a non-empty list")
    segments: list[Path] = []
    scenes: list[Scene] = []
    texts: list[tuple[str, Path | None]] = []
    for index, entry in enumerate(entries, start=1):
        if segments_raw is not None:
            item = {"path": entry} if isinstance(entry, str) else entry
            sr = _Reader(item, f"segment {index}", base, {"path", "number", "text", "narration"})
            sr.integer("number", None, 1, 100_000)
            path = sr.path("path", required=True, must_exist=False)
            assert path is not None
            segments.append(path)
            texts.append((sr.text("text") or "", sr.path("narration")))
        else:
            scenes.append(parse_scene(entry, f"scene entry {index}", base, defaults))
    numbers = [s.number for s in scenes]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise SchemaError(f"scene {duplicates[0]}: field 'number': used by more than one scene")
    return Manifest(
        segments=segments,
        scenes=scenes,
        intro=r.path("intro"),
        outro=r.path("outro"),
        music=_parse_music(obj.get("music"), base),
        cache_dir=r.path("cache_dir", must_exist=False),
        size=size if size != (0, 0) else None,
        texts=texts or [(s.narration_text, s.narration) for s in scenes],
        words_per_chunk=defaults.captions.words_per_chunk,
    )
