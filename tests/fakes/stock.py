"""Fakes of the Pexels and Pixabay video search APIs and their file hosts (reference section 8).

Neither vendor has an official Python SDK, so the fakes answer in the documented shapes (checked by
``test_stock_fakes.py``): Pexels ``GET /videos/search`` with ``Authorization: KEY`` and
``X-Ratelimit-*`` headers (Reset a UNIX time); Pixabay ``GET /api/videos/?key=`` with
``X-RateLimit-*`` (Reset in seconds) and a 400 text for a bad key. Files are real H.264 MP4s made
once with FFmpeg. Failure modes are scripted with ``replies`` (401, 429 with rate-limit headers,
5xx, ``"empty"`` results), a size with an empty ``url`` is in every Pixabay hit, and names in
``cut_short`` are sent with a Content-Length larger than the body.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

PEXELS_KEY = "pexels-test-key"
PIXABAY_KEY = "pixabay-test-key"


@dataclass(frozen=True)
class StockVideo:
    id: int
    duration: int  # whole seconds, as both vendors report
    sizes: tuple[tuple[int, int], ...] = ((960, 540), (320, 180))
    user: str = "Ana Lopez"


def make_clip(path: Path, size: tuple[int, int], seconds: int) -> Path:
    if not path.exists():
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size={size[0]}x{size[1]}:rate=25:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
            check=True,
        )  # fmt: skip
    return path


@dataclass
class FakeStock:
    media_dir: Path
    catalogue: list[StockVideo] = field(
        default_factory=lambda: [StockVideo(101, 8), StockVideo(102, 2), StockVideo(103, 12)]
    )
    replies: list[int | str] = field(default_factory=list)  # status codes, or "empty"
    cut_short: set[str] = field(default_factory=set)
    empty_queries: set[str] = field(default_factory=set)  # searches that find nothing
    searches: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    def _file(self, video: StockVideo, size: tuple[int, int], base: str) -> tuple[str, str]:
        name = f"{video.id}-{size[0]}x{size[1]}.mp4"
        make_clip(self.media_dir / name, size, video.duration)
        return name, f"{base}files/{name}"

    def _scripted(self, vendor: str) -> Response | str | None:
        reply = self.replies.pop(0) if self.replies else None
        if reply is None or reply == "empty":
            return reply
        status = int(reply)
        if vendor == "pexels":
            headers = {"X-Ratelimit-Limit": "200", "X-Ratelimit-Remaining": "0",
                       "X-Ratelimit-Reset": str(int(time.time()) + 1)}  # fmt: skip
            body = {401: "Unauthorized", 429: "Too Many Requests"}.get(status, "Server Error")
            return JSONResponse(
                {"error": body}, status_code=status, headers=headers if status == 429 else {}
            )
        headers = {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1",
        }
        text = {401: "[ERROR 401] Unauthorized", 429: "[ERROR 429] Too many requests"}.get(
            status, "Server Error"
        )
        return PlainTextResponse(text, status_code=status, headers=headers if status == 429 else {})

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/videos/search")
        async def pexels(request: Request) -> Response:
            params = dict(request.query_params)
            self.searches.append(
                {"vendor": "pexels", "params": params, "auth": request.headers.get("authorization")}
            )
            if request.headers.get("authorization") != PEXELS_KEY:
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
            scripted = self._scripted("pexels")
            if isinstance(scripted, Response):
                return scripted
            empty = scripted == "empty" or params.get("query") in self.empty_queries
            found = [] if empty else self.catalogue
            base = str(request.base_url)
            videos = []
            for video in found:
                files = []
                for index, size in enumerate(video.sizes):
                    _name, link = self._file(video, size, base)
                    files.append({"id": video.id * 10 + index, "quality": "hd" if size[0] >= 1280 else "sd",
                                  "file_type": "video/mp4", "width": size[0], "height": size[1],
                                  "fps": 25, "link": link})  # fmt: skip
                files.append({"id": video.id * 10 + 9, "quality": "hls", "file_type": "video/mp4",
                              "width": None, "height": None, "fps": None, "link": ""})  # fmt: skip
                videos.append({
                    "id": video.id, "width": video.sizes[0][0], "height": video.sizes[0][1],
                    "duration": video.duration, "url": f"https://www.pexels.com/video/clip-{video.id}/",
                    "image": f"{base}pictures/{video.id}.jpg",
                    "user": {"id": 7, "name": video.user, "url": "https://www.pexels.com/@ana-lopez"},
                    "video_files": files, "video_pictures": [],
                })  # fmt: skip
            body = {"page": 1, "per_page": int(params.get("per_page", 15)), "total_results": len(videos),
                    "url": "https://www.pexels.com/search/videos/", "videos": videos}  # fmt: skip
            headers = {"X-Ratelimit-Limit": "200", "X-Ratelimit-Remaining": "199",
                       "X-Ratelimit-Reset": str(int(time.time()) + 3600)}  # fmt: skip
            if videos:
                body["next_page"] = f"{base}videos/search?page=2"
            return JSONResponse(body, headers=headers)

        @api.get("/api/videos/")
        async def pixabay(request: Request) -> Response:
            params = dict(request.query_params)
            self.searches.append({"vendor": "pixabay", "params": params})
            if params.get("key") != PIXABAY_KEY:
                return PlainTextResponse(
                    "[ERROR 400] Invalid or missing API key (key).", status_code=400
                )
            scripted = self._scripted("pixabay")
            if isinstance(scripted, Response):
                return scripted
            empty = scripted == "empty" or params.get("q") in self.empty_queries
            found = [] if empty else self.catalogue
            base = str(request.base_url)
            hits = []
            for video in found:
                sizes: dict[str, Any] = {}
                for label, size in zip(("large", "medium", "small"), video.sizes, strict=False):
                    _name, link = self._file(video, size, base)
                    sizes[label] = {
                        "url": link,
                        "width": size[0],
                        "height": size[1],
                        "size": 1,
                        "thumbnail": "",
                    }
                # A size Pixabay lists without a file: an empty url (the documented quirk).
                sizes["tiny" if "small" in sizes else "small"] = {
                    "url": "",
                    "width": 3840,
                    "height": 2160,
                    "size": 0,
                    "thumbnail": "",
                }
                hits.append({"id": video.id, "pageURL": f"https://pixabay.com/videos/clip-{video.id}/",
                             "type": "film", "tags": "city, night", "duration": video.duration,
                             "videos": sizes, "views": 1, "downloads": 1, "likes": 1, "comments": 0,
                             "user_id": 42, "user": video.user.replace(" ", ""), "userImageURL": ""})  # fmt: skip
            headers = {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "99",
                "X-RateLimit-Reset": "60",
            }
            return JSONResponse(
                {"total": len(hits), "totalHits": len(hits), "hits": hits}, headers=headers
            )

        @api.get("/files/{name}")
        async def files(name: str) -> Response:
            path = self.media_dir / name
            if not path.is_file():
                return Response(status_code=404)
            self.downloads.append(name)
            data = path.read_bytes()
            if name in self.cut_short:
                return Response(data[: len(data) // 3], media_type="video/mp4",
                                headers={"content-length": str(len(data))})  # fmt: skip
            return Response(data, media_type="video/mp4")

        return api
