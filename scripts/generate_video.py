#!/usr/bin/env python3
"""Make one video clip from one image: Kling image-to-video through KIE.ai, or an offline Ken Burns move.

Every provider delivers H.264, yuv420p, 30 fps, no audio. A clip is an intermediate (its segment
re-encodes it at x264 medium), so Ken Burns writes it ultrafast at a low CRF: cheap, no loss
downstream, profile Constrained Baseline. Kling prints ``{"event": "remote_task", "task_id": ...}``
as soon as the paid task exists, so a supervisor can store it and, after a crash, run again with
``--resume-task-id`` instead of paying twice. With ``--task-id-file`` the create is bracketed there (atomically, synced): ``{"pending_pid": PID}``
while the request is out, then ``{"task_id": ...}`` before the announcement. SIGTERM waits for the
answer, so a supervisor killed mid-create or before the announcement reached its database leaves the
id (or a live PID to wait for) to its successor, not an unrecorded paid task.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import signal
import sys
import tempfile
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import _common
import _kling
import _stock_clip
from PIL import Image, ImageOps, UnidentifiedImageError

PROVIDERS = ("kling", "kenburns", "pexels", "pixabay")
STOCK_PROVIDERS = ("pexels", "pixabay")
KLING_MAX_SECONDS = 10.0
KENBURNS_MAX_SECONDS = 600.0
KLING_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_LONG_SIDE = 1920
# Ken Burns: zoompan crops at whole pixels, so it works on an upscaled copy (long side up to this) to
# keep the motion smooth; 2x already hides the steps and costs little next to the encode.
KENBURNS_WORK_LONG_SIDE = 3840
KENBURNS_ZOOM = 0.18  # zoom moves go from 1.0 to 1.18 (or back)
KENBURNS_PAN_ZOOM = 1.15  # pans run at this zoom so there is room to travel
CLIP_TAIL = ["-an", "-movflags", "+faststart"]
ENCODE_ARGS = ["-preset", "veryfast", "-crf", "20", *CLIP_TAIL]
# Ultrafast costs about a third of veryfast's encode CPU; CRF 16 keeps the final (after the medium
# CRF 20 segment) as close to the render as veryfast CRF 20 did or closer: SSIM 0.9945 vs 0.9924 on
# a 1080p zoom, where one single encode scores 0.9949. The result line reports it as ``encoder``.
KENBURNS_PRESET, KENBURNS_CRF = "ultrafast", 16
KENBURNS_ENCODE_ARGS = ["-preset", KENBURNS_PRESET, "-crf", str(KENBURNS_CRF), *CLIP_TAIL]
# HD video is BT.709; say so, or players guess (and images converted with BT.601 shift colour).
BT709_TAGS = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]

# Camera words in the prompt pick the move; the earliest match wins, otherwise a hash of the prompt.
_VERB = r"(?:s|es|ed|ing)?"
MOTION_PATTERNS = {
    "zoom_out": re.compile(
        rf"\b(?:zoom{_VERB}|pull{_VERB}|doll(?:y|ies|ying))[\s-]+(?:out|back)\b"
    ),
    "zoom_in": re.compile(rf"\b(?:zoom{_VERB}|push{_VERB}|doll(?:y|ies|ying))[\s-]+in\b"),
    "pan_left": re.compile(r"\bpan(?:s|ned|ning)?[\s-]+(?:to[\s-]+the[\s-]+)?left\b"),
    "pan_right": re.compile(r"\bpan(?:s|ned|ning)?[\s-]+(?:to[\s-]+the[\s-]+)?right\b"),
}
MOTIONS = tuple(MOTION_PATTERNS)
# Where a zoom aims: "push in toward the lighthouse on the right" keeps the right-hand subject in
# frame (0 = left edge of the travel, 1 = right edge); no side word zooms on the centre.
FOCUS_PATTERN = re.compile(r"\b(?:toward|towards|on|from|at)\b[^.,;]*?\b(left|right)\b")


def _number(value: str, *, low: float, high: float = float("inf"), low_open: bool = False) -> float:
    """argparse check shared by the numeric options (NaN fails every comparison, so it is refused)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    above_low = number > low if low_open else number >= low
    if not (above_low and number <= high):
        bound = "above" if low_open else "at least"
        raise argparse.ArgumentTypeError(
            f"must be {bound} {low:g} and at most {high:g}, got {value!r}"
        )
    return number


_positive = functools.partial(_number, low=0, low_open=True)
_non_negative = functools.partial(_number, low=0)
_unit = functools.partial(_number, low=0, high=1)


