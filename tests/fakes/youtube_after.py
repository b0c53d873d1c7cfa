"""The fake YouTube after the upload: statistics, the Analytics ``reports`` endpoint, captions.

Follows shared/reference/external-apis.md section 10. Time is the fake's own ``now()`` (tests
move it forward), so the figures grow with simulated hours since a video was "published": views
follow a concave curve, likes and comments a fixed share of them, all sent as **strings** like
Google does. Analytics answers 403 ``insufficientPermissions`` to a token granted without the
``yt-analytics.readonly`` scope, lags by two days (a video newer than that has no row, and a
report with no row at all has no ``rows`` key). ``captions.insert`` takes the multipart body
(JSON snippet + SRT), answers 409 when a track of that language and name exists, and the
caption ``PUT`` replaces the existing track. ``hold_captions`` stores a caption and then never
answers (the worker is killed while it waits), as a crash between Google's write and our
record of it would look.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

if TYPE_CHECKING:
    from tests.fakes.youtube import Video, YouTubeFake

ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
ANALYTICS_LAG = timedelta(days=2)
CAPTIONS_PATH = "/upload/youtube/v3/captions"


@dataclass
class Caption:
    id: str
    video_id: str
    language: str
    name: str
    body: bytes


def _hours(state: YouTubeFake, video: Video) -> float:
    return max((state.now() - video.published_at).total_seconds() / 3600, 0.0)


def _rate(video_id: str) -> int:
    """A per-video popularity (1..5), stable for a given id."""
    return 1 + hashlib.sha256(video_id.encode()).digest()[0] % 5


def views_of(state: YouTubeFake, video: Video) -> int:
    """Views so far: 40 x rate x hours^0.6 (fast at first, then slower; never decreasing)."""
    return int(40 * _rate(video.id) * _hours(state, video) ** 0.6)


def statistics(state: YouTubeFake, video: Video) -> dict[str, str]:
    views = views_of(state, video)
    return {
        "viewCount": str(views),
        "likeCount": str(views // 25),
        "favoriteCount": "0",
        "commentCount": str(views // 200),
    }


def _error(status: int, reason: str, message: str) -> JSONResponse:
    errors = [{"message": message, "domain": "global", "reason": reason}]
    return JSONResponse(
        {"error": {"code": status, "message": message, "errors": errors}}, status_code=status
    )


def _report_row(state: YouTubeFake, video: Video, end: date) -> list[Any] | None:
    """The analytics row of one video, or None while its figures have not arrived yet."""
    known_until = min(end, (state.now() - ANALYTICS_LAG).date())
    if known_until < video.published_at.date():
        return None
    hours = min(_hours(state, video), max((state.now() - ANALYTICS_LAG - video.published_at).total_seconds() / 3600, 0.0))  # fmt: skip
    views = int(40 * _rate(video.id) * hours**0.6)
    percentage = round(35 + 10 * math.sin(_rate(video.id)), 2)
    duration = round(60 * percentage / 100)
    minutes = views * duration // 60
    return [video.id, views, minutes, duration, percentage, views // 25, views // 500]


REPORT_HEADERS = [
    {"name": "video", "columnType": "DIMENSION", "dataType": "STRING"},
    {"name": "views", "columnType": "METRIC", "dataType": "INTEGER"},
    {"name": "estimatedMinutesWatched", "columnType": "METRIC", "dataType": "INTEGER"},
    {"name": "averageViewDuration", "columnType": "METRIC", "dataType": "INTEGER"},
    {"name": "averageViewPercentage", "columnType": "METRIC", "dataType": "FLOAT"},
    {"name": "likes", "columnType": "METRIC", "dataType": "INTEGER"},
    {"name": "subscribersGained", "columnType": "METRIC", "dataType": "INTEGER"},
]


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes] | None:
    """The JSON metadata and the media of a ``multipart/related`` body; None if malformed."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if len(parts) != 2:
        return None
    meta = parts[0].get_payload(decode=True)
    media = parts[1].get_payload(decode=True)
    if not isinstance(meta, bytes) or not isinstance(media, bytes):
        return None
    try:
        return json.loads(meta), media
    except ValueError:
        return None


