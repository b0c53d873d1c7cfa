"""The ``gemini`` planner against the text fake the ``google-genai`` SDK is checked with: a task's plan
item really runs (real database, real HTTP over loopback, the worker's success path)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import get_settings
from app.pipeline.outcome import ItemFailedError
from app.planning.plan_schema import plan_json_schema
from tests.fakes.gemini import API_KEY
from tests.fakes.gemini_text import FakeGeminiText, TextReply
from tests.fakes.server import serve
from tests.services.planner_support import claimed_plan, planner_channel, record, run_plan
from tests.services.test_openai_planner import six_scene_plan

PLANNER = "provider: gemini\ngemini:\n  model: gemini-2.5-flash\n  cost_per_call_usd: 0.02\n"


@pytest.fixture
def fake() -> FakeGeminiText:
    return FakeGeminiText(plan=six_scene_plan())


@pytest.fixture
def fake_url(
    fake: FakeGeminiText, monkeypatch: pytest.MonkeyPatch, clear_settings_cache: None
) -> Iterator[str]:
    with serve(fake.app()) as url:
        monkeypatch.setenv("GEMINI_BASE_URL", url)
        monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
        monkeypatch.setenv("LLM_RETRY_BASE_S", "0.05")
        get_settings.cache_clear()
        yield url


async def test_a_plan_is_asked_for_with_the_plan_schema_and_priced_per_call(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeGeminiText, fake_url: str
) -> None:
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)
    fake.replies = [TextReply(thoughts=1)]  # a thinking model's draft is not the answer

    outcome = await run_plan(claimed)
    (row,) = await record(claimed, outcome)

    (sent,) = fake.requests
    assert (sent["version"], sent["model"]) == ("v1beta", "gemini-2.5-flash")
    config = sent["body"]["generationConfig"]
    assert config == {
        "responseMimeType": "application/json",
        "responseJsonSchema": plan_json_schema(),
    }
    assert outcome.plan is not None and outcome.plan["scenes"][0]["stock_query"] == "city night 1"
    assert (row.service, row.model, row.unit_label) == ("gemini", "gemini-2.5-flash", "call")
    assert (row.units, row.cost_usd) == (1, Decimal("0.02"))
    assert outcome.result["tokens"] == {"input": 812, "output": 1430, "calls": 1}


async def test_the_repair_round_is_a_conversation_in_googles_roles(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeGeminiText, fake_url: str
) -> None:
    broken = six_scene_plan()
    broken["scenes"][0]["layout"] = "single"
    fake.answers = [json.dumps(broken)]
    channel_id = await planner_channel(tmp_path, PLANNER)
    claimed = await claimed_plan(channel_id)

    outcome = await run_plan(claimed)
    (row,) = await record(claimed, outcome)

    contents = fake.requests[1]["body"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert (
        "scene 1: images: a single scene needs exactly 1 image" in contents[2]["parts"][0]["text"]
    )
    assert outcome.plan is not None and outcome.plan["scenes"][0]["layout"] == "composite"
    assert (row.units, row.cost_usd) == (2, Decimal("0.04"))


async def test_cut_off_and_blocked_answers_go_to_repair_and_then_fail_readably(
    app_db: AsyncEngine, tmp_path: Path, fake: FakeGeminiText, fake_url: str
) -> None:
    channel_id = await planner_channel(tmp_path, PLANNER)
    fake.replies = [TextReply(finish_reason="MAX_TOKENS")]
    outcome = await run_plan(await claimed_plan(channel_id))
    assert outcome.plan is not None
    assert (
        "cut off at the token limit (MAX_TOKENS)"
        in (fake.requests[1]["body"]["contents"][2]["parts"][0]["text"])
    )

    fake.requests.clear()
    fake.replies = [TextReply(block_reason="PROHIBITED_CONTENT")] * 2
    with pytest.raises(ItemFailedError) as blocked:
        await run_plan(await claimed_plan(channel_id))
    assert (blocked.value.code, blocked.value.retryable) == ("PLAN_INVALID", False)
    assert "the prompt was blocked (PROHIBITED_CONTENT)" in blocked.value.message


async def test_a_429_waits_as_long_as_retry_info_says_and_a_bad_key_is_not_retried(
    app_db: AsyncEngine,
    tmp_path: Path,
    fake: FakeGeminiText,
    fake_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel_id = await planner_channel(tmp_path, PLANNER)
    fake.replies = [TextReply(status=429, retry_after=1)]
    outcome = await run_plan(await claimed_plan(channel_id))
    assert outcome.plan is not None
    first, second = (r["at"] for r in fake.requests)
    assert second - first >= 1.0  # RetryInfo's 1 s, not the 0.05 s backoff

    fake.requests.clear()
    monkeypatch.setenv("GEMINI_API_KEY", "wrong-gemini-secret")
    get_settings.cache_clear()
    with pytest.raises(ItemFailedError) as refused:
        await run_plan(await claimed_plan(channel_id))
    assert (refused.value.code, refused.value.retryable) == ("PLANNER_HTTP", False)
    assert "API key not valid" in refused.value.message
    assert "wrong-gemini-secret" not in refused.value.message
    assert len(fake.requests) == 1
