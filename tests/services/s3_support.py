"""A real S3-protocol server on loopback (moto's server mode) and stores pointed at it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from moto.server import ThreadedMotoServer

from app.artifacts.s3_store import S3ArtifactStore

ACCESS_KEY_ID = "AKIATESTVIDGEN000001"
SECRET_ACCESS_KEY = "test-secret-" + "x" * 28


@contextmanager
def moto_server() -> Iterator[str]:
    """Yields the endpoint URL of a fresh, empty S3 server on 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def enforce_auth(endpoint: str) -> Iterator[None]:
    """Inside, the server checks signatures: only keys created through its IAM are valid. The
    switch is moto's process-wide setting (every in-process server), so it is always undone."""
    reset = f"{endpoint}/moto-api/reset-auth"
    previous = httpx.post(reset, content=b"0").json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    try:
        yield
    finally:
        httpx.post(reset, content=str(previous).encode()).raise_for_status()


def new_bucket_name() -> str:
    return f"vidgen-test-{secrets.token_hex(4)}"


def make_store(
    endpoint: str,
    bucket: str,
    cache_dir: Path,
    *,
    create: bool = True,
    access_key_id: str = ACCESS_KEY_ID,
    secret_access_key: str = SECRET_ACCESS_KEY,
    multipart_threshold: int = 16 * 1024 * 1024,
) -> S3ArtifactStore:
    store = S3ArtifactStore(
        bucket=bucket,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        cache_dir=cache_dir,
        endpoint_url=endpoint,
        region="us-east-1",
        multipart_threshold=multipart_threshold,
    )
    if create:
        store.client.create_bucket(Bucket=bucket)
    return store
