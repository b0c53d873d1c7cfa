"""`vidgen check` reports a spent YouTube quota and the uploads parked for quota or re-auth."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.time import utc_now
from app.models import (
    Channel,
    ItemStatus,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
    YouTubeQuotaUsage,
)
from app.ops.checks import Status
from app.ops.preflight import run_checks
from app.youtube.quota import quota_day
from tests.services.test_preflight import by_name, settings_for


async def _parked(session: AsyncSession, channel_id: uuid.UUID, code: str) -> None:
    task = Task(channel_id=channel_id, title=code, status=TaskStatus.RUNNING, step=PipelineStep.UPLOAD)  # fmt: skip
    session.add(task)
    await session.flush()
    session.add(
        TaskItem(
            task_id=task.id,
            step=PipelineStep.UPLOAD,
            item_key="upload",
            status=ItemStatus.QUEUED,
            inputs={},
            error_code=code,
            error_message="waiting",
        )
    )


async def test_check_reports_a_spent_project_and_parked_uploads(
    db_url: str, db_session: AsyncSession, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path)
    quiet = by_name(await run_checks(settings, "check"))
    assert quiet["youtube quota"].status is Status.OK

    channel = Channel(id=uuid.uuid4(), slug="tube", name="Tube")
    db_session.add(channel)
    await db_session.flush()
    now = utc_now()
    db_session.add(
        YouTubeQuotaUsage(
            project="fleet",
            date=quota_day(now),
            channel_id=channel.id,
            units_used=1600,
            daily_limit=10_000,
            exhausted_at=now,
        )
    )
    await _parked(db_session, channel.id, "YOUTUBE_QUOTA")
    await _parked(db_session, channel.id, "YOUTUBE_QUOTA")
    await _parked(db_session, channel.id, "YOUTUBE_REAUTH")
    await db_session.commit()

    results = by_name(await run_checks(settings, "check"))
    quota = results["youtube quota"]
    assert quota.status is Status.WARN
    assert "project fleet: Google answered quotaExceeded today" in quota.detail
    assert "tube: 2 upload(s) wait for quota, 1 for re-authorisation" in quota.detail
    assert quota.fix is not None and "vidgen oauth youtube tube" in quota.fix
