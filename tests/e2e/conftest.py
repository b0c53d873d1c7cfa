from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.harness import FleetHarness, write_channel


@pytest.fixture
async def fleet(app_db: AsyncEngine, tmp_path: Path) -> AsyncIterator[FleetHarness]:
    """A harness (not started) on this test's database with one offline channel ``e2e``."""
    configs = tmp_path / "channel_configs"
    write_channel(configs, "e2e")
    harness = FleetHarness(workspace=tmp_path / "workspace", configs=configs)
    try:
        yield harness
    finally:
        harness.stop()
