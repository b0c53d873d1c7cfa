"""A scene's clip from stock footage: search, pick, download, then cut and frame it exactly.

The downloaded file is cut to the scene's duration and scaled and cropped to cover the channel's
frame, in the delivery format every clip shares. When no clip is usable (no results, none long or
large enough, every download broken, the vendor down or over its limit), the channel's fallback
provider renders the scene from its still instead and the result says so (``fallback_from``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common
import _stock

MAX_DOWNLOAD_TRIES = 3  # candidates tried before giving up on the vendor
_STOP_WORDS = frozenset(
    "a an the of in on at to and with slow slowly camera zoom zooms pan pans push pull dolly shot "
    "in out left right close up wide view scene gently into from over".split()
)

Render = Callable[[argparse.Namespace, Path, Path], dict[str, Any]]


def derive_query(prompt: str) -> str:
    """A few content words of the motion prompt (camera words dropped): a search vendors answer."""
    words = [w for w in re.findall(r"[a-z]+", prompt.lower()) if w not in _STOP_WORDS]
    return " ".join(words[:4]) or "nature"


def _cut(src: Path, dest: Path, *, size: tuple[int, int], duration: float) -> None:
    info = _common.verify_video(src, "the stock clip")
    if info.duration + 0.05 < duration:
        raise _common.ScriptError(
            f"the stock clip is {info.duration:.2f}s, shorter than {duration:g}s"
        )
    w, h = size
    frames = max(1, round(duration * _common.DELIVERY_FPS))
    vf = (
        f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,crop={w}:{h},setsar=1,"
        f"fps={_common.DELIVERY_FPS}"
    )
    _common.run_ffmpeg(
        [
            "-xerror", "-i", str(src), "-map", "0:v:0", "-vf", vf, "-frames:v", str(frames),
            *_common.DELIVERY_VCODEC_ARGS, "-preset", "veryfast", "-crf", "20", "-an",
            "-movflags", "+faststart", str(dest),
        ],
        what="cutting the stock clip",
    )  # fmt: skip


def stock(args: argparse.Namespace, work: Path, dest: Path, fallback: Render) -> dict[str, Any]:
    vendor = args.provider
    env = f"{vendor.upper()}_API_KEY"
    key = _common.require_env(env, vendor)
    base_url = _common.base_url(f"{vendor.upper()}_BASE_URL", _stock.DEFAULT_BASE_URLS[vendor])
    size = args.size or _common.SIZES["16:9"]
    query = (args.query or "").strip() or derive_query(args.prompt)
    cache_dir: Path = args.cache_dir
    reason = ""
    try:
        with _common.http_client() as client:
            clips = _stock.search(
                client,
                vendor,
                key=key,
                base_url=base_url,
                query=query,
                size=size,
                cache_dir=cache_dir,
            )
            reason = f"no {vendor} clip for {query!r} of at least {size[0]}x{size[1]} and {args.duration:g}s"
            for _ in range(MAX_DOWNLOAD_TRIES):
                clip = _stock.pick(
                    clips, cache_dir=cache_dir, channel=args.channel, task=args.task_id,
                    scene=args.scene, duration=args.duration, reuse_window=args.reuse_window,
                )  # fmt: skip
                if clip is None:
                    break
                raw = work / f"stock-{clip.id}.mp4"
                try:
                    _stock.download(client, clip, raw)
                    _cut(raw, dest, size=size, duration=args.duration)
                except _common.ScriptError as exc:
                    reason = f"{vendor} clip {clip.id} unusable: {exc}"
                    clips = [c for c in clips if c.ref != clip.ref]
                    continue
                return {
                    "provider": vendor,
                    "model": None,
                    "cost_usd": 0.0,
                    "query": query,
                    "stock_id": clip.ref,
                    "attribution": clip.attribution(),
                    "remote_ids": {"stock_clip": clip.ref},
                }
    except _stock.StockUnavailableError as exc:
        reason = str(exc)
    if args.fallback is None:
        raise _common.ScriptError(f"{reason} (and the channel names no fallback video provider)")
    details = fallback(args, work, dest)
    return {**details, "fallback_from": vendor, "fallback_reason": reason, "query": query}
