"""The OpenAI-compatible fake is checked with the official ``openai`` SDK, so the planner's client is
tested against a server the vendor's own client agrees with (wire format: reference §7)."""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import Iterator

import openai
import pytest
from PIL import Image

from app.planning.plan_schema import PLAN_SCHEMA_NAME, plan_json_schema
from tests.e2e.harness import short_plan
from tests.fakes.openai_compat import API_KEY, FakeOpenAI, Reply
from tests.fakes.server import serve


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(plan=short_plan(3))


@pytest.fixture
def sdk(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with serve(fake.app()) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0)
        yield client
        client.close()


def _plan_format() -> dict[str, object]:
    return {
        "type": "json_schema",
        "json_schema": {"name": PLAN_SCHEMA_NAME, "schema": plan_json_schema(), "strict": True},
    }


def test_the_sdk_gets_a_structured_answer_with_usage(fake: FakeOpenAI, sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Write the plan as JSON."}],
        response_format=_plan_format(),  # type: ignore[arg-type]
        max_completion_tokens=4000,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "stop" and choice.message.refusal is None
    assert json.loads(choice.message.content or "") == short_plan(3)
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    sent = fake.chat_requests()[0]
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["body"]["response_format"]["json_schema"]["strict"] is True


def test_a_schema_breaking_strict_rules_is_refused_like_openai_refuses_it(
    sdk: openai.OpenAI,
) -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "json please"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": loose, "strict": True},
            },
        )
    assert "'additionalProperties' is required to be supplied and to be false" in str(refused.value)
    assert refused.value.param == "response_format"  # type: ignore[attr-defined]


def test_a_server_without_json_schema_refuses_it_and_takes_json_object(
    fake: FakeOpenAI, sdk: openai.OpenAI
) -> None:
    fake.json_schema = False
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="llama3.1",
            messages=[{"role": "user", "content": "json please"}],
            response_format=_plan_format(),  # type: ignore[arg-type]
        )
    assert "not supported" in str(refused.value)
    with pytest.raises(openai.BadRequestError) as no_word:
        sdk.chat.completions.create(
            model="llama3.1",
            messages=[{"role": "user", "content": "a plan please"}],
            response_format={"type": "json_object"},
        )
    assert "must contain the word 'json'" in str(no_word.value)
    ok = sdk.chat.completions.create(
        model="llama3.1",
        messages=[{"role": "user", "content": "the plan as JSON please"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(ok.choices[0].message.content or "")["title"] == "A short test film"


def test_failure_modes_reach_the_sdk_as_its_own_error_types(
    fake: FakeOpenAI, sdk: openai.OpenAI
) -> None:
    def ask() -> object:
        return sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "json"}]
        )

    fake.replies = [
        Reply(status=429, retry_after_ms=20),
        Reply(status=429, code="insufficient_quota"),
        Reply(status=503),
        Reply(finish_reason="length"),
        Reply(refusal="I can't help with that."),
    ]
    with pytest.raises(openai.RateLimitError) as limited:
        ask()
    assert limited.value.response.headers["retry-after-ms"] == "20"
    assert limited.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError) as broke:
        ask()
    assert broke.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError):
        ask()
    cut = ask()
    assert cut.choices[0].finish_reason == "length"  # type: ignore[attr-defined]
    refused = ask()
    assert refused.choices[0].message.refusal == "I can't help with that."  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    wrong = openai.OpenAI(base_url=str(sdk.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    wrong.close()


def test_the_sdk_retries_a_429_after_the_servers_retry_after_ms(
    fake: FakeOpenAI, sdk: openai.OpenAI
) -> None:
    fake.replies = [Reply(status=429, retry_after_ms=50)]
    answer = sdk.with_options(max_retries=1).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "json"}]
    )
    assert answer.choices[0].finish_reason == "stop"
    first, second = fake.chat_requests()
    assert second["at"] - first["at"] >= 0.05


def test_images_come_back_as_b64_json_or_as_a_url(fake: FakeOpenAI, sdk: openai.OpenAI) -> None:
    image = sdk.images.generate(model="gpt-image-1", prompt="a robot", size="1536x1024", n=1)
    assert image.data is not None and image.data[0].b64_json
    picture = Image.open(io.BytesIO(base64.b64decode(image.data[0].b64_json)))
    assert picture.size == (1536, 1024)
    fake.image_as_url = True
    linked = sdk.images.generate(model="dall-e-3", prompt="a robot", size="1024x1024")
    assert linked.data is not None and linked.data[0].url and not linked.data[0].b64_json


def test_speech_is_raw_audio_as_long_as_the_text(sdk: openai.OpenAI) -> None:
    text = "One two three four five six seven eight nine ten."
    audio = sdk.audio.speech.create(
        model="gpt-4o-mini-tts", voice="coral", input=text, response_format="wav"
    )
    with wave.open(io.BytesIO(audio.read())) as heard:
        seconds = heard.getnframes() / heard.getframerate()
    assert seconds == pytest.approx(10 / 2.5, abs=0.01)


def test_each_image_model_answers_in_its_own_format_and_refuses_what_it_does_not_take(
    fake: FakeOpenAI, sdk: openai.OpenAI
) -> None:
    drawn = sdk.images.generate(
        model="gpt-image-1", prompt="a lighthouse", size="1024x1536", quality="low", n=1
    )
    assert drawn.data is not None and drawn.data[0].b64_json and not drawn.data[0].url
    picture = Image.open(io.BytesIO(base64.b64decode(drawn.data[0].b64_json)))
    assert (
        picture.size == (1024, 1536) and len(picture.getcolors(1 << 20) or []) > 100
    )  # not a flat fill
    assert "response_format" not in fake.image_requests()[0]["body"]  # the SDK sends none either
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.images.generate(model="gpt-image-1", prompt="x", response_format="b64_json")
    assert refused.value.param == "response_format"  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError) as wrong_size:
        sdk.images.generate(model="gpt-image-1", prompt="x", size="1792x1024")
    assert "1536x1024" in str(wrong_size.value)
    with pytest.raises(openai.BadRequestError):
        sdk.images.generate(model="dall-e-3", prompt="x", quality="medium")
    linked = sdk.images.generate(model="dall-e-3", prompt="x", size="1792x1024")
    assert linked.data is not None and linked.data[0].url and not linked.data[0].b64_json
    inlined = sdk.images.generate(model="dall-e-3", prompt="x", response_format="b64_json")
    assert inlined.data is not None and inlined.data[0].b64_json


def test_image_failures_reach_the_sdk_as_its_own_error_types(
    fake: FakeOpenAI, sdk: openai.OpenAI
) -> None:
    fake.replies = [
        Reply(status=429, retry_after=1),
        Reply(status=429, code="insufficient_quota"),
        Reply(status=500),
    ]
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.images.generate(model="gpt-image-1", prompt="x")
    assert limited.value.response.headers["retry-after"] == "1"
    assert limited.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError) as broke:
        sdk.images.generate(model="gpt-image-1", prompt="x")
    assert broke.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError):
        sdk.images.generate(model="gpt-image-1", prompt="x")
    wrong = openai.OpenAI(base_url=str(sdk.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.images.generate(model="gpt-image-1", prompt="x")
    assert denied.value.code == "invalid_api_key"
    wrong.close()
