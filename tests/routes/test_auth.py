"""Every route but the probes and docs needs the bearer token: walked from the app's route table."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from tests.routes.conftest import API_TOKEN, app_settings, assert_error, make_client

OPEN_PATHS = frozenset(
    {"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/webhook/notion"}
    # the dashboard's way in (redirect, sign-in form, its CSS/JS): tests/dashboard checks them
    | {"/", "/dashboard/sign-in", "/dashboard/static/{asset}"}
)
BAD_HEADERS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {API_TOKEN}x"},
    {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
    {"Authorization": f"Basic {API_TOKEN}"},
    {"Authorization": API_TOKEN},
]
_PARAM = re.compile(r"\{[^}]+\}")


def protected_requests(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) for every route that must refuse anonymous requests.

    ``iter_route_contexts`` flattens included routers into the paths the app really serves.
    """
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        if route.path is None or not route.methods:
            kind = type(route.original_route).__name__
            raise AssertionError(f"route type {kind} has no path/methods: extend this test")
        if route.path in OPEN_PATHS:
            continue
        path = _PARAM.sub(lambda _m: str(uuid.uuid4()), route.path)
        for method in sorted(route.methods):
            if method != "HEAD":
                found.append((method, path))
    return found


async def _send(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return await http.request(method, path, json=body, headers=headers)


async def unprotected_routes(app: FastAPI) -> list[str]:
    """Requests that, without a valid token, did not get a 401 envelope asking for Bearer."""
    failures: list[str] = []
    async with make_client(app, token=None) as http:
        for method, path in protected_requests(app):
            for headers in BAD_HEADERS:
                response = await _send(http, method, path, headers)
                body = response.json() if "json" in response.headers.get("content-type", "") else {}
                if (
                    response.status_code != 401
                    or body.get("success") is not False
                    or body.get("error", {}).get("code") != "UNAUTHORIZED"
                    or response.headers.get("www-authenticate") != "Bearer"
                    or API_TOKEN in response.text
                ):
                    failures.append(f"{method} {path} with {headers}: {response.status_code}")
    return failures


def test_route_table_has_the_api_routes(api_app: FastAPI) -> None:
    """Guard against the walk passing vacuously (routes the walk fails to see)."""
    requests = protected_requests(api_app)
    assert ("POST", "/api/v1/tasks") in requests
    assert ("GET", "/api/v1/tasks") in requests
    assert ("GET", "/api/v1/channels") in requests
    assert ("GET", "/metrics") in requests  # outside /api/v1, protected all the same
    assert ("GET", "/dashboard") in requests  # dashboard pages answer non-browsers with a 401
    assert all(
        path.startswith(("/api/v1/", "/dashboard")) or path == "/metrics" for _, path in requests
    )


async def test_every_route_refuses_missing_and_wrong_tokens(
    api_app: FastAPI, app_db: AsyncEngine
) -> None:
    assert await unprotected_routes(api_app) == []
    # Positive control: the same requests with the token get past authentication.
    async with make_client(api_app, token=None) as http:
        for method, path in protected_requests(api_app):
            response = await _send(http, method, path, {"Authorization": f"Bearer {API_TOKEN}"})
            assert response.status_code != 401, (method, path, response.text)


async def test_walk_catches_a_route_added_without_auth(api_app: FastAPI) -> None:
    @api_app.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"open": "yes"}

    failures = await unprotected_routes(api_app)
    assert failures and all(f.startswith("GET /api/v1/forgotten") for f in failures)


async def test_unconfigured_token_refuses_everything_but_probes(app_db: AsyncEngine) -> None:
    app = create_app(app_settings(api_token=None))
    async with make_client(app, token="anything-at-all") as http:
        for method, path in protected_requests(app):
            response = await _send(http, method, path, {})
            error = assert_error(response, 401, "AUTH_NOT_CONFIGURED")
            assert "API_TOKEN is not configured" in error["message"]
            assert response.headers["www-authenticate"] == "Bearer"
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/ready")).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/docs", "/openapi.json"])
async def test_probes_and_docs_need_no_token(anon_client: httpx.AsyncClient, path: str) -> None:
    response = await anon_client.get(path)
    assert response.status_code == 200, response.text


async def test_openapi_documents_bearer_auth(anon_client: httpx.AsyncClient) -> None:
    spec = (await anon_client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/tasks"]["post"]
    assert create["security"] == [{"HTTPBearer": []}]
    assert {"401", "422", "404", "409"} <= set(create["responses"])
    assert "security" not in spec["paths"]["/health"]["get"]
