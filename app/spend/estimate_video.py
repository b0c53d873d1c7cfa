"""What one video of a channel will cost, before any task exists: the cost estimator.

It builds every step's items for a typical plan of N scenes (the template planner's, with each
narration as long as a usual scene's) exactly as the pipeline would, and prices them with the same
estimate the budget check uses, so the figure is the one the ledger would record for a run
where nothing is retried and no stock scene falls back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from app.channels.config import ChannelConfig
from app.models import PIPELINE_ORDER, Channel, PipelineStep, Task
from app.pipeline.steps import build_item_specs
from app.planning.plan import parse_plan
from app.planning.template_planner import plan_from_brief
from app.spend.estimate import estimate_cost

NARRATION = "A short line of narration, about as long as one scene of a typical video usually is."


@dataclass(frozen=True)
class VideoEstimate:
    scenes: int
    by_step: dict[str, Decimal]

    @property
    def total_usd(self) -> Decimal:
        return sum(self.by_step.values(), Decimal(0))


def estimate_video(config: ChannelConfig, *, scenes: int = 16) -> VideoEstimate:
    """USD per step of one ``scenes``-scene video on this channel."""
    channel = Channel(id=uuid.uuid4(), slug=config.slug, name=config.name,
                      config=config.model_dump(mode="json"))  # fmt: skip
    plan = plan_from_brief(
        title="Estimate",
        topic="estimate",
        story_direction=None,
        aspect_ratio=config.frame.aspect_ratio,
        scene_count=scenes,
        scene_duration_s=config.providers.planner.template.scene_duration_s,
    )
    for scene in plan["scenes"]:
        scene["narration"] = NARRATION
    task = Task(id=uuid.uuid4(), channel_id=channel.id, title="Estimate",
                plan=parse_plan(plan).model_dump(mode="json"))  # fmt: skip
    by_step: dict[str, Decimal] = {}
    for step in PIPELINE_ORDER:
        if step == PipelineStep.UPLOAD:
            continue
        specs = build_item_specs(task=task, channel=channel, step=step)
        by_step[step.value] = estimate_cost(spec.inputs for spec in specs)
    return VideoEstimate(scenes=scenes, by_step=by_step)
