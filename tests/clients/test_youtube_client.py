"""Our YouTube client against the fake (itself checked with Google's SDK in tests/fakes).

Nothing is mocked: real HTTP on loopback, real files, the fake keeping the bytes it receives.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app.core.time import Backoff
from app.youtube.client import (
    RESUMABLE_ALIGN,
    YouTubeClient,
    YouTubeQuotaExceededError,
    YouTubeTransientError,
    YouTubeUploadSessionGoneError,
)
from app.youtube.oauth import InvalidGrantError, OAuthApp, TokenSource
from tests.fakes.youtube import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, YouTubeFake, running

FAST = Backoff(attempts=6, base_s=0.01, cap_s=0.05)
RESOURCE = {
    "snippet": {"title": "A test video", "description": "made by a test", "categoryId": "22"},
    "status": {"privacyStatus": "private", "containsSyntheticMedia": True},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    fake: YouTubeFake
    url: str
    http: httpx.AsyncClient
    tokens: TokenSource
    clock: Clock

    def client(self, backoff: Backoff = FAST) -> YouTubeClient:
        return YouTubeClient(
            self.http,
            self.tokens,
            base_url=f"{self.url}/youtube/v3",
            upload_base_url=f"{self.url}/upload/youtube/v3",
            backoff=backoff,
        )


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    with running() as (url, fake):
        clock = Clock()
        async with httpx.AsyncClient(timeout=30) as http:
            app = OAuthApp(CLIENT_ID, CLIENT_SECRET, f"{url}/token")
            tokens = TokenSource(http, app, REFRESH_TOKEN, clock=clock, backoff=FAST)
            yield Rig(fake, url, http, tokens, clock)


def _random_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


async def test_50_mb_upload_survives_three_interruptions_at_random_offsets(
    rig: Rig, tmp_path: Path
) -> None:
    client, fake = rig.client(), rig.fake
    size = 50 * 1024 * 1024
    path = tmp_path / "big.mp4"
    digest = _random_file(path, size)
    seed = random.randrange(1 << 30)
    offsets = sorted(random.Random(seed).sample(range(1, size), 3))
    fake.fault_at(offsets[0], kind="drop")
    fake.fault_at(offsets[1], kind="503")
    fake.fault_at(offsets[2], kind="drop")
    resumed_from: list[int] = []

    started = time.perf_counter()
    uri = await client.start_upload(RESOURCE, size=size, content_type="video/mp4")
    video = await client.upload(
        uri,
        path,
        total=size,
        chunk_size=32 * RESUMABLE_ALIGN,
        resume=False,
        on_progress=lambda received, _total: resumed_from.append(received),
    )
    elapsed = time.perf_counter() - started
    print(f"\n50 MB with 3 interruptions: {elapsed:.2f} s, {size / elapsed / 1e6:.0f} MB/s")

    assert fake.calls["fault.drop"] == 2 and fake.calls["fault.503"] == 1, f"seed {seed}"
    assert fake.videos_created == 1 and len(fake.sessions) == 1
    assert fake.videos[video["id"]].sha256 == digest
    assert fake.videos[video["id"]].size == size
    # after each interruption the client continued exactly where the server said it stood
    assert set(offsets) <= set(resumed_from), f"seed {seed}"
    assert video["status"]["privacyStatus"] == "private"


async def test_resume_continues_from_the_servers_range(rig: Rig, tmp_path: Path) -> None:
    client, fake = rig.client(), rig.fake
    size = 3 * RESUMABLE_ALIGN + 10
    path = tmp_path / "v.mp4"
    digest = _random_file(path, size)
    uri = await client.start_upload(RESOURCE, size=size)
    fake.fault_at(RESUMABLE_ALIGN + 12345, kind="drop")
    fake.fault_at(RESUMABLE_ALIGN + 12346, kind="drop")  # and the resumed run after one byte
    # a first run (a worker that dies) stops at the first cut
    with pytest.raises(YouTubeTransientError, match="interrupted"):
        await rig.client(Backoff(attempts=1)).upload(
            uri, path, total=size, chunk_size=RESUMABLE_ALIGN, resume=False
        )
    progress = await client.upload_progress(uri, size)
    assert progress.received == RESUMABLE_ALIGN + 12345
    video = await client.upload(uri, path, total=size, chunk_size=RESUMABLE_ALIGN, resume=True)
    assert fake.videos[video["id"]].sha256 == digest
    assert fake.calls["videos.insert"] == 1

    # a finished session answers the status query with the video, not a second one
    again = await client.upload(uri, path, total=size, chunk_size=RESUMABLE_ALIGN, resume=True)
    assert again["id"] == video["id"] and fake.videos_created == 1


async def test_gone_session_is_reported_so_the_caller_starts_over(rig: Rig, tmp_path: Path) -> None:
    client, fake = rig.client(), rig.fake
    path = tmp_path / "v.mp4"
    _random_file(path, RESUMABLE_ALIGN)
    uri = await client.start_upload(RESOURCE, size=RESUMABLE_ALIGN)
    [session_id] = fake.sessions
    for status in (404, 410):
        fake.expire_session(session_id, status)
        with pytest.raises(YouTubeUploadSessionGoneError) as gone:
            await client.upload(uri, path, total=RESUMABLE_ALIGN, chunk_size=RESUMABLE_ALIGN, resume=True)  # fmt: skip
        assert gone.value.status == status
        assert session_id not in str(gone.value)  # the session URI is a secret
    assert fake.videos_created == 0


async def test_token_refreshed_ahead_of_expiry_and_on_401(
    rig: Rig,
) -> None:
    client, fake, tokens, clock = rig.client(), rig.fake, rig.tokens, rig.clock
    await client.list_videos(["none"])
    await client.list_videos(["none"])
    assert fake.calls["token.refresh_token"] == 1  # cached while valid

    clock.now += fake.access_ttl_s - 30  # inside the 60 s margin: refresh before using it
    await client.list_videos(["none"])
    assert fake.calls["token.refresh_token"] == 2

    fake.auth_errors = 1  # Google says the token expired early
    assert await client.list_videos(["none"]) == []
    assert fake.calls["token.refresh_token"] == 3
    assert fake.calls["videos.list"] == 5  # the refused call was made once more
    assert tokens.refreshes == 3


async def test_invalid_grant_is_typed_and_not_retried(
    rig: Rig,
) -> None:
    client, fake = rig.client(), rig.fake
    fake.revoke()
    with pytest.raises(InvalidGrantError) as error:
        await client.list_videos(["x"])
    assert REFRESH_TOKEN not in str(error.value)
    assert fake.calls["token.refresh_token"] == 1
    assert fake.calls["videos.list"] == 0


async def test_quota_exceeded_is_typed_and_not_retried(
    rig: Rig,
) -> None:
    client, fake = rig.client(), rig.fake
    fake.quota_exceeded = True
    with pytest.raises(YouTubeQuotaExceededError) as error:
        await client.start_upload(RESOURCE, size=100)
    assert error.value.reason == "quotaExceeded" and error.value.status == 403
    assert fake.calls["videos.insert"] == 1
    assert not fake.sessions


async def test_list_update_and_thumbnail(rig: Rig, tmp_path: Path) -> None:
    client, fake = rig.client(), rig.fake
    path = tmp_path / "v.mp4"
    _random_file(path, 1000)
    uri = await client.start_upload(RESOURCE, size=1000)
    video = await client.upload(uri, path, total=1000, chunk_size=RESUMABLE_ALIGN, resume=False)
    [listed] = await client.list_videos([video["id"], "missing"])
    assert listed["snippet"]["title"] == "A test video"

    new_status = {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False}
    updated = await client.update_video({"id": video["id"], "status": new_status}, part="status")
    assert updated["status"] == new_status  # containsSyntheticMedia left out, so cleared
    assert updated["snippet"]["title"] == "A test video"  # parts not named are kept

    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 500
    answer = await client.set_thumbnail(video["id"], jpeg)
    assert answer["items"][0]["default"]["url"]
    assert fake.thumbnails[video["id"]] == jpeg