def _caption_resource(caption: Caption) -> dict[str, Any]:
    snippet = {
        "videoId": caption.video_id,
        "language": caption.language,
        "name": caption.name,
        "isDraft": False,
        "trackKind": "standard",
        "status": "serving",
    }
    return {"kind": "youtube#caption", "id": caption.id, "snippet": snippet}


def install(api: FastAPI, state: YouTubeFake) -> None:
    """Add the after-upload endpoints to the fake's app."""

    @api.get("/v2/reports")
    async def reports(request: Request) -> Response:
        state.calls["analytics.reports"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if ANALYTICS_SCOPE not in state.token_scopes.get(token, ""):
            return _error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")  # fmt: skip
        q = request.query_params
        if q.get("ids") != "channel==MINE" or q.get("dimensions") != "video":
            return _error(400, "badRequest", "only ids=channel==MINE by video is faked")
        try:
            end = date.fromisoformat(q.get("endDate", ""))
            date.fromisoformat(q.get("startDate", ""))
        except ValueError:
            return _error(400, "badRequest", "startDate and endDate must be YYYY-MM-DD")
        wanted = q.get("filters", "").removeprefix("video==").split(",")
        rows = [
            row
            for video_id in wanted
            if (video := state.videos.get(video_id)) is not None
            and (row := _report_row(state, video, end)) is not None
        ]
        body: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": REPORT_HEADERS}  # fmt: skip
        if rows:
            body["rows"] = rows
        return JSONResponse(body)

    async def _read_caption(request: Request) -> tuple[dict[str, Any], bytes] | Response:
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        if request.query_params.get("uploadType") != "multipart":
            return _error(400, "badRequest", "only multipart caption uploads are faked")
        parsed = _multipart(request.headers.get("content-type", ""), await request.body())
        if parsed is None:
            return _error(400, "badRequest", "a multipart/related body of JSON and media")
        return parsed

    async def _answer(caption: Caption) -> Response:
        if state.hold_captions:
            state.captions_held += 1
            await asyncio.Event().wait()  # stored at Google, the answer never comes
        return JSONResponse(_caption_resource(caption))

    @api.post(CAPTIONS_PATH)
    async def insert_caption(request: Request) -> Response:
        state.calls["captions.insert"] += 1
        parsed = await _read_caption(request)
        if isinstance(parsed, Response):
            return parsed
        resource, media = parsed
        snippet = resource.get("snippet") or {}
        video_id = str(snippet.get("videoId") or "")
        if video_id not in state.videos:
            return _error(404, "videoNotFound", "The video identified by videoId could not be found.")  # fmt: skip
        language, name = str(snippet.get("language") or ""), str(snippet.get("name") or "")
        for caption in state.captions.values():
            if (caption.video_id, caption.language, caption.name) == (video_id, language, name):
                return _error(409, "captionExists", "The video already has a caption track with the same language and name.")  # fmt: skip
        caption = Caption(secrets.token_urlsafe(20), video_id, language, name, media)
        state.captions[caption.id] = caption
        return await _answer(caption)

    @api.put(CAPTIONS_PATH)
    async def update_caption(request: Request) -> Response:
        state.calls["captions.update"] += 1
        parsed = await _read_caption(request)
        if isinstance(parsed, Response):
            return parsed
        resource, media = parsed
        caption = state.captions.get(str(resource.get("id") or ""))
        if caption is None:
            return _error(404, "captionNotFound", "The caption track could not be found.")
        caption.body = media
        return await _answer(caption)

    @api.get("/youtube/v3/captions")
    async def list_captions(request: Request) -> Response:
        state.calls["captions.list"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        video_id = request.query_params.get("videoId", "")
        items = [_caption_resource(c) for c in state.captions.values() if c.video_id == video_id]
        return JSONResponse({"kind": "youtube#captionListResponse", "items": items})
