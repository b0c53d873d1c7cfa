"""Burned-in captions: an .ass file in the channel style, timed in short chunks over the narration.

A voice that reports word timings (espeak-ng's word events, in the narration's ``.words.json``)
times each chunk on its first spoken word; without them the chunks share the speech by length.

The narration text never reaches an FFmpeg filtergraph: it is written into the .ass file, and the
only thing the graph names is that file's path (escaped by ``filter_value``). Inside the file, ASS
has its own markup (``{\\tags}``, ``\\N``, ``\\h``), so the text is escaped for libass as well.
"""

from __future__ import annotations

import base64
import inspect
import itertools
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import _common
from _assembly_schema import CaptionStyle

# The reference frame the style's pixel sizes refer to: libass scales PlayRes to the real frame.
REFERENCE_SHORT_SIDE = 1080
WORD_JOINER = "\u2060"  # zero-width, default-ignorable: HarfBuzz hides it even without a glyph
_SENTENCE_END = re.compile(r"[.!?;:…]$")
_SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path.home() / ".local/share/fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
_DEFAULT_FONT_FILES = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def escape_ass_text(text: str) -> str:
    """Make narration inert for libass: no override blocks, no ``\\N``/``\\h``, one line.

    Braces use libass's own ``\\{``/``\\}`` escapes; a backslash is followed by a word joiner so
    it can never pair with the next character into a command. The line is the last field of a
    Dialogue line, so commas are safe; newlines are folded so no new ASS line can be started.
    """
    out: list[str] = []
    for ch in " ".join(text.split()):
        if ch == "\\":
            out.append("\\" + WORD_JOINER)
        elif ch in "{}":
            out.append("\\" + ch)
        elif ord(ch) < 32 or ch == "\x7f":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def chunk_words(text: str, words_per_chunk: int) -> list[str]:
    """Groups of a few words, cut early after a sentence end so a chunk never spans two sentences."""
    chunks: list[str] = []
    current: list[str] = []
    for word in text.split():
        current.append(word)
        if len(current) >= words_per_chunk or _SENTENCE_END.search(word):
            chunks.append(" ".join(current))
            current = []
    if current:
        chunks.append(" ".join(current))
    return chunks


def time_cues(chunks: list[str], speech_s: float, scene_s: float) -> list[Cue]:
    """Spread the chunks over the narration in proportion to their length (a proxy for speech time).

    The last chunk stays up a little after the voice ends (never past the scene) so it can be read.
    """
    if not chunks or speech_s <= 0:
        return []
    weights = [len(c) + 2 for c in chunks]
    total = sum(weights)
    cues: list[Cue] = []
    t = 0.0
    for chunk, weight in zip(chunks, weights, strict=True):
        end = t + speech_s * weight / total
        cues.append(Cue(t, end, chunk))
        t = end
    last = cues[-1]
    cues[-1] = Cue(last.start, min(scene_s, max(last.end, speech_s) + 0.4), last.text)
    return [Cue(max(0.0, c.start), min(scene_s, c.end), c.text) for c in cues if c.start < scene_s]


def time_cues_by_words(
    chunks: list[str], starts: list[float], speech_s: float, scene_s: float
) -> list[Cue] | None:
    """Each chunk from its first word's spoken start to the next chunk's; None when the timings
    are not of these words (another text was spoken), so the caller falls back to ``time_cues``."""
    sizes = [len(c.split()) for c in chunks]
    if not chunks or speech_s <= 0 or sum(sizes) != len(starts):
        return None
    firsts, index = [], 0
    for size in sizes:
        firsts.append(starts[index])
        index += size
    ends = [*firsts[1:], max(firsts[-1], speech_s) + 0.4]
    cues = [
        Cue(max(0.0, a), min(scene_s, b), c) for a, b, c in zip(firsts, ends, chunks, strict=True)
    ]
    return [c for c in cues if c.start < scene_s]


def _ass_time(seconds: float) -> str:
    cs = round(seconds * 100)
    h, rem = divmod(cs, 360_000)
    m, rem = divmod(rem, 6000)
    s, cs = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def _ass_colour(hex_rgb: str, alpha: int = 0) -> str:
    rgb = hex_rgb.lstrip("#")
    return f"&H{alpha:02X}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}".upper()


