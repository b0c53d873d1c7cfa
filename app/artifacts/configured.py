"""The artifact store this deployment is configured with, and local files of its keys."""

from __future__ import annotations

from pathlib import Path

from app.artifacts.store import ArtifactMissingError, ArtifactStore, LocalArtifactStore
from app.core.config import Settings, get_settings


def key_path(key: str) -> Path:
    """This process's local file of an artifact key (it may still need a ``fetch_path``)."""
    return get_artifact_store().local_path(key)  # scripts need a local file, whatever the store


def fetch_path(key: str) -> Path:
    """The local file of ``key``, fetched from the store when this worker lacks the current one;
    a missing object gives the (absent) local path so callers keep their own "missing" error.
    Blocks: call it in a thread."""
    store = get_artifact_store()
    try:
        return store.fetch(key)
    except ArtifactMissingError:
        return store.local_path(key)


def get_artifact_store(settings: Settings | None = None) -> ArtifactStore:
    """The store this deployment is configured with (``ARTIFACT_STORE``)."""

    settings = settings or get_settings()
    if settings.artifact_store == "s3":
        from app.artifacts.s3_store import S3ArtifactStore  # boto3 only when configured

        return S3ArtifactStore.from_settings(settings)
    return LocalArtifactStore(settings.workspace_root)
