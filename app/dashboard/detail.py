"""View models of the task detail page and the channels page.

Everything is read through the services the API uses (task detail, audit log, budget, YouTube
quota, credential status); this module only arranges it for a page. Credential status is
presence and re-auth flags, never a value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import credentials
from app.channels import service as channel_service
from app.channels.config import ChannelConfigError
from app.channels.sync import get_channel_config
from app.core.config import Settings
from app.dashboard.board import step_label
from app.models import (
    PIPELINE_ORDER,
    AuditLog,
    Channel,
    ItemStatus,
    PipelineStep,
    StepStatus,
    TaskStatus,
    TaskStep,
)
from app.ops import audit_query as audit_log_query
from app.pipeline import service as task_service
from app.pipeline.state import notion_label
from app.spend import budget
from app.youtube.quota import quota_overview

AUDIT_ROWS = 100


@dataclass(frozen=True)
class StepRow:
    step: PipelineStep
    label: str
    status: str  # a StepStatus value, or "not started"
    attempts: int
    duration_s: float | None
    started_at: datetime | None
    completed_at: datetime | None
    done: int
    total: int
    error: str | None
    current: bool


@dataclass(frozen=True)
class ErrorRow:
    where: str
    code: str | None
    message: str


@dataclass(frozen=True)
class TaskPage:
    detail: task_service.TaskDetail
    channel: Channel
    label: str
    steps: list[StepRow]
    errors: list[ErrorRow]
    audit: list[AuditLog]
    can_retry: bool
    can_cancel: bool


def _step_rows(detail: task_service.TaskDetail) -> list[StepRow]:
    by_step: dict[PipelineStep, TaskStep] = {row.step: row for row in detail.steps}
    rows = []
    for step in PIPELINE_ORDER:
        row = by_step.get(step)
        items = [i for i in detail.items if i.step == step]
        error = None
        if row is not None and row.error_message:
            error = ": ".join(p for p in (row.error_code, row.error_message) if p)
        rows.append(
            StepRow(
                step=step,
                label=step_label(step),
                status=row.status.value if row else "not started",
                attempts=row.attempts if row else 0,
                duration_s=row.duration_ms / 1000 if row and row.duration_ms else None,
                started_at=row.started_at if row else None,
                completed_at=row.completed_at if row else None,
                done=sum(1 for i in items if i.status == ItemStatus.COMPLETED),
                total=len(items),
                error=error,
                current=detail.task.step == step,
            )
        )
    return rows


def _errors(detail: task_service.TaskDetail) -> list[ErrorRow]:
    task = detail.task
    found = []
    if task.error_message:
        found.append(ErrorRow("task", task.error_code, task.error_message))
    for row in detail.steps:
        if row.error_message and row.status == StepStatus.FAILED:
            found.append(ErrorRow(f"step {row.step.value}", row.error_code, row.error_message))
    for item in detail.items:
        if item.error_message:
            where = f"{item.step.value} {item.item_key} (attempt {item.attempts})"
            found.append(ErrorRow(where, item.error_code, item.error_message))
    return found


async def build_task_page(session: AsyncSession, *, task_id: uuid.UUID) -> TaskPage:
    detail = await task_service.get_task_detail(session, task_id=task_id)
    task = detail.task
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    audit = await audit_log_query.list_audit_logs(session, task_id=task_id, limit=AUDIT_ROWS)
    return TaskPage(
        detail=detail,
        channel=channel,
        label=notion_label(task.status, task.step),
        steps=_step_rows(detail),
        errors=_errors(detail),
        audit=audit.items,
        can_retry=task.status == TaskStatus.FAILED,
        can_cancel=task.status not in (TaskStatus.CANCELLED, TaskStatus.PUBLISHED),
    )


@dataclass(frozen=True)
class CredentialView:
    provider: str
    # "present" (stored) | "from environment" | "needs re-auth" | "missing" | "not needed"
    # | "not connected" (YouTube)
    state: str


@dataclass(frozen=True)
class ChannelView:
    channel: Channel
    config: dict[str, Any]
    spent_today: Decimal
    budget_per_day: Decimal | None
    budget_per_video: Decimal | None
    quota_used: int | None
    quota_limit: int | None
    quota_left: int | None
    credentials: list[CredentialView]

    @property
    def providers(self) -> dict[str, str]:
        """Role -> provider name (a role is configured as a name or as a block naming one)."""
        found = {}
        for role, value in (self.config.get("providers") or {}).items():
            name = value.get("provider") if isinstance(value, dict) else value
            found[str(role)] = str(name)
        return found

    @property
    def spend_fraction(self) -> float | None:
        if not self.budget_per_day:
            return None
        return min(float(self.spent_today / self.budget_per_day), 1.0)


def _decimal(value: object) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _credential_state(
    status: credentials.CredentialStatus, needed: bool | None, from_env: bool
) -> str:
    if status.needs_reauth:
        return "needs re-auth"
    if status.present:
        return "present"
    if status.provider == credentials.CredentialProvider.YOUTUBE:
        return "not connected"  # finished videos stay offline until `vidgen oauth youtube`
    if needed is False:
        return "not needed"
    if from_env:
        return "from environment"
    return "missing"


def _credential_views(
    channel: Channel, status: dict[str, credentials.CredentialStatus], settings: Settings
) -> list[CredentialView]:
    """Stored, fleet-wide or absent, weighed against what the channel's providers need.

    A stored config that no longer validates shows presence only (needs unknown).
    """
    try:
        needs: dict[credentials.CredentialProvider, list[str]] | None = (
            credentials.needed_credentials(get_channel_config(channel))
        )
    except ChannelConfigError:
        needs = None
    views = []
    for s in status.values():
        provider = credentials.CredentialProvider(s.provider)
        needed = None if needs is None else provider in needs
        state = _credential_state(s, needed, credentials.env_has_key(settings, provider))
        views.append(CredentialView(provider=s.provider, state=state))
    return views


async def build_channels(
    session: AsyncSession, settings: Settings
) -> tuple[list[ChannelView], datetime]:
    """Every channel with today's spend (UTC day), YouTube quota (Pacific day) and credential
    status; also when the quota resets."""
    quota = await quota_overview(session)
    by_channel = {row.channel_id: row for row in quota.channels}
    views = []
    for channel in await channel_service.list_channels(session):
        config = channel.config or {}
        caps = config.get("budget") or {}
        status = await credentials.credential_status(session, channel.id)
        row = by_channel.get(channel.id)
        views.append(
            ChannelView(
                channel=channel,
                config=config,
                spent_today=await budget.spent_today(session, channel.id),
                budget_per_day=_decimal(caps.get("per_day_usd")),
                budget_per_video=_decimal(caps.get("per_video_usd")),
                quota_used=row.units_used if row else None,
                quota_limit=row.daily_limit if row else None,
                quota_left=row.remaining if row else None,
                credentials=_credential_views(channel, status, settings),
            )
        )
    return views, quota.resets_at
