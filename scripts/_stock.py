"""Stock footage from Pexels and Pixabay: search, pick, download (wire facts: reference section 8).

Both vendors' terms shape this module: search answers are cached for 24 h, the files are downloaded
(never hotlinked) and credited, and the fleet stays under each vendor's published limit (Pexels
200 requests an hour, Pixabay 100 a minute) through a sliding window kept in the shared cache
directory under a file lock, which every worker on the machine shares. The pick avoids clips used
in this video or in the channel's last N videos (YouTube demonetises "reused content"); the used
list is kept in the same directory, and picking and recording a clip happen under one lock so
scenes rendered in parallel never take the same clip. API keys never leave the request: Pixabay's
travels in the query string, so no error message here ever includes a URL.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _common
import httpx

DEFAULT_BASE_URLS = {"pexels": "https://api.pexels.com", "pixabay": "https://pixabay.com"}
RATE_LIMITS = {"pexels": (200, 3600.0), "pixabay": (100, 60.0)}  # requests per window (s)
CACHE_TTL_S = 24 * 3600
MAX_RATE_WAIT_S = 90.0
MAX_CLIP_BYTES = 512 * 1024 * 1024
VENDOR_NAMES = {"pexels": "Pexels", "pixabay": "Pixabay"}


class StockUnavailableError(Exception):
    """No clip can come from the vendor for this scene (a fallback may stand in)."""


@dataclass(frozen=True)
class Clip:
    vendor: str
    id: str
    page_url: str
    author: str
    author_url: str | None
    duration: float
    width: int
    height: int
    link: str

    @property
    def ref(self) -> str:
        return f"{self.vendor}:{self.id}"

    def attribution(self) -> dict[str, Any]:
        name = VENDOR_NAMES[self.vendor]
        return {
            "vendor": self.vendor,
            "clip_id": self.id,
            "author": self.author,
            "author_url": self.author_url,
            "page_url": self.page_url,
            "credit": f"Video by {self.author} on {name}: {self.page_url}",
        }


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def take_rate_slot(cache_dir: Path, vendor: str, *, now: float | None = None) -> None:
    """Wait (bounded) until the vendor's window has room, then count this request in it."""
    limit, window = RATE_LIMITS[vendor]
    state = cache_dir / f"rate-{vendor}.json"
    deadline = time.monotonic() + MAX_RATE_WAIT_S
    while True:
        with locked(cache_dir / f"rate-{vendor}.lock"):
            clock = now if now is not None else time.time()
            try:
                stamps = [t for t in json.loads(state.read_text()) if t > clock - window]
            except (OSError, ValueError, TypeError):
                stamps = []
            if len(stamps) < limit:
                state.write_text(json.dumps([*stamps, clock]))
                return
            wait = min(stamps) + window - clock
        if time.monotonic() + wait > deadline:
            raise StockUnavailableError(
                f"{VENDOR_NAMES[vendor]}'s limit of {limit} requests per {window:g}s is used up "
                f"by the fleet for the next {wait:.0f}s"
            )
        time.sleep(max(wait, 0.05))


def _orientation(vendor: str, size: tuple[int, int]) -> str:
    landscape = size[0] >= size[1]
    if vendor == "pexels":
        return "landscape" if landscape else "portrait"
    return "horizontal" if landscape else "vertical"


def _request(vendor: str, base_url: str, key: str, query: str, size: tuple[int, int]) -> Any:
    if vendor == "pexels":
        url = f"{base_url.rstrip('/')}/videos/search"
        params: dict[str, Any] = {
            "query": query,
            "orientation": _orientation(vendor, size),
            "per_page": 40,
        }
        headers = {"Authorization": key}
    else:
        url = f"{base_url.rstrip('/')}/api/videos/"
        params = {
            "key": key,
            "q": query[:100],
            "orientation": _orientation(vendor, size),
            "min_width": size[0],
            "min_height": size[1],
            "safesearch": "true",
            "per_page": 50,
        }
        headers = {}
    return url, params, headers


def _retry_wait(response: httpx.Response, attempt: int) -> float:
    """Retry-After, else X-Ratelimit-Reset: a UNIX time at Pexels, seconds left at Pixabay."""
    backoff = float(os.environ.get("SCRIPT_RETRY_BASE_SECONDS", "1")) * attempt
    raw = response.headers.get("retry-after") or response.headers.get("x-ratelimit-reset")
    try:
        value = float(raw) if raw is not None else backoff
    except ValueError:
        return backoff
    return max(0.0, value - time.time()) if value > 1e9 else value


def _search_once(client: httpx.Client, vendor: str, request: Any) -> dict[str, Any]:
    url, params, headers = request
    name = VENDOR_NAMES[vendor]
    for attempt in range(1, _common.RETRY_ATTEMPTS + 1):
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TransportError as exc:
            if attempt == _common.RETRY_ATTEMPTS:
                raise StockUnavailableError(f"{name} unreachable ({type(exc).__name__})") from None
            time.sleep(float(os.environ.get("SCRIPT_RETRY_BASE_SECONDS", "1")) * attempt)
            continue
        bad_key = response.status_code == 400 and "api key" in response.text.lower()
        if response.status_code in (401, 403) or bad_key:
            env = f"{vendor.upper()}_API_KEY"
            raise _common.ScriptError(
                f"{name} refused the key (HTTP {response.status_code}): check {env}"
            )
        if response.status_code == 429 or response.status_code >= 500:
            wait = _retry_wait(response, attempt)
            if attempt == _common.RETRY_ATTEMPTS or wait > MAX_RATE_WAIT_S:
                raise StockUnavailableError(f"{name} search failed (HTTP {response.status_code})")
            time.sleep(wait)
            continue
        if not response.is_success:
            raise StockUnavailableError(f"{name} search failed (HTTP {response.status_code})")
        try:
            body = response.json()
        except ValueError:
            raise StockUnavailableError(
                f"{name} answered the search with something not JSON"
            ) from None
        if isinstance(body, dict):
            return body
        raise StockUnavailableError(f"{name} answered the search with an unexpected shape")
    raise AssertionError("unreachable")


