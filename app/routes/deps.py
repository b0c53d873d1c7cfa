"""Dependencies every route shares: the database session and the bearer-token check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.database import get_db
from app.errors import UnauthorizedError

API_ACTOR = "api"

# auto_error=False: a missing header must reach our handler and answer in the envelope.
_bearer = HTTPBearer(auto_error=False, description="The value of API_TOKEN.")


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given (tests pass their own), else the process settings."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Refuse the request unless it carries ``Authorization: Bearer <API_TOKEN>``; return the actor.

    With no API_TOKEN configured every request is refused: an open API would be worse than a
    closed one, and the message says what to fix.
    """
    settings = get_app_settings(request)
    expected = settings.api_token.get_secret_value() if settings.api_token else ""
    if not expected:
        raise UnauthorizedError(
            "API_TOKEN is not configured: the API refuses every request until it is set",
            code="AUTH_NOT_CONFIGURED",
        )
    if credentials is None:
        raise UnauthorizedError("missing bearer token: send 'Authorization: Bearer <API_TOKEN>'")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise UnauthorizedError("invalid bearer token")
    return API_ACTOR


SessionDep = Annotated[AsyncSession, Depends(get_db)]
AuthDep = Annotated[str, Depends(require_token)]
