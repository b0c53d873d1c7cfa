"""Dashboard pages and form actions on seeded rows, through the real app and database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.config import load_channel_config
from app.core.config import PROJECT_ROOT
from app.core.database import session_scope
from app.dashboard.actions import reject_request
from app.dashboard.session import CSRF_FIELD
from app.main import create_app
from app.models import (
    ChannelCredential,
    ItemStatus,
    NotionSyncState,
    PipelineStep,
    Task,
    TaskItem,
    TaskStatus,
)
from app.notion.board import BoardSchemaError
from app.notion.problems import record_problem
from tests.dashboard.helpers import HTML, page_csrf, sign_in
from tests.e2e.harness import short_plan
from tests.routes.conftest import API_TOKEN, app_settings, make_client
from tests.routes.factories import add_channel, add_rows, add_task

SECRET = "refresh-token-that-must-never-show"
CONFIG = {
    "providers": {"image": "local", "video": {"provider": "kenburns"}},
    "review_gates": ["videos"],
    "budget": {"per_day_usd": "5.00"},
    "frame": {"aspect_ratio": "16:9"},
}


@pytest_asyncio.fixture
async def signed_in(api_app: FastAPI, app_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(api_app, token=None) as http:
        assert (await sign_in(http, API_TOKEN, reviewer="Rita")).status_code == 303
        yield http


async def _seed() -> dict[str, Task]:
    channel = await add_channel("pages", name="Pages Channel", config=CONFIG)
    await add_rows(
        ChannelCredential(
            channel_id=channel.id, provider="youtube", secret_encrypted=SECRET, needs_reauth=True
        )
    )
    tasks = {
        "running": await add_task(
            channel,
            title="Running one",
            status=TaskStatus.RUNNING,
            step=PipelineStep.VIDEOS,
        ),
        "waiting": await add_task(
            channel,
            title="Waiting one",
            status=TaskStatus.AWAITING_REVIEW,
            step=PipelineStep.VIDEOS,
            plan=short_plan(3),
        ),
        "failed": await add_task(
            channel,
            title="Failed one",
            status=TaskStatus.FAILED,
            step=PipelineStep.ASSETS,
            error_code="SCRIPT_FAILED",
            error_message="generate_asset.py exited 1: out of ink",
        ),
    }
    async with session_scope() as session:
        running = await session.get(Task, tasks["running"].id)
        assert running is not None
        running.total_cost_usd = Decimal("1.234")  # what the ledger would have summed
    await add_rows(
        *[
            TaskItem(
                task_id=tasks["running"].id,
                step=PipelineStep.VIDEOS,
                item_key=f"scene-{n:02d}",
                scene_number=n,
                status=ItemStatus.COMPLETED if n <= 7 else ItemStatus.PENDING,
            )
            for n in range(1, 17)
        ]
    )
    return tasks


def _card(html: str, task: Task) -> str:
    found = re.search(rf'<article[^>]*data-task-id="{task.id}".*?</article>', html, re.S)
    assert found, f"no card for {task.title}"
    return found.group(0)


def _column_of(html: str, task: Task) -> str:
    """The heading of the column the task's card sits in."""
    start = html.index(f'data-task-id="{task.id}"')
    return re.findall(r'<h3>([^<]+?) <span class="count">', html[:start])[-1]


async def test_board_cards_show_progress_cost_state_and_errors(
    signed_in: httpx.AsyncClient,
) -> None:
    tasks = await _seed()
    http = signed_in
    board = (await http.get("/dashboard", headers=HTML)).text
    assert "Pages Channel" in board
    assert _column_of(board, tasks["running"]) == "Running"
    assert _column_of(board, tasks["waiting"]) == "Needs review"
    assert _column_of(board, tasks["failed"]) == "Failed"
    running = _card(board, tasks["running"])
    assert "Videos 7/16" in running and "$1.23" in running
    assert 'href="/dashboard/review/' + str(tasks["waiting"].id) in _card(board, tasks["waiting"])
    assert "out of ink" in _card(board, tasks["failed"])

    fragment = await http.get("/dashboard/board/cards", params={"status": "failed"})
    assert fragment.status_code == 200
    assert str(tasks["failed"].id) in fragment.text
    assert str(tasks["running"].id) not in fragment.text
    assert "<html" not in fragment.text  # the lanes alone, for the live update
    other = await http.get(
        "/dashboard",
        params={"channel": "pages", "date_from": "2000-01-01", "date_to": "2000-01-02"},
        headers=HTML,
    )
    assert str(tasks["running"].id) not in other.text


