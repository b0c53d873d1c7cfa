"""Dashboard sign-in and sign-out, and its static files (hand-written CSS and JS, no CDN).

Sign-in exchanges the API token, typed into a form, for the session cookie; the token itself is
never stored in the browser, never put in a URL, and never echoed into a page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.api.deps import get_app_settings
from app.core.errors import NotFoundError
from app.core.logging import get_logger
from app.dashboard.common import (
    DASHBOARD,
    SIGN_IN,
    STATIC_DIR,
    authenticate_form,
    first,
    read_form,
    render,
    safe_next,
)
from app.dashboard.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_TTL_S,
    SIGNIN_COOKIE,
    SIGNIN_TTL_S,
    api_token,
    issue_session,
    new_signin_nonce,
    signin_form_token,
    signin_token_matches,
    token_matches,
    valid_reviewer,
)

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

STATIC_FILES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


def _is_https(request: Request) -> bool:
    """HTTPS as seen by the browser: the request itself, or the public address people use
    (behind a TLS-terminating proxy the app may only see plain HTTP)."""
    public = get_app_settings(request).public_base_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _sign_in_page(
    request: Request, *, error: str | None = None, status_code: int = 200, reviewer: str = ""
) -> Response:
    settings = get_app_settings(request)
    nonce = request.cookies.get(SIGNIN_COOKIE) or new_signin_nonce()
    configured = bool(api_token(settings))
    response = render(
        request,
        "sign_in.html",
        {
            "error": error,
            "configured": configured,
            "signin_csrf": signin_form_token(settings, nonce) or "",
            "next": safe_next(request.query_params.get("next")),
            "reviewer": reviewer,
        },
        viewer=None,
        status_code=status_code,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=SIGNIN_TTL_S,
        path=DASHBOARD,
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )
    return response


@router.get("/")
async def root() -> RedirectResponse:
    """People opening the service's address land on the dashboard."""
    return RedirectResponse(DASHBOARD, status_code=307)


@router.get(SIGN_IN)
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    """Check the CSRF pair, then the token; on success set the session cookie and go on."""
    settings = get_app_settings(request)
    form = await read_form(request)
    reviewer = first(form, "reviewer")
    if not signin_token_matches(
        settings, request.cookies.get(SIGNIN_COOKIE), first(form, CSRF_FIELD)
    ):
        return _sign_in_page(
            request,
            error="The form expired or did not come from this page. Please sign in again.",
            status_code=403,
            reviewer=reviewer,
        )
    if not valid_reviewer(reviewer):
        return _sign_in_page(
            request,
            error="Your name may use letters, digits, spaces and . _ @ - (at most 40).",
            status_code=422,
        )
    if not token_matches(settings, first(form, "token")):
        log.info("dashboard.sign_in_refused")
        return _sign_in_page(
            request, error="That token is not valid.", status_code=401, reviewer=reviewer
        )
    cookie, session = issue_session(settings, reviewer=reviewer)
    log.info("dashboard.signed_in", actor=session.actor)
    response = RedirectResponse(safe_next(first(form, "next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    response.delete_cookie(SIGNIN_COOKIE, path=DASHBOARD)
    return response


@router.post(f"{DASHBOARD}/sign-out")
async def sign_out(request: Request) -> Response:
    """Forget the session cookie (CSRF-checked, so another site cannot sign people out)."""
    viewer, _ = await authenticate_form(request)
    log.info("dashboard.signed_out", actor=viewer.actor)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_is_https(request)
    )
    return response


@router.get(f"{DASHBOARD}/static/{{asset}}")
async def static_file(asset: str) -> FileResponse:
    """One of the known static files (a fixed list: no path from the request reaches the disk)."""
    media_type = STATIC_FILES.get(asset)
    if media_type is None:
        raise NotFoundError(f"no static file {asset!r}", code="NOT_FOUND")
    return FileResponse(
        STATIC_DIR / asset,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
