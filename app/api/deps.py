"""Dependencies every route shares: the database session and the authentication check.

A request authenticates with ``Authorization: Bearer <API_TOKEN>`` (API clients) or with the
dashboard's session cookie (a browser: pages, ``<video>`` sources, the pages' scripts). A
cookie-authenticated unsafe request must also echo the session's CSRF token; a bearer one needs
none, since no browser attaches a bearer header on its own.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.artifacts.configured import get_artifact_store as configured_store
from app.artifacts.store import ArtifactStore
from app.core.config import Settings, get_settings
from app.core.database import get_db
from app.core.errors import AppError, UnauthorizedError
from app.dashboard.session import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    DashboardSession,
    csrf_matches,
    read_session,
)

API_ACTOR = "api"

# auto_error=False: a missing header must reach our handler and answer in the envelope.
_bearer = HTTPBearer(auto_error=False, description="The value of API_TOKEN.")


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given (tests pass their own), else the process settings."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


class CsrfError(AppError):
    """A cookie-authenticated unsafe request without the session's CSRF token."""

    status_code = 403
    code = "CSRF_FAILED"


def cookie_session(request: Request) -> DashboardSession | None:
    """The dashboard session of this request's cookie, if valid and unexpired."""
    return read_session(get_app_settings(request), request.cookies.get(SESSION_COOKIE))


def check_csrf(request: Request, session: DashboardSession, presented: str | None) -> None:
    """Refuse an unsafe method unless ``presented`` is the session's CSRF token."""
    if request.method not in SAFE_METHODS and not csrf_matches(session, presented):
        raise CsrfError(
            "missing or wrong CSRF token: reload the dashboard page and try again",
            details={"header": CSRF_HEADER},
        )


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Refuse the request unless it carries ``Authorization: Bearer <API_TOKEN>`` or a valid
    dashboard session cookie (plus the CSRF header for unsafe methods); return the actor.

    With no API_TOKEN configured every request is refused: an open API would be worse than a
    closed one, and the message says what to fix. A bearer header, when sent, decides alone: a
    wrong one is refused even next to a valid cookie.
    """
    settings = get_app_settings(request)
    expected = settings.api_token.get_secret_value() if settings.api_token else ""
    if not expected:
        raise UnauthorizedError(
            "API_TOKEN is not configured: the API refuses every request until it is set",
            code="AUTH_NOT_CONFIGURED",
        )
    if credentials is None:
        session = cookie_session(request)
        if session is None:
            raise UnauthorizedError(
                "missing bearer token: send 'Authorization: Bearer <API_TOKEN>'"
            )
        check_csrf(request, session, request.headers.get(CSRF_HEADER))
        return session.actor
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise UnauthorizedError("invalid bearer token")
    return API_ACTOR


SessionDep = Annotated[AsyncSession, Depends(get_db)]
AuthDep = Annotated[str, Depends(require_token)]


def get_artifact_store(request: Request) -> ArtifactStore:
    """The deployment's store: the workspace, or the bucket (streamed, so auth stays ours)."""
    return configured_store(get_app_settings(request))


StoreDep = Annotated[ArtifactStore, Depends(get_artifact_store)]
