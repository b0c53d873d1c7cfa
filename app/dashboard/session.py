"""The dashboard's cookie session: a sign-in with the API token buys an encrypted, expiring cookie.

Why a cookie at all: a browser ``<video>`` or ``<audio>`` cannot send a bearer header, and the
API token must never sit in a page or a URL. The cookie holds no secret of its own: it is a Fernet
token (AES + HMAC, with its issue time) whose key is derived from ``API_TOKEN`` with HKDF, so
rotating the API token signs every session out, and nothing new needs configuring.

CSRF: each session carries a random CSRF token, which pages embed and every unsafe request must
echo (form field ``csrf_token`` or header ``X-CSRF-Token``). The sign-in form itself is protected
by a double-submit pair: a random nonce in a short-lived cookie and its HMAC in the form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.config import Settings

SESSION_COOKIE = "vidgen_session"
SIGNIN_COOKIE = "vidgen_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 12 * 3600
SIGNIN_TTL_S = 3600
DASHBOARD_ACTOR = "dashboard"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_REVIEWER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,39}")
_SALT = b"vidgen-dashboard-session-v1"


@dataclass(frozen=True)
class DashboardSession:
    """Who signed in (the audit actor) and the CSRF token their pages must echo."""

    actor: str
    csrf: str


def api_token(settings: Settings) -> str:
    return settings.api_token.get_secret_value() if settings.api_token else ""


def token_matches(settings: Settings, presented: str) -> bool:
    """Constant-time comparison with the configured token; False when none is configured."""
    expected = api_token(settings)
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def _derived_key(settings: Settings, purpose: bytes) -> bytes | None:
    token = api_token(settings)
    if not token:
        return None
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose)
    return hkdf.derive(token.encode())


def _fernet(settings: Settings) -> Fernet | None:
    key = _derived_key(settings, b"session-cookie")
    return Fernet(base64.urlsafe_b64encode(key)) if key else None


def actor_for(reviewer: str | None) -> str:
    """``dashboard`` or ``dashboard:<name>``: the name people gave at sign-in, for the audit."""
    name = (reviewer or "").strip()
    return f"{DASHBOARD_ACTOR}:{name}" if name else DASHBOARD_ACTOR


def valid_reviewer(reviewer: str) -> bool:
    return not reviewer.strip() or bool(_REVIEWER_RE.fullmatch(reviewer.strip()))


def issue_session(settings: Settings, *, reviewer: str | None) -> tuple[str, DashboardSession]:
    """A new session and its cookie value; raises ``RuntimeError`` without an API token."""
    fernet = _fernet(settings)
    if fernet is None:
        raise RuntimeError("API_TOKEN is not configured")
    session = DashboardSession(actor=actor_for(reviewer), csrf=secrets.token_urlsafe(32))
    payload = json.dumps({"v": 1, "a": session.actor, "c": session.csrf}).encode()
    return fernet.encrypt(payload).decode(), session


def read_session(
    settings: Settings, cookie: str | None, *, now: int | None = None
) -> DashboardSession | None:
    """The session in ``cookie`` when it decrypts under the current key and has not expired."""
    fernet = _fernet(settings)
    if fernet is None or not cookie:
        return None
    try:
        if now is None:
            raw = fernet.decrypt(cookie.encode(), ttl=SESSION_TTL_S)
        else:
            raw = fernet.decrypt_at_time(cookie.encode(), ttl=SESSION_TTL_S, current_time=now)
        data = json.loads(raw)
    except (InvalidToken, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    actor, csrf = data.get("a"), data.get("c")
    if not isinstance(actor, str) or not isinstance(csrf, str) or not csrf:
        return None
    return DashboardSession(actor=actor, csrf=csrf)


def csrf_matches(session: DashboardSession, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(
        (presented or "").encode(), session.csrf.encode()
    )


def new_signin_nonce() -> str:
    return secrets.token_urlsafe(24)


def signin_form_token(settings: Settings, nonce: str) -> str | None:
    """The sign-in form's CSRF value for the nonce in the browser's sign-in cookie."""
    key = _derived_key(settings, b"signin-csrf")
    if key is None or not nonce:
        return None
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def signin_token_matches(settings: Settings, nonce: str | None, presented: str | None) -> bool:
    expected = signin_form_token(settings, nonce or "")
    return bool(expected and presented) and hmac.compare_digest(
        (presented or "").encode(), (expected or "").encode()
    )
