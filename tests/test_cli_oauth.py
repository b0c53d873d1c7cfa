"""``vidgen oauth youtube CHANNEL`` as a real subprocess, against the fake Google consent page
and token endpoint: PKCE, the loopback redirect, the pasted redirect (``--print-url``), the
refresh token stored encrypted for the channel, and a channel with its own OAuth client (its own
Cloud project) authorised through that client rather than the fleet's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.config import load_channel_configs
from app.channels.credentials import get_credential
from app.channels.sync import sync_channels
from app.core.config import PROJECT_ROOT, get_settings
from app.core.database import session_scope
from app.models import ChannelCredential
from tests.fakes.youtube import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    YouTubeFake,
    running,
    settings_env,
)
from tests.fakes.youtube_after import ANALYTICS_SCOPE
from tests.routes.factories import add_channel


@dataclass
class Google:
    fake: YouTubeFake
    env: dict[str, str]


OWN_ID = "solo-client.apps.googleusercontent.com"
OWN_SECRET = "solo-secret-0123456789"
OWN_VARS = {"SOLO_YOUTUBE_CLIENT_ID": OWN_ID, "SOLO_YOUTUBE_CLIENT_SECRET": OWN_SECRET}
OWN_CHANNEL_YAML = """\
slug: solo
name: Solo
providers:
  planner: template
  image: local
  video: kenburns
  voice: espeak
  sfx: synth
youtube:
  privacy: private
  oauth_client:
    client_id_env: SOLO_YOUTUBE_CLIENT_ID
    client_secret_env: SOLO_YOUTUBE_CLIENT_SECRET
"""


def _serve(
    monkeypatch: pytest.MonkeyPatch, fake: YouTubeFake | None, extra: dict[str, str]
) -> Iterator[Google]:
    with running(fake) as (url, state):
        env = {**settings_env(url), "FERNET_KEYS": Fernet.generate_key().decode(), **extra}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield Google(state, {**os.environ, **env, "BROWSER": "true"})
        get_settings.cache_clear()


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    yield from _serve(monkeypatch, None, {})


@pytest.fixture
def own_google(monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    """The fake's consent page knows one client: here the channel's own. The fleet's client is
    known to the token endpoint only, so a consent URL or code exchange that used the fleet's
    client for this channel is refused (or shows in ``token_clients``)."""
    fake = YouTubeFake(client_id=OWN_ID, client_secret=OWN_SECRET)
    fake.add_client(CLIENT_ID, CLIENT_SECRET)
    yield from _serve(monkeypatch, fake, OWN_VARS)


async def add_own_client_channel(configs: Path) -> None:
    """The channel ``solo`` synced from YAML that names its own OAuth client."""
    configs.mkdir(parents=True, exist_ok=True)
    (configs / "solo.yaml").write_text(OWN_CHANNEL_YAML)
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(configs))


def start(google: Google, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "oauth", "youtube", *args, "--timeout", "60"],
        cwd=PROJECT_ROOT,
        env=google.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def consent_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    while True:
        line = await asyncio.to_thread(process.stderr.readline)
        assert line, "the command ended before printing the consent URL"
        if line.startswith("http"):
            return line.strip()


async def stored_token(slug: str) -> str | None:
    async with session_scope() as session:
        credential = await session.scalar(select(ChannelCredential))
        if credential is None:
            return None
        return await get_credential(session, credential.channel_id, "youtube")


async def test_loopback_flow_stores_the_refresh_token(app_db: AsyncEngine, google: Google) -> None:
    await add_channel("tube")
    process = start(google, "tube")
    url = await consent_url(process)
    assert "code_challenge_method=S256" in url and "access_type=offline" in url
    # the "browser": Google's consent page redirects to the command's loopback listener
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        page = await browser.get(url)
    assert page.status_code == 200 and "return to the terminal" in page.text
    stdout, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, stderr
    assert "✅ channel tube authorised for YouTube uploads" in stdout
    token = await stored_token("tube")
    assert token is not None and token.startswith("1//fake-") and token != REFRESH_TOKEN
    assert token in google.fake.refresh_tokens
    assert google.fake.calls["token.authorization_code"] == 1
    # the consent asked for watch time too, so the new token can read YouTube Analytics
    asked = parse_qs(urlsplit(url).query)["scope"][0].split()
    assert ANALYTICS_SCOPE in asked and "https://www.googleapis.com/auth/youtube.upload" in asked
    assert "https://www.googleapis.com/auth/youtube.force-ssl" in asked  # caption tracks
    assert ANALYTICS_SCOPE in google.fake.refresh_scopes[token].split()
    assert token not in stdout + stderr  # never printed


async def test_print_url_accepts_the_pasted_redirect(app_db: AsyncEngine, google: Google) -> None:
    await add_channel("tube")
    process = start(google, "tube", "--print-url")
    url = await consent_url(process)
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url)
    assert consent.status_code == 307
    pasted = consent.headers["location"]  # what the browser's address bar shows
    stdout, stderr = await asyncio.to_thread(process.communicate, pasted + "\n", 60)
    assert process.returncode == 0, stderr
    assert "✅" in stdout
    assert await stored_token("tube") in google.fake.refresh_tokens


async def test_denied_consent_stores_nothing(app_db: AsyncEngine, google: Google) -> None:
    await add_channel("tube")
    google.fake.deny_consent = True
    process = start(google, "tube")
    url = await consent_url(process)
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        await browser.get(url)
    _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 1
    assert "Google answered access_denied" in stderr
    assert await stored_token("tube") is None


async def test_own_client_channel_is_authorised_through_its_own_client(
    app_db: AsyncEngine, own_google: Google, tmp_path: Path
) -> None:
    await add_own_client_channel(tmp_path / "configs")
    process = start(own_google, "solo")
    try:
        url = await consent_url(process)
        assert parse_qs(urlsplit(url).query)["client_id"] == [OWN_ID]
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(url)
        assert page.status_code == 200, page.text
        stdout, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "✅ channel solo authorised for YouTube uploads" in stdout
    assert f"OAuth client {OWN_ID} (quota project {OWN_ID})" in stdout  # which client it used
    # the code was exchanged with the channel's client id and secret, never the fleet's
    assert own_google.fake.calls["token.authorization_code"] == 1
    assert set(own_google.fake.token_clients.values()) == {OWN_ID}
    token = await stored_token("solo")
    assert token is not None and token in own_google.fake.refresh_tokens
    assert OWN_SECRET not in stdout + stderr


async def test_own_client_with_unset_variables_is_refused_before_consent(
    app_db: AsyncEngine, own_google: Google, tmp_path: Path
) -> None:
    await add_own_client_channel(tmp_path / "configs")
    env = {k: v for k, v in own_google.env.items() if k != "SOLO_YOUTUBE_CLIENT_SECRET"}
    process = start(Google(own_google.fake, env), "solo")
    try:
        _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2
    assert "SOLO_YOUTUBE_CLIENT_ID and SOLO_YOUTUBE_CLIENT_SECRET" in stderr
    assert "http" not in stderr  # no consent URL: never the fleet's client as a fall-back
    assert own_google.fake.calls["token.authorization_code"] == 0
    assert await stored_token("solo") is None
