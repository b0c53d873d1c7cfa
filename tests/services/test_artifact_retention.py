"""Retention: intermediates of tasks published over N days ago go, finals stay; caches shrink."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.artifacts.retention import purge_published, trim_cache
from app.artifacts.store import ArtifactStore, LocalArtifactStore
from app.core.config import Settings
from app.core.database import session_scope
from app.core.time import utc_now
from app.models import Task, TaskStatus
from app.pipeline.items import asset_key, clip_key, final_key, segment_key
from tests.routes.factories import add_channel, add_task
from tests.services.s3_support import make_store, moto_server, new_bucket_name


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _keys(task: Task) -> list[str]:
    return [
        asset_key(task, "hero"),
        clip_key(task, 1),
        segment_key(task, 1),
        final_key(task),
        f"published/{task.id}.mp4",
    ]


async def _published_task(store: ArtifactStore, days_ago: float, slug: str) -> Task:
    channel = await add_channel(slug)
    task = await add_task(
        channel,
        status=TaskStatus.PUBLISHED,
        completed_at=utc_now() - timedelta(days=days_ago),
        final_video_key=None,
    )
    async with session_scope() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        stored.final_video_key = final_key(task)
    task.final_video_key = final_key(task)
    for key in _keys(task):
        path = store.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.encode())
        store.put(key)
    return task


async def _purged_at(task: Task) -> object:
    async with session_scope() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        return stored.artifacts_purged_at


async def test_old_published_task_loses_intermediates_but_keeps_its_final(
    app_db: AsyncEngine, endpoint: str, tmp_path: Path
) -> None:
    store = make_store(endpoint, new_bucket_name(), tmp_path / "cache")
    old = await _published_task(store, 8, "old")
    recent = await _published_task(store, 1, "recent")
    settings = Settings(workspace_root=tmp_path, retention_days=7)

    dry = await purge_published(settings=settings, store=store, dry_run=True)
    assert dry.tasks == [old.id]
    assert sorted(dry.deleted_keys) == sorted(_keys(old)[:3])
    assert all(store.exists(k) for k in _keys(old)), "a dry run deletes nothing"
    assert await _purged_at(old) is None

    report = await purge_published(settings=settings, store=store)
    assert report.tasks == [old.id]
    assert [store.exists(k) for k in _keys(old)] == [False, False, False, True, True]
    assert all(store.exists(k) for k in _keys(recent)), "a task published yesterday is kept"
    assert await _purged_at(old) is not None and await _purged_at(recent) is None
    again = await purge_published(settings=settings, store=store)
    assert again.tasks == [], "a purged task is not listed again"


async def test_keep_final_off_removes_the_final_video_too_on_the_local_store(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    store = LocalArtifactStore(tmp_path / "workspace")
    old = await _published_task(store, 10, "old")
    settings = Settings(
        workspace_root=tmp_path / "workspace", retention_days=7, retention_keep_final=False
    )
    report = await purge_published(settings=settings, store=store)
    assert sorted(report.deleted_keys) == sorted(_keys(old))
    assert not any(store.exists(k) for k in _keys(old))


async def test_unpublished_tasks_are_never_purged(
    app_db: AsyncEngine, endpoint: str, tmp_path: Path
) -> None:
    store = make_store(endpoint, new_bucket_name(), tmp_path / "cache")
    channel = await add_channel("failing")
    task = await add_task(
        channel, status=TaskStatus.FAILED, completed_at=utc_now() - timedelta(days=30)
    )
    key = clip_key(task, 1)
    store.local_path(key).parent.mkdir(parents=True)
    store.local_path(key).write_bytes(b"clip")
    store.put(key)
    report = await purge_published(settings=Settings(workspace_root=tmp_path), store=store)
    assert report.tasks == [] and store.exists(key)


def test_cache_trim_evicts_least_recently_used_first_and_spares_fresh_files(
    tmp_path: Path,
) -> None:
    now = time.time()
    ages = {"a.bin": 5000, "b.bin": 4000, "c.bin": 3000, "fresh.bin": 10}
    for name, age in ages.items():
        path = tmp_path / "sub" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age, now - age))
    freed = trim_cache(tmp_path, 2500, min_age_s=600)
    assert freed == 2000
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["c.bin", "fresh.bin"]
    # everything old would have to go to reach 0 bytes, but the fresh file stays
    trim_cache(tmp_path, 0, min_age_s=600)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["fresh.bin"]


async def test_cli_purge_dry_run_lists_and_then_purge_removes(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    store = LocalArtifactStore(workspace)
    old = await _published_task(store, 9, "cli")
    env = {**os.environ, "WORKSPACE_ROOT": str(workspace), "RETENTION_DAYS": "7"}

    def vidgen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "artifacts", "purge", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = await asyncio.to_thread(vidgen, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {clip_key(old, 1)}" in dry.stdout
    assert all(store.exists(k) for k in _keys(old))
    done = await asyncio.to_thread(vidgen)
    assert done.returncode == 0, done.stderr
    assert "removed 3 artifact(s), kept 2" in done.stdout
    assert [store.exists(k) for k in _keys(old)] == [False, False, False, True, True]
