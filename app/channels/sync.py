"""Make the ``channels`` table match ``channel_configs/*.yaml``.

Channels are upserted by slug; a channel whose file disappeared is only marked inactive, never
deleted, because its tasks, costs and audit rows still point at it. The whole config is stored
as JSON with a hash of its canonical form, so "changed?" is one string comparison and workers
read the config from the database instead of from files they may not have.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.config import ChannelConfig, ChannelConfigError, ConfigProblem
from app.channels.config_errors import describe_error, field_path
from app.core.logging import get_logger
from app.models import Channel

log = get_logger(__name__)

# Serialises concurrent syncs (several web replicas starting at once) so two inserts of one
# new slug cannot race; released when the caller's transaction ends.
_SYNC_LOCK_KEY = 0x76696467656E01


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = []
        for label in ("created", "updated", "unchanged", "deactivated"):
            slugs: list[str] = getattr(self, label)
            parts.append(f"{len(slugs)} {label}" + (f" ({', '.join(slugs)})" if slugs else ""))
        return ", ".join(parts)


def config_json(config: ChannelConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def config_hash(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace), stable across processes."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _columns(config: ChannelConfig) -> dict[str, Any]:
    data = config_json(config)
    return {
        "name": config.name,
        "active": config.active,
        "priority": config.priority,
        "max_concurrent": config.max_concurrent,
        "notion_database_id": config.notion.database_id,
        "config": data,
        "config_hash": config_hash(data),
    }


async def sync_channels(session: AsyncSession, configs: Sequence[ChannelConfig]) -> SyncReport:
    """Upsert every config by slug and deactivate channels without one; the caller commits."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_KEY})
    existing = {c.slug: c for c in (await session.scalars(select(Channel))).all()}
    report = SyncReport()
    for config in configs:
        values = _columns(config)
        channel = existing.get(config.slug)
        if channel is None:
            session.add(Channel(slug=config.slug, **values))
            report.created.append(config.slug)
            continue
        changed = {k: v for k, v in values.items() if getattr(channel, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(channel, key, value)
            report.updated.append(config.slug)
        else:
            report.unchanged.append(config.slug)
    wanted = {c.slug for c in configs}
    for slug, channel in sorted(existing.items()):
        if slug not in wanted and channel.active:
            channel.active = False
            report.deactivated.append(slug)
    await session.flush()
    log.info(
        "channels.synced",
        created=report.created,
        updated=report.updated,
        deactivated=report.deactivated,
        unchanged=len(report.unchanged),
    )
    return report


def get_channel_config(channel: Channel) -> ChannelConfig:
    """The channel's stored config, validated again (a row written by an older schema may fail)."""
    try:
        return ChannelConfig.model_validate(channel.config)
    except ValidationError as exc:
        shown = f"channel {channel.slug} (stored config)"
        problems = []
        for error in exc.errors(include_url=False):
            loc, message = describe_error(error, channel.config)
            problems.append(ConfigProblem(shown, field_path(loc), message))
        raise ChannelConfigError(problems) from None
