"""The plan step: a hand-written plan is validated and used as is; otherwise a planner writes one.

The channel names the planner: ``template`` (offline, deterministic) or ``gemini`` (an LLM asked
for JSON; its answer is validated against the plan model and, if invalid, sent back once with the
validation errors for repair).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.channels.sync import get_channel_config
from app.models import Channel
from app.planning.plan import PlanValidationError, parse_plan
from app.planning.template_planner import plan_from_brief


@dataclass(frozen=True)
class MadePlan:
    plan: dict[str, Any]
    source: str
    cost_usd: float = 0.0
    model: str | None = None


def _checked(data: object) -> dict[str, Any]:
    return parse_plan(data).model_dump(mode="json")


async def make_plan(
    *,
    channel: Channel,
    title: str,
    topic: str | None,
    story_direction: str | None,
    plan: dict[str, Any] | None,
    notes: str | None = None,
) -> MadePlan:
    if plan is not None and notes is None:
        return MadePlan(plan=_checked(plan), source="manual")
    config = get_channel_config(channel)
    planner = config.providers.planner
    if planner.provider == "gemini":
        return await _gemini_plan(
            channel, title=title, topic=topic, story_direction=story_direction, notes=notes
        )
    template = planner.template
    made = plan_from_brief(
        title=title,
        topic=topic,
        story_direction=story_direction,
        aspect_ratio=config.frame.aspect_ratio,
        scene_count=template.scenes,
        scene_duration_s=template.scene_duration_s,
        notes=notes,
    )
    return MadePlan(plan=_checked(made), source="template")


PLAN_PROMPT = """You write production plans for short narrated videos. Answer with ONE JSON object only.
Shape: {{"title": str, "aspect_ratio": "{aspect}", "assets": [{{"name": str (letters, digits, - or _),
"kind": "character"|"environment"|"prop", "prompt": str, "references": [asset names]}}],
"scenes": [{{"number": 1.., "layout": "composite"|"split"|"single", "images": [asset names],
"narration": str (only the words spoken, no stage directions), "motion_prompt": str,
"sfx_prompt": str, "duration_s": number 3..10}}], "music": null}}.
A composite scene uses exactly one character and one environment; split uses two images; single one.
Every image name must be defined in assets. 6 to 16 scenes, numbered from 1.
Title: {title}
Topic: {topic}
Story direction: {direction}
{notes}"""


async def _gemini_plan(
    channel: Channel,
    *,
    title: str,
    topic: str | None,
    story_direction: str | None,
    notes: str | None,
) -> MadePlan:
    from app.pipeline.outcome import ItemFailedError, credential_env
    from app.planning.client import GeminiTextClient

    config = get_channel_config(channel)
    settings = config.providers.planner.gemini
    env = await credential_env(channel.id, ["gemini"])
    prompt = PLAN_PROMPT.format(
        aspect=config.frame.aspect_ratio,
        title=title,
        topic=topic or title,
        direction=story_direction or "(none)",
        notes=f"Reviewer notes to address: {notes}" if notes else "",
    )
    cost = float(settings.cost_per_call_usd)
    async with GeminiTextClient(api_key=env["GEMINI_API_KEY"]) as client:
        answer = await client.generate_json(settings.model, prompt)
        try:
            return MadePlan(
                plan=_checked(answer), source="gemini", cost_usd=cost, model=settings.model
            )
        except PlanValidationError as exc:
            repair = (
                f"{prompt}\n\nYour previous answer was invalid:\n{json.dumps(answer)[:20000]}\n"
                f"Problems: {'; '.join(exc.messages)}\nAnswer again with a corrected JSON object."
            )
            answer = await client.generate_json(settings.model, repair)
            try:
                return MadePlan(
                    plan=_checked(answer), source="gemini", cost_usd=2 * cost, model=settings.model
                )
            except PlanValidationError as again:
                raise ItemFailedError(
                    "PLAN_INVALID",
                    f"the LLM planner's plan is invalid after one repair: {again}",
                    retryable=False,
                ) from None
