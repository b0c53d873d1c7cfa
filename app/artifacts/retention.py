"""Retention: intermediate artifacts go N days after publishing; each worker's cache stays small.

The purge is fleet-wide work (one bucket), so it runs from the dispatcher's leader (one web
replica) and from ``vidgen artifacts purge``; the cache trim is per process (each worker has its
own disk), so each worker runs it after items, at most once a minute.

Kept by default: the final video and its published copy (``RETENTION_KEEP_FINAL``). A purged task
is marked (``tasks.artifacts_purged_at``) so it is never listed again.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.artifacts.configured import get_artifact_store
from app.artifacts.store import ArtifactStore
from app.core.config import Settings, get_settings
from app.core.database import session_scope
from app.core.leader import BackgroundPass
from app.core.logging import get_logger
from app.core.time import utc_now
from app.models import Task, TaskStatus
from app.pipeline.items import task_prefix

log = get_logger("retention")

CACHE_MIN_AGE_S = 600.0  # never evict what an item on this worker may be about to read
CACHE_TRIM_EVERY_S = 60.0
PURGE_BATCH = 200


@dataclass
class PurgeReport:
    tasks: list[uuid.UUID] = field(default_factory=list)
    deleted_keys: list[str] = field(default_factory=list)
    kept_keys: list[str] = field(default_factory=list)
    dry_run: bool = False


def _kept(task: Task, keep_final: bool) -> set[str]:
    if not keep_final:
        return set()
    kept = {f"published/{task.id}.mp4"}
    if task.final_video_key:
        kept.add(task.final_video_key)
    return kept


def _purge_task_keys(
    store: ArtifactStore, task: Task, keep_final: bool, dry_run: bool
) -> tuple[list[str], list[str]]:
    """Blocking: list the task's keys and delete all but the kept ones."""
    keep = _kept(task, keep_final)
    keys = list(store.list_keys(task_prefix(task) + "/"))
    published = f"published/{task.id}.mp4"
    if store.exists(published):
        keys.append(published)
    deleted = [k for k in keys if k not in keep]
    if not dry_run:
        for key in deleted:
            store.delete(key)
    return deleted, [k for k in keys if k in keep]


async def purge_published(
    *,
    settings: Settings | None = None,
    store: ArtifactStore | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Remove intermediate artifacts of tasks published more than ``RETENTION_DAYS`` ago."""
    settings = settings or get_settings()
    store = store or get_artifact_store(settings)
    cutoff = utc_now() - timedelta(days=settings.retention_days)
    report = PurgeReport(dry_run=dry_run)
    async with session_scope() as session:
        query = (
            select(Task)
            .where(
                Task.status == TaskStatus.PUBLISHED,
                Task.artifacts_purged_at.is_(None),
                Task.completed_at.is_not(None),
                Task.completed_at < cutoff,
            )
            .order_by(Task.completed_at)
            .limit(PURGE_BATCH)
        )
        tasks = list((await session.scalars(query)).all())
    for task in tasks:
        deleted, kept = await asyncio.to_thread(
            _purge_task_keys, store, task, settings.retention_keep_final, dry_run
        )
        report.tasks.append(task.id)
        report.deleted_keys += deleted
        report.kept_keys += kept
        if dry_run:
            continue
        async with session_scope() as session:
            await session.execute(
                update(Task).where(Task.id == task.id).values(artifacts_purged_at=utc_now())
            )
        log.info("retention.task_purged", task_id=str(task.id), deleted=len(deleted))
    return report


def trim_cache(directory: Path, max_bytes: int, *, min_age_s: float = CACHE_MIN_AGE_S) -> int:
    """Delete the least recently used files (mtime; ``fetch`` touches what it reuses) until the
    cache holds at most ``max_bytes``; files younger than ``min_age_s`` stay. Returns bytes freed."""
    if not directory.is_dir():
        return 0
    files: list[tuple[float, int, Path]] = []
    for path in directory.rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink():
            files.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    freed = 0
    young = time.time() - min_age_s
    for mtime, size, path in sorted(files):
        if total - freed <= max_bytes:
            break
        if mtime > young:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        freed += size
    return freed


_last_trim = 0.0
_purge_pass = BackgroundPass("retention-purge")


async def trim_cache_if_due(settings: Settings | None = None) -> None:
    """Called by a worker after each item; cheap unless a minute has passed."""
    global _last_trim
    settings = settings or get_settings()
    if time.monotonic() - _last_trim < CACHE_TRIM_EVERY_S:
        return
    _last_trim = time.monotonic()
    if get_artifact_store(settings).is_shared_disk:
        return  # the workspace is the store itself, not a cache
    freed = await asyncio.to_thread(
        trim_cache, settings.cache_dir, settings.artifact_cache_max_bytes
    )
    if freed:
        log.info("retention.cache_trimmed", freed_bytes=freed, pid=os.getpid())


async def _purge_logged() -> None:
    try:
        report = await purge_published()
        if report.tasks:
            log.info("retention.purged", tasks=len(report.tasks), keys=len(report.deleted_keys))
    except Exception:
        log.exception("retention.purge_failed")


def schedule_purge_if_due(settings: Settings | None = None) -> None:
    """The leader's hook: start a purge in the background every ``RETENTION_INTERVAL_S``
    (dispatching never waits for it, and two never overlap)."""
    settings = settings or get_settings()
    _purge_pass.start_if_due(settings.retention_interval_s, _purge_logged)
