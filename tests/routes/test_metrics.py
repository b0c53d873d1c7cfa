"""/metrics: Prometheus text computed from the database, behind the bearer token.

YouTube quota is reported per Cloud project (OAuth client), because Google counts it there:
units left per project, and each channel's units spent inside its project.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.core.database import session_scope
from app.core.time import utc_now
from app.models import (
    AuditLog,
    PipelineStep,
    StepStatus,
    TaskStatus,
    TaskStep,
    VideoCost,
    YouTubeQuotaUsage,
)
from app.youtube.quota import quota_day
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(body: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def _seed() -> None:
    alpha, beta = await add_channel("alpha"), await add_channel("beta")
    running = [await add_task(alpha, status=TaskStatus.RUNNING) for _ in range(2)]
    failed = await add_task(alpha, status=TaskStatus.FAILED)
    await add_task(beta, status=TaskStatus.PUBLISHED)

    def step(task_id: object, name: PipelineStep, ms: int | None) -> TaskStep:
        status = StepStatus.COMPLETED if ms is not None else StepStatus.RUNNING
        return TaskStep(task_id=task_id, step=name, status=status, duration_ms=ms)

    await add_rows(
        step(running[0].id, PipelineStep.VIDEOS, 500),
        step(running[1].id, PipelineStep.VIDEOS, 4_000),
        step(failed.id, PipelineStep.VIDEOS, 45_000),
        step(running[0].id, PipelineStep.PLAN, 200),
        step(failed.id, PipelineStep.PLAN, None),  # unfinished: not observed
        *[
            AuditLog(
                actor="worker",
                action=action,
                entity_type="task_item",
                task_id=failed.id,
                channel_id=alpha.id,
                details={"code": code},
            )
            for action, code in [
                ("item.retry_scheduled", "SCRIPT_FAILED"),
                ("item.retry_scheduled", "SCRIPT_FAILED"),
                ("item.retry_scheduled", "SCRIPT_TIMEOUT"),
                ("item.started", "SCRIPT_FAILED"),
            ]
        ],
        *[
            VideoCost(
                task_id=failed.id,
                channel_id=alpha.id,
                step=step_name,
                service=service,
                cost_usd=Decimal(usd),
                idempotency_key=f"cost-{n}",
            )
            for n, (step_name, service, usd) in enumerate(
                [
                    (PipelineStep.ASSETS, "gemini", "0.039"),
                    (PipelineStep.ASSETS, "gemini", "0.039"),
                    (PipelineStep.VIDEOS, "kling", "0.35"),
                ]
            )
        ],
        YouTubeQuotaUsage(
            channel_id=alpha.id, date=quota_day(utc_now()), units_used=1650, daily_limit=10_000
        ),
        YouTubeQuotaUsage(
            channel_id=beta.id,
            date=quota_day(utc_now()) - timedelta(days=1),
            units_used=9_999,
            daily_limit=10_000,
        ),
    )
    async with session_scope() as session:
        for entrypoint, status, count in [
            ("item.kling", "queued", 2),
            ("item.kling", "picked", 1),
            ("item.espeak", "queued", 1),
            ("item.espeak", "successful", 4),
        ]:
            for _ in range(count):
                await session.execute(
                    text(
                        "INSERT INTO pgqueuer (priority, entrypoint, status, payload)"
                        " VALUES (0, :entrypoint, CAST(:status AS pgqueuer_status), '')"
                    ),
                    {"entrypoint": entrypoint, "status": status},
                )


async def test_metrics_from_the_database(client: httpx.AsyncClient) -> None:
    await _seed()
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.text)

    assert value(samples, "vidgen_tasks", channel="alpha", status="running") == 2
    assert value(samples, "vidgen_tasks", channel="alpha", status="failed") == 1
    assert value(samples, "vidgen_tasks", channel="alpha", status="published") == 0
    assert value(samples, "vidgen_tasks", channel="beta", status="published") == 1

    hist = "vidgen_step_duration_seconds"
    assert value(samples, f"{hist}_count", step="videos") == 3
    assert value(samples, f"{hist}_sum", step="videos") == 49.5
    assert value(samples, f"{hist}_bucket", step="videos", le="1.0") == 1
    assert value(samples, f"{hist}_bucket", step="videos", le="5.0") == 2
    assert value(samples, f"{hist}_bucket", step="videos", le="30.0") == 2
    assert value(samples, f"{hist}_bucket", step="videos", le="60.0") == 3
    assert value(samples, f"{hist}_bucket", step="videos", le="+Inf") == 3
    assert value(samples, f"{hist}_count", step="plan") == 1
    assert (f"{hist}_count", frozenset({("step", "assets")})) not in samples

    assert value(samples, "vidgen_queue_jobs", entrypoint="item.kling", status="queued") == 2
    assert value(samples, "vidgen_queue_jobs", entrypoint="item.kling", status="picked") == 1
    assert value(samples, "vidgen_queue_jobs", entrypoint="item.espeak", status="queued") == 1
    assert value(samples, "vidgen_queue_jobs", entrypoint="item.gemini", status="queued") == 0

    retries = "vidgen_item_retries_total"
    assert value(samples, retries, channel="alpha", code="SCRIPT_FAILED") == 2
    assert value(samples, retries, channel="alpha", code="SCRIPT_TIMEOUT") == 1

    assert value(samples, "vidgen_cost_usd_total", channel="alpha", service="gemini") == 0.078
    assert value(samples, "vidgen_cost_usd_total", channel="alpha", service="kling") == 0.35
    assert value(samples, "vidgen_paid_calls_total", channel="alpha", service="gemini") == 2

    quota = "vidgen_youtube_quota_remaining_units"
    assert value(samples, quota, project="fleet") == 8350  # beta's yesterday doesn't count
    used = "vidgen_youtube_quota_used_units"
    assert value(samples, used, project="fleet", channel="alpha") == 1650
    assert value(samples, used, project="fleet", channel="beta") == 0


OWN_ID = "solo-client.apps.googleusercontent.com"
OWN_CLIENT_CONFIG = {  # what `vidgen channels sync` stores for a YAML naming its own client
    "slug": "solo",
    "name": "Solo",
    "providers": {
        "planner": "template",
        "image": "local",
        "video": "kenburns",
        "voice": "espeak",
        "sfx": "synth",
    },
    "youtube": {
        "oauth_client": {
            "client_id_env": "SOLO_YOUTUBE_CLIENT_ID",
            "client_secret_env": "SOLO_YOUTUBE_CLIENT_SECRET",
        }
    },
}


async def test_quota_metrics_per_project(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLO_YOUTUBE_CLIENT_ID", OWN_ID)
    monkeypatch.setenv("SOLO_YOUTUBE_CLIENT_SECRET", "solo-secret-0123456789")
    alpha, beta = await add_channel("alpha"), await add_channel("beta")
    await add_channel("gamma")  # in the fleet's project, nothing spent today
    solo = await add_channel("solo", config=OWN_CLIENT_CONFIG)
    today, now = quota_day(utc_now()), utc_now()

    def row(channel_id: object, project: str, units: int, **fields: object) -> YouTubeQuotaUsage:
        return YouTubeQuotaUsage(
            project=project, channel_id=channel_id, date=fields.pop("date", today),
            units_used=units, daily_limit=10_000, **fields,
        )  # fmt: skip

    await add_rows(
        row(alpha.id, "fleet", 1650),
        row(beta.id, "fleet", 400),
        row(solo.id, "fleet", 50),  # spent through the fleet's client before it had its own
        row(solo.id, OWN_ID, 1600, exhausted_at=now),  # Google said quotaExceeded
        row(alpha.id, "fleet", 9_000, date=today - timedelta(days=1)),  # yesterday: reset
    )
    samples = parse((await client.get("/metrics")).text)

    quota = "vidgen_youtube_quota_remaining_units"
    assert value(samples, quota, project="fleet") == 10_000 - 1650 - 400 - 50  # one shared limit
    assert value(samples, quota, project=OWN_ID) == 0  # exhausted, whatever the units say
    assert {labels for name, labels in samples if name == quota} == {
        frozenset({("project", "fleet")}),
        frozenset({("project", OWN_ID)}),
    }  # no per-channel "remaining": channels of one project share it
    used = "vidgen_youtube_quota_used_units"
    assert value(samples, used, project="fleet", channel="alpha") == 1650
    assert value(samples, used, project="fleet", channel="beta") == 400
    assert value(samples, used, project="fleet", channel="gamma") == 0
    assert value(samples, used, project="fleet", channel="solo") == 50
    assert value(samples, used, project=OWN_ID, channel="solo") == 1600
    assert (used, frozenset({("project", OWN_ID), ("channel", "alpha")})) not in samples


async def test_metrics_need_the_token(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/metrics")
    assert_error(response, 401, "UNAUTHORIZED")
    assert "vidgen_" not in response.text
