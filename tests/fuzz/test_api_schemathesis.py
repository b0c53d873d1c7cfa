"""Schemathesis over the app's own OpenAPI schema, authenticated, against the real app on loopback.

Every operation gets valid and invalid requests (positive and negative generation). Two checks:
no response is a server error, and every error response is the envelope
``{"success": false, "error": {"code", "message", "details"}}``. Bounded and derandomized so CI
sees the same cases on every run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis import Case, CheckContext, GenerationMode, HookContext
from schemathesis.core.transport import Response

from app.core.config import Settings
from app.main import create_app
from tests.fuzz.conftest import API_TOKEN, AUTH, LiveApp

MAX_EXAMPLES = 20

_spec: dict[str, Any] = create_app(
    Settings(api_token=SecretStr(API_TOKEN), environment="test")
).openapi()
schema = schemathesis.openapi.from_dict(_spec)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)
KNOWN_CHANNEL = "demo"  # from channel_configs/, synced into the database at start-up
# Filled by the ``seeded_task`` fixture: generated task ids are mapped onto a real task, so the
# action and detail routes get past the 404 into their state checks.
KNOWN_TASK_IDS: list[str] = []


@schema.hook
def map_body(context: HookContext, body: Any) -> Any:
    """Name a channel that exists (and no plan), so task bodies get past lookup into the insert."""
    if isinstance(body, dict) and isinstance(body.get("channel_slug"), str):
        rest = {k: v for k, v in body.items() if k not in {"channel_id", "plan"}}
        return {**rest, "channel_slug": KNOWN_CHANNEL}
    return body


@schema.hook
def map_path_parameters(
    context: HookContext, path_parameters: dict[str, Any] | None
) -> dict[str, Any] | None:
    task_id = (path_parameters or {}).get("task_id")
    if KNOWN_TASK_IDS and isinstance(task_id, str) and _is_uuid(task_id):
        return {**(path_parameters or {}), "task_id": KNOWN_TASK_IDS[0]}
    return path_parameters


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def error_envelope_problem(status: int, body: bytes, content_type: str) -> str | None:
    """What is wrong with an error response's body, or None when it is the envelope."""
    if status < 400:
        return None
    if "json" not in content_type:
        return f"{status} error is {content_type or 'untyped'}, not the JSON envelope"
    try:
        payload = json.loads(body)
    except ValueError:
        return f"{status} error body is not JSON"
    if not isinstance(payload, dict) or set(payload) != {"success", "error"}:
        return f"{status} error body is not the envelope: {payload!r:.200}"
    error = payload["error"]
    if payload["success"] is not False or not isinstance(error, dict):
        return f"{status} error envelope malformed: {payload!r:.200}"
    if set(error) != {"code", "message", "details"}:
        return f"{status} error object has keys {sorted(error)}"
    if not (isinstance(error["code"], str) and error["code"].isupper() and error["message"]):
        return f"{status} error code/message missing: {error!r:.200}"
    if not isinstance(error["details"], dict):
        return f"{status} error details is not an object"
    return None


@schemathesis.check
def errors_use_the_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    problem = error_envelope_problem(
        response.status_code, response.content, response.headers.get("content-type", [""])[0]
    )
    if problem:
        raise AssertionError(problem)
    return None


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def seeded_task(live_app: LiveApp, http: requests.Session) -> str:
    body = {"channel_slug": KNOWN_CHANNEL, "title": "Fuzz target", "queue": False}
    response = http.post(f"{live_app.base_url}/api/v1/tasks", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 201, response.text
    task_id: str = response.json()["data"]["id"]
    KNOWN_TASK_IDS[:] = [task_id]
    return task_id


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_fuzz(case: Case, live_app: LiveApp, http: requests.Session, seeded_task: str) -> None:
    response = case.call(base_url=live_app.base_url, session=http, headers=AUTH, timeout=30)
    case.validate_response(
        response,
        checks=[schemathesis.checks.not_a_server_error, errors_use_the_envelope],
        headers=AUTH,
    )
