"""Media facts and encodes shared by the scene and final stages of assemble_video.py.

The central question here is "can this file be stream-copied next to our own segments?". H.264 in
MP4 keeps its SPS/PPS in the container header (avcC), and a concatenation keeps only the first
file's header: a piece whose header differs (another preset, another size) would decode as garbage.
So a file is copyable only if its header is byte-identical to what our encoder writes for the
same frame size, which ``reference_extradata`` finds by encoding two black frames.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import _common

DEFAULT_PRESET = "medium"
DEFAULT_CRF = 20
PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)  # fmt: skip


# The last filters of every video we encode. The colour description lands in the SPS, so a
# piece tagged BT.601 (say, a SMPTE-bars intro) next to untagged scenes would make the stream
# headers differ and break the stream copy; everything leaves here limited-range and untagged,
# like the Ken Burns clips and the usual generated clips.
VIDEO_TAIL = (
    "scale=out_range=tv,format=yuv420p,"
    "setparams=range=tv:color_primaries=unknown:color_trc=unknown:colorspace=unknown"
)


@dataclass(frozen=True)
class Encoding:
    """x264 settings for everything this run encodes; segments must share them to concatenate."""

    preset: str = DEFAULT_PRESET
    crf: int = DEFAULT_CRF

    def video_args(self, fps: int) -> list[str]:
        args = list(_common.DELIVERY_VCODEC_ARGS)
        args[args.index("-r") + 1] = str(fps)
        return [*args, "-preset", self.preset, "-crf", str(self.crf)]

    @property
    def audio_args(self) -> list[str]:
        return list(_common.DELIVERY_ACODEC_ARGS)


@dataclass(frozen=True)
class StreamInfo:
    """What deciding copy-or-encode and exact durations needs, beyond ``_common.MediaInfo``."""

    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    vcodec: str
    pix_fmt: str | None
    extradata: bytes
    has_b_frames: bool
    time_base: Fraction | None
    has_audio: bool
    acodec: str | None
    sample_rate: int | None
    channels: int | None

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def _with_context(what: str, fn: Callable[[], _common.MediaInfo]) -> _common.MediaInfo:
    """Prefix a probing error with which input it was (e.g. ``scene 3 clip``) if it lacks it."""
    try:
        return fn()
    except _common.ScriptError as exc:
        message = str(exc)
        raise _common.ScriptError(
            message if message.startswith(what) else f"{what}: {message}"
        ) from None


def video_info(path: Path, what: str) -> StreamInfo:
    """Probe and decode-check a video; frame count from the index, or by demuxing if absent."""
    import av

    media = _with_context(what, lambda: _common.verify_video(path, what))
    try:
        with av.open(str(path)) as container:
            v = container.streams.video[0]
            fps = Fraction(v.average_rate) if v.average_rate else Fraction(_common.DELIVERY_FPS)
            frames = int(v.frames or 0)
            if frames <= 0:
                frames = sum(1 for p in container.demux(v) if p.size)
            duration = frames / fps if frames else media.duration
            if v.duration is not None and v.time_base is not None and not v.frames:
                duration = float(v.duration * v.time_base)
            return StreamInfo(
                width=int(v.codec_context.width),
                height=int(v.codec_context.height),
                fps=fps,
                frames=frames,
                duration=float(duration),
                vcodec=str(v.codec_context.name),
                pix_fmt=v.codec_context.pix_fmt,
                extradata=bytes(v.codec_context.extradata or b""),
                has_b_frames=bool(v.codec_context.has_b_frames),
                time_base=Fraction(v.time_base) if v.time_base is not None else None,
                has_audio=media.has_audio,
                acodec=media.acodec,
                sample_rate=media.sample_rate,
                channels=media.channels,
            )
    except (av.error.FFmpegError, OSError, IndexError, ZeroDivisionError) as exc:
        raise _common.ScriptError(f"{what} is not readable video: {path.name}: {exc}") from None


def audio_duration(path: Path, what: str) -> float:
    info = _with_context(what, lambda: _common.probe(_common.require_input(path, what)))
    if not info.has_audio or info.duration <= 0:
        raise _common.ScriptError(f"{what} has no audio stream: {path.name}")
    return info.duration


_REFERENCE_CACHE: dict[tuple[int, int, int, str], bytes] = {}


def reference_extradata(size: tuple[int, int], fps: int, enc: Encoding) -> bytes:
    """The avcC header our encoder writes at this size: what a copyable file must carry."""
    key = (*size, fps, enc.preset)
    if key not in _REFERENCE_CACHE:
        with tempfile.TemporaryDirectory(prefix="assembly-ref-") as tmp:
            out = Path(tmp) / "ref.mp4"
            _common.run_ffmpeg(
                ["-f", "lavfi", "-i", f"color=black:s={size[0]}x{size[1]}:r={fps}",
                 "-vf", VIDEO_TAIL, "-frames:v", "2", *enc.video_args(fps), "-an", str(out)],
                what="probing the encoder's stream header",
            )  # fmt: skip
            _REFERENCE_CACHE[key] = video_info(out, "reference encode").extradata
    return _REFERENCE_CACHE[key]


def matches_delivery(info: StreamInfo, size: tuple[int, int], fps: int, enc: Encoding) -> bool:
    return (
        info.vcodec == "h264"
        and info.pix_fmt == _common.DELIVERY_PIX_FMT
        and info.size == size
        and info.fps == fps
        and info.extradata == reference_extradata(size, fps, enc)
    )


def filter_value(value: str) -> str:
    """Escape a string for use as a filter option value inside a filtergraph (both levels).

    First the option level (``\\ ' :``), then the graph level (``\\ ' [ ] , ;``), as FFmpeg's
    filter documentation describes; used for file paths, never needed for caption text.
    """
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)


def samples_for(frames: int, fps: int) -> int:
    return frames * _common.DELIVERY_AUDIO_RATE // fps


AUDIO_FORMAT = (
    f"aresample={_common.DELIVERY_AUDIO_RATE},"
    "aformat=sample_fmts=fltp:channel_layouts=stereo,asetpts=PTS-STARTPTS"
)


def atomic_output(path: Path) -> Path:
    """A temp name next to ``path``: written there, then renamed, so no reader sees half a file."""
    _common.ensure_output_dir(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")


def encode_delivery(
    src: Path, dst: Path, size: tuple[int, int], fps: int, enc: Encoding, what: str
) -> StreamInfo:
    """Re-encode any video into the delivery format: letterboxed to size, exact-length audio."""
    info = video_info(_common.require_input(src, what), what)
    frames = max(1, round(info.duration * fps))
    samples = samples_for(frames, fps)
    w, h = size
    vf = (
        f"[0:v]setpts=PTS-STARTPTS,scale={w}:{h}:force_original_aspect_ratio=decrease,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},"
        f"tpad=stop_mode=clone:stop_duration=1,{VIDEO_TAIL}[v]"
    )
    if info.has_audio:
        af = f"[0:a:0]{AUDIO_FORMAT},apad,atrim=end_sample={samples}[a]"
    else:
        af = f"anullsrc=r={_common.DELIVERY_AUDIO_RATE}:cl=stereo,atrim=end_sample={samples}[a]"
    tmp = atomic_output(dst)
    try:
        _common.run_ffmpeg(
            ["-i", str(src), "-filter_complex", f"{vf};{af}", "-map", "[v]", "-map", "[a]",
             "-frames:v", str(frames), *enc.video_args(fps), *enc.audio_args, str(tmp)],
            what=f"encoding {what}",
        )  # fmt: skip
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return video_info(dst, what)


def cached_delivery(
    src: Path, cache_dir: Path, size: tuple[int, int], fps: int, enc: Encoding, what: str
) -> tuple[Path, bool]:
    """Encode once per (content, format, settings) and reuse: intros and outros repeat per channel."""
    digest = hashlib.sha256()
    with _common.require_input(src, what).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    settings = {"size": size, "fps": fps, "preset": enc.preset, "crf": enc.crf, "v": 2}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    cache_dir.mkdir(parents=True, exist_ok=True)
    dst = cache_dir / f"{what.split()[0]}-{digest.hexdigest()[:32]}.mp4"
    if dst.is_file():
        try:
            if matches_delivery(video_info(dst, f"cached {what}"), size, fps, enc):
                return dst, True
        except _common.ScriptError:
            pass
        dst.unlink(missing_ok=True)  # a corrupt or stale cache entry is re-made, not trusted
    encode_delivery(src, dst, size, fps, enc, what)
    return dst, False
