"""Google OAuth 2.0 for installed apps: PKCE authorisation URL, code exchange, access-token refresh.

A channel keeps one long-lived refresh token (stored encrypted); access tokens live about an hour
and only in memory. ``TokenSource`` refreshes ahead of expiry and on demand (an API's 401), and
reports a revoked or expired refresh token as ``InvalidGrantError``, which is not worth retrying:
only the operator can fix it, by authorising the channel again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from app.core.logging import get_logger, register_secret
from app.core.time import Backoff

log = get_logger(__name__)

YOUTUBE_SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube",
    # caption tracks: captions.insert, list and update need this scope
    "https://www.googleapis.com/auth/youtube.force-ssl",
    # watch time for the statistics collector; a token granted without it still uploads
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)

Sleep = Callable[[float], Awaitable[None]]


class OAuthError(Exception):
    """Google refused or could not answer a token request; never carries a token."""


class InvalidGrantError(OAuthError):
    """The refresh token (or authorisation code) is revoked, expired or unknown."""


class OAuthClientError(OAuthError):
    """The OAuth client id/secret were refused (``invalid_client``, ``unauthorized_client``)."""


class OAuthTransientError(OAuthError):
    """The token endpoint kept failing (5xx, network) after retries."""


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str
    token_url: str

    def __post_init__(self) -> None:
        register_secret(self.client_secret)


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> PkcePair:
        verifier = secrets.token_urlsafe(64)[:96]
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorization_url(
    *, auth_url: str, client_id: str, redirect_uri: str, pkce: PkcePair, state: str
) -> str:
    """The consent page; ``prompt=consent`` makes Google return a refresh token every time."""
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(YOUTUBE_SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    return f"{auth_url}?{urlencode(query)}"


def _token_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


async def _post_token(
    http: httpx.AsyncClient,
    app: OAuthApp,
    form: dict[str, str],
    *,
    backoff: Backoff,
    sleep: Sleep,
) -> dict[str, Any]:
    """POST the token endpoint, retrying 5xx/network; map refusals to typed errors."""
    data = {**form, "client_id": app.client_id, "client_secret": app.client_secret}
    for attempt in range(1, backoff.attempts + 1):
        try:
            response = await http.post(app.token_url, data=data)
        except httpx.TransportError as exc:
            problem = f"network error ({type(exc).__name__})"
        else:
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            code, description = _token_error(response)
            if code == "invalid_grant":
                raise InvalidGrantError(f"Google answered invalid_grant: {description}".strip())
            if code in ("invalid_client", "unauthorized_client"):
                raise OAuthClientError(
                    f"Google refused the OAuth client ({code}): check YOUTUBE_CLIENT_ID and "
                    "YOUTUBE_CLIENT_SECRET"
                )
            if response.status_code < 500 and response.status_code != 429:
                raise OAuthError(
                    f"token request refused: HTTP {response.status_code} {code} {description}"
                )
            problem = f"HTTP {response.status_code}"
        if attempt < backoff.attempts:
            await sleep(backoff.delay(attempt))
    raise OAuthTransientError(f"Google's token endpoint kept failing ({problem})")


async def exchange_code(
    http: httpx.AsyncClient,
    app: OAuthApp,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
    backoff: Backoff | None = None,
) -> dict[str, Any]:
    """Trade an authorisation code (PKCE) for tokens; the body holds ``refresh_token``."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    body = await _post_token(http, app, form, backoff=backoff or Backoff(), sleep=asyncio.sleep)
    for key in ("access_token", "refresh_token"):
        register_secret(body.get(key))
    return body


class TokenSource:
    """One channel's access token: refreshed ``margin_s`` before expiry, or when told to.

    A lock makes concurrent callers share one refresh instead of racing several.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        app: OAuthApp,
        refresh_token: str,
        *,
        margin_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        register_secret(refresh_token)
        self._http = http
        self._app = app
        self._refresh_token = refresh_token
        self._margin_s = margin_s
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def token(self) -> str:
        if self._token is None or self._clock() >= self._expires_at - self._margin_s:
            return await self.refresh(stale=self._token)
        return self._token

    async def refresh(self, *, stale: str | None = None) -> str:
        """A new access token; with ``stale``, skip if another caller already replaced it."""
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            body = await _post_token(
                self._http, self._app, form, backoff=self._backoff, sleep=self._sleep
            )
            token = str(body["access_token"])
            register_secret(token)
            self._token = token
            self._expires_at = self._clock() + float(body.get("expires_in", 3600))
            self.refreshes += 1
            log.debug("youtube.token_refreshed", expires_in=body.get("expires_in"))
            return token
