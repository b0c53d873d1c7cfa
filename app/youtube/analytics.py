"""YouTube Analytics v2 ``reports``: watch time and audience figures per video, where allowed.

The Analytics API has its own quota (not the Data API's units), so it is not charged to the
ledger. It needs the ``yt-analytics.readonly`` scope, which tokens granted before this scope was
asked for lack: Google answers 403 ``insufficientPermissions``, raised here as
``AnalyticsScopeMissingError`` so the collector can tell the operator once ("reconnect to see
watch time") instead of failing every pass. Figures lag by one to three days and a report with
no data has no ``rows`` at all, which is an empty answer, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from app.youtube.client import YouTubeError, map_error
from app.youtube.oauth import TokenSource

ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
METRICS = (
    "views",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "averageViewPercentage",
    "likes",
    "subscribersGained",
)
RECONNECT_HINT = "reconnect to see watch time"
ANALYTICS_FLAG = "analytics_missing"  # in the YouTube credential's meta, until a new consent


class AnalyticsScopeMissingError(YouTubeError):
    """The token was granted without ``yt-analytics.readonly``: only a new consent fixes it."""


@dataclass(frozen=True)
class VideoAnalytics:
    average_view_duration_s: float | None
    average_view_percentage: float | None
    estimated_minutes_watched: float | None
    subscribers_gained: int | None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def parse_report(body: dict[str, Any]) -> dict[str, VideoAnalytics]:
    """Rows by video id, read through ``columnHeaders`` (never by assumed column order)."""
    names = [str(h.get("name")) for h in body.get("columnHeaders") or [] if isinstance(h, dict)]
    found: dict[str, VideoAnalytics] = {}
    for row in body.get("rows") or []:
        if not isinstance(row, list) or len(row) != len(names):
            continue
        cells = dict(zip(names, row, strict=True))
        subscribers = _number(cells.get("subscribersGained"))
        found[str(cells.get("video"))] = VideoAnalytics(
            average_view_duration_s=_number(cells.get("averageViewDuration")),
            average_view_percentage=_number(cells.get("averageViewPercentage")),
            estimated_minutes_watched=_number(cells.get("estimatedMinutesWatched")),
            subscribers_gained=None if subscribers is None else int(subscribers),
        )
    return found


async def fetch_video_analytics(
    http: httpx.AsyncClient,
    tokens: TokenSource,
    *,
    base_url: str,
    video_ids: list[str],
    start: date,
    end: date,
) -> dict[str, VideoAnalytics]:
    """One ``reports`` query for up to 200 videos of the token's channel, ``start``..``end``."""
    params = {
        "ids": "channel==MINE",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "metrics": ",".join(METRICS),
        "dimensions": "video",
        "filters": "video==" + ",".join(video_ids),
        "maxResults": "200",
        "sort": "-views",
    }
    token = await tokens.token()
    for refreshed in (False, True):
        response = await http.get(
            f"{base_url.rstrip('/')}/reports",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 401 or refreshed:
            break
        token = await tokens.refresh(stale=token)
    if response.status_code == 200:
        return parse_report(response.json())
    error = map_error(response, "analytics reports")
    if response.status_code == 403 and error.reason in ("insufficientPermissions", "forbidden"):
        raise AnalyticsScopeMissingError(error.message, status=403, reason=error.reason)
    raise error
