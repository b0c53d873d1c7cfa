"""The Gemini text fake is checked with Google's ``google-genai`` SDK: the planner's client speaks to a
server that the vendor's own client agrees with (wire format: reference §5, text generation)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

from app.planning.plan_schema import plan_json_schema
from tests.e2e.harness import short_plan
from tests.fakes.gemini import API_KEY
from tests.fakes.gemini_text import FakeGeminiText, TextReply
from tests.fakes.server import serve


@pytest.fixture
def fake() -> FakeGeminiText:
    return FakeGeminiText(plan=short_plan(3))


@pytest.fixture
def sdk(fake: FakeGeminiText) -> Iterator[genai.Client]:
    with serve(fake.app()) as url:
        yield genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=url))


JSON_PLAN = types.GenerateContentConfig(
    response_mime_type="application/json", response_json_schema=plan_json_schema()
)


def test_the_sdk_gets_json_text_and_token_counts(fake: FakeGeminiText, sdk: genai.Client) -> None:
    answer = sdk.models.generate_content(
        model="gemini-2.5-flash", contents="Write the plan.", config=JSON_PLAN
    )
    assert json.loads(answer.text or "") == short_plan(3)
    assert answer.usage_metadata is not None and answer.usage_metadata.prompt_token_count == 812
    sent = fake.requests[0]
    assert (sent["version"], sent["api_key"]) == ("v1", API_KEY)
    config = sent["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == plan_json_schema()


def test_a_conversation_uses_the_model_role_and_a_wrong_role_is_refused(
    fake: FakeGeminiText, sdk: genai.Client
) -> None:
    turns = [
        types.Content(role="user", parts=[types.Part(text="Write the plan.")]),
        types.Content(role="model", parts=[types.Part(text="{}")]),
        types.Content(role="user", parts=[types.Part(text="That was empty; again.")]),
    ]
    answer = sdk.models.generate_content(model="gemini-2.5-flash", contents=turns, config=JSON_PLAN)
    assert json.loads(answer.text or "")["title"] == "A short test film"
    assert [c["role"] for c in fake.requests[0]["body"]["contents"]] == ["user", "model", "user"]

    turns[1] = types.Content(role="assistant", parts=[types.Part(text="{}")])
    with pytest.raises(errors.ClientError) as refused:
        sdk.models.generate_content(model="gemini-2.5-flash", contents=turns, config=JSON_PLAN)
    assert refused.value.code == 400 and "valid role" in str(refused.value.message)


def test_thoughts_are_not_the_answer(fake: FakeGeminiText, sdk: genai.Client) -> None:
    fake.replies = [TextReply(thoughts=2)]
    answer = sdk.models.generate_content(
        model="gemini-2.5-flash", contents="Write the plan.", config=JSON_PLAN
    )
    assert answer.candidates is not None and answer.candidates[0].content is not None
    parts = answer.candidates[0].content.parts or []
    assert [bool(p.thought) for p in parts] == [True, True, False]
    assert json.loads(answer.text or "") == short_plan(3)  # the SDK skips thought parts too


def test_cut_off_blocked_and_failing_answers_look_as_they_do_from_google(
    fake: FakeGeminiText, sdk: genai.Client
) -> None:
    fake.replies = [
        TextReply(finish_reason="MAX_TOKENS"),
        TextReply(block_reason="PROHIBITED_CONTENT"),
        TextReply(status=429, retry_after=7),
        TextReply(status=503),
    ]

    def ask() -> types.GenerateContentResponse:
        return sdk.models.generate_content(
            model="gemini-2.5-flash", contents="Write the plan.", config=JSON_PLAN
        )

    cut = ask()
    assert cut.candidates is not None
    assert cut.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    with pytest.raises(ValueError):
        json.loads(cut.text or "")
    blocked = ask()
    assert not blocked.candidates and blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
    with pytest.raises(errors.ClientError) as limited:
        ask()
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    details = (limited.value.details or {})["error"]["details"]
    assert details[0]["retryDelay"] == "7s"
    with pytest.raises(errors.ServerError) as down:
        ask()
    assert down.value.code == 503
    with pytest.raises(errors.ClientError) as gone:
        sdk.models.generate_content(model="gemini-1.0-pro", contents="x")
    assert gone.value.code == 404
