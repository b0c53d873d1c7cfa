"""Dashboard sign-in, the cookie session and CSRF, against the real app and database."""

from __future__ import annotations

import time
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_TTL_S,
    SIGNIN_COOKIE,
    read_session,
)
from app.main import create_app
from tests.dashboard.helpers import HTML, form_csrf, page_csrf, session_cookie, sign_in
from tests.routes.conftest import API_TOKEN, app_settings, assert_error, make_client


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert len(found) == 1, response.headers
    return found[0]


async def test_sign_in_sets_a_hardened_expiring_cookie(
    api_app: FastAPI, app_db: AsyncEngine
) -> None:
    async with make_client(api_app, token=None) as http:
        answer = await sign_in(http, API_TOKEN, reviewer="Ada")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/dashboard"
        cookie = _set_cookie(answer, SESSION_COOKIE)
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/", f"max-age={SESSION_TTL_S}"} <= attributes
        assert "secure" not in attributes  # plain http here; see the https test
        value = session_cookie(http)
        assert value and API_TOKEN not in value
        session = read_session(app_settings(), value)
        assert session is not None and session.actor == "dashboard:Ada"

        board = await http.get("/dashboard", headers=HTML)
        assert board.status_code == 200
        assert board.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in board.headers["content-security-policy"]
        assert page_csrf(board.text) == session.csrf
        assert API_TOKEN not in board.text


async def test_cookie_is_secure_over_https(api_app: FastAPI, app_db: AsyncEngine) -> None:
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        answer = await sign_in(http, API_TOKEN)
        assert answer.status_code == 303
        assert "secure" in _set_cookie(answer, SESSION_COOKIE).lower().split("; ")


async def test_wrong_token_or_missing_csrf_gets_no_session(api_app: FastAPI) -> None:
    async with make_client(api_app, token=None) as http:
        wrong = await sign_in(http, API_TOKEN + "x")
        assert wrong.status_code == 401
        assert "not valid" in wrong.text and API_TOKEN not in wrong.text
        assert session_cookie(http) is None
        forged = await http.post("/dashboard/sign-in", data={"token": API_TOKEN}, headers=HTML)
        assert forged.status_code == 403
        assert session_cookie(http) is None
        other_nonce = await http.post(
            "/dashboard/sign-in",
            data={CSRF_FIELD: "0" * 64, "token": API_TOKEN},
            headers=HTML,
        )
        assert other_nonce.status_code == 403
        assert session_cookie(http) is None


async def test_next_never_leaves_the_dashboard(api_app: FastAPI) -> None:
    async with make_client(api_app, token=None) as http:
        for target, expected in [
            ("//evil.example/x", "/dashboard"),
            ("https://evil.example", "/dashboard"),
            ("/dashboard/channels", "/dashboard/channels"),
        ]:
            page = await http.get("/dashboard/sign-in", headers=HTML)
            answer = await http.post(
                "/dashboard/sign-in",
                data={CSRF_FIELD: form_csrf(page.text), "token": API_TOKEN, "next": target},
                headers=HTML,
            )
            assert answer.headers["location"] == expected


async def test_pages_send_browsers_to_sign_in_and_others_get_401(api_app: FastAPI) -> None:
    async with make_client(api_app, token=None) as http:
        browser = await http.get("/dashboard/channels", headers=HTML)
        assert browser.status_code == 303
        assert browser.headers["location"] == "/dashboard/sign-in?next=/dashboard/channels"
        script = await http.get("/dashboard/channels")
        assert_error(script, 401, "UNAUTHORIZED")
        http.cookies.set(SESSION_COOKIE, "gAAAAAforged-or-garbled")
        assert (await http.get("/dashboard", headers=HTML)).status_code == 303
        assert (await http.get("/api/v1/channels")).status_code == 401


def test_sessions_expire_and_die_with_the_api_token() -> None:
    from app.dashboard.session import issue_session

    settings = app_settings()
    cookie, session = issue_session(settings, reviewer=None)
    now = int(time.time())
    assert read_session(settings, cookie, now=now + SESSION_TTL_S - 60) == session
    assert read_session(settings, cookie, now=now + SESSION_TTL_S + 60) is None
    assert read_session(app_settings(api_token="another-token-0123456789"), cookie) is None
    assert read_session(app_settings(api_token=None), cookie) is None


