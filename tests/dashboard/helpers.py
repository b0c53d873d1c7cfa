"""Signing in to the dashboard the way a browser does: read the form, post it back."""

from __future__ import annotations

import re

import httpx

from app.dashboard.session import CSRF_FIELD, SESSION_COOKIE

HTML = {"Accept": "text/html"}
_HIDDEN = re.compile(rf'name="{CSRF_FIELD}" value="([^"]*)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def form_csrf(html: str) -> str:
    """The CSRF value of the first form on a page."""
    found = _HIDDEN.search(html)
    assert found, html[:2000]
    return found.group(1)


def page_csrf(html: str) -> str:
    found = _META.search(html)
    assert found and found.group(1), html[:2000]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, token: str, reviewer: str = "") -> httpx.Response:
    """Sign in; returns the POST's answer (303 to the board on success)."""
    page = await http.get("/dashboard/sign-in", headers=HTML)
    assert page.status_code == 200, page.text
    return await http.post(
        "/dashboard/sign-in",
        data={CSRF_FIELD: form_csrf(page.text), "token": token, "reviewer": reviewer},
        headers=HTML,
    )


def session_cookie(http: httpx.AsyncClient) -> str | None:
    return http.cookies.get(SESSION_COOKIE)
