"""Values the fuzzer found (or could find only by luck) that once made the API answer 500.

Each request goes over real HTTP to the real app and must get the named 4xx in the envelope, or
a 200 where the value is legitimate (an end date of 9999-12-31 means "no end").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fuzz.conftest import AUTH, LiveApp
from tests.fuzz.test_api_schemathesis import error_envelope_problem

T = "/api/v1/tasks"
ZERO = "00000000-0000-0000-0000-000000000000"

# (method, path, query, json body, expected status, expected error code or None for success)
CASES: list[tuple[str, str, dict[str, Any] | None, Any, int, str | None]] = [
    ("GET", T, {"channel_id": "de\x00mo"}, None, 400, "INVALID_CHARACTER"),
    ("GET", "/api/v1/channels/de%00mo", None, None, 400, "INVALID_CHARACTER"),
    ("GET", T, {"cursor": "\x00"}, None, 400, "INVALID_CHARACTER"),
    ("GET", "/api/v1/video-costs", {"service": "a\x00b"}, None, 400, "INVALID_CHARACTER"),
    ("GET", "/api/v1/audit-logs", {"actor": "a\x00b"}, None, 400, "INVALID_CHARACTER"),
    ("GET", "/api/v1/reviews", {"channel_id": "\x00"}, None, 400, "INVALID_CHARACTER"),
    ("GET", f"{T}/{ZERO}/artifacts/a%00.png", None, None, 400, "INVALID_CHARACTER"),
    ("POST", T, None, {"channel_slug": "demo", "title": "a\x00b"}, 422, "INVALID_CHARACTER"),
    ("POST", T, None, {"channel_slug": "de\x00mo", "title": "ab"}, 422, "INVALID_CHARACTER"),
    (
        "POST",
        T,
        None,
        {"channel_slug": "demo", "title": "t", "topic": "x\x00"},
        422,
        "INVALID_CHARACTER",
    ),
    ("GET", T, {"date_to": "9999-12-31"}, None, 200, None),
    ("GET", T, {"date_to": "9999-12-31T23:59:59-14:00"}, None, 200, None),
    ("GET", T, {"date_from": "0001-01-01T00:00:00+14:00"}, None, 200, None),
    ("GET", "/api/v1/video-costs", {"date_to": "9999-12-31", "group_by": "day"}, None, 200, None),
    ("GET", "/api/v1/audit-logs", {"date_to": "9999-12-31"}, None, 200, None),
    ("GET", T, {"date_from": "2026-13-45"}, None, 422, "VALIDATION_ERROR"),
    (
        "GET",
        T,
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        None,
        400,
        "INVALID_DATE_RANGE",
    ),
    ("GET", T, {"limit": "9" * 40}, None, 422, "VALIDATION_ERROR"),
    ("GET", T, {"limit": "-1"}, None, 422, "VALIDATION_ERROR"),
    ("GET", T, {"cursor": "eyJ4IjoxfQ"}, None, 400, "INVALID_CURSOR"),
    (
        "POST",
        T,
        None,
        {"channel_slug": "demo", "title": "t", "priority": 10**30},
        422,
        "VALIDATION_ERROR",
    ),
    ("GET", f"{T}/not-a-uuid", None, None, 422, "VALIDATION_ERROR"),
    ("GET", "/api/v1/video-costs", {"task_id": "../../etc/passwd"}, None, 422, "VALIDATION_ERROR"),
]


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "code"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[2] or ''}{c[3] or ''}"[:70] for c in CASES],
)
def test_hostile_value_gets_a_clear_answer(
    live_app: LiveApp,
    http: requests.Session,
    method: str,
    path: str,
    query: dict[str, Any] | None,
    body: Any,
    status: int,
    code: str | None,
) -> None:
    response = http.request(method, live_app.base_url + path, params=query, json=body, timeout=30)
    assert response.status_code == status, response.text
    problem = error_envelope_problem(
        response.status_code, response.content, response.headers.get("content-type", "")
    )
    assert problem is None, problem
    payload = response.json()
    if code is None:
        assert payload["success"] is True
    else:
        assert payload["error"]["code"] == code, payload


def test_unpaired_surrogate_escape_is_a_validation_error(
    live_app: LiveApp, http: requests.Session
) -> None:
    raw = b'{"channel_slug": "demo", "title": "t", "topic": "\\ud800"}'
    response = http.post(
        f"{live_app.base_url}{T}",
        data=raw,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
