"""The LLM planners (``gemini``, ``openai``): ask for a plan as JSON, validate it, repair it once.

Both vendors get the same conversation: the instructions and the brief, then, if the answer is not a
valid plan, that answer and the validation errors, asking for a corrected plan. An answer that is
not usable at all (cut off at the token limit, refused, not JSON) is a failed answer that goes to
the same repair round rather than being parsed. Every call is priced: per call for Gemini, by the
tokens the server reports for OpenAI-compatible servers, at the channel's prices.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.channels.sync import get_channel_config
from app.models import Channel
from app.planning.plan import PlanValidationError, parse_plan
from app.planning.plan_schema import PLAN_SCHEMA_NAME, plan_json_schema


@dataclass(frozen=True)
class MadePlan:
    plan: dict[str, Any]
    source: str
    cost_usd: float = 0.0
    model: str | None = None
    units: float | None = None  # None: one call
    unit_label: str = "call"
    tokens: dict[str, int] | None = None


@dataclass(frozen=True)
class LlmReply:
    """One answer: its JSON text, or ``problem`` saying why it cannot be used; and its price."""

    text: str | None
    problem: str | None
    cost_usd: Decimal
    input_tokens: int = 0
    output_tokens: int = 0


Turn = tuple[str, str]  # ("user" | "assistant", text)
Ask = Callable[[list[Turn]], Awaitable[LlmReply]]

PLAN_PROMPT = """You write production plans for short narrated videos. Answer with ONE JSON object only.
Shape: {{"title": str, "aspect_ratio": "{aspect}", "assets": [{{"name": str (letters, digits, - or _),
"kind": "character"|"environment"|"prop", "prompt": str, "references": [asset names]}}],
"scenes": [{{"number": 1.., "layout": "composite"|"split"|"single", "images": [asset names],
"narration": str (only the words spoken, no stage directions), "motion_prompt": str,
"sfx_prompt": str, "duration_s": number 3..10, "stock_query": str (2-4 plain words to search stock
footage for this scene, e.g. "foggy pine forest")}}], "music": null}}.
A composite scene uses exactly one character and one environment; split uses two images; single one.
Every image name must be defined in assets. 6 to 16 scenes, numbered from 1.
Title: {title}
Topic: {topic}
Story direction: {direction}
{notes}"""


def plan_prompt(
    *, aspect: str, title: str, topic: str | None, direction: str | None, notes: str | None
) -> str:
    return PLAN_PROMPT.format(
        aspect=aspect,
        title=title,
        topic=topic or title,
        direction=direction or "(none)",
        notes=f"Reviewer notes to address: {notes}" if notes else "",
    )


def _validate(reply: LlmReply) -> tuple[dict[str, Any] | None, list[str]]:
    if reply.problem is not None or reply.text is None:
        return None, [reply.problem or "the answer was empty"]
    try:
        return parse_plan(reply.text).model_dump(mode="json"), []
    except PlanValidationError as exc:
        return None, exc.messages


async def plan_with_repair(ask: Ask, prompt: str) -> tuple[dict[str, Any], list[LlmReply]]:
    """The validated plan and every reply it took (one, or two after a repair round)."""
    from app.pipeline.outcome import ItemFailedError

    turns: list[Turn] = [("user", prompt)]
    first = await ask(turns)
    plan, problems = _validate(first)
    if plan is not None:
        return plan, [first]
    turns += [
        ("assistant", (first.text or "")[:20000]),
        (
            "user",
            f"That answer cannot be used: {'; '.join(problems)}\n"
            "Answer again with one corrected, complete JSON object.",
        ),
    ]
    second = await ask(turns)
    plan, again = _validate(second)
    if plan is not None:
        return plan, [first, second]
    raise ItemFailedError(
        "PLAN_INVALID",
        f"the LLM planner's plan is invalid after one repair: {'; '.join(again)}",
        retryable=False,
    )


async def gemini_plan(channel: Channel, prompt: str) -> MadePlan:
    from app.pipeline.outcome import ItemFailedError, credential_env
    from app.planning.client import GeminiError, GeminiTextClient

    settings = get_channel_config(channel).providers.planner.gemini
    env = await credential_env(channel.id, ["gemini"])
    cost = Decimal(settings.cost_per_call_usd)
    schema = plan_json_schema()
    async with GeminiTextClient(api_key=env["GEMINI_API_KEY"]) as client:

        async def ask(turns: list[Turn]) -> LlmReply:
            try:
                answer = await client.generate_json(settings.model, turns, schema)
            except GeminiError as exc:
                raise ItemFailedError("PLANNER_HTTP", str(exc), retryable=exc.retryable) from None
            return LlmReply(
                answer.text, answer.problem, cost, answer.input_tokens, answer.output_tokens
            )

        plan, replies = await plan_with_repair(ask, prompt)
    return _made(plan, "gemini", settings.model, replies, per_token=False)


async def openai_plan(channel: Channel, prompt: str) -> MadePlan:
    from app.core.config import get_settings
    from app.pipeline.outcome import ItemFailedError, credential_env
    from app.planning.openai_client import ChatError, OpenAIChatClient

    settings = get_channel_config(channel).providers.planner.openai
    fleet = get_settings()
    env = await credential_env(channel.id, ["openai"], optional=frozenset({"openai"}))
    client = OpenAIChatClient(
        base_url=settings.base_url or fleet.openai_base_url,
        api_key=env.get("OPENAI_API_KEY"),
        retry_base_s=fleet.llm_retry_base_s,
    )
    async with client:

        async def ask(turns: list[Turn]) -> LlmReply:
            try:
                answer = await client.complete(
                    model=settings.model,
                    messages=[{"role": role, "content": text} for role, text in turns],
                    schema=(PLAN_SCHEMA_NAME, plan_json_schema()),
                    max_tokens=(settings.max_tokens_field, settings.max_output_tokens),
                    temperature=settings.temperature,
                )
            except ChatError as exc:
                code = "PLANNER_QUOTA" if exc.code == "insufficient_quota" else "PLANNER_HTTP"
                raise ItemFailedError(code, str(exc), retryable=exc.retryable) from None
            problem = None
            if answer.finish_reason == "length":
                problem = (
                    "the answer was cut off at the token limit (finish_reason length): "
                    "write shorter prompts and narration"
                )
            elif answer.refusal:
                problem = f"the model refused: {answer.refusal[:300]}"
            elif answer.finish_reason == "content_filter":
                problem = "the answer was stopped by the content filter"
            elif not answer.content:
                problem = "the answer had no content"
            else:
                try:
                    json.loads(answer.content)
                except ValueError:
                    problem = "the answer is not valid JSON"
            return LlmReply(
                answer.content,
                problem,
                settings.price(answer.prompt_tokens, answer.completion_tokens),
                answer.prompt_tokens,
                answer.completion_tokens,
            )

        plan, replies = await plan_with_repair(ask, prompt)
    return _made(plan, "openai", settings.model, replies, per_token=True)


def _made(
    plan: dict[str, Any], source: str, model: str, replies: list[LlmReply], *, per_token: bool
) -> MadePlan:
    tokens = {
        "input": sum(r.input_tokens for r in replies),
        "output": sum(r.output_tokens for r in replies),
        "calls": len(replies),
    }
    return MadePlan(
        plan=plan,
        source=source,
        cost_usd=float(sum((r.cost_usd for r in replies), Decimal(0))),
        model=model,
        units=float(tokens["input"] + tokens["output"]) if per_token else float(len(replies)),
        unit_label="token" if per_token else "call",
        tokens=tokens,
    )
