"""Errors that carry their HTTP status, raised by services and rendered by one handler.

Services raise these instead of ``HTTPException`` so they stay usable outside a request (workers, CLI) while
the API still answers with the right status and a stable machine-readable ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any


class AppError(Exception):
    """Base of every expected failure: ``code`` is for machines, ``message`` for people."""

    status_code: int = 400
    code: str = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass that sets only its status is coded by the status's name (``NOT_FOUND``),
        so the generic status errors below cannot drift from the statuses they answer with."""
        super().__init_subclass__(**kwargs)
        if "status_code" in vars(cls) and "code" not in vars(cls):
            cls.code = HTTPStatus(cls.status_code).name


class BadRequestError(AppError):
    status_code = 400


class UnauthorizedError(AppError):
    """Always asks for a bearer token, as RFC 6750 requires of a 401."""

    status_code = 401

    def __init__(
        self,
        message: str = "a valid bearer token is required",
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, code=code, details=details, headers={"WWW-Authenticate": "Bearer"}
        )


class NotFoundError(AppError):
    status_code = 404


class ConflictError(AppError):
    status_code = 409


class ServiceUnavailableError(AppError):
    status_code = 503
