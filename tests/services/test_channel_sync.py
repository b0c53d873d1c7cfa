"""Syncing channel YAML into the ``channels`` table against a real database."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.channels.config import ChannelConfig, load_channel_config, load_channel_configs
from app.channels.sync import get_channel_config, sync_channels
from app.core.config import PROJECT_ROOT
from app.models import Channel

SHIPPED_DIR = PROJECT_ROOT / "channel_configs"


async def _channels(session: AsyncSession) -> dict[str, Channel]:
    session.expunge_all()
    return {c.slug: c for c in (await session.scalars(select(Channel))).all()}


def _edited_demo(tmp_path: Path, old: str, new: str) -> ChannelConfig:
    text_ = (SHIPPED_DIR / "demo.yaml").read_text()
    assert old in text_
    (tmp_path / "demo.yaml").write_text(text_.replace(old, new))
    return load_channel_config(tmp_path / "demo.yaml")


async def test_first_sync_creates_then_nothing_changes(db_session: AsyncSession) -> None:
    configs = load_channel_configs(SHIPPED_DIR)
    report = await sync_channels(db_session, configs)
    await db_session.commit()
    assert sorted(report.created) == sorted(c.slug for c in configs)
    assert report.updated == report.unchanged == report.deactivated == []

    rows = await _channels(db_session)
    demo = rows["demo"]
    assert (demo.name, demo.active, demo.max_concurrent) == ("Demo Channel", True, 2)
    assert rows["deep-sea-tales"].active is False
    assert rows["deep-sea-tales"].priority == 10
    assert rows["deep-sea-tales"].notion_database_id == "1f2e3d4c-5b6a-7988-1f2e-3d4c5b6a7988"
    canonical = json.dumps(demo.config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert demo.config_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert get_channel_config(demo) == next(c for c in configs if c.slug == "demo")

    again = await sync_channels(db_session, load_channel_configs(SHIPPED_DIR))
    await db_session.commit()
    assert sorted(again.unchanged) == sorted(c.slug for c in configs)
    assert again.created == again.updated == again.deactivated == []
    assert str(again).startswith(f"0 created, 0 updated, {len(configs)} unchanged")


async def test_changed_yaml_updates_row(db_session: AsyncSession, tmp_path: Path) -> None:
    await sync_channels(db_session, [load_channel_config(SHIPPED_DIR / "demo.yaml")])
    await db_session.commit()
    before = (await _channels(db_session))["demo"]
    before_id, before_hash = before.id, before.config_hash

    edited = _edited_demo(tmp_path, "max_concurrent: 2", "max_concurrent: 5")
    report = await sync_channels(db_session, [edited])
    await db_session.commit()
    assert report.updated == ["demo"]
    after = (await _channels(db_session))["demo"]
    assert after.id == before_id
    assert after.max_concurrent == 5
    assert after.config["max_concurrent"] == 5
    assert after.config_hash != before_hash


async def test_removed_yaml_deactivates_but_keeps_row(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    await sync_channels(db_session, load_channel_configs(SHIPPED_DIR))
    await db_session.commit()
    paid = load_channel_config(SHIPPED_DIR / "deep-sea-tales.yaml")

    report = await sync_channels(db_session, [paid])
    await db_session.commit()
    assert report.deactivated == ["demo"]  # deep-sea-tales was already inactive
    rows = await _channels(db_session)
    assert rows["demo"].active is False

    report = await sync_channels(db_session, [paid])
    assert report.deactivated == []  # already inactive: nothing to report

    demo = load_channel_config(SHIPPED_DIR / "demo.yaml")
    report = await sync_channels(db_session, [paid, demo])
    await db_session.commit()
    assert report.updated == ["demo"]
    assert (await _channels(db_session))["demo"].active is True


async def test_concurrent_syncs_do_not_collide(db_engine: AsyncEngine) -> None:
    """Two processes starting at once: the second waits for the first, then sees its rows."""
    configs = load_channel_configs(SHIPPED_DIR)
    async with AsyncSession(db_engine) as first, AsyncSession(db_engine) as second:
        created = await sync_channels(first, configs)  # holds the lock until commit
        waiting = asyncio.create_task(sync_channels(second, configs))
        try:
            assert await _advisory_waiters(db_engine) == 1
            await first.commit()
            report = await asyncio.wait_for(waiting, timeout=30)
            await second.commit()
        finally:
            if not waiting.done():
                waiting.cancel()
    assert (
        sorted(created.created)
        == sorted(report.unchanged)
        == ["cheap-stock", "deep-sea-tales", "demo"]
    )


async def _advisory_waiters(engine: AsyncEngine) -> int:
    """Sessions waiting for an advisory lock, once one shows up (or 0 after about 5 s)."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    async with AsyncSession(engine) as probe:
        for _ in range(500):
            waiters = int(await probe.scalar(query) or 0)
            if waiters:
                return waiters
            await asyncio.sleep(0.01)
    return 0
