"""``vidgen oauth youtube CHANNEL`` as a real subprocess, against the fake Google consent page
and token endpoint: PKCE, the loopback redirect, the pasted redirect (``--print-url``), and the
refresh token stored encrypted for the channel.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.credentials import get_credential
from app.core.config import PROJECT_ROOT, get_settings
from app.core.database import session_scope
from app.models import ChannelCredential
from tests.fakes.youtube import REFRESH_TOKEN, YouTubeFake, running, settings_env
from tests.routes.factories import add_channel


@dataclass
class Google:
    fake: YouTubeFake
    env: dict[str, str]


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    with running() as (url, fake):
        env = {**settings_env(url), "FERNET_KEYS": Fernet.generate_key().decode()}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield Google(fake, {**os.environ, **env, "BROWSER": "true"})
        get_settings.cache_clear()


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