def search(
    client: httpx.Client,
    vendor: str,
    *,
    key: str,
    base_url: str,
    query: str,
    size: tuple[int, int],
    cache_dir: Path,
) -> list[Clip]:
    """Every clip the vendor offers for ``query`` (from a 24 h cache when asked before)."""
    request = _request(vendor, base_url, key, query, size)
    public = {k: v for k, v in request[1].items() if k != "key"}
    digest = hashlib.sha256(json.dumps([vendor, base_url, public], sort_keys=True).encode())
    cached = cache_dir / "search" / f"{digest.hexdigest()}.json"
    try:
        entry = json.loads(cached.read_text())
        if time.time() - float(entry["at"]) < CACHE_TTL_S:
            return [Clip(**clip) for clip in entry["clips"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    take_rate_slot(cache_dir, vendor)
    body = _search_once(client, vendor, request)
    clips = _pexels_clips(body, size) if vendor == "pexels" else _pixabay_clips(body, size)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"at": time.time(), "clips": [asdict(c) for c in clips]}))
    os.replace(partial, cached)
    return clips


def _fits(width: Any, height: Any, size: tuple[int, int]) -> bool:
    return (
        isinstance(width, int)
        and isinstance(height, int)
        and width >= size[0]
        and height >= size[1]
    )


def _pexels_clips(body: dict[str, Any], size: tuple[int, int]) -> list[Clip]:
    clips = []
    for video in body.get("videos") or []:
        files = [
            f
            for f in video.get("video_files") or []
            if f.get("file_type") == "video/mp4"
            and f.get("link")
            and _fits(f.get("width"), f.get("height"), size)
        ]
        if not files:
            continue
        best = min(files, key=lambda f: f["width"] * f["height"])  # the smallest that fits
        user = video.get("user") or {}
        clips.append(
            Clip("pexels", str(video["id"]), str(video.get("url") or ""), str(user.get("name") or "unknown"),
                 user.get("url"), float(video.get("duration") or 0), best["width"], best["height"], best["link"])
        )  # fmt: skip
    return clips


def _pixabay_clips(body: dict[str, Any], size: tuple[int, int]) -> list[Clip]:
    clips = []
    for hit in body.get("hits") or []:
        sizes = [
            s
            for s in (hit.get("videos") or {}).values()
            if isinstance(s, dict) and s.get("url") and _fits(s.get("width"), s.get("height"), size)
        ]
        if not sizes:
            continue
        best = min(sizes, key=lambda s: s["width"] * s["height"])
        user, user_id = str(hit.get("user") or "unknown"), hit.get("user_id")
        author_url = f"https://pixabay.com/users/{user}-{user_id}/" if user_id else None
        clips.append(
            Clip("pixabay", str(hit["id"]), str(hit.get("pageURL") or ""), user, author_url,
                 float(hit.get("duration") or 0), best["width"], best["height"], best["url"])
        )  # fmt: skip
    return clips


def pick(
    clips: list[Clip],
    *,
    cache_dir: Path,
    channel: str,
    task: str,
    scene: int,
    duration: float,
    reuse_window: int,
) -> Clip | None:
    """The first clip long enough and unused in this video and the channel's last videos; recorded.

    A re-run of the same scene gets the clip it picked before, so a retry does not burn another.
    """
    with locked(cache_dir / "used.lock"):
        used_file = cache_dir / "used.jsonl"
        try:
            rows = [json.loads(line) for line in used_file.read_text().splitlines() if line.strip()]
        except OSError:
            rows = []
        mine = [r for r in rows if r.get("channel") == channel]
        for row in mine:
            if row.get("task") == task and row.get("scene") == scene:
                for clip in clips:
                    if clip.ref == row.get("clip"):
                        return clip
        recent_tasks: list[str] = []
        for row in reversed(mine):
            if row.get("task") != task and row.get("task") not in recent_tasks:
                recent_tasks.append(str(row.get("task")))
        window = set(recent_tasks[:reuse_window]) | {task}
        taken = {r.get("clip") for r in mine if r.get("task") in window}
        for clip in clips:
            if clip.ref not in taken and clip.duration >= duration:
                row = {
                    "channel": channel,
                    "task": task,
                    "scene": scene,
                    "clip": clip.ref,
                    "at": time.time(),
                }
                with open(used_file, "a") as out:
                    out.write(json.dumps(row) + "\n")
                return clip
    return None


def download(client: httpx.Client, clip: Clip, dest: Path) -> None:
    """Fetch the file in full (a cut-short body is an error, not a shorter clip)."""
    name = VENDOR_NAMES[clip.vendor]
    try:
        with client.stream("GET", clip.link, follow_redirects=True) as response:
            if not response.is_success:
                raise _common.ScriptError(
                    f"{name} clip {clip.id}: download HTTP {response.status_code}"
                )
            expected = response.headers.get("content-length")
            got = 0
            with open(dest, "wb") as out:
                for chunk in response.iter_bytes():
                    got += len(chunk)
                    if got > MAX_CLIP_BYTES:
                        raise _common.ScriptError(f"{name} clip {clip.id} is over 512 MB")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise _common.ScriptError(
            f"{name} clip {clip.id}: download failed ({type(exc).__name__})"
        ) from None
    if expected is not None and expected.isdigit() and got != int(expected):
        raise _common.ScriptError(
            f"{name} clip {clip.id}: download cut short ({got} of {expected} bytes)"
        )