async def test_review_page_offers_per_scene_redo(signed_in: httpx.AsyncClient) -> None:
    tasks = await _seed()
    http = signed_in
    page = await http.get(f"/dashboard/review/{tasks['waiting'].id}", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert re.findall(r'name="scene" value="(\d+)"', html) == ["1", "2", "3"]
    assert re.findall(r'<option value="(\w+)"', html.split('id="redo_step"')[1])[:2] == [
        "composites",
        "videos",
    ]
    assert "This is scene number 2." in html and "Scene 1 clip: not made yet" in html
    assert 'id="approve-btn"' in html and 'id="reject-btn"' in html


async def test_reject_without_notes_is_explained_and_changes_nothing(
    signed_in: httpx.AsyncClient,
) -> None:
    tasks = await _seed()
    waiting = tasks["waiting"]
    http = signed_in
    csrf = page_csrf((await http.get("/dashboard", headers=HTML)).text)
    answer = await http.post(
        f"/dashboard/tasks/{waiting.id}/reject",
        data={CSRF_FIELD: csrf, "scene": ["2"], "notes": "  "},
        headers=HTML,
    )
    assert answer.status_code == 422
    assert "a rejection needs them" in answer.text
    assert re.search(r'name="scene" value="2" checked', answer.text)  # the form is kept
    late = await http.post(
        f"/dashboard/tasks/{tasks['running'].id}/approve",
        data={CSRF_FIELD: csrf},
        headers=HTML,
    )
    assert late.status_code == 409 and "not waiting for review" in late.text
    async with session_scope() as session:
        assert (await session.get(Task, waiting.id)).status == TaskStatus.AWAITING_REVIEW  # type: ignore[union-attr]


async def test_retry_and_cancel_from_the_task_page(signed_in: httpx.AsyncClient) -> None:
    tasks = await _seed()
    failed, running = tasks["failed"], tasks["running"]
    http = signed_in
    page = await http.get(f"/dashboard/tasks/{failed.id}", headers=HTML)
    assert "out of ink" in page.text and ">Retry<" in page.text
    csrf = page_csrf(page.text)
    refused = await http.post(f"/dashboard/tasks/{failed.id}/retry", data={}, headers=HTML)
    assert refused.status_code == 403
    retried = await http.post(
        f"/dashboard/tasks/{failed.id}/retry", data={CSRF_FIELD: csrf}, headers=HTML
    )
    assert retried.status_code == 303
    assert retried.headers["location"].endswith("notice=retried")
    cancelled = await http.post(
        f"/dashboard/tasks/{running.id}/cancel", data={CSRF_FIELD: csrf}, headers=HTML
    )
    assert cancelled.status_code == 303
    detail = await http.get(f"/dashboard/tasks/{running.id}", headers=HTML)
    assert "task.cancelled" in detail.text and "dashboard:Rita" in detail.text
    async with session_scope() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Task.id, Task.status).where(Task.id.in_([failed.id, running.id]))
                )
            ).all()
        )
    assert statuses == {failed.id: TaskStatus.QUEUED, running.id: TaskStatus.CANCELLED}


async def test_channels_page_shows_status_never_secrets(signed_in: httpx.AsyncClient) -> None:
    await _seed()
    http = signed_in
    page = await http.get("/dashboard/channels", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert SECRET not in html
    assert re.search(r"youtube</span> <span class=\"badge cred-needs-re-auth\">needs re-auth", html)
    assert re.search(r"gemini</span> <span class=\"badge cred-missing\">missing", html)
    assert "$0.00 of $5.00 per day" in html
    assert "10000 of 10000 units left" in html
    assert "kenburns" in html and "videos" in html


async def test_channels_page_shows_a_notion_board_the_sync_cannot_use(
    signed_in: httpx.AsyncClient,
) -> None:
    html = (await signed_in.get("/dashboard/channels", headers=HTML)).text
    assert "is not set up" not in html
    state = NotionSyncState(database_id="board-7", schema={})
    problem = "column 'Priority' is a rich_text, expected number"
    record_problem(state, BoardSchemaError("board-7", [problem]))
    async with session_scope() as session:
        session.add(state)
    html = (await signed_in.get("/dashboard/channels", headers=HTML)).text
    assert "Notion board <code>board-7</code> is not set up" in html
    assert f"<li>{problem.replace(chr(39), '&#39;')}</li>" in html
    assert "vidgen notion setup board-7" in html


async def test_channels_page_weighs_credentials_against_what_the_providers_need(
    app_db: AsyncEngine,
) -> None:
    """Stored, fleet-wide (environment) or absent, judged by the channel's own providers."""
    config = load_channel_config(PROJECT_ROOT / "channel_configs" / "demo.yaml")
    providers = config.providers.model_copy(
        update={
            "image": config.providers.image.model_copy(update={"provider": "gemini"}),
            "voice": config.providers.voice.model_copy(update={"provider": "elevenlabs"}),
        }
    )
    stored = config.model_copy(update={"providers": providers}).model_dump(mode="json")
    await add_channel("creds", name="Creds Channel", config=stored)
    env_key = "env-elevenlabs-key-never-shown"
    app = create_app(app_settings(elevenlabs_api_key=SecretStr(env_key)))
    async with make_client(app, token=None) as http:
        assert (await sign_in(http, API_TOKEN)).status_code == 303
        html = (await http.get("/dashboard/channels", headers=HTML)).text
    states = dict(
        re.findall(r"<span>(\w+)</span> <span class=\"badge cred-[\w-]+\">([^<]+)<", html)
    )
    assert states == {
        "gemini": "missing",  # the image provider needs it and nothing provides it
        "elevenlabs": "from environment",
        "kie": "not needed",  # video is kenburns
        "openai": "not needed",  # neither planner nor voice is openai
        "pexels": "not needed",  # no stock clips
        "pixabay": "not needed",
        "notion": "not needed",  # no board configured
        "youtube": "not connected",
    }
    assert env_key not in html


def test_reject_form_becomes_the_rejection_the_api_takes() -> None:
    form = {
        "notes": ["too dark"],
        "scene": ["5", "2", "x"],
        "redo_step": ["videos"],
        "asset": ["hero"],
        "narration_3": ["New words."],
        "motion_prompt_3": [""],
        "sfx_prompt_4": ["  "],
    }
    request = reject_request(form)
    assert request.scenes == [2, 5] and request.step == PipelineStep.VIDEOS
    assert request.assets == ["hero"]
    assert [r.model_dump(exclude_none=True) for r in request.scene_replacements] == [
        {"scene": 3, "narration": "New words."}
    ]
    # a step without ticked scenes would redo the whole step: it is not sent
    assert reject_request({"notes": ["n"], "asset": ["hero"], "redo_step": ["videos"]}).step is None