def reference_play_res(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    scale = REFERENCE_SHORT_SIDE / min(w, h)
    return round(w * scale), round(h * scale)


def default_words_per_chunk(size: tuple[int, int]) -> int:
    return 3 if size[1] > size[0] else 5


def build_ass(
    cues: list[Cue],
    style: CaptionStyle,
    size: tuple[int, int],
    font_family: str,
    clear: float = 0.0,
) -> str:
    """``clear``: the fraction of the height an overlay (the watermark) holds at the captions' edge."""
    play_w, play_h = reference_play_res(size)
    portrait = size[1] > size[0]
    alignment = {"bottom": 2, "center": 5, "top": 8}[style.position]
    default_margin = play_h * (0.20 if portrait and style.position == "bottom" else 0.06)
    margin_v = round(style.margin if style.margin is not None else default_margin)
    if clear > 0:  # keep a gap of 2 % of the height between the overlay and the text
        margin_v = max(margin_v, round(play_h * (clear + 0.02)))
    margin_lr = round(play_w * 0.06)
    border_style = 3 if style.box else 1
    back = _ass_colour(style.outline_colour, 0x60) if style.box else _ass_colour("#000000", 0x80)
    style_line = ",".join(
        str(v)
        for v in (
            "Default", re.sub(r"[,\x00-\x1f]", " ", font_family), round(style.font_size), _ass_colour(style.colour),
            _ass_colour(style.colour), _ass_colour(style.outline_colour), back,
            -1 if style.bold else 0, 0, 0, 0, 100, 100, 0, 0, border_style,
            style.outline, style.shadow, alignment, margin_lr, margin_lr, margin_v, 1,
        )
    )  # fmt: skip
    lines = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {play_w}",
        f"PlayResY: {play_h}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: {style_line}",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in cues:
        lines.append(
            f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,0,,"
            f"{escape_ass_text(cue.text)}"
        )
    return "\n".join(lines) + "\n"


def _pillow_font(dest: Path) -> Path:
    """Pillow's embedded Aileron (ASCII only): the font of last resort on a machine without fonts."""
    from PIL import ImageFont

    source = inspect.getsource(ImageFont.load_default)
    match = re.search(r'b64decode\(\s*b"""(.*?)"""', source, re.S)
    if match is None:
        raise RuntimeError("could not find Pillow's embedded font")
    dest.write_bytes(base64.b64decode(match.group(1)))
    return dest


def provision_font(style: CaptionStyle, fonts_dir: Path) -> str:
    """Fill ``fonts_dir`` (given to libass as fontsdir) and return the family name to use.

    A channel font file wins; a named family without a file is left to fontconfig; otherwise a
    DejaVu Sans found on disk is copied in (so it works even if fontconfig is not configured),
    and failing that Pillow's bundled font, so captions render on any machine.
    """
    fonts_dir.mkdir(parents=True, exist_ok=True)
    if style.font_file is not None:
        shutil.copyfile(style.font_file, fonts_dir / style.font_file.name)
        return style.font or style.font_file.stem
    if style.font:
        return style.font
    copied = 0
    for name in _DEFAULT_FONT_FILES:
        for root in _SYSTEM_FONT_DIRS:
            found = next(iter(root.rglob(name)), None) if root.is_dir() else None
            if found is not None:
                shutil.copyfile(found, fonts_dir / name)
                copied += 1
                break
    if copied:
        return "DejaVu Sans"
    _pillow_font(fonts_dir / "Aileron-Regular.ttf")
    return "Aileron"


def load_word_starts(path: Path | None, where: str) -> list[float] | None:
    """The start of each spoken word from a ``.words.json`` sidecar; None when there is none
    (a narration made before timings were recorded is still captioned, by length)."""
    if path is None or not path.is_file():
        return None
    try:
        words = json.loads(path.read_text(encoding="utf-8"))
        starts = [float(w["start_s"]) for w in words]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise _common.ScriptError(
            f"{where}: word timings {path.name} are unreadable: {exc}"
        ) from None
    if any(b < a for a, b in itertools.pairwise(starts)) or any(s < 0 for s in starts):
        raise _common.ScriptError(f"{where}: word timings {path.name} go backwards")
    return starts


@dataclass(frozen=True)
class Captions:
    ass: Path
    fonts: Path
    cues: list[Cue]
    timing: str  # "words" (the voice's own word timings) or "length" (spread by chunk length)


def write_captions(
    text: str,
    style: CaptionStyle,
    size: tuple[int, int],
    timing: tuple[float, float, list[float] | None],
    workdir: Path,
    clear: float = 0.0,
) -> Captions | None:
    """Write ``captions.ass`` and its fonts dir; None when there is nothing to show.

    ``timing`` is (speech_s, scene_s, word starts or None): with starts for every word of
    ``text`` the chunks change on the spoken words, otherwise they are spread by length.
    """
    speech_s, scene_s, starts = timing
    chunks = chunk_words(text, style.words_per_chunk or default_words_per_chunk(size))
    cues = time_cues_by_words(chunks, starts, speech_s, scene_s) if starts else None
    kind = "words" if cues is not None else "length"
    cues = cues if cues is not None else time_cues(chunks, speech_s, scene_s)
    if not cues:
        return None
    fonts_dir = workdir / "fonts"
    family = provision_font(style, fonts_dir)
    ass_path = workdir / "captions.ass"
    ass_path.write_text(build_ass(cues, style, size, family, clear), encoding="utf-8")
    return Captions(ass_path, fonts_dir, cues, kind)
