"""Authentication over real HTTP, for every API route and method, with hostile Authorization headers.

``tests/routes/test_auth.py`` walks the route table in-process with the common wrong headers;
this adds what only a real server sees (raw header bytes, huge tokens, header injection) and
pins the exceptions: the only operations the schema documents without the bearer token are the
probes and the signed Notion webhook.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import requests
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.fuzz.conftest import API_TOKEN, AUTH, LiveApp

DOCUMENTED_OPEN = {("GET", "/health"), ("GET", "/ready"), ("POST", "/webhook/notion")}
API_PREFIXES = ("/api/", "/metrics")
BAD_AUTH: list[dict[str, str]] = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "bearer wrong"},
    {"Authorization": f"Bearer {API_TOKEN} {API_TOKEN}"},
    {"Authorization": f"Bearer {API_TOKEN.upper()}"},
    {"Authorization": f"Token {API_TOKEN}"},
    {"Authorization": "Bearer \xff\xfe\xe9t\xe9"},  # latin-1 bytes on the wire
    {"Authorization": "Bearer " + "A" * 8000},
    {"Authorization": "Bearer null"},
    {"Authorization": "Bearer undefined"},
    {"X-Api-Token": API_TOKEN, "X-Authorization": f"Bearer {API_TOKEN}"},
    {"Cookie": f"session={API_TOKEN}; vidgen_session=forged; token={API_TOKEN}"},
]
_SETTINGS = Settings(api_token=SecretStr(API_TOKEN), environment="test")
_PARAM = re.compile(r"\{[^}]+\}")
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def api_requests() -> list[tuple[str, str]]:
    """(method, concrete path) for every route the app serves under /api/ and /metrics."""
    found = []
    for route in iter_route_contexts(create_app(_SETTINGS).routes):
        if route.path is None or not route.path.startswith(API_PREFIXES):
            continue
        path = _PARAM.sub(lambda _m: str(uuid.uuid4()), route.path)
        found.extend((method, path) for method in sorted(route.methods or ()))
    return found


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_only_probes_and_the_signed_webhook_are_open(live_app: LiveApp) -> None:
    spec = requests.get(f"{live_app.base_url}/openapi.json", timeout=30).json()
    open_ops = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if not op.get("security")
    }
    assert open_ops == DOCUMENTED_OPEN
    # Every API route is in the schema (a hidden one could not be audited from it) except
    # HEAD, which shares its GET's handler.
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    for route in iter_route_contexts(create_app(_SETTINGS).routes):
        if route.path and route.path.startswith(API_PREFIXES):
            for method in (route.methods or set()) - {"HEAD"}:
                path = _CONVERTER.sub(r"{\1}", route.path)  # {name:path} is {name} in OpenAPI
                assert (method, path) in documented, (method, route.path)


@pytest.mark.parametrize(("method", "path"), api_requests())
def test_route_refuses_every_bad_credential(
    live_app: LiveApp, http: requests.Session, method: str, path: str
) -> None:
    failures = []
    for headers in BAD_AUTH:
        response = http.request(
            method, live_app.base_url + path, headers=headers, json={}, timeout=30
        )
        ok = response.status_code == 401 and response.headers.get("www-authenticate") == "Bearer"
        if method != "HEAD":
            body = response.json()
            ok = ok and body["success"] is False and body["error"]["code"] == "UNAUTHORIZED"
            ok = ok and API_TOKEN not in response.text
        if not ok:
            failures.append(f"{headers!r:.80}: {response.status_code} {response.text[:120]}")
    assert failures == []
    # Positive control: the real token gets past authentication on the same request.
    response = http.request(method, live_app.base_url + path, headers=AUTH, json={}, timeout=30)
    assert response.status_code != 401, response.text


def test_control_characters_in_the_header_are_refused_by_the_server(live_app: LiveApp) -> None:
    """h11 rejects a control character in a header value before the app runs (plain-text 400,
    the one refusal not in the envelope, since no application code sees the request)."""
    for value in (f"Bearer {API_TOKEN}\x7f", f"Bearer {API_TOKEN}\x01"):
        response = requests.get(
            f"{live_app.base_url}/api/v1/channels", headers={"Authorization": value}, timeout=30
        )
        assert response.status_code == 400, response.text
        assert '"success":true' not in response.text


def test_the_bearer_token_does_not_open_the_webhook(live_app: LiveApp) -> None:
    """The webhook trusts Notion's signature only; the API token is no substitute for it."""
    event = {"id": str(uuid.uuid4()), "type": "page.properties_updated", "entity": {"id": "x"}}
    response = requests.post(
        f"{live_app.base_url}/webhook/notion", json=event, headers=AUTH, timeout=30
    )
    assert response.status_code in {401, 503}, response.text
    assert response.json()["success"] is False