async def test_cookie_reaches_the_api_and_unsafe_calls_need_csrf(
    api_app: FastAPI, app_db: AsyncEngine
) -> None:
    missing = f"/api/v1/tasks/{uuid.uuid4()}/approve"
    async with make_client(api_app, token=None) as http:
        assert (await sign_in(http, API_TOKEN)).status_code == 303
        csrf = page_csrf((await http.get("/dashboard", headers=HTML)).text)
        assert (await http.get("/api/v1/channels")).status_code == 200
        error = assert_error(await http.post(missing, json={}), 403, "CSRF_FAILED")
        assert "CSRF" in error["message"]
        assert_error(
            await http.post(missing, json={}, headers={CSRF_HEADER: "nope"}), 403, "CSRF_FAILED"
        )
        # with the token the request is authenticated (and then finds no such task)
        assert_error(
            await http.post(missing, json={}, headers={CSRF_HEADER: csrf}), 404, "TASK_NOT_FOUND"
        )
        # a wrong bearer header is refused even next to a valid cookie
        wrong = await http.get("/api/v1/channels", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    async with make_client(api_app) as bearer:  # API clients need no CSRF token
        assert_error(await bearer.post(missing, json={}), 404, "TASK_NOT_FOUND")


async def test_sign_out_needs_csrf_and_clears_the_cookie(
    api_app: FastAPI, app_db: AsyncEngine
) -> None:
    async with make_client(api_app, token=None) as http:
        assert (await sign_in(http, API_TOKEN)).status_code == 303
        csrf = page_csrf((await http.get("/dashboard", headers=HTML)).text)
        refused = await http.post("/dashboard/sign-out", data={}, headers=HTML)
        assert_error(refused, 403, "CSRF_FAILED")
        assert session_cookie(http) is not None
        out = await http.post("/dashboard/sign-out", data={CSRF_FIELD: csrf}, headers=HTML)
        assert out.status_code == 303 and out.headers["location"] == "/dashboard/sign-in"
        assert "max-age=0" in _set_cookie(out, SESSION_COOKIE).lower()
        assert session_cookie(http) is None
        assert (await http.get("/dashboard", headers=HTML)).status_code == 303


async def test_unconfigured_token_shows_how_to_fix_it(app_db: AsyncEngine) -> None:
    app = create_app(app_settings(api_token=None))
    async with make_client(app, token=None) as http:
        page = await http.get("/dashboard/sign-in", headers=HTML)
        assert "API_TOKEN is not configured" in page.text
        assert (await http.get("/dashboard", headers=HTML)).status_code == 303
        assert_error(await http.get("/dashboard"), 401, "AUTH_NOT_CONFIGURED")


async def test_static_files_are_a_fixed_list(anon_client: httpx.AsyncClient) -> None:
    css = await anon_client.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "http" not in (await anon_client.get("/dashboard/static/dashboard.js")).text.lower()
    for bad in ["../config.py", "..%2Fconfig.py", "other.js"]:
        assert (await anon_client.get(f"/dashboard/static/{bad}")).status_code == 404


async def test_cookie_is_secure_behind_a_tls_proxy(app_db: AsyncEngine) -> None:
    """The app sees plain HTTP from the proxy; the public https address still makes it Secure."""
    app = create_app(app_settings(public_base_url="https://vidgen.example"))
    async with make_client(app, token=None) as http:
        page = await http.get("/dashboard/sign-in", headers=HTML)
        nonce_cookie = _set_cookie(page, SIGNIN_COOKIE)
        assert "secure" in nonce_cookie.lower().split("; ")
        # the browser (on https) sends it back; this plain-http client must be told to
        http.cookies.set(SIGNIN_COOKIE, nonce_cookie.split(";")[0].split("=", 1)[1])
        answer = await http.post(
            "/dashboard/sign-in",
            data={CSRF_FIELD: form_csrf(page.text), "token": API_TOKEN},
            headers=HTML,
        )
        assert answer.status_code == 303
        assert "secure" in _set_cookie(answer, SESSION_COOKIE).lower().split("; ")
