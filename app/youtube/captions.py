"""A video's caption track on YouTube: the SRT sent with ``captions.insert``, or updated in place.

One track per video, language and name. ``captions.insert`` (400 units) refuses a second track
with the same language and name with 409 ``captionExists``, which is how a retry after a crash
mid-upload finds its own earlier track: it is then listed (``captions.list``, 50 units) and its
body replaced (``captions.update``, 450 units), so a video never gets two copies of the same
track. Each request goes through the client's quota meter like every other Data API call; the
video itself is never touched here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from app.youtube.client import YouTubeApiError, YouTubeClient

CAPTION_NAME = "vidgen"  # the track's name on YouTube: ours, so a retry recognises it


@dataclass(frozen=True)
class CaptionTrack:
    id: str
    updated: bool  # True when an existing track's body was replaced (a 409 on insert)


def multipart_related(resource: dict[str, Any], media: bytes, media_type: str) -> tuple[str, bytes]:
    """The ``multipart/related`` body of a metadata-and-media upload, and its content type."""
    boundary = f"vidgen-{secrets.token_hex(12)}"
    head = (
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(resource)}\r\n--{boundary}\r\nContent-Type: {media_type}\r\n\r\n"
    ).encode()
    body = head + media + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/related; boundary={boundary}", body


async def _send(
    client: YouTubeClient, method: str, operation: str, resource: dict[str, Any], srt: bytes
) -> dict[str, Any]:
    content_type, body = multipart_related(resource, srt, "application/octet-stream")
    return await client.metered_json(
        method,
        f"{client.upload_base_url}/captions",
        operation,
        params={"part": "snippet", "uploadType": "multipart"},
        content=body,
        headers={"Content-Type": content_type},
    )


async def _existing(client: YouTubeClient, video_id: str, language: str, name: str) -> str | None:
    body = await client.metered_json(
        "GET",
        f"{client.base_url}/captions",
        "captions.list",
        params={"part": "snippet", "videoId": video_id},
    )
    for item in body.get("items") or []:
        snippet = item.get("snippet") or {}
        if (snippet.get("language"), snippet.get("name")) == (language, name):
            return str(item["id"])
    return None


async def put_caption_track(
    client: YouTubeClient,
    *,
    video_id: str,
    srt: bytes,
    language: str,
    name: str = CAPTION_NAME,
) -> CaptionTrack:
    """Insert the track, or (when YouTube says it exists) replace the existing one's body."""
    snippet = {"videoId": video_id, "language": language, "name": name, "isDraft": False}
    try:
        created = await _send(client, "POST", "captions.insert", {"snippet": snippet}, srt)
    except YouTubeApiError as exc:
        if exc.status != 409:
            raise
    else:
        return CaptionTrack(str(created["id"]), updated=False)
    track_id = await _existing(client, video_id, language, name)
    if track_id is None:  # deleted between the 409 and the list: insert it afresh
        created = await _send(client, "POST", "captions.insert", {"snippet": snippet}, srt)
        return CaptionTrack(str(created["id"]), updated=False)
    updated = await _send(client, "PUT", "captions.update", {"id": track_id}, srt)
    return CaptionTrack(str(updated["id"]), updated=True)


__all__ = ["CAPTION_NAME", "CaptionTrack", "multipart_related", "put_caption_track"]