def build_parser() -> argparse.ArgumentParser:
    p = _common.parser((__doc__ or "").splitlines()[0])
    p.add_argument("--image", type=Path, required=True, help="the still image (PNG or JPEG)")
    p.add_argument(
        "--prompt", required=True, help="motion prompt (kenburns reads camera words in it)"
    )
    p.add_argument("--output", type=Path, required=True, help="the MP4 to write")
    p.add_argument("--provider", choices=PROVIDERS, default="kling", help="default: kling")
    p.add_argument("--duration", type=_positive, default=5.0, help="seconds (default 5)")
    p.add_argument("--size", type=_common.parse_size, help="output WIDTHxHEIGHT (cropped to fill)")
    p.add_argument("--model", help=f"KIE model (default {_kling.DEFAULT_MODEL})")
    p.add_argument("--cost-usd", type=_non_negative, default=0.0, help="price to report")
    p.add_argument("--negative-prompt", help="kling: what to avoid")
    p.add_argument("--cfg-scale", type=_unit, help="kling: prompt adherence, 0 to 1")
    p.add_argument("--poll-interval", type=_positive, default=8.0, help="kling: first poll gap (s)")
    p.add_argument("--max-wait", type=_positive, default=1800.0, help="kling: give up after (s)")
    p.add_argument(
        "--resume-task-id", help="kling: wait for this existing task instead of creating one"
    )
    p.add_argument(
        "--task-id-file", type=Path, help="kling: record the create here (pending PID, then id)"
    )
    stock = p.add_argument_group("pexels / pixabay (stock footage)")
    stock.add_argument("--query", help="stock search words (default: derived from --prompt)")
    stock.add_argument("--cache-dir", type=Path, help="shared search cache, used list, rate window")
    stock.add_argument("--channel", default="default", help="channel slug (reuse rule)")
    stock.add_argument("--task-id", default="adhoc", help="this video's id (reuse rule)")
    stock.add_argument(
        "--scene", type=int, default=1, help="scene number (a re-run keeps its pick)"
    )
    stock.add_argument(
        "--reuse-window", type=int, default=30, help="skip clips of the channel's last N videos"
    )
    stock.add_argument(
        "--fallback", choices=("kenburns",), help="render from --image when no clip is usable"
    )
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    if args.output.suffix.lower() != ".mp4":
        p.error("--output must end in .mp4")
    if args.provider == "kling":
        if args.duration > KLING_MAX_SECONDS:
            p.error(
                f"kling makes clips of at most {KLING_MAX_SECONDS:g}s; --duration {args.duration:g}"
            )
        if not args.prompt.strip():
            p.error("kling needs a non-empty --prompt")
    elif args.provider in STOCK_PROVIDERS:
        if args.cache_dir is None:
            p.error(f"--provider {args.provider} needs --cache-dir")
        if args.duration > KENBURNS_MAX_SECONDS:
            p.error(f"--duration above {KENBURNS_MAX_SECONDS:g}s is not supported")
    else:
        if args.duration > KENBURNS_MAX_SECONDS:
            p.error(f"--duration above {KENBURNS_MAX_SECONDS:g}s is not supported")
        if args.resume_task_id:
            p.error("--resume-task-id only applies to --provider kling")
    return args


# ---------------------------------------------------------------- the input image


