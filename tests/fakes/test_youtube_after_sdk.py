"""The fake's after-upload endpoints, checked with Google's ``google-api-python-client``.

Statistics through ``videos().list(part="statistics")``, the Analytics v2 ``reports().query``
(from the bundled youtubeAnalytics v2 discovery document) and ``captions().insert/update`` (the
client's own multipart body): if Google's client reads and writes them, the fake speaks the
real wire format of shared/reference/external-apis.md section 10.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import googleapiclient
import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload, build_http

from tests.fakes.youtube import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Video, YouTubeFake, running

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache/documents"
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nWhales sing.\n"


def _service(name: str, url: str, http: Any) -> Any:
    document = json.loads((DOCUMENTS / name).read_text())
    document["rootUrl"] = document["mtlsRootUrl"] = f"{url}/"
    return build_from_document(document, http=http)


@pytest.fixture
def google() -> Iterator[tuple[Any, Any, YouTubeFake]]:
    with running() as (url, fake):
        credentials = Credentials(
            None,
            refresh_token=REFRESH_TOKEN,
            token_uri=f"{url}/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        http = AuthorizedHttp(credentials, http=build_http())
        youtube = _service("youtube.v3.json", url, http)
        analytics = _service("youtubeAnalytics.v2.json", url, http)
        published = fake.now() - timedelta(days=5)
        fake.videos["vid00000001"] = Video("vid00000001", {}, 1, "", "", published_at=published)
        yield youtube, analytics, fake


def test_sdk_reads_statistics_as_strings_that_grow(google: tuple[Any, Any, YouTubeFake]) -> None:
    youtube, _, fake = google
    ids = "vid00000001,deleted0001"
    first = youtube.videos().list(part="statistics", id=ids).execute()
    assert [item["id"] for item in first["items"]] == ["vid00000001"]  # a deleted id is absent
    stats = first["items"][0]["statistics"]
    assert set(stats) == {"viewCount", "likeCount", "favoriteCount", "commentCount"}
    assert all(isinstance(value, str) for value in stats.values())
    fake.clock_offset_s += 86_400
    later = youtube.videos().list(part="statistics", id=ids).execute()
    assert int(later["items"][0]["statistics"]["viewCount"]) > int(stats["viewCount"])


def test_sdk_analytics_report_rows_lag_and_scope(google: tuple[Any, Any, YouTubeFake]) -> None:
    _, analytics, fake = google
    today = fake.now().date()
    query = {
        "ids": "channel==MINE",
        "startDate": (today - timedelta(days=30)).isoformat(),
        "endDate": today.isoformat(),
        "metrics": "views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage",
        "dimensions": "video",
        "filters": "video==vid00000001",
    }
    report = analytics.reports().query(**query).execute()
    assert report["kind"] == "youtubeAnalytics#resultTable"
    assert report["columnHeaders"][0] == {
        "name": "video",
        "columnType": "DIMENSION",
        "dataType": "STRING",
    }
    assert report["rows"][0][0] == "vid00000001"

    fresh = fake.now()  # a video published today has no figures yet: no "rows" key at all
    fake.videos["vid00000002"] = Video("vid00000002", {}, 1, "", "", published_at=fresh)
    empty = analytics.reports().query(**{**query, "filters": "video==vid00000002"}).execute()
    assert "rows" not in empty

    fake.refresh_scopes[REFRESH_TOKEN] = "https://www.googleapis.com/auth/youtube.upload"
    fake.auth_errors = 1  # forces google-auth to fetch a token with the narrower grant
    with pytest.raises(HttpError) as refused:
        analytics.reports().query(**query).execute()
    assert refused.value.resp.status == 403
    assert refused.value.error_details[0]["reason"] == "insufficientPermissions"


def test_sdk_caption_insert_conflict_and_update(google: tuple[Any, Any, YouTubeFake]) -> None:
    youtube, _, fake = google
    body = {"snippet": {"videoId": "vid00000001", "language": "en", "name": "", "isDraft": False}}
    media = MediaInMemoryUpload(SRT, mimetype="application/octet-stream", resumable=False)
    caption = youtube.captions().insert(part="snippet", body=body, media_body=media).execute()
    assert caption["kind"] == "youtube#caption" and caption["snippet"]["language"] == "en"
    assert fake.captions[caption["id"]].body == SRT

    with pytest.raises(HttpError) as conflict:
        youtube.captions().insert(part="snippet", body=body, media_body=media).execute()
    assert conflict.value.resp.status == 409

    newer = MediaInMemoryUpload(SRT + b"\n", mimetype="application/octet-stream", resumable=False)
    update = {"id": caption["id"], "snippet": body["snippet"]}
    youtube.captions().update(part="snippet", body=update, media_body=newer).execute()
    assert len(fake.captions) == 1 and fake.captions[caption["id"]].body == SRT + b"\n"
    listed = youtube.captions().list(part="snippet", videoId="vid00000001").execute()
    assert [item["id"] for item in listed["items"]] == [caption["id"]]
