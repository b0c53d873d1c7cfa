"""The S3 backend against a real S3-protocol server on loopback (moto in server mode)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.artifacts.configured import get_artifact_store
from app.artifacts.s3_store import S3ArtifactStore
from app.artifacts.store import ArtifactMissingError, ArtifactStoreError, LocalArtifactStore
from app.core.config import Settings
from tests.services.s3_support import (
    SECRET_ACCESS_KEY,
    enforce_auth,
    make_store,
    moto_server,
    new_bucket_name,
)

MiB = 1024 * 1024
KEY = "channels/c1/projects/t1/videos/scene-01.mp4"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def store(endpoint: str, tmp_path: Path) -> S3ArtifactStore:
    return make_store(endpoint, new_bucket_name(), tmp_path / "cache-a")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_then_fetch_on_another_worker_round_trips_the_bytes(
    store: S3ArtifactStore, endpoint: str, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    _write(store.local_path(KEY), data)
    stat = store.put(KEY)
    assert stat.size == len(data) and stat.sha256 is not None
    head = store.client.head_object(Bucket=store.bucket, Key=KEY)
    assert head["ContentType"] == "video/mp4"

    other = make_store(endpoint, store.bucket, tmp_path / "cache-b", create=False)
    assert not other.local_path(KEY).exists()
    fetched = other.fetch(KEY)
    assert fetched == tmp_path / "cache-b" / KEY
    assert fetched.read_bytes() == data
    assert other.exists(KEY) and list(other.list_keys("channels/c1/")) == [KEY]


def test_fetch_replaces_a_stale_cached_copy_after_a_redo(
    store: S3ArtifactStore, endpoint: str, tmp_path: Path
) -> None:
    other = make_store(endpoint, store.bucket, tmp_path / "cache-b", create=False)
    _write(store.local_path(KEY), b"first take" * 1000)
    store.put(KEY)
    assert other.fetch(KEY).read_bytes() == b"first take" * 1000
    # a redo on the first worker rewrites the key with the same size
    _write(store.local_path(KEY), b"other take" * 1000)
    store.put(KEY)
    assert other.fetch(KEY).read_bytes() == b"other take" * 1000


def test_large_file_goes_up_in_parts_and_is_verified(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, new_bucket_name(), tmp_path / "c", multipart_threshold=5 * MiB)
    data = os.urandom(11 * MiB)
    _write(store.local_path(KEY), data)
    stat = store.put(KEY)
    assert stat.size == len(data)
    # S3 marks a multipart object's ETag with its part count: 5 + 5 + 1 MiB
    etag = store.client.head_object(Bucket=store.bucket, Key=KEY)["ETag"].strip('"')
    assert etag.endswith("-3"), etag
    store.local_path(KEY).unlink()
    assert store.fetch(KEY).read_bytes() == data


def test_small_file_is_one_request(store: S3ArtifactStore) -> None:
    _write(store.local_path(KEY), b"x" * 1000)
    store.put(KEY)
    etag = store.client.head_object(Bucket=store.bucket, Key=KEY)["ETag"].strip('"')
    assert "-" not in etag


def test_missing_object_is_artifact_missing_everywhere(store: S3ArtifactStore) -> None:
    with pytest.raises(ArtifactMissingError, match="no such object"):
        store.stat("channels/c1/nothing.png")
    with pytest.raises(ArtifactMissingError):
        store.fetch("channels/c1/nothing.png")
    with pytest.raises(ArtifactMissingError):
        next(store.iter_range("channels/c1/nothing.png", 0, 10))
    assert not store.exists("channels/c1/nothing.png")
    assert not store.local_path("channels/c1/nothing.png").exists()


def test_unsafe_keys_never_reach_the_cache_or_the_bucket(store: S3ArtifactStore) -> None:
    for key in ("../escape.png", "channels/../../etc/passwd", "/abs/key.png", "a//b.png"):
        with pytest.raises(ArtifactMissingError, match="not an artifact key"):
            store.local_path(key)
        with pytest.raises(ArtifactMissingError):
            store.fetch(key)


def test_range_reads_return_exactly_the_asked_bytes(store: S3ArtifactStore) -> None:
    data = bytes(range(256)) * 4000  # 1,024,000 bytes: several stream chunks
    _write(store.local_path(KEY), data)
    store.put(KEY)
    assert b"".join(store.iter_range(KEY, 0, len(data))) == data
    assert b"".join(store.iter_range(KEY, 1000, 300_000)) == data[1000:301_000]
    assert b"".join(store.iter_range(KEY, len(data) - 7, 7)) == data[-7:]
    assert b"".join(store.iter_range(KEY, 5, 0)) == b""


def test_delete_removes_the_object_and_the_cached_copy(store: S3ArtifactStore) -> None:
    _write(store.local_path(KEY), b"bye")
    store.put(KEY)
    store.delete(KEY)
    assert not store.exists(KEY)
    assert not store.local_path(KEY).exists()
    store.delete(KEY)  # absent is fine


def test_check_read_write_passes_and_leaves_nothing_behind(store: S3ArtifactStore) -> None:
    store.check_read_write()
    assert list(store.list_keys("_vidgen_check/")) == []


def test_check_names_a_missing_bucket(endpoint: str, tmp_path: Path) -> None:
    store = make_store(endpoint, "no-such-bucket-here", tmp_path / "c", create=False)
    with pytest.raises(ArtifactStoreError) as caught:
        store.check_read_write()
    assert str(caught.value).startswith(f"bucket no-such-bucket-here does not exist at {endpoint}")


def test_wrong_credentials_give_a_clear_error_without_the_secret(tmp_path: Path) -> None:
    with moto_server() as url:
        store = make_store(url, new_bucket_name(), tmp_path / "c")
        _write(store.local_path(KEY), b"data")
        with enforce_auth(url):  # the keys we use were never issued by this server
            with pytest.raises(ArtifactStoreError) as caught:
                store.check_read_write()
            with pytest.raises(ArtifactStoreError, match="S3_ACCESS_KEY_ID") as upload:
                store.put(KEY)
        message = str(caught.value)
        assert message == (
            f"S3 credentials rejected by {url}: check S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY"
        )
        assert SECRET_ACCESS_KEY not in message + str(upload.value)
        store.check_read_write()  # the same keys work once the server stops checking


def test_unreachable_endpoint_names_the_setting(tmp_path: Path) -> None:
    store = make_store("http://127.0.0.1:9", "vidgen-nowhere", tmp_path / "c", create=False)
    with pytest.raises(ArtifactStoreError, match=r"cannot reach S3 endpoint .* S3_ENDPOINT_URL"):
        store.check_read_write()


def test_settings_pick_the_backend_and_name_missing_variables(tmp_path: Path) -> None:
    local = get_artifact_store(Settings(workspace_root=tmp_path))
    assert isinstance(local, LocalArtifactStore) and local.is_shared_disk
    with pytest.raises(ValidationError) as caught:
        Settings(artifact_store="s3", s3_bucket="b", workspace_root=tmp_path)
    assert "ARTIFACT_STORE=s3 needs S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY" in str(caught.value)
    remote = get_artifact_store(
        Settings(
            artifact_store="s3",
            s3_endpoint_url="http://127.0.0.1:9",
            s3_bucket="vidgen-b",
            s3_access_key_id="id",
            s3_secret_access_key="secret-value",
            workspace_root=tmp_path,
        )
    )
    assert isinstance(remote, S3ArtifactStore) and not remote.is_shared_disk
    assert remote.cache_dir == (tmp_path / "cache").resolve()
    assert "secret-value" not in remote.description
