"""The YouTube fake, checked with Google's own ``google-api-python-client`` and ``google-auth``.

Our client speaks plain httpx; these tests keep the fake honest: if Google's resumable
``MediaFileUpload`` completes against it (also after injected 503s and dropped connections), and
Google's credentials refresh against its token endpoint, the fake speaks the real protocol.
Following shared/reference/external-apis.md section 2.7: the bundled discovery document with
``rootUrl``/``mtlsRootUrl`` pointed at the fake, ``next_chunk(num_retries=0)``, and on a 5xx a
plain second ``next_chunk`` (which asks the server for progress first).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import googleapiclient
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload, MediaInMemoryUpload, build_http

from tests.fakes.youtube import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    YouTubeFake,
    running,
)
from tests.fakes.youtube_sessions import ALIGN

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/youtube.v3.json"


@pytest.fixture
def youtube() -> Iterator[tuple[Any, YouTubeFake, Credentials]]:
    with running() as (url, fake):
        document = json.loads(DISCOVERY.read_text())
        document["rootUrl"] = document["mtlsRootUrl"] = f"{url}/"
        credentials = Credentials(
            None,
            refresh_token=REFRESH_TOKEN,
            token_uri=f"{url}/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        # build_http() stops httplib2 from treating 308 Resume Incomplete as a redirect.
        http = AuthorizedHttp(credentials, http=build_http())
        yield build_from_document(document, http=http), fake, credentials


def _video_file(tmp_path: Path, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _upload(service: Any, path: Path, chunk: int) -> tuple[dict[str, Any], int]:
    """Google's documented loop; returns the video and how many 5xx it stepped over."""
    body = {
        "snippet": {"title": "SDK upload", "description": "from the SDK", "categoryId": "22"},
        "status": {"privacyStatus": "private", "containsSyntheticMedia": True},
    }
    media = MediaFileUpload(str(path), mimetype="video/mp4", chunksize=chunk, resumable=True)
    request = service.videos().insert(part="snippet,status", body=body, media_body=media)
    response = None
    errors = 0
    while response is None:
        try:
            _status, response = request.next_chunk(num_retries=0)
        except HttpError as exc:
            if exc.resp.status < 500 or errors > 10:
                raise
            errors += 1
        except (ConnectionError, httplib2.HttpLib2Error, http.client.HTTPException, OSError):
            # a cut connection surfaces as a reset, a broken pipe or an IncompleteRead
            if errors > 10:
                raise
            errors += 1
    return response, errors


def test_sdk_resumable_upload_completes(youtube: Any, tmp_path: Path) -> None:
    service, fake, credentials = youtube
    path, digest = _video_file(tmp_path, 5 * ALIGN + 1234)
    video, errors = _upload(service, path, 2 * ALIGN)
    assert errors == 0
    assert fake.videos[video["id"]].sha256 == digest
    assert video["status"]["privacyStatus"] == "private"
    assert fake.calls["session.chunk"] == 3  # 2 + 2 + 1.x chunks of 256 KiB
    assert fake.calls["token.refresh_token"] == 1  # google-auth refreshed through the fake
    assert credentials.token and credentials.token.startswith("ya29.")


def test_sdk_upload_survives_503_and_dropped_connection(youtube: Any, tmp_path: Path) -> None:
    service, fake, _ = youtube
    path, digest = _video_file(tmp_path, 9 * ALIGN + 77)
    fake.fault_at(3 * ALIGN + 1000, kind="503")
    fake.fault_at(6 * ALIGN + 5, kind="drop")
    video, errors = _upload(service, path, 2 * ALIGN)
    # the drop costs one error, or two when httplib2 next reuses the dead keep-alive socket
    assert errors >= 2
    assert fake.calls["fault.503"] == 1 and fake.calls["fault.drop"] == 1
    assert fake.calls["session.status"] >= 1  # the client asked where to resume
    assert fake.videos_created == 1
    assert fake.videos[video["id"]].sha256 == digest


def test_sdk_videos_list_update_and_thumbnail(youtube: Any, tmp_path: Path) -> None:
    service, fake, _ = youtube
    path, _ = _video_file(tmp_path, ALIGN)
    video, _ = _upload(service, path, ALIGN)
    listed = service.videos().list(part="snippet,status", id=video["id"]).execute()
    assert [item["id"] for item in listed["items"]] == [video["id"]]
    assert listed["items"][0]["snippet"]["title"] == "SDK upload"

    updated = (
        service.videos()
        .update(
            part="snippet",
            body={"id": video["id"], "snippet": {"title": "Renamed", "categoryId": "27"}},
        )
        .execute()
    )
    assert updated["snippet"] == {"title": "Renamed", "categoryId": "27"}  # description cleared

    jpeg = b"\xff\xd8\xff\xe0" + os.urandom(2000)
    thumb = MediaInMemoryUpload(jpeg, mimetype="image/jpeg")
    answer = service.thumbnails().set(videoId=video["id"], media_body=thumb).execute()
    assert answer["items"][0]["default"]["url"].endswith("/default.jpg")
    assert fake.thumbnails[video["id"]] == jpeg


def test_sdk_sees_quota_and_auth_errors(youtube: Any) -> None:
    service, fake, credentials = youtube
    fake.quota_exceeded = True
    with pytest.raises(HttpError) as quota:
        service.videos().list(part="id", id="nothing").execute()
    assert quota.value.resp.status == 403
    assert quota.value.error_details[0]["reason"] == "quotaExceeded"

    fake.quota_exceeded = False
    fake.auth_errors = 1  # an expired token: google-auth refreshes and retries once
    refreshes = fake.calls["token.refresh_token"]
    service.videos().list(part="id", id="nothing").execute()
    assert fake.calls["token.refresh_token"] == refreshes + 1

    fake.revoke()
    credentials.token = None
    credentials.expiry = None
    fake.auth_errors = 1
    from google.auth.exceptions import RefreshError

    with pytest.raises(RefreshError, match="invalid_grant"):
        service.videos().list(part="id", id="nothing").execute()
