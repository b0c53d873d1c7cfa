"""Where artifacts live: one interface, two backends (the workspace disk, or an S3 bucket).

An artifact key is a workspace-relative path (``channels/<c>/projects/<t>/videos/scene-01.mp4``),
also usable as a bucket key. Scripts need local files, so every store also has a local side:
``local_path(key)`` is where this process keeps its copy, ``fetch`` makes that copy current and
``put`` publishes a file written there. With ``LocalArtifactStore`` the local side *is* the store
(every process shares the disk) so both are no-ops; with ``S3ArtifactStore`` (``s3_store``) the
local side is a per-process cache and the bucket is what every worker and the web service share.

Every method blocks (file or network I/O): call them off the event loop (``anyio.to_thread``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol

from app.artifacts.schemas import ArtifactKind
from app.core.filesystem import UnsafePathError, safe_join, workspace_root

if TYPE_CHECKING:
    pass

CHUNK_BYTES = 256 * 1024
CHECK_PREFIX = "_vidgen_check/"


class ArtifactStoreError(Exception):
    """The store cannot be used as configured; the message says what to fix."""


class ArtifactMissingError(Exception):
    """No readable object under this key (never written, deleted, or an unsafe key)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"artifact {key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class ArtifactStat:
    size: int
    modified_ns: int
    sha256: str | None = None

    @property
    def etag(self) -> str:
        """Changes whenever a redo rewrites the key, so cached ranges are never mixed."""
        if self.sha256:
            return f'"{self.sha256[:32]}"'
        return f'"{self.size:x}-{self.modified_ns:x}"'


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """A key is a relative POSIX path of plain names; anything else could escape a root."""
    try:
        safe_join("/", *key.split("/"))
    except UnsafePathError as exc:
        raise ArtifactMissingError(key, f"not an artifact key ({exc.reason})") from None
    return key


def found(lookup: Callable[[str], object], key: str) -> bool:
    """``exists`` of a store: its own cheapest lookup (a file check, a HEAD request) succeeds;
    only a missing key is False, any other failure is raised as the lookup raised it."""
    try:
        lookup(key)
    except ArtifactMissingError:
        return False
    return True


class ArtifactStore(Protocol):
    """Read and write by key; the methods block, so call them off the loop."""

    @property
    def description(self) -> str:
        """Where the artifacts are, for logs and ``vidgen check`` (no secrets)."""
        ...

    @property
    def is_shared_disk(self) -> bool:
        """True when ``local_path`` *is* the store (nothing to fetch or upload)."""
        ...

    def local_path(self, key: str) -> Path:
        """This process's file for ``key`` (may not exist yet); raises ``ArtifactMissingError``
        for a key that is not a plain relative path."""
        ...

    def fetch(self, key: str) -> Path:
        """``local_path(key)``, made current from the store; raises ``ArtifactMissingError``."""
        ...

    def put(self, key: str, source: Path | None = None) -> ArtifactStat:
        """Store ``source`` (default: ``local_path(key)``) under ``key`` and verify it arrived
        whole (size and SHA-256); raises ``ArtifactStoreError`` when it did not."""
        ...

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> ArtifactStat:
        """Size and version of the object; raises ``ArtifactMissingError``."""
        ...

    def iter_range(self, key: str, start: int, length: int) -> Generator[bytes, None, None]:
        """``length`` bytes from ``start`` in chunks; raises ``ArtifactMissingError``."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (absent is fine) from the store and from this process's copy."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (a directory-like prefix ending in ``/``)."""
        ...

    def check_read_write(self) -> None:
        """Write, read back and delete a small object under ``_vidgen_check/``; raises
        ``ArtifactStoreError`` saying what to fix."""
        ...


class LocalArtifactStore:
    """Keys as files under the workspace root (every process shares the disk)."""

    is_shared_disk = True

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = workspace_root(root)

    @property
    def description(self) -> str:
        return f"local workspace {self.root}"

    def path(self, key: str) -> Path:
        """The file of ``key``; raises ``UnsafePathError`` for a key that leaves the root."""
        return safe_join(self.root, *key.split("/"))

    def local_path(self, key: str) -> Path:
        try:
            return self.path(key)
        except UnsafePathError as exc:
            raise ArtifactMissingError(key, f"not a workspace path ({exc.reason})") from None

    def _file(self, key: str) -> Path:
        path = self.local_path(key)
        if not path.is_file():
            raise ArtifactMissingError(key, "no such file")
        return path

    def fetch(self, key: str) -> Path:
        return self._file(key)

    def put(self, key: str, source: Path | None = None) -> ArtifactStat:
        target = self.local_path(key)
        if source is not None and source.resolve() != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        if not target.is_file():
            raise ArtifactStoreError(f"cannot store {key}: {target} does not exist")
        return self.stat(key)

    def exists(self, key: str) -> bool:
        return found(self._file, key)

    def stat(self, key: str) -> ArtifactStat:
        result = self._file(key).stat()
        return ArtifactStat(size=result.st_size, modified_ns=result.st_mtime_ns)

    def open(self, key: str) -> BinaryIO:
        """A seekable reader of the file; raises ``ArtifactMissingError``."""
        try:
            return self._file(key).open("rb")
        except OSError as exc:
            raise ArtifactMissingError(key, type(exc).__name__) from None

    def iter_range(self, key: str, start: int, length: int) -> Generator[bytes, None, None]:
        with self.open(key) as handle:
            handle.seek(start)
            left = length
            while left > 0:
                chunk = handle.read(min(CHUNK_BYTES, left))
                if not chunk:
                    return  # truncated under us (a redo rewriting it): end early
                left -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self.local_path(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(self.root).as_posix()

    def check_read_write(self) -> None:
        key = f"{CHECK_PREFIX}{os.getpid()}-{os.urandom(4).hex()}.txt"
        payload = b"vidgen artifact store check\n"
        try:
            path = self.local_path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
            if path.read_bytes() != payload:
                raise ArtifactStoreError(f"workspace {self.root} returned other bytes than written")
            path.unlink()
        except OSError as exc:
            raise ArtifactStoreError(
                f"workspace {self.root} is not writable ({exc.strerror or exc}): "
                "check WORKSPACE_ROOT and its permissions"
            ) from None


_TYPES: dict[str, tuple[ArtifactKind, str]] = {
    ".png": ("image", "image/png"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".webp": ("image", "image/webp"),
    ".mp4": ("video", "video/mp4"),
    ".webm": ("video", "video/webm"),
    ".mov": ("video", "video/quicktime"),
    ".wav": ("audio", "audio/wav"),
    ".mp3": ("audio", "audio/mpeg"),
    ".m4a": ("audio", "audio/mp4"),
    ".aac": ("audio", "audio/aac"),
    ".ogg": ("audio", "audio/ogg"),
    ".json": ("other", "application/json"),
    ".srt": ("other", "text/plain; charset=utf-8"),
    ".ass": ("other", "text/plain; charset=utf-8"),
}


def describe_type(key: str) -> tuple[ArtifactKind, str]:
    """(kind, Content-Type) from the key's extension; unknown ones are served as bytes."""
    return _TYPES.get(PurePosixPath(key).suffix.lower(), ("other", "application/octet-stream"))
