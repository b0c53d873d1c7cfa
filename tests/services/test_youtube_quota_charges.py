"""What the upload step charges to the quota ledger: only requests that were sent to Google.

Run the way a worker runs it, against the fake YouTube over loopback and a real database. The
ledger must match what the fake actually received: a token endpoint that is down, a revoked
refresh token or an unreachable upload host cost nothing; every videos.insert that reached
Google costs its 1,600 units, retries included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import get_settings
from app.core.database import session_scope
from app.models import TaskStatus
from app.youtube.quota import quota_overview
from tests.fakes.server import free_port
from tests.fakes.youtube import CLIENT_ID, YouTubeFake
from tests.services import youtube_support
from tests.services.youtube_support import reload, run_until_settled, units_charged, upload_task

fake_env = youtube_support.fake_env  # the fixtures, shared with the other upload tests
tube = youtube_support.tube


async def test_token_endpoint_down_charges_nothing_and_waits_as_unavailable(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    tube.token_unavailable = 1000  # every token request of every run answers 503
    retries = [await run_until_settled(job.item_id) for _ in range(3)]

    assert all(r is not None and r.reason == "YOUTUBE_UNAVAILABLE" for r in retries)
    assert tube.calls["token.unavailable"] >= 3 and tube.calls["videos.insert"] == 0
    assert await units_charged() == 0  # was 3 x 1,600 = 4,800
    task, _ = await reload(job.task_id)
    assert task.status == TaskStatus.RUNNING and "quota" not in (task.status_reason or "")

    tube.token_unavailable = 0  # Google is back: the same task publishes and pays once
    assert await run_until_settled(job.item_id) is None
    task, _ = await reload(job.task_id)
    assert task.status == TaskStatus.PUBLISHED
    assert await units_charged() == 1600 + 50


async def test_revoked_refresh_token_charges_nothing(tube: YouTubeFake, tmp_path: Path) -> None:
    job = await upload_task(tmp_path / "configs")
    tube.revoke()
    retry = await run_until_settled(job.item_id)
    assert retry is not None and retry.reason == "YOUTUBE_REAUTH"
    assert tube.calls["videos.insert"] == 0
    assert await units_charged() == 0  # was 1,600


async def test_unreachable_upload_host_gives_the_units_back(
    tube: YouTubeFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await upload_task(tmp_path / "configs")
    nothing_listens = f"http://127.0.0.1:{free_port()}/upload/youtube/v3"
    monkeypatch.setenv("YOUTUBE_UPLOAD_BASE_URL", nothing_listens)
    get_settings.cache_clear()
    retry = await run_until_settled(job.item_id)
    assert retry is not None and retry.reason == "YOUTUBE_UNAVAILABLE"
    assert tube.calls["token.refresh_token"] == 1  # the token came; the insert could not go
    assert await units_charged() == 0  # connection refused: it never reached Google


async def test_every_insert_sent_is_charged_retries_included(
    tube: YouTubeFake, tmp_path: Path
) -> None:
    job = await upload_task(tmp_path / "configs")
    tube.insert_unavailable = 2  # two initiations answered 503, the third accepted
    assert await run_until_settled(job.item_id) is None
    assert tube.calls["videos.insert"] == 3 and tube.videos_created == 1
    assert await units_charged() == 3 * 1600 + 50  # the ledger matches what Google received


OWN_CLIENT = """\
  privacy: private
  oauth_client:
    client_id_env: SOLO_YOUTUBE_CLIENT_ID
    client_secret_env: SOLO_YOUTUBE_CLIENT_SECRET
"""


async def test_channels_sharing_a_client_share_its_quota_and_own_clients_do_not(
    tube: YouTubeFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLO_YOUTUBE_CLIENT_ID", "solo-client.apps.googleusercontent.com")
    monkeypatch.setenv("SOLO_YOUTUBE_CLIENT_SECRET", "solo-secret-0123456789")
    tube.add_client("solo-client.apps.googleusercontent.com", "solo-secret-0123456789")
    alpha = await upload_task(tmp_path / "configs", slug="alpha")
    bravo = await upload_task(tmp_path / "configs", slug="bravo")
    solo = await upload_task(tmp_path / "configs", slug="solo", youtube=OWN_CLIENT)
    tube.exhausted_clients.add(CLIENT_ID)  # the fleet's project is out of quota at Google

    first = await run_until_settled(alpha.item_id)
    assert first is not None and first.reason == "YOUTUBE_QUOTA"
    assert tube.calls["videos.insert"] == 1
    second = await run_until_settled(bravo.item_id)  # same client: waits without calling
    assert second is not None and second.reason == "YOUTUBE_QUOTA"
    assert tube.calls["videos.insert"] == 1
    task, _ = await reload(bravo.task_id)
    assert "quotaExceeded for project fleet" in (task.status_reason or "")

    assert await run_until_settled(solo.item_id) is None  # its own project still has units
    task, _ = await reload(solo.task_id)
    assert task.status == TaskStatus.PUBLISHED

    async with session_scope() as session:
        overview = await quota_overview(session)
    projects = {p.project: p for p in overview.projects}
    assert projects["fleet"].exhausted and projects["fleet"].remaining == 0
    assert {c.slug: c.units_used for c in projects["fleet"].channels} == {"alpha": 1600, "bravo": 0}
    own = projects["solo-client.apps.googleusercontent.com"]
    assert own.units_used == 1650 and own.remaining == 10_000 - 1650 and not own.exhausted
    assert [c.slug for c in own.channels] == ["solo"]