def load_image(path: Path) -> Image.Image:
    """Check the image fully (verify, then decode) so a bad file fails before any paid call."""
    _common.require_input(path, "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as probe_img:
                probe_img.verify()  # structure and checksums; leaves the object unusable
            img = Image.open(path)
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _common.ScriptError(f"image is not a readable image: {path}: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _common.ScriptError(f"image is too large to process safely: {path}") from None
    return img


def flat_rgb(img: Image.Image) -> Image.Image:
    """Upright RGB, transparency laid on black, so FFmpeg and KIE see what a viewer sees."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode in {"RGBA", "LA", "PA"} or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def default_size(width: int, height: int) -> tuple[int, int]:
    """The image's own size (even), shrunk so the long side is at most 1920."""
    scale = min(1.0, DEFAULT_LONG_SIDE / max(width, height))
    return _even(width * scale), _even(height * scale)


# ---------------------------------------------------------------- kenburns


def choose_motion(prompt: str) -> str:
    text = prompt.lower()
    found = [(m.start(), name) for name, rx in MOTION_PATTERNS.items() if (m := rx.search(text))]
    if found:
        return min(found)[1]
    digest = hashlib.sha256(" ".join(text.split()).encode()).digest()
    return MOTIONS[digest[0] % len(MOTIONS)]


def choose_focus(prompt: str) -> float:
    match = FOCUS_PATTERN.search(prompt.lower())
    return {"left": 0.0, "right": 1.0}[match.group(1)] if match else 0.5


def zoompan_filter(motion: str, frames: int, size: tuple[int, int], focus: float = 0.5) -> str:
    """The filter chain: cover-crop to the output shape, upscale, then an eased zoompan move.

    zoompan crops at whole pixels and, in 4:2:0, at even ones; it takes no RGB. Feeding it 4:4:4 at
    twice the output size makes each step a quarter of an output pixel's worth of error instead of one.
    """
    w, h = size
    k = max(1.0, min(2.0, KENBURNS_WORK_LONG_SIDE / max(w, h)))
    uw, uh = _even(w * k), _even(h * k)
    progress = f"(0.5-0.5*cos(PI*on/{max(frames - 1, 1)}))"  # ease in and out, 0 -> 1
    centre_x, centre_y = f"(iw-iw/zoom)*{focus:g}", "(ih-ih/zoom)/2"
    z, x, y = {
        "zoom_in": (f"1+{KENBURNS_ZOOM}*{progress}", centre_x, centre_y),
        "zoom_out": (f"1+{KENBURNS_ZOOM}*(1-{progress})", centre_x, centre_y),
        "pan_right": (str(KENBURNS_PAN_ZOOM), f"(iw-iw/zoom)*{progress}", centre_y),
        "pan_left": (str(KENBURNS_PAN_ZOOM), f"(iw-iw/zoom)*(1-{progress})", centre_y),
    }[motion]
    return (
        f"scale={uw}:{uh}:force_original_aspect_ratio=increase:flags=lanczos"
        f":out_color_matrix=bt709:out_range=tv,crop={uw}:{uh},format=yuv444p,"
        f"zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s={w}x{h}:fps={_common.DELIVERY_FPS},"
        f"setsar=1,format={_common.DELIVERY_PIX_FMT}"
    )


def kenburns(args: argparse.Namespace, work: Path, dest: Path) -> dict[str, Any]:
    img = flat_rgb(load_image(args.image))
    size = args.size or default_size(*img.size)
    source = work / "source.png"
    img.save(source, compress_level=1)
    motion = choose_motion(args.prompt)
    frames = max(1, round(args.duration * _common.DELIVERY_FPS))
    _common.run_ffmpeg(
        [
            "-i", str(source),
            "-vf", zoompan_filter(motion, frames, size, choose_focus(args.prompt)),
            "-frames:v", str(frames),
            *_common.DELIVERY_VCODEC_ARGS, *KENBURNS_ENCODE_ARGS, *BT709_TAGS, "-color_range", "tv",
            str(dest),
        ],
        what="rendering the Ken Burns clip",
    )  # fmt: skip
    focus = choose_focus(args.prompt)
    return {"provider": "kenburns", "model": "ffmpeg-zoompan", "motion": motion, "focus": focus,
            "encoder": {"preset": KENBURNS_PRESET, "crf": KENBURNS_CRF}}  # fmt: skip


# ---------------------------------------------------------------- kling


def prepare_upload(path: Path, work: Path) -> tuple[Path, str]:
    """The file to upload and its public name: as is when KIE takes it, else a JPEG that does."""
    img = load_image(path)
    if img.format in {"PNG", "JPEG"} and path.stat().st_size <= KLING_MAX_UPLOAD_BYTES:
        return path, "image.png" if img.format == "PNG" else "image.jpg"
    copy = work / "upload.jpg"
    flat_rgb(img).save(copy, "JPEG", quality=92)
    if copy.stat().st_size > KLING_MAX_UPLOAD_BYTES:
        raise _common.ScriptError(f"image is over 10 MB even as JPEG: {path}")
    return copy, "image.jpg"


def _h264_profile(path: Path) -> str | None:
    import av

    with av.open(str(path)) as container:
        profile = container.streams.video[0].codec_context.profile
    return str(profile) if profile else None


def normalise(src: Path, dest: Path, *, size: tuple[int, int] | None, duration: float) -> bool:
    """Bring a downloaded clip to the delivery format; return True when a stream copy sufficed."""
    info = _common.verify_video(src, "the Kling clip")
    target = size or (_even(info.width or 2), _even(info.height or 2))
    too_long = info.duration > duration + 0.05
    copyable = (
        info.vcodec == "h264"
        and info.pix_fmt == _common.DELIVERY_PIX_FMT
        and info.fps is not None
        and abs(info.fps - _common.DELIVERY_FPS) < 0.01
        and (info.width, info.height) == target
        and not info.has_audio
        and not too_long
        and (_h264_profile(src) or "").lower() == "high"
    )
    if copyable:
        args = ["-i", str(src), "-map", "0:v:0", "-c", "copy", "-video_track_timescale", "15360"]
        _common.run_ffmpeg([*args, "-movflags", "+faststart", str(dest)], what="copying the clip")
        return True
    w, h = target
    vf = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"
    trim = ["-t", f"{duration:.3f}"] if too_long else []
    _common.run_ffmpeg(
        [
            "-xerror", "-i", str(src), "-map", "0:v:0", *trim, "-vf", vf,
            *_common.DELIVERY_VCODEC_ARGS, *ENCODE_ARGS,
            str(dest),
        ],
        what="re-encoding the Kling clip",
    )  # fmt: skip
    return False


def start_task(args: argparse.Namespace, kie: _kling.KieClient, upload: tuple[Path, str]) -> str:
    """Upload the image, create the paid task, and announce its id before anything else can fail."""
    image_url = _kling.upload_to_catbox(kie.http, *upload)
    task_input: dict[str, Any] = {
        "prompt": args.prompt,
        "image_url": image_url,
        "duration": "5" if args.duration <= 5 else "10",
    }
    if args.negative_prompt:
        task_input["negative_prompt"] = args.negative_prompt
    if args.cfg_scale is not None:
        task_input["cfg_scale"] = args.cfg_scale
    marker: Path | None = args.task_id_file
    with _kling.uninterrupted():
        if marker is not None:  # a successor waits for this process instead of paying again
            _kling.write_marker(marker, {"pending_pid": os.getpid()})
        task_id = kie.create_task(args.model or _kling.DEFAULT_MODEL, task_input)
        if marker is not None:
            _kling.write_marker(marker, {"task_id": task_id})
    _common.emit({"event": "remote_task", "task_id": task_id})
    return task_id


def kling(args: argparse.Namespace, work: Path, dest: Path) -> dict[str, Any]:
    # The image first (before the key, before any call): a bad input is the first thing to fix.
    upload = None if args.resume_task_id else prepare_upload(args.image, work)
    key = _common.require_env("KIE_API_KEY", "kling")
    with _common.http_client() as client:
        kie = _kling.KieClient(client, key)
        task_id = str(args.resume_task_id) if upload is None else start_task(args, kie, upload)
        url = kie.wait_for_result(task_id, poll_interval=args.poll_interval, max_wait=args.max_wait)
    raw = work / "kling-download.mp4"
    # A file host that answers 200 with a broken or foreign body is a transient fault: the paid
    # part is done, so fetching the clip again costs nothing (a re-run would be a failed item).
    for attempt in range(1, _common.RETRY_ATTEMPTS + 1):
        try:
            _kling.download(url, raw)
            copied = normalise(raw, dest, size=args.size, duration=args.duration)
            break
        except _common.ScriptError as exc:
            if attempt == _common.RETRY_ATTEMPTS:
                raise _common.ScriptError(
                    f"the Kling clip of task {task_id} could not be used ({exc}); "
                    f"--resume-task-id {task_id} downloads it again"
                ) from None
    return {
        "provider": "kling",
        "model": args.model or _kling.DEFAULT_MODEL,
        "cost_usd": args.cost_usd,
        "remote_ids": {"kling_task_id": task_id},
        "stream_copied": copied,
    }


# ---------------------------------------------------------------- main


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so temporary files are cleaned up on SIGTERM too


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    output: Path = args.output
    _common.ensure_output_dir(output)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".generate_video-") as tmp:
        work = Path(tmp)
        partial = work / "output.mp4"
        if args.provider in STOCK_PROVIDERS:
            details = _stock_clip.stock(args, work, partial, kenburns)
        else:
            render = kling if args.provider == "kling" else kenburns
            details = render(args, work, partial)
        info = _common.verify_video(partial, "the finished clip")
        os.replace(partial, output)
    _common.emit_result(
        outputs={"video": str(output)},
        duration=info.duration,
        size=f"{info.width}x{info.height}",
        **details,
    )


if __name__ == "__main__":
    _common.run_main(main, sys.argv[1:])
