"""The S3 backend of the artifact store: any S3-compatible bucket (Cloudflare R2, AWS S3, MinIO).

On Railway each service has its own disk, so a task that moves from worker-1 to worker-3 after a
crash finds its inputs in the bucket, not on a shared volume. Each process keeps a local cache
(``ARTIFACT_CACHE_DIR``): ``fetch`` downloads only what an item needs, and reuses the cached copy
when its size and SHA-256 still match the object (a redo that rewrote the key is re-fetched).

Integrity: ``put`` records the file's SHA-256 in the object's metadata; boto3 sends a CRC32 of
every request body (each part of a multipart upload) which the server checks; then a HEAD must
show the exact size and SHA-256 before the caller may record the step done. Downloads are
checked against the same SHA-256.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.artifacts.store import (
    CHECK_PREFIX,
    CHUNK_BYTES,
    ArtifactMissingError,
    ArtifactStat,
    ArtifactStoreError,
    check_key,
    file_sha256,
    found,
)
from app.core.filesystem import safe_join
from app.core.logging import register_secret

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

    from app.core.config import Settings

SHA_META = "sha256"
_AUTH_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthFailure"}
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_FETCH_ATTEMPTS = 3


class S3ArtifactStore:
    """Objects in one bucket, keyed like the workspace; a local cache for the scripts' files."""

    is_shared_disk = False

    def __init__(
        self,
        *,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        cache_dir: Path,
        endpoint_url: str | None = None,
        region: str = "auto",
        multipart_threshold: int = 16 * 1024 * 1024,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint_url or "https://s3.amazonaws.com"
        self.cache_dir = cache_dir.resolve()
        register_secret(secret_access_key)
        if region == "auto" and endpoint_url is None:
            region = "us-east-1"  # AWS itself has no "auto" region (R2 does)
        self.client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_threshold,
            max_concurrency=4,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ArtifactStore:
        secret = settings.s3_secret_access_key
        return _cached_store(
            bucket=str(settings.s3_bucket),
            access_key_id=str(settings.s3_access_key_id),
            secret_access_key=secret.get_secret_value() if secret else "",
            cache_dir=settings.cache_dir,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            multipart_threshold=settings.s3_multipart_threshold_bytes,
        )

    @property
    def description(self) -> str:
        return f"s3 bucket {self.bucket} at {self.endpoint} (cache {self.cache_dir})"

    # -- errors ---------------------------------------------------------------------------------

    def _explain(self, exc: Exception, action: str) -> ArtifactStoreError:
        """What went wrong and which setting to fix; never the secret, never a raw traceback."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in _AUTH_CODES:
                return ArtifactStoreError(
                    f"S3 credentials rejected by {self.endpoint}: "
                    "check S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY"
                )
            if code == "NoSuchBucket":
                return ArtifactStoreError(
                    f"bucket {self.bucket} does not exist at {self.endpoint}: "
                    "create it or fix S3_BUCKET/S3_ENDPOINT_URL"
                )
            if code in ("AccessDenied", "403", "Forbidden"):
                return ArtifactStoreError(
                    f"S3 access denied by {self.endpoint} while {action} in bucket {self.bucket}: "
                    "check S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY and that the key may read, "
                    "write and delete objects in the bucket"
                )
            message = str(error.get("Message", ""))[:200]
            return ArtifactStoreError(f"S3 {action} failed at {self.endpoint}: {code} {message}")
        if isinstance(exc, BotoCoreError):
            return ArtifactStoreError(
                f"cannot reach S3 endpoint {self.endpoint} while {action}: "
                f"check S3_ENDPOINT_URL ({type(exc).__name__})"
            )
        return ArtifactStoreError(f"S3 {action} failed at {self.endpoint}: {exc}")

    def _call(self, key: str, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, mapping a missing object to ``ArtifactMissingError`` and any
        other failure to ``ArtifactStoreError``."""
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _MISSING_CODES:
                raise ArtifactMissingError(key, f"no such object in bucket {self.bucket}") from None
            raise self._explain(exc, action) from None
        except BotoCoreError as exc:
            raise self._explain(exc, action) from None
        except S3UploadFailedError as exc:  # upload_file wraps the ClientError it met
            cause = exc.__context__
            raise self._explain(cause if isinstance(cause, Exception) else exc, action) from None

    # -- the interface ---------------------------------------------------------------------------

    def local_path(self, key: str) -> Path:
        check_key(key)
        return safe_join(self.cache_dir, *key.split("/"))

    def stat(self, key: str) -> ArtifactStat:
        head = self._call(
            key, f"reading {key}", self.client.head_object, Bucket=self.bucket, Key=check_key(key)
        )
        return ArtifactStat(
            size=int(head["ContentLength"]),
            modified_ns=int(head["LastModified"].timestamp() * 1_000_000_000),
            sha256=head.get("Metadata", {}).get(SHA_META),
        )

    def exists(self, key: str) -> bool:
        return found(self.stat, key)

    def _is_current(self, path: Path, stat: ArtifactStat) -> bool:
        if not path.is_file() or path.stat().st_size != stat.size:
            return False
        return stat.sha256 is not None and file_sha256(path) == stat.sha256

    def fetch(self, key: str) -> Path:
        path = self.local_path(key)
        for _ in range(_FETCH_ATTEMPTS):
            stat = self.stat(key)
            if self._is_current(path, stat):
                os.utime(path)  # the cache trim evicts the least recently used first
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}-{os.urandom(3).hex()}.part")
            try:
                self._call(
                    key,
                    f"downloading {key}",
                    self.client.download_file,
                    self.bucket,
                    key,
                    str(partial),
                    Config=self.transfer,
                )
                size_ok = partial.stat().st_size == stat.size
                if size_ok and (stat.sha256 is None or file_sha256(partial) == stat.sha256):
                    os.replace(partial, path)
                    return path
            finally:
                partial.unlink(missing_ok=True)
            # rewritten while we read it (a redo): look again
        raise ArtifactStoreError(
            f"download of {key} from bucket {self.bucket} never matched its recorded size and "
            f"SHA-256 after {_FETCH_ATTEMPTS} attempts"
        )

    def put(self, key: str, source: Path | None = None) -> ArtifactStat:
        path = source or self.local_path(key)
        check_key(key)
        if not path.is_file():
            raise ArtifactStoreError(f"cannot upload {key}: {path} does not exist")
        size, digest = path.stat().st_size, file_sha256(path)
        from app.artifacts.store import describe_type

        extra = {"Metadata": {SHA_META: digest}, "ContentType": describe_type(key)[1]}
        self._call(
            key,
            f"uploading {key}",
            self.client.upload_file,
            str(path),
            self.bucket,
            key,
            ExtraArgs=extra,
            Config=self.transfer,
        )
        try:
            stat = self.stat(key)
        except ArtifactMissingError:
            raise ArtifactStoreError(
                f"upload of {key} reported success but no object is there"
            ) from None
        if stat.size != size or stat.sha256 != digest:
            raise ArtifactStoreError(
                f"upload of {key} did not verify: bucket has {stat.size} bytes "
                f"(sha256 {stat.sha256}), the file has {size} bytes (sha256 {digest})"
            )
        return stat

    def iter_range(self, key: str, start: int, length: int) -> Generator[bytes, None, None]:
        if length <= 0:
            return
        response = self._call(
            key,
            f"reading {key}",
            self.client.get_object,
            Bucket=self.bucket,
            Key=check_key(key),
            Range=f"bytes={start}-{start + length - 1}",
        )
        body = response["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._call(
            key,
            f"deleting {key}",
            self.client.delete_object,
            Bucket=self.bucket,
            Key=check_key(key),
        )
        self.local_path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        try:
            for page in pages:
                for entry in page.get("Contents", []):
                    yield entry["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, f"listing {prefix}") from None

    def check_read_write(self) -> None:
        key = f"{CHECK_PREFIX}{os.getpid()}-{os.urandom(4).hex()}.txt"
        payload = b"vidgen artifact store check\n"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=payload)
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, "checking read/write") from None
        if body != payload:
            raise ArtifactStoreError(
                f"bucket {self.bucket} at {self.endpoint} returned other bytes than were written"
            )


@lru_cache(maxsize=8)
def _cached_store(**kwargs: Any) -> S3ArtifactStore:
    """One client per configuration per process (a client is thread-safe and slow to build)."""
    return S3ArtifactStore(**kwargs)
