"""The ``openai`` planner against the OpenAI-compatible fake: a task's plan item really runs (real
database, real HTTP over loopback, the worker's success path writing the cost ledger)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.credentials import CredentialProvider, needed_credentials
from app.channels.sync import get_channel_config
from app.core.config import get_settings
from app.core.database import session_scope
from app.models import Channel, Task
from app.pipeline.outcome import ItemFailedError
from app.spend.estimate import estimate_item_cost
from tests.e2e.harness import short_plan
from tests.fakes.openai_compat import API_KEY, FakeOpenAI, Reply
from tests.fakes.server import serve
from tests.services.planner_support import claimed_plan, planner_channel, record, run_plan

PLANNER = """\
provider: openai
openai:
  model: gpt-4o-mini
  cost_per_1m_input_tokens_usd: 0.5
  cost_per_1m_output_tokens_usd: 2.0
"""


def six_scene_plan() -> dict[str, Any]:
    plan = short_plan(6)
    for scene in plan["scenes"]:
        scene["stock_query"] = f"city night {scene['number']}"
    return plan


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(plan=six_scene_plan())


@pytest.fixture
def fake_url(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, clear_settings_cache: None
) -> Iterator[str]:
    with serve(fake.app()) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("LLM_RETRY_BASE_S", "0.05")
        get_settings.cache_clear()
        yield url


def _price(usage: dict[str, int]) -> Decimal:
    return (
        Decimal("0.5") * usage["prompt_tokens"] + Decimal("2.0") * usage["completion_tokens"]
    ) / 1_000_000


async def test_a_plan_comes_back_structured_and_its_tokens_are_priced_in_the_ledger(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeOpenAI, fake_url: str
) -> None:
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)
    assert estimate_item_cost(claimed.inputs) == Decimal("0.01325")  # 2500 in + 6000 out

    outcome = await run_plan(claimed)
    rows = await record(claimed, outcome)

    (sent,) = fake.chat_requests()
    assert sent["authorization"] == f"Bearer {API_KEY}"
    body = sent["body"]
    assert body["model"] == "gpt-4o-mini" and body["max_completion_tokens"] == 16000
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    scene_schema = body["response_format"]["json_schema"]["schema"]["$defs"]["PlanScene"]
    assert "stock_query" in scene_schema["required"]
    assert "The lighthouse keeper" in body["messages"][0]["content"]

    (usage,) = fake.usages
    (row,) = rows
    assert (row.service, row.model, row.unit_label) == ("openai", "gpt-4o-mini", "token")
    assert row.units == usage["prompt_tokens"] + usage["completion_tokens"]
    assert row.cost_usd == _price(usage).quantize(Decimal("0.000001"))
    async with session_scope() as session:
        task = await session.get(Task, claimed.task_id)
        assert task is not None and task.plan is not None
        assert [s["stock_query"] for s in task.plan["scenes"]][:2] == [
            "city night 1",
            "city night 2",
        ]
        assert task.total_cost_usd == row.cost_usd


async def test_an_invalid_plan_is_sent_back_once_with_its_errors_and_both_calls_are_paid(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeOpenAI, fake_url: str
) -> None:
    broken = six_scene_plan()
    broken["scenes"][2]["images"] = ["dragon"]
    fake.answers = [json.dumps(broken)]
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)

    outcome = await run_plan(claimed)
    (row,) = await record(claimed, outcome)

    _first, second = fake.chat_requests()
    turns = second["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert json.loads(turns[1]["content"]) == broken
    assert "scene 3: images: 'dragon' is not defined in assets" in turns[2]["content"]
    assert outcome.plan is not None and outcome.plan["scenes"][2]["images"] == ["city"]
    assert row.cost_usd == (_price(fake.usages[0]) + _price(fake.usages[1])).quantize(
        Decimal("0.000001")
    )
    assert outcome.result["tokens"]["calls"] == 2


async def test_an_answer_cut_off_at_the_token_limit_is_a_failed_answer_not_a_parse(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeOpenAI, fake_url: str
) -> None:
    fake.replies = [Reply(finish_reason="length"), Reply(finish_reason="length")]
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)

    with pytest.raises(ItemFailedError) as failed:
        await run_plan(claimed)

    assert (failed.value.code, failed.value.retryable) == ("PLAN_INVALID", False)
    assert "cut off at the token limit (finish_reason length)" in failed.value.message
    assert "not valid JSON" not in failed.value.message  # the half answer was never parsed
    assert "cut off" in fake.chat_requests()[1]["body"]["messages"][2]["content"]


async def test_a_server_without_json_schema_gets_json_object_from_then_on(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeOpenAI, fake_url: str
) -> None:
    fake.json_schema = False
    broken = six_scene_plan()
    broken["title"] = ""
    fake.answers = [json.dumps(broken)]
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)

    outcome = await run_plan(claimed)

    formats = [r["body"]["response_format"]["type"] for r in fake.chat_requests()]
    assert formats == ["json_schema", "json_object", "json_object"]  # refused, answered, repaired
    assert outcome.plan is not None and outcome.plan["title"] == "A short test film"


async def test_no_quota_fails_at_once_while_rate_limits_and_5xx_are_waited_out(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeOpenAI, fake_url: str
) -> None:
    channel_id = await planner_channel(tmp_path, PLANNER)
    fake.replies = [Reply(status=429, code="insufficient_quota")]
    with pytest.raises(ItemFailedError) as broke:
        await run_plan(await claimed_plan(channel_id))
    assert (broke.value.code, broke.value.retryable) == ("PLANNER_QUOTA", False)
    assert "out of credit" in broke.value.message and API_KEY not in broke.value.message
    assert len(fake.chat_requests()) == 1

    fake.requests.clear()
    fake.replies = [Reply(status=429, retry_after_ms=300), Reply(status=500), Reply(status=503)]
    outcome = await run_plan(await claimed_plan(channel_id))
    assert outcome.plan is not None
    times = [r["at"] for r in fake.chat_requests()]
    assert len(times) == 4
    assert times[1] - times[0] >= 0.3  # the server's retry-after-ms, not the 0.05 s backoff

    fake.requests.clear()
    fake.replies = [Reply(status=503)] * 4
    with pytest.raises(ItemFailedError) as down:
        await run_plan(await claimed_plan(channel_id))
    assert (down.value.code, down.value.retryable) == ("PLANNER_HTTP", True)
    assert len(fake.chat_requests()) == 4


async def test_a_bad_key_says_which_key_without_showing_it(
    app_db: AsyncEngine,
    tmp_path: Path,
    fake: FakeOpenAI,
    fake_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret-value")
    get_settings.cache_clear()
    channel_id = await planner_channel(tmp_path, PLANNER)
    with pytest.raises(ItemFailedError) as refused:
        await run_plan(await claimed_plan(channel_id))
    assert refused.value.retryable is False
    assert "HTTP 401" in refused.value.message and "OPENAI_API_KEY" in refused.value.message
    assert "sk-wrong-secret-value" not in refused.value.message
    assert len(fake.chat_requests()) == 1


async def test_a_local_server_per_channel_needs_no_key_and_is_sent_none(
    app_db: AsyncEngine,
    tmp_path: Path,
    fake: FakeOpenAI,
    fake_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake.api_key = None
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the channel's URL wins
    get_settings.cache_clear()
    local = f"provider: openai\nopenai:\n  model: llama3.1\n  base_url: {fake_url}/v1\n"
    channel_id = await planner_channel(tmp_path, local)
    async with session_scope() as session:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        config = get_channel_config(channel)
    assert CredentialProvider.OPENAI not in needed_credentials(config)

    outcome = await run_plan(await claimed_plan(channel_id))

    assert outcome.plan is not None and outcome.model == "llama3.1"
    assert fake.chat_requests()[0]["authorization"] is None
