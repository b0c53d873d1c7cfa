"""What every dashboard route shares: templates, who is asking, forms, and page headers.

Authentication is the API's (``deps``): a bearer header, or the session cookie with its CSRF
token on unsafe methods. The one difference is how a refusal looks: a browser asking for a page
is sent to the sign-in page (303), any other client gets the API's 401 envelope, so scripts and
the route-walk test see the same contract as on /api/v1.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api.deps import API_ACTOR, check_csrf, cookie_session, get_app_settings
from app.core.errors import AppError, UnauthorizedError
from app.core.time import utc_now
from app.dashboard.session import CSRF_FIELD, CSRF_HEADER, api_token

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
DASHBOARD = "/dashboard"
SIGN_IN = f"{DASHBOARD}/sign-in"
MAX_FORM_BYTES = 256 * 1024

CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the audit actor, and the CSRF token their forms carry ("" for bearer)."""

    actor: str
    csrf: str


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (never another site: no ``//host``, no scheme)."""
    if target and target.startswith(DASHBOARD) and "\\" not in target and "//" not in target:
        return target
    return DASHBOARD


def _sign_in_redirect(request: Request) -> AppError:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    where = SIGN_IN if request.method != "GET" else f"{SIGN_IN}?next={quote(safe_next(target))}"
    return AppError(
        "sign in to use the dashboard",
        code="SIGN_IN_REQUIRED",
        status_code=303,
        headers={"Location": where},
    )


def authenticate(request: Request, csrf: str | None = None) -> Viewer:
    """The viewer, or a refusal: 303 to the sign-in page for a browser, else the 401 envelope.

    ``csrf`` is what an unsafe request presented (form field; the header is read as a fallback).
    """
    settings = get_app_settings(request)
    expected = api_token(settings)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not expected:
        if wants_html(request):
            raise _sign_in_redirect(request)
        raise UnauthorizedError(
            "API_TOKEN is not configured: the API refuses every request until it is set",
            code="AUTH_NOT_CONFIGURED",
        )
    if scheme.lower() == "bearer" and credentials:
        if hmac.compare_digest(credentials.strip().encode(), expected.encode()):
            return Viewer(actor=API_ACTOR, csrf="")
        raise UnauthorizedError("invalid bearer token")
    session = cookie_session(request)
    if session is None:
        if wants_html(request):
            raise _sign_in_redirect(request)
        raise UnauthorizedError("missing bearer token: send 'Authorization: Bearer <API_TOKEN>'")
    check_csrf(request, session, csrf or request.headers.get(CSRF_HEADER))
    return Viewer(actor=session.actor, csrf=session.csrf)


async def read_form(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body (what a plain ``<form method=post>`` sends), size-capped."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise AppError("form too large", code="PAYLOAD_TOO_LARGE", status_code=413)
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


async def authenticate_form(request: Request) -> tuple[Viewer, dict[str, list[str]]]:
    """Read the form, then authenticate with the CSRF token it carries."""
    form = await read_form(request)
    return authenticate(request, csrf=first(form, CSRF_FIELD) or None), form


def money(value: Decimal | float | int | None) -> str:
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${amount}"


def ago(moment: datetime | None) -> str:
    """A short, human duration since ``moment`` ("3 min", "2 h 5 min", "4 d")."""
    if moment is None:
        return "-"
    seconds = max(int((utc_now() - moment).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _static_version() -> str:
    """A digest of the static files: changes with them, so browsers never keep a stale script."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(money=money, ago=ago, duration=duration, stamp=stamp)
templates.env.globals.update(static_version=_static_version(), csrf_field=CSRF_FIELD)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    viewer: Viewer | None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with the security headers every dashboard page carries (strict CSP, no framing)."""
    page = {"viewer": viewer, "csrf": viewer.csrf if viewer else "", **context}
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response
