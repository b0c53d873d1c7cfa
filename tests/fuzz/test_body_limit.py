"""Oversized request bodies get 413 in the envelope before the server reads them.

Raw sockets prove the "before": a huge declared Content-Length is answered with no body sent at
all, and an endless chunked body is answered while its sender is still sending.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.fuzz.conftest import AUTH, LiveApp

CHUNK = 64 * 1024


@contextmanager
def raw_connection(live_app: LiveApp) -> Iterator[socket.socket]:
    url = urlsplit(live_app.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        yield sock


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def assert_413(status: int, body: dict[str, Any], limit: int) -> None:
    assert status == 413, body
    assert body["success"] is False
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert str(limit) in body["error"]["message"]
    assert body["error"]["details"] == {"max_bytes": limit}


def test_declared_length_over_the_limit_is_refused_before_any_body(live_app: LiveApp) -> None:
    limit = live_app.settings.max_request_body_bytes
    headers = {**AUTH, "Content-Type": "application/json", "Content-Length": str(10 * 1024**3)}
    with raw_connection(live_app) as sock:
        sock.sendall(request_head("POST", "/api/v1/tasks", headers))  # and not one body byte
        assert_413(*read_response(sock), limit)


def test_endless_chunked_body_is_refused_while_still_arriving(live_app: LiveApp) -> None:
    limit = live_app.settings.max_request_body_bytes
    headers = {**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    with raw_connection(live_app) as sock:
        sock.sendall(request_head("POST", "/api/v1/tasks", headers))
        sent = 0
        while sent <= limit + CHUNK:  # past the limit; the terminating 0-chunk never comes
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed while we were still sending: read it
            sent += CHUNK
        assert_413(*read_response(sock), limit)


def test_webhook_has_a_smaller_limit(live_app: LiveApp) -> None:
    limit = live_app.settings.max_webhook_body_bytes
    assert limit < live_app.settings.max_request_body_bytes
    body = b"{" + b" " * limit + b"}"
    response = requests.post(f"{live_app.base_url}/webhook/notion", data=body, timeout=30)
    assert_413(response.status_code, response.json(), limit)
    # The same size is fine on the API (it reaches validation, which names the real problem).
    response = requests.post(
        f"{live_app.base_url}/api/v1/tasks",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_oversized_body_is_refused_even_without_a_token(live_app: LiveApp) -> None:
    limit = live_app.settings.max_request_body_bytes
    body = b"x" * (limit + 1)
    response = requests.post(f"{live_app.base_url}/api/v1/tasks", data=body, timeout=30)
    assert_413(response.status_code, response.json(), limit)


def test_a_body_under_the_limit_still_works(live_app: LiveApp) -> None:
    """A chunked body under the limit passes through intact (the counting wrapper is invisible)."""
    task = {"channel_slug": "demo", "title": "Fits", "topic": "t" * 4000, "queue": False}
    encoded = json.dumps(task).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(encoded), 1000):
            yield encoded[start : start + 1000]

    response = requests.post(
        f"{live_app.base_url}/api/v1/tasks",
        data=pieces(),  # a generator: requests sends it chunked
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["topic"] == "t" * 4000
