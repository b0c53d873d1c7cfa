"""The plan step: a hand-written plan is validated and used as is; otherwise a planner writes one.

The channel names the planner: ``template`` (offline, deterministic), or ``gemini`` or ``openai``
(any OpenAI-compatible server), LLMs asked for JSON whose answer is validated against the plan model
and, if invalid, sent back once with the validation errors for repair (``llm_planners``).
"""

from __future__ import annotations

from typing import Any

from app.channels.sync import get_channel_config
from app.models import Channel
from app.planning.llm_planners import MadePlan, gemini_plan, openai_plan, plan_prompt
from app.planning.plan import parse_plan
from app.planning.template_planner import plan_from_brief

__all__ = ["MadePlan", "make_plan"]


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
    if planner.provider in ("gemini", "openai"):
        prompt = plan_prompt(
            aspect=config.frame.aspect_ratio,
            title=title,
            topic=topic,
            direction=story_direction,
            notes=notes,
        )
        if planner.provider == "gemini":
            return await gemini_plan(channel, prompt)
        return await openai_plan(channel, prompt)
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
